"""ECS native BLUE_GREEN deployments: lifecycle hooks, rollback, bake time, test listener."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
import uuid

import pytest
from conftest import ACCOUNT, REGION, wait_for

FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecs-infrastructure"
ELB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:"
STAGES = ["PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
          "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"]
REVISION = re.compile(rf"^arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/[^/]+/[^/]+/\d+$")
SERVICE_DEPLOYMENT = re.compile(
    rf"^arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/[^/]+/[^/]+/[A-Za-z0-9]+$")
LOAD_BALANCERS = [{
    "targetGroupArn": ELB + "targetgroup/web-blue/0123456789abcdef",
    "containerName": "web", "containerPort": 8080,
    "advancedConfiguration": {
        "alternateTargetGroupArn": ELB + "targetgroup/web-green/fedcba9876543210",
        "productionListenerRule": ELB + "listener-rule/app/web/0123456789abcdef/1111/2222",
        "testListenerRule": ELB + "listener-rule/app/web/0123456789abcdef/3333/4444",
        "roleArn": ROLE}}]


def _digest() -> str:
    return "sha256:" + uuid.uuid4().hex * 2


def _succeeded(_payload, _n):
    return 200, {"hookStatus": "SUCCEEDED"}


TIME_SCALE = 0.0015  # ecs_timing: ALB defaults roll out in (30 + 150 + 330) s x this = 0.77 s


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setenv("STEVEDORE_SIM_TIME_SCALE", str(TIME_SCALE))
    monkeypatch.setenv("STEVEDORE_SIM_HOOK_DELAY_SCALE", "0.02")


@pytest.fixture()
def bg(aws, fake_lambda):
    """A cluster with a recorder for ECS events; ``create(hooks)`` makes a BLUE_GREEN
    service on td1 (first deployment completed); ``hook(fn)`` registers a fake hook Lambda."""
    ecs, events = aws("ecs"), aws("events")
    tag = uuid.uuid4().hex[:6]
    recorder = f"bg-events-{tag}"
    events.put_rule(Name=f"bg-{tag}", EventPattern=json.dumps(
        {"source": ["aws.ecs"], "detail-type": ["ECS Deployment State Change"]}))
    events.put_targets(Rule=f"bg-{tag}", Targets=[{"Id": "fn", "Arn": FN + recorder}])
    cluster = f"bg-{tag}"
    ecs.create_cluster(clusterName=cluster)
    # awsvpc tasks need a network: ECS places every task of the service in it.
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"bg-{tag}", Description="bg",
                                      VpcId=vpc)["GroupId"]
    network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    ns = type("BG", (), {})()
    ns.digests = {}

    def register(digest):
        return ecs.register_task_definition(
            family=f"web-{tag}", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
            cpu="256", memory="512", containerDefinitions=[{
                "name": "web", "essential": True,
                "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web@{digest}"}],
        )["taskDefinition"]["taskDefinitionArn"]

    def hook(fn, name=None):
        name = name or f"hook-{uuid.uuid4().hex[:8]}"
        fake_lambda.handlers[name] = fn
        return FN + name

    def config(hooks, bake=2, strategy="BLUE_GREEN"):
        return {"strategy": strategy, "bakeTimeInMinutes": bake, "maximumPercent": 200,
                "minimumHealthyPercent": 100,
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                "lifecycleHooks": [{"hookTargetArn": arn, "roleArn": ROLE, "lifecycleStages": st,
                                    **({"hookDetails": det} if det is not None else {})}
                                   for arn, st, det in hooks]}

    def create(name, hooks=(), bake=2):
        ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=ns.td1,
                           desiredCount=2, launchType="FARGATE",
                           deploymentConfiguration=config(hooks, bake),
                           loadBalancers=LOAD_BALANCERS, networkConfiguration=network)
        wait_for(lambda: describe(name)["deployments"][0]["rolloutState"] == "COMPLETED",
                 what="initial deployment")
        return describe(name)

    def describe(name):
        return ecs.describe_services(cluster=cluster, services=[name])["services"][0]

    def deploy(name, td=None):
        td = td or register(_digest())
        return ecs.update_service(cluster=cluster, service=name,
                                  taskDefinition=td)["service"]["deployments"][0]

    def settled(name):
        return wait_for(lambda: (lambda d: d if len(d["deployments"]) == 1
                                 and d["deployments"][0]["rolloutState"] == "COMPLETED"
                                 else None)(describe(name)), what="deployment settled")

    def events_for(service_arn, dep_id, count):
        def mine():
            evs = [p["detail"] for p in fake_lambda.payloads(recorder)
                   if service_arn in p["resources"] and p["detail"]["deploymentId"] == dep_id]
            # Lambda targets are invoked asynchronously: arrival order is not emission order.
            return sorted(evs, key=lambda e: e["updatedAt"]) if len(evs) >= count else None
        return wait_for(mine, what=f"{count} events")

    ns.td1 = register(_digest())
    ns.ecs, ns.cluster, ns.register, ns.hook, ns.config = ecs, cluster, register, hook, config
    ns.network = network
    ns.create, ns.describe, ns.deploy, ns.settled, ns.events_for = (
        create, describe, deploy, settled, events_for)
    return ns


def _calls(control, service):
    return control.get(f"ecs/hook-invocations?service={service}")


def _rollout(control, dep_id):
    return next(r for r in control.get("ecs/deployments") if r["deployment_id"] == dep_id)


def test_configuration_round_trip(bg):
    hooks = [(FN + "check", ["POST_TEST_TRAFFIC_SHIFT"], {"suite": "smoke", "n": [1, None]})]
    created = bg.create("conf", hooks, bake=3)
    expected = bg.config(hooks, 3)
    assert created["deploymentConfiguration"] == expected
    assert created["loadBalancers"] == LOAD_BALANCERS
    rolling = bg.config([], 0, strategy="ROLLING")
    bg.ecs.update_service(cluster=bg.cluster, service="conf", deploymentConfiguration=rolling)
    d = bg.describe("conf")
    assert d["deploymentConfiguration"] == rolling and d["loadBalancers"] == LOAD_BALANCERS
    bg.ecs.update_service(cluster=bg.cluster, service="conf", desiredCount=3)
    d = bg.describe("conf")
    assert d["deploymentConfiguration"] == rolling and d["loadBalancers"] == LOAD_BALANCERS
    assert len(d["deployments"]) == 1  # no new deployment for a configuration change


def test_success_walks_stages_invokes_hooks_and_bakes(bg, control):
    hook = bg.hook(_succeeded)
    svc = bg.create("ok", [(hook, STAGES, {"suite": "smoke"})], bake=2)
    blue = svc["deployments"][0]
    td2 = bg.register(_digest())
    resp = bg.ecs.update_service(cluster=bg.cluster, service="ok", taskDefinition=td2)["service"]
    assert [d["status"] for d in resp["deployments"]] == ["PRIMARY", "ACTIVE"]
    green = resp["deployments"][0]
    assert green["rolloutState"] == "IN_PROGRESS" and resp["deployments"][1]["id"] == blue["id"]
    assert SERVICE_DEPLOYMENT.match(resp["currentServiceDeployment"])

    done = bg.settled("ok")
    assert done["deployments"][0]["id"] == green["id"] and done["taskDefinition"] == td2
    assert done["deployments"][0]["runningCount"] == 2
    calls = _calls(control, "ok")
    assert [c["stage"] for c in calls] == STAGES
    assert all(c["status"] == 200 and c["hook_status"] == "SUCCEEDED" and not c["rollback"]
               and c["deployment_id"] == green["id"] for c in calls)
    p = calls[0]["payload"]
    assert set(p) == {"executionDetails", "executionId", "lifecycleStage", "resourceArn",
                      "hookDetails"}
    details = p["executionDetails"]
    assert details["serviceArn"] == svc["serviceArn"]
    green_rev = details["targetServiceRevisionArn"]
    assert REVISION.match(green_rev)
    assert p["resourceArn"] == resp["currentServiceDeployment"]
    assert p["hookDetails"] == {"suite": "smoke"} and p["lifecycleStage"] == "PRE_SCALE_UP"
    uuid.UUID(p["executionId"])
    blue_rev = next(r for r in details["productionTrafficWeights"] if r != green_rev)
    assert REVISION.match(blue_rev)
    weights = {c["stage"]: (c["payload"]["executionDetails"]["testTrafficWeights"],
                            c["payload"]["executionDetails"]["productionTrafficWeights"])
               for c in calls}
    on_blue, on_green = {blue_rev: 100, green_rev: 0}, {blue_rev: 0, green_rev: 100}
    assert weights["POST_SCALE_UP"] == ({}, on_blue)
    assert weights["POST_TEST_TRAFFIC_SHIFT"] == (on_green, on_blue)
    assert weights["POST_PRODUCTION_TRAFFIC_SHIFT"] == (on_green, on_green)

    rec = _rollout(control, green["id"])
    assert rec["outcome"] == "completed" and rec["strategy"] == "BLUE_GREEN"
    assert rec["bake_seconds"] >= 2 * 60 * TIME_SCALE and rec["bake_time_in_minutes"] == 2
    evs = bg.events_for(svc["serviceArn"], green["id"], 2)
    assert [(e["eventName"], e["eventType"]) for e in evs] == [
        ("SERVICE_DEPLOYMENT_IN_PROGRESS", "INFO"), ("SERVICE_DEPLOYMENT_COMPLETED", "INFO")]


def test_in_progress_then_succeeded_passes_hook_details_back(bg, control):
    def answer(_payload, n):
        if n == 1:
            return 200, {"hookStatus": "IN_PROGRESS", "callBackDelay": 1, "hookDetails": {"step": 1}}
        if n == 2:
            return 200, {"hookStatus": "IN_PROGRESS", "callBackDelay": 2}
        return 200, {"hookStatus": "SUCCEEDED"}

    hook = bg.hook(answer)
    bg.create("poll", [(hook, ["POST_TEST_TRAFFIC_SHIFT"], {"configured": True})])
    green = bg.deploy("poll")
    assert bg.settled("poll")["deployments"][0]["id"] == green["id"]
    calls = _calls(control, "poll")
    assert [c["hook_status"] for c in calls] == ["IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"]
    assert [c["payload"]["hookDetails"] for c in calls] == [
        {"configured": True}, {"step": 1}, {"configured": True}]
    assert len({c["execution_id"] for c in calls}) == 1
    assert [c["attempt"] for c in calls] == [1, 2, 3]
    assert calls[1]["at"] - calls[0]["at"] >= 0.05 and calls[2]["at"] - calls[1]["at"] >= 0.04
    assert _rollout(control, green["id"])["outcome"] == "completed"


def test_failed_hook_rolls_back_to_blue(bg, control):
    failing = bg.hook(lambda _p, _n: (200, {"hookStatus": "FAILED"}))
    shifts = bg.hook(_succeeded)
    svc = bg.create("nope", [(failing, ["POST_TEST_TRAFFIC_SHIFT"], None),
                             (shifts, ["TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"], None)])
    blue = svc["deployments"][0]
    green = bg.deploy("nope")
    reason = (f"Service deployment rolled back because lifecycle hook {failing} returned FAILED "
              "during POST_TEST_TRAFFIC_SHIFT.")
    mid = wait_for(lambda: (lambda d: d if any(x["rolloutState"] == "FAILED"
                                               for x in d["deployments"]) else None)(
        bg.describe("nope")), interval=0.03, what="green FAILED")
    failed = next(x for x in mid["deployments"] if x["rolloutState"] == "FAILED")
    assert failed["id"] == green["id"] and failed["rolloutStateReason"] == reason

    d = bg.settled("nope")
    assert d["deployments"][0]["id"] == blue["id"] and d["deployments"][0]["status"] == "PRIMARY"
    assert d["taskDefinition"] == svc["taskDefinition"] == d["deployments"][0]["taskDefinition"]
    evs = bg.events_for(svc["serviceArn"], green["id"], 2)
    assert [(e["eventName"], e["eventType"]) for e in evs] == [
        ("SERVICE_DEPLOYMENT_IN_PROGRESS", "INFO"), ("SERVICE_DEPLOYMENT_FAILED", "ERROR")]
    assert evs[1]["reason"] == reason
    rec = _rollout(control, green["id"])
    assert rec["outcome"] == "rolled_back" and rec["reason"] == reason

    calls = _calls(control, "nope")
    assert [(c["stage"], c["rollback"]) for c in calls] == [
        ("TEST_TRAFFIC_SHIFT", False), ("POST_TEST_TRAFFIC_SHIFT", False),
        ("TEST_TRAFFIC_SHIFT", True), ("PRODUCTION_TRAFFIC_SHIFT", True)]
    back = calls[2]["payload"]["executionDetails"]
    green_rev = calls[0]["payload"]["executionDetails"]["targetServiceRevisionArn"]
    assert back["targetServiceRevisionArn"] != green_rev
    assert back["productionTrafficWeights"] == back["testTrafficWeights"] == {
        back["targetServiceRevisionArn"]: 100, green_rev: 0}


@pytest.mark.parametrize("answer,words", [
    ((500, {"errorType": "Boom", "errorMessage": "x"}), "failed during PRE_SCALE_UP."),
    ((200, {"ok": True}), "returned no hookStatus during PRE_SCALE_UP."),
    ((200, "not an object"), "returned no hookStatus during PRE_SCALE_UP."),
])
def test_bad_hook_answers_roll_back(bg, control, answer, words):
    hook = bg.hook(lambda _p, _n: answer)
    name = f"bad-{uuid.uuid4().hex[:4]}"
    svc = bg.create(name, [(hook, ["PRE_SCALE_UP"], None)])
    green = bg.deploy(name)
    d = bg.settled(name)
    assert d["deployments"][0]["id"] == svc["deployments"][0]["id"]
    assert d["taskDefinition"] == svc["taskDefinition"]
    reason = f"Service deployment rolled back because lifecycle hook {hook} {words}"
    evs = bg.events_for(svc["serviceArn"], green["id"], 2)
    assert evs[1]["eventName"] == "SERVICE_DEPLOYMENT_FAILED" and evs[1]["reason"] == reason


def test_hook_in_progress_past_the_cap_rolls_back(bg, control, monkeypatch):
    monkeypatch.setenv("STEVEDORE_SIM_HOOK_MAX_INVOCATIONS", "3")
    hook = bg.hook(lambda _p, _n: (200, {"hookStatus": "IN_PROGRESS", "callBackDelay": 1}))
    svc = bg.create("stuck", [(hook, ["POST_PRODUCTION_TRAFFIC_SHIFT"], None)])
    green = bg.deploy("stuck")
    assert bg.settled("stuck")["deployments"][0]["id"] == svc["deployments"][0]["id"]
    evs = bg.events_for(svc["serviceArn"], green["id"], 2)
    assert evs[1]["reason"] == (f"Service deployment rolled back because lifecycle hook {hook} "
                                "timed out during POST_PRODUCTION_TRAFFIC_SHIFT.")
    assert len(_calls(control, "stuck")) == 3


def test_unhealthy_green_rolls_back_at_scale_up(bg, control):
    hook = bg.hook(_succeeded)
    svc = bg.create("sick", [(hook, STAGES, None)])
    digest = _digest()
    control.post("ecs/deployment-fate", {"digest": digest, "fate": "unhealthy"})
    green = bg.deploy("sick", bg.register(digest))
    d = bg.settled("sick")
    assert d["deployments"][0]["id"] == svc["deployments"][0]["id"]
    evs = bg.events_for(svc["serviceArn"], green["id"], 2)
    assert evs[1]["reason"] == ("Service deployment rolled back because tasks failed to start "
                                "during SCALE_UP.")
    stages = [(c["stage"], c["rollback"]) for c in _calls(control, "sick")]
    assert stages == [("PRE_SCALE_UP", False), ("TEST_TRAFFIC_SHIFT", True),
                      ("PRODUCTION_TRAFFIC_SHIFT", True)]


def _listener_get(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_test_listener_serves_green_during_test_traffic(bg, control):
    base = control.get("ecs/test-listener")["url"]
    assert re.match(r"^http://127\.0\.0\.1:\d+$", base)
    seen = []

    def probe(payload, _n):
        seen.append(_listener_get(f"{base}/{bg.cluster}/probe/health?x=1"))
        return 200, {"hookStatus": "SUCCEEDED"}

    bg.create("probe", [(bg.hook(probe), ["POST_TEST_TRAFFIC_SHIFT"], None)])
    assert _listener_get(f"{base}/{bg.cluster}/probe/health") == (503, "no green targets")
    digest = _digest()
    control.post("ecs/test-listener", {"digest": f"web@{digest}", "status": 418, "body": "teapot"})
    bg.deploy("probe", bg.register(digest))
    bg.settled("probe")
    assert seen == [(418, "teapot")]
    assert _listener_get(f"{base}/{bg.cluster}/probe/health")[0] == 503

    control.post("ecs/test-listener", {"default": True, "status": 200})
    td3 = bg.register(_digest())
    bg.deploy("probe", td3)
    bg.settled("probe")
    assert seen[1] == (200, f"ok from {td3}")
    log = control.get("ecs/test-listener/requests?service=probe")
    assert [r["status"] for r in log] == [503, 418, 503, 200]
    assert log[1]["path"] == f"/{bg.cluster}/probe/health?x=1"
    assert log[1]["cluster"] == bg.cluster and log[3]["task_definition"] == td3
    assert all(isinstance(r["at"], float) for r in log)
    assert _listener_get(f"{base}/just-one")[0] == 404


def test_newer_update_supersedes_blue_green(bg, control):
    first = {}

    def hold(payload, _n):
        rev = payload["executionDetails"]["targetServiceRevisionArn"]
        first.setdefault("rev", rev)
        if rev == first["rev"]:
            return 200, {"hookStatus": "IN_PROGRESS", "callBackDelay": 1}
        return 200, {"hookStatus": "SUCCEEDED"}

    svc = bg.create("busy", [(bg.hook(hold), ["POST_SCALE_UP"], None)])
    old = bg.deploy("busy")
    wait_for(lambda: len(_calls(control, "busy")) >= 2, what="hook polled")
    new = bg.deploy("busy")
    d = bg.settled("busy")
    assert d["deployments"][0]["id"] == new["id"]
    assert _rollout(control, old["id"])["outcome"] == "superseded"
    assert _rollout(control, new["id"])["outcome"] == "completed"
    stages = [c["stage"] for c in _calls(control, "busy") if c["deployment_id"] == new["id"]]
    assert stages == ["POST_SCALE_UP"]
    assert svc["serviceArn"] == d["serviceArn"]


def test_control_validation_and_reset(control, emulator):
    def post(body):
        req = urllib.request.Request(emulator.url + "/_stevedore/ecs/test-listener",
                                     data=json.dumps(body).encode(), method="POST")
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    assert post({"status": 200})[0] == 400
    assert "digest" in post({"status": 200})[1]["error"]
    assert post({"digest": "latest", "status": 200}) == (
        400, {"error": "'digest' must be sha256:<hex> or <repo>@sha256:<hex>, not 'latest'"})
    for status in ("500", 99, 600, True, None):
        assert post({"default": True, "status": status}) == (
            400, {"error": "'status' must be an integer HTTP status 100-599"})
    assert post({"default": True, "status": 500, "body": 3}) == (
        400, {"error": "'body' must be a string when given"})
    digest = _digest()
    assert post({"digest": digest, "status": 502}) == (
        200, {"ok": True, "key": digest, "status": 502, "body": None})
    assert post({"digest": digest, "clear": True})[1]["status"] is None
    control.post("ecs/test-listener", {"default": True, "status": 500})
    control.post("reset")
    with urllib.request.urlopen(emulator.url + "/_stevedore/ecs/hook-invocations") as r:
        assert json.loads(r.read()) == []
    assert control.get("ecs/test-listener/requests") == []
    assert control.get("ecs/test-listener")["url"] == emulator.test_listener.url
