"""End-to-end tests: the real function binaries, the real state machine from template.yaml,
the emulated AWS account. One LocalStack per session; each test seeds its own app.

    .venv/bin/python -m pytest tests/e2e -q
    STEVEDORE_SKIP_BUILD=1 ...   # the binaries are already built (`cargo build --bins`)
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "local-aws"))

from example_app import ExampleApp, seed_app  # noqa: E402
from stack import LocalStack  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    with LocalStack(build=os.environ.get("STEVEDORE_SKIP_BUILD") != "1") as local:
        yield local


@pytest.fixture()
def seed(stack):
    """seed(app, **options) -> ExampleApp; see example_app.seed_app."""

    def _seed(app: str, **options: Any) -> ExampleApp:
        return seed_app(stack, app, **options)

    return _seed


def ci_tag(prefix: str = "develop") -> str:
    """A tag like a CI build's: `<branch>-<7 hex>`."""
    return f"{prefix}-{secrets.token_hex(4)[:7]}"


def ecs_calls(stack: LocalStack, op: str, **match: Any) -> list[dict[str, Any]]:
    """The emulator's record of ECS calls of one kind whose request fields equal `match`."""
    return [entry for entry in stack.control("ecs/log")
            if entry["op"] == op and all(_field(entry, k) == v for k, v in match.items())]


def _field(entry: dict[str, Any], key: str) -> Any:
    value = entry.get(key)
    # Requests may name a cluster / service / task definition by name or by ARN.
    if isinstance(value, str) and value.startswith("arn:") and key in ("cluster", "service"):
        return value.rsplit("/", 1)[-1]
    return value


def family_of(task_definition: str) -> str:
    """`arn:...:task-definition/backend:7` or `backend:7` -> `backend`."""
    return task_definition.rsplit("/", 1)[-1].split(":", 1)[0]


def phase_timestamps(release: dict[str, Any]) -> dict[str, str]:
    """A release's phase timestamps: its `*_at` attributes."""
    return {k: v for k, v in release.items() if k.endswith("_at") and v}
