"""One deploy per (app, stage) at a time: pushes that arrive meanwhile wait, and the stage's
policy decides what a newer push does to older waiting ones. Overlaps are read from the ECS
simulator's own record of rollouts, not from Stevedore's."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from e2e_helpers import TERMINAL, ci_tag, time_scale



def push_all(stack, pushes, gap=0.0):
    """Push (repository, layer_seed) pairs in order, `gap` seconds apart; digests in order."""
    digests = []
    for repository, seed in pushes:
        digests.append(stack.push_image(repository, ci_tag(), layer_seed=seed))
        time.sleep(gap)
    return digests


def wait_all_terminal(stack, app, stage, digests, timeout=300):
    deadline = time.monotonic() + timeout
    while True:
        releases = {r["digest"]: r for r in stack.releases(app, stage) if r["digest"] in digests}
        if len(releases) == len(digests) and all(r["status"] in TERMINAL for r in releases.values()):
            return releases
        if time.monotonic() > deadline:
            raise AssertionError(f"not all terminal after {timeout} s: "
                                 f"{ {d[:19]: r.get('status') for d, r in releases.items()} }")
        time.sleep(1)


def rollouts(stack, service_name):
    return sorted((d for d in stack.control("ecs/deployments")
                   if d["service_arn"].endswith(f"/{service_name}")), key=lambda d: d["started_at"])


def assert_no_overlap(stack, app, stage="staging"):
    """No rollout Stevedore started on the service began before the previous one ended (the
    seed's own CreateService rollout, still finishing when the first push lands, is not one)."""
    seen = [d for d in rollouts(stack, app.services[stage]) if d["task_definition"] != app.task_definition_arn]
    assert all(d["outcome"] != "superseded" for d in seen), seen
    for earlier, later in zip(seen, seen[1:]):
        assert earlier["ended_at"] is not None and later["started_at"] >= earlier["ended_at"], \
            f"overlapping rollouts on {service_name}: {earlier} / {later}"
    return seen


def test_latest_push_wins_and_waiting_ones_are_superseded(stack, seed):
    app = seed("race-latest", migration=False)
    first, middle, newest = push_all(stack, [(app.repository, f"race-latest-{i}") for i in range(3)], gap=0.3)

    releases = wait_all_terminal(stack, app.name, "staging", [first, middle, newest])
    story = [(releases[d]["SK"], releases[d]["status"], releases[d]["created_at"],
              releases[d].get("lock_acquired_at"), releases[d].get("reason")) for d in (first, middle, newest)]
    assert releases[newest]["status"] == "SUCCEEDED", story
    # Whoever was still waiting when a newer push arrived gave way: the first push deploys
    # only if it took the stage before the second arrived (see the next test for that case).
    superseded = [d for d in (first, middle) if releases[d]["status"] == "SUPERSEDED"]
    assert superseded, f"no waiting push was superseded: {story}"
    for digest in superseded:
        assert "superseded by the newer push" in releases[digest]["reason"], story
        assert "task_definition_arn" not in releases[digest], "a superseded release changed nothing"
    assert {releases[d]["status"] for d in (first, middle)} <= {"SUCCEEDED", "SUPERSEDED"}, story
    head = stack.head(app.name, "staging")
    assert head["current_release"] == releases[newest]["SK"].split("#")[1]
    assert not head.get("lock_holder") and not head.get("waiting"), head
    deployed = assert_no_overlap(stack, app)
    assert len(deployed) == sum(r["status"] == "SUCCEEDED" for r in releases.values())


def test_pushes_while_a_deploy_runs_supersede_all_but_the_newest(stack, seed):
    app = seed("race-busy", migration=False)
    # The first rollout must outlast the next two pushes (at the default time scale it took
    # about 0.4 s, and ended before the newest push arrived), and those two must be pushed in
    # different seconds: ECR's event time has whole seconds, so pushes within one second rank
    # by arrival, or by digest once on-push sees both late (release::push_time_ms).
    with time_scale(stack, 0.05):  # about 5 s per rollout
        (first,) = push_all(stack, [(app.repository, "race-busy-0")])
        stack.wait_for_release(app.name, "staging",
                               lambda r: r["digest"] == first and r["status"] == "IN_PROGRESS")
        middle, newest = push_all(stack, [(app.repository, f"race-busy-{i}") for i in (1, 2)],
                                  gap=1.1)
        releases = wait_all_terminal(stack, app.name, "staging", [first, middle, newest])
    statuses = [releases[d]["status"] for d in (first, middle, newest)]
    assert statuses == ["SUCCEEDED", "SUPERSEDED", "SUCCEEDED"], statuses
    assert releases[newest]["SK"].split("#")[1] in releases[middle]["reason"]
    assert stack.head(app.name, "staging")["current_release"] == releases[newest]["SK"].split("#")[1]
    deployed = assert_no_overlap(stack, app)
    assert [d["task_definition"] for d in deployed] == [
        releases[first]["task_definition_arn"], releases[newest]["task_definition_arn"]]


def test_queue_policy_deploys_every_push_in_order(stack, seed):
    app = seed("race-queue", migration=False, staging_overrides={"concurrency": "queue"})
    digests = push_all(stack, [(app.repository, f"race-queue-{i}") for i in range(3)], gap=0.3)

    releases = wait_all_terminal(stack, app.name, "staging", digests)
    assert [releases[d]["status"] for d in digests] == ["SUCCEEDED"] * 3, releases
    started = [releases[d]["deploy_started_at"] for d in digests]
    assert started == sorted(started), "not deployed in push order: " + str(
        [(releases[d]["SK"], releases[d]["created_at"], releases[d]["deploy_started_at"]) for d in digests])
    head = stack.head(app.name, "staging")
    assert head["current_release"] == releases[digests[-1]]["SK"].split("#")[1]
    deployed = assert_no_overlap(stack, app)
    assert [d["task_definition"] for d in deployed] == [releases[d]["task_definition_arn"] for d in digests]


def test_twenty_pushes_across_five_apps(stack, seed):
    apps = [seed(f"swarm-{i}", migration=False) for i in range(5)]
    pushes = [(app.repository, f"swarm-{i}-{n}") for i, app in enumerate(apps) for n in range(4)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        digests = list(pool.map(lambda p: stack.push_image(p[0], ci_tag(), layer_seed=p[1]), pushes))

    for i, app in enumerate(apps):
        mine = digests[i * 4:(i + 1) * 4]
        releases = wait_all_terminal(stack, app.name, "staging", mine, timeout=420)
        # Exactly one release per pushed image, and the newest push is what runs.
        rows = [r for r in stack.releases(app.name, "staging") if r["digest"] in mine]
        assert len(rows) == 4, rows
        assert {r["status"] for r in releases.values()} <= {"SUCCEEDED", "SUPERSEDED"}, releases
        newest = max(releases.values(), key=lambda r: r["SK"])
        assert newest["status"] == "SUCCEEDED", newest
        assert stack.head(app.name, "staging")["current_release"] == newest["SK"].split("#")[1]
        assert_no_overlap(stack, app)
    executions = [e for e in stack.executions() if e["input"].get("digest") in digests]
    assert len(executions) == len(set(digests)) == 20


def test_a_waiter_that_ended_without_the_stage_does_not_block_the_queue(stack, seed):
    app = seed("race-stale", migration=False, staging_overrides={"concurrency": "queue"})
    stale = "01" + "0" * 23 + "1"  # older than any real push
    pk = f"APP#{app.name}#STAGE#staging"
    digest0 = "sha256:" + "3" * 64
    stack.table.put_item(Item={
        "PK": pk, "SK": f"REL#{stale}", "GSI1PK": f"DIGEST#{digest0}", "GSI1SK": f"{pk}#REL#{stale}",
        "release_id": stale, "app": app.name, "stage": "staging", "repository": app.repository,
        "digest": digest0, "tag": "develop-0000000", "image_uri": f"{stack.registry()}/{app.repository}@{digest0}",
        "trigger": "push", "status": "FAILED", "reason": "died before it got the stage",
        "created_at": "2020-01-01T00:00:00.000Z"})
    stack.table.update_item(Key={"PK": pk, "SK": "HEAD"}, UpdateExpression="ADD waiting :s, version :one",
                            ExpressionAttributeValues={":s": {stale}, ":one": 1})
    (digest,) = push_all(stack, [(app.repository, "race-stale-1")])

    releases = wait_all_terminal(stack, app.name, "staging", [digest], timeout=120)
    assert releases[digest]["status"] == "SUCCEEDED", releases[digest]
    assert stale not in (stack.head(app.name, "staging").get("waiting") or set())
