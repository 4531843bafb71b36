"""The failure catalogue: what a deployer's users hit, each ending in a terminal release
record whose reason names what to fix, the stage lock released and the service left on a
good task definition — or, where no release should start, no execution and a log line.
(Migration failures, missing secrets, circuit-breaker rollbacks, a missing ECS event and
duplicate events have their own tests in test_deploy.py, test_migration_failures.py and
test_manual_and_fallback.py; lock conflicts in test_concurrency.py.)"""

from __future__ import annotations

import copy
import json
import subprocess
import time

import yaml

from e2e_helpers import TERMINAL, ci_tag, ecs_calls
from example_app import service_task_definition
from stack import target_dir

SETTLE_SECONDS = 4


def finished(stack, app, digest, stage="staging", timeout=240):
    return stack.wait_for_release(
        app.name, stage, lambda r: r.get("digest") == digest and r.get("status") in TERMINAL, timeout=timeout)


def story(release):
    return f"{release.get('status')}: {release.get('reason')}"


def assert_left_alone(stack, app, stage="staging"):
    """The stage lock is free and the service still runs the seed's task definition."""
    head = stack.head(app.name, stage) or {}
    assert not head.get("lock_holder"), head
    assert service_task_definition(stack, app, stage) == app.task_definition_arn


def push_event(stack, app, tag):
    """A real push of `app`'s repository, and the ECR event it produced (to alter and redeliver)."""
    digest = stack.push_image(app.repository, tag, layer_seed=f"{app.name}-{tag}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for event in stack.control("events"):
            if event.get("source") == "aws.ecr" and event["detail"].get("image-tag") == tag:
                return digest, event
        time.sleep(0.1)
    raise AssertionError(f"no ECR event for {tag}")


def assert_nothing_started(stack, app, digest, log_text):
    time.sleep(SETTLE_SECONDS)
    assert [r for r in stack.releases(app.name, "staging") if r["digest"] == digest] == []
    assert [e for e in stack.executions(app.name) if e["input"].get("digest") == digest] == []
    assert log_text in stack.lambda_log.read_text(errors="replace"), f"no log line with {log_text!r}"


def test_events_that_start_nothing(stack, seed):
    app = seed("cat-ignore", migration=False)
    # An untagged push (by digest only).
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                      "size": 7, "digest": "sha256:" + "1" * 64}, "layers": []})
    untagged = stack.client("ecr").put_image(repositoryName=app.repository, imageManifest=manifest)
    assert_nothing_started(stack, app, untagged["image"]["imageId"]["imageDigest"], "untagged")

    # The same push as if from another account or region where no stage of this app lives
    # (the app's stages name no `account`/`region`): handed to on-push directly, as a
    # forwarding rule would.
    digest, event = push_event(stack, app, "nomatch-1")  # no rule matches: the original starts nothing
    for change, log_text in (
            ({"account": "999999999999"}, "push in account 999999999999 region us-east-1: no matching stage lives there"),
            ({"region": "eu-west-1"}, "push in account 123456789012 region eu-west-1: no matching stage lives there")):
        altered = dict(copy.deepcopy(event), **change)
        altered["detail"]["image-tag"] = ci_tag()
        answer = stack.client("lambda").invoke(FunctionName="on-push", Payload=json.dumps(altered).encode())
        assert "FunctionError" not in answer
        assert log_text in json.loads(answer["Payload"].read())["ignored"]
        assert_nothing_started(stack, app, digest, log_text)
    malformed = copy.deepcopy(event)
    malformed["detail"] = {"action-type": "PUSH", "result": "SUCCESS", "image-digest": digest}
    stack.control("events/redeliver", malformed)
    assert_nothing_started(stack, app, digest, "not an ECR Image Action event")

    # A non-PUSH action never reaches on-push (the rule filters it), and starts nothing.
    deleted = copy.deepcopy(event)
    deleted["detail"].update({"action-type": "DELETE", "image-tag": ci_tag()})
    stack.control("events/redeliver", deleted)
    time.sleep(SETTLE_SECONDS)
    assert [r for r in stack.releases(app.name, "staging") if r["digest"] == digest] == []


