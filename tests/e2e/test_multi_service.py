"""One image, several services: the example app's web service and queue worker (its own task
definition family, no load balancer) and its nightly schedule, released together: one
migration first, then every service, then the schedule; all of them or none."""

from __future__ import annotations

import time
from datetime import datetime

import yaml

from e2e_helpers import TERMINAL, ci_tag, ecs_calls, family_of, finished_release, run_state_machine
from example_app import rule_task_definition, schedule_task_definition

STAGE = "staging"


def _at(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def _running(stack, app, service: str) -> str:
    return stack.client("ecs").describe_services(
        cluster=app.cluster, services=[service])["services"][0]["taskDefinition"]


def _updates(stack, service: str) -> list[dict]:
    return [u for u in ecs_calls(stack, "UpdateService", service=service) if u.get("taskDefinition")]


def _migrations(stack, app, since: float) -> list[dict]:
    families = {app.family, app.worker_family}
    return [c for c in ecs_calls(stack, "RunTask")
            if c.get("at", 0) >= since and family_of(c.get("taskDefinition", "")) in families]


def _seed(seed, name: str, **options):
    app = seed(name, multi_service=True, **options)
    web, worker = app.stage_services[STAGE]
    return app, web, worker


def _before(stack, app) -> dict[str, str]:
    """What each service and the schedule run before the release."""
    web, worker = app.stage_services[STAGE]
    return {"web": _running(stack, app, web), "worker": _running(stack, app, worker),
            "schedule": schedule_task_definition(stack, app.schedules[STAGE])}


def _assert_nothing_moved(stack, app, before: dict[str, str]) -> None:
    assert _before(stack, app) == before
    assert not (stack.head(app.name, STAGE) or {}).get("lock_holder")


def test_one_push_releases_web_worker_and_schedule_after_one_migration(stack, seed):
    app, web, worker = _seed(seed, "multi-ok")
    before = _before(stack, app)
    assert family_of(before["worker"]) == app.worker_family != app.family
    pushed_at = time.time()
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="multi-ok-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"

    # Both services run the release's digest, each from a new revision of its own family.
    services = {s["service"]: s for s in release["services"]}
    assert list(services) == [web, worker]
    for name, family in ((web, app.family), (worker, app.worker_family)):
        record = services[name]
        assert record["status"] == "COMPLETED", record
        assert family_of(record["task_definition_arn"]) == family
        assert record["previous_task_definition_arn"] == before["web" if name == web else "worker"]
        assert record["deployment_id"].startswith("ecs-svc/")
        assert record["started_at"] <= record["finished_at"]
        assert _running(stack, app, name) == record["task_definition_arn"]
        taskdef = stack.client("ecs").describe_task_definition(
            taskDefinition=record["task_definition_arn"])["taskDefinition"]
        images = [c["image"] for c in taskdef["containerDefinitions"] if app.repository in c["image"]]
        assert images and all(image.endswith(f"@{digest}") for image in images), images

    # The migration ran exactly once, and finished before either service was updated.
    runs = _migrations(stack, app, pushed_at)
    assert len(runs) == 1, runs
    updates = _updates(stack, web) + _updates(stack, worker)
    assert len(updates) == 2, updates
    assert _at(release["migrated_at"]) < min(u["at"] for u in updates)

    # The schedule now runs the worker's new revision; every other field of it is kept.
    [schedule] = release["schedules"]
    assert schedule["status"] == "POINTED"
    assert schedule["task_definition_arn"] == services[worker]["task_definition_arn"]
    assert schedule["previous_task_definition_arn"] == before["schedule"]
    assert schedule_task_definition(stack, app.schedules[STAGE]) == schedule["task_definition_arn"]
    got = stack.client("scheduler").get_schedule(Name=app.schedules[STAGE])
    assert got["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert got["Target"]["EcsParameters"]["LaunchType"] == "FARGATE"
    assert got["Target"]["Input"], "the schedule's command override is kept"
    assert not (stack.head(app.name, STAGE) or {}).get("lock_holder")


def test_a_failed_migration_changes_no_service_and_no_schedule(stack, seed):
    app, web, worker = _seed(seed, "multi-mig")
    before = _before(stack, app)
    stack.control("ecs/task-fate", {"family": app.family, "exit_code": 1})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="multi-mig-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    assert "exit code 1" in release["reason"], release["reason"]
    assert _updates(stack, web) == [] and _updates(stack, worker) == []
    assert [s["status"] for s in release["services"]] == ["PENDING", "PENDING"]
    _assert_nothing_moved(stack, app, before)


def test_an_unhealthy_worker_puts_the_web_service_back(stack, seed):
    app, web, worker = _seed(seed, "multi-bad")
    before = _before(stack, app)
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="multi-bad-1")
    stack.control("ecs/deployment-fate", {"digest": digest, "family": app.worker_family,
                                          "fate": "unhealthy"})

    release = finished_release(stack, app, digest)
    assert release["status"] == "ROLLED_BACK", f"{release.get('status')}: {release.get('reason')}"
    assert f"service `{worker}`" in release["reason"], release["reason"]
    services = {s["service"]: s for s in release["services"]}
    # ECS's circuit breaker rolled the worker back; Stevedore put the web service back.
    assert services[worker]["status"] == "ROLLED_BACK", services[worker]
    assert services[web]["status"] == "RESTORED", (release["reason"], release["services"])
    assert services[web]["restore_deployment_id"].startswith("ecs-svc/")
    assert [u["taskDefinition"] for u in _updates(stack, web)][-1] == before["web"]
    assert len(_updates(stack, worker)) == 1, "the worker was rolled back by ECS, not a second time"
    _assert_nothing_moved(stack, app, before)


def test_sequential_rollout_starts_each_service_after_the_one_before_completed(stack, seed):
    app, web, worker = _seed(seed, "multi-seq", staging_overrides={"rollout": "sequential"})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="multi-seq-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    first, second = release["services"]
    assert (first["service"], second["service"]) == (web, worker)
    assert first["finished_at"] <= second["started_at"], release["services"]
    [web_update], [worker_update] = _updates(stack, web), _updates(stack, worker)
    assert web_update["at"] < worker_update["at"]


def test_a_missing_schedule_fails_before_anything_changes(stack, seed):
    app, web, worker = _seed(seed, "multi-nosched")
    before = _before(stack, app)
    stack.client("scheduler").delete_schedule(Name=app.schedules[STAGE])
    pushed_at = time.time()
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="multi-nosched-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    assert app.schedules[STAGE] in release["reason"], release["reason"]
    assert _updates(stack, web) == [] and _updates(stack, worker) == []
    assert _migrations(stack, app, pushed_at) == [], "render fails before the migration"
    assert _running(stack, app, web) == before["web"]
    assert _running(stack, app, worker) == before["worker"]


def test_rollback_and_promote_move_every_service(stack, seed):
    app, web, worker = _seed(seed, "multi-rb")
    first = stack.push_image(app.repository, ci_tag(), layer_seed="multi-rb-1")
    good = finished_release(stack, app, first)
    assert good["status"] == "SUCCEEDED", good.get("reason")
    second = stack.push_image(app.repository, ci_tag(), layer_seed="multi-rb-2")
    newer = finished_release(stack, app, second)
    assert newer["status"] == "SUCCEEDED", newer.get("reason")

    # Rollback: each service, and the schedule, back to what the release before ran.
    ended = run_state_machine(stack, "RollbackStateMachine", {"app": app.name, "stage": STAGE},
                              timeout=240)
    assert ended["status"] == "SUCCEEDED", ended
    rolled = stack.wait_for_release(app.name, STAGE, lambda r: r.get("trigger") == "rollback"
                                    and r.get("status") in ("SUCCEEDED", "FAILED", "ROLLED_BACK"),
                                    timeout=240)
    assert rolled["status"] == "SUCCEEDED", rolled.get("reason")
    wanted = {s["service"]: s["task_definition_arn"] for s in good["services"]}
    assert {s["service"]: s["task_definition_arn"] for s in rolled["services"]} == wanted
    for name, task_definition in wanted.items():
        assert _running(stack, app, name) == task_definition
    assert schedule_task_definition(stack, app.schedules[STAGE]) == wanted[worker]

    # Promote: production gets the digest staging runs, on both of its services.
    ended = run_state_machine(stack, "PromoteStateMachine",
                              {"app": app.name, "from": STAGE, "to": "production"}, timeout=240)
    assert ended["status"] == "SUCCEEDED", ended
    promoted = finished_release(stack, app, first, stage="production")
    assert promoted["status"] == "SUCCEEDED", promoted.get("reason")
    prod_web, prod_worker = app.stage_services["production"]
    assert [s["service"] for s in promoted["services"]] == [prod_web, prod_worker]
    assert all(s["status"] == "COMPLETED" for s in promoted["services"])
    assert schedule_task_definition(stack, app.schedules["production"]) == \
        promoted["services"][1]["task_definition_arn"]


def test_an_eventbridge_rules_ecs_target_moves_with_the_services(stack, seed):
    app, web, worker = _seed(seed, "multi-rule", staging_overrides={
        "schedules": [{"rule": "multi-rule-hourly-staging"}]})
    assert app.schedules[STAGE] == "multi-rule-hourly-staging"
    before = rule_task_definition(stack, app.schedules[STAGE])
    assert family_of(before) == app.worker_family
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="multi-rule-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    [rule] = release["schedules"]
    assert rule["target"] == {"kind": "rule", "name": "multi-rule-hourly-staging",
                              "event_bus": "default"}
    assert rule["previous_task_definition_arn"] == before
    assert rule_task_definition(stack, app.schedules[STAGE]) == release["services"][1]["task_definition_arn"]
    [target] = stack.client("events").list_targets_by_rule(Rule=app.schedules[STAGE])["Targets"]
    assert target["EcsParameters"]["LaunchType"] == "FARGATE", "the rest of the target is kept"
    assert target["RoleArn"].endswith(f"role/{app.name}-scheduler")


def _reapply(stack, app, services: list[dict]) -> None:
    """The team edits the stage's `services` and applies the file again."""
    app.config["stages"][STAGE]["services"] = services
    app.config_path.write_text(yaml.safe_dump({"apps": {app.name: app.config}}, sort_keys=False))
    stack.stevedore("config", "apply", str(app.config_path))


def test_a_missing_service_or_container_fails_render_naming_the_service(stack, seed):
    app, web, worker = _seed(seed, "multi-bad-cfg")
    before = _before(stack, app)
    entries = app.config["stages"][STAGE]["services"]

    _reapply(stack, app, entries + [{"service": "multi-bad-cfg-admin-staging", "containers": ["web"]}])
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="multi-bad-cfg-1")
    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    assert "multi-bad-cfg-admin-staging" in release["reason"], release["reason"]
    _assert_nothing_moved(stack, app, before)

    _reapply(stack, app, [entries[0], {**entries[1], "containers": ["no-such-container"]}])
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="multi-bad-cfg-2")
    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    assert f"service `{worker}`" in release["reason"] and "no-such-container" in release["reason"]
    assert _updates(stack, web) == [] and _updates(stack, worker) == []
    _assert_nothing_moved(stack, app, before)


