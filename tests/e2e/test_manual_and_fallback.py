"""Releases that do not come from a push event, and deployments whose ECS event never comes."""

from __future__ import annotations

import json

from e2e_helpers import TERMINAL, ci_tag, ecs_calls
from example_app import service_task_definition
from ulid_util import new_ulid



def test_hand_started_release_deploys_the_given_digest(stack, seed):
    """Promotion by hand (README): an execution of the deploy state machine with the staging
    release's digest, started from the console, deploys production and is recorded."""
    app = seed("by-hand")
    digest = stack.push_image(app.repository, "rc-1", layer_seed="by-hand-1")  # no rule matches `rc-*`
    release_id = new_ulid()
    release_input = {
        "release_id": release_id, "app": app.name, "stage": "production",
        "repository": app.repository, "digest": digest, "tag": "v1.0.0",
        "image_uri": f"{stack.registry()}/{app.repository}@{digest}", "trigger": "promote",
    }
    stack.client("stepfunctions").start_execution(
        stateMachineArn=stack.deploy_state_machine_arn, name=release_id, input=json.dumps(release_input))

    release = stack.wait_for_release(app.name, "production",
                                     lambda r: r.get("status") in TERMINAL, timeout=240)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    assert release["SK"] == f"REL#{release_id}"
    assert release["trigger"] == "promote"
    assert release["digest"] == digest
    taskdef = stack.client("ecs").describe_task_definition(
        taskDefinition=release["task_definition_arn"])["taskDefinition"]
    web = next(c for c in taskdef["containerDefinitions"] if c["name"] == "web")
    assert web["image"].endswith(f"@{digest}")
    env = {e["name"]: e["value"] for e in web["environment"]}
    assert env["APP_ENV"] == "production"  # production's own settings, not staging's
    secrets = {s["name"]: s["valueFrom"] for s in web["secrets"]}
    assert f":secret:production/{app.name}/db-" in secrets["DATABASE_PASSWORD"]
    assert service_task_definition(stack, app, "production") == release["task_definition_arn"]
    assert service_task_definition(stack, app, "staging") == app.task_definition_arn


def test_missing_ecs_event_is_settled_by_the_fallback_check(stack, seed):
    """ECS completes the deployment but no event arrives: after deploy_timeout_seconds the
    state machine asks ECS once, which says COMPLETED."""
    app = seed("silent", migration=False, staging_overrides={"deploy_timeout_seconds": 30})
    digest = stack.push_image(app.repository, "candidate", layer_seed="silent-1")
    stack.control("ecs/deployment-fate", {"digest": digest, "fate": "silent"})
    stack.push_image(app.repository, ci_tag(), layer_seed="silent-1")

    release = stack.wait_for_release(
        app.name, "staging", lambda r: r.get("digest") == digest and r.get("status") in TERMINAL, timeout=240)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    events = [e for e in stack.control("events") if e.get("source") == "aws.ecs"
              and e["detail"].get("deploymentId") == release["deployment_id"]]
    assert events == [], "the simulator should not have sent an event for a silent rollout"
    assert len(ecs_calls(stack, "UpdateService", service=app.services["staging"])) == 1
    assert service_task_definition(stack, app, "staging") == release["task_definition_arn"]
    assert not (stack.head(app.name, "staging") or {}).get("lock_holder")
