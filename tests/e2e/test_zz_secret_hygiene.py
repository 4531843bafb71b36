"""Runs last (file name): no seeded secret value shows up anywhere the pipeline writes — the
function and emulator logs, any DynamoDB item, any execution's input / output / history, the
demo's output — and no function ever calls GetSecretValue (the deploy path passes secrets to
ECS by ARN; ECS resolves them), but notify, for the notification webhook secrets only."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from example_app import (EXAMPLE_APP, EXAMPLE_CONFIG, SECRET_MARKER, SEEDED_SECRET_VALUES,
                         planned_secrets, secret_strings)
from stack import REPO_ROOT

from test_zz_audit import FUNCTIONS, ran_with_the_suite

READ_OPERATIONS = ("secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue")
# The one reader of secret values: notify, of the webhook URLs (template parameter
# NotificationSecretNamePattern's default).
NOTIFY, NOTIFICATION_SECRETS = "notify", ":secret:stevedore/notifications/"
DEMO_TIMEOUT = 420


def hits(text: str, values: set[str]) -> list[str]:
    return sorted(v for v in values if v in text)


def scan_lines(where: str, text: str, values: set[str]) -> list[str]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        found = hits(line, values)
        if found:
            out.append(f"{where}:{n}: {found} in {line[:300]!r}")
    return out


def scan_files(directory: Path, values: set[str]) -> list[str]:
    out = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        out += scan_lines(str(path.name), path.read_text(errors="replace"), values)
    return out


@pytest.fixture(scope="module")
def seeded(request) -> set[str]:
    if not ran_with_the_suite(request):
        pytest.skip("run with the whole e2e suite: alone, nothing was seeded")
    values = set(SEEDED_SECRET_VALUES)
    assert values, "the suite seeded no secrets: nothing to look for"
    short = [v for v in values if len(v) < 16 or SECRET_MARKER not in v]
    assert not short, f"seeded secret values must be long and distinctive: {short}"
    return values


def test_no_secret_in_logs(stack, seeded):
    found = scan_files(stack.run_dir, seeded)  # cargo lambda watch log, emulator log, configs
    assert stack.lambda_log.stat().st_size > 0 and stack.emulator_log.exists()
    assert not found, "seeded secret values in the stack's logs:\n" + "\n".join(found)


def test_no_secret_in_any_dynamodb_item(stack, seeded):
    ddb = stack.client("dynamodb")
    found, items = [], 0
    for table in ddb.list_tables()["TableNames"]:
        for page in ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            for item in page["Items"]:
                items += 1
                text = json.dumps(item, default=str)
                if hits(text, seeded):
                    found.append(f"{table} {item.get('PK')} {item.get('SK')}: {hits(text, seeded)}")
    assert items > 0, "no DynamoDB items to scan"
    assert not found, "seeded secret values in DynamoDB items:\n" + "\n".join(found)


def test_no_secret_in_any_execution(stack, seeded):
    sfn = stack.client("stepfunctions")
    found, executions = [], 0
    for machine in sfn.list_state_machines()["stateMachines"]:
        pages = sfn.get_paginator("list_executions").paginate(
            stateMachineArn=machine["stateMachineArn"])
        for ex in (e for page in pages for e in page["executions"]):
            executions += 1
            arn = ex["executionArn"]
            described = sfn.describe_execution(executionArn=arn)
            texts = {"input": described.get("input") or "", "output": described.get("output") or ""}
            events = [e for page in sfn.get_paginator("get_execution_history").paginate(
                executionArn=arn) for e in page["events"]]
            texts["history"] = json.dumps(events, default=str)
            for part, text in texts.items():
                if hits(text, seeded):
                    found.append(f"{ex['name']} {part}: {hits(text, seeded)}")
    assert executions > 0, "no executions to scan"
    assert not found, "seeded secret values in executions:\n" + "\n".join(found)


def test_no_function_reads_a_secret_value(stack, seeded):
    counts = stack.control("requests/counts")
    for caller in (*FUNCTIONS, "states"):
        assert caller in counts, f"no request from {caller} was recorded"
    reads = {caller: {op: n for op, n in ops.items() if op in READ_OPERATIONS}
             for caller, ops in counts.items() if caller not in ("test", NOTIFY)}
    reads = {caller: ops for caller, ops in reads.items() if ops}
    assert not reads, f"secret values read by: {reads}"
    notify_reads = [check["resource"] for r in stack.control(f"requests?caller={NOTIFY}")
                    if f"{r['service']}:{r['operation']}" in READ_OPERATIONS
                    for check in (r.get("iam") or {}).get("checks") or [{"resource": "(unchecked)"}]]
    outside = [arn for arn in notify_reads if NOTIFICATION_SECRETS not in arn]
    assert not outside, f"notify read secrets other than the notification ones: {outside}"

    # The counting works: a deliberate read by the test itself is counted under `test`.
    before = counts.get("test", {}).get(READ_OPERATIONS[0], 0)
    secret = stack.client("secretsmanager").list_secrets()["SecretList"][0]["ARN"]
    stack.client("secretsmanager").get_secret_value(SecretId=secret)
    after = stack.control("requests/counts?caller=test")["test"].get(READ_OPERATIONS[0], 0)
    assert after == before + 1, f"GetSecretValue by the test counted {after - before} times"


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess:
    """`make demo`'s script, run once against its own stack after the suite's."""
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "demo.py"), "--no-build",
                           "--timeout", "240"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=DEMO_TIMEOUT)
    output = f"{proc.stdout}\n{proc.stderr}"
    assert proc.returncode == 0, f"demo failed ({proc.returncode}):\n{output[-4000:]}"
    return proc


def test_no_secret_in_the_demo_output(seeded, demo):
    config = yaml.safe_load(EXAMPLE_CONFIG.read_text())["apps"][EXAMPLE_APP]
    values = set().union(*(secret_strings(v) for v in planned_secrets(config).values()))
    found = scan_lines("demo stdout", demo.stdout, values) + scan_lines("demo stderr", demo.stderr, values)
    logs = re.findall(r"stack: stopped; logs in (\S+)", demo.stderr)
    assert logs, f"the demo did not say where its logs are:\n{demo.stderr[-2000:]}"
    found += scan_files(Path(logs[-1]), values)
    assert "SUCCEEDED" in demo.stdout
    assert not found, "seeded secret values in the demo's output or logs:\n" + "\n".join(found)


def test_the_demo_says_its_rollout_ran_scaled_against_the_aws_prediction(demo):
    # The history shows `rollout 0.5s (predicted 1m40s)`: without the scale that reads as a
    # prediction 200 times off.
    said = re.search(r"demo: the emulated ECS runs a rollout's waits at ([0-9.e-]+)x .*"
                     r"\((\d+) s, about ([0-9.]+) s here\)", demo.stdout)
    assert said, f"the demo did not explain the time scale:\n{demo.stdout[-2000:]}"
    scale, predicted, here = float(said[1]), int(said[2]), float(said[3])
    assert 0 < scale < 1 and predicted > 0
    assert "(predicted " in demo.stdout, "the history shows no prediction beside the rollout"
    assert abs(here - predicted * scale) < 0.1