def test_a_blue_green_web_service_failing_its_smoke_test_puts_the_worker_back(stack, seed):
    name = "multi-bg"
    listener = stack.control("ecs/test-listener")["url"]
    test_url = f"{listener}/demo/{name}-staging/healthz"
    config = {"services": [
        {"service": f"{name}-staging", "containers": ["web"], "strategy": "blue_green",
         "smoke_test": {"test_url": test_url, "attempts": 2, "interval_seconds": 1}},
        {"service": f"{name}-worker-staging", "containers": ["worker"]},
    ], "deploy_timeout_seconds": 300}
    app, web, worker = _seed(seed, name, staging_overrides=config, blue_green_stages={STAGE})
    before = _before(stack, app)
    digest = stack.push_image(app.repository, ci_tag(), layer_seed=f"{name}-1")
    stack.control("ecs/test-listener", {"digest": digest, "status": 500})

    release = finished_release(stack, app, digest)
    assert release["status"] == "ROLLED_BACK", f"{release.get('status')}: {release.get('reason')}"
    assert release["reason"].startswith(f"service `{web}`: smoke test failed: GET {test_url}"), \
        release["reason"]
    services = {s["service"]: s for s in release["services"]}
    assert services[web]["status"] == "ROLLED_BACK", "ECS's blue/green rollback"
    assert services[worker]["status"] == "RESTORED", services[worker]
    web_config = stack.client("ecs").describe_services(
        cluster=app.cluster, services=[web])["services"][0]["deploymentConfiguration"]
    worker_config = stack.client("ecs").describe_services(
        cluster=app.cluster, services=[worker])["services"][0]["deploymentConfiguration"]
    assert web_config["strategy"] == "BLUE_GREEN" and worker_config.get("strategy", "ROLLING") == "ROLLING"
    _assert_nothing_moved(stack, app, before)


