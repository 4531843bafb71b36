"""Stevedore's own releases, timed: push an image, wait for SUCCEEDED, and split the time
into the release's phases (its `*_at` timestamps), the ECS rollout's own duration (the
emulator's rollout record of the release's deployment: createdAt -> completed) and, with a
migration, the migration task's run (DescribeTasks createdAt -> stoppedAt).

Three scenarios, each with an app of its own (seeded once, as the e2e tests seed theirs):
- rolling: no migration, ECS rolling update;
- migration: the example's ECS RunTask migration, then the rolling update;
- blue_green: ECS native blue/green with Stevedore's lifecycle hook smoke test.
"""

from __future__ import annotations

import datetime
import secrets
import time
from dataclasses import dataclass
from typing import Any

from example_app import ExampleApp, app_config, seed_app
from stack import LocalStack

TERMINAL = {"SUCCEEDED", "FAILED", "ROLLED_BACK", "SUPERSEDED", "ABORTED"}
SCENARIOS = ("rolling", "migration", "blue_green")
# The release's phase timestamps, in the order a release reaches them.
PHASES = ("pending_at", "lock_acquired_at", "rendered_at", "migrated_at", "deploy_started_at",
          "finished_at")


@dataclass
class Scenario:
    name: str
    app: ExampleApp
    stage: str = "staging"

    @property
    def service(self) -> str:
        return self.app.services[self.stage]

    @property
    def cluster(self) -> str:
        return self.app.stage(self.stage)["cluster"]


def seed(stack: LocalStack, name: str, prefix: str = "bench") -> Scenario:
    app_name = f"{prefix}-{name.replace('_', '-')}"
    if name == "rolling":
        app = seed_app(stack, app_name, migration=False)
    elif name == "migration":
        app = seed_app(stack, app_name, migration=True)
    elif name == "blue_green":
        # The emulator's test listener answers /<cluster>/<service>/... for green's tasks.
        listener = stack.control("ecs/test-listener")["url"]
        cluster = app_config(app_name)["stages"]["staging"]["cluster"]
        overrides = {
            "strategy": "blue_green", "bake_minutes": 1, "deploy_timeout_seconds": 300,
            "smoke_test": {"test_url": f"{listener}/{cluster}/{app_name}-staging/healthz",
                           "attempts": 3, "interval_seconds": 1},
        }
        app = seed_app(stack, app_name, migration=False, staging_overrides=overrides,
                       blue_green_stages={"staging"})
    else:
        raise ValueError(f"unknown scenario {name}")
    return Scenario(name, app)


def parse_time(value: Any) -> float | None:
    """Epoch seconds of an RFC 3339 string, a datetime or a number."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    text = str(value).replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(text).timestamp()


def wait_terminal(stack: LocalStack, sc: Scenario, digest: str, timeout: float) -> dict[str, Any]:
    return stack.wait_for_release(
        sc.app.name, sc.stage,
        lambda r: r.get("digest") == digest and r.get("status") in TERMINAL,
        timeout=timeout, poll=0.25)


def rollout_record(stack: LocalStack, deployment_id: str) -> dict[str, Any] | None:
    """The emulator's record of an ECS deployment (started_at / ended_at, epoch seconds)."""
    return next((d for d in stack.control("ecs/deployments")
                 if d["deployment_id"] == deployment_id), None)


def migration_seconds(stack: LocalStack, sc: Scenario, release: dict[str, Any]) -> float | None:
    arn = release.get("migration_task_arn")
    if not arn:
        return None
    tasks = stack.client("ecs").describe_tasks(cluster=sc.cluster, tasks=[arn])["tasks"]
    if not tasks or not tasks[0].get("stoppedAt"):
        return None
    return parse_time(tasks[0]["stoppedAt"]) - parse_time(tasks[0]["createdAt"])


def execution_arn(stack: LocalStack, release: dict[str, Any]) -> str | None:
    if release.get("execution_arn"):
        return release["execution_arn"]
    for ex in stack.executions(release["app"]):
        if ex["input"].get("release_id") == release["release_id"]:
            return ex["executionArn"]
    return None


