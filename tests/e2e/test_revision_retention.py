"""Task definition revision retention (`keep_revisions`): after each SUCCEEDED release the
stage's old revisions Stevedore registered are deregistered (INACTIVE, never deleted), except
what runs and the newest `keep_revisions` SUCCEEDED releases'; a rollback to a deregistered
revision still works (it registers the revision again)."""

from __future__ import annotations

import json

import pytest
from example_app import seed_app, service_task_definition

from e2e_helpers import TERMINAL, run_state_machine

KEEP = 3
RELEASES = 15


@pytest.fixture(scope="module")
def released(stack):
    """15 pushes deployed one after another, each SUCCEEDED, and the last one's pruning
    done; the app and its releases, oldest first."""
    app = seed_app(stack, "retain", migration=False, staging_overrides={"keep_revisions": KEEP})
    releases = []
    for n in range(RELEASES):
        digest = stack.push_image(app.repository, f"develop-{n:07d}", layer_seed=f"retain-{n}")
        release = stack.wait_for_release(
            app.name, "staging", lambda r: r["digest"] == digest and r["status"] in TERMINAL, poll=0.2)
        assert release["status"] == "SUCCEEDED", f"{release['status']}: {release.get('reason')}"
        releases.append(release)
    last = releases[-1]["SK"]
    done = stack.wait_for_release(
        app.name, "staging", lambda r: r["SK"] == last and "revisions_pruned_at" in r, timeout=60)
    releases[-1] = done
    # Earlier releases gained their pruning fields after they were read: read them again.
    by_sk = {r["SK"]: r for r in stack.releases(app.name, "staging")}
    return app, [by_sk[r["SK"]] for r in releases]


def status_of(stack, arn):
    return stack.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]["status"]


def test_only_the_newest_kept_revisions_stay_active(stack, released):
    app, releases = released
    revisions = [r["task_definition_arn"] for r in releases]
    assert len(set(revisions)) == RELEASES, "each release registered its own revision"
    assert [status_of(stack, arn) for arn in revisions] == \
        ["INACTIVE"] * (RELEASES - KEEP) + ["ACTIVE"] * KEEP
    # The revision the stage ran before Stevedore is not Stevedore's: never pruned.
    assert status_of(stack, app.task_definition_arn) == "ACTIVE"
    active = set(stack.client("ecs").list_task_definitions(
        familyPrefix=app.family, status="ACTIVE")["taskDefinitionArns"])
    assert active & set(revisions) == set(revisions[-KEEP:])
    assert service_task_definition(stack, app, "staging") == revisions[-1]
    # Counted on the releases that pruned, and never any error.
    assert sum(int(r.get("revisions_deregistered", 0)) for r in releases) == RELEASES - KEEP
    assert not [r for r in releases if "revision_retention_error" in r]


def test_a_rollback_to_a_deregistered_revision_registers_it_again(stack, released):
    app, releases = released
    first = releases[0]
    assert status_of(stack, first["task_definition_arn"]) == "INACTIVE"

    status = run_state_machine(stack, "RollbackStateMachine", {
        "app": app.name, "stage": "staging", "release": first["SK"].split("#")[1]})
    assert status["status"] == "SUCCEEDED", status
    started = json.loads(status["output"])["rollback"]
    release = stack.wait_for_release(app.name, "staging", lambda r: r["SK"] == f"REL#{started['release_id']}"
                                     and r.get("status") in TERMINAL)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    again = release["task_definition_arn"]
    assert again != first["task_definition_arn"], "an INACTIVE revision cannot be deployed as is"
    assert status_of(stack, again) == "ACTIVE"
    assert service_task_definition(stack, app, "staging") == again
