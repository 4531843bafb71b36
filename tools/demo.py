#!/usr/bin/env python3
"""`make demo`: one release of the example app, end to end, on this machine.

Starts the local stack (emulated AWS + the real function binaries), seeds the example app
from examples/ as it is (staging runs two services, web and worker, and a nightly schedule
of the worker), pushes an image tagged like a CI build, prints each phase of the one release
that moves them all as it is recorded (the services' and the schedule's too), then per
service its task definition, deployment and status, the schedule's target as EventBridge
Scheduler now has it, the Slack message the notify function posted (to the emulator's
webhook receiver), `stevedore history backend` and `stevedore status backend`. Exits 0 only if
the release SUCCEEDED, every service and schedule runs the release's revisions, and the Slack
message came.

    .venv/bin/python tools/demo.py [--no-build] [--timeout 300]
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import sys
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "local-aws"))

from example_app import (EXAMPLE_APP, EXAMPLE_CONFIG, ExampleApp,  # noqa: E402
                         rule_task_definition, schedule_task_definition, seed_app)
from stack import TERMINAL, LocalStack  # noqa: E402

STAGE = "staging"
# examples/stevedore.yaml's `notifications:` Slack webhook secret.
SLACK_SECRET = "stevedore/notifications/backend-slack"


def as_datetime(value: Any) -> datetime | None:
    """Phase timestamps may be stored as RFC 3339 text or epoch seconds."""
    try:
        if isinstance(value, (int, float, Decimal)):
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError, OverflowError):
        return None


def _timed(item: dict[str, Any], label: str = "") -> list[tuple[datetime, str]]:
    out = []
    for key, value in item.items():
        when = as_datetime(value) if key.endswith("_at") else None
        if when is not None:
            out.append((when, f"{label}{key[: -len('_at')]}"))
    return out


def target_name(target: dict[str, Any]) -> str:
    """A recorded schedule target (`{"kind": "schedule", "name", "group"}` or a rule's)."""
    where = target.get("group") or target.get("event_bus") or "default"
    return f"{target.get('kind', 'schedule')} {where}/{target.get('name')}"


def phases(release: dict[str, Any]) -> list[tuple[datetime, str]]:
    """(when, phase) for every `*_at` attribute of the release, of each of its services
    (`backend-worker-staging: started`) and of each schedule, oldest first."""
    out = _timed(release)
    for service in release.get("services") or []:
        out += _timed(service, f"{service.get('service')}: ")
    for schedule in release.get("schedules") or []:
        out += _timed(schedule, f"{target_name(schedule.get('target') or {})}: ")
    return sorted(out)


def follow_release(stack: LocalStack, digest: str, timeout: float) -> dict[str, Any] | None:
    """Print phases as they appear; return the release once terminal (None on timeout)."""
    deadline = time.monotonic() + timeout
    printed: set[str] = set()
    release = None
    while time.monotonic() < deadline:
        release = next((r for r in stack.releases(EXAMPLE_APP, STAGE) if r.get("digest") == digest),
                       None)
        if release is not None:
            for when, phase in phases(release):
                if phase not in printed:
                    printed.add(phase)
                    print(f"  {when.strftime('%H:%M:%S.%f')[:-3]}  {phase}", flush=True)
            if release.get("status") in TERMINAL:
                return release
        time.sleep(0.3)
    print(f"demo: no terminal status after {timeout:.0f}s; last seen: {release}", file=sys.stderr)
    return None


def revision(arn: Any) -> str:
    return str(arn).rsplit("/", 1)[-1] if arn else "-"


def report_services(stack: LocalStack, app: ExampleApp, release: dict[str, Any]) -> bool:
    """Per service: the release's task definition, deployment and status, and what ECS runs
    now; per schedule: the revision its ECS target runs now. True when all of them run the
    release's revisions."""
    ecs = stack.client("ecs")
    cluster = app.stage(STAGE)["cluster"]
    names = app.stage_services[STAGE]
    # A stage of one service records on the release itself; a release that failed before it
    # recorded its services (at render) changed none of them.
    one = len(names) == 1
    recorded = release.get("services") or [{
        "service": name, "task_definition_arn": release.get("task_definition_arn") if one else None,
        "deployment_id": release.get("deployment_id") if one else None,
        "status": release.get("status") if one else "not recorded"} for name in names]
    consistent = True
    for service in recorded:
        running = ecs.describe_services(cluster=cluster, services=[service["service"]])
        now = running["services"][0]["taskDefinition"] if running["services"] else None
        print(f"  service {service['service']}: task definition "
              f"{revision(service.get('task_definition_arn'))}, deployment "
              f"{service.get('deployment_id') or '-'}, {service.get('status')}"
              f" (ECS runs {revision(now)})")
        consistent &= now == service.get("task_definition_arn")
    for schedule in release.get("schedules") or []:
        target = schedule.get("target") or {}
        if target.get("kind") == "rule":
            now = rule_task_definition(stack, target["name"], target.get("event_bus", "default"))
        else:
            now = schedule_task_definition(stack, target["name"], target.get("group", "default"))
        print(f"  {target_name(target)}: target {revision(now)} "
              f"(was {revision(schedule.get('previous_task_definition_arn'))}), "
              f"{schedule.get('status')}")
        consistent &= now == schedule.get("task_definition_arn")
    return consistent


def slack_message(stack: LocalStack, release: dict[str, Any],
                  timeout: float) -> dict[str, Any] | None:
    """The Slack message notify posted about the release's end, as the emulator's webhook
    receiver got it (examples/stevedore.yaml's `notifications:`; the seed pointed the
    webhook's secret at the receiver), printed as Slack would get it."""
    path = f"/hooks/{SLACK_SECRET.rsplit('/', 1)[-1]}"
    end = time.time() + timeout
    while time.time() < end:
        for request in stack.control("webhooks/received"):
            body = request.get("json") or request.get("body")  # `json`: the body, parsed
            # The example's `on:` lists terminal statuses and approvals only: a message about
            # this (approval-free) release is the one about its end.
            if request.get("path") == path and release["release_id"] in json.dumps(body):
                print(f"\ndemo: the Slack message notify sent (secret {SLACK_SECRET}, "
                      "posted to the local webhook receiver):")
                print(json.dumps(body, indent=2, ensure_ascii=False))
                return body
        time.sleep(0.5)
    return None


def scale_note(stack: LocalStack, release: dict[str, Any]) -> str:
    """The history's `predicted` is for AWS; the emulated ECS runs its waits scaled down."""
    scale = float(stack.control("ecs/time-scale")["scale"])
    predicted = release.get("predicted_rollout_seconds")
    return (f"demo: the emulated ECS runs a rollout's waits at {scale:g}x the time the service's "
            "settings take on AWS; the history's `predicted` is the AWS time"
            + (f" ({float(predicted):.0f} s, about {float(predicted) * scale:.1f} s here)"
               if predicted is not None else ""))


def run(args: argparse.Namespace) -> int:
    with LocalStack(build=not args.no_build) as stack:
        print(f"demo: seeding app `{EXAMPLE_APP}` from examples/{EXAMPLE_CONFIG.name}")
        app = seed_app(stack, EXAMPLE_APP, config_path=EXAMPLE_CONFIG)
        print(f"demo: {EXAMPLE_APP}/{STAGE} runs {', '.join(app.stage_services[STAGE])}"
              + (f" and schedule {app.schedules[STAGE]}" if STAGE in app.schedules else ""))
        tag = f"develop-{secrets.token_hex(4)[:7]}"
        digest = stack.push_image(app.repository, tag, layer_seed=tag)
        print(f"demo: pushed {app.repository}:{tag} ({digest})")
        print(f"demo: release of {EXAMPLE_APP}/{STAGE}:", flush=True)
        release = follow_release(stack, digest, args.timeout)
        if release is None:
            seen = stack.releases(EXAMPLE_APP, STAGE)
            print(stack.diagnose(EXAMPLE_APP, STAGE, seen, args.timeout), file=sys.stderr)
            return 1
        print(f"demo: {release['status']}" + (f": {release['reason']}" if release.get("reason") else ""))
        consistent = report_services(stack, app, release)
        slack = slack_message(stack, release, timeout=30.0)
        for command in (("history", EXAMPLE_APP), ("status", EXAMPLE_APP)):
            print(f"\n$ stevedore {' '.join(command)}")
            out = stack.stevedore(*command, check=False)
            print(out.stdout.rstrip() or out.stderr.rstrip())
            if command[0] == "history":
                print(scale_note(stack, release))
        if slack is None:
            print("demo: notify posted no Slack message for the release within 30 s "
                  "(see the notify function's log)", file=sys.stderr)
            return 1
        if release["status"] == "SUCCEEDED" and not consistent:
            print("demo: the release SUCCEEDED but a service or schedule does not run its "
                  "revision (see above)", file=sys.stderr)
        return 0 if release["status"] == "SUCCEEDED" and consistent else 1


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # so `with LocalStack()` stops the children on SIGTERM too


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="the binaries are already built")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the release")
    try:
        return run(parser.parse_args())
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
