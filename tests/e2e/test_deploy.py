"""Push an image, watch Stevedore deploy it. Every assertion reads real state: the emulated
ECS / ECR / Secrets Manager, the emulator's record of ECS calls, the release table."""

from __future__ import annotations

import json
import time

from boto3.dynamodb.conditions import Key
from e2e_helpers import ci_tag, ecs_calls, family_of, phase_timestamps
from example_app import EXAMPLE_TASKDEF, service_task_definition

SETTLE_SECONDS = 3  # after a barrier release appears, let any stray on-push finish


def brief(release):
    """What a failed assertion shows: status and reason first, the whole item after."""
    return f"{release.get('status')}: {release.get('reason')}\n{release}"


def task_definition(stack, arn):
    return stack.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]


def container(taskdef, name):
    return next(c for c in taskdef["containerDefinitions"] if c["name"] == name)


def releases_of_digest(stack, digest):
    return stack.table.query(IndexName="ByDigest",
                             KeyConditionExpression=Key("GSI1PK").eq(f"DIGEST#{digest}"))["Items"]


def all_releases(stack, app):
    return [r for stage in app.services for r in stack.releases(app.name, stage)]


def release_id(release):
    return release["SK"].split("#", 1)[1]


def wait_for_status(stack, app, stage, digest, timeout=240):
    return stack.wait_for_release(
        app.name, stage,
        lambda r: r.get("digest") == digest and r.get("status") in
        {"SUCCEEDED", "FAILED", "ROLLED_BACK", "SUPERSEDED"}, timeout=timeout)


