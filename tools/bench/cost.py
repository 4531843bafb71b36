"""AWS cost of one release, from what the emulator counted while it ran, and the stack's idle
cost per month, from template.yaml.

Per release (the window from the push to the end of the release's trailing work):
- Step Functions: the execution's state transitions (its history's StateEntered events);
- Lambda: each invocation the emulator's Lambda bridge forwarded (GET
  /_stevedore/lambda/invocations: function, wall duration) x the function's MemorySize from
  template.yaml, at the Arm price (the template's Architectures), plus the request price.
  The bridge's duration is the round trip to the local runtime API, so it bounds the billed
  duration (handler time, rounded up to 1 ms) from above;
- DynamoDB: each request the functions and the state machine sent (the request audit,
  GET /_stevedore/requests?service=dynamodb), sized by dynamo_units;
- other API calls with a price of their own (PutEvents, Publish, ...; prices.PRICED_CALLS);
- CloudWatch Logs: the bytes the functions wrote while the release ran (what Lambda ships to
  CloudWatch Logs), and the EMF metrics among them: each distinct metric is billed for every
  hour it is sent in, so a release alone in its hour pays all of them.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import prices
from dynamo_units import Sizer, request_units
from stack import REPO_ROOT, LocalStack

import cfn_template

TEMPLATE = REPO_ROOT / "template.yaml"
AUDITED_KINDS = {"function", "states"}  # not the harness ("test") nor the emulator itself


def function_settings(template_path: Path = TEMPLATE) -> dict[str, dict[str, Any]]:
    """binary -> {"memory_mb", "arch"} for every function of the template."""
    template = cfn_template.load_template(template_path)
    defaults = (template.get("Globals") or {}).get("Function") or {}
    out = {}
    for lid, res in (template.get("Resources") or {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res.get("Properties") or {}
        binary = (((res.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")) or lid
        arch = (props.get("Architectures") or defaults.get("Architectures") or ["x86_64"])[0]
        out[binary] = {"logical_id": lid, "arch": arch,
                       "memory_mb": int(props.get("MemorySize") or defaults.get("MemorySize") or 128)}
    return out


def quiesce(stack: LocalStack, quiet: float = 1.0, timeout: float = 20.0) -> None:
    """Wait until earlier work is over: the record function's stream backlog handled and no
    new Lambda invocation for `quiet` seconds (so it does not land in the next window)."""
    stack.drain_streams("record")
    deadline = time.monotonic() + timeout
    count, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_count = len(stack.control("lambda/invocations"))
        if now_count != count:
            count, since = now_count, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)


class Window:
    """Marks the start of a release's window: waits for earlier work to end, clears the
    emulator's counters, notes the log size."""

    def __init__(self, stack: LocalStack):
        self.stack = stack
        quiesce(stack)
        stack.control("requests/clear", {})
        stack.control("lambda/invocations/clear", {})
        self.log_offset = stack.lambda_log.stat().st_size

    def log_lines(self) -> list[str]:
        with open(self.stack.lambda_log, "rb") as f:
            f.seek(self.log_offset)
            return f.read().decode(errors="replace").splitlines()


def emf_metrics(lines: list[str], release_id: str | None = None) -> set[tuple]:
    """Distinct (namespace, metric, dimension values) of the EMF lines among `lines` (of one
    release, when `release_id` is given)."""
    found = set()
    for line in lines:
        start = line.find('{"_aws"') if '"_aws"' in line else -1
        if start < 0:
            start = line.find("{")
        if start < 0 or '"CloudWatchMetrics"' not in line:
            continue
        try:
            doc = json.loads(line[start:])
        except ValueError:
            continue
        if release_id is not None and doc.get("ReleaseId") != release_id:
            continue
        for directive in doc.get("_aws", {}).get("CloudWatchMetrics", []):
            for dims in directive.get("Dimensions", []):
                values = tuple((d, str(doc.get(d))) for d in dims)
                for metric in directive.get("Metrics", []):
                    found.add((directive.get("Namespace"), metric["Name"], values))
    return found


