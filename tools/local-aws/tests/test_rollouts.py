"""ECS service rollout simulator: deployments, circuit-breaker rollback, state change events."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from conftest import ACCOUNT, REGION, wait_for

FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"


def _image(digest: str) -> str:
    return f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web@{digest}"


def _digest() -> str:
    return "sha256:" + uuid.uuid4().hex * 2


@pytest.fixture()
def svc(aws, emulator):
    """A service with the circuit breaker (rollback) on, its first deployment completed,
    and a rule sending ECS deployment events to a recording Lambda."""
    ecs, events = aws("ecs"), aws("events")
    tag = uuid.uuid4().hex[:6]
    recorder = f"ecs-events-{tag}"
    events.put_rule(Name=f"ecs-{tag}", EventPattern=json.dumps(
        {"source": ["aws.ecs"], "detail-type": ["ECS Deployment State Change"]}))
    events.put_targets(Rule=f"ecs-{tag}", Targets=[{"Id": "fn", "Arn": FN + recorder}])
    cluster = ecs.create_cluster(clusterName=f"c-{tag}")["cluster"]["clusterArn"]

    def register(digest):
        return ecs.register_task_definition(
            family=f"web-{tag}", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
            cpu="256", memory="512",
            containerDefinitions=[{"name": "web", "image": _image(digest), "essential": True}],
        )["taskDefinition"]["taskDefinitionArn"]

    td1 = register(_digest())
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName=f"svc-{tag}", Description="s", VpcId=vpc)["GroupId"]

    def create(name, circuit_breaker=True):
        conf = {"maximumPercent": 200, "minimumHealthyPercent": 100}
        if circuit_breaker:
            conf["deploymentCircuitBreaker"] = {"enable": True, "rollback": True}
        s = ecs.create_service(
            cluster=cluster, serviceName=name, taskDefinition=td1, desiredCount=2,
            launchType="FARGATE", deploymentConfiguration=conf,
            networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [sg]}},
        )["service"]
        wait_for(lambda: describe(name)["deployments"][0]["rolloutState"] == "COMPLETED",
                 what="initial deployment")
        return s

    def describe(name):
        return ecs.describe_services(cluster=cluster, services=[name])["services"][0]

    def events_for(service_arn):
        # Lambda targets are invoked asynchronously: arrival order is not emission order.
        return sorted((p for p in emulator_events(recorder) if service_arn in p["resources"]),
                      key=lambda p: p["detail"]["updatedAt"])

    def emulator_events(name):
        from conftest import FakeLambda  # noqa: F401

        return _fake().payloads(name)

    ns = type("Svc", (), {})()
    ns.ecs, ns.cluster, ns.td1, ns.register, ns.create = ecs, cluster, td1, register, create
    ns.describe, ns.events_for, ns.recorder = describe, events_for, recorder
    return ns


_FAKE = {}


@pytest.fixture(autouse=True)
def _remember_fake(fake_lambda):
    _FAKE["f"] = fake_lambda


def _fake():
    return _FAKE["f"]


def test_healthy_rollout(svc, control):
    s = svc.create("api")
    first = svc.describe("api")["deployments"][0]["id"]
    digest = _digest()
    td2 = svc.register(digest)
    control.post("ecs/deployment-fate", {"digest": digest, "fate": "healthy"})

    resp = svc.ecs.update_service(cluster=svc.cluster, service="api", taskDefinition=td2)["service"]
    deps = resp["deployments"]
    assert [d["status"] for d in deps] == ["PRIMARY", "ACTIVE"]
    new = deps[0]
    assert new["taskDefinition"] == td2 and new["rolloutState"] == "IN_PROGRESS"
    assert new["id"].startswith("ecs-svc/") and len(new["id"]) == len("ecs-svc/") + 19
    assert deps[1]["id"] == first and deps[1]["taskDefinition"] == svc.td1

    done = wait_for(lambda: (lambda d: d if d["deployments"][0]["rolloutState"] == "COMPLETED"
                             and len(d["deployments"]) == 1 else None)(svc.describe("api")),
                    what="rollout completed")
    assert done["deployments"][0]["id"] == new["id"]
    assert done["deployments"][0]["runningCount"] == 2 and done["taskDefinition"] == td2

    evs = wait_for(lambda: (lambda e: e if len(e) >= 4 else None)(svc.events_for(s["serviceArn"])),
                   what="events")
    mine = [e["detail"] for e in evs if e["detail"]["deploymentId"] == new["id"]]
    assert [d["eventName"] for d in mine] == ["SERVICE_DEPLOYMENT_IN_PROGRESS",
                                              "SERVICE_DEPLOYMENT_COMPLETED"]
    assert all(d["eventType"] == "INFO" and d["updatedAt"].endswith("Z") for d in mine)
    e0 = evs[-1]
    assert e0["source"] == "aws.ecs" and e0["detail-type"] == "ECS Deployment State Change"
    assert e0["resources"] == [s["serviceArn"]]

    rollouts = [r for r in control.get("ecs/deployments") if r["service_arn"] == s["serviceArn"]]
    assert [r["outcome"] for r in rollouts] == ["completed", "completed"]
    assert rollouts[1]["deployment_id"] == new["id"] and rollouts[1]["ended_at"] > rollouts[1]["started_at"]
    ops = [e["op"] for e in control.get("ecs/log")]
    assert "CreateService" in ops and "UpdateService" in ops and "RegisterTaskDefinition" in ops


def test_unhealthy_rollout_with_circuit_breaker_rolls_back(svc, control):
    s = svc.create("worker")
    first = svc.describe("worker")["deployments"][0]["id"]
    digest = _digest()
    td2 = svc.register(digest)
    control.post("ecs/deployment-fate", {"digest": digest, "fate": "unhealthy"})
    new = svc.ecs.update_service(cluster=svc.cluster, service="worker",
                                 taskDefinition=td2)["service"]["deployments"][0]

    # A delivery may be retried (the async invoke's own retries), so wait for all four
    # events of the two new deployments, not only the rollback's completion: events arrive
    # in any order.
    evs = wait_for(lambda: (lambda e: e if any(
        x["detail"]["eventName"] == "SERVICE_DEPLOYMENT_COMPLETED"
        and x["detail"]["deploymentId"] not in (first, new["id"]) for x in e) and sum(
        x["detail"]["deploymentId"] != first for x in e) >= 4 else None)(
        svc.events_for(s["serviceArn"])), what="the failure's and the rollback's events")
    later = [e["detail"] for e in evs if e["detail"]["deploymentId"] != first]
    names = [(d["eventName"], d["eventType"]) for d in later]
    assert names == [("SERVICE_DEPLOYMENT_IN_PROGRESS", "INFO"),
                     ("SERVICE_DEPLOYMENT_FAILED", "ERROR"),
                     ("SERVICE_DEPLOYMENT_IN_PROGRESS", "INFO"),
                     ("SERVICE_DEPLOYMENT_COMPLETED", "INFO")]
    assert later[1]["deploymentId"] == new["id"]
    assert later[1]["reason"] == "ECS deployment circuit breaker: tasks failed to start."
    rollback_id = later[2]["deploymentId"]
    assert later[2]["reason"] == f"ECS deployment circuit breaker: rolling back to deploymentId {first}"
    assert later[3]["deploymentId"] == rollback_id

    d = wait_for(lambda: (lambda x: x if len(x["deployments"]) == 1 else None)(
        svc.describe("worker")), what="single deployment")
    assert d["taskDefinition"] == svc.td1
    assert d["deployments"][0]["id"] == rollback_id
    assert d["deployments"][0]["taskDefinition"] == svc.td1
    assert d["deployments"][0]["rolloutState"] == "COMPLETED"
    outcomes = {r["deployment_id"]: r["outcome"] for r in control.get("ecs/deployments")}
    assert outcomes[new["id"]] == "rolled_back" and outcomes[rollback_id] == "completed"


def test_failed_deployment_is_visible_while_rolling_back(svc, control):
    svc.create("mid")
    digest = _digest()
    td2 = svc.register(digest)
    control.post("ecs/deployment-fate", {"digest": digest, "fate": "unhealthy"})
    new = svc.ecs.update_service(cluster=svc.cluster, service="mid",
                                 taskDefinition=td2)["service"]["deployments"][0]
    d = wait_for(lambda: (lambda x: x if any(dep["rolloutState"] == "FAILED"
                                             for dep in x["deployments"]) else None)(
        svc.describe("mid")), interval=0.05, what="FAILED deployment visible")
    failed = [dep for dep in d["deployments"] if dep["rolloutState"] == "FAILED"][0]
    assert failed["id"] == new["id"]


def test_unhealthy_without_circuit_breaker_stays_in_progress(svc, control):
    s = svc.create("nocb", circuit_breaker=False)
    digest = _digest()
    td2 = svc.register(digest)
    control.post("ecs/deployment-fate", {"digest": digest, "fate": "unhealthy"})
    new = svc.ecs.update_service(cluster=svc.cluster, service="nocb",
                                 taskDefinition=td2)["service"]["deployments"][0]
    time.sleep(3.5)
    d = svc.describe("nocb")
    assert d["deployments"][0]["id"] == new["id"]
    assert d["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert d["deployments"][0]["failedTasks"] >= 1
    names = [e["detail"]["eventName"] for e in svc.events_for(s["serviceArn"])
             if e["detail"]["deploymentId"] == new["id"]]
    assert names == ["SERVICE_DEPLOYMENT_IN_PROGRESS"]


def test_silent_and_force_new_deployment(svc, control):
    s = svc.create("quiet")
    control.post("ecs/deployment-fate", {"default": True, "fate": "silent"})
    try:
        new = svc.ecs.update_service(cluster=svc.cluster, service="quiet",
                                     forceNewDeployment=True)["service"]["deployments"][0]
        wait_for(lambda: svc.describe("quiet")["deployments"][0]["rolloutState"] == "COMPLETED"
                 and svc.describe("quiet")["deployments"][0]["id"] == new["id"], what="silent done")
        time.sleep(0.3)
        assert not [e for e in svc.events_for(s["serviceArn"])
                    if e["detail"]["deploymentId"] == new["id"]]
    finally:
        control.post("ecs/deployment-fate", {"default": True, "fate": "healthy"})
