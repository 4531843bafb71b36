"""Figures of a burst from what the stack recorded: the release items (status, reason, a
timestamp per phase), the deploy state machine's executions and the emulator's own record
of ECS rollouts (which Stevedore cannot write, so an overlap found there is real).

Pure functions over plain data, so they can be checked without a stack.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import datetime
from typing import Any, Iterable

TERMINAL = {"SUCCEEDED", "FAILED", "ROLLED_BACK", "SUPERSEDED", "ABORTED"}
# The release's phase attributes in the order a release reaches them (crates/core Phase).
PHASES = ("pending_at", "lock_acquired_at", "rendered_at", "deploy_started_at", "finished_at")


def epoch(value: Any) -> float | None:
    """An RFC 3339 timestamp (release items), a datetime (boto3) or epoch seconds -> epoch."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def percentile(values: Iterable[float], pct: float) -> float | None:
    """Nearest-rank percentile (no interpolation: every figure is one that was measured)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return round(ordered[rank - 1], 3)


def summary(values: Iterable[float]) -> dict[str, Any]:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"n": 0}
    return {"n": len(vals), "min": round(min(vals), 3), "p50": percentile(vals, 50),
            "p95": percentile(vals, 95), "max": round(max(vals), 3),
            "mean": round(statistics.fmean(vals), 3)}


def account_for_pushes(pushes: list[dict[str, Any]],
                       releases_by_app: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Every push must end in exactly one release of its image that is terminal, and one
    that did not succeed must say why (`reason`; a SUCCEEDED record carries none). Anything
    else is a lost push, listed with what was found."""
    lost, duplicates, statuses = [], [], Counter()
    matched: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for push in pushes:
        if push.get("error"):
            lost.append({"tag": push["tag"], "app": push["app"], "why": f"push failed: {push['error']}"})
            continue
        found = [r for r in releases_by_app.get(push["app"], []) if r.get("digest") == push["digest"]]
        if len(found) > 1:
            duplicates.append({"tag": push["tag"], "releases": [r.get("release_id") for r in found]})
        if not found:
            lost.append({"tag": push["tag"], "app": push["app"], "why": "no release"})
            continue
        release = max(found, key=lambda r: r.get("release_id", ""))
        statuses[release.get("status")] += 1
        if release.get("status") not in TERMINAL:
            lost.append({"tag": push["tag"], "app": push["app"], "why": f"not terminal: {release.get('status')}"})
        elif release["status"] != "SUCCEEDED" and not release.get("reason"):
            lost.append({"tag": push["tag"], "app": push["app"], "why": f"{release['status']} without a reason"})
        else:
            matched.append((push, release))
    return {"lost": lost, "duplicates": duplicates, "statuses": dict(statuses), "matched": matched}


