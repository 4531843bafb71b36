"""Burst benchmark: many pushes over many apps at once, on the local emulator.

    python tools/bench/burst.py --pushes 200 --apps 50 --json out.json

seeds `apps` one-stage apps (burst_setup), fires `pushes` real ECR PutImage calls over them
as fast as a thread pool can (the emulator's ECR events then flow through EventBridge to
on-push, as on AWS), and waits until every push is accounted for. It reports:

- `all_terminal_seconds`: first push sent -> the last release's terminal record;
- `lost`: pushes that did not end in exactly one terminal release with a reason (must be 0;
  under `concurrency: latest` SUPERSEDED is a terminal outcome, so it is no loss);
- `overlapping_rollouts`: two rollouts of one ECS service at once, from the emulator's own
  rollout record (must be 0);
- per-status counts, push -> terminal p50/p95, and where the time went (per phase, Step
  Functions start delay, rollout durations and how many ran at once).

Targets are reported, never asserted. `measure(stack, ...)` is what tools/bench/run.py
imports; the CLI starts its own stack (tools/local-aws/stack.py) and stops it, by PID, also
on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "local-aws"))

import burst_analysis as analysis  # noqa: E402
import burst_setup as setup  # noqa: E402
from stack import profile as stack_profile  # noqa: E402

TARGET_SECONDS = 60.0
DEFAULT_COMMAND = "python tools/bench/burst.py --pushes 200 --apps 50"


def rollout_settings() -> dict[str, Any]:
    """The emulator's rollout time settings this process (and the emulator it starts) sees."""
    return {name: os.environ.get(name) for name in
            ("STEVEDORE_SIM_SECONDS", "STEVEDORE_SIM_TIME_SCALE")}


def releases_by_app(stack: Any, apps: list[Any]) -> dict[str, list[dict[str, Any]]]:
    return {app.name: stack.releases(app.name, setup.STAGE) for app in apps}


def terminal_images(stack: Any, prefix: str) -> set[tuple[str, str]]:
    """(app, digest) of every terminal release of the burst's apps, by one paged Scan
    (projected to three attributes): polling 50 apps with a Query each would itself be a
    sizeable part of the emulator's load."""
    from boto3.dynamodb.conditions import Attr

    kwargs: dict[str, Any] = {
        "FilterExpression": Attr("PK").begins_with(f"APP#{prefix}-") & Attr("SK").begins_with("REL#"),
        "ProjectionExpression": "PK, digest, #s", "ExpressionAttributeNames": {"#s": "status"},
        "ConsistentRead": True}
    table, found = stack.table, set()
    while True:
        page = table.scan(**kwargs)
        found |= {(item["PK"].split("#")[1], item.get("digest")) for item in page["Items"]
                  if item.get("status") in analysis.TERMINAL}
        if not page.get("LastEvaluatedKey"):
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def wait_until_accounted(stack: Any, prefix: str, plan: list[setup.Push],
                         timeout: float, poll: float = 2.0) -> tuple[float, bool]:
    """Poll until every pushed image has a terminal release (or `timeout`); returns the
    wall clock at which that was seen, and whether it was."""
    wanted = {(p.app, p.digest) for p in plan if p.digest}
    deadline = time.monotonic() + timeout
    while True:
        if wanted <= terminal_images(stack, prefix):
            return time.time(), True
        if time.monotonic() > deadline:
            return time.time(), False
        time.sleep(poll)


def locks_left(stack: Any, apps: list[Any]) -> list[str]:
    """Stages whose head still names a lock holder or a waiting release after the burst."""
    left = []
    for app in apps:
        head = stack.head(app.name, setup.STAGE) or {}
        if head.get("lock_holder") or head.get("waiting"):
            left.append(app.name)
    return left


