"""A transient error reading the config never changes a stage's policy: a `queue` stage whose
config read is throttled while releases wait keeps queueing, it never falls back to `latest`
(which would supersede the waiting ones)."""

from __future__ import annotations

import time

from e2e_helpers import ci_tag, finished_release, run_state_machine


def parked(stack, app, digest):
    return stack.wait_for_release(app.name, "staging", lambda r: r.get("digest") == digest
                                  and r.get("approval_task_token"), timeout=120)


def approve(stack, app):
    out = run_state_machine(stack, "ApproveStateMachine", {"app": app.name, "stage": "staging", "decision": "approve"})
    assert out["status"] == "SUCCEEDED", out


def test_a_throttled_config_read_keeps_the_queue(stack, seed):
    app = seed("queue-reads", migration=False,
               staging_overrides={"concurrency": "queue", "approval": "required"})
    first = stack.push_image(app.repository, ci_tag(), layer_seed="queue-reads-1")
    parked(stack, app, first)
    waiting = []
    for n in (2, 3):
        time.sleep(1.1)
        waiting.append(stack.push_image(app.repository, ci_tag(), layer_seed=f"queue-reads-{n}"))
    stack.wait_for_release(app.name, "staging", lambda r: r.get("digest") == waiting[-1]
                           and r.get("execution_arn"), timeout=60)
    # Every config read fails for a while (the SDK's own retries included).
    armed = stack.control("faults", {
        "service": "dynamodb", "operation": "GetItem", "times": 12,
        "match": {"Key": {"PK": {"S": f"APP#{app.name}"}, "SK": {"S": "CONFIG"}}},
        "error": {"code": "ThrottlingException", "message": "Rate exceeded"}})
    deadline = time.monotonic() + 120
    while next(f for f in stack.control("faults") if f["id"] == armed["id"])["active"]:
        assert time.monotonic() < deadline, "the waiting releases never read the config"
        time.sleep(1)

    for digest in [first, *waiting]:
        if digest != first:
            parked(stack, app, digest)
        approve(stack, app)
        release = finished_release(stack, app, digest)
        assert release["status"] == "SUCCEEDED", (release["status"], release.get("reason"))
