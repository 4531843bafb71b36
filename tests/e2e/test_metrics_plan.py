"""The operator CLI's `plan` (render's dry run: diffs and problems, nothing registered) and
`metrics` (the DORA measures of a release history seeded straight into the table)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest

from e2e_helpers import ci_tag, finished_release
from example_app import seed_app
from ulid_util import ulid_at

PLAN_TAG = "plan-candidate"  # matches no stage's tag rule: pushing it starts no release


def _revisions(stack, family: str) -> list[str]:
    return stack.client("ecs").list_task_definitions(familyPrefix=family)["taskDefinitionArns"]


def _plan(stack, app, *args: str):
    return stack.stevedore("plan", app.name, "staging", "--tag", PLAN_TAG, *args, check=False)


def _pushed(stack, app) -> str:
    return stack.push_image(app.repository, PLAN_TAG, layer_seed=f"{app.name}-plan")


@pytest.fixture(scope="module")
def good(stack):
    app = seed_app(stack, "plan-good")
    return app, _pushed(stack, app)


def test_a_plan_shows_the_image_change_and_registers_nothing(stack, good):
    app, digest = good
    before = _revisions(stack, app.family)
    result = _plan(stack, app, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    plan = json.loads(result.stdout)
    assert plan["would_fail"] is False and plan["problems"] == []
    assert plan["image"]["digest"] == digest
    [service] = plan["task_definitions"]
    assert service["name"] == app.services["staging"] and service["changed"]
    new_image = f"{stack.registry()}/{app.repository}@{digest}"
    old_image = f"{stack.registry()}/{app.repository}:bootstrap"
    assert f'-      "image": "{old_image}",' in service["diff"].splitlines(), service["diff"]
    assert f'+      "image": "{new_image}",' in service["diff"].splitlines(), service["diff"]
    # Secrets as ARNs, never values; the would-be request carries the stage's environment.
    [web] = [c for c in service["task_definition"]["containerDefinitions"] if c["name"] == "web"]
    assert all(s["valueFrom"].startswith("arn:aws:") for s in web["secrets"]), web["secrets"]
    assert {"name": "APP_ENV", "value": "staging"} in web["environment"]
    assert plan["migration"] and "`web`" in plan["migration"]
    text = _plan(stack, app)
    assert text.returncode == 0, text.stdout + text.stderr
    assert f"service {app.services['staging']}: {app.family}:1 -> new revision of {app.family}" \
        in text.stdout, text.stdout
    assert f'+      "image": "{new_image}",' in text.stdout
    assert "ok: render would register 1 revision(s); nothing was registered" in text.stdout
    assert "\x1b[" not in text.stdout  # no colour off a terminal
    assert _revisions(stack, app.family) == before
    assert stack.releases(app.name, "staging") == []


def test_a_plan_reports_every_problem_render_would_fail_on(stack):
    app = seed_app(stack, "plan-bad", missing_secrets={"GHOST": "staging/plan-bad/ghost"},
                   app_overrides={"containers": ["web", "api"], "migration": None})
    _pushed(stack, app)
    before = _revisions(stack, app.family)
    result = _plan(stack, app, "--json")
    assert result.returncode == 2, result.stdout + result.stderr
    plan = json.loads(result.stdout)
    assert plan["would_fail"] is True
    problems = {p["error_type"]: p["message"] for p in plan["problems"]}
    assert set(problems) == {"SecretNotFound", "ContainerNotFound"}, plan["problems"]
    assert "staging/plan-bad/ghost" in problems["SecretNotFound"]
    assert "`api`" in problems["ContainerNotFound"]
    # The container it does have still shows its change.
    [service] = plan["task_definitions"]
    assert "+      \"image\"" in service["diff"]
    text = _plan(stack, app)
    assert text.returncode == 2
    assert "fail: render would fail on 2 problem(s); nothing was registered" in text.stdout
    assert _revisions(stack, app.family) == before
    # Render itself fails on the first of them.
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="plan-bad-release")
    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", release
    assert plan["problems"][0]["message"] in release["reason"], release["reason"]


def test_a_multi_service_plan_shows_a_diff_per_service(stack):
    app = seed_app(stack, "plan-multi", multi_service=True)
    digest = _pushed(stack, app)
    families = (app.family, app.worker_family)
    before = {family: _revisions(stack, family) for family in families}
    result = _plan(stack, app, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    plan = json.loads(result.stdout)
    by_service = {p["name"]: p for p in plan["task_definitions"]}
    assert set(by_service) == set(app.stage_services["staging"])
    new_image = f"{stack.registry()}/{app.repository}@{digest}"
    for web_or_worker, family in zip(app.stage_services["staging"], families):
        assert by_service[web_or_worker]["family"] == family
        assert f'+      "image": "{new_image}",' in by_service[web_or_worker]["diff"]
    [schedule] = plan["schedules"]
    assert schedule["new_revision_of"] == app.worker_family
    assert {family: _revisions(stack, family) for family in families} == before


# ---------------------------------------------------------------- metrics

MINUTE, HOUR, DAY = 60, 3600, 86_400
METRICS_APP = "dora-app"
METRICS_CONFIG = f"""apps:
  {METRICS_APP}:
    repository: {METRICS_APP}
    stages:
      staging:
        cluster: demo
        service: {METRICS_APP}-staging
        tags: ["develop-*"]
      production:
        cluster: demo
        service: {METRICS_APP}-production
        tags: ["v*"]
        promote_from: [staging]
