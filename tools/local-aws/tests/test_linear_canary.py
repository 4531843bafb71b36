"""ECS native LINEAR and CANARY deployments, deployment alarms, and strategy-specific settings."""

from __future__ import annotations

import urllib.error
import uuid

import botocore.exceptions
import pytest
from conftest import wait_for
from test_bluegreen import LOAD_BALANCERS, _calls, _digest, _fast, _rollout, _succeeded, bg  # noqa: F401

ALARMS = {"alarmNames": ["web-5xx", "web-latency"], "enable": True, "rollback": True}


def _create(bg, name, conf):
    bg.ecs.create_service(cluster=bg.cluster, serviceName=name, taskDefinition=bg.td1,
                          desiredCount=2, launchType="FARGATE", deploymentConfiguration=conf,
                          loadBalancers=LOAD_BALANCERS, networkConfiguration=bg.network)
    wait_for(lambda: bg.describe(name)["deployments"][0]["rolloutState"] == "COMPLETED",
             what="initial deployment")
    return bg.describe(name)


def _hooked(bg, strategy, fn=_succeeded, **extra):
    hook = bg.hook(fn)
    conf = bg.config([(hook, ["PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"], None)],
                     bake=1, strategy=strategy)
    conf.update(extra)
    return hook, conf


def _shift_weights(calls, green_rev):
    return [(c["stage"], c["payload"]["executionDetails"]["productionTrafficWeights"][green_rev])
            for c in calls if not c["rollback"]]


def test_linear_shifts_production_traffic_in_steps(bg, control):
    _hook, conf = _hooked(bg, "LINEAR", linearConfiguration={"stepPercent": 40.0,
                                                            "stepBakeTimeInMinutes": 1})
    svc = _create(bg, "lin", conf)
    assert svc["deploymentConfiguration"]["linearConfiguration"] == {
        "stepPercent": 40.0, "stepBakeTimeInMinutes": 1}
    green = bg.deploy("lin")
    done = bg.settled("lin")
    assert done["deployments"][0]["id"] == green["id"]
    rec = _rollout(control, green["id"])
    assert rec["strategy"] == "LINEAR" and rec["outcome"] == "completed"
    assert rec["production_steps"] == [40.0, 80.0, 100.0]
    calls = _calls(control, "lin")
    green_rev = calls[0]["payload"]["executionDetails"]["targetServiceRevisionArn"]
    # PRE_PRODUCTION_TRAFFIC_SHIFT before every step, PRODUCTION_TRAFFIC_SHIFT at every step.
    assert _shift_weights(calls, green_rev) == [
        ("PRE_PRODUCTION_TRAFFIC_SHIFT", 0), ("PRODUCTION_TRAFFIC_SHIFT", 40),
        ("PRE_PRODUCTION_TRAFFIC_SHIFT", 40), ("PRODUCTION_TRAFFIC_SHIFT", 80),
        ("PRE_PRODUCTION_TRAFFIC_SHIFT", 80), ("PRODUCTION_TRAFFIC_SHIFT", 100)]
    evs = bg.events_for(svc["serviceArn"], green["id"], 2)
    assert [e["eventName"] for e in evs] == ["SERVICE_DEPLOYMENT_IN_PROGRESS",
                                             "SERVICE_DEPLOYMENT_COMPLETED"]


def test_canary_shifts_the_canary_then_the_rest(bg, control):
    _hook, conf = _hooked(bg, "CANARY", canaryConfiguration={"canaryPercent": 12.5,
                                                            "canaryBakeTimeInMinutes": 1})
    _create(bg, "can", conf)
    green = bg.deploy("can")
    bg.settled("can")
    rec = _rollout(control, green["id"])
    assert rec["strategy"] == "CANARY" and rec["production_steps"] == [12.5, 100.0]
    calls = _calls(control, "can")
    green_rev = calls[0]["payload"]["executionDetails"]["targetServiceRevisionArn"]
    blue_rev = next(r for r in calls[1]["payload"]["executionDetails"]["productionTrafficWeights"]
                    if r != green_rev)
    canary = calls[1]["payload"]["executionDetails"]["productionTrafficWeights"]
    assert canary == {blue_rev: 87.5, green_rev: 12.5}


