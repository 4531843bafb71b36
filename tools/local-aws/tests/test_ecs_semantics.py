"""ECS rules the emulator enforces as AWS documents them (see docs/architecture.md):
UpdateService merges deploymentConfiguration; no rolloutState behind a Classic Load Balancer;
capacity-provider services have no launchType and RunTask refuses both; RunTask failures[]
and non-zero containers fail ecs:runTask.sync."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError
from conftest import ACCOUNT, REGION, run_execution, wait_for
from test_sfn_ecs import _cluster_and_family, _run_task_state, net  # noqa: F401 (fixture)

HOOK = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:their-hook"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/hook"


def _service(aws, net, name, **kwargs):
    ecs = aws("ecs")
    cluster, td = _cluster_and_family(aws, f"svc-{uuid.uuid4().hex[:6]}")
    args = dict(cluster=cluster, serviceName=name, taskDefinition=td, desiredCount=1,
                networkConfiguration={"awsvpcConfiguration": {
                    "subnets": [net["subnet"]], "securityGroups": [net["sg"]]}})
    args.update(kwargs)
    return ecs, cluster, td, ecs.create_service(**args)["service"]


def _describe(ecs, cluster, name):
    return ecs.describe_services(cluster=cluster, services=[name])["services"][0]


def test_update_service_merges_the_deployment_configuration(aws, net):
    hook = {"hookTargetArn": HOOK, "roleArn": ROLE, "lifecycleStages": ["PRE_SCALE_UP"]}
    name = f"merge-{uuid.uuid4().hex[:6]}"
    ecs, cluster, _, _ = _service(aws, net, name, launchType="FARGATE", deploymentConfiguration={
        "maximumPercent": 200, "minimumHealthyPercent": 100, "lifecycleHooks": [hook],
        "deploymentCircuitBreaker": {"enable": True, "rollback": True}})

    ecs.update_service(cluster=cluster, service=name,
                       deploymentConfiguration={"minimumHealthyPercent": 50})
    conf = _describe(ecs, cluster, name)["deploymentConfiguration"]
    assert conf["minimumHealthyPercent"] == 50
    assert conf["maximumPercent"] == 200, "a member left out keeps its value"
    assert conf["lifecycleHooks"] == [hook]
    assert conf["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}

    ecs.update_service(cluster=cluster, service=name, deploymentConfiguration={
        "lifecycleHooks": [], "deploymentCircuitBreaker": {"enable": False, "rollback": False}})
    conf = _describe(ecs, cluster, name)["deploymentConfiguration"]
    assert conf.get("lifecycleHooks", []) == [], "an empty list clears the hooks"
    assert conf["deploymentCircuitBreaker"] == {"enable": False, "rollback": False}
    assert conf["maximumPercent"] == 200


def test_a_service_behind_a_classic_load_balancer_reports_no_rollout_state(aws, net, control):
    name = f"clb-{uuid.uuid4().hex[:6]}"
    ecs, cluster, td, created = _service(aws, net, name, launchType="FARGATE", loadBalancers=[
        {"loadBalancerName": "classic", "containerName": "app", "containerPort": 80}])
    assert all("rolloutState" not in d for d in created["deployments"])
    service = wait_for(lambda: (lambda s: s if s["deployments"][0]["runningCount"] == 1 else None)(
        _describe(ecs, cluster, name)), what="deployment to run its task")
    [dep] = service["deployments"]
    assert dep["status"] == "PRIMARY" and "rolloutState" not in dep and "rolloutStateReason" not in dep
    ecs.update_service(cluster=cluster, service=name, forceNewDeployment=True)
    wait_for(lambda: len(_describe(ecs, cluster, name)["deployments"]) == 1
             and _describe(ecs, cluster, name)["deployments"][0]["runningCount"] == 1,
             what="second deployment")
    assert all("rolloutState" not in d for d in _describe(ecs, cluster, name)["deployments"])


def test_a_capacity_provider_service_has_no_launch_type_and_run_task_refuses_both(aws, net):
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}]
    name = f"cp-{uuid.uuid4().hex[:6]}"
    ecs, cluster, td, created = _service(aws, net, name, capacityProviderStrategy=strategy,
                                         platformVersion="1.4.0")
    assert "launchType" not in created
    service = _describe(ecs, cluster, name)
    assert "launchType" not in service and service["capacityProviderStrategy"] == strategy
    assert all("launchType" not in d for d in service["deployments"])

    with pytest.raises(ClientError) as both:
        ecs.create_service(cluster=cluster, serviceName=name + "-both", taskDefinition=td,
                           desiredCount=1, launchType="FARGATE", capacityProviderStrategy=strategy)
    assert both.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as both:
        ecs.run_task(cluster=cluster, taskDefinition=td, launchType="FARGATE",
                     capacityProviderStrategy=strategy)
    assert both.value.response["Error"]["Code"] == "InvalidParameterException"


def test_run_task_sync_passes_the_capacity_provider_strategy(aws, control, net):
    family = f"cpsync-{uuid.uuid4().hex[:6]}"
    cluster, td = _cluster_and_family(aws, family)
    state = _run_task_state(cluster, td, net, {"ResultSelector": {"TaskArn.$": "$.TaskArn"},
                                               "End": True})
    del state["Parameters"]["LaunchType"]
    state["Parameters"]["CapacityProviderStrategy"] = [{"CapacityProvider": "FARGATE", "Weight": 1}]
    desc = run_execution(aws("stepfunctions"), {"StartAt": "Run", "States": {"Run": state}},
                         {"command": ["migrate"]})
    assert desc["status"] == "SUCCEEDED", desc
    [call] = [e for e in control.get("ecs/log") if e["op"] == "RunTask" and e.get("taskDefinition") == td]
    assert call["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1}]
    assert "launchType" not in call


def test_run_task_failures_fail_the_sync_state_with_amazon_ecs_unknown(aws, control, net):
    family = f"nocap-{uuid.uuid4().hex[:6]}"
    cluster, td = _cluster_and_family(aws, family)
    reason = "Capacity is unavailable at this time. Please try again later or in a different availability zone"
    control.post("faults", {"service": "ecs", "operation": "RunTask", "times": 1,
                            "match": {"taskDefinition": td}, "failures": [{"reason": reason}]})
    definition = {"StartAt": "Run", "States": {"Run": _run_task_state(cluster, td, net, {
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
        "End": True}), "Failed": {"Type": "Pass", "End": True}}}
    desc = run_execution(aws("stepfunctions"), definition, {"command": ["migrate"]})
    error = json.loads(desc["output"])["error"]
    assert error["Error"] == "AmazonECS.Unknown", error
    assert reason in error["Cause"] and td in error["Cause"]

    # The fault fired once: a retried RunTask starts the task.
    control.post("faults", {"service": "ecs", "operation": "RunTask", "times": 2,
                            "match": {"taskDefinition": td}, "failures": [{"reason": reason}]})
    definition["States"]["Run"]["ResultSelector"] = {"TaskArn.$": "$.TaskArn"}
    definition["States"]["Run"]["Retry"] = [{"ErrorEquals": ["AmazonECS.Unknown"],
                                             "IntervalSeconds": 1, "BackoffRate": 1.0, "MaxAttempts": 3}]
    desc = run_execution(aws("stepfunctions"), definition, {"command": ["migrate"]})
    assert desc["status"] == "SUCCEEDED" and "error" not in json.loads(desc["output"]), desc


def test_a_sidecar_exiting_non_zero_fails_the_sync_state(aws, control, net):
    family = f"sidecar-{uuid.uuid4().hex[:6]}"
    cluster, td = _cluster_and_family(aws, family)
    control.post("ecs/task-fate", {"family": family, "exit_code": 0,
                                   "container_exit_codes": {"sidecar": 2}})
    definition = {"StartAt": "Run", "States": {"Run": _run_task_state(cluster, td, net, {
        "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Failed"}],
        "End": True}), "Failed": {"Type": "Pass", "End": True}}}
    desc = run_execution(aws("stepfunctions"), definition, {"command": ["migrate"]})
    assert desc["status"] == "SUCCEEDED", (desc.get("error"), desc.get("cause"))
    error = json.loads(desc["output"])["error"]
    assert error["Error"] == "States.TaskFailed", error
    stopped = json.loads(error["Cause"])
    codes = {c["Name"]: c["ExitCode"] for c in stopped["Containers"]}
    assert codes == {"app": 0, "sidecar": 2}
