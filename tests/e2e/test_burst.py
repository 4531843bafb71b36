"""A burst: 60 pushes over 20 apps and 3 stages, with duplicate and late (out of order)
events and injected throttling. Every push ends released or superseded by a newer push of
its stage, no service ever has two rollouts at once, and no lock is held at the end."""

from __future__ import annotations

import copy
import json
import time
from concurrent.futures import ThreadPoolExecutor

from e2e_helpers import TERMINAL, ci_tag
from example_app import app_config
from test_concurrency import assert_no_overlap

STAGES = ("staging", "qa", "production")
TAG_PREFIX = {"staging": "develop", "qa": "qa", "production": "v1.0"}


def three_stages(name):
    base = app_config(name, migration=False)
    qa = copy.deepcopy(base["stages"]["staging"])
    qa.update(service=f"{name}-qa", tags=["qa-*"])
    return {"stages": dict(base["stages"], qa=qa)}


def wait_until_settled(stack, apps, timeout=600):
    deadline = time.monotonic() + timeout
    while True:
        pending = [(app.name, stage, r["release_id"]) for app in apps for stage in STAGES
                   for r in stack.releases(app.name, stage) if r["status"] not in TERMINAL]
        if not pending:
            return
        assert time.monotonic() < deadline, f"still running after {timeout} s: {pending[:10]}"
        time.sleep(2)


def test_sixty_pushes_with_redelivery_late_events_and_throttling(stack, seed):
    apps = [seed(f"burst-{i}", migration=False, app_overrides=three_stages(f"burst-{i}"))
            for i in range(20)]
    # Two pushes to one stage (they contend) and one to the next, for every app.
    pushes = []
    for i, app in enumerate(apps):
        first, second = STAGES[i % 3], STAGES[(i + 1) % 3]
        for n, stage in enumerate((first, first, second)):
            pushes.append((app, stage, f"{TAG_PREFIX[stage]}-{ci_tag('b')[2:]}", f"burst-{i}-{n}"))
    late = [tag for _, _, tag, _ in pushes[::12]]  # 5 pushes whose events come late
    for tag in late:
        stack.control("events/drop", {"source": "aws.ecr", "detail": {"image-tag": tag}})
    throttled = ("ThrottlingException", "Rate exceeded")
    for service, operation, times in (("dynamodb", "TransactWriteItems", 6), ("dynamodb", "UpdateItem", 6),
                                      ("stepfunctions", "StartExecution", 4), ("ecs", "UpdateService", 4)):
        stack.control("faults", {"service": service, "operation": operation, "times": times,
                                 "error": {"code": throttled[0], "message": throttled[1]}})

    with ThreadPoolExecutor(max_workers=10) as pool:
        digests = list(pool.map(lambda p: stack.push_image(p[0].repository, p[2], layer_seed=p[3]), pushes))
    deadline = time.monotonic() + 30
    while True:  # ECR emits its events a moment after the push
        by_tag = {e["detail"].get("image-tag"): e for e in stack.control("events")
                  if e.get("source") == "aws.ecr"}
        if all(tag in by_tag for _, _, tag, _ in pushes) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    # Duplicates of delivered events, then the late ones, newest first (out of order).
    for _, _, tag, _ in pushes[1::6]:
        stack.control("events/redeliver", by_tag[tag])
    time.sleep(5)
    for tag in reversed(late):
        stack.control("events/redeliver", by_tag[tag])
    time.sleep(5)
    # A push whose release throttling kept from starting is what the reconcile is for.
    stack.client("lambda").invoke(FunctionName="on-push",
                                  Payload=json.dumps({"action": "reconcile", "settle_seconds": 0}))
    wait_until_settled(stack, apps)

    for app in apps:
        for stage in STAGES:
            mine = {d for (a, s, _, _), d in zip(pushes, digests) if a is app and s == stage}
            if not mine:
                continue
            releases = [r for r in stack.releases(app.name, stage) if r["digest"] in mine]
            story = sorted((r["release_id"], r["status"], r.get("reason")) for r in releases)
            # Exactly one release per pushed image, whatever was redelivered.
            assert sorted(r["digest"] for r in releases) == sorted(mine), story
            newest = max(releases, key=lambda r: r["release_id"])
            assert newest["status"] == "SUCCEEDED", story
            head = stack.head(app.name, stage)
            assert head["current_release"] == newest["release_id"], story
            assert not head.get("lock_holder") and not head.get("waiting"), head
            for release in releases:
                assert release["status"] in ("SUCCEEDED", "SUPERSEDED"), story
                if release["status"] == "SUPERSEDED":
                    assert "newer" in release["reason"], story
            assert_no_overlap(stack, app, stage)
    stack.control("faults/clear", {})