def test_approval_is_asked_once_for_every_service_of_the_release(stack, seed):
    app, web, worker = _seed(seed, "multi-gate", staging_overrides={"approval": "required"})
    before = _before(stack, app)
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="multi-gate-1")
    waiting = stack.wait_for_release(app.name, STAGE, lambda r: r.get("digest") == digest
                                     and (r.get("approval_requested_at") or r.get("status") in TERMINAL))
    assert waiting.get("approval_requested_at"), waiting.get("reason")
    assert _updates(stack, web) == [] and _updates(stack, worker) == []
    assert _before(stack, app) == before, "waiting at the gate changes nothing"

    decided = run_state_machine(stack, "ApproveStateMachine",
                                {"app": app.name, "stage": STAGE, "decision": "approve", "by": "alice"})
    assert decided["status"] == "SUCCEEDED", decided
    release = finished_release(stack, app, digest)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    assert [s["status"] for s in release["services"]] == ["COMPLETED", "COMPLETED"]
    assert release["schedules"][0]["status"] == "POINTED"


def _add_report_schedule(stack, app) -> str:
    """A scheduled job with a task definition family of its own that no service runs: a copy
    of the worker's, and a schedule like the nightly one that runs it."""
    ecs, scheduler = stack.client("ecs"), stack.client("scheduler")
    worker = ecs.describe_task_definition(taskDefinition=app.worker_task_definition_arn)["taskDefinition"]
    keep = ("containerDefinitions", "networkMode", "requiresCompatibilities", "cpu", "memory",
            "executionRoleArn", "taskRoleArn")
    report = ecs.register_task_definition(family=f"{app.name}-report",
                                          **{k: worker[k] for k in keep if k in worker})
    nightly = scheduler.get_schedule(Name=app.schedules[STAGE])
    target = {**nightly["Target"], "EcsParameters": {
        **nightly["Target"]["EcsParameters"],
        "TaskDefinitionArn": report["taskDefinition"]["taskDefinitionArn"]}}
    name = f"{app.name}-report-{STAGE}"
    scheduler.create_schedule(Name=name, ScheduleExpression="cron(0 6 * * ? *)",
                              FlexibleTimeWindow={"Mode": "OFF"}, Target=target)
    app.config["stages"][STAGE]["schedules"].append({"schedule": name})
    _reapply(stack, app, app.config["stages"][STAGE]["services"])
    return name


