"""The approval gate: a stage with `approval: required` waits, after render and before the
migration and rollout, until a person approves or rejects (the approve state machine)."""

from __future__ import annotations

import time

from e2e_helpers import TERMINAL, ci_tag, ecs_calls, family_of, run_state_machine
from example_app import service_task_definition



def decide(stack, body):
    return run_state_machine(stack, "ApproveStateMachine", body)


def waiting_release(stack, app, digest):
    release = stack.wait_for_release(app.name, "staging", lambda r: r.get("digest") == digest
                                     and (r.get("approval_requested_at") or r.get("status") in TERMINAL))
    assert release.get("approval_requested_at"), f"never waited for approval: {release.get('status')}"
    time.sleep(2)  # a gate that let it through would show now
    # Waiting changes nothing: no migration, no rollout, the stage stays locked.
    assert [c for c in ecs_calls(stack, "RunTask") if family_of(c.get("taskDefinition", "")) == app.family] == []
    assert ecs_calls(stack, "UpdateService", service=app.services["staging"]) == []
    assert stack.head(app.name, "staging")["lock_holder"] == release["SK"].split("#")[1]
    return release


def test_approved_release_goes_on_to_migrate_and_deploy(stack, seed):
    app = seed("gate-yes", staging_overrides={"approval": "required"})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="gate-yes-1")
    waiting_release(stack, app, digest)

    status = decide(stack, {"app": app.name, "stage": "staging", "decision": "approve", "by": "alice"})
    assert status["status"] == "SUCCEEDED", status
    release = stack.wait_for_release(app.name, "staging", lambda r: r.get("digest") == digest and r.get("status") in TERMINAL)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    assert release["approval_decision"] == "approved by alice"
    assert "approval_task_token" not in release
    assert len([c for c in ecs_calls(stack, "RunTask") if family_of(c.get("taskDefinition", "")) == app.family]) == 1
    assert service_task_definition(stack, app, "staging") == release["task_definition_arn"]


def test_rejected_release_fails_with_the_reason_and_changes_nothing(stack, seed):
    app = seed("gate-no", staging_overrides={"approval": "required"})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="gate-no-1")
    waiting_release(stack, app, digest)

    status = decide(stack, {"app": app.name, "stage": "staging", "decision": "reject", "by": "bob",
                            "reason": "change freeze"})
    assert status["status"] == "SUCCEEDED", status
    release = stack.wait_for_release(app.name, "staging", lambda r: r.get("digest") == digest and r.get("status") in TERMINAL)
    assert release["status"] == "FAILED", release
    assert "rejected at the approval gate by bob: change freeze" in release["reason"], release["reason"]
    assert service_task_definition(stack, app, "staging") == app.task_definition_arn
    assert not stack.head(app.name, "staging").get("lock_holder")
    # Nothing is waiting any more: a second decision is refused.
    again = decide(stack, {"app": app.name, "stage": "staging", "decision": "approve"})
    assert again["status"] == "FAILED" and again.get("error") == "DecisionRefused", again