def test_repository_no_app_uses_starts_nothing(stack, seed):
    app = seed("cat-norepo", migration=False)
    stack.client("ecr").create_repository(repositoryName="orphan-images")
    digest = stack.push_image("orphan-images", ci_tag(), layer_seed="orphan-1")
    assert_nothing_started(stack, app, digest, "repository `orphan-images` is not configured")


def test_invalid_config_is_refused_with_line_and_field(stack, tmp_path):
    bad = tmp_path / "stevedore.yaml"
    bad.write_text("apps:\n  cat-badcfg:\n    repository: cat-badcfg\n    stages:\n      staging:\n"
                   "        cluster: demo\n        service: web\n        tags: [\"develop-*\"]\n"
                   "        deploy_timeout_seconds: soon\n")
    result = stack.stevedore("config", "apply", str(bad), check=False)
    assert result.returncode != 0
    message = result.stderr + result.stdout
    assert "stevedore.yaml:9" in message and "deploy_timeout_seconds" in message, message
    assert stack.table.get_item(Key={"PK": "APP#cat-badcfg", "SK": "CONFIG"}).get("Item") is None


def test_container_missing_from_the_task_definition(stack, seed):
    app = seed("cat-nocontainer", app_overrides={"containers": ["api"], "migration": None})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="cat-nocontainer-1")
    release = finished(stack, app, digest)
    assert release["status"] == "FAILED", story(release)
    assert "`api`" in release["reason"] and "web" in release["reason"], release["reason"]
    assert ecs_calls(stack, "RegisterTaskDefinition", family=app.family)[1:] == []
    assert_left_alone(stack, app)


def test_secret_arn_from_another_region(stack, seed):
    remote = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:staging/remote/token-AbCdEf"
    app = seed("cat-region", migration=False, missing_secrets={"REMOTE_TOKEN": remote})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="cat-region-1")
    release = finished(stack, app, digest)
    assert release["status"] == "FAILED", story(release)
    assert "eu-west-1" in release["reason"] and "REMOTE_TOKEN" in release["reason"], release["reason"]
    assert_left_alone(stack, app)


def test_service_missing_or_inactive(stack, seed):
    app = seed("cat-nosvc", migration=False)
    config = stack.run_dir / "cat-nosvc-moved.yaml"
    moved = copy.deepcopy(app.config)
    moved["stages"]["staging"]["service"] = "cat-nosvc-gone"
    config.write_text(yaml.safe_dump({"apps": {app.name: moved}}))
    stack.stevedore("config", "apply", str(config))
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="cat-nosvc-1")
    release = finished(stack, app, digest)
    assert release["status"] == "FAILED", story(release)
    assert "`cat-nosvc-gone` not found in cluster `demo`" in release["reason"], release["reason"]

    inactive = seed("cat-inactive", migration=False)
    ecs = stack.client("ecs")
    ecs.update_service(cluster="demo", service=inactive.services["staging"], desiredCount=0)
    ecs.delete_service(cluster="demo", service=inactive.services["staging"])
    digest = stack.push_image(inactive.repository, ci_tag(), layer_seed="cat-inactive-1")
    release = finished(stack, inactive, digest)
    assert release["status"] == "FAILED", story(release)
    assert inactive.services["staging"] in release["reason"], release["reason"]
    assert not (stack.head(inactive.name, "staging") or {}).get("lock_holder")


def test_rejected_task_definition_carries_ecs_message(stack, seed):
    app = seed("cat-rejected", migration=False)
    message = "Invalid 'cpu' setting for task. For more information, see the Troubleshooting section."
    stack.control("faults", {"service": "ecs", "operation": "RegisterTaskDefinition",
                             "match": {"family": app.family}, "times": 1,
                             "error": {"code": "ClientException", "message": message}})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="cat-rejected-1")
    release = finished(stack, app, digest)
    assert release["status"] == "FAILED", story(release)
    assert message in release["reason"], release["reason"]
    assert_left_alone(stack, app)


def test_throttled_update_service_is_retried(stack, seed):
    app = seed("cat-throttle", migration=False)
    fault = stack.control("faults", {"service": "ecs", "operation": "UpdateService",
                                     "match": {"service": app.services["staging"]}, "times": 4,
                                     "error": {"code": "ThrottlingException", "message": "Rate exceeded"}})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="cat-throttle-1")
    release = finished(stack, app, digest)
    assert release["status"] == "SUCCEEDED", story(release)
    fired = next(f for f in stack.control("faults") if f["id"] == fault["id"])["fired"]
    assert fired == 4, "UpdateService was not throttled (and retried) as armed"
    assert service_task_definition(stack, app, "staging") == release["task_definition_arn"]


