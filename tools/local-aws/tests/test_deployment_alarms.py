"""Deployment alarms read from CloudWatch alarm states, and the service deployments API."""

from __future__ import annotations

import uuid

import botocore.exceptions
import pytest
from conftest import wait_for
from stevedore_local.iam_resources import Where, authorizations
from test_bluegreen import LOAD_BALANCERS, _digest, _fast, _rollout, bg  # noqa: F401

ACCOUNT = "123456789012"
ROLLBACKS = ["ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"]


@pytest.fixture(autouse=True)
def _alarm_bake(monkeypatch):
    monkeypatch.setenv("STEVEDORE_SIM_ALARM_BAKE_SECONDS", "1.5")


@pytest.fixture()
def alarms(aws):
    """Two CloudWatch alarms (OK until a test sets them), as PutMetricAlarm makes them."""
    cw = aws("cloudwatch")
    tag = uuid.uuid4().hex[:6]
    names = [f"x-{tag}", f"y-{tag}"]
    for name in names:
        cw.put_metric_alarm(AlarmName=name, MetricName="5xx", Namespace="web", Statistic="Sum",
                            Period=60, EvaluationPeriods=1, Threshold=1,
                            ComparisonOperator="GreaterThanThreshold")
        cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="test")
    ns = type("Alarms", (), {})()
    ns.names = names

    def fire(name):
        cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")

    ns.fire = fire
    return ns


def _service(bg, name, conf):
    bg.ecs.create_service(cluster=bg.cluster, serviceName=name, taskDefinition=bg.td1,
                          desiredCount=2, launchType="FARGATE", deploymentConfiguration=conf,
                          loadBalancers=LOAD_BALANCERS, networkConfiguration=bg.network)
    return bg.settled(name)


def _alarm_conf(names, rollback=True):
    return {"alarms": {"alarmNames": names, "enable": True, "rollback": rollback},
            "deploymentCircuitBreaker": {"enable": False, "rollback": False}}


def _describe(bg, name, statuses=None):
    listed = bg.ecs.list_service_deployments(cluster=bg.cluster, service=name,
                                             **({"status": statuses} if statuses else {}))
    arns = [d["serviceDeploymentArn"] for d in listed["serviceDeployments"]]
    return listed, bg.ecs.describe_service_deployments(serviceDeploymentArns=arns)


