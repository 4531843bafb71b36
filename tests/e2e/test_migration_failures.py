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
