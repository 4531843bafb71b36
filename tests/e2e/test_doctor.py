"""`stevedore doctor`: ECS's own rollout time predicted from each service's live settings
(target groups, task definition, deployment configuration), named part by part with the
changes that would shorten it; the same prediction stored on each release beside the rollout
ECS then measured (`stevedore history`).

Two apps, set up through the AWS APIs as a team would have them:
- slow: 2 tasks, minimumHealthyPercent 50 / maximumPercent 100 (two waves), no circuit
  breaker, a target group with ELB's defaults (deregistration delay 300 s, 5 × 30 s health
  checks) and a container health check;
- fast: a web service behind a target group with 5 s deregistration and 2 × 5 s checks and
  stopTimeout 5 s, beside a worker with no load balancer (ECS's 40 s wait), rolled out in
  parallel.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest

from e2e_helpers import ci_tag, finished_release, time_scale
from example_app import ensure_network, seed_app

SLOW, FAST = "doctor-slow", "doctor-fast"


def _target_group(stack, name: str, **settings: Any) -> str:
    """A target group in the stack's network; `settings`: CreateTargetGroup health check
    arguments and `delay` (deregistration_delay.timeout_seconds) when not ELB's default."""
    subnets, _ = ensure_network(stack)
    vpc = stack.client("ec2").describe_subnets(SubnetIds=subnets[:1])["Subnets"][0]["VpcId"]
    delay = settings.pop("delay", None)
    elb = stack.client("elbv2")
    arn = elb.create_target_group(Name=name, Protocol="HTTP", Port=8080, VpcId=vpc,
                                  TargetType="ip", **settings)["TargetGroups"][0]["TargetGroupArn"]
    if delay is not None:
        elb.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": str(delay)}])
    return arn


def _web_behind(arn: str) -> dict[str, Any]:
    return {"loadBalancers": [{"targetGroupArn": arn, "containerName": "web", "containerPort": 8080}]}


def _retune_task_definition(stack, cluster: str, service: str, **per_container: Any) -> str:
    """A new revision of the service's task definition with `per_container` set on every
    container (and `web_health_check` on web), the service pointed at it."""
    ecs = stack.client("ecs")
    current = ecs.describe_services(cluster=cluster, services=[service])["services"][0]["taskDefinition"]
    td = ecs.describe_task_definition(taskDefinition=current)["taskDefinition"]
    web_check = per_container.pop("web_health_check", None)
    containers = copy.deepcopy(td["containerDefinitions"])
    for container in containers:
        container.update(per_container)
        if web_check and container["name"] == "web":
            container["healthCheck"] = web_check
    keep = ("family", "networkMode", "requiresCompatibilities", "cpu", "memory",
            "executionRoleArn", "taskRoleArn")
    arn = ecs.register_task_definition(
        **{k: td[k] for k in keep if k in td}, containerDefinitions=containers,
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster=cluster, service=service, taskDefinition=arn)
    return arn