"""


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _put(stack, ids, name, stage, at, status, ended, *, trigger="push", source=None,
         deployed=True):
    """A release item as the functions write it: id time `at`, ended `status` at `ended`."""
    ids[name] = release_id = ulid_at(at * 1000)
    digest = f"sha256:{name:0>64}"
    item = {
        "PK": f"APP#{METRICS_APP}#STAGE#{stage}", "SK": f"REL#{release_id}",
        "GSI1PK": f"DIGEST#{digest}", "GSI1SK": f"APP#{METRICS_APP}#STAGE#{stage}#REL#{release_id}",
        "release_id": release_id, "app": METRICS_APP, "stage": stage, "repository": METRICS_APP,
        "digest": digest, "tag": name, "image_uri": f"uri@{digest}", "trigger": trigger,
        "status": status, "created_at": _iso(at), "pending_at": _iso(at),
        "finished_at": _iso(ended),
    }
    if source:
        item["source_release_id"] = ids[source]
    if deployed:
        item["deploy_started_at"] = _iso(at + MINUTE)
    stack.table.put_item(Item=item)


@pytest.fixture(scope="module")
def history(stack, tmp_path_factory):
    return seed_history(stack, tmp_path_factory.mktemp("dora"))


def seed_history(stack, directory) -> dict[str, str]:
    """A history of releases ending up to 20 days back (B): the answers are worked out by
    hand below. Returns release name -> id."""
    config = directory / "stevedore.yaml"
    config.write_text(METRICS_CONFIG)
    stack.stevedore("config", "apply", str(config))
    b = int(time.time()) - 20 * DAY
    ids: dict[str, str] = {}
    # Long before the window (and before what is read by stage): production's p1 promotes it.
    _put(stack, ids, "s-old", "staging", b - 50 * DAY, "SUCCEEDED", b - 50 * DAY + 10 * MINUTE)
    _put(stack, ids, "s1", "staging", b, "SUCCEEDED", b + 20 * MINUTE)
    _put(stack, ids, "s2", "staging", b + DAY, "FAILED", b + DAY + 2 * MINUTE, deployed=False)
    _put(stack, ids, "s3", "staging", b + 2 * DAY, "ROLLED_BACK", b + 2 * DAY + 15 * MINUTE)
    _put(stack, ids, "s4", "staging", b + 3 * DAY, "SUCCEEDED", b + 3 * DAY + 40 * MINUTE)
    _put(stack, ids, "p1", "production", b + 5 * DAY, "SUCCEEDED", b + 5 * DAY + 10 * MINUTE,
         trigger="promote", source="s-old")
    _put(stack, ids, "p2", "production", b + 6 * DAY, "FAILED", b + 6 * DAY + 30 * MINUTE,
         trigger="promote", source="s4")
    return ids


# staging: s1 and s4 succeeded (lead 20 min, 40 min); s2 failed before deploying (no change);
# s3 rolled back at 2d 15m and s4 succeeded at 3d 40m: restored in 1 d 25 min.
# The seeded releases carry no rollout prediction nor measured ECS rollout.
NO_ROLLOUTS = {"rollouts_measured": 0, "ecs_rollout_p50_seconds": None,
               "predicted_rollout_p50_seconds": None, "measured_to_predicted_p50": None}
STAGING = {
    "app": METRICS_APP, "stage": "staging", "window_days": 30.0,
    "deployments": 2, "deployments_per_day": 2 / 30,
    "lead_time_samples": 2, "lead_time_p50_seconds": 20 * MINUTE,
    "lead_time_p90_seconds": 40 * MINUTE,
    "changes": 3, "failed_changes": 1, "change_failure_rate": 1 / 3,
    "restores": 1, "time_to_restore_p50_seconds": DAY + 25 * MINUTE, "unrestored": 0,
    **NO_ROLLOUTS,
}
# production: p1 promoted s-old (pushed 55 d 10 min before p1 ended); p2 failed and nothing
# restored it yet.
PRODUCTION = {
    "app": METRICS_APP, "stage": "production", "window_days": 30.0,
    "deployments": 1, "deployments_per_day": 1 / 30,
    "lead_time_samples": 1, "lead_time_p50_seconds": 55 * DAY + 10 * MINUTE,
    "lead_time_p90_seconds": 55 * DAY + 10 * MINUTE,
    "changes": 2, "failed_changes": 1, "change_failure_rate": 0.5,
    "restores": 0, "time_to_restore_p50_seconds": None, "unrestored": 1,
    **NO_ROLLOUTS,
}


def test_metrics_json_gives_the_dora_measures_of_the_history(stack, history):
    result = stack.stevedore("metrics", METRICS_APP, "--since", "30d", "--json")
    rows = {row["stage"]: row for row in json.loads(result.stdout)}
    assert rows == {"staging": STAGING, "production": PRODUCTION}
    only = json.loads(stack.stevedore("metrics", METRICS_APP, "--stage", "production",
                                      "--json").stdout)
    assert only == [PRODUCTION]


def test_metrics_table(stack, history):
    text = stack.stevedore("metrics", METRICS_APP).stdout
    rows = [[cell.strip() for cell in line.strip("│").split("┆")]
            for line in text.splitlines() if line.startswith("│")]
    assert rows[0] == ["APP", "STAGE", "DEPLOYS", "PER DAY", "LEAD TIME P50", "LEAD TIME P90",
                       "CHANGE FAILURE", "TIME TO RESTORE", "ECS ROLLOUT P50 VS PREDICTED"]
    assert sorted(rows[1:]) == sorted([
        [METRICS_APP, "production", "1", "0.03", "55d 10m", "55d 10m", "50.0% (1/2)", "- (1 open)",
         "-"],
        [METRICS_APP, "staging", "2", "0.07", "20m", "40m", "33.3% (1/3)", "1d 25m", "-"],
    ]), text
