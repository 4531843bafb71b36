"""`migration: {runner: codebuild, project}`: the release's migration runs as a CodeBuild build
of the team's project, with the release's image (by digest), id and stage; a build that fails,
faults, times out or outlives `timeout_seconds` stops the release before the service changes,
named with its build id and log link."""

from __future__ import annotations

import pytest
from e2e_helpers import assert_service_untouched, ci_tag, ecs_calls, family_of, finished_release
from example_app import service_task_definition
from example_codebuild import create_migration_project



def seed_codebuild_app(stack, seed, name, **migration):
    project = create_migration_project(stack, name)
    app = seed(name, app_overrides={"migration": {"runner": "codebuild", "project": project, **migration}})
    return app, project



def builds_of(stack, project):
    return stack.control(f"codebuild/builds?project={project}")



def test_codebuild_migration_gets_the_release_image_id_and_stage(stack, seed):
    app, project = seed_codebuild_app(stack, seed, "cb-ok")
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="cb-ok-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    builds = builds_of(stack, project)
    assert len(builds) == 1, builds
    build = builds[0]
    assert build["initiator"] == "states", "Step Functions starts the build"
    overrides = {v["name"]: v["value"] for v in build["env_overrides"]}
    assert overrides == {
        "STEVEDORE_IMAGE_URI": release["image_uri"],
        "STEVEDORE_RELEASE_ID": release["release_id"],
        "STEVEDORE_STAGE": "staging",
    }
    assert release["image_uri"].endswith(f"@{digest}"), "the build gets the image by digest"
    assert release["migration_build_id"] == build["id"]
    assert "/aws/codebuild/" in release["migration_log_link"].replace("$252F", "/")
    assert release["migrated_at"] < release["deploy_started_at"], "the migration ran before the rollout"
    runs = [c for c in ecs_calls(stack, "RunTask") if family_of(c.get("taskDefinition", "")) == app.family]
    assert runs == [], "a CodeBuild migration starts no ECS migration task"
    assert service_task_definition(stack, app, "staging") == release["task_definition_arn"]


@pytest.mark.parametrize("outcome", ["FAILED", "FAULT", "TIMED_OUT"])
def test_a_failed_build_fails_the_release_with_build_id_and_log_link(stack, seed, outcome):
    name = f"cb-{outcome.lower().replace('_', '')}"
    app, project = seed_codebuild_app(stack, seed, name)
    stack.control("codebuild/build-outcome", {"project": project, "status": outcome})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed=f"{name}-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    [build] = builds_of(stack, project)
    reason = release["reason"]
    assert f"CodeBuild build {build['id']} of project `{project}` ended {outcome}" in reason, reason
    assert "in phase BUILD" in reason, reason
    assert f"logs: {release['migration_log_link']}" in reason, reason
    assert release["migration_build_id"] == build["id"]
    assert "migrated_at" not in release
    assert_service_untouched(stack, app)


def test_a_build_outliving_timeout_seconds_is_stopped(stack, seed):
    app, project = seed_codebuild_app(stack, seed, "cb-hang", timeout_seconds=5)
    stack.control("codebuild/build-outcome", {"project": project, "status": "HANG"})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="cb-hang-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    [build] = builds_of(stack, project)
    assert build["status"] == "STOPPED", "the timed-out build was stopped"
    reason = release["reason"]
    assert f"CodeBuild build {build['id']}" in reason and "did not finish within 5 s" in reason, reason
    assert "Stevedore stopped it" in reason, reason
    assert_service_untouched(stack, app)


def test_a_missing_project_fails_the_release_naming_it(stack, seed):
    app = seed("cb-missing", app_overrides={"migration": {"runner": "codebuild", "project": "no-such-project"}})
    digest = stack.push_image(app.repository, ci_tag(), layer_seed="cb-missing-1")

    release = finished_release(stack, app, digest)
    assert release["status"] == "FAILED", f"{release.get('status')}: {release.get('reason')}"
    assert "could not be started" in release["reason"], release["reason"]
    assert "no-such-project" in release["reason"], release["reason"]
    assert_service_untouched(stack, app)