def test_linear_hook_failure_rolls_back_with_rollback_events(bg, control):
    def fail_second_step(payload, _n):
        weights = payload["executionDetails"]["productionTrafficWeights"]
        green = weights[payload["executionDetails"]["targetServiceRevisionArn"]]
        second_step = payload["lifecycleStage"] == "PRE_PRODUCTION_TRAFFIC_SHIFT" and green == 50
        return 200, {"hookStatus": "FAILED" if second_step else "SUCCEEDED"}

    hook, conf = _hooked(bg, "LINEAR", fn=fail_second_step,
                         linearConfiguration={"stepPercent": 50.0, "stepBakeTimeInMinutes": 0})
    svc = _create(bg, "linfail", conf)
    blue = svc["deployments"][0]
    green = bg.deploy("linfail")
    d = bg.settled("linfail")
    assert d["deployments"][0]["id"] == blue["id"] and d["taskDefinition"] == svc["taskDefinition"]
    reason = (f"Service deployment rolled back because lifecycle hook {hook} returned FAILED "
              "during PRE_PRODUCTION_TRAFFIC_SHIFT.")
    assert _rollout(control, green["id"])["outcome"] == "rolled_back"
    evs = bg.events_for(svc["serviceArn"], green["id"], 2)
    assert [(e["eventName"], e["reason"]) for e in evs][1] == ("SERVICE_DEPLOYMENT_FAILED", reason)
    back = bg.events_for(svc["serviceArn"], blue["id"], 4)[2:]  # the first two: its creation
    assert [e["eventName"] for e in back] == ["SERVICE_DEPLOYMENT_IN_PROGRESS",
                                              "SERVICE_DEPLOYMENT_COMPLETED"]
    assert "rolling back" in back[0]["reason"] and reason in back[0]["reason"]


@pytest.mark.parametrize("strategy", ["BLUE_GREEN", "LINEAR", "CANARY"])
def test_alarm_fate_rolls_blue_green_family_back(bg, control, strategy):
    _hook, conf = _hooked(bg, strategy, alarms=ALARMS)
    name = f"alarm-{strategy.lower()}"
    svc = _create(bg, name, conf)
    digest = _digest()
    control.post("ecs/deployment-fate", {"digest": digest, "fate": "alarm"})
    green = bg.deploy(name, bg.register(digest))
    d = bg.settled(name)
    assert d["deployments"][0]["id"] == svc["deployments"][0]["id"]
    evs = bg.events_for(svc["serviceArn"], green["id"], 2)
    assert evs[1]["eventName"] == "SERVICE_DEPLOYMENT_FAILED"
    assert "web-5xx, web-latency went into ALARM" in evs[1]["reason"]


def test_alarm_fate_without_alarms_completes(bg, control):
    _hook, conf = _hooked(bg, "CANARY")
    _create(bg, "noalarm", conf)
    digest = _digest()
    control.post("ecs/deployment-fate", {"digest": digest, "fate": "alarm"})
    green = bg.deploy("noalarm", bg.register(digest))
    assert bg.settled("noalarm")["deployments"][0]["id"] == green["id"]


