"""Unmodified third-party deploy tools judge the emulator's service rollouts as they judge
AWS's: fabfuel's ``ecs deploy`` (PyPI ecs-deploy, pinned in tools/requirements.txt) waits for
the new revision's tasks, ``aws ecs wait services-stable`` (awscli) for one deployment whose
runningCount is desiredCount. Both run as subprocesses that reach the emulator only through
its endpoint, with dummy credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import ACCOUNT, REGION

BIN = Path(sys.executable).parent


def _digest() -> str:
    return "sha256:" + uuid.uuid4().hex * 2


def _image(digest: str) -> str:
    return f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web@{digest}"


@pytest.fixture()
def stack(aws, emulator, control):
    """A Fargate service (circuit breaker off, so an unhealthy rollout stays IN_PROGRESS as on
    ECS) with its first deployment completed, and the environment a tool run gets."""
    from conftest import wait_for

    ecs, ec2 = aws("ecs"), aws("ec2")
    tag = uuid.uuid4().hex[:6]
    cluster = ecs.create_cluster(clusterName=f"tools-{tag}")["cluster"]["clusterName"]
    vpc = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.6.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"tools-{tag}", Description="t",
                                      VpcId=vpc)["GroupId"]
    td = ecs.register_task_definition(
        family=f"web-{tag}", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu="256", memory="512",
        containerDefinitions=[{"name": "web", "image": _image(_digest()), "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=cluster, serviceName="web", taskDefinition=td, desiredCount=2,
        launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
            "subnets": [subnet], "securityGroups": [group]}},
        deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100,
                                 "deploymentCircuitBreaker": {"enable": False, "rollback": False}})
    wait_for(lambda: ecs.describe_services(cluster=cluster, services=["web"])["services"][0][
        "deployments"][0]["rolloutState"] == "COMPLETED", what="first deployment")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=emulator.url, AWS_ACCESS_KEY_ID="local",
               AWS_SECRET_ACCESS_KEY="local", AWS_DEFAULT_REGION=REGION,
               AWS_EC2_METADATA_DISABLED="true")
    ns = type("Stack", (), {})()
    ns.ecs, ns.cluster, ns.family, ns.env, ns.td = ecs, cluster, f"web-{tag}", env, td

    def image(fate):
        digest = _digest()
        control.post("ecs/deployment-fate", {"digest": digest, "fate": fate})
        return _image(digest)

    def service():
        return ecs.describe_services(cluster=cluster, services=["web"])["services"][0]

    ns.image, ns.service = image, service
    return ns


def _ecs_deploy(stack, image: str, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "ecs"), "deploy", stack.cluster, "web", "--image", "web", image,
         "--timeout", str(timeout), "--sleep-time", "1"],
        env=stack.env, capture_output=True, text=True, timeout=timeout + 60)


def test_ecs_deploy_completes_a_healthy_deployment(stack):
    image = stack.image("healthy")
    run = _ecs_deploy(stack, image, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Deployment successful" in run.stdout
    service = stack.service()
    assert service["taskDefinition"] != stack.td and len(service["deployments"]) == 1
    td = stack.ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    assert td["taskDefinition"]["containerDefinitions"][0]["image"] == image
    arns = stack.ecs.list_tasks(cluster=stack.cluster, serviceName="web")["taskArns"]
    tasks = stack.ecs.describe_tasks(cluster=stack.cluster, tasks=arns)["tasks"]
    assert [(t["taskDefinitionArn"], t["lastStatus"]) for t in tasks] == [
        (service["taskDefinition"], "RUNNING")] * 2


def test_ecs_deploy_reports_an_unhealthy_deployment(stack):
    run = _ecs_deploy(stack, stack.image("unhealthy"), timeout=6)
    assert run.returncode != 0, run.stdout + run.stderr
    assert "Deployment failed due to timeout" in run.stdout + run.stderr
    assert "tasks failed to start" in run.stdout + run.stderr  # it saw failedTasks grow


def _waiter_data_path(tmp_path: Path, delay: int, attempts: int) -> str:
    """awscli's own ServicesStable waiter with a test's poll cadence (15 s x 40 on the shelf):
    the acceptors are the shipped ones, only ``delay``/``maxAttempts`` differ. The CLI loads
    it from AWS_DATA_PATH, botocore's documented place for model overrides."""
    import awscli

    shipped = Path(awscli.__file__).parent / "botocore/data/ecs/2014-11-13/waiters-2.json"
    model = json.loads(shipped.read_text())
    stable = model["waiters"]["ServicesStable"]
    assert (stable["delay"], stable["maxAttempts"]) == (15, 40)  # what the override changes
    stable.update(delay=delay, maxAttempts=attempts)
    target = tmp_path / "ecs/2014-11-13/waiters-2.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(model))
    return str(tmp_path)


def _wait_stable(stack, tmp_path: Path, attempts: int) -> subprocess.CompletedProcess:
    env = dict(stack.env, AWS_DATA_PATH=_waiter_data_path(tmp_path, 1, attempts))
    return subprocess.run(
        [str(BIN / "aws"), "ecs", "wait", "services-stable", "--cluster", stack.cluster,
         "--services", "web", "--endpoint-url", env["AWS_ENDPOINT_URL"]],
        env=env, capture_output=True, text=True, timeout=attempts + 60)


def _deploy(stack, fate: str) -> str:
    td = stack.ecs.register_task_definition(
        family=stack.family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu="256", memory="512",
        containerDefinitions=[{"name": "web", "image": stack.image(fate), "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]
    stack.ecs.update_service(cluster=stack.cluster, service="web", taskDefinition=td)
    return td


def test_aws_wait_services_stable_returns_once_the_deployment_completed(stack, tmp_path):
    td = _deploy(stack, "healthy")
    run = _wait_stable(stack, tmp_path, attempts=30)
    assert run.returncode == 0, run.stdout + run.stderr
    service = stack.service()
    assert len(service["deployments"]) == 1 and service["runningCount"] == 2
    assert service["deployments"][0]["taskDefinition"] == td


def test_aws_wait_services_stable_fails_on_an_unhealthy_deployment(stack, tmp_path):
    _deploy(stack, "unhealthy")
    run = _wait_stable(stack, tmp_path, attempts=5)
    assert run.returncode == 255, run.stdout + run.stderr
    assert "Waiter ServicesStable failed: Max attempts exceeded" in run.stderr
    assert len(stack.service()["deployments"]) == 2  # the old deployment still serves