def phase_figures(matched: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """Push -> terminal per push, and where a release's time went, per status: push -> PENDING
    record (ECR event, EventBridge, on-push, StartExecution), then each phase to the next."""
    push_to_terminal, by_status = [], {}
    for push, release in matched:
        finished = epoch(release.get("finished_at"))
        if finished is not None:
            push_to_terminal.append(finished - push["returned"])
        steps = by_status.setdefault(release["status"], {})
        previous, previous_name = push["returned"], "push"
        for attribute in PHASES:
            at = epoch(release.get(attribute))
            if at is None:
                continue
            steps.setdefault(f"{previous_name}->{attribute}", []).append(at - previous)
            previous, previous_name = at, attribute
    return {"push_to_terminal_seconds": summary(push_to_terminal),
            "phases_seconds": {status: {step: summary(v) for step, v in steps.items()}
                               for status, steps in by_status.items()}}


def rollout_figures(rollouts: list[dict[str, Any]], services: set[str],
                    seed_task_definitions: set[str], burst_start: float) -> dict[str, Any]:
    """The emulator's rollouts of the burst's services, the seeds' own CreateService rollouts
    left out. Two rollouts of one service overlap when the later one started before the
    earlier one ended; a rollout the emulator ended as `superseded` (a new deployment
    replaced it mid-way) is an overlap too."""
    mine = [r for r in rollouts if r["service_arn"].rsplit("/", 1)[-1] in services
            and r["task_definition"] not in seed_task_definitions]
    overlaps, by_service = [], {}
    for r in mine:
        by_service.setdefault(r["service_arn"], []).append(r)
    for arn, recs in by_service.items():
        recs.sort(key=lambda r: r["started_at"])
        for earlier, later in zip(recs, recs[1:]):
            if earlier["ended_at"] is None or later["started_at"] < earlier["ended_at"]:
                overlaps.append({"service": arn.rsplit("/", 1)[-1], "earlier": earlier, "later": later})
        overlaps += [{"service": arn.rsplit("/", 1)[-1], "superseded": r} for r in recs
                     if r.get("outcome") == "superseded"]
    ended = [r for r in mine if r["ended_at"] is not None]
    return {
        "rollouts": len(mine),
        "outcomes": dict(Counter(r.get("outcome") for r in mine)),
        "duration_seconds": summary(r["ended_at"] - r["started_at"] for r in ended),
        "max_concurrent": max_concurrent((r["started_at"], r["ended_at"]) for r in ended),
        "first_start_after_first_push_seconds":
            round(min(r["started_at"] for r in mine) - burst_start, 3) if mine else None,
        "last_end_after_first_push_seconds":
            round(max(r["ended_at"] for r in ended) - burst_start, 3) if ended else None,
        "overlaps": overlaps,
    }


def max_concurrent(intervals: Iterable[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end at t closes before a start at t)."""
    edges = sorted(edge for start, end in intervals for edge in ((start, 1), (end, -1)))
    best = current = 0
    for _, step in edges:
        current += step
        best = max(best, current)
    return best


def execution_figures(executions: list[dict[str, Any]], matched: list[tuple[dict, dict]]) -> dict[str, Any]:
    """Step Functions' own start and stop times against the push and the release record:
    how long until an execution started, and how long it ran."""
    by_name = {e["name"]: e for e in executions}
    start_delay, run_time, count = [], [], 0
    for push, release in matched:
        ex = by_name.get(release.get("release_id"))
        if ex is None:
            continue
        count += 1
        start_delay.append(epoch(ex["startDate"]) - push["returned"])
        if ex.get("stopDate"):
            run_time.append(epoch(ex["stopDate"]) - epoch(ex["startDate"]))
    return {"executions_matched": count,
            "push_to_execution_start_seconds": summary(start_delay),
            "execution_run_seconds": summary(run_time),
            "statuses": dict(Counter(e.get("status") for e in executions))}


def arrival_rate(push_start: float, matched: list[tuple[dict, dict]]) -> dict[str, Any]:
    """How fast PENDING records appeared (on-push's throughput: ECR event -> EventBridge ->
    on-push -> release record -> StartExecution): when the first and the last appeared after
    the first push, and the median gap between consecutive ones."""
    pending = sorted(epoch(r["pending_at"]) for _, r in matched if r.get("pending_at"))
    if len(pending) < 2:
        return {"n": len(pending)}
    gaps = [b - a for a, b in zip(pending, pending[1:])]
    span = pending[-1] - pending[0]
    return {"n": len(pending), "first_after_first_push": round(pending[0] - push_start, 3),
            "last_after_first_push": round(pending[-1] - push_start, 3),
            "per_second": round((len(pending) - 1) / span, 2) if span > 0 else None,
            "median_gap_seconds": percentile(gaps, 50)}


def completion_curve(push_start: float, matched: list[tuple[dict, dict]]) -> dict[str, Any]:
    """Seconds after the first push by which 10, 50, 90 and 100 % of the pushes were terminal."""
    done = sorted(epoch(r.get("finished_at")) - push_start for _, r in matched
                  if r.get("finished_at"))
    return {f"{pct}%": percentile(done, pct) for pct in (10, 50, 90, 100)}


def request_figures(requests: list[dict[str, Any]], start: float, end: float,
                    top: int = 15) -> dict[str, Any]:
    """The AWS requests the emulator served between `start` and `end` (its request audit):
    how many, how fast, and the busiest (caller, operation) pairs; a caller is a function
    name, `states` (Step Functions' service integrations, Lambda invokes included),
    `emulator` or `test`."""
    window = [r for r in requests if start <= r.get("time", 0) <= end]
    pairs = Counter(f"{r.get('caller')} {r.get('service')}:{r.get('operation')}" for r in window)
    callers = Counter(r.get("caller") for r in window)
    seconds = max(end - start, 1e-9)
    return {"requests": len(window), "per_second": round(len(window) / seconds, 1),
            "by_caller": dict(callers.most_common()),
            "busiest": dict(pairs.most_common(top)),
            "errors": dict(Counter(f"{r.get('caller')} {r.get('operation')} {r.get('status')}"
                                   for r in window if (r.get("status") or 200) >= 400).most_common(top))}
