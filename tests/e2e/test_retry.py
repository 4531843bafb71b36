"""A failed release is retried on purpose (a re-push of the same digest starts nothing), and
rolling back twice goes further back, never forward to the release rolled back from."""

from __future__ import annotations

import json

from e2e_helpers import TERMINAL, ci_tag, finished_release, run_state_machine
from example_app import service_task_definition


def test_a_failed_release_is_retried_only_when_asked(stack, seed):
    app = seed("retry-me")
    stack.control("ecs/task-fate", {"family": app.family, "exit_code": 3})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="retry-me-1")
    failed = finished_release(stack, app, digest)
    assert failed["status"] == "FAILED" and "exit code 3" in failed["reason"], failed

    # The cause is fixed; re-pushing the same image is the same push: nothing new starts.
    stack.control("ecs/task-fate", {"family": app.family, "clear": True})
    stack.push_image(app.repository, ci_tag(), layer_seed="retry-me-1")
    assert len([r for r in stack.releases(app.name, "staging") if r["digest"] == digest]) == 1

    started = run_state_machine(stack, "RetryStateMachine", {"app": app.name, "stage": "staging"})
    assert started["status"] == "SUCCEEDED", started
    rows = [r for r in stack.releases(app.name, "staging") if r["digest"] == digest]
    assert len(rows) == 2, rows
    retry_id = json.loads(started["output"])["retry"]["release_id"]
    retry = stack.wait_for_release(app.name, "staging", lambda r: r["release_id"] == retry_id
                                   and r.get("status") in TERMINAL)
    assert retry["trigger"] == "retry", retry
    assert retry["status"] == "SUCCEEDED", retry.get("reason")
    assert retry["digest"] == digest and retry["source_release_id"] == failed["release_id"]
    assert retry["release_id"] > failed["release_id"]
    assert service_task_definition(stack, app, "staging") == retry["task_definition_arn"]

    # Nothing failed any more: a retry is refused, and starts nothing.
    refused = run_state_machine(stack, "RetryStateMachine", {"app": app.name, "stage": "staging"})
    assert refused["status"] == "FAILED" and refused.get("error") == "RetryRefused", refused
    assert len([r for r in stack.releases(app.name, "staging") if r["digest"] == digest]) == 2


def test_rolling_back_twice_never_goes_forward(stack, seed):
    app = seed("back-twice", migration=False)
    digests = []
    for n in range(3):
        digests.append(stack.push_image(app.repository, ci_tag(), layer_seed=f"back-twice-{n}"))
        assert finished_release(stack, app, digests[-1])["status"] == "SUCCEEDED"
    first, second, third = (finished_release(stack, app, d) for d in digests)

    def roll_back():
        out = run_state_machine(stack, "RollbackStateMachine", {"app": app.name, "stage": "staging"})
        assert out["status"] == "SUCCEEDED", out
        release_id = json.loads(out["output"])["rollback"]["release_id"]
        current = stack.wait_for_release(app.name, "staging", lambda r: r["release_id"] == release_id
                                         and r.get("status") in TERMINAL)
        assert current["trigger"] == "rollback" and current["status"] == "SUCCEEDED", current
        assert stack.head(app.name, "staging")["current_release"] == release_id
        return current

    once = roll_back()
    assert once["source_release_id"] == second["release_id"], once
    twice = roll_back()
    # Back from `second` goes to `first`, never forward to `third` (rolled back from).
    assert twice["source_release_id"] == first["release_id"], twice
    assert service_task_definition(stack, app, "staging") == first["task_definition_arn"]
    assert third["task_definition_arn"] != first["task_definition_arn"]
