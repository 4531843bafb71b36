"""A CodeBuild migration project for an example app (the `runner: codebuild` migration).

A team that runs its migrations with CodeBuild owns the project; Stevedore only starts builds
of it, passing STEVEDORE_IMAGE_URI, STEVEDORE_RELEASE_ID and STEVEDORE_STAGE. Seed one with
``create_migration_project(stack, app)`` and point the app's config at it with
``migration_overrides={"runner": "codebuild", "project": <name>}`` (and no ``command``). Set a
build's outcome with ``POST /_stevedore/codebuild/build-outcome`` (see docs/architecture.md).
"""

from __future__ import annotations

from typing import Any

from stack import ACCOUNT_ID, LocalStack

BUILDSPEC = """version: 0.2
phases:
  build:
    commands:
      - docker run --rm "$STEVEDORE_IMAGE_URI" bin/migrate up
"""


def migration_project_name(app: str) -> str:
    return f"{app}-migrate"


def create_migration_project(stack: LocalStack, app: str, *, name: str | None = None,
                             environment_variables: dict[str, str] | None = None,
                             timeout_minutes: int = 30) -> str:
    """Create (or keep) the app's migration project; returns its name."""
    name = name or migration_project_name(app)
    codebuild = stack.client("codebuild")
    if codebuild.batch_get_projects(names=[name]).get("projects"):
        return name
    variables: list[dict[str, Any]] = [
        {"name": key, "value": value, "type": "PLAINTEXT"}
        for key, value in (environment_variables or {}).items()]
    codebuild.create_project(
        name=name,
        description=f"Database migrations of {app}",
        # NO_SOURCE needs no location on AWS; moto insists on one.
        source={"type": "NO_SOURCE", "location": "none", "buildspec": BUILDSPEC},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0",
                     "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": True,
                     "environmentVariables": variables},
        serviceRole=f"arn:aws:iam::{ACCOUNT_ID}:role/{app}-migrate-codebuild",
        timeoutInMinutes=timeout_minutes,
        logsConfig={"cloudWatchLogs": {"status": "ENABLED"}},
    )
    return name
