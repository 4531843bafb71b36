"""Rollback: the rollback state machine puts an earlier SUCCEEDED release's task definition
back through the deploy state machine — same lock and records, no render, no migration."""

from __future__ import annotations

import json
import time

from e2e_helpers import TERMINAL, ci_tag, ecs_calls, family_of, run_state_machine
from example_app import service_task_definition



def deploy(stack, app, seed_name):
    digest = stack.push_image(app.repository, ci_tag(), layer_seed=seed_name)
    release = stack.wait_for_release(
        app.name, "staging", lambda r: r.get("digest") == digest and r.get("status") in TERMINAL)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    return release


def roll_back(stack, app, **extra):
    started_at = time.time()
    status = run_state_machine(stack, "RollbackStateMachine", {"app": app.name, "stage": "staging", **extra})
    return status, started_at


def test_rollback_restores_the_previous_release_without_migrating(stack, seed):
    app = seed("rb-previous")
    first = deploy(stack, app, "rb-previous-1")
    second = deploy(stack, app, "rb-previous-2")
    assert service_task_definition(stack, app, "staging") == second["task_definition_arn"]

    status, started_at = roll_back(stack, app)
    assert status["status"] == "SUCCEEDED", status
    started = json.loads(status["output"])["rollback"]
    assert started["source_release_id"] == first["SK"].split("#")[1]
    release = stack.wait_for_release(app.name, "staging", lambda r: r["SK"] == f"REL#{started['release_id']}"
                                     and r.get("status") in TERMINAL)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    assert release["trigger"] == "rollback" and release["digest"] == first["digest"]
    assert release["task_definition_arn"] == first["task_definition_arn"]
    assert service_task_definition(stack, app, "staging") == first["task_definition_arn"]
    assert stack.head(app.name, "staging")["current_release"] == started["release_id"]
    runs = [c for c in ecs_calls(stack, "RunTask") if c["at"] >= started_at and family_of(c.get("taskDefinition", "")) == app.family]
    assert runs == [], "a rollback must not run the migration"


def test_rollback_to_a_deregistered_task_definition_registers_it_again(stack, seed):
    app = seed("rb-deregistered", migration=False)
    first = deploy(stack, app, "rb-deregistered-1")
    deploy(stack, app, "rb-deregistered-2")
    ecs = stack.client("ecs")
    ecs.deregister_task_definition(taskDefinition=first["task_definition_arn"])

    status, _ = roll_back(stack, app, release=first["SK"].split("#")[1])
    assert status["status"] == "SUCCEEDED", status
    started = json.loads(status["output"])["rollback"]
    release = stack.wait_for_release(app.name, "staging", lambda r: r["SK"] == f"REL#{started['release_id']}"
                                     and r.get("status") in TERMINAL)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    again = release["task_definition_arn"]
    assert again != first["task_definition_arn"], "a deregistered revision cannot be deployed as is"
    images = lambda arn: [c["image"] for c in ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"]]  # noqa: E731
    assert images(again) == images(first["task_definition_arn"])
    assert service_task_definition(stack, app, "staging") == again


def test_rollback_to_a_release_that_did_not_succeed_is_refused(stack, seed):
    app = seed("rb-refused", migration=False)
    deploy(stack, app, "rb-refused-1")
    status, _ = roll_back(stack, app, release="01" + "Z" * 24)
    assert status["status"] == "FAILED", status
    assert status.get("error") == "RollbackRefused"
