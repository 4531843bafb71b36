"""A migration that never starts or never finishes stops the release before the service changes."""

from __future__ import annotations

from e2e_helpers import assert_service_untouched, ci_tag, ecs_calls, family_of, finished_release


def test_migration_that_never_starts_fails_the_release(stack, seed):
    app = seed("mig-nostart")
    stack.control("ecs/task-fate", {"family": app.family, "fail_to_start": True})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="mig-nostart-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    assert "never started" in release["reason"], release["reason"]
    assert "CannotPullContainerError" in release["reason"], release["reason"]
    assert_service_untouched(stack, app)


def test_migration_timeout_stops_the_task_and_fails_the_release(stack, seed):
    app = seed("mig-timeout", migration_overrides={"timeout_seconds": 5})
    stack.control("ecs/task-fate", {"family": app.family, "hang": True})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="mig-timeout-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    assert "did not finish within 5 s" in release["reason"], release["reason"]
    runs = [c for c in ecs_calls(stack, "RunTask") if family_of(c.get("taskDefinition", "")) == app.family]
    assert len(runs) == 1, runs
    stops = [c for c in ecs_calls(stack, "StopTask") if c.get("task") == release["migration_task_arn"]]
    assert len(stops) == 1, "the timed-out migration task was not stopped (once)"
    task = stack.client("ecs").describe_tasks(cluster=app.cluster, tasks=[release["migration_task_arn"]])["tasks"][0]
    assert task["lastStatus"] == "STOPPED"
    assert "timed out" in task.get("stoppedReason", "")
    assert_service_untouched(stack, app)


def test_a_lost_wait_stops_the_unfinished_migration_task(stack, seed):
    """Step Functions' `.sync` wait for the migration task fails while the task still runs
    (here: its DescribeTasks of the task is refused): the release fails saying so, and the
    task is stopped rather than left to migrate the database behind a failed release."""
    app = seed("mig-waitlost")
    stack.control("ecs/task-fate", {"family": app.family, "hang": True})
    cluster_arn = f"arn:aws:ecs:us-east-1:123456789012:cluster/{app.cluster}"
    stack.control("faults", {"service": "ecs", "operation": "DescribeTasks", "times": 1,
                             "match": {"cluster": cluster_arn},
                             "error": {"code": "AccessDeniedException", "message": "denied by a test",
                                       "status": 400}})
    try:
        digest = stack.push_image(app.repository, ci_tag(), layer_seed="mig-waitlost-1")
        release = finished_release(stack, app, digest)
    finally:
        stack.control("faults/clear", {})
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    reason = release["reason"]
    assert "waiting for migration task" in reason and "denied by a test" in reason, reason
    assert "the task was stopped" in reason, reason
    stops = [c for c in ecs_calls(stack, "StopTask") if c.get("task") == release["migration_task_arn"]]
    assert len(stops) == 1, "the unfinished migration task was not stopped (once)"
    task = stack.client("ecs").describe_tasks(cluster=app.cluster, tasks=[release["migration_task_arn"]])["tasks"][0]
    assert task["lastStatus"] == "STOPPED"
    assert "stopped waiting for its migration" in task.get("stoppedReason", "")
    assert_service_untouched(stack, app)
