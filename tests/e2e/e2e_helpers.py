"""Helpers for the end-to-end tests (a module of its own: `conftest` is not a unique name
when other test directories run in the same session)."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

from stack import LocalStack


TERMINAL = {"SUCCEEDED", "FAILED", "ROLLED_BACK", "SUPERSEDED", "ABORTED"}


def finished_release(stack: LocalStack, app: Any, digest: str, stage: str = "staging",
                     timeout: float = 240) -> dict[str, Any]:
    """The release of `digest` to (app, stage), once it is terminal."""
    return stack.wait_for_release(
        app.name, stage, lambda r: r.get("digest") == digest and r.get("status") in TERMINAL, timeout=timeout)


def assert_service_untouched(stack: LocalStack, app: Any, stage: str = "staging") -> None:
    """The release changed nothing: no UpdateService, the seeded task definition, no lock."""
    from example_app import service_task_definition

    assert ecs_calls(stack, "UpdateService", service=app.services[stage]) == []
    assert service_task_definition(stack, app, stage) == app.task_definition_arn
    assert not (stack.head(app.name, stage) or {}).get("lock_holder")


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


def run_state_machine(stack: LocalStack, logical_id: str, body: dict[str, Any],
                      timeout: float = 60) -> dict[str, Any]:
    """Start an execution of the template's state machine `logical_id` and wait for its end;
    returns describe_execution's answer."""
    sfn = stack.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=stack.resources.state_machines[logical_id],
                                    input=json.dumps(body))
    deadline = time.monotonic() + timeout
    while (status := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{logical_id} execution did not finish in {timeout} s"
        time.sleep(0.5)
    return status


def states_entered(stack: LocalStack, app: Any, release: dict[str, Any]) -> list[str]:
    """The deploy state machine's states the release's execution entered, in order: tells a
    release completed by its ECS event from one settled by the fallback check."""
    sfn = stack.client("stepfunctions")
    [execution] = [ex for ex in stack.executions(app.name)
                   if ex["input"].get("release_id") == release["release_id"]]
    names, token = [], None
    while True:
        page = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000,
                                         **({"nextToken": token} if token else {}))
        names += [e["stateEnteredEventDetails"]["name"] for e in page["events"]
                  if "stateEnteredEventDetails" in e]
        token = page.get("nextToken")
        if not token:
            return names


@contextlib.contextmanager
def time_scale(stack: LocalStack, scale: float) -> Iterator[None]:
    """The emulated ECS's rollout time scale set to `scale` for the block, then put back."""
    previous = stack.control("ecs/time-scale")
    stack.control("ecs/time-scale", {"scale": scale})
    try:
        yield
    finally:
        stack.control("ecs/time-scale",
                      {"scale": previous["scale"] if previous.get("overridden") else None})
