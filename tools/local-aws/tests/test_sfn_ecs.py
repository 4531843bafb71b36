"""ECS tasks through Step Functions: runTask.sync, exit codes, timeouts, task tokens."""

from __future__ import annotations

import json
import threading
import uuid

import pytest
from conftest import ACCOUNT, REGION, run_execution, wait_for

FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"


@pytest.fixture(scope="module")
def net(emulator):
    import boto3

    ec2 = boto3.client("ec2", endpoint_url=emulator.url, region_name=REGION,
                       aws_access_key_id="local", aws_secret_access_key="local")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="tasks", Description="t", VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "subnet": subnet, "sg": sg}


def _cluster_and_family(aws, family: str) -> tuple[str, str]:
    ecs = aws("ecs")
    cluster = ecs.create_cluster(clusterName="stevedore-test")["cluster"]["clusterArn"]
    td = ecs.register_task_definition(
        family=family, networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512",  # containers without memory: moto gave HTTP 500
        containerDefinitions=[
            {"name": "app", "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app@sha256:{'1' * 64}",
             "essential": True, "command": ["serve"]},
            {"name": "sidecar", "image": "public.ecr.aws/x/sidecar:1", "essential": False},
        ])["taskDefinition"]["taskDefinitionArn"]
    return cluster, td


def _run_task_state(cluster, td, net, extra=None):
    state = {
        "Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {
            "Cluster": cluster, "TaskDefinition": td, "LaunchType": "FARGATE",
            "NetworkConfiguration": {"AwsvpcConfiguration": {
                "Subnets": [net["subnet"]], "SecurityGroups": [net["sg"]],
                "AssignPublicIp": "DISABLED"}},
            "Overrides": {"ContainerOverrides": [{"Name": "app", "Command.$": "$.command"}]},
            "StartedBy": "stevedore/release-1",
        },
    }
    state.update(extra or {})
    return state


def test_run_task_sync_returns_scalar_exit_code(aws, control, net):
    family = f"migrate-{uuid.uuid4().hex[:6]}"
    cluster, td = _cluster_and_family(aws, family)
    control.post("ecs/task-fate", {"family": family, "exit_code": 0})
    definition = {
        "StartAt": "Migrate",
        "States": {
            "Migrate": _run_task_state(cluster, td, net, {
                "ResultSelector": {"ExitCode.$": "$.Containers[0].ExitCode",
                                   "StopCode.$": "$.StopCode", "TaskArn.$": "$.TaskArn",
                                   "LastStatus.$": "$.LastStatus",
                                   "Command.$": "$.Overrides.ContainerOverrides[0].Command"},
                "ResultPath": "$.migration", "Next": "Check"}),
            "Check": {"Type": "Choice", "Choices": [
                {"Variable": "$.migration.ExitCode", "NumericEquals": 0, "Next": "Ok"}],
                "Default": "Bad"},
            "Ok": {"Type": "Succeed"},
            "Bad": {"Type": "Pass", "End": True},
        },
    }
    desc = run_execution(aws("stepfunctions"), definition, {"command": ["migrate", "up"]})
    assert desc["status"] == "SUCCEEDED", desc
    m = json.loads(desc["output"])["migration"]
    assert m["ExitCode"] == 0  # a scalar, not [0]
    assert m["StopCode"] == "EssentialContainerExited" and m["LastStatus"] == "STOPPED"
    assert m["Command"] == ["migrate", "up"]

    ecs = aws("ecs")
    task = ecs.describe_tasks(cluster=cluster, tasks=[m["TaskArn"]])["tasks"][0]
    assert task["overrides"]["containerOverrides"][0]["command"] == ["migrate", "up"]
    assert task["startedBy"] == "AWS Step Functions"  # Parameters.StartedBy is dropped
    assert [c["name"] for c in task["containers"]] == ["app", "sidecar"]
    assert all(c["exitCode"] == 0 for c in task["containers"])
    ops = [e for e in control.get("ecs/log") if e["op"] == "RunTask" and e.get("taskDefinition") == td]
    assert ops and ops[0]["launchType"] == "FARGATE"


