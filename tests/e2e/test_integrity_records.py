"""Bounded records: no release item grows without limit, and lookups page through DynamoDB.

- A stage whose releases fill more than one 1 MB Query page: promote and rollback still find
  the SUCCEEDED release beyond the first page, and `stevedore history` pages too. A few large
  hand-seeded FAILED releases stand in for the thousands of ordinary ones a busy stage has.
- A blue/green smoke test with more attempts than the record keeps: the first attempt and the
  latest ones are on the release, with the count of all of them.
- A failure whose cause is tens of kilobytes is recorded cut, with a marker saying how much.
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from e2e_helpers import ci_tag, finished_release, run_state_machine
from example_app import service_task_definition
from stack import target_dir
from ulid_util import ulid_at, ulid_time_ms

# crates/core/src/bounds.rs
MAX_TEXT_CHARS = 2_000
MAX_LIST_ITEMS = 20

# moto, like DynamoDB, ends a Query page at about 1 MB: 25 items of 60 KB fill 1.5 MB.
SEEDED_RELEASES = 25
SEEDED_REASON_BYTES = 60_000


def release_id(release: dict[str, Any]) -> str:
    return release["SK"].split("#", 1)[1]


def deploy(stack, app, layer_seed: str) -> dict[str, Any]:
    digest = stack.push_image(app.repository, ci_tag(), layer_seed=layer_seed)
    release = finished_release(stack, app, digest)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    return release


def seed_failed_releases(stack, app, after: str, before: str | None = None) -> list[str]:
    """SEEDED_RELEASES large FAILED releases of staging, newer than release `after` (and older
    than `before`), written straight into the table; their ids, oldest first."""
    start = ulid_time_ms(after) + 1
    end = ulid_time_ms(before) if before else int(time.time() * 1000)
    assert end - start > SEEDED_RELEASES, "no room for the seeded ids between the two releases"
    pk = f"APP#{app.name}#STAGE#staging"
    ids = [ulid_at(start + i) for i in range(SEEDED_RELEASES)]
    with stack.table.batch_writer() as batch:
        for i, rid in enumerate(ids):
            digest = "sha256:" + f"{i:02x}" * 32
            batch.put_item(Item={
                "PK": pk, "SK": f"REL#{rid}", "GSI1PK": f"DIGEST#{digest}", "GSI1SK": f"{pk}#REL#{rid}",
                "release_id": rid, "app": app.name, "stage": "staging", "repository": app.repository,
                "digest": digest, "tag": f"develop-{i:07x}", "trigger": "push",
                "image_uri": f"{stack.registry()}/{app.repository}@{digest}",
                "status": "FAILED", "reason": "seeded: " + "x" * SEEDED_REASON_BYTES,
                "created_at": "2025-01-01T00:00:00.000Z"})
    return ids


def assert_beyond_the_first_page(stack, app, wanted: str) -> None:
    """Reading the stage newest first, one Query page does not reach `wanted`: today's
    single-page lookups could not have found it."""
    page = stack.client("dynamodb").query(
        TableName=stack.table_name, KeyConditionExpression="PK = :pk AND begins_with(SK, :rel)",
        ExpressionAttributeValues={":pk": {"S": f"APP#{app.name}#STAGE#staging"}, ":rel": {"S": "REL#"}},
        ScanIndexForward=False, ConsistentRead=True)
    assert page.get("LastEvaluatedKey"), "the stage fits one page: the test proves nothing"
    assert f"REL#{wanted}" not in {item["SK"]["S"] for item in page["Items"]}


def wait_for_release_id(stack, app, stage: str, rid: str, timeout: float = 240) -> dict[str, Any]:
    key = {"PK": f"APP#{app.name}#STAGE#{stage}", "SK": f"REL#{rid}"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = stack.table.get_item(Key=key, ConsistentRead=True).get("Item")
        if item and item.get("status") in {"SUCCEEDED", "FAILED", "ROLLED_BACK", "SUPERSEDED"}:
            return item
        time.sleep(0.5)
    raise AssertionError(f"release {rid} of {app.name}/{stage} did not end in {timeout} s")


def test_promote_finds_the_proven_release_beyond_the_first_page(stack, seed):
    app = seed("rec-promote", migration=False)
    proven = deploy(stack, app, "rec-promote-1")
    seeded = seed_failed_releases(stack, app, after=release_id(proven))
    assert_beyond_the_first_page(stack, app, release_id(proven))

    status = run_state_machine(stack, "PromoteStateMachine", {"app": app.name, "from": "staging", "to": "production"})
    assert status["status"] == "SUCCEEDED", status
    promotion = json.loads(status["output"])["promotion"]
    assert promotion["source_release_id"] == release_id(proven)
    release = wait_for_release_id(stack, app, "production", promotion["release_id"])
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    assert release["digest"] == proven["digest"]

    # A release named by id is read directly: refused for what it is, not "not found".
    refused = run_state_machine(stack, "PromoteStateMachine", {
        "app": app.name, "from": "staging", "to": "production", "release": seeded[0]})
    assert refused["status"] == "FAILED", refused
    history = stack.client("stepfunctions").get_execution_history(executionArn=refused["executionArn"])
    assert f"release {seeded[0]} is FAILED" in json.dumps(history["events"], default=str)

    # The CLI's history pages as well: more releases than one page holds.
    limit = SEEDED_RELEASES + 1
    result = subprocess.run(
        [str(target_dir() / "debug" / "stevedore"), "history", app.name, "--stage", "staging",
         "--limit", str(limit), "--json"], capture_output=True, text=True, check=False, env=stack.env)
    assert result.returncode == 0, result.stderr
    listed = [r["release_id"] for r in json.loads(result.stdout)]
    assert listed == list(reversed(seeded)) + [release_id(proven)], "newest first, every page"


def test_rollback_finds_the_earlier_success_beyond_the_first_page(stack, seed):
    app = seed("rec-rollback", migration=False)
    earlier = deploy(stack, app, "rec-rollback-1")
    current = deploy(stack, app, "rec-rollback-2")
    seed_failed_releases(stack, app, after=release_id(earlier), before=release_id(current))
    assert_beyond_the_first_page(stack, app, release_id(earlier))

    status = run_state_machine(stack, "RollbackStateMachine", {"app": app.name, "stage": "staging"})
    assert status["status"] == "SUCCEEDED", status
    started = json.loads(status["output"])["rollback"]
    assert started["source_release_id"] == release_id(earlier)
    release = wait_for_release_id(stack, app, "staging", started["release_id"])
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    assert release["task_definition_arn"] == earlier["task_definition_arn"]
    assert service_task_definition(stack, app, "staging") == earlier["task_definition_arn"]


def test_smoke_checks_keep_the_first_and_the_latest_attempts_with_a_count(stack, seed):
    attempts = MAX_LIST_ITEMS + 5
    listener = stack.control("ecs/test-listener")["url"]
    test_url = f"{listener}/demo/rec-smoke-staging/healthz"
    app = seed("rec-smoke", migration=False, blue_green_stages={"staging"}, staging_overrides={
        "strategy": "blue_green", "bake_minutes": 0, "deploy_timeout_seconds": 300,
        "smoke_test": {"test_url": test_url, "attempts": attempts, "interval_seconds": 1}})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="rec-smoke-1")
    stack.control("ecs/test-listener", {"digest": digest, "status": 500})

    release = finished_release(stack, app, digest)
    assert release["status"] == "ROLLED_BACK", f"{release.get('status')}: {release.get('reason')}"
    assert f"on all {attempts} attempts" in release["reason"], release["reason"]
    checks = release["smoke_checks"]
    assert [c["attempt"] for c in checks] == [1] + list(range(attempts - MAX_LIST_ITEMS + 2, attempts + 1))
    assert all(c["status"] == 500 and c["passed"] is False for c in checks)
    assert release["smoke_check_count"] == attempts, "every attempt is counted"
    requests = stack.control(f"ecs/test-listener/requests?service={app.services['staging']}")
    assert len(requests) == attempts, "the test listener saw every attempt"


def test_a_very_long_failure_cause_is_recorded_cut_with_a_marker(stack, seed):
    app = seed("rec-long", migration=False)
    # A crash whose message is as long as a Step Functions cause can be (32 KB), multi-byte too.
    message = "render blew up: " + "döner 🚢 " * 4_000
    stack.control("faults", {"lambda": "render", "times": 1, "crash": "Runtime.ExitError", "message": message})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="rec-long-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    reason = release["reason"]
    assert len(reason) == MAX_TEXT_CHARS, len(reason)
    assert "render blew up: döner 🚢" in reason
    assert reason.endswith(" characters]") and "… [cut " in reason, reason[-60:]
    cut = int(reason.rsplit("… [cut ", 1)[1].split(" ", 1)[0])
    assert cut > len(message) - MAX_TEXT_CHARS, "the marker counts what was left out"
    assert not (stack.head(app.name, "staging") or {}).get("lock_holder")
