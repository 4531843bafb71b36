"""Process-wide emulator state: configuration, test-controlled fates and logs."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any

DEFAULT_ACCOUNT = "123456789012"


def iso_z(ts: float | None = None, millis: bool = False) -> str:
    """ISO-8601 UTC with a ``Z`` suffix, as EventBridge writes it."""
    dt = datetime.fromtimestamp(time.time() if ts is None else ts, tz=timezone.utc)
    if millis:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.lambda_url = "http://127.0.0.1:9000"
        self.region = "us-east-1"
        self.account = DEFAULT_ACCOUNT
        self.url = ""  # the emulator's own endpoint, set once serving
        self.test_listener_url = ""  # the blue/green test listener stand-in, set once serving
        self.webhook_receiver_url = ""  # the local webhook receiver, set once serving
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.deployment_fates: dict[str, str] = {}  # digest or "default" -> fate
            self.task_fates: dict[str, dict[str, Any]] = {}  # family -> fate spec
            self.ecs_log: list[dict[str, Any]] = []
            self.rollouts: list[dict[str, Any]] = []
            self.events: list[dict[str, Any]] = []
            self.faults: list[dict[str, Any]] = []  # armed faults, see faults.py
            self.codebuild_outcomes: dict[str, str] = {}  # project -> outcome, see codebuild_sim.py
            self.codebuild_builds: list[dict[str, Any]] = []  # builds started
            self.hook_invocations: list[dict[str, Any]] = []  # blue/green lifecycle hook calls
            # test listener answers: digest or "default" -> {"status": int, "body": str | None}
            self.test_listener_statuses: dict[str, dict[str, Any]] = {}
            self.test_listener_requests: list[dict[str, Any]] = []
            # the webhook receiver: path -> status it answers, and every request it got
            self.webhook_statuses: dict[str, int] = {}
            self.webhook_requests: list[dict[str, Any]] = []
            self.sfn_status_events = True  # emit Step Functions Execution Status Change events
            # events to lose (best-effort delivery): {"source", "detail-type", "times", "dropped"}
            self.event_drops: list[dict[str, Any]] = []

    def log_ecs(self, op: str, request: dict[str, Any]) -> None:
        entry = {"op": op, "at": time.time()}
        entry.update(request or {})
        with self.lock:
            self.ecs_log.append(entry)

    def record_event(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.events.append(event)


STATE = State()


def spawn(target, *args, name: str = "stevedore-worker", delay: float = 0.0) -> threading.Thread:
    """Run ``target(*args)`` on a daemon thread, optionally after ``delay`` seconds."""

    def run() -> None:
        if delay:
            time.sleep(delay)
        try:
            target(*args)
        except Exception:  # noqa: BLE001 - a worker must never take the process down
            import traceback

            traceback.print_exc()

    t = threading.Thread(target=run, name=name, daemon=True)
    t.start()
    return t
