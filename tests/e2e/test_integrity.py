"""Release integrity: a release that lost its stage changes nothing, hand-started input is
checked before anything is recorded, dead executions free their stage, and release order is
the order images were pushed, even when their events come late."""

from __future__ import annotations

import json
import time
from pathlib import Path

from e2e_helpers import TERMINAL, ci_tag, ecs_calls, family_of, finished_release, run_state_machine
from example_app import service_task_definition
from ulid_util import new_ulid

REPO_ROOT = Path(__file__).resolve().parents[2]


def release_id_of(release):
    return release["SK"].split("#", 1)[1]


def parked_at_gate(stack, app, digest):
    return stack.wait_for_release(app.name, "staging", lambda r: r.get("digest") == digest
                                  and (r.get("approval_task_token") or r.get("status") in TERMINAL))


def runs_of(stack, app, task_definition):
    return [c for c in ecs_calls(stack, "RunTask") if c.get("taskDefinition") == task_definition]


# ---- 1. fencing --------------------------------------------------------------------------

def test_a_release_that_lost_the_stage_at_the_gate_changes_nothing(stack, seed):
    app = seed("fence-gate", staging_overrides={"approval": "required"})
    old_digest = stack.push_image(app.repository, ci_tag(), layer_seed="fence-gate-1")
    old = parked_at_gate(stack, app, old_digest)
    assert old["status"] == "IN_PROGRESS", old
    # Its lease lapses (as after a long wait) and a newer push takes the stage.
    pk = f"APP#{app.name}#STAGE#staging"
    stack.table.update_item(Key={"PK": pk, "SK": "HEAD"}, UpdateExpression="SET lock_expires_at = :past",
                            ExpressionAttributeValues={":past": int(time.time()) - 10})
    new_digest = stack.push_image(app.repository, ci_tag(), layer_seed="fence-gate-2")
    new = parked_at_gate(stack, app, new_digest)
    assert stack.head(app.name, "staging")["lock_holder"] == release_id_of(new)

    # `approve` without a release picks the one parked at the gate, and an explicit approval
    # of the old one is refused: it no longer holds the stage.
    refused = run_state_machine(stack, "ApproveStateMachine", {
        "app": app.name, "stage": "staging", "decision": "approve", "release": release_id_of(old)})
    assert refused["status"] == "FAILED", refused
    # A decision that raced ahead anyway (its token completed directly) meets the fence.
    stack.client("stepfunctions").send_task_success(taskToken=old["approval_task_token"],
                                                    output=json.dumps({"decision": "approved"}))
    old = finished_release(stack, app, old_digest)
    assert old["status"] == "SUPERSEDED", old
    assert release_id_of(new) in old["reason"] and "nothing was changed" in old["reason"], old["reason"]
    assert runs_of(stack, app, old["task_definition_arn"]) == [], "the old release migrated"
    assert not [c for c in ecs_calls(stack, "UpdateService", service=app.services["staging"])
                if c.get("taskDefinition") == old["task_definition_arn"]], "the old release deployed"

    approved = run_state_machine(stack, "ApproveStateMachine", {
        "app": app.name, "stage": "staging", "decision": "approve", "by": "carol"})
    assert approved["status"] == "SUCCEEDED", approved
    new = finished_release(stack, app, new_digest)
    assert new["status"] == "SUCCEEDED", new.get("reason")
    assert service_task_definition(stack, app, "staging") == new["task_definition_arn"]
    assert not stack.head(app.name, "staging").get("lock_holder")


def test_an_unanswered_gate_times_out_and_frees_the_stage(stack, seed):
    app = seed("gate-timeout", staging_overrides={"approval": "required", "approval_timeout_seconds": 3})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="gate-timeout-1")
    release = finished_release(stack, app, digest, timeout=120)
    assert release["status"] == "FAILED", release
    assert "nobody approved or rejected" in release["reason"] and "nothing was changed" in release["reason"]
    assert runs_of(stack, app, release["task_definition_arn"]) == []
    assert service_task_definition(stack, app, "staging") == app.task_definition_arn
    head = stack.head(app.name, "staging")
    assert not head.get("lock_holder") and not head.get("awaiting_approval"), head
    # Nothing is parked any more: approve refuses.
    refused = run_state_machine(stack, "ApproveStateMachine",
                                {"app": app.name, "stage": "staging", "decision": "approve"})
    assert refused["status"] == "FAILED", refused


# ---- 2. hand-started input --------------------------------------------------------------

