"""Fixtures: the emulator in-process on a free port, and a fake Lambda invoke API server
standing in for ``cargo lambda watch``."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

os.environ.setdefault("STEVEDORE_SIM_SECONDS", "1")  # CodeBuild builds
# ECS rollouts (ecs_timing): a service without load balancer or health check, 100/200 percent,
# rolls out in (30 + 40 + 30) s x 0.01 = 1 s, slowly enough to watch each task state.
os.environ.setdefault("STEVEDORE_SIM_TIME_SCALE", "0.01")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")

REGION = "us-east-1"
ACCOUNT = "123456789012"


class FakeLambda:
    """Behaviour by function name; records every invoke."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.counters: dict[str, int] = {}
        self.handlers: dict[str, object] = {}  # name -> fn(payload, n) -> (status, body)
        self.lock = threading.Lock()

    def handle(self, name: str, payload: object) -> tuple[int, object]:
        with self.lock:
            self.calls.append((name, payload))
            n = self.counters[name] = self.counters.get(name, 0) + 1
            handler = self.handlers.get(name)
        if handler is not None:
            return handler(payload, n)
        if name == "flaky" and n % 3 != 0:  # fails twice, then succeeds
            return 500, {"errorType": "Throttled", "errorMessage": f"attempt {n}"}
        if name == "boom":
            return 500, {"errorType": "DeploymentFailed", "errorMessage": "it broke"}
        if name == "echo":
            return 200, {"echo": payload}
        return 200, {"ok": True}

    def payloads(self, name: str) -> list[object]:
        with self.lock:
            return [p for (n, p) in self.calls if n == name]


@pytest.fixture(scope="session")
def fake_lambda():
    fake = FakeLambda()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            parts = self.path.strip("/").split("/")
            name = parts[2] if len(parts) >= 4 else "?"
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            payload = json.loads(raw or b"null")
            status, body = fake.handle(name, payload)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield fake
    server.shutdown()


@pytest.fixture(scope="session")
def emulator(fake_lambda):
    from stevedore_local import start

    emu = start("127.0.0.1", 0, fake_lambda.url, REGION)
    yield emu
    emu.stop()


@pytest.fixture(autouse=True)
def _iam_roles_unloaded(request):
    """A test that bootstraps the template turns IAM enforcement on for the session's
    emulator; the next test's hand-made state machines have no role in it."""
    yield
    if "emulator" in request.fixturenames:
        from stevedore_local import iam_enforce

        iam_enforce.ROLES.clear()


@pytest.fixture()
def aws(emulator):
    def client(service: str):
        return boto3.client(service, endpoint_url=emulator.url, region_name=REGION,
                            aws_access_key_id="local", aws_secret_access_key="local")

    return client


class Control:
    def __init__(self, url: str):
        self.url = url + "/_stevedore/"

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path) as r:
            return json.loads(r.read())

    def post(self, path: str, body: object = None):
        req = urllib.request.Request(self.url + path, data=json.dumps(body or {}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            return json.loads(r.read())


@pytest.fixture()
def control(emulator):
    return Control(emulator.url)


def wait_for(fn, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last={last!r}")


def run_execution(sfn, definition: dict, input_: dict | None = None, name: str | None = None,
                  timeout: float = 30.0) -> dict:
    """Create a state machine, run it to a terminal status, return describe_execution."""
    import uuid

    sm = sfn.create_state_machine(name=name or f"sm-{uuid.uuid4().hex[:8]}",
                                  definition=json.dumps(definition),
                                  roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")
    arn = sfn.start_execution(stateMachineArn=sm["stateMachineArn"],
                              input=json.dumps(input_ or {}))["executionArn"]
    return wait_for(lambda: (lambda d: d if d["status"] != "RUNNING" else None)(
        sfn.describe_execution(executionArn=arn)), timeout=timeout, what="execution end")
