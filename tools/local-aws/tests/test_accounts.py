"""A second account in the emulator: template-target.yaml applied into 222222222222; the tools
stack's roles assume its role only as its trust and their policies allow; requests made with
the assumed role's key act in that account under that role's policy; the workload account's
forwarding rules put its events on the tools bus with their own account."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bootstrap  # noqa: E402
import target_account  # noqa: E402

WORKLOAD = target_account.WORKLOAD_ACCOUNT
TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
STACK = "acctunit"
ROLE = f"arn:aws:iam::{WORKLOAD}:role/stevedore-target"


@pytest.fixture(scope="module")
def stacks(emulator):
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name=REGION)
    tools = bootstrap.bootstrap(session, emulator.url, TEMPLATE, stack=STACK,
                                parameters={"WorkloadAccountIds": WORKLOAD})
    target_account.bootstrap_target(session, emulator.url, tools)
    return session, tools


@pytest.fixture()
def roles(stacks, control):
    control.post("iam/roles", stacks[1].roles)
    control.post("requests/clear")
    yield stacks[1]
    control.post("requests/clear")


def as_function(emulator, service: str, function: str, **credentials):
    return boto3.client(service, endpoint_url=emulator.url, region_name=REGION,
                        aws_access_key_id=credentials.get("key", "local"),
                        aws_secret_access_key=credentials.get("secret", "local"),
                        aws_session_token=credentials.get("token"),
                        config=Config(user_agent_appid=function, retries={"max_attempts": 1}))


def assumed(emulator, function: str, role: str = ROLE) -> dict:
    sts = as_function(emulator, "sts", function)
    creds = sts.assume_role(RoleArn=role, RoleSessionName=f"{function}-r1")["Credentials"]
    return {"key": creds["AccessKeyId"], "secret": creds["SecretAccessKey"],
            "token": creds["SessionToken"]}


def workload(emulator, service: str):
    return target_account.in_account(boto3.client(
        service, endpoint_url=emulator.url, region_name=REGION,
        aws_access_key_id="local", aws_secret_access_key="local"), WORKLOAD)


def test_a_tools_function_assumes_the_workload_role_and_acts_there(emulator, roles):
    workload(emulator, "ecs").create_cluster(clusterName="prod")
    ecs = as_function(emulator, "ecs", "deploy", **assumed(emulator, "deploy"))
    answer = ecs.describe_services(cluster="prod", services=["web"])
    # The workload account's cluster (the tools account has none of that name).
    assert answer["failures"][0]["arn"].startswith(f"arn:aws:ecs:{REGION}:{WORKLOAD}:")
    # The role allows no secret values.
    sm = as_function(emulator, "secretsmanager", "deploy", **assumed(emulator, "deploy"))
    with pytest.raises(ClientError) as err:
        sm.get_secret_value(SecretId="prod/db")
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"assumed-role/stevedore-target" in err.value.response["Error"]["Message"]


def test_assume_role_needs_the_callers_policy_and_the_roles_trust(emulator, roles):
    # record's role may not assume it (no sts:AssumeRole in its policy, and not trusted).
    with pytest.raises(ClientError) as err:
        assumed(emulator, "record")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    assert ROLE in err.value.response["Error"]["Message"]
    # A role of the right name whose trust names someone else.
    other = f"arn:aws:iam::333333333333:role/stevedore-target"
    with pytest.raises(ClientError) as err:
        assumed(emulator, "render", other)
    assert "no such role" in err.value.response["Error"]["Message"]


def test_workload_events_reach_the_tools_bus_with_their_own_account(emulator, roles, aws):
    sqs = aws("sqs")
    queue = sqs.create_queue(QueueName="tools-bus-tap")["QueueUrl"]
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:tools-bus-tap"
    events = aws("events")
    events.put_rule(Name="tap", EventPattern=json.dumps({"source": ["aws.ecs"]}))
    events.put_targets(Rule="tap", Targets=[{"Id": "q", "Arn": queue_arn}])
    workload(emulator, "events").put_events(Entries=[{
        "Source": "aws.ecs", "DetailType": "ECS Deployment State Change",
        "Detail": json.dumps({"eventName": "SERVICE_DEPLOYMENT_COMPLETED", "deploymentId": "d1"}),
        "Resources": [f"arn:aws:ecs:{REGION}:{WORKLOAD}:service/prod/web"]}])

    def received():
        return sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages")

    (message,) = wait_for(received, what="the forwarded event")
    event = json.loads(message["Body"])
    assert event["account"] == WORKLOAD
    assert event["resources"] == [f"arn:aws:ecs:{REGION}:{WORKLOAD}:service/prod/web"]


def test_an_account_the_tools_bus_does_not_allow_forwards_nothing(emulator, roles, aws):
    sqs = aws("sqs")
    queue = sqs.create_queue(QueueName="tools-bus-tap-2")["QueueUrl"]
    events = aws("events")
    events.put_rule(Name="tap2", EventPattern=json.dumps({"source": ["aws.ecr"]}))
    events.put_targets(Rule="tap2", Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:tools-bus-tap-2"}])
    stranger = target_account.in_account(boto3.client(
        "events", endpoint_url=emulator.url, region_name=REGION,
        aws_access_key_id="local", aws_secret_access_key="local"), "444444444444")
    stranger.put_rule(Name="forward", EventPattern=json.dumps({"source": ["aws.ecr"]}))
    stranger.put_targets(Rule="forward", Targets=[{
        "Id": "tools", "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"}])
    for account_events in (stranger, workload(emulator, "events")):
        account_events.put_events(Entries=[{"Source": "aws.ecr", "DetailType": "ECR Image Action",
                                            "Detail": json.dumps({"action-type": "PUSH", "result": "SUCCESS"})}])
    (message,) = wait_for(lambda: sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages"),
                          what="the allowed account's event")
    # Only the workload account (in WorkloadAccountIds) got through.
    assert json.loads(message["Body"])["account"] == WORKLOAD
    assert not sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages")


def _run(aws, name: str, role_arn: str, definition: dict) -> dict:
    sfn = aws("stepfunctions")
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition),
                                       roleArn=role_arn)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    return wait_for(lambda: (lambda d: d if d["status"] != "RUNNING" else None)(
        sfn.describe_execution(executionArn=execution)), what="execution end")


def test_a_task_with_credentials_acts_as_that_role_in_its_account(emulator, roles, aws, control):
    workload(emulator, "ecs").create_cluster(clusterName="prod")
    deploy_role = next(r for arn, r in roles.roles["state_machines"].items()
                       if arn.endswith(f"{STACK}-deploy"))
    record_role = roles.roles["functions"]["record"]
    body = json.loads(json.dumps(roles.roles))
    for name, role in (("creds-allowed", deploy_role), ("creds-refused", record_role)):
        body["state_machines"][f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"] = role
    control.post("iam/roles", body)
    ec2 = workload(emulator, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.44.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.44.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="creds", Description="creds", VpcId=vpc)["GroupId"]
    workload(emulator, "ecs").register_task_definition(
        family="creds", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "c", "image": "busybox", "memory": 128}])
    definition = {"StartAt": "Run", "States": {"Run": {
        "Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Credentials": {"RoleArn": ROLE},
        "Parameters": {"Cluster": "prod", "TaskDefinition": "creds", "LaunchType": "FARGATE",
                       "NetworkConfiguration": {"AwsvpcConfiguration": {
                           "Subnets": [subnet], "SecurityGroups": [group]}}},
        "ResultSelector": {"TaskArn.$": "$.TaskArn"}, "End": True}}}
    control.post("ecs/task-fate", {"family": "creds", "exit_code": 0})
    allowed = _run(aws, "creds-allowed", deploy_role["role_arn"], definition)
    assert allowed["status"] == "SUCCEEDED", allowed
    assert f":{WORKLOAD}:task/prod/" in allowed["output"]
    refused = _run(aws, "creds-refused", record_role["role_arn"], definition)
    assert refused["status"] == "FAILED"
    assert f"sts:AssumeRole on resource: {ROLE}" in (refused.get("cause") or ""), refused
