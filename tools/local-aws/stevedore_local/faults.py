"""Fault injection: AWS API errors answered in place of moto, and crashing Lambda functions.

Served as ``POST /_stevedore/faults`` (arm), ``GET /_stevedore/faults`` (list, with how many
times each fault fired) and ``POST /_stevedore/faults/clear``; ``POST /_stevedore/reset``
clears them too (they live in ``STATE.faults``).

- API fault: ``{"service": "ecs", "operation": "UpdateService", "match": {"service": "web"},
  "times": 2, "error": {"code": "ThrottlingException", "message": "Rate exceeded",
  "status": 400}}``. The next ``times`` requests of that operation whose parameters equal
  ``match`` get that error in the service's JSON error shape (``x-amzn-ErrorType`` header,
  ``{"__type", "message"}`` body, which botocore and the Rust SDK both read) and never reach
  moto. ``wrap`` is the WSGI step doing it, inside the request audit, which records them.
- RunTask failures: ``{"service": "ecs", "operation": "RunTask", "times": 2, "failures":
  [{"reason": "Capacity is unavailable at this time. ..."}]}`` answers HTTP 200 with no task
  and those ``failures`` (each given the task definition as ``arn``), as ECS does.
- Lambda crash: ``{"lambda": "render", "times": 1, "crash": "Runtime.ExitError",
  "message": "...", "match"?: {"detail": {"image-tag": "v1"}}}``. The next ``times``
  invocations of the function (sync or async, see ``lambda_bridge.invoke_remote``) whose JSON
  payload contains ``match`` (nested objects match as subsets) fail as a crashed function
  does, without calling it.
"""

from __future__ import annotations

import copy
import io
import json
import re
import time
import uuid
from typing import Any

from .state import STATE

# JSON protocols whose error shape is the x-amzn-ErrorType header + {"__type", "message"}.
JSON_PROTOCOLS = ("json", "rest-json")
SERVICE_ALIASES = {"states": "stepfunctions", "sfn": "stepfunctions", "ddb": "dynamodb",
                   "secrets-manager": "secretsmanager", "awslambda": "lambda"}
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.#:-]{0,127}$")
REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
           413: "Request Entity Too Large", 429: "Too Many Requests",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}


class FaultError(ValueError):
    """A bad fault definition (the control API answers 400)."""


def _next_id() -> int:
    return max((f["id"] for f in STATE.faults), default=0) + 1


def _times(body: dict[str, Any]) -> int | None:
    if "times" in body and body["times"] is None:
        return None  # every matching request until cleared
    times = body.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise FaultError("'times' must be an integer >= 1 (or null: until cleared)")
    return times


def _service(name: Any) -> tuple[str, str]:
    """(botocore service name, protocol); only JSON-protocol services can be faulted."""
    from .request_audit import service_model

    if not isinstance(name, str) or not name:
        raise FaultError("'service' is required (botocore name: ecs, dynamodb, ...)")
    name = SERVICE_ALIASES.get(name.lower(), name.lower())
    try:
        protocol = service_model(name).protocol
    except Exception:  # noqa: BLE001
        raise FaultError(f"unknown service {name!r}")
    if protocol not in JSON_PROTOCOLS:
        raise FaultError(f"{name} uses the {protocol} protocol; faults cover JSON protocols")
    return name, protocol


def arm(body: dict[str, Any]) -> dict[str, Any]:
    """Validate and store one fault; returns it as listed by ``listing``."""
    if "lambda" in body:
        fault = _lambda_fault(body)
    else:
        fault = _api_fault(body)
    with STATE.lock:
        fault.update(id=_next_id(), times=_times(body), fired=0, armed_at=time.time())
        STATE.faults.append(fault)
        return _view(fault)


def _api_fault(body: dict[str, Any]) -> dict[str, Any]:
    from .request_audit import service_model

    service, protocol = _service(body.get("service"))
    operation = body.get("operation")
    if operation not in service_model(service).operation_names:
        raise FaultError(f"{service} has no operation {operation!r}")
    match = body.get("match") or {}
    if not isinstance(match, dict):
        raise FaultError("'match' must be an object of request fields")
    if "failures" in body:
        return _run_task_failures(body, service, protocol, operation, match)
    error = body.get("error")
    if not isinstance(error, dict) or not isinstance(error.get("code"), str) \
            or not _CODE.match(error["code"]):
        raise FaultError("'error' needs a 'code' (e.g. ThrottlingException)")
    status = error.get("status", 400)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise FaultError("'error.status' must be an HTTP error status (400-599)")
    return {"kind": "api", "service": service, "protocol": protocol, "operation": operation,
            "match": match, "error": {"code": error["code"],
                                      "message": str(error.get("message", "")),
                                      "status": status}}