@pytest.mark.parametrize("rollback", [True, False])
def test_rolling_alarm_in_alarm_fails_the_deployment(bg, control, alarms, rollback):
    x, y = alarms.names
    name = f"roll-{rollback}".lower()
    svc = _service(bg, name, {"strategy": "ROLLING", **_alarm_conf([y, x], rollback)})
    started = bg.ecs.update_service(cluster=bg.cluster, service=name,
                                    taskDefinition=bg.register(_digest()))["service"]
    green = started["deployments"][0]
    alarms.fire(x)  # during the rollout: before or while ECS watches after the tasks are up
    evs = bg.events_for(svc["serviceArn"], green["id"], 2)
    assert evs[1]["eventName"] == "SERVICE_DEPLOYMENT_FAILED"
    assert x in evs[1]["reason"] and y not in evs[1]["reason"]
    rec = wait_for(lambda: (lambda r: r if r["outcome"] else None)(_rollout(control, green["id"])))
    assert rec["outcome"] == ("rolled_back" if rollback else "failed")
    assert rec["triggered_alarms"] == [x]
    if not rollback:
        return
    bg.settled(name)
    listed, described = _describe(bg, name, ROLLBACKS)
    assert len(listed["serviceDeployments"]) == 1
    sd = described["serviceDeployments"][0]
    assert sd["serviceDeploymentArn"] == started["currentServiceDeployment"]
    assert sd["status"] == "ROLLBACK_SUCCESSFUL"
    assert sd["alarms"] == {"status": "TRIGGERED", "alarmNames": [y, x], "triggeredAlarmNames": [x]}
    assert x in sd["rollback"]["reason"]
    assert sd["rollback"]["serviceRevisionArn"].startswith(f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-revision/")


def test_blue_green_alarm_during_the_bake_rolls_back(bg, control, alarms):
    x, y = alarms.names
    conf = {**bg.config([], bake=8), **_alarm_conf([x, y])}
    svc = _service(bg, "bgalarm", conf)
    green = bg.deploy("bgalarm")
    wait_for(lambda: _rollout(control, green["id"]).get("lifecycle_stage") == "BAKE_TIME",
             what="bake time")
    alarms.fire(y)
    evs = bg.events_for(svc["serviceArn"], green["id"], 2)
    assert evs[1]["eventName"] == "SERVICE_DEPLOYMENT_FAILED"
    assert f"{y} went into ALARM during BAKE_TIME" in evs[1]["reason"]
    done = bg.settled("bgalarm")
    assert done["taskDefinition"] == svc["taskDefinition"]
    _listed, described = _describe(bg, "bgalarm", ["ROLLBACK_SUCCESSFUL"])
    assert described["serviceDeployments"][0]["alarms"]["triggeredAlarmNames"] == [y]


def test_alarms_in_ok_let_the_deployment_complete(bg, control, alarms):
    svc = _service(bg, "okalarm", {"strategy": "ROLLING", **_alarm_conf(alarms.names)})
    green = bg.deploy("okalarm")
    assert bg.settled("okalarm")["deployments"][0]["id"] == green["id"]
    listed, described = _describe(bg, "okalarm")
    assert [d["status"] for d in listed["serviceDeployments"]] == ["SUCCESSFUL", "SUCCESSFUL"]
    newest = described["serviceDeployments"][0]
    assert newest["serviceArn"] == svc["serviceArn"]
    assert newest["alarms"] == {"status": "MONITORING_COMPLETE", "alarmNames": alarms.names,
                                "triggeredAlarmNames": []}
    assert "rollback" not in newest
    assert bg.ecs.list_service_deployments(cluster=bg.cluster, service="okalarm",
                                           status=ROLLBACKS)["serviceDeployments"] == []
    # The documented createdAt filter (boto3 sends datetimes): both deployments are after the
    # epoch, none is before it.
    import datetime

    epoch = datetime.datetime(1970, 1, 2, tzinfo=datetime.timezone.utc)
    after = bg.ecs.list_service_deployments(cluster=bg.cluster, service="okalarm",
                                            createdAt={"after": epoch})
    assert len(after["serviceDeployments"]) == 2
    before = bg.ecs.list_service_deployments(cluster=bg.cluster, service="okalarm",
                                             createdAt={"before": epoch})
    assert before["serviceDeployments"] == []


def test_describe_service_deployments_refuses_and_reports(bg):
    unknown = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-deployment/{bg.cluster}/web/nope"
    out = bg.ecs.describe_service_deployments(serviceDeploymentArns=[unknown])
    assert out["failures"] == [{"arn": unknown, "reason": "MISSING"}]
    with pytest.raises(botocore.exceptions.ClientError) as err:
        bg.ecs.describe_service_deployments(serviceDeploymentArns=[unknown] * 21)
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(botocore.exceptions.ClientError) as err:
        bg.ecs.list_service_deployments(cluster=bg.cluster, service="absent")
    assert err.value.response["Error"]["Code"] == "ServiceNotFoundException"


def test_service_deployment_iam_mapping():
    where = Where("aws", "us-east-1", ACCOUNT)
    listed = authorizations("ecs", "ListServiceDeployments", {"cluster": "prod", "service": "web"},
                            where)
    assert [(a.action, a.resource) for a in listed] == [
        ("ecs:ListServiceDeployments", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/prod/web")]
    arn = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-deployment/prod/web/abc"
    described = authorizations("ecs", "DescribeServiceDeployments",
                               {"serviceDeploymentArns": [arn]}, where)
    assert [(a.action, a.resource) for a in described] == [("ecs:DescribeServiceDeployments", arn)]
    assert described[0].context.lookup("ecs:cluster") == (
        True, f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod")