def history(stack: LocalStack, arn: str) -> list[dict[str, Any]]:
    sfn = stack.client("stepfunctions")
    events, token = [], None
    while True:
        page = sfn.get_execution_history(executionArn=arn, maxResults=1000,
                                         **({"nextToken": token} if token else {}))
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def state_durations(events: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds from each state's entry to its exit (a state entered twice: summed)."""
    entered: dict[str, float] = {}
    out: dict[str, float] = {}
    for event in events:
        when = parse_time(event["timestamp"])
        if "stateEnteredEventDetails" in event:
            entered[event["stateEnteredEventDetails"]["name"]] = when
        elif "stateExitedEventDetails" in event:
            name = event["stateExitedEventDetails"]["name"]
            if name in entered:
                out[name] = out.get(name, 0.0) + when - entered.pop(name)
    return out


def transitions(events: list[dict[str, Any]]) -> int:
    """State transitions Step Functions bills: one per state entered (retries included)."""
    return sum(1 for e in events if e["type"].endswith("StateEntered"))


def release_once(stack: LocalStack, sc: Scenario, timeout: float = 300) -> dict[str, Any]:
    """One push -> SUCCEEDED of the scenario's app; every figure of it, in seconds."""
    tag = f"develop-{secrets.token_hex(4)[:7]}"
    seed_text = f"{sc.app.name}-{secrets.token_hex(8)}"
    pushed = time.time()
    digest = stack.push_image(sc.app.repository, tag, layer_seed=seed_text)
    release = wait_terminal(stack, sc, digest, timeout)
    if release["status"] != "SUCCEEDED":
        raise RuntimeError(f"{sc.name}: release ended {release['status']}: {release.get('reason')}")
    stamps = {k: parse_time(release.get(k)) for k in PHASES}
    finished = stamps["finished_at"]
    rollout = rollout_record(stack, release.get("deployment_id") or "")
    if rollout is None or rollout.get("ended_at") is None:
        raise RuntimeError(f"{sc.name}: no completed rollout record for {release.get('deployment_id')}")
    rollout_s = rollout["ended_at"] - rollout["started_at"]
    migration_s = migration_seconds(stack, sc, release) if sc.name == "migration" else None
    total = finished - pushed
    arn = execution_arn(stack, release)
    events = history(stack, arn) if arn else []
    start = next((parse_time(e["timestamp"]) for e in events if e["type"] == "ExecutionStarted"), None)
    phases = _phases(pushed, stamps, rollout, start)
    result = {
        "release_id": release["release_id"], "digest": digest, "pushed": pushed,
        "finished": finished, "push_to_succeeded_s": total, "rollout_s": rollout_s,
        "overhead_s": total - rollout_s, "phases_s": phases,
        "states_s": state_durations(events), "transitions": transitions(events),
        "execution_arn": arn, "execution_started": start,
    }
    if migration_s is not None:
        result["migration_task_s"] = migration_s
        result["overhead_beyond_ecs_s"] = total - rollout_s - migration_s
    else:
        result["overhead_beyond_ecs_s"] = total - rollout_s
    return result


def _phases(pushed: float, stamps: dict[str, float | None], rollout: dict[str, Any],
            execution_start: float | None) -> dict[str, float]:
    """Consecutive spans of one release, each from one recorded moment to the next."""
    points: list[tuple[str, float]] = [("push", pushed)]
    if execution_start is not None:
        points.append(("execution started", execution_start))
    names = {"pending_at": "release recorded (PENDING)", "lock_acquired_at": "lock acquired",
             "rendered_at": "rendered", "migrated_at": "migrated",
             "deploy_started_at": "deploy started recorded"}
    for key, label in names.items():
        if stamps.get(key) is not None:
            points.append((label, stamps[key]))
    points.append(("ECS deployment created", rollout["started_at"]))
    points.append(("ECS deployment completed", rollout["ended_at"]))
    points.append(("SUCCEEDED recorded", stamps["finished_at"]))
    points.sort(key=lambda p: p[1])
    return {f"{a} -> {b}": tb - ta for (a, ta), (b, tb) in zip(points, points[1:])}
