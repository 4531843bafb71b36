"""A small local stand-in for the Lambda Runtime API, one per measured process.

Lambda starts a function's `bootstrap` with AWS_LAMBDA_RUNTIME_API=host:port; the runtime
then asks `GET /2018-06-01/runtime/invocation/next` for an event and answers it with
`POST /2018-06-01/runtime/invocation/<id>/response` (or `.../error`, or
`POST /2018-06-01/runtime/init/error` when it cannot start)
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html). This server records when
the first `next` request arrives (the end of a cold start), hands out at most one event,
keeps every later `next` request waiting (as Lambda does between invokes), and records the
answer. `run_once` execs a binary against it and measures the process from /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

NEXT = "/2018-06-01/runtime/invocation/next"
INIT_ERROR = "/2018-06-01/runtime/init/error"
# How long a measured process may take to ask for its first event, and to answer it.
START_TIMEOUT_SECONDS = 30
ANSWER_TIMEOUT_SECONDS = 120
# After the answer, how long to wait for the runtime's next `next` (its handler is done then).
SETTLE_SECONDS = 2


class RuntimeApi:
    """The Runtime API for one process. `event`: the one event to hand out (None: none)."""

    def __init__(self, event: bytes | None, function_arn: str) -> None:
        self.event = event
        self.function_arn = function_arn
        self.request_id = str(uuid.uuid4())
        self.first_next_ns: int | None = None  # time.perf_counter_ns() of the first `next`
        self.on_first_next: Callable[[], None] | None = None  # called in the handler thread, at once
        self.asked = threading.Event()    # a first `next` arrived
        self.answered = threading.Event()  # a response / error / init error arrived
        self.idle = threading.Event()     # a `next` after the answer arrived
        self.closing = threading.Event()
        self.answer: tuple[str, bytes] | None = None  # ("response" | "error" | "init_error", body)
        self._served = False
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the runtime's HTTP client expects

            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                now = time.perf_counter_ns()
                if self.path != NEXT:
                    return self._reply(404, b'{"errorMessage": "unknown path"}')
                with api._lock:
                    first = api.first_next_ns is None
                    if first:
                        api.first_next_ns = now
                    serve = api.event is not None and not api._served
                    api._served = api._served or serve
                if first:
                    if api.on_first_next is not None:
                        api.on_first_next()
                    api.asked.set()
                if serve:
                    deadline_ms = int(time.time() * 1000) + ANSWER_TIMEOUT_SECONDS * 1000
                    return self._reply(200, api.event, {
                        "Lambda-Runtime-Aws-Request-Id": api.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                        "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
                    })
                if api.answered.is_set():
                    api.idle.set()
                api.closing.wait()  # no further event: wait, as Lambda does, until the end
                self.close_connection = True

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path == INIT_ERROR:
                    kind = "init_error"
                elif self.path.endswith("/response"):
                    kind = "response"
                elif self.path.endswith("/error"):
                    kind = "error"
                else:
                    return self._reply(404, b'{"errorMessage": "unknown path"}')
                api.answer = (kind, body)
                api.answered.set()
                self._reply(202, b'{"status": "OK"}')

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler


@dataclass
class Run:
    """What one process did: cold start, memory, its answer to the event (if one was given)."""
    cold_start_ms: float | None = None
    rss_ready_kb: int | None = None     # VmHWM when it first asked for an event
    peak_rss_kb: int | None = None      # VmHWM after it answered the event
    answer: str | None = None           # response / error / init_error / None (no answer)
    body: bytes = b""
    log: str = ""
    notes: list[str] = field(default_factory=list)


def vm_hwm_kb(pid: int) -> int | None:
    """Peak resident set size of a live process (VmHWM, kB), from /proc/<pid>/status."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def lambda_environment(function: str, api: RuntimeApi, memory_mb: int,
                       region: str) -> dict[str, str]:
    """The variables Lambda sets for every function (lambda_runtime requires most of them)."""
    return {
        "AWS_LAMBDA_RUNTIME_API": api.address,
        # Lambda sets both; boto3 reads only the second, the Rust SDK the first.
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "_HANDLER": "bootstrap",
    }


def run_once(command: list[str], function: str, env: dict[str, str], event: bytes | None,
             function_arn: str, memory_mb: int, log_path: Path) -> Run:
    """Exec `command` against a fresh Runtime API stand-in; measure exec -> first `next`
    (perf_counter just before the exec to the request's arrival in the server), VmHWM at that
    moment, and, with an event, VmHWM once the answer is posted and the runtime asks again."""
    api = RuntimeApi(event, function_arn)
    run = Run()
    proc: subprocess.Popen | None = None
    try:
        region = env.get("AWS_REGION", "us-east-1")
        full_env = {**env, "AWS_REGION": region,
                    **lambda_environment(function, api, memory_mb, region)}
        with open(log_path, "wb") as log:
            pid_box: list[int] = []

            def read_rss() -> None:  # in the server's thread, while the process waits on it
                if pid_box:
                    run.rss_ready_kb = vm_hwm_kb(pid_box[0])

            api.on_first_next = read_rss
            started = time.perf_counter_ns()
            proc = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            pid_box.append(proc.pid)
            if not _wait_alive(api.asked, proc, START_TIMEOUT_SECONDS):
                run.notes.append(f"no `next` request within {START_TIMEOUT_SECONDS} s "
                                 f"(exit code {proc.poll()})")
                return run
            run.cold_start_ms = (api.first_next_ns - started) / 1e6
            if run.rss_ready_kb is None:  # the request beat the pid into pid_box
                run.rss_ready_kb = vm_hwm_kb(proc.pid)
            if event is None:
                return run
            if not _wait_alive(api.answered, proc, ANSWER_TIMEOUT_SECONDS):
                run.notes.append(f"no answer within {ANSWER_TIMEOUT_SECONDS} s "
                                 f"(exit code {proc.poll()})")
                return run
            api.idle.wait(SETTLE_SECONDS)
            run.peak_rss_kb = vm_hwm_kb(proc.pid)
            run.answer, run.body = api.answer
            return run
    finally:
        if proc is not None:
            _kill(proc)
        api.close()
        try:
            run.log = log_path.read_text(errors="replace")[-4000:]
        except OSError:
            pass


def _wait_alive(flag: threading.Event, proc: subprocess.Popen, timeout: float) -> bool:
    """Wait for `flag`, giving up early when the process has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if flag.wait(0.02):
            return True
        if proc.poll() is not None:
            return flag.wait(0.2)  # a request may still be in the server's hands
    return False


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)
