"""ECS semantics Stevedore must follow, end to end (issue 9, item 3): which ECS deployment events
are this stack's, and how the migration task's RunTask and exit codes are judged.

- on-ecs-event knows its own account and region: its own events complete releases (not the
  fallback check); events of another account or region are ignored; a legacy short service
  ARN (`service/<name>`) is understood.
- RunTask `failures[]` (no capacity) are retried before a release ends MigrationDidNotStart.
- runTask.sync fails when any container exits non-zero, sidecars included, and the release's
  reason names the container and its exit code.
"""

from __future__ import annotations

import copy
import json
import time

from e2e_helpers import (assert_service_untouched, ci_tag, ecs_calls, family_of, finished_release,
                         states_entered)
from example_app import service_task_definition
from stack import ACCOUNT_ID, REGION

OTHER_ACCOUNT, OTHER_REGION = "210987654321", "eu-west-1"
NO_CAPACITY = ("Capacity is unavailable at this time. Please try again later or in a different "
               "availability zone")


def deployment_started(stack, app, digest):
    return stack.wait_for_release(app.name, "staging",
                                  lambda r: r.get("digest") == digest and r.get("deployment_id"))


def ecs_event_of(stack, deployment_id, event_name=None, timeout=60):
    """An ECS deployment event the emulator emitted for `deployment_id` (delivered or dropped)."""
    deadline = time.monotonic() + timeout
    while True:
        events = [e for e in stack.control("events") if e.get("source") == "aws.ecs"
                  and e["detail"].get("deploymentId") == deployment_id
                  and event_name in (None, e["detail"].get("eventName"))]
        if events:
            return copy.deepcopy(events[0])
        assert time.monotonic() < deadline, f"no {event_name or 'ECS'} event for {deployment_id}"
        time.sleep(0.5)


def deliver(stack, event):
    """Hand an event to on-ecs-event as its EventBridge rule would; its answer."""
    answer = stack.client("lambda").invoke(FunctionName="on-ecs-event", Payload=json.dumps(event))
    assert "FunctionError" not in answer, answer
    return json.loads(answer["Payload"].read())


def test_the_stacks_own_ecs_event_completes_the_release(stack, seed):
    """on-ecs-event's account and region are this stack's (wherever it runs): its own event
    completes the release, without the fallback check."""
    app = seed("ev-own", migration=False, staging_overrides={"deploy_timeout_seconds": 600})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="ev-own-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    event = ecs_event_of(stack, release["deployment_id"], "SERVICE_DEPLOYMENT_COMPLETED")
    assert (event["account"], event["region"]) == (ACCOUNT_ID, REGION)
    entered = states_entered(stack, app, release)
    assert "WaitForEcs" in entered and "FallbackCheck" not in entered, entered


def test_ecs_events_of_another_account_or_region_are_ignored(stack, seed):
    app = seed("ev-foreign", migration=False, staging_overrides={"deploy_timeout_seconds": 600})
    digest = stack.push_image(app.repository, "candidate", layer_seed="ev-foreign-1")
    stack.control("ecs/deployment-fate", {"digest": digest, "fate": "slow"})
    stack.push_image(app.repository, ci_tag(), layer_seed="ev-foreign-1")
    deployment_id = deployment_started(stack, app, digest)["deployment_id"]
    ours = ecs_event_of(stack, deployment_id, "SERVICE_DEPLOYMENT_IN_PROGRESS")
    failed = dict(ours["detail"], eventType="ERROR", eventName="SERVICE_DEPLOYMENT_FAILED",
                  reason="ECS deployment circuit breaker: tasks failed to start.")
    service_path = ours["resources"][0].split(":", 5)[5]
    for account, region in ((OTHER_ACCOUNT, REGION), (ACCOUNT_ID, OTHER_REGION)):
        foreign = dict(ours, account=account, region=region, detail=failed,
                       resources=[f"arn:aws:ecs:{region}:{account}:{service_path}"])
        answer = deliver(stack, foreign)
        assert "ignored" in answer and (account if account != ACCOUNT_ID else region) in answer["ignored"], answer
    [rollout] = [d for d in stack.control("ecs/deployments") if d["deployment_id"] == deployment_id]
    assert rollout["outcome"] is None, "the foreign events came while the release was still waiting"

    release = finished_release(stack, app, digest)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    assert release["deployment_id"] == deployment_id
    assert service_task_definition(stack, app, "staging") == release["task_definition_arn"]


def test_a_legacy_short_service_arn_is_understood(stack, seed):
    """The failure of a deployment ECS rolled back itself (circuit breaker), its event naming the
    service by a legacy short ARN: Stevedore finds the service and records ROLLED_BACK without a
    second restore on top of ECS's own."""
    app = seed("ev-legacy", migration=False, staging_overrides={"deploy_timeout_seconds": 600})
    digest = stack.push_image(app.repository, "candidate", layer_seed="ev-legacy-1")
    stack.control("ecs/deployment-fate", {"digest": digest, "fate": "unhealthy"})
    # The emulator's own failure event (long ARN) is lost; it is delivered again, legacy-shaped.
    stack.control("events/drop", {"source": "aws.ecs", "detail-type": "ECS Deployment State Change",
                                  "detail": {"eventName": "SERVICE_DEPLOYMENT_FAILED"}})
    stack.push_image(app.repository, ci_tag(), layer_seed="ev-legacy-1")
    deployment_id = deployment_started(stack, app, digest)["deployment_id"]
    failed = ecs_event_of(stack, deployment_id, "SERVICE_DEPLOYMENT_FAILED")
    failed["resources"] = [f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:service/{app.services['staging']}"]
    deliver(stack, failed)

    release = finished_release(stack, app, digest)
    assert release["status"] == "ROLLED_BACK", f"{release.get('status')}: {release.get('reason')}"
    assert not release.get("restore_deployment_id"), "Stevedore restored on top of ECS's rollback"
    assert "circuit breaker" in release["reason"], release["reason"]
    assert len(ecs_calls(stack, "UpdateService", service=app.services["staging"])) == 1
    entered = states_entered(stack, app, release)
    assert "FallbackCheck" not in entered and "RestorePrevious" not in entered, entered
    assert service_task_definition(stack, app, "staging") == app.task_definition_arn


def test_run_task_failures_are_retried_until_the_migration_starts(stack, seed):
    app = seed("ev-nocapacity")
    fault = stack.control("faults", {"service": "ecs", "operation": "RunTask", "times": 2,
                                     "failures": [{"reason": NO_CAPACITY}]})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="ev-nocapacity-1")
    try:
        release = finished_release(stack, app, digest)
        fired = next(f for f in stack.control("faults") if f["id"] == fault["id"])["fired"]
    finally:
        stack.control("faults/clear", {})  # an unspent fault must not hit the next test's RunTask

    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    assert fired == 2, "RunTask did not answer failures[] as armed"
    runs = [c for c in ecs_calls(stack, "RunTask") if family_of(c.get("taskDefinition", "")) == app.family]
    assert len(runs) == 1, "the third RunTask started the migration"
    entered = states_entered(stack, app, release)
    assert "ExplainMigrationFailure" not in entered, entered
    assert service_task_definition(stack, app, "staging") == release["task_definition_arn"]


def test_a_sidecar_exiting_non_zero_fails_the_migration_naming_it(stack, seed):
    app = seed("ev-sidecar")
    stack.control("ecs/task-fate", {"family": app.family, "exit_code": 0,
                                    "container_exit_codes": {"log-router": 3}})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="ev-sidecar-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    assert "`log-router`" in release["reason"] and "exit code 3" in release["reason"], release["reason"]
    assert_service_untouched(stack, app)