def _run_task_failures(body: dict[str, Any], service: str, protocol: str, operation: str,
                       match: dict[str, Any]) -> dict[str, Any]:
    """RunTask answering HTTP 200 with no task and ``failures[]`` (``{"reason", "detail"}``), as
    ECS does when it cannot place the task, e.g. ``Capacity is unavailable at this time...``,
    ``RESOURCE:MEMORY``, ``AGENT``: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/api_failures_messages.html"""
    failures = body.get("failures")
    if service != "ecs" or operation != "RunTask":
        raise FaultError("'failures' answers are for ecs RunTask")
    if not isinstance(failures, list) or not failures or not all(
            isinstance(f, dict) and isinstance(f.get("reason"), str) for f in failures):
        raise FaultError("'failures' must be a non-empty list of {\"reason\": ..., \"detail\": ...}")
    return {"kind": "api", "service": service, "protocol": protocol, "operation": operation,
            "match": match,
            "failures": [{k: str(v) for k, v in f.items() if k in ("reason", "detail")}
                         for f in failures]}


def _failures_response(fault: dict[str, Any], params: dict[str, Any] | None,
                       start_response: Any) -> list[bytes]:
    from .request_audit import service_model

    arn = str((params or {}).get("taskDefinition", ""))
    failures = [dict(f, arn=arn) for f in fault["failures"]]
    body = json.dumps({"tasks": [], "failures": failures}).encode()
    version = service_model(fault["service"]).metadata.get("jsonVersion", "1.1")
    start_response("200 OK", [
        ("Content-Type", f"application/x-amz-json-{version}"), ("Content-Length", str(len(body))),
        ("x-amzn-RequestId", str(uuid.uuid4()))])
    return [body]


def _lambda_fault(body: dict[str, Any]) -> dict[str, Any]:
    from .lambda_bridge import function_name

    name = body.get("lambda")
    if not isinstance(name, str) or not function_name(name):
        raise FaultError("'lambda' must name a function (name or ARN)")
    crash = body.get("crash", "Runtime.ExitError")
    if not isinstance(crash, str) or not _CODE.match(crash):
        raise FaultError("'crash' must be an error type such as Runtime.ExitError")
    message = body.get("message")
    if message is not None and not isinstance(message, str):
        raise FaultError("'message' must be a string")
    timeout = body.get("timeout_seconds", 3)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise FaultError("'timeout_seconds' must be a positive number")
    match = body.get("match") or {}
    if not isinstance(match, dict):
        raise FaultError("'match' must be an object the payload contains")
    return {"kind": "lambda", "lambda": function_name(name), "crash": crash,
            "message": message, "timeout_seconds": timeout, "match": match}


def _contains(value: Any, wanted: Any) -> bool:
    """Whether `value` has everything `wanted` has (objects as subsets, the rest equal)."""
    if isinstance(wanted, dict):
        return isinstance(value, dict) and all(
            k in value and _contains(value[k], v) for k, v in wanted.items())
    return value == wanted


