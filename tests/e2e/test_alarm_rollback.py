"""`alarms:` on a stage: ECS watches the stage's CloudWatch alarms (with the ones the service
already had) during each release's rollout; one going into ALARM makes ECS roll back, and the
release ends ROLLED_BACK naming it. With the alarm OK the next release succeeds."""

from __future__ import annotations

import time

import pytest
from e2e_helpers import ci_tag, ecs_calls, finished_release
from example_app import seed_app, service_task_definition

APP = "alarm-rb-e2e"
STAGE_ALARM = "alarm-rb-e2e-5xx"  # the stage's
OWN_ALARM = "alarm-rb-e2e-latency"  # the service owners', set outside Stevedore


def _set(stack, name: str, state: str) -> None:
    stack.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue=state,
                                               StateReason="e2e")


def _service(stack, app):
    return stack.client("ecs").describe_services(
        cluster=app.cluster, services=[app.services["staging"]])["services"][0]


def _rollouts(stack, app):
    return [u for u in ecs_calls(stack, "UpdateService", service=app.services["staging"])
            if u.get("taskDefinition")]


@pytest.fixture(scope="module")
def app(stack):
    cw = stack.client("cloudwatch")
    for name in (STAGE_ALARM, OWN_ALARM):
        cw.put_metric_alarm(AlarmName=name, MetricName="5xx", Namespace="e2e", Statistic="Sum",
                            Period=60, EvaluationPeriods=1, Threshold=1,
                            ComparisonOperator="GreaterThanThreshold")
        _set(stack, name, "OK")
    app = seed_app(stack, APP, migration=False, circuit_breaker=False,
                   staging_overrides={"alarms": [STAGE_ALARM]})
    conf = _service(stack, app)["deploymentConfiguration"]
    stack.client("ecs").update_service(
        cluster=app.cluster, service=app.services["staging"], deploymentConfiguration={
            **conf, "alarms": {"alarmNames": [OWN_ALARM], "enable": False, "rollback": False}})
    return app


@pytest.fixture(scope="module")
def rolled_back(stack, app):
    """A release during whose rollout the stage's alarm goes into ALARM."""
    digest = stack.push_image(app.repository, ci_tag(), layer_seed=f"{APP}-1")
    deadline = time.monotonic() + 120
    while not _rollouts(stack, app):  # the release's UpdateService: its rollout has begun
        assert time.monotonic() < deadline, "the release never updated the service"
        time.sleep(0.2)
    _set(stack, STAGE_ALARM, "ALARM")
    try:
        return finished_release(stack, app, digest)
    finally:
        _set(stack, STAGE_ALARM, "OK")


def test_an_alarm_in_alarm_rolls_the_release_back_naming_it(stack, app, rolled_back):
    release = rolled_back
    assert release["status"] == "ROLLED_BACK", f"{release.get('status')}: {release.get('reason')}"
    assert f"`{STAGE_ALARM}`" in release["reason"], release["reason"]
    assert OWN_ALARM not in release["reason"]
    assert not release.get("restore_deployment_id"), "Stevedore restored on top of ECS's rollback"
    assert service_task_definition(stack, app, "staging") == app.task_definition_arn
    # The release sent the alarms only (a rolling stage changes nothing else), the owners' kept.
    [update] = _rollouts(stack, app)
    sent = {"alarmNames": [OWN_ALARM, STAGE_ALARM], "enable": True, "rollback": True}
    assert update["deploymentConfiguration"] == {"alarms": sent}, update
    assert _service(stack, app)["deploymentConfiguration"]["alarms"] == sent


def test_with_the_alarm_ok_the_next_release_succeeds(stack, app, rolled_back):
    digest = stack.push_image(app.repository, ci_tag(), layer_seed=f"{APP}-2")
    release = finished_release(stack, app, digest)
    assert release["status"] == "SUCCEEDED", release.get("reason")
    assert service_task_definition(stack, app, "staging") == release["task_definition_arn"]
    alarms = _service(stack, app)["deploymentConfiguration"]["alarms"]
    assert alarms["alarmNames"] == [OWN_ALARM, STAGE_ALARM]
