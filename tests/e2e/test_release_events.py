"""Release events and metrics, end to end: the release table's stream feeds the record
function, which puts a "Stevedore Release State Change" event on the default bus at every
transition and prints the release metrics as EMF lines. A user's own rule (on `source:
stevedore`, an SQS target, made here as a user would) receives them; the metrics are read
back from the functions' log as CloudWatch Logs would extract them.

Two releases, pushed together on two apps: one SUCCEEDS, ECS rolls the other back."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import pytest
from e2e_helpers import ci_tag, finished_release

PHASES_OF_A_PUSH = ["pending", "lock_acquired", "rendered", "migrated", "deploy_started", "finished"]
TIMEOUT = 60


@pytest.fixture(scope="module")
def user_queue(stack):
    """An SQS queue behind a rule on the default bus for Stevedore's release events of this
    file's apps, as a user would wire one."""
    sqs, events = stack.client("sqs"), stack.client("events")
    name = f"release-events-{secrets.token_hex(3)}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps({
        "source": ["stevedore"], "detail-type": ["Stevedore Release State Change"],
        "detail": {"app": ["events-ok", "events-rb"]}}))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    yield url
    events.remove_targets(Rule=name, Ids=["queue"])
    events.delete_rule(Name=name)


@pytest.fixture(scope="module")
def releases(stack, user_queue):
    """Both apps seeded, both images pushed at once; their releases once terminal."""
    from example_app import seed_app

    ok_app, rb_app = seed_app(stack, "events-ok"), seed_app(stack, "events-rb")
    ok_digest = stack.push_image(ok_app.repository, ci_tag(), layer_seed="events-ok-1")
    rb_digest = stack.push_image(rb_app.repository, ci_tag(), layer_seed="events-rb-1")
    stack.control("ecs/deployment-fate", {"digest": rb_digest, "fate": "unhealthy"})
    ok = finished_release(stack, ok_app, ok_digest, timeout=TIMEOUT)
    rolled_back = finished_release(stack, rb_app, rb_digest, timeout=TIMEOUT)
    assert ok["status"] == "SUCCEEDED", f"{ok['status']}: {ok.get('reason')}"
    assert rolled_back["status"] == "ROLLED_BACK", f"{rolled_back['status']}: {rolled_back.get('reason')}"
    return {"ok": ok, "rb": rolled_back, "ok_app": ok_app}


def release_id(release: dict[str, Any]) -> str:
    return release["SK"].split("#", 1)[1]


def received(stack, queue_url: str, until: dict[str, str]) -> list[dict[str, Any]]:
    """Every event the user's queue got, in arrival order, once it holds a terminal event
    of each release in `until` (release id -> status)."""
    sqs = stack.client("sqs")
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + TIMEOUT
    while True:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        seen = {(e["detail"]["release_id"], e["detail"]["status"]) for e in got}
        if all(item in seen for item in until.items()):
            return got
        assert time.monotonic() < deadline, f"missing {until} in {[sorted(seen)]}"


@pytest.fixture(scope="module")
def events_by_release(stack, user_queue, releases):
    ok, rb = releases["ok"], releases["rb"]
    got = received(stack, user_queue, {release_id(ok): "SUCCEEDED", release_id(rb): "ROLLED_BACK"})
    by_release: dict[str, list[dict[str, Any]]] = {}
    for event in got:
        detail = event["detail"]
        # At least once: consumers dedupe on (release_id, status, phase), as documented.
        key = (detail["status"], detail["phase"])
        mine = by_release.setdefault(detail["release_id"], [])
        if key not in [(e["detail"]["status"], e["detail"]["phase"]) for e in mine]:
            mine.append(event)
    return by_release


