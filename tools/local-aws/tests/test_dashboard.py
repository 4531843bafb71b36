"""The template's CloudWatch dashboard is created locally from template.yaml (PutDashboard), every
reference in its body resolved: the release metrics the record function prints (namespace
Stevedore), every function's errors and every failure queue."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import boto3
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import bootstrap  # noqa: E402
from cfn_template import BootstrapError, load_template  # noqa: E402

REPO = HERE.parents[2]
TEMPLATE = REPO / "template.yaml"
# crates/core/src/metrics.rs, `names`.
RELEASE_METRICS = ["Releases", "ReleaseDuration", "LeadTime", "LockWait", "RenderDuration",
                   "MigrationDuration", "RolloutDuration"]


@pytest.fixture()
def session():
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                         region_name="us-east-1")


def test_the_dashboard_graphs_release_metrics_function_errors_and_failure_queues(emulator, session):
    res = bootstrap.bootstrap(session, emulator.url, TEMPLATE, stack="dash")
    template = load_template(TEMPLATE)
    assert template["Outputs"]["DashboardName"]["Value"] == {"Ref": "StevedoreDashboard"}
    assert res.dashboards == {"StevedoreDashboard": "dash-releases"}
    cloudwatch = session.client("cloudwatch", endpoint_url=emulator.url)
    body = cloudwatch.get_dashboard(DashboardName="dash-releases")["DashboardBody"]
    assert "${" not in body
    widgets = json.loads(body)["widgets"]
    expressions = " ".join(m[0]["expression"] for w in widgets
                           for m in w["properties"]["metrics"] if isinstance(m[0], dict))
    searched = set(re.findall(r'MetricName="(\w+)"', expressions))
    assert searched == set(RELEASE_METRICS)
    assert all(s.startswith("{Stevedore,App,Stage") for s in re.findall(r"SEARCH\('([^']*)'", expressions))
    plain = [m for w in widgets for m in w["properties"]["metrics"] if isinstance(m[0], str)]
    errors = {m[3] for m in plain if m[:3] == ["AWS/Lambda", "Errors", "FunctionName"]}
    assert errors == set(res.functions.values())
    queues = {m[3] for m in plain if m[:2] == ["AWS/SQS", "ApproximateNumberOfMessagesVisible"]}
    assert queues == set(res.queues.values())


def test_a_dashboard_body_that_is_not_a_widget_list_fails_loudly(emulator, session, tmp_path):
    text = TEMPLATE.read_text()
    assert '{"widgets": [' in text
    (tmp_path / "template.yaml").write_text(text.replace('{"widgets": [', '{"widget": [', 1))
    (tmp_path / "statemachines").symlink_to(REPO / "statemachines")
    with pytest.raises(BootstrapError, match="StevedoreDashboard.*widgets"):
        bootstrap.bootstrap(session, emulator.url, tmp_path / "template.yaml", stack="dashbad")
