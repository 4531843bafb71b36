"""Promotion: the promote state machine deploys the exact digest a stage proved to another
stage, re-rendered with that stage's own secrets and settings, migration included."""

from __future__ import annotations

import json
import time

from e2e_helpers import TERMINAL, ci_tag, ecs_calls, family_of, run_state_machine
from example_app import service_task_definition



def promote(stack, body):
    return run_state_machine(stack, "PromoteStateMachine", body)


def test_promotion_deploys_the_proven_digest_with_the_target_stages_settings(stack, seed):
    app = seed("promo-ok")
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="promo-ok-1")
    staged = stack.wait_for_release(app.name, "staging", lambda r: r.get("digest") == digest and r.get("status") in TERMINAL)
    assert staged["status"] == "SUCCEEDED", staged.get("reason")
    started_at = time.time()

    status = promote(stack, {"app": app.name, "from": "staging", "to": "production"})
    assert status["status"] == "SUCCEEDED", status
    promotion = json.loads(status["output"])["promotion"]
    release = stack.wait_for_release(app.name, "production", lambda r: r["SK"] == f"REL#{promotion['release_id']}"
                                     and r.get("status") in TERMINAL)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    assert release["digest"] == digest and release["trigger"] == "promote"
    assert release["source_release_id"] == staged["SK"].split("#")[1]
    # The push time travels with the image: production's lead time runs from the push.
    assert staged["pushed_at"] and release["pushed_at"] == staged["pushed_at"]
    web = next(c for c in stack.client("ecs").describe_task_definition(
        taskDefinition=release["task_definition_arn"])["taskDefinition"]["containerDefinitions"] if c["name"] == "web")
    assert web["image"].endswith(f"@{digest}")
    assert {e["name"]: e["value"] for e in web["environment"]}["APP_ENV"] == "production"
    assert f":secret:production/{app.name}/db-" in {s["name"]: s["valueFrom"] for s in web["secrets"]}["DATABASE_PASSWORD"]
    runs = [c for c in ecs_calls(stack, "RunTask") if c["at"] >= started_at and family_of(c.get("taskDefinition", "")) == app.family]
    assert len(runs) == 1, "the promoted release runs its migration in the target stage"
    assert service_task_definition(stack, app, "production") == release["task_definition_arn"]


def test_promotion_is_refused_without_promote_from_or_a_successful_source(stack, seed):
    app = seed("promo-no", migration=False)
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="promo-no-1")
    stack.wait_for_release(app.name, "staging", lambda r: r.get("digest") == digest and r.get("status") in TERMINAL)
    # staging does not list production in promote_from.
    backwards = promote(stack, {"app": app.name, "from": "production", "to": "staging"})
    assert backwards["status"] == "FAILED" and backwards.get("error") == "PromotionRefused", backwards
    history = stack.client("stepfunctions").get_execution_history(executionArn=backwards["executionArn"])["events"]
    assert any("does not list `production` in `promote_from`" in json.dumps(e, default=str) for e in history)
    # A release that did not succeed is never promoted.
    missing = promote(stack, {"app": app.name, "from": "staging", "to": "production", "release": "01" + "Z" * 24})
    assert missing["status"] == "FAILED" and missing.get("error") == "PromotionRefused", missing
    assert stack.releases(app.name, "production") == []