def push_events(stack, digest, tag, timeout=10):
    """The `ECR Image Action` events the emulator emitted for this push (emitted just after
    put_image returns, so poll briefly)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in stack.control("events")
                 if e.get("source") == "aws.ecr" and e["detail"].get("image-digest") == digest
                 and e["detail"].get("image-tag") == tag]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def assert_lock_released(stack, app, stage):
    head = stack.head(app.name, stage) or {}
    assert not head.get("lock_holder"), f"stage lock still held: {head}"


def test_push_deploys_to_staging(stack, seed):
    app = seed("ok-push")
    tag = ci_tag()
    pushed_at = time.time()
    digest = stack.push_image(app.repository, tag, layer_seed="ok-push-1")

    release = wait_for_status(stack, app, "staging", digest)
    assert release["status"] == "SUCCEEDED", brief(release)

    # The registered task definition pins the image by digest and references secrets by ARN.
    new_td = release["task_definition_arn"]
    assert new_td != app.task_definition_arn
    taskdef = task_definition(stack, new_td)
    web = container(taskdef, "web")
    assert web["image"] == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{app.repository}@{digest}"
    example = json.loads(EXAMPLE_TASKDEF.read_text())
    sidecar = container(example, "log-router")
    assert container(taskdef, "log-router")["image"] == sidecar["image"]
    assert taskdef["executionRoleArn"] == example["executionRoleArn"]
    env = {e["name"]: e["value"] for e in web.get("environment", [])}
    assert env["PORT"] == "8080"  # kept from the service's task definition
    assert env["APP_ENV"] == "staging"  # added from the stage's config
    value_from = {s["name"]: s["valueFrom"] for s in web.get("secrets", [])}
    db_arn = app.secrets[f"staging/{app.name}/db"]
    assert db_arn.startswith(f"arn:aws:secretsmanager:us-east-1:123456789012:secret:staging/{app.name}/db-")
    assert value_from["DATABASE_PASSWORD"] == f"{db_arn}:password::"
    assert value_from["API_KEY"] == app.secrets[f"staging/{app.name}/api-key"]

    # The migration ran, from the new task definition with the configured command, before
    # the service was updated.
    runs = [c for c in ecs_calls(stack, "RunTask") if c.get("at", 0) >= pushed_at
            and family_of(c.get("taskDefinition", "")) == app.family]
    assert len(runs) == 1, runs
    overrides = runs[0]["overrides"]["containerOverrides"]
    assert [o["command"] for o in overrides if o["name"] == "web"] == [["bin/migrate", "up"]]
    assert family_of(runs[0]["taskDefinition"]) == app.family
    updates = ecs_calls(stack, "UpdateService", service=app.services["staging"])
    assert len(updates) == 1, updates
    assert runs[0]["at"] < updates[0]["at"]
    assert family_of(updates[0]["taskDefinition"]) == app.family

    # HEAD points at the release, the lock is free, the service runs the new revision.
    head = stack.head(app.name, "staging")
    assert head["current_release"] == release_id(release)
    assert head.get("current_task_definition_arn") == new_td
    assert_lock_released(stack, app, "staging")
    assert service_task_definition(stack, app, "staging") == new_td
    assert service_task_definition(stack, app, "production") == app.task_definition_arn

    # A timestamp per phase, in the order the phases ran (RFC 3339 UTC text sorts by time).
    phases = phase_timestamps(release)
    order = ["created_at", "lock_acquired_at", "rendered_at", "migrated_at",
             "deploy_started_at", "finished_at"]
    assert [p for p in order if p in phases] == order, f"missing phase timestamps: {phases}"
    assert [phases[p] for p in order] == sorted(phases[p] for p in order), phases


def test_tag_matching_no_rule_deploys_nothing(stack, seed):
    app = seed("no-match")
    ignored = stack.push_image(app.repository, "feature-login-1a2b3c4", layer_seed="no-match-1")
    # Barrier: a matching push to the same repository proves on-push handles this app, so
    # "nothing happened" above is not just "on-push is broken".
    barrier = stack.push_image(app.repository, ci_tag("main"), layer_seed="no-match-2")
    wait_for_status(stack, app, "staging", barrier)
    time.sleep(SETTLE_SECONDS)

    assert releases_of_digest(stack, ignored) == []
    assert {r["digest"] for r in all_releases(stack, app)} == {barrier}
    executions = stack.executions(app.name)
    assert [e["input"]["digest"] for e in executions] == [barrier]


def test_failed_migration_stops_the_release(stack, seed):
    app = seed("mig-fail")
    stack.control("ecs/task-fate", {"family": app.family, "exit_code": 3})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="mig-fail-1")

    release = wait_for_status(stack, app, "staging", digest)
    assert release["status"] == "FAILED", brief(release)
    assert "exit code 3" in release.get("reason", ""), release
    runs = [c for c in ecs_calls(stack, "RunTask") if family_of(c.get("taskDefinition", "")) == app.family]
    assert len(runs) == 1, "the migration should have been started once"
    assert ecs_calls(stack, "UpdateService", service=app.services["staging"]) == []
    assert service_task_definition(stack, app, "staging") == app.task_definition_arn
    assert_lock_released(stack, app, "staging")


def test_missing_secret_fails_at_render(stack, seed):
    missing = "staging/no-secret/payments"
    app = seed("no-secret", missing_secrets={"PAYMENT_TOKEN": missing})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="no-secret-1")

    release = wait_for_status(stack, app, "staging", digest)
    assert release["status"] == "FAILED", brief(release)
    assert missing in release.get("reason", ""), release
    # Nothing was touched: no migration, no new revision, no service update.
    assert [c for c in ecs_calls(stack, "RunTask")
            if family_of(c.get("taskDefinition", "")) == app.family] == []
    assert ecs_calls(stack, "UpdateService", service=app.services["staging"]) == []
    revisions = stack.client("ecs").list_task_definitions(familyPrefix=app.family)["taskDefinitionArns"]
    assert revisions == [app.task_definition_arn]
    assert service_task_definition(stack, app, "staging") == app.task_definition_arn
    assert_lock_released(stack, app, "staging")


def test_unhealthy_deployment_is_rolled_back(stack, seed):
    app = seed("unhealthy")
    # Learn the digest first (a tag no rule matches), doom it, then push it for real.
    digest = stack.push_image(app.repository, "candidate", layer_seed="unhealthy-1")
    stack.control("ecs/deployment-fate", {"digest": digest, "fate": "unhealthy"})
    stack.push_image(app.repository, ci_tag(), layer_seed="unhealthy-1")

    statuses: list[str] = []

    def terminal(release):
        if release.get("digest") != digest:
            return False
        statuses.append(release.get("status"))
        return release.get("status") in {"SUCCEEDED", "FAILED", "ROLLED_BACK", "SUPERSEDED"}

    release = stack.wait_for_release(app.name, "staging", terminal, timeout=240)
    assert release["status"] == "ROLLED_BACK", brief(release)
    time.sleep(SETTLE_SECONDS)  # a late, wrong SUCCEEDED would show up here
    final = next(r for r in stack.releases(app.name, "staging") if r["digest"] == digest)
    assert final["status"] == "ROLLED_BACK", brief(final)
    assert "SUCCEEDED" not in statuses
    assert_lock_released(stack, app, "staging")
    assert (stack.head(app.name, "staging") or {}).get("current_release") != release_id(release)
    assert service_task_definition(stack, app, "staging") == app.task_definition_arn


def test_duplicate_event_starts_one_release(stack, seed):
    app = seed("dup-event")
    tag = ci_tag()
    digest = stack.push_image(app.repository, tag, layer_seed="dup-event-1")
    pushes = push_events(stack, digest, tag)
    assert len(pushes) == 1, pushes
    # Once while the first delivery is being handled, once after the release ended.
    stack.control("events/redeliver", pushes[0])
    wait_for_status(stack, app, "staging", digest)
    stack.control("events/redeliver", pushes[0])
    barrier = stack.push_image(app.repository, ci_tag(), layer_seed="dup-event-2")
    stack.wait_for_release(app.name, "staging", lambda r: r.get("digest") == barrier)
    time.sleep(SETTLE_SECONDS)

    delivered = [e for e in stack.control("events") if e["id"] == pushes[0]["id"]]
    assert len(delivered) == 3, "the emulator did not redeliver the event"
    assert len(releases_of_digest(stack, digest)) == 1
    assert len([r for r in all_releases(stack, app) if r["digest"] == digest]) == 1
    assert len([e for e in stack.executions(app.name) if e["input"].get("digest") == digest]) == 1
    wait_for_status(stack, app, "staging", barrier)  # leave nothing running behind


def test_parameter_store_secrets_resolve_to_parameter_arns(stack, seed):
    app = seed("pstore-params", migration=False,
               staging_overrides={"secrets": {"DATABASE_URL": "ssm:/pstore-params/staging/db-url"}})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="pstore-params-1")
    release = wait_for_status(stack, app, "staging", digest)
    assert release["status"] == "SUCCEEDED", brief(release)
    web = container(task_definition(stack, release["task_definition_arn"]), "web")
    value_from = {s["name"]: s["valueFrom"] for s in web.get("secrets", [])}
    assert value_from["DATABASE_URL"] == \
        "arn:aws:ssm:us-east-1:123456789012:parameter/pstore-params/staging/db-url"


def test_missing_parameter_fails_at_render_naming_it(stack, seed):
    app = seed("pstore-missing", migration=False,
               missing_secrets={"DATABASE_URL": "ssm:/pstore-missing/staging/nope"})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="pstore-missing-1")
    release = wait_for_status(stack, app, "staging", digest)
    assert release["status"] == "FAILED", brief(release)
    assert "parameter `/pstore-missing/staging/nope` (for DATABASE_URL)" in release["reason"], release["reason"]
    assert ecs_calls(stack, "UpdateService", service=app.services["staging"]) == []
    assert_lock_released(stack, app, "staging")
