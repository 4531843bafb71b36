"""Deployments ECS rolls back itself (deployment alarms, LINEAR/CANARY, blue/green) end the
release ROLLED_BACK with no second restore on top, whatever order their events arrive in;
and a stage's rollout that cannot run on the service fails before anything changes."""

from __future__ import annotations

from e2e_helpers import ci_tag, ecs_calls, finished_release
from example_app import service_task_definition
from stack import ACCOUNT_ID, REGION

ALARMS = {"alarmNames": ["web-5xx"], "enable": True, "rollback": True}


def _configure(stack, app, **fields):
    """The service owners' own settings, set outside Stevedore."""
    ecs = stack.client("ecs")
    svc = ecs.describe_services(cluster=app.cluster, services=[app.services["staging"]])["services"][0]
    conf = {**svc["deploymentConfiguration"], **fields}
    ecs.update_service(cluster=app.cluster, service=app.services["staging"], deploymentConfiguration=conf)
    return conf


def _updates(stack, app):
    return ecs_calls(stack, "UpdateService", service=app.services["staging"])


def _assert_rolled_back_by_ecs_alone(stack, app, release):
    assert release["status"] == "ROLLED_BACK", f"{release.get('status')}: {release.get('reason')}"
    assert not release.get("restore_deployment_id"), "Stevedore restored on top of ECS's rollback"
    deploys = [u for u in _updates(stack, app) if u.get("taskDefinition")]
    assert len(deploys) == 1, deploys
    assert service_task_definition(stack, app, "staging") == app.task_definition_arn
    assert not (stack.head(app.name, "staging") or {}).get("lock_holder")


def test_deployment_alarms_with_rollback_are_ecs_rolling_back(stack, seed):
    app = seed("alarm-rb", circuit_breaker=False)
    _configure(stack, app, alarms=ALARMS)
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="alarm-rb-1")
    stack.control("ecs/deployment-fate", {"digest": digest, "fate": "alarm"})

    release = finished_release(stack, app, digest)
    _assert_rolled_back_by_ecs_alone(stack, app, release)
    assert "web-5xx in ALARM" in release["reason"]


def test_a_linear_service_keeps_its_strategy_and_ecs_rolls_it_back(stack, seed):
    app = seed("linear-rb", circuit_breaker=False, blue_green_stages={"staging"})
    _configure(stack, app, strategy="LINEAR",
               linearConfiguration={"stepPercent": 50.0, "stepBakeTimeInMinutes": 0})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="linear-rb-1")
    stack.control("ecs/deployment-fate", {"digest": digest, "fate": "unhealthy"})

    release = finished_release(stack, app, digest)
    _assert_rolled_back_by_ecs_alone(stack, app, release)
    svc = stack.client("ecs").describe_services(
        cluster=app.cluster, services=[app.services["staging"]])["services"][0]
    assert svc["deploymentConfiguration"]["strategy"] == "LINEAR", "a rolling stage keeps the owners' strategy"
    [rollout] = [d for d in stack.control("ecs/deployments") if d["deployment_id"] == release["deployment_id"]]
    assert rollout["strategy"] == "LINEAR" and rollout["outcome"] == "rolled_back"


def test_blue_green_rollback_whose_failed_event_is_lost_ends_rolled_back(stack, seed):
    listener = stack.control("ecs/test-listener")["url"]
    app = seed("bg-lost", blue_green_stages={"staging"}, staging_overrides={
        "strategy": "blue_green", "deploy_timeout_seconds": 300,
        "smoke_test": {"test_url": f"{listener}/demo/bg-lost-staging/healthz", "attempts": 2,
                       "interval_seconds": 1}})
    # Only the rollback deployment's own events (IN_PROGRESS, COMPLETED) reach Stevedore.
    stack.control("events/drop", {"source": "aws.ecs", "detail-type": "ECS Deployment State Change",
                                  "detail": {"eventName": "SERVICE_DEPLOYMENT_FAILED"}, "times": 1})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="bg-lost-1")
    stack.control("ecs/test-listener", {"digest": digest, "status": 500})

    release = finished_release(stack, app, digest)
    assert release["status"] == "ROLLED_BACK", f"{release.get('status')}: {release.get('reason')}"
    assert "DeploymentReplaced" not in (release.get("reason") or "")
    assert release["smoke_test_status"] == "FAILED"
    assert not release.get("restore_deployment_id")
    # The lost event arriving late, twice, changes nothing.
    [failed] = [e for e in stack.control("events")
                if e.get("source") == "aws.ecs"
                and e["detail"].get("deploymentId") == release["deployment_id"]
                and e["detail"].get("eventName") == "SERVICE_DEPLOYMENT_FAILED"]
    stack.control("events/redeliver", failed)
    stack.control("events/redeliver", failed)
    again = finished_release(stack, app, digest)
    assert again["status"] == "ROLLED_BACK" and again["reason"] == release["reason"]


def test_smoke_test_without_a_test_listener_rule_fails_before_anything_changes(stack, seed):
    listener = stack.control("ecs/test-listener")["url"]
    app = seed("bg-norule", blue_green_stages={"staging"}, staging_overrides={
        "strategy": "blue_green", "deploy_timeout_seconds": 300,
        "smoke_test": {"test_url": f"{listener}/demo/bg-norule-staging/healthz"}})
    lb = dict(app.blue_green["staging"]["load_balancer"])
    lb["advancedConfiguration"] = {k: v for k, v in lb["advancedConfiguration"].items()
                                   if k != "testListenerRule"}
    stack.client("ecs").update_service(cluster=app.cluster, service=app.services["staging"],
                                       loadBalancers=[lb])
    before = len(_updates(stack, app))
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="bg-norule-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    assert "testListenerRule" in release["reason"], release["reason"]
    assert not release.get("migration_task_arn"), "the migration must not run"
    assert len(_updates(stack, app)) == before
    assert service_task_definition(stack, app, "staging") == app.task_definition_arn


def test_another_teams_hook_role_stevedore_cannot_pass_fails_naming_it(stack, seed):
    listener = stack.control("ecs/test-listener")["url"]
    app = seed("bg-theirs", blue_green_stages={"staging"}, staging_overrides={
        "strategy": "blue_green", "deploy_timeout_seconds": 300,
        "smoke_test": {"test_url": f"{listener}/demo/bg-theirs-staging/healthz"}})
    role = f"arn:aws:iam::{ACCOUNT_ID}:role/payments-team-hook"
    hook = {"hookTargetArn": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:payments-check",
            "roleArn": role, "lifecycleStages": ["PRE_SCALE_UP"]}
    _configure(stack, app, lifecycleHooks=[hook])
    before = len(_updates(stack, app))
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="bg-theirs-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    assert role in release["reason"] and "iam:PassRole" in release["reason"], release["reason"]
    assert not release.get("migration_task_arn"), "the migration must not run"
    assert len(_updates(stack, app)) == before
    svc = stack.client("ecs").describe_services(
        cluster=app.cluster, services=[app.services["staging"]])["services"][0]
    assert svc["deploymentConfiguration"]["lifecycleHooks"] == [hook], "their hook is untouched"