def test_a_job_with_a_family_of_its_own_gets_a_new_revision_and_rolls_back(stack, seed):
    app, web, worker = _seed(seed, "multi-job")
    report = _add_report_schedule(stack, app)
    releases = []
    for attempt in (1, 2):
        digest = stack.push_image(app.repository, ci_tag(), layer_seed=f"multi-job-{attempt}")
        release = finished_release(stack, app, digest)
        assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
        releases.append(release)
        scheduled = schedule_task_definition(stack, report)
        assert family_of(scheduled) == f"{app.name}-report"
        taskdef = stack.client("ecs").describe_task_definition(taskDefinition=scheduled)["taskDefinition"]
        assert [c["image"] for c in taskdef["containerDefinitions"] if c["name"] == "worker"] == \
            [f"{stack.registry()}/{app.repository}@{digest}"]
        by_name = {s["target"]["name"]: s for s in release["schedules"]}
        assert by_name[report]["task_definition_arn"] == scheduled

    ended = run_state_machine(stack, "RollbackStateMachine", {"app": app.name, "stage": STAGE},
                              timeout=240)
    assert ended["status"] == "SUCCEEDED", ended
    rolled = stack.wait_for_release(app.name, STAGE, lambda r: r.get("trigger") == "rollback"
                                    and r.get("status") in TERMINAL, timeout=240)
    assert rolled["status"] == "SUCCEEDED", rolled.get("reason")
    first = {s["target"]["name"]: s["task_definition_arn"] for s in releases[0]["schedules"]}
    assert schedule_task_definition(stack, report) == first[report]
    assert schedule_task_definition(stack, app.schedules[STAGE]) == first[app.schedules[STAGE]]
