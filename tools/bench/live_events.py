"""Realistic events for the release binaries: served inside real releases on the local stack.

A function's memory after "one realistic event" depends on the event and on what the account
holds, and replaying a captured event later is not the same (the stage lock is gone by then,
so a fenced step would fail). So the events are taken live: `InterposedStack` is the e2e
tests' LocalStack with a proxy between the emulator and `cargo lambda watch`. While a round
wants a sample of a function, the proxy serves that function's next matching invoke with a
fresh release binary behind a Runtime API stand-in (runtime_api.run_once), measures it, and
returns its answer to the emulator as the invoke's result, so the release goes on with it.
Every other invoke goes to `cargo lambda watch` (debug binaries) as in the e2e tests.

One round (`release_round`) runs the releases that invoke all eleven functions, on two apps
seeded as the e2e fixtures do: a push to a staging stage with an approval gate (on-push,
render, record on the table's stream, notify, approve, migrate, deploy, on-ecs-event), a
promotion to production (promote), a rollback of staging (rollback) and a push to a
blue/green stage (deployment-hook, at POST_TEST_TRAFFIC_SHIFT where the smoke test runs).
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tools" / "local-aws"))
sys.path.insert(0, str(HERE))

from example_app import seed_app  # noqa: E402
from runtime_api import Run, run_once  # noqa: E402
from stack import ACCOUNT_ID, REGION, TERMINAL, LocalStack, free_port  # noqa: E402

INVOKE_PREFIX = "/2015-03-31/functions/"
FORWARD_TIMEOUT_SECONDS = 600
RELEASE_TIMEOUT_SECONDS = 240

# The invoke a sample of a function must be (a substring of its payload): the event kind the
# function exists for, not another one it also accepts.
EVENT_KIND = {
    "on-push": b'"ECR Image Action"',
    "record": b'"Records"',                       # a DynamoDB stream batch
    "notify": b'"Stevedore Release State Change"',
    "on-ecs-event": b'"ECS Deployment State Change"',
    "deployment-hook": b'"POST_TEST_TRAFFIC_SHIFT"',  # the stage whose hook runs the smoke test
}

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Sampler:
    """Decides which invokes a release binary serves, and keeps what each one measured."""

    def __init__(self, binaries: dict[str, Path], memory_mb: dict[str, int],
                 env: Callable[[], dict[str, str]], log_dir: Path) -> None:
        self.binaries, self.memory_mb, self.env, self.log_dir = binaries, memory_mb, env, log_dir
        self.wanted: dict[str, int] = {}
        self.samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.lock = threading.Lock()
        self.count = 0

    def want_one_of_each(self) -> None:
        with self.lock:
            self.wanted = {name: 1 for name in self.binaries}

    def missing(self) -> list[str]:
        with self.lock:
            return sorted(name for name, n in self.wanted.items() if n > 0)

    def take(self, name: str, payload: bytes) -> bool:
        kind = EVENT_KIND.get(name)
        with self.lock:
            if self.wanted.get(name, 0) <= 0 or (kind is not None and kind not in payload):
                return False
            self.wanted[name] -= 1
            self.count += 1
            return True

    def serve(self, name: str, payload: bytes) -> tuple[int, bytes]:
        """Run the release binary on this one event; its answer is the invoke's result."""
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
        run = run_once([str(self.binaries[name])], name, self.env(), payload, arn,
                       self.memory_mb[name], self.log_dir / f"{name}-event-{self.count}.log")
        sample = {"peak_rss_kb": run.peak_rss_kb, "cold_start_ms": run.cold_start_ms,
                  "answer": run.answer, "error_type": _error_type(run), "notes": run.notes,
                  "event": _describe(payload)}
        with self.lock:
            self.samples[name].append(sample)
        if run.answer == "response":
            return 200, run.body
        if run.answer in ("error", "init_error"):
            return 500, run.body  # what `cargo lambda watch` answers for a handler error
        body = {"errorType": "Lambda.ServiceException",
                "errorMessage": f"bench: {name} gave no answer: {'; '.join(run.notes)}"}
        return 502, json.dumps(body).encode()


def _error_type(run: Run) -> str | None:
    if run.answer not in ("error", "init_error"):
        return None
    try:
        return json.loads(run.body).get("errorType")
    except (ValueError, AttributeError):
        return "unparsable error body"


def _describe(payload: bytes) -> str:
    """A short name for an event: its detail-type, stream batch size, action or stage."""
    try:
        event = json.loads(payload)
    except ValueError:
        return "non-JSON payload"
    if not isinstance(event, dict):
        return type(event).__name__
    if "detail-type" in event:
        return str(event["detail-type"])
    if "Records" in event:
        return f"DynamoDB stream batch of {len(event['Records'])} records"
    if "lifecycleStage" in event:
        return f"ECS lifecycle hook {event['lifecycleStage']}"
    action = f" (action {event['action']})" if isinstance(event.get("action"), str) else ""
    return "task input {" + ", ".join(sorted(event)) + "}" + action


