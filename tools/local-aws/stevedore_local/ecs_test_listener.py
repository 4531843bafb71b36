"""Stand-in for a load balancer's TEST listener during blue/green deployments.

One threaded HTTP server on a free 127.0.0.1 port per emulator (``GET
/_stevedore/ecs/test-listener`` gives its URL). ``<url>/<cluster>/<service>/<any path>``
(any method) is answered, while that service's blue/green deployment has test traffic on
green (TEST_TRAFFIC_SHIFT until it ends or rolls back), with the status set for the green
task definition's image digest (``POST /_stevedore/ecs/test-listener``), else the default
entry, else 200 ``ok from <task definition arn>``; an entry with ``from_production_percent``
applies only once green's production share (its linear or canary steps so far) reached
it, before that green answers 200; without green test traffic: 503
``no green targets``. Every request is logged (``GET /_stevedore/ecs/test-listener/requests``).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from . import ecs_bluegreen
from .state import STATE

NO_GREEN = "no green targets"


def answer(method: str, raw_path: str) -> tuple[int, str, dict[str, Any]]:
    """(status, body, log entry) for one request."""
    path = urlsplit(raw_path).path
    parts = [unquote(p) for p in path.strip("/").split("/")]
    entry: dict[str, Any] = {"method": method, "path": raw_path, "at": time.time()}
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return 404, "path must be /<cluster>/<service>/<any path>", entry
    cluster, service = parts[0], parts[1]
    entry.update(cluster=cluster, service=service)
    green = ecs_bluegreen.test_traffic(cluster, service)
    if green is None:
        return 503, NO_GREEN, entry
    td = green["task_definition"]
    entry.update(deployment_id=green["deployment_id"], task_definition=td)
    with STATE.lock:
        configured = next((STATE.test_listener_statuses[d] for d in green["digests"]
                           if d in STATE.test_listener_statuses), None)
        configured = configured or STATE.test_listener_statuses.get("default")
        configured = dict(configured) if configured else {"status": 200, "body": None}
        share = configured.get("from_production_percent")
        if share is not None and _production_percent(green["deployment_id"]) < share:
            configured = {"status": 200, "body": None}
    status = configured["status"]
    body = configured.get("body")
    if body is None:
        body = f"ok from {td}" if status < 400 else f"error {status} from {td}"
    return status, body, entry


def _production_percent(deployment_id: str) -> float:
    """Green's share of production traffic after its latest step (STATE.lock held)."""
    rec = next((r for r in reversed(STATE.rollouts) if r.get("deployment_id") == deployment_id),
               None)
    steps = (rec or {}).get("production_steps") or [0.0]
    return float(steps[-1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)
        status, body, entry = answer(self.command, self.path)
        entry["status"] = status
        with STATE.lock:
            STATE.test_listener_requests.append(entry)
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if entry.get("task_definition"):
            self.send_header("X-Stevedore-Task-Definition", entry["task_definition"])
            self.send_header("X-Stevedore-Deployment-Id", entry["deployment_id"])
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve  # noqa: N815

    def log_message(self, *args: Any) -> None:  # quiet
        pass


class TestListener:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self._server = ThreadingHTTPServer((host, 0), _Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="ecs-test-listener", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def start() -> TestListener:
    listener = TestListener()
    STATE.test_listener_url = listener.url
    return listener