def test_failed_deployment_without_circuit_breaker_is_restored(stack, seed):
    app = seed("cat-nobreaker", migration=False, circuit_breaker=False,
               staging_overrides={"deploy_timeout_seconds": 30})
    digest = stack.push_image(app.repository, "candidate", layer_seed="cat-nobreaker-1")
    stack.control("ecs/deployment-fate", {"digest": digest, "fate": "unhealthy"})
    stack.push_image(app.repository, ci_tag(), layer_seed="cat-nobreaker-1")
    release = finished(stack, app, digest)
    assert release["status"] == "ROLLED_BACK", story(release)
    assert "restored the previous task definition" in release["reason"], release["reason"]
    assert release.get("restore_deployment_id")
    assert_left_alone(stack, app)


def test_someone_else_updating_the_service_mid_deploy(stack, seed):
    app = seed("cat-meddler", migration=False)
    digest = stack.push_image(app.repository, "candidate", layer_seed="cat-meddler-1")
    stack.control("ecs/deployment-fate", {"digest": digest, "fate": "slow"})
    stack.push_image(app.repository, ci_tag(), layer_seed="cat-meddler-1")
    stack.wait_for_release(app.name, "staging", lambda r: r.get("digest") == digest and r.get("deployment_id"))
    time.sleep(1)  # the deployment's token is parked just after UpdateService returns
    ecs = stack.client("ecs")
    theirs = ecs.register_task_definition(**{k: v for k, v in ecs.describe_task_definition(
        taskDefinition=app.task_definition_arn)["taskDefinition"].items() if k in (
        "family", "containerDefinitions", "networkMode", "requiresCompatibilities", "cpu", "memory",
        "executionRoleArn")})["taskDefinition"]["taskDefinitionArn"]
    ecs.update_service(cluster="demo", service=app.services["staging"], taskDefinition=theirs)

    release = finished(stack, app, digest)
    assert release["status"] == "FAILED", story(release)
    assert "someone else updated the service" in release["reason"], release["reason"]
    assert not (stack.head(app.name, "staging") or {}).get("lock_holder")
    assert service_task_definition(stack, app, "staging") == theirs


def test_function_crash_mid_step_is_recorded(stack, seed):
    app = seed("cat-crash", migration=False)
    stack.control("faults", {"lambda": "deploy", "times": 1, "crash": "Runtime.ExitError"})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="cat-crash-1")
    release = finished(stack, app, digest)
    assert release["status"] == "FAILED", story(release)
    assert "Runtime.ExitError" in release["reason"] or "crashed" in release["reason"], release["reason"]
    assert ecs_calls(stack, "UpdateService", service=app.services["staging"]) == []
    assert_left_alone(stack, app)


def test_hand_started_release_of_an_unknown_app(stack):
    release_id = "01" + "K" * 24
    spec = {"release_id": release_id, "app": "cat-nobody", "stage": "staging", "repository": "cat-nobody",
            "digest": "sha256:" + "2" * 64, "tag": "v1", "image_uri": "x", "trigger": "promote"}
    stack.client("stepfunctions").start_execution(
        stateMachineArn=stack.deploy_state_machine_arn, name=release_id, input=json.dumps(spec))
    release = stack.wait_for_release("cat-nobody", "staging", lambda r: r.get("status") in TERMINAL, timeout=120)
    assert release["status"] == "FAILED", story(release)
    assert "app `cat-nobody` is not configured" in release["reason"], release["reason"]
    assert not (stack.head("cat-nobody", "staging") or {}).get("lock_holder")


def test_cli_reports_a_missing_table_clearly(stack):
    result = subprocess.run([str(target_dir() / "debug" / "stevedore"), "history", "backend"],
                            capture_output=True, text=True, check=False,
                            env={k: v for k, v in stack.env.items() if k != "STEVEDORE_TABLE"})
    assert result.returncode != 0
    assert "STEVEDORE_TABLE" in result.stderr, result.stderr