class InvokeProxy:
    """The emulator's Lambda invoke target: the sampler's release binary or `cargo lambda watch`."""

    def __init__(self, port: int, watch_url: str, sampler: Sampler) -> None:
        proxy = self
        self.watch_url, self.sampler = watch_url, sampler

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else b""
                name = self.path[len(INVOKE_PREFIX):].split("/", 1)[0] \
                    if self.path.startswith(INVOKE_PREFIX) else ""
                if name in proxy.sampler.binaries and proxy.sampler.take(name, payload):
                    status, body = proxy.sampler.serve(name, payload)
                else:
                    status, body = proxy.forward(self.path, payload, dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, path: str, payload: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        keep = {k: v for k, v in headers.items()
                if k.lower() == "content-type" or k.lower().startswith("x-amz-")}
        req = urllib.request.Request(self.watch_url + path, data=payload, method="POST", headers=keep)
        try:
            with _opener.open(req, timeout=FORWARD_TIMEOUT_SECONDS) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()
        except OSError as err:
            body = {"errorType": "Lambda.ServiceException", "errorMessage": f"bench proxy: {err}"}
            return 502, json.dumps(body).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class InterposedStack(LocalStack):
    """LocalStack whose Lambda invokes pass through an InvokeProxy (see the module's doc)."""

    def __init__(self, sampler_factory: Callable[["InterposedStack"], Sampler], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sampler = sampler_factory(self)
        self.proxy: InvokeProxy | None = None

    def _start_watch(self, port: int) -> None:
        # The emulator was told to invoke at `port`: the proxy takes it, the watch gets another.
        watch_port = free_port()
        self.proxy = InvokeProxy(port, f"http://127.0.0.1:{watch_port}", self.sampler)
        super()._start_watch(watch_port)

    def stop(self) -> None:
        super().stop()
        if self.proxy is not None:
            self.proxy.close()


# ---------------------------------------------------------------- the releases of one round
def ci_tag() -> str:
    return f"develop-{secrets.token_hex(4)[:7]}"


def seed_apps(stack: LocalStack) -> dict[str, Any]:
    """The two apps, seeded as the e2e fixtures seed theirs (test_approval, test_blue_green)."""
    gated = seed_app(stack, "bench-gate", staging_overrides={"approval": "required"})
    listener = stack.control("ecs/test-listener")["url"]
    smoke = {"test_url": f"{listener}/demo/bench-bg-staging/healthz", "attempts": 3,
             "interval_seconds": 1}
    blue_green = seed_app(stack, "bench-bg", blue_green_stages={"staging"}, staging_overrides={
        "strategy": "blue_green", "bake_minutes": 1, "deploy_timeout_seconds": 300,
        "smoke_test": smoke})
    return {"gated": gated, "blue_green": blue_green}


def release_round(stack: LocalStack, apps: dict[str, Any], label: str, rollback: bool) -> list[str]:
    """The releases that invoke every function once; returns what did not end as expected."""
    problems: list[str] = []
    gated, blue_green = apps["gated"], apps["blue_green"]
    digest = stack.push_image(gated.repository, ci_tag(), layer_seed=f"bench-{label}")
    stack.wait_for_release(gated.name, "staging", lambda r: r.get("digest") == digest and (
        r.get("approval_requested_at") or r.get("status") in TERMINAL), timeout=RELEASE_TIMEOUT_SECONDS)
    _state_machine(stack, "ApproveStateMachine", {"app": gated.name, "stage": "staging",
                                                  "decision": "approve", "by": "bench"}, problems)
    _expect(stack, gated.name, "staging", lambda r: r.get("digest") == digest, f"push {label}", problems)

    _state_machine(stack, "PromoteStateMachine", {"app": gated.name, "from": "staging",
                                                  "to": "production"}, problems)
    _expect(stack, gated.name, "production", lambda r: r.get("digest") == digest,
            f"promotion {label}", problems)

    if rollback:
        out = _state_machine(stack, "RollbackStateMachine", {"app": gated.name, "stage": "staging"},
                             problems)
        started = (out or {}).get("rollback", {}).get("release_id")
        if started:
            _expect(stack, gated.name, "staging", lambda r: r["SK"] == f"REL#{started}",
                    f"rollback {label}", problems)

    bg_digest = stack.push_image(blue_green.repository, ci_tag(), layer_seed=f"bench-bg-{label}")
    _expect(stack, blue_green.name, "staging", lambda r: r.get("digest") == bg_digest,
            f"blue/green push {label}", problems)
    return problems


def _state_machine(stack: LocalStack, logical_id: str, body: dict[str, Any],
                   problems: list[str]) -> dict[str, Any] | None:
    sfn = stack.client("stepfunctions")
    arn = stack.resources.state_machines[logical_id]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(body))
    deadline = time.monotonic() + RELEASE_TIMEOUT_SECONDS
    while (status := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] == "RUNNING":
        if time.monotonic() > deadline:
            problems.append(f"{logical_id}: still running after {RELEASE_TIMEOUT_SECONDS} s")
            return None
        time.sleep(0.3)
    if status["status"] != "SUCCEEDED":
        problems.append(f"{logical_id}: {status['status']} {status.get('error')}: {status.get('cause')}")
        return None
    return json.loads(status.get("output") or "{}")


def _expect(stack: LocalStack, app: str, stage: str, match: Callable[[dict[str, Any]], bool],
            what: str, problems: list[str]) -> None:
    try:
        release = stack.wait_for_release(app, stage, lambda r: match(r) and r.get("status") in TERMINAL,
                                         timeout=RELEASE_TIMEOUT_SECONDS, poll=0.3)
    except TimeoutError as err:
        problems.append(f"{what}: not terminal after {RELEASE_TIMEOUT_SECONDS} s ({str(err)[:300]})")
        return
    if release.get("status") != "SUCCEEDED":
        problems.append(f"{what}: {release.get('status')}: {release.get('reason')}")