def start_by_hand(stack, name, body):
    sfn = stack.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=stack.deploy_state_machine_arn, name=name,
                              input=json.dumps(body))["executionArn"]
    deadline = time.monotonic() + 120
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "hand-started execution did not end"
        time.sleep(0.5)
    history = json.dumps(sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"], default=str)
    return described, history


def test_hand_started_input_is_checked_before_anything_is_recorded(stack, seed):
    app = seed("by-hand-bad", migration=False)
    digest = stack.push_image(app.repository, "rc-1", layer_seed="by-hand-bad-1")
    good_uri = f"{stack.registry()}/{app.repository}@{digest}"

    def body(release_id, **changes):
        base = {"release_id": release_id, "app": app.name, "stage": "staging",
                "repository": app.repository, "digest": digest, "tag": "v1",
                "image_uri": good_uri, "trigger": "promote"}
        base.update(changes)
        return base

    far_future = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"
    cases = {
        "lowercase": (lambda rid: (rid.lower(), body(rid.lower())), "release_id"),
        "future": (lambda rid: (far_future[:10] + rid[10:], body(far_future[:10] + rid[10:])), "release_id"),
        "other name": (lambda rid: (rid, body(new_ulid())), "release_id"),
        "digest": (lambda rid: (rid, body(rid, digest="sha256:1234")), "digest"),
        "foreign image": (lambda rid: (rid, body(rid, image_uri=f"999999999999.dkr.ecr.us-east-1.amazonaws.com/{app.repository}@{digest}")), "image_uri"),
        "other repository image": (lambda rid: (rid, body(rid, image_uri=f"{stack.registry()}/evil@{digest}")), "image_uri"),
        "redeploy on a push": (lambda rid: (rid, body(rid, trigger="push", redeploy_task_definition_arn=app.task_definition_arn)), "redeploy_task_definition_arn"),
        "redeploy of an unproven revision": (lambda rid: (rid, body(rid, trigger="rollback", source_release_id=new_ulid(), redeploy_task_definition_arn=app.task_definition_arn)), "redeploy_task_definition_arn"),
    }
    for label, (make, field) in cases.items():
        time.sleep(0.01)
        name, payload = make(new_ulid())
        described, history = start_by_hand(stack, name, payload)
        assert described["status"] == "FAILED", (label, described)
        assert "InvalidInput" in history and f"{field}:" in history, (label, history[-2000:])
    # Nothing was recorded and the stage was never taken.
    assert stack.releases(app.name, "staging") == []
    assert ecs_calls(stack, "UpdateService", service=app.services["staging"]) == []
    assert not (stack.head(app.name, "staging") or {}).get("lock_holder")


def test_a_second_execution_cannot_end_or_take_another_release(stack, seed):
    app = seed("by-hand-twin", migration=False, staging_overrides={"approval": "required"})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="by-hand-twin-1")
    parked = parked_at_gate(stack, app, digest)
    # Same release id, another execution name: rejected, and the parked release is untouched.
    body = {k: parked[k] for k in ("release_id", "app", "stage", "repository", "digest", "tag", "image_uri", "trigger")}
    described, history = start_by_hand(stack, new_ulid(), body)
    assert described["status"] == "FAILED" and "release_id:" in history, history[-2000:]
    again = stack.wait_for_release(app.name, "staging", lambda r: r.get("digest") == digest)
    assert again["status"] == "IN_PROGRESS" and again.get("approval_task_token"), again
    assert stack.head(app.name, "staging")["lock_holder"] == release_id_of(parked)
    assert run_state_machine(stack, "ApproveStateMachine", {
        "app": app.name, "stage": "staging", "decision": "approve"})["status"] == "SUCCEEDED"
    assert finished_release(stack, app, digest)["status"] == "SUCCEEDED"


# ---- 3. dead executions and ghost waiters -----------------------------------------------

def test_a_stopped_execution_ends_aborted_and_frees_the_stage(stack, seed):
    app = seed("stopped", migration=False, staging_overrides={"approval": "required"})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="stopped-1")
    parked = parked_at_gate(stack, app, digest)
    stack.client("stepfunctions").stop_execution(executionArn=parked["execution_arn"], error="Operator",
                                                 cause="stopped by dave: wrong branch")
    release = finished_release(stack, app, digest, timeout=60)
    assert release["status"] == "ABORTED", release
    assert "stopped" in release["reason"] and "wrong branch" in release["reason"], release["reason"]
    assert not stack.head(app.name, "staging").get("lock_holder")


def test_a_dead_holder_whose_end_event_was_lost_is_reaped_by_the_next_release(stack, seed):
    app = seed("lost-end", migration=False, staging_overrides={"approval": "required"})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="lost-end-1")
    parked = parked_at_gate(stack, app, digest)
    stack.control("sfn/status-events", {"enabled": False})
    try:
        stack.client("stepfunctions").stop_execution(executionArn=parked["execution_arn"])
        time.sleep(2)
    finally:
        stack.control("sfn/status-events", {"enabled": True})
    assert stack.head(app.name, "staging")["lock_holder"] == release_id_of(parked)
    newer = stack.push_image(app.repository, ci_tag(), layer_seed="lost-end-2")
    waiting = parked_at_gate(stack, app, newer)
    assert waiting["status"] == "IN_PROGRESS", waiting
    dead = finished_release(stack, app, digest)
    assert dead["status"] == "ABORTED" and "freed the stage" in dead["reason"], dead


