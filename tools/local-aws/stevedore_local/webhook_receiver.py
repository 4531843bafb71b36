"""A local webhook receiver: what a Slack incoming webhook or any HTTPS endpoint would be for
the notify function, on this machine (notify accepts http:// for a loopback host only).

One threaded HTTP server on a free 127.0.0.1 port per emulator (``GET
/_stevedore/webhooks`` gives its URL). Any method on any path is answered 200 ``ok`` (the body
Slack answers a good post with), or the status set for that path (``POST
/_stevedore/webhooks/status`` ``{"path": "/hooks/x", "status": 500}``; ``"clear": true`` puts it
back). Every request is kept, per path, with its method, its headers and its body (parsed when
JSON): ``GET /_stevedore/webhooks/received?path=/hooks/x``; ``POST /_stevedore/webhooks/clear``
forgets them. Nothing about a request is printed: a webhook URL is a credential.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .state import STATE

MAX_BODY_BYTES = 1024 * 1024


class ReceiverError(Exception):
    pass


def _path_of(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ReceiverError("'path' must be a path starting with '/', e.g. /hooks/slack")
    return urlsplit(value).path


def set_status(body: dict[str, Any]) -> dict[str, Any]:
    path = _path_of(body.get("path"))
    if body.get("clear"):
        with STATE.lock:
            STATE.webhook_statuses.pop(path, None)
        return {"ok": True, "path": path, "status": None}
    status = body.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ReceiverError("'status' must be an integer HTTP status 100-599")
    with STATE.lock:
        STATE.webhook_statuses[path] = status
    return {"ok": True, "path": path, "status": status}


def received(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The requests received, oldest first; only those of ``path`` when given."""
    wanted = _path_of(body["path"]) if body.get("path") else None
    with STATE.lock:
        requests = [dict(r) for r in STATE.webhook_requests]
    return [r for r in requests if wanted is None or r["path"] == wanted]


def clear(_body: dict[str, Any]) -> dict[str, Any]:
    with STATE.lock:
        STATE.webhook_requests.clear()
        STATE.webhook_statuses.clear()
    return {"ok": True}


def url(_body: dict[str, Any]) -> dict[str, Any]:
    if not STATE.webhook_receiver_url:
        raise ReceiverError("the webhook receiver is not running")
    return {"url": STATE.webhook_receiver_url}


def answer(method: str, raw_path: str, headers: dict[str, str], data: bytes) -> tuple[int, dict[str, Any]]:
    """(status, kept request) for one request."""
    path = urlsplit(raw_path).path
    text = data.decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text) if text.strip() else None
    except ValueError:
        parsed = None
    with STATE.lock:
        status = STATE.webhook_statuses.get(path, 200)
    return status, {"method": method, "path": path, "headers": headers, "body": text,
                    "json": parsed, "status": status, "at": time.time()}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY_BYTES)
        data = self.rfile.read(length) if length > 0 else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, request = answer(self.command, self.path, headers, data)
        with STATE.lock:
            STATE.webhook_requests.append(request)
        reply = (b"ok" if status < 300 else f"error {status}".encode())
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve  # noqa: N815

    def log_message(self, *args: Any) -> None:  # never print a request: its path is a credential
        pass


class WebhookReceiver:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self._server = ThreadingHTTPServer((host, 0), _Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="webhook-receiver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def start() -> WebhookReceiver:
    receiver = WebhookReceiver()
    STATE.webhook_receiver_url = receiver.url
    return receiver