@pytest.mark.parametrize("rollback", [True, False])
def test_rolling_alarm_fails_and_rolls_back_when_asked(bg, control, rollback):
    conf = {"strategy": "ROLLING", "alarms": {**ALARMS, "rollback": rollback},
            "deploymentCircuitBreaker": {"enable": False, "rollback": False}}
    name = f"rollalarm-{rollback}".lower()
    svc = _create(bg, name, conf)
    digest = _digest()
    control.post("ecs/deployment-fate", {"digest": digest, "fate": "alarm"})
    green = bg.deploy(name, bg.register(digest))
    evs = bg.events_for(svc["serviceArn"], green["id"], 2)
    assert evs[1]["eventName"] == "SERVICE_DEPLOYMENT_FAILED"
    assert evs[1]["reason"] == "ECS deployment alarms: web-5xx, web-latency in ALARM state."
    rec = wait_for(lambda: (lambda r: r if r["outcome"] else None)(_rollout(control, green["id"])))
    assert rec["outcome"] == ("rolled_back" if rollback else "failed")
    if rollback:
        d = bg.settled(name)
        assert d["taskDefinition"] == svc["taskDefinition"]
    else:
        dep = bg.describe(name)["deployments"][0]
        assert dep["id"] == green["id"] and dep["rolloutState"] == "FAILED"


def test_strategy_specific_settings_only_with_their_strategy(bg):
    linear = {"stepPercent": 20.0, "stepBakeTimeInMinutes": 0}
    with pytest.raises(botocore.exceptions.ClientError) as err:
        bg.ecs.create_service(cluster=bg.cluster, serviceName="bad", taskDefinition=bg.td1,
                              desiredCount=1, deploymentConfiguration={
                                  "strategy": "BLUE_GREEN", "linearConfiguration": linear})
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "linearConfiguration is only valid" in err.value.response["Error"]["Message"]
    _create(bg, "switch", {"strategy": "LINEAR", "linearConfiguration": linear})
    carried = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "linearConfiguration": linear}
    with pytest.raises(botocore.exceptions.ClientError) as err:
        bg.ecs.update_service(cluster=bg.cluster, service="switch",
                              deploymentConfiguration=carried)
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    canary = {"canaryConfiguration": {"canaryPercent": 5.0}}  # strategy kept: LINEAR
    with pytest.raises(botocore.exceptions.ClientError):
        bg.ecs.update_service(cluster=bg.cluster, service="switch", deploymentConfiguration=canary)
    bg.ecs.update_service(cluster=bg.cluster, service="switch", deploymentConfiguration={
        "strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0})
    assert bg.describe("switch")["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"


def _refused(call) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as err:
        call()
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    return err.value.response["Error"]["Message"]


@pytest.mark.parametrize("conf, message", [
    ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 2.9}},
     "linearConfiguration.stepPercent must be between 3.0 and 100.0"),
    ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 10.25}},
     "linearConfiguration.stepPercent must be a multiple of 0.1"),
    ({"strategy": "LINEAR", "linearConfiguration": {"stepBakeTimeInMinutes": 1441}},
     "linearConfiguration.stepBakeTimeInMinutes must be between 0 and 1440"),
    ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 0.05}},
     "canaryConfiguration.canaryPercent must be between 0.1 and 100.0"),
    ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 100.5}},
     "canaryConfiguration.canaryPercent must be between 0.1 and 100.0"),
    ({"strategy": "CANARY", "canaryConfiguration": {"canaryBakeTimeInMinutes": -1}},
     "canaryConfiguration.canaryBakeTimeInMinutes must be between 0 and 1440"),
])
def test_out_of_range_steps_are_refused(bg, conf, message):
    name = f"range-{uuid.uuid4().hex[:8]}"
    refusal = _refused(lambda: bg.ecs.create_service(
        cluster=bg.cluster, serviceName=name, taskDefinition=bg.td1, desiredCount=1,
        launchType="FARGATE", networkConfiguration=bg.network, loadBalancers=LOAD_BALANCERS,
        deploymentConfiguration=conf))
    assert message in refusal
    # The same on UpdateService, and the edges of the ranges are accepted.
    _create(bg, name, {"strategy": "ROLLING"})
    assert message in _refused(lambda: bg.ecs.update_service(
        cluster=bg.cluster, service=name, deploymentConfiguration=conf))
    edges = {"LINEAR": {"linearConfiguration": {"stepPercent": 3.0, "stepBakeTimeInMinutes": 1440}},
             "CANARY": {"canaryConfiguration": {"canaryPercent": 0.1,
                                                "canaryBakeTimeInMinutes": 0}}}
    strategy = conf["strategy"]
    bg.ecs.update_service(cluster=bg.cluster, service=name, deploymentConfiguration={
        "strategy": strategy, "bakeTimeInMinutes": 0, **edges[strategy]})
    assert bg.describe(name)["deploymentConfiguration"]["strategy"] == strategy