def test_a_ghost_waiter_whose_execution_never_started_is_reaped(stack, seed):
    app = seed("ghost", migration=False, staging_overrides={"concurrency": "queue"})
    ghost = new_ulid()  # older than the push below; it never got an execution
    pk = f"APP#{app.name}#STAGE#staging"
    digest0 = "sha256:" + "4" * 64
    stack.table.put_item(Item={
        "PK": pk, "SK": f"REL#{ghost}", "GSI1PK": f"DIGEST#{digest0}", "GSI1SK": f"{pk}#REL#{ghost}",
        "release_id": ghost, "app": app.name, "stage": "staging", "repository": app.repository,
        "digest": digest0, "tag": "develop-0000000", "image_uri": f"{stack.registry()}/{app.repository}@{digest0}",
        "trigger": "push", "status": "PENDING", "created_at": "2020-01-01T00:00:00.000Z"})
    stack.table.update_item(Key={"PK": pk, "SK": "HEAD"}, UpdateExpression="ADD waiting :s, version :one",
                            ExpressionAttributeValues={":s": {ghost}, ":one": 1})
    time.sleep(1.1)  # the push's own time is after the ghost's
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="ghost-1")
    assert finished_release(stack, app, digest, timeout=120)["status"] == "SUCCEEDED"
    reaped = next(r for r in stack.releases(app.name, "staging") if r["digest"] == digest0)
    assert reaped["status"] == "ABORTED" and "never started" in reaped["reason"], reaped
    assert ghost not in (stack.head(app.name, "staging").get("waiting") or set())


def test_promote_retried_by_its_execution_starts_no_second_release(stack, seed):
    app = seed("promote-once", migration=False)
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="promote-once-1")
    assert finished_release(stack, app, digest)["status"] == "SUCCEEDED"
    payload = {"request": {"app": app.name, "from": "staging", "to": "production"},
               "execution_started_at": "2026-01-01T00:00:00.123Z"}
    answers = [json.loads(stack.client("lambda").invoke(FunctionName="promote", Payload=json.dumps(payload))["Payload"].read())
               for _ in range(2)]
    assert answers[0]["release_id"] == answers[1]["release_id"], answers
    # (StartExecution with a running execution's name and input answers with that execution.)
    assert len([r for r in stack.releases(app.name, "production") if r["digest"] == digest]) == 1
    executions = [e for e in stack.executions(app.name) if e["input"].get("stage") == "production"]
    assert [e["name"] for e in executions] == [answers[0]["release_id"]], executions


def test_queued_releases_wait_as_long_as_the_releases_ahead_take():
    definition = json.loads((REPO_ROOT / "statemachines" / "deploy.asl.json").read_text())
    retry = next(r for r in definition["States"]["AcquireLock"]["Retry"] if r["ErrorEquals"] == ["LockHeld"])
    # No fixed give-up: the retries cover far more than a day of waiting at the capped interval.
    assert retry["MaxAttempts"] * retry["MaxDelaySeconds"] > 30 * 24 * 3600, retry


# ---- 5. push order ------------------------------------------------------------------------

def ecr_event_for(stack, digest):
    return next(e for e in stack.control("events")
                if e.get("source") == "aws.ecr" and e["detail"].get("image-digest") == digest)


def test_a_late_event_never_deploys_an_older_image_over_a_newer_one(stack, seed):
    for policy in ("latest", "queue"):
        app = seed(f"late-{policy}", migration=False, staging_overrides={"concurrency": policy})
        older_tag = ci_tag()
        stack.control("events/drop", {"source": "aws.ecr", "detail": {"image-tag": older_tag}})
        older = stack.push_image(app.repository, older_tag, layer_seed=f"late-{policy}-1")
        time.sleep(1.1)  # ECR event times have whole seconds
        newer = stack.push_image(app.repository, ci_tag(), layer_seed=f"late-{policy}-2")
        assert finished_release(stack, app, newer)["status"] == "SUCCEEDED"
        # The older push's event arrives only now (a late redelivery).
        stack.control("events/redeliver", ecr_event_for(stack, older))
        late = finished_release(stack, app, older)
        assert late["status"] == "SUPERSEDED", (policy, late)
        newest = finished_release(stack, app, newer)
        assert release_id_of(late) < release_id_of(newest), "ids follow push time, not arrival"
        assert service_task_definition(stack, app, "staging") == newest["task_definition_arn"]
        deployed = [c.get("taskDefinition") for c in ecs_calls(stack, "UpdateService", service=app.services["staging"])]
        assert family_of(deployed[-1]) == app.family and deployed == [newest["task_definition_arn"]], deployed


def test_on_push_has_no_reserved_concurrency():
    template = (REPO_ROOT / "template.yaml").read_text()
    assert "ReservedConcurrentExecutions" not in template
