"""Never FAILED while our deployment is live: a step that fails after UpdateService was sent
sends the release to a reconcile step that asks ECS what is rolling out; and a restore is
watched to its end before the release is recorded and the lock released."""

from __future__ import annotations

from datetime import datetime

from e2e_helpers import ci_tag, ecs_calls, finished_release, run_state_machine
from example_app import service_task_definition


def parked(stack, app, digest):
    release = stack.wait_for_release(app.name, "staging", lambda r: r.get("digest") == digest
                                     and (r.get("approval_task_token") or r.get("status") not in ("PENDING", "IN_PROGRESS")))
    assert release.get("approval_task_token"), release
    return release


def approve(stack, app):
    out = run_state_machine(stack, "ApproveStateMachine", {"app": app.name, "stage": "staging", "decision": "approve"})
    assert out["status"] == "SUCCEEDED", out


def test_a_start_step_that_fails_after_update_service_waits_for_the_live_deployment(stack, seed):
    app = seed("recon-start", migration=False, staging_overrides={"approval": "required"})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="recon-start-1")
    parked(stack, app, digest)
    # UpdateService goes through; recording its deployment id right after it fails.
    stack.control("faults", {"service": "dynamodb", "operation": "UpdateItem", "times": 1,
                             # the deploy step's write, with the doctor's prediction
                             "match": {"ExpressionAttributeNames": {"#f0": "deployment_id", "#f1": "deploy_started_at", "#f2": "strategy",
                                                                    "#f3": "predicted_rollout_seconds", "#f4": "predicted_rollout_parts"}},
                             "error": {"code": "ValidationException", "message": "injected after UpdateService"}})
    approve(stack, app)
    release = finished_release(stack, app, digest)
    assert release["status"] == "SUCCEEDED", release.get("reason")
    assert "injected after UpdateService" in release["reconciled"], release
    assert "ECS then reported" in release["reconciled"], release
    assert len(ecs_calls(stack, "UpdateService", service=app.services["staging"])) == 1
    assert service_task_definition(stack, app, "staging") == release["task_definition_arn"]
    assert not stack.head(app.name, "staging").get("lock_holder")


def test_a_failed_success_record_is_reconciled_not_failed(stack, seed):
    app = seed("recon-record", migration=False, staging_overrides={"approval": "required"})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="recon-record-1")
    parked(stack, app, digest)
    # The next transaction is RecordSuccess's (the lock is taken already).
    stack.control("faults", {"service": "dynamodb", "operation": "TransactWriteItems", "times": 1,
                             "error": {"code": "ValidationException", "message": "injected at RecordSuccess"}})
    approve(stack, app)
    release = finished_release(stack, app, digest)
    assert release["status"] == "SUCCEEDED", release.get("reason")
    assert "injected at RecordSuccess" in release["reconciled"] and "completed" in release["reconciled"], release
    assert stack.head(app.name, "staging")["current_release"] == release["release_id"]
    assert not stack.head(app.name, "staging").get("lock_holder")


def test_a_restore_is_watched_to_its_end_before_the_lock_is_released(stack, seed):
    app = seed("recon-restore", migration=False, circuit_breaker=False,
               staging_overrides={"deploy_timeout_seconds": 30})
    digest = stack.push_image(app.repository, "candidate", layer_seed="recon-restore-1")
    stack.control("ecs/deployment-fate", {"digest": digest, "fate": "unhealthy"})
    stack.push_image(app.repository, ci_tag(), layer_seed="recon-restore-1")
    release = finished_release(stack, app, digest)
    assert release["status"] == "ROLLED_BACK", release.get("reason")
    assert "restored the previous task definition" in release["reason"], release["reason"]
    restore = next(d for d in stack.control("ecs/deployments")
                   if d["deployment_id"] == release["restore_deployment_id"])
    assert restore["outcome"] == "completed" and restore["ended_at"] is not None, restore
    finished = datetime.fromisoformat(release["finished_at"].replace("Z", "+00:00")).timestamp()
    assert finished >= restore["ended_at"], "recorded before the restore finished"
    assert service_task_definition(stack, app, "staging") == app.task_definition_arn
    assert not stack.head(app.name, "staging").get("lock_holder")