def _view(fault: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(fault)
    times = out["times"]
    out["remaining"] = None if times is None else max(times - out["fired"], 0)
    out["active"] = times is None or out["fired"] < times
    return out


def listing(_body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    with STATE.lock:
        return [_view(f) for f in STATE.faults]


def clear(body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Forget every fault, or only ``{"id": n}``."""
    wanted = (body or {}).get("id")
    with STATE.lock:
        before = len(STATE.faults)
        STATE.faults[:] = [f for f in STATE.faults if wanted is not None and f["id"] != wanted]
        return {"ok": True, "cleared": before - len(STATE.faults)}


def _take(predicate: Any) -> dict[str, Any] | None:
    """The first active fault the predicate accepts, counted as fired (a copy), or None."""
    with STATE.lock:
        for fault in STATE.faults:
            active = fault["times"] is None or fault["fired"] < fault["times"]
            if active and predicate(fault):
                fault["fired"] += 1
                fault["last_fired_at"] = time.time()
                return copy.deepcopy(fault)
    return None


# ------------------------------------------------------------------ API faults
def _names(value: str) -> set[str]:
    """A value and the names an ARN carries: its last ``/`` segment (also without
    ``:<revision>``), and for ``<type>:<name>`` resources the name (``function:render[:alias]``,
    ``stateMachine:deploy``, ``secret:app/db-AbCdEf``, a secret also without its suffix)."""
    out = {value}
    if value.startswith("arn:") and value.count(":") >= 5:
        resource = value.split(":", 5)[5]
        last = resource.rsplit("/", 1)[-1]
        out |= {last, last.split(":", 1)[0]}
        kind, sep, rest = resource.partition(":")
        if sep and "/" not in kind:
            out |= {rest, rest.split(":", 1)[0]}
            if kind == "secret" and re.search(r"-[A-Za-z0-9]{6}$", rest):
                out.add(rest[:-7])
    return out


def _lookup(params: dict[str, Any], key: str) -> tuple[bool, Any]:
    if key in params:
        return True, params[key]
    for k, v in params.items():  # "tableName" finds "TableName"
        if isinstance(k, str) and k.lower() == key.lower():
            return True, v
    return False, None


def matches(match: dict[str, Any], params: dict[str, Any] | None) -> bool:
    if not match:
        return True
    if params is None:
        return False
    for key, wanted in match.items():
        found, value = _lookup(params, key)
        if not found:
            return False
        if value == wanted:
            continue
        if isinstance(value, str) and isinstance(wanted, str) and wanted in _names(value):
            continue
        return False
    return True


def _error_response(fault: dict[str, Any], start_response: Any) -> list[bytes]:
    from .request_audit import service_model

    error = fault["error"]
    body = json.dumps({"__type": error["code"], "message": error["message"]}).encode()
    if fault["protocol"] == "json":
        version = service_model(fault["service"]).metadata.get("jsonVersion", "1.0")
        content_type = f"application/x-amz-json-{version}"
    else:
        content_type = "application/json"
    status = error["status"]
    start_response(f"{status} {REASONS.get(status, 'Error')}", [
        ("Content-Type", content_type), ("Content-Length", str(len(body))),
        ("x-amzn-ErrorType", error["code"]), ("x-amzn-RequestId", str(uuid.uuid4()))])
    return [body]


def _request_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if isinstance(stream, io.BytesIO):  # the request audit already read it
        return stream.getvalue()
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = stream.read(length) if (stream is not None and length > 0) else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def wrap(app: Any) -> Any:
    """WSGI step in front of moto answering requests an armed API fault matches."""

    def faulting(environ: dict[str, Any], start_response: Any) -> Any:
        with STATE.lock:
            armed = any(f["kind"] == "api" for f in STATE.faults)
        if not armed:
            return app(environ, start_response)
        from .request_audit import _headers, identify

        try:
            service, operation, _protocol, params = identify(
                environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""),
                environ.get("QUERY_STRING", ""), _headers(environ), _request_body(environ))
        except Exception:  # noqa: BLE001 - never break a request over a fault lookup
            return app(environ, start_response)
        fault = _take(lambda f: f["kind"] == "api" and f["service"] == service
                      and f["operation"] == operation and matches(f["match"], params))
        if fault is None:
            return app(environ, start_response)
        entry = environ.get("stevedore.audit_entry")
        if isinstance(entry, dict):
            entry["fault"] = fault["id"]
        if "failures" in fault:
            return _failures_response(fault, params, start_response)
        return _error_response(fault, start_response)

    return faulting


# ------------------------------------------------------------------ Lambda crashes
def lambda_crash(name: str, payload: bytes | None = None) -> bytes | None:
    """The error payload of a crash armed for this invocation (counted as fired), or None."""
    try:
        event = json.loads(payload) if payload else None
    except ValueError:
        event = None
    fault = _take(lambda f: f["kind"] == "lambda" and f["lambda"] == name
                  and _contains(event, f.get("match") or {}))
    if fault is None:
        return None
    request_id = str(uuid.uuid4())
    message = fault["message"]
    if message is None and fault["crash"] == "Sandbox.Timedout":
        message = (f"RequestId: {request_id} Error: Task timed out after "
                   f"{float(fault['timeout_seconds']):.2f} seconds")
    elif message is None:
        message = (f"RequestId: {request_id} Error: Runtime exited with error: "
                   "signal: aborted (core dumped)")
    return json.dumps({"errorType": fault["crash"], "errorMessage": message}).encode()