@pytest.mark.parametrize("strategy", ["BLUE_GREEN", "LINEAR", "CANARY"])
def test_traffic_shifting_needs_an_advanced_load_balancer_or_service_connect(bg, strategy):
    name = f"route-{strategy.lower().replace('_', '-')}"
    conf = {"strategy": strategy, "bakeTimeInMinutes": 0}
    plain_lb = [{k: v for k, v in LOAD_BALANCERS[0].items() if k != "advancedConfiguration"}]
    refusal = _refused(lambda: bg.ecs.create_service(
        cluster=bg.cluster, serviceName=name, taskDefinition=bg.td1, desiredCount=1,
        launchType="FARGATE", networkConfiguration=bg.network, loadBalancers=plain_lb,
        deploymentConfiguration=conf))
    assert f"The {strategy} deployment strategy requires a load balancer" in refusal
    # A rolling service without one cannot be switched either…
    bg.ecs.create_service(cluster=bg.cluster, serviceName=name, taskDefinition=bg.td1,
                          desiredCount=1, launchType="FARGATE", networkConfiguration=bg.network,
                          deploymentConfiguration={"strategy": "ROLLING"})
    _refused(lambda: bg.ecs.update_service(cluster=bg.cluster, service=name,
                                           deploymentConfiguration=conf))
    # …until it gets one, or Service Connect.
    bg.ecs.update_service(cluster=bg.cluster, service=name, loadBalancers=LOAD_BALANCERS,
                          deploymentConfiguration=conf)
    assert bg.describe(name)["deploymentConfiguration"]["strategy"] == strategy
    connected = f"{name}-sc"
    bg.ecs.create_service(cluster=bg.cluster, serviceName=connected, taskDefinition=bg.td1,
                          desiredCount=1, launchType="FARGATE", networkConfiguration=bg.network,
                          serviceConnectConfiguration={"enabled": True, "namespace": "demo"},
                          deploymentConfiguration=conf)


def test_test_listener_can_fail_green_from_a_production_share_on(bg, control):
    from test_bluegreen import _listener_get

    base = control.get("ecs/test-listener")["url"]
    seen = []

    def probe(payload, _n):
        details = payload["executionDetails"]
        share = details["productionTrafficWeights"].get(details["targetServiceRevisionArn"], 0)
        status, _ = _listener_get(f"{base}/{bg.cluster}/lin-share/health")
        seen.append((payload["lifecycleStage"], share, status))
        return 200, {"hookStatus": "SUCCEEDED"}

    conf = bg.config([(bg.hook(probe), ["POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"],
                       None)], bake=0, strategy="LINEAR")
    conf["linearConfiguration"] = {"stepPercent": 50.0, "stepBakeTimeInMinutes": 0}
    _create(bg, "lin-share", conf)
    digest = _digest()
    control.post("ecs/test-listener", {"digest": digest, "status": 500,
                                       "from_production_percent": 100})
    bg.deploy("lin-share", bg.register(digest))
    bg.settled("lin-share")
    assert seen == [("POST_TEST_TRAFFIC_SHIFT", 0, 200), ("PRODUCTION_TRAFFIC_SHIFT", 50, 200),
                    ("PRODUCTION_TRAFFIC_SHIFT", 100, 500)]
    with pytest.raises(urllib.error.HTTPError) as err:
        control.post("ecs/test-listener", {"digest": digest, "status": 500,
                                           "from_production_percent": 0})
    assert err.value.code == 400
