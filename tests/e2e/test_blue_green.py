"""`strategy: blue_green`: ECS's native blue/green, with Stevedore's lifecycle hook running the
stage's smoke test through the test listener before production traffic moves. A healthy green
ends SUCCEEDED with the checks on the release; a green answering 500 is rolled back by ECS
and the release ends ROLLED_BACK with the smoke test's reason."""

from __future__ import annotations

from e2e_helpers import assert_service_untouched, ci_tag, ecs_calls, finished_release
from example_app import service_task_definition

ATTEMPTS = 3


def seed_blue_green(stack, seed, name, **smoke):
    listener = stack.control("ecs/test-listener")["url"]
    test_url = f"{listener}/demo/{name}-staging/healthz"
    overrides = {
        "strategy": "blue_green",
        "bake_minutes": 1,
        "deploy_timeout_seconds": 300,
        "smoke_test": {"test_url": test_url, "attempts": ATTEMPTS, "interval_seconds": 1, **smoke},
    }
    app = seed(name, staging_overrides=overrides, blue_green_stages={"staging"})
    return app, test_url



def describe(stack, app):
    return stack.client("ecs").describe_services(
        cluster=app.cluster, services=[app.services["staging"]])["services"][0]


def hook_calls(stack, app, stage="POST_TEST_TRAFFIC_SHIFT"):
    calls = stack.control(f"ecs/hook-invocations?service={app.services['staging']}")
    return [c for c in calls if c["stage"] == stage and not c["rollback"]]


def test_healthy_green_succeeds_with_the_smoke_checks_recorded(stack, seed):
    app, test_url = seed_blue_green(stack, seed, "bg-ok")
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="bg-ok-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    assert release["strategy"] == "blue_green"
    assert release["smoke_test_status"] == "SUCCEEDED"
    assert f"GET {test_url} answered 200 on attempt 1 of {ATTEMPTS}" in release["smoke_test_reason"]
    [check] = release["smoke_checks"]
    assert check["passed"] is True and check["status"] == 200 and check["url"] == test_url

    service = describe(stack, app)
    assert service["taskDefinition"] == release["task_definition_arn"]
    config = service["deploymentConfiguration"]
    assert config["strategy"] == "BLUE_GREEN" and config["bakeTimeInMinutes"] == 1
    assert config["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}, "the owners' settings stay"
    [hook] = config["lifecycleHooks"]
    functions = stack.resources.functions
    assert hook["hookTargetArn"].endswith(f":function:{functions['DeploymentHookFunction']}")
    assert hook["roleArn"].endswith(":role/stevedore-DeploymentHookInvokeRole")
    assert hook["lifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"]
    expected_lb = app.blue_green["staging"]["load_balancer"]
    assert service["loadBalancers"] == [expected_lb], "advancedConfiguration is kept as it is"
    [update] = ecs_calls(stack, "UpdateService", service=app.services["staging"])
    assert "loadBalancers" not in update, "deploy does not touch the load balancers"

    [call] = hook_calls(stack, app)
    assert call["hook_status"] == "SUCCEEDED"
    assert call["payload"]["hookDetails"]["release_id"] == release["release_id"]
    requests = stack.control(f"ecs/test-listener/requests?service={app.services['staging']}")
    assert [r["status"] for r in requests] == [200]
    assert requests[0]["task_definition"] == release["task_definition_arn"], "the smoke test hit green"
    [rollout] = [d for d in stack.control("ecs/deployments") if d["deployment_id"] == release["deployment_id"]]
    assert rollout["outcome"] == "completed" and rollout["bake_time_in_minutes"] == 1


def test_green_answering_500_is_rolled_back_with_the_smoke_test_reason(stack, seed):
    app, test_url = seed_blue_green(stack, seed, "bg-500")
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="bg-500-1")
    stack.control("ecs/test-listener", {"digest": digest, "status": 500})

    release = finished_release(stack, app, digest)
    assert release["status"] == "ROLLED_BACK", f"{release.get('status')}: {release.get('reason')}"
    expected = f"smoke test failed: GET {test_url} answered 500, expected 200, on all {ATTEMPTS} attempts"
    assert release["reason"].startswith(expected), release["reason"]
    assert "lifecycle hook" in release["reason"], "ECS's own reason follows"
    assert release["smoke_test_status"] == "FAILED"
    checks = release["smoke_checks"]
    assert [c["attempt"] for c in checks] == list(range(1, ATTEMPTS + 1))
    assert all(c["status"] == 500 and c["passed"] is False for c in checks)

    assert [c["hook_status"] for c in hook_calls(stack, app)] == ["IN_PROGRESS"] * (ATTEMPTS - 1) + ["FAILED"]
    assert service_task_definition(stack, app, "staging") == app.task_definition_arn, "blue serves again"
    assert not (stack.head(app.name, "staging") or {}).get("lock_holder")
    [rollout] = [d for d in stack.control("ecs/deployments") if d["deployment_id"] == release["deployment_id"]]
    assert rollout["outcome"] == "rolled_back" and rollout["failed_stage"] == "POST_TEST_TRAFFIC_SHIFT"
    # A rolled-back release is not a rollback target, and the stage's HEAD did not move.
    assert (stack.head(app.name, "staging") or {}).get("current_release") != release["release_id"]


def test_blue_green_on_a_service_without_an_advanced_load_balancer_fails_naming_it(stack, seed):
    listener = stack.control("ecs/test-listener")["url"]
    app = seed("bg-nolb", staging_overrides={
        "strategy": "blue_green", "deploy_timeout_seconds": 300,
        "smoke_test": {"test_url": f"{listener}/demo/bg-nolb-staging/healthz"}})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="bg-nolb-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    assert "`bg-nolb-staging` has no load balancer with an `advancedConfiguration`" in release["reason"]
    assert_service_untouched(stack, app)