def test_run_task_sync_timeout_raises_states_timeout(aws, control, net):
    family = f"hang-{uuid.uuid4().hex[:6]}"
    cluster, td = _cluster_and_family(aws, family)
    control.post("ecs/task-fate", {"family": family, "hang": True})
    definition = {
        "StartAt": "Migrate",
        "States": {
            "Migrate": _run_task_state(cluster, td, net, {
                "TimeoutSecondsPath": "$.timeout",
                "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error",
                           "Next": "TimedOut"}],
                "Next": "Done"}),
            "TimedOut": {"Type": "Pass", "End": True},
            "Done": {"Type": "Pass", "End": True},
        },
    }
    desc = run_execution(aws("stepfunctions"), definition, {"command": ["x"], "timeout": 2})
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["output"])["error"]["Error"] == "States.Timeout"

    ecs = aws("ecs")
    arns = ecs.list_tasks(cluster=cluster, family=family)["taskArns"]
    assert arns
    task = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"][0]
    assert task["lastStatus"] == "RUNNING"
    ecs.stop_task(cluster=cluster, task=arns[0], reason="Migration timed out")
    task = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"][0]
    assert task["lastStatus"] == "STOPPED" and task["stopCode"] == "UserInitiated"
    assert task["stoppedReason"] == "Migration timed out"
    assert any(e["op"] == "StopTask" for e in control.get("ecs/log"))


def test_task_fail_to_start(aws, control, net):
    family = f"nopull-{uuid.uuid4().hex[:6]}"
    cluster, td = _cluster_and_family(aws, family)
    control.post("ecs/task-fate", {"family": family, "fail_to_start": True})
    ecs = aws("ecs")
    arn = ecs.run_task(cluster=cluster, taskDefinition=td, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": [net["subnet"]]}}
                       )["tasks"][0]["taskArn"]  # no securityGroups: moto gave HTTP 500
    task = wait_for(lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(
        ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]), timeout=5)
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"].startswith("CannotPullContainerError")
    assert all("exitCode" not in c for c in task["containers"])


def test_wait_for_task_token_success_failure_and_timeout(aws, fake_lambda):
    sfn = aws("stepfunctions")
    tag = uuid.uuid4().hex[:6]
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": FN + "token-taker",
                               "Payload": {"token.$": "$$.Task.Token", "tag": tag,
                                           "which.$": "$.which"}},
                "TimeoutSecondsPath": "$.timeout",
                "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error",
                           "Next": "TimedOut"}],
                "ResultPath": "$.result", "End": True},
            "TimedOut": {"Type": "Pass", "End": True},
        },
    }
    sm = sfn.create_state_machine(name=f"tok-{tag}", definition=json.dumps(definition),
                                  roleArn=f"arn:aws:iam::{ACCOUNT}:role/r")["stateMachineArn"]

    def start(which, timeout):
        arn = sfn.start_execution(stateMachineArn=sm, input=json.dumps(
            {"which": which, "timeout": timeout}))["executionArn"]
        token = wait_for(lambda: [p["token"] for p in fake_lambda.payloads("token-taker")
                                  if p.get("tag") == tag and p.get("which") == which],
                         what="task token")[0]
        return arn, token

    def finish(arn):
        return wait_for(lambda: (lambda d: d if d["status"] != "RUNNING" else None)(
            sfn.describe_execution(executionArn=arn)), what="end")

    arn, token = start("ok", 60)
    sfn.send_task_success(taskToken=token, output=json.dumps({"deployment": "done"}))
    d = finish(arn)
    assert d["status"] == "SUCCEEDED" and json.loads(d["output"])["result"] == {"deployment": "done"}

    arn, token = start("fail", 60)
    sfn.send_task_failure(taskToken=token, error="DeploymentRolledBack", cause="circuit breaker")
    d = finish(arn)
    assert d["status"] == "FAILED"
    assert d["error"] == "DeploymentRolledBack" and d["cause"] == "circuit breaker"

    arn, token = start("slow", 1)
    d = finish(arn)
    assert d["status"] == "SUCCEEDED"
    assert json.loads(d["output"])["error"]["Error"] == "States.Timeout"


def test_default_task_in_plain_vpc_stops_with_exit_code_zero(aws, control):
    ec2, ecs = aws("ec2"), aws("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]  # no DNS hostnames
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.6.1.0/24")["Subnet"]["SubnetId"]
    family = f"plain-{uuid.uuid4().hex[:6]}"
    cluster, td = _cluster_and_family(aws, family)
    task = ecs.run_task(cluster=cluster, taskDefinition=td, launchType="FARGATE",
                        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet]}})["tasks"][0]
    assert task["lastStatus"] in ("PROVISIONING", "PENDING")
    arn = task["taskArn"]
    task = wait_for(lambda: (lambda t: t if t["lastStatus"] == "STOPPED" else None)(
        ecs.describe_tasks(cluster=cluster, tasks=[arn])["tasks"][0]), timeout=60, interval=0.2)
    assert task["stopCode"] == "EssentialContainerExited"
    assert [c["exitCode"] for c in task["containers"]] == [0, 0]