def release_cost(stack: LocalStack, window: Window, transitions: int,
                 settings: dict[str, dict[str, Any]], release_id: str | None = None,
                 since: float | None = None) -> dict[str, Any]:
    """`release_id`: count only its EMF metrics; `since` (the push): the requests' timeline."""
    quiesce(stack)  # the release's trailing work (record, notify) belongs to it
    invocations = stack.control("lambda/invocations")
    requests = [r for r in stack.control("requests") if r.get("kind") in AUDITED_KINDS]
    lines = window.log_lines()

    lambda_by_fn: dict[str, dict[str, float]] = {}
    gb_seconds = 0.0
    for inv in invocations:
        fn = inv["function"]
        memory = settings.get(fn, {}).get("memory_mb", 128)
        billed_ms = math.ceil(inv["duration_ms"])
        entry = lambda_by_fn.setdefault(fn, {"invocations": 0, "ms": 0.0, "memory_mb": memory})
        entry["invocations"] += 1
        entry["ms"] += billed_ms
        gb_seconds += billed_ms / 1000 * memory / 1024
    arm = all(s["arch"] == "arm64" for s in settings.values())

    sizer = Sizer(stack.client("dynamodb"))
    read_units = write_units = 0.0
    ddb_ops: dict[str, int] = {}
    priced: dict[str, int] = {}
    free: dict[str, int] = {}
    by_caller: dict[str, dict[str, int]] = {}
    for req in requests:
        op = f"{req['service']}:{req['operation']}"
        calls = by_caller.setdefault(req["caller"], {})
        calls[op] = calls.get(op, 0) + 1
        if req["service"] == "dynamodb":
            ddb_ops[req["operation"]] = ddb_ops.get(req["operation"], 0) + 1
            r, w = request_units(sizer, req["operation"], req.get("params") or {})
            read_units += r
            write_units += w
        elif (req["service"], req["operation"]) in prices.PRICED_CALLS:
            priced[op] = priced.get(op, 0) + 1
        else:
            free[op] = free.get(op, 0) + 1

    log_bytes = sum(len(line.encode()) + 1 for line in lines)
    metrics = emf_metrics(lines, release_id)
    timeline = [{"t": round(r["time"] - since, 3), "caller": r["caller"],
                 "call": f"{r['service']}:{r['operation']}", "status": r.get("status")}
                for r in requests] if since is not None else []
    timeline += [{"t": round(i["started"] - since, 3), "caller": "lambda bridge",
                  "call": f"invoke {i['function']} ({i['duration_ms']:.0f} ms)", "status": i["status"]}
                 for i in invocations] if since is not None else []
    timeline.sort(key=lambda e: e["t"])
    usd = {
        "step_functions": transitions * prices.price("sfn_transition"),
        "lambda_compute": gb_seconds * prices.price("lambda_gb_second_arm"),
        "lambda_requests": len(invocations) * prices.price("lambda_request"),
        "dynamodb": write_units * prices.price("ddb_write_unit") + read_units * prices.price("ddb_read_unit"),
        "priced_api_calls": sum(n * prices.price(prices.PRICED_CALLS[tuple(op.split(":", 1))])
                                for op, n in priced.items()),
        "logs_ingested": log_bytes / 1e9 * prices.price("cw_logs_ingest_gb"),
    }
    marginal = sum(usd.values())
    metric_hours = len(metrics) * prices.price("cw_metric_month") / prices.HOURS_PER_MONTH
    return {
        "transitions": transitions,
        "lambda": {"invocations": len(invocations), "gb_seconds": gb_seconds,
                   "arm_price": arm, "by_function": lambda_by_fn},
        "dynamodb": {"operations": ddb_ops, "read_units": read_units, "write_units": write_units},
        "priced_calls": priced, "free_calls": free, "calls_by_caller": by_caller,
        "timeline": timeline,
        "log_bytes": log_bytes, "emf_metrics": len(metrics),
        "usd": usd, "usd_per_release": marginal,
        "usd_emf_metric_hours": metric_hours,
        "usd_per_release_alone_in_its_hour": marginal + metric_hours,
    }


def idle_month(settings: dict[str, dict[str, Any]], reconcile: dict[str, Any] | None,
               template_path: Path = TEMPLATE) -> dict[str, Any]:
    """What the stack costs a month with no release at all: resources billed by the month,
    and the scheduled reconcile (its measured cost x runs a month)."""
    template = cfn_template.load_template(template_path)
    resources = template.get("Resources") or {}
    kinds: dict[str, int] = {}
    for res in resources.values():
        kinds[res.get("Type", "?")] = kinds.get(res.get("Type", "?"), 0) + 1
    alarms = kinds.get("AWS::CloudWatch::Alarm", 0)
    dashboards = kinds.get("AWS::CloudWatch::Dashboard", 0)
    schedule = str(((template.get("Parameters") or {}).get("ReconcileSchedule") or {}).get("Default", ""))
    runs = _runs_per_month(schedule)
    lines = [
        {"item": f"{alarms} CloudWatch alarms (standard resolution)",
         "usd": alarms * prices.price("cw_alarm_month")},
        {"item": f"{dashboards} CloudWatch dashboard (free for an account's first 3 of <= 50 metrics)",
         "usd": dashboards * prices.price("cw_dashboard_month")},
    ]
    if reconcile is not None:
        lines.append({"item": f"scheduled reconcile, {schedule}: {runs} runs x "
                              f"${reconcile['usd_per_release']:.8f} (measured, {reconcile['apps']} apps)",
                      "usd": runs * reconcile["usd_per_release"]})
    free = sorted(k for k in kinds if k in (
        "AWS::DynamoDB::Table", "AWS::Serverless::Function", "AWS::Serverless::StateMachine",
        "AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::Lambda::EventSourceMapping",
        "AWS::Logs::LogGroup", "AWS::Events::EventBusPolicy", "AWS::IAM::Role", "AWS::SQS::QueuePolicy"))
    return {"lines": lines, "usd": sum(line["usd"] for line in lines), "schedule": schedule,
            "runs_per_month": runs, "resource_types": kinds, "no_idle_charge": free,
            "kms_keys": kinds.get("AWS::KMS::Key", 0)}


def _runs_per_month(schedule: str) -> int:
    """rate(N minutes|hours|days) -> runs in a 730-hour month."""
    text = schedule.strip()
    if not text.startswith("rate(") or not text.endswith(")"):
        return 0
    amount, unit = text[5:-1].split()
    minutes = int(amount) * {"minute": 1, "minutes": 1, "hour": 60, "hours": 60,
                             "day": 1440, "days": 1440}[unit]
    return prices.HOURS_PER_MONTH * 60 // minutes
