"""Semver tag rules: a stage's `tags:` selects pushes by version (pre-releases only when the
rule opts in, a leading `v` allowed), and `order: semver` lets the higher version win under
`concurrency: latest`, so an older version pushed later never replaces a newer one."""

from __future__ import annotations

import pytest
from example_app import seed_app

from e2e_helpers import TERMINAL, finished_release

RULES = {"tags": [{"semver": ">=1.4, <2"}], "order": "semver"}


@pytest.fixture(scope="module")
def app(stack):
    return seed_app(stack, "semver-tags", migration=False, staging_overrides=RULES)


def release_of(stack, app, digest):
    return next((r for r in stack.releases(app.name, "staging") if r["digest"] == digest), None)


def test_a_semver_rule_deploys_matching_versions_only(stack, app):
    major = stack.push_image(app.repository, "v2.0.0", layer_seed="semver-2.0.0")
    candidate = stack.push_image(app.repository, "v1.5.0-rc1", layer_seed="semver-1.5.0-rc1")
    stable = stack.push_image(app.repository, "v1.5.0", layer_seed="semver-1.5.0")

    release = finished_release(stack, app, stable)
    assert release["status"] == "SUCCEEDED", release
    assert release["tag"] == "v1.5.0"
    # The two earlier pushes were routed (or not) before the later one deployed.
    assert release_of(stack, app, major) is None
    assert release_of(stack, app, candidate) is None


def test_order_semver_keeps_the_higher_version_pushed_earlier(stack, app):
    newer = stack.push_image(app.repository, "v1.6.0", layer_seed="semver-1.6.0")
    stack.wait_for_release(app.name, "staging",
                           lambda r: r["digest"] == newer and r["status"] == "IN_PROGRESS")
    older = stack.push_image(app.repository, "1.5.1", layer_seed="semver-1.5.1")

    loser = finished_release(stack, app, older)
    winner = finished_release(stack, app, newer)
    assert winner["status"] == "SUCCEEDED", winner
    assert loser["status"] == "SUPERSEDED", loser
    winner_id = winner["SK"].split("#")[1]
    assert winner_id in loser["reason"] and "higher version" in loser["reason"], loser["reason"]
    assert "task_definition_arn" not in loser, "a superseded release changed nothing"
    assert loser["SK"] > winner["SK"], "the loser was pushed later"
    head = stack.head(app.name, "staging")
    assert head["current_release"] == winner_id
    assert all(r["status"] in TERMINAL for r in stack.releases(app.name, "staging"))