def test_a_push_release_is_announced_at_every_transition_in_order(releases, events_by_release):
    ok = releases["ok"]
    events = events_by_release[release_id(ok)]
    assert [(e["detail"]["status"], e["detail"]["phase"]) for e in events] == [
        ("PENDING", "pending"), ("IN_PROGRESS", "lock_acquired"), ("IN_PROGRESS", "rendered"),
        ("IN_PROGRESS", "migrated"), ("IN_PROGRESS", "deploy_started"), ("SUCCEEDED", "finished")]
    times = [e["detail"]["time"] for e in events]
    assert times == sorted(times)
    for event in events:
        assert (event["source"], event["detail-type"]) == ("stevedore", "Stevedore Release State Change")
        assert "task_token" not in json.dumps(event)
    done = events[-1]
    detail = done["detail"]
    assert detail["version"] == "1"
    assert (detail["app"], detail["stage"], detail["trigger"]) == ("events-ok", "staging", "push")
    assert (detail["digest"], detail["tag"]) == (ok["digest"], ok["tag"])
    assert detail["image"] == ok["image_uri"]
    assert detail["previous_status"] == "IN_PROGRESS" and "reason" not in detail
    assert detail["execution_arn"] == ok["execution_arn"]
    assert detail["task_definition_arn"] == ok["task_definition_arn"]
    assert done["resources"] == [ok["execution_arn"], ok["task_definition_arn"]]
    assert detail["time"] == ok["finished_at"] and detail["created_at"] == ok["created_at"]
    durations = detail["durations"]
    for key in ("total_seconds", "lock_wait_seconds", "render_seconds", "migration_seconds",
                "rollout_seconds", "lead_time_seconds"):
        assert durations[key] >= 0, key
    assert durations["lead_time_seconds"] >= durations["total_seconds"]
    app = releases["ok_app"]
    assert (detail["cluster"], detail["service"]) == (app.cluster, app.services["staging"])
    assert ok["execution_arn"] in detail["links"]["execution"]
    assert f"/services/{detail['service']}/" in detail["links"]["service"]


def test_a_rollback_is_announced_with_its_reason(releases, events_by_release):
    rb = releases["rb"]
    events = events_by_release[release_id(rb)]
    statuses = [e["detail"]["status"] for e in events]
    assert statuses[0] == "PENDING" and statuses[-1] == "ROLLED_BACK"
    assert "SUCCEEDED" not in statuses
    detail = events[-1]["detail"]
    assert detail["phase"] == "finished"
    assert detail["reason"] == rb["reason"]
    assert "lead_time_seconds" not in detail["durations"]


def emf_lines(stack) -> list[dict[str, Any]]:
    """Every EMF document the functions printed: whole lines, JSON, with `_aws` at the root."""
    docs = []
    for line in stack.lambda_log.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"_aws"' in line:
            docs.append(json.loads(line))
    return docs


def test_release_metrics_are_printed_as_emf_with_their_dimensions(stack, releases, events_by_release):
    ok, rb = release_id(releases["ok"]), release_id(releases["rb"])
    docs = emf_lines(stack)
    for doc in docs:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "Stevedore"
            for dimension_set in directive["Dimensions"]:
                assert all(isinstance(doc[key], str) for key in dimension_set)
            assert all(isinstance(doc[m["Name"]], (int, float)) for m in directive["Metrics"])

    def metrics_of(release: str) -> dict[str, tuple[list[list[str]], dict[str, Any]]]:
        found = {}
        for doc in docs:
            if doc.get("ReleaseId") == release:
                for directive in doc["_aws"]["CloudWatchMetrics"]:
                    for metric in directive["Metrics"]:
                        found[metric["Name"]] = (directive["Dimensions"], doc)
        return found

    succeeded = metrics_of(ok)
    # The record function's release metrics, and the deploy function's ECS rollout measured
    # against the doctor's prediction (stevedore doctor).
    assert set(succeeded) == {"Releases", "ReleaseDuration", "LeadTime", "RolloutDuration",
                              "LockWait", "RenderDuration", "MigrationDuration",
                              "EcsRolloutDuration", "PredictedRolloutDuration"}
    dims, doc = succeeded["Releases"]
    assert dims == [["App", "Stage", "Status"]]
    assert (doc["App"], doc["Stage"], doc["Status"], doc["Releases"]) == ("events-ok", "staging", "SUCCEEDED", 1)
    for name in ("ReleaseDuration", "LeadTime", "LockWait", "RenderDuration", "MigrationDuration",
                 "EcsRolloutDuration", "PredictedRolloutDuration"):
        assert succeeded[name][0] == [["App", "Stage"]], name
    rolled_back = metrics_of(rb)
    dims, doc = rolled_back["Releases"]
    assert (doc["App"], doc["Status"]) == ("events-rb", "ROLLED_BACK")
    assert "LeadTime" not in rolled_back
