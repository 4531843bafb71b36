"""`strategy: linear` and `strategy: canary`: ECS's native deployments that move production
traffic in steps. Stevedore's lifecycle hook records each step on the release as it happens
(and, with `smoke_test.each_step`, runs the smoke test after each one); a smoke test failing
at a step makes ECS roll back, and the release ends ROLLED_BACK saying at which step.

The three releases run at once (one module-scoped fixture) to keep the file short."""

from __future__ import annotations

from typing import Any

import pytest
from e2e_helpers import ci_tag, finished_release
from example_app import seed_app, service_task_definition

PRODUCTION = "PRODUCTION_TRAFFIC_SHIFT"


def _smoke(stack, name: str) -> dict[str, Any]:
    listener = stack.control("ecs/test-listener")["url"]
    return {"test_url": f"{listener}/demo/{name}-staging/healthz", "attempts": 2,
            "interval_seconds": 1, "each_step": True}


STAGES = {
    # 34 % steps: 34, 68, 100, a minute (scaled) between them, the smoke test after each.
    "lin-ok": lambda stack: {"strategy": "linear", "linear": {"step_percent": 34, "step_minutes": 1},
                             "bake_minutes": 1, "smoke_test": _smoke(stack, "lin-ok")},
    # A 20 % canary, its bake, then the rest; no smoke test: the hook only records.
    "can-ok": lambda stack: {"strategy": "canary", "canary": {"percent": 20, "bake_minutes": 1}},
    # Green answers 500 once it carries half of production: the check after step 1 fails.
    "lin-fail": lambda stack: {"strategy": "linear",
                               "linear": {"step_percent": 50, "step_minutes": 0},
                               "smoke_test": _smoke(stack, "lin-fail")},
}


@pytest.fixture(scope="module")
def releases(stack):
    apps = {name: seed_app(stack, name, migration=False, blue_green_stages={"staging"},
                           staging_overrides={"deploy_timeout_seconds": 300, **make(stack)})
            for name, make in STAGES.items()}
    digests = {name: stack.push_image(app.repository, ci_tag(), layer_seed=f"{name}-1")
               for name, app in apps.items()}
    stack.control("ecs/test-listener", {"digest": digests["lin-fail"], "status": 500,
                                        "from_production_percent": 50})
    return {name: (app, finished_release(stack, app, digests[name]))
            for name, app in apps.items()}


def _steps(release: dict[str, Any]) -> list[float]:
    return [float(s["percent"]) for s in release.get("traffic_steps", [])
            if s["lifecycle_stage"] == PRODUCTION]


def _config(stack, app) -> dict[str, Any]:
    return stack.client("ecs").describe_services(
        cluster=app.cluster, services=[app.services["staging"]])["services"][0][
        "deploymentConfiguration"]


def _rollout(stack, release) -> dict[str, Any]:
    [rollout] = [d for d in stack.control("ecs/deployments")
                 if d["deployment_id"] == release["deployment_id"]]
    return rollout


def test_linear_succeeds_with_each_traffic_step_recorded_in_order(stack, releases):
    app, release = releases["lin-ok"]
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    assert release["strategy"] == "linear"
    assert _steps(release) == [34.0, 68.0, 100.0]
    start = release["traffic_steps"][0]
    assert start["lifecycle_stage"] == "PRE_SCALE_UP" and float(start["percent"]) == 0.0
    assert {s["revision"] for s in release["traffic_steps"]} == {start["revision"]}
    ats = [s["at"] for s in release["traffic_steps"]]
    assert ats == sorted(ats)
    assert _rollout(stack, release)["production_steps"] == [34.0, 68.0, 100.0], "as ECS shifted"
    # The smoke test at the test stage, then after each of the three steps.
    assert int(release["smoke_check_count"]) == 4
    assert all(c["passed"] for c in release["smoke_checks"])

    config = _config(stack, app)
    assert config["strategy"] == "LINEAR" and config["bakeTimeInMinutes"] == 1
    assert config["linearConfiguration"] == {"stepPercent": 34.0, "stepBakeTimeInMinutes": 1}
    [hook] = config["lifecycleHooks"]
    assert hook["lifecycleStages"] == ["PRE_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT", PRODUCTION]
    assert service_task_definition(stack, app, "staging") == release["task_definition_arn"]


def test_canary_succeeds_with_the_canary_then_the_rest(stack, releases):
    app, release = releases["can-ok"]
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    assert release["strategy"] == "canary"
    assert _steps(release) == [20.0, 100.0]
    assert not release.get("smoke_checks")
    config = _config(stack, app)
    assert config["strategy"] == "CANARY"
    assert config["canaryConfiguration"] == {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 1}
    assert "linearConfiguration" not in config
    [hook] = config["lifecycleHooks"]
    assert hook["lifecycleStages"] == ["PRE_SCALE_UP", PRODUCTION]


def test_a_smoke_test_failing_after_a_step_rolls_back_saying_at_which_step(stack, releases):
    app, release = releases["lin-fail"]
    assert release["status"] == "ROLLED_BACK", f"{release.get('status')}: {release.get('reason')}"
    assert release["reason"].startswith(
        "at 50 % of production traffic: smoke test failed: GET "), release["reason"]
    assert "answered 500, expected 200, on all 2 attempts" in release["reason"]
    # The step that failed is recorded; the rollback's hook invocations are not.
    assert _steps(release) == [50.0]
    checks = [(c["status"], c["passed"]) for c in release["smoke_checks"]]
    assert checks == [(200, True), (500, False), (500, False)]
    rollout = _rollout(stack, release)
    assert rollout["outcome"] == "rolled_back" and rollout["failed_stage"] == PRODUCTION
    calls = stack.control(f"ecs/hook-invocations?service={app.services['staging']}")
    rollback = [c for c in calls if c["rollback"] and c["stage"] == PRODUCTION]
    assert rollback and all(c["hook_status"] == "SUCCEEDED" for c in rollback)
    assert service_task_definition(stack, app, "staging") == app.task_definition_arn, "blue serves again"
    assert not (stack.head(app.name, "staging") or {}).get("lock_holder")