def _settled(stack, cluster: str, services: list[str], timeout: float = 60) -> None:
    """Waits until each service's only deployment is COMPLETED (the retune above rolled out)."""
    ecs = stack.client("ecs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = ecs.describe_services(cluster=cluster, services=services)["services"]
        if all(len(s["deployments"]) == 1 and s["deployments"][0].get("rolloutState") == "COMPLETED"
               for s in described):
            return
        time.sleep(0.5)
    raise AssertionError(f"{services} did not settle: {described}")


@pytest.fixture(scope="module")
def slow(stack):
    group = _target_group(stack, "doctor-slow-tg")
    app = seed_app(stack, SLOW, circuit_breaker=False, service_overrides={
        **_web_behind(group),
        "deploymentConfiguration": {"maximumPercent": 100, "minimumHealthyPercent": 50,
                                    "deploymentCircuitBreaker": {"enable": False, "rollback": False}}})
    _retune_task_definition(stack, app.stage("staging")["cluster"], app.services["staging"],
                            web_health_check={"command": ["CMD-SHELL", "true"], "interval": 30})
    return app


@pytest.fixture(scope="module")
def fast(stack):
    group = _target_group(stack, "doctor-fast-tg", delay=5, HealthCheckIntervalSeconds=5,
                          HealthCheckTimeoutSeconds=2, HealthyThresholdCount=2)
    app = seed_app(stack, FAST, multi_service=True)
    ecs = stack.client("ecs")
    staging = app.stage("staging")
    web, worker = app.stage_services["staging"]
    # The web service moves behind the fast target group (UpdateService takes loadBalancers).
    ecs.update_service(cluster=staging["cluster"], service=web, **_web_behind(group))
    for service in (web, worker):
        _retune_task_definition(stack, staging["cluster"], service, stopTimeout=5)
    _settled(stack, staging["cluster"], [web, worker])
    return app


def _doctor(stack, *args: str) -> dict[str, Any]:
    result = stack.stevedore("doctor", *args, "--json")
    return json.loads(result.stdout)


def _service(report: dict[str, Any], stage: str, service: str) -> dict[str, Any]:
    [found] = [s for st in report["stages"] if st["stage"] == stage
               for s in st["services"] if s["service"] == service]
    return found


def test_slow_settings_are_named_part_by_part_with_what_would_shorten_them(stack, slow):
    report = _doctor(stack, SLOW)
    assert {s["stage"] for s in report["stages"]} == set(slow.config["stages"]), "every stage"
    web = _service(report, "staging", slow.services["staging"])
    assert web["error"] is None, web
    estimate = web["estimate"]
    # Two waves (50 % of 2 tasks may stop, no room above 100 %), each: stop (300 s delay +
    # 30 s stopTimeout, the default) then start (30 s, assumed) + 5 × 30 s health checks.
    assert estimate["waves"] == 2
    assert estimate["seconds"] == 2 * (300 + 30 + 30 + 150)
    parts = {p["kind"]: p for p in estimate["parts"]}
    assert parts["deregistration_delay"]["seconds"] == 600
    assert parts["target_group_health_checks"]["seconds"] == 300
    assert parts["task_start"]["assumed"] and parts["stop_timeout"]["assumed"]
    assert "deregistration_delay" not in {k for k, p in parts.items() if p.get("assumed")}
    changes = [a["change"] for a in web["advice"]]
    assert changes[0] == "deregistration delay 300 s → 30 s", changes
    assert "maximum percent 100 → 200 (one wave)" in changes
    assert "target group health checks 5 × 30 s → 2 × 10 s" in changes
    assert any("circuit breaker is off" in w for w in web["warnings"]), web["warnings"]

    text = stack.stevedore("doctor", SLOW, "staging").stdout
    assert f"{SLOW} / staging: ≈ 17 min" in text, text
    assert "10 min deregistration delay (2 × 5 min)" in text
    assert "30 s task start (assumed)" in text or "1 min task start (2 × 30 s, assumed)" in text
    assert "deregistration delay 300 s → 30 s: saves ~9 min (4 min 30 s per wave)" in text
    assert "only for services whose requests end within 30 s" in text
    assert "/ production" not in text, "STAGE limits it to one stage"


def test_fast_settings_leave_nothing_to_shorten_and_services_roll_in_parallel(stack, fast):
    report = _doctor(stack, FAST, "staging")
    [stage] = report["stages"]
    web_name, worker_name = fast.stage_services["staging"]
    web, worker = _service(report, "staging", web_name), _service(report, "staging", worker_name)
    # web: 30 s start + 2 × 5 s checks, then 5 s delay + 5 s stopTimeout.
    assert web["estimate"]["seconds"] == 30 + 10 + 5 + 5
    assert web["advice"] == [], web["advice"]
    # worker: no load balancer, no health check: ECS's documented 40 s wait.
    worker_parts = {p["kind"]: p["seconds"] for p in worker["estimate"]["parts"]}
    assert worker_parts["unchecked_task_wait"] == 40
    assert worker["estimate"]["seconds"] == 30 + 40 + 5
    assert stage["rollout_order"] == "parallel"
    assert stage["predicted_seconds"] == max(web["estimate"]["seconds"], worker["estimate"]["seconds"])
    text = stack.stevedore("doctor", FAST, "staging").stdout
    assert "(2 services in parallel: the longest decides): ≈ 1 min 15 s" in text, text
    assert "to shorten it" not in text.split(f"  {worker_name}")[0], text


def test_each_release_stores_the_prediction_and_the_measured_rollout(stack, fast):
    predicted = _doctor(stack, FAST, "staging")["stages"][0]["predicted_seconds"]
    digest = stack.push_image(fast.repository, ci_tag(), layer_seed=f"{FAST}-release")
    release = finished_release(stack, fast, digest)
    assert release["status"] == "SUCCEEDED", release
    assert int(release["predicted_rollout_seconds"]) == predicted
    assert {p["kind"] for p in release["predicted_rollout_parts"]} >= {"task_start", "unchecked_task_wait"}
    # Measured once the release SUCCEEDED (deploy's last step): wait for it.
    deadline = time.monotonic() + 30
    while "measured_rollout_seconds" not in release and time.monotonic() < deadline:
        time.sleep(0.5)
        [release] = [r for r in stack.releases(FAST, "staging") if r.get("digest") == digest]
    assert float(release["measured_rollout_seconds"]) > 0, release
    history = stack.stevedore("history", FAST, "--stage", "staging").stdout
    assert "  rollout " in history and f"(predicted {predicted // 60}m{predicted % 60:02d}s)" in history, history


# ------------------------------------------------- the prediction against the emulator
# The emulator rolls services out by the same timing model, each modelled second lasting
# the time scale's share of a real one (`POST ecs/time-scale`); ECS's own measured rollout
# recorded on the release must be the prediction x that scale, within 20 %.

@pytest.fixture(scope="module")
def blue_green(stack):
    return seed_app(stack, "doctor-bg", blue_green_stages={"staging"},
                    staging_overrides={"strategy": "blue_green", "bake_minutes": 1})


def _measured(stack, app, digest: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        [release] = [r for r in stack.releases(app.name, "staging") if r.get("digest") == digest]
        if "measured_rollout_seconds" in release:
            return release
        time.sleep(0.5)
    raise AssertionError(f"no measured rollout on {release}")


@pytest.mark.parametrize("which, scale", [("slow", 0.01), ("fast", 0.04), ("blue_green", 0.01)])
def test_the_emulated_rollout_takes_the_predicted_time(stack, request, which, scale):
    app = request.getfixturevalue(which)
    predicted = _doctor(stack, app.name, "staging")["stages"][0]["predicted_seconds"]
    with time_scale(stack, scale):
        digest = stack.push_image(app.repository, ci_tag(), layer_seed=f"{app.name}-timed")
        release = finished_release(stack, app, digest)
        assert release["status"] == "SUCCEEDED", release
    release = _measured(stack, app, digest)
    assert int(release["predicted_rollout_seconds"]) == predicted
    expected = predicted * scale
    measured = float(release["measured_rollout_seconds"])
    assert abs(measured - expected) <= 0.2 * expected, (which, measured, expected, predicted)
