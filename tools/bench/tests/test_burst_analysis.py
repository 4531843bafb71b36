"""The burst benchmark's bookkeeping on hand-made records: a lost push, a duplicate, an
overlap and the percentiles must come out as counted by hand."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import burst_analysis as analysis  # noqa: E402


def push(app, tag, digest, returned=100.0, error=""):
    return {"app": app, "tag": tag, "digest": digest, "returned": returned, "error": error}


def release(rid, digest, status, reason=None, **phases):
    out = {"release_id": rid, "digest": digest, "status": status, **phases}
    if reason:
        out["reason"] = reason
    return out


def test_every_push_needs_one_terminal_release_and_a_reason_unless_it_succeeded():
    pushes = [push("a", "t1", "d1"), push("a", "t2", "d2"), push("a", "t3", "d3"),
              push("b", "t4", "d4"), push("b", "t5", "", error="ThrottlingException"),
              push("b", "t6", "d6")]
    releases = {"a": [release("R1", "d1", "SUCCEEDED"),
                      release("R2", "d2", "SUPERSEDED", "superseded by the newer push"),
                      release("R3", "d3", "IN_PROGRESS")],
                "b": [release("R4", "d4", "FAILED"),
                      release("R6", "d6", "SUCCEEDED"), release("R7", "d6", "SUCCEEDED")]}
    out = analysis.account_for_pushes(pushes, releases)
    assert sorted((lost["tag"], lost["why"].split(":")[0]) for lost in out["lost"]) == [
        ("t3", "not terminal"), ("t4", "FAILED without a reason"), ("t5", "push failed")]
    assert out["duplicates"] == [{"tag": "t6", "releases": ["R6", "R7"]}]
    assert out["statuses"] == {"SUCCEEDED": 2, "SUPERSEDED": 1, "IN_PROGRESS": 1, "FAILED": 1}
    assert [r["release_id"] for _, r in out["matched"]] == ["R1", "R2", "R7"]


def test_overlapping_and_superseded_rollouts_are_found_and_seed_rollouts_ignored():
    arn = "arn:aws:ecs:us-east-1:1:service/c/{}".format
    rollouts = [
        {"service_arn": arn("s1"), "task_definition": "seed", "started_at": 0, "ended_at": 50, "outcome": "completed"},
        {"service_arn": arn("s1"), "task_definition": "td:2", "started_at": 10, "ended_at": 12, "outcome": "completed"},
        {"service_arn": arn("s1"), "task_definition": "td:3", "started_at": 12, "ended_at": 14, "outcome": "completed"},
        {"service_arn": arn("s2"), "task_definition": "td:4", "started_at": 10, "ended_at": 13, "outcome": "superseded"},
        {"service_arn": arn("s2"), "task_definition": "td:5", "started_at": 11, "ended_at": 15, "outcome": "completed"},
        {"service_arn": arn("other"), "task_definition": "td:6", "started_at": 0, "ended_at": 99, "outcome": "completed"},
    ]
    out = analysis.rollout_figures(rollouts, {"s1", "s2"}, {"seed"}, burst_start=9.0)
    assert out["rollouts"] == 4
    kinds = sorted("superseded" if "superseded" in o else "interval" for o in out["overlaps"])
    assert kinds == ["interval", "superseded"]  # s2 twice; s1's back-to-back pair is fine
    assert out["max_concurrent"] == 3
    assert out["first_start_after_first_push_seconds"] == 1.0


def test_percentiles_are_measured_values():
    values = [float(v) for v in range(1, 21)]
    assert analysis.percentile(values, 50) == 10.0
    assert analysis.percentile(values, 95) == 19.0
    assert analysis.summary([])["n"] == 0
    assert analysis.epoch("1970-01-01T00:00:01.500Z") == 1.5
