"""Helpers for the end-to-end tests (a module of its own: `conftest` is not a unique name
when other test directories run in the same session)."""

from __future__ import annotations

import secrets
from typing import Any

from stack import LocalStack


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