def measure(stack: Any, pushes: int = 200, apps: int = 50, *, timeout: float = 600.0,
            workers: int = 16, command: str | None = None) -> dict[str, Any]:
    """Seed `apps` apps on `stack`, fire `pushes` pushes over them and measure the burst.
    Returns a JSON-serializable dict; never raises on a missed target or a lost push."""
    load_before = os.getloadavg()
    setup_started = time.monotonic()
    prefix = f"burst{secrets.token_hex(2)}"  # several measure() calls on one stack stay apart
    *seeded, warm_app = setup.seed_apps(stack, apps, prefix)
    settle_seconds = setup.wait_for_quiet_services(stack, seeded)
    warm_up_seconds = setup.warm_up(stack, warm_app)
    setup_seconds = time.monotonic() - setup_started

    plan = setup.plan_pushes(seeded, pushes)
    setup.fire(stack, plan, workers=workers)
    first_push = min(p.started for p in plan)
    pushes_sent = max(p.returned for p in plan) - first_push
    seen_at, complete = wait_until_accounted(stack, prefix, plan, timeout)
    releases = releases_by_app(stack, seeded)

    push_dicts = [vars(p) for p in plan]
    accounted = analysis.account_for_pushes(push_dicts, releases)
    matched = accounted["matched"]
    finished = [analysis.epoch(r.get("finished_at")) for _, r in matched if r.get("finished_at")]
    services = {app.services[setup.STAGE] for app in seeded}
    rollouts = analysis.rollout_figures(
        stack.control("ecs/deployments"), services,
        {app.task_definition_arn for app in seeded}, first_push)
    executions = analysis.execution_figures(
        [e for e in stack.executions() if e["name"] in
         {r.get("release_id") for rs in releases.values() for r in rs}], matched)
    all_terminal = (max(finished) - first_push) if complete and finished else None
    audit = stack.control("requests", timeout=120)
    requests = analysis.request_figures(audit, first_push, seen_at)
    run_dir = getattr(stack, "run_dir", None)
    if run_dir is not None:  # the raw records, beside the stack's logs, for a closer look
        raw = {"pushes": [vars(p) for p in plan], "releases": releases,
               "rollouts": stack.control("ecs/deployments"),
               "requests": [r for r in audit if r.get("time", 0) >= first_push]}
        (Path(run_dir) / f"{prefix}-records.json").write_text(json.dumps(raw, default=str))
    return {
        "benchmark": "burst",
        "commands": [command or DEFAULT_COMMAND],
        "pushes": pushes, "apps": apps, "stage": setup.STAGE, "push_workers": workers,
        "app_shape": "one stage, one ECS service (desiredCount 2, 100/200, circuit breaker), "
                     "no migration, concurrency: latest",
        "function_binaries": f"{stack_profile()} profile behind `cargo lambda watch`",
        "function_concurrency": getattr(stack, "function_concurrency", 1),
        "rollout_settings": rollout_settings(),
        "setup_seconds": round(setup_seconds, 3),
        "seed_rollouts_settle_seconds": round(settle_seconds, 3),
        "warm_up_seconds": round(warm_up_seconds, 3),
        "pushes_sent_seconds": round(pushes_sent, 3),
        "push_errors": sum(1 for p in plan if p.error),
        "complete": complete,
        "timeout_seconds": timeout,
        "all_terminal_seconds": round(all_terminal, 3) if all_terminal is not None else None,
        "all_terminal_seen_seconds": round(seen_at - first_push, 3) if complete else None,
        "target_seconds": TARGET_SECONDS,
        "target_met": all_terminal is not None and all_terminal <= TARGET_SECONDS,
        "releases_lost": len(accounted["lost"]),
        "lost": accounted["lost"][:20],
        "duplicate_releases": len(accounted["duplicates"]),
        "duplicates": accounted["duplicates"][:20],
        "statuses": accounted["statuses"],
        "overlapping_rollouts": len(rollouts["overlaps"]),
        "rollouts": {k: v for k, v in rollouts.items() if k != "overlaps"},
        "overlap_examples": rollouts["overlaps"][:10],
        "locks_left": locks_left(stack, seeded),
        "completion_curve_seconds": analysis.completion_curve(first_push, matched),
        "pending_records": analysis.arrival_rate(first_push, matched),
        **analysis.phase_figures(matched),
        "step_functions": executions,
        "aws_requests_during_burst": requests,
        # The machine is shared: its load says how far these figures can be compared.
        "load_average_1_5_15": {"before": [round(x, 2) for x in load_before],
                                "after": [round(x, 2) for x in os.getloadavg()]},
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--apps", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds to wait for every push to be terminal")
    parser.add_argument("--workers", type=int, default=16, help="threads sending PutImage")
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--skip-build", action="store_true",
                        help="the debug binaries are already built (cargo build --workspace --bins)")
    parser.add_argument("--function-concurrency", type=int, default=1,
                        help="`cargo lambda watch --concurrency`: instances per function (default 1, "
                             "as the e2e stack runs)")
    args = parser.parse_args(argv)
    command = "python tools/bench/burst.py " + shlex.join(argv if argv is not None else sys.argv[1:])

    from stack import LocalStack

    with LocalStack(build=not args.skip_build,
                    function_concurrency=args.function_concurrency) as stack:  # stops its processes by PID on exit
        result = measure(stack, args.pushes, args.apps, timeout=args.timeout,
                         workers=args.workers, command=command)
        result["logs"] = str(stack.run_dir)
    text = json.dumps(result, indent=2, default=str)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
