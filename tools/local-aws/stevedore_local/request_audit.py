"""Request audit: capture every AWS request that reaches moto, validate it against botocore.

moto accepts requests that real AWS rejects. This module records each request (who sent it,
service, operation, status) and checks the requests of the functions, the state machine and
the CLI against botocore's service model: botocore's own ``ParamValidator`` (required members,
types, ``min``) plus what it leaves out (``max`` lengths and ranges, ``pattern``, enums) and the
ARN formats AWS checks (``checks.py``). Served as ``GET /_stevedore/requests``,
``/requests/violations`` and ``/requests/counts``.

Callers:
- a function: the user agent's app id (``app/render``; the Rust SDK sends it in
  ``x-amz-user-agent``, set from ``AWS_LAMBDA_FUNCTION_NAME`` by ``cargo lambda watch``);
- ``states``: the Step Functions interpreter's service integrations (its boto3 clients are
  tagged with the ``x-stevedore-caller`` header, see ``tag_client``);
- ``emulator``: the emulator's own calls (EventBridge delivering to Step Functions);
- ``cli``: the Rust SDK without an app id (the operator CLI);
- ``test``: any other boto3 / botocore caller (tests, seeding, bootstrap).
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote

from . import checks, query_protocol

CALLER_HEADER = "x-stevedore-caller"
VALIDATED_KINDS = {"function", "states", "cli", "unknown"}
MAX_VALUE_CHARS = 200
# Services whose models are indexed to recognise requests (signing name / JSON target prefix).
CANDIDATE_SERVICES = ("dynamodb", "ecs", "secretsmanager", "stepfunctions", "events", "ecr",
                      "codebuild", "lambda", "ec2", "iam", "sts", "logs", "ssm", "sqs", "sns",
                      "cloudformation", "s3", "kms", "scheduler", "elbv2")
_APP_ID = re.compile(r"(?:^|\s)app/([A-Za-z0-9!#$%&'*+.^_`|~-]+)")


class Audit:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.violations: list[dict[str, Any]] = []

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.violations.clear()


AUDIT = Audit()


# ------------------------------------------------------------------ models
@lru_cache(maxsize=None)
def service_model(service: str):
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, str], dict[str, str]]:
    """(JSON target prefix -> service, signing name / endpoint prefix -> service)."""
    by_target: dict[str, str] = {}
    by_signing: dict[str, str] = {}
    for service in CANDIDATE_SERVICES:
        try:
            meta = service_model(service).metadata
        except Exception:  # noqa: BLE001 - a botocore without this service
            continue
        if meta.get("targetPrefix"):
            by_target[meta["targetPrefix"]] = service
        by_signing.setdefault(meta.get("signingName") or meta.get("endpointPrefix"), service)
        by_signing.setdefault(meta.get("endpointPrefix"), service)
    return by_target, by_signing


@lru_cache(maxsize=None)
def _rest_routes(service: str) -> list[tuple[str, re.Pattern, str]]:
    """(method, compiled requestUri, operation) for a REST service's operations."""
    routes = []
    model = service_model(service)
    for name in model.operation_names:
        http = model.operation_model(name).http
        path = http.get("requestUri", "/").split("?", 1)[0]
        pattern = re.escape(path)
        pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", pattern)
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        routes.append((http.get("method", "POST"), re.compile(f"^{pattern}$"), name))
    # Literal paths first: /functions/{name}/invocations must not match a looser template.
    routes.sort(key=lambda r: -len(r[1].pattern.replace("(?P<", "")))
    return routes


# ------------------------------------------------------------------ caller
def classify(headers: dict[str, str]) -> tuple[str, str]:
    """(caller, kind) of a request from its headers; see the module docstring."""
    explicit = headers.get(CALLER_HEADER)
    if explicit:
        return explicit, ("states" if explicit == "states" else "emulator")
    ua = f"{headers.get('x-amz-user-agent', '')} {headers.get('user-agent', '')}"
    app = _APP_ID.search(ua)
    if app:
        return app.group(1), "function"
    if "aws-sdk-rust" in ua or "lang/rust" in ua:
        return "cli", "cli"
    if "Boto3/" in ua or "Botocore/" in ua or "botocore/" in ua:
        return "test", "test"
    return "unknown", "unknown"


def tag_client(client: Any, caller: str) -> Any:
    """Make a botocore client's requests carry ``x-stevedore-caller: <caller>``."""

    def add_header(request: Any, **_kwargs: Any) -> None:
        request.headers[CALLER_HEADER] = caller

    client.meta.events.register_first("before-sign.*.*", add_header)
    return client


# ------------------------------------------------------------------ parsing
def _headers(environ: dict[str, Any]) -> dict[str, str]:
    out = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        out["content-type"] = environ["CONTENT_TYPE"]
    return out


def _signing_name(headers: dict[str, str]) -> str | None:
    m = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request", headers.get("authorization", ""))
    return m.group(2) if m else None


def _signing_region(headers: dict[str, str]) -> str | None:
    m = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", headers.get("authorization", ""))
    return m.group(1) if m else None


def identify(method: str, path: str, query: str, headers: dict[str, str],
             body: bytes) -> tuple[str, str, str, dict[str, Any] | None]:
    """(service, operation, protocol, params in the botocore shape or None)."""
    by_target, by_signing = _index()
    target = headers.get("x-amz-target")
    if target and "." in target:
        prefix, op = target.rsplit(".", 1)
        service = by_target.get(prefix) or by_signing.get(_signing_name(headers) or "", prefix)
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {"__unparseable_body__": body[:MAX_VALUE_CHARS].decode("utf-8", "replace")}
        return service, op, "json", params if isinstance(params, dict) else {}
    service = by_signing.get(_signing_name(headers) or "", _signing_name(headers) or "?")
    form = query_protocol.form_of(query, headers.get("content-type", ""), body)
    if "Action" in form:
        operation = form["Action"]
        try:
            shape = service_model(service).operation_model(operation).input_shape
        except Exception:  # noqa: BLE001 - unknown service or operation: recorded unparsed
            return service, operation, "query", None
        return service, operation, "query", query_protocol.params_of(shape, form)
    try:
        protocol = service_model(service).protocol
    except Exception:  # noqa: BLE001
        return service, f"{method} {path}", "?", None
    if protocol in ("rest-json", "rest-xml"):
        for http_method, pattern, op in _rest_routes(service):
            m = pattern.match(path) if http_method == method else None
            if m:
                params = (_rest_params(service, op, m, query, headers, body)
                          if protocol == "rest-json" else None)
                return service, op, protocol, params
    return service, f"{method} {path}", protocol, None


def _rest_params(service: str, op: str, match: re.Match, query: str, headers: dict[str, str],
                 body: bytes) -> dict[str, Any]:
    shape = service_model(service).operation_model(op).input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    qs = parse_qs(query, keep_blank_values=True)
    payload = shape.serialization.get("payload")
    for name, member in shape.members.items():
        loc, wire = member.serialization.get("location"), member.serialization.get("name", name)
        if loc == "uri" and wire in match.groupdict():
            params[name] = unquote(match.group(wire))
        elif loc == "header" and wire.lower() in headers:
            params[name] = headers[wire.lower()]
        elif loc == "querystring" and wire in qs:
            params[name] = qs[wire] if member.type_name == "list" else qs[wire][-1]
        if name in params and member.type_name in ("integer", "long"):
            try:
                params[name] = int(params[name])
            except ValueError:
                pass
    if payload:
        if body:
            params[payload] = body
    elif body:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        if isinstance(doc, dict):
            for name, member in shape.members.items():
                wire = member.serialization.get("name", name)
                if not member.serialization.get("location") and wire in doc:
                    params[name] = doc[wire]
    return params


# ------------------------------------------------------------------ validation
def validate(service: str, operation: str, params: dict[str, Any],
             region: str | None = None) -> list[tuple[str, str, Any]]:
    """[(member path, problem, value)] for one request; empty when AWS would accept it."""
    from botocore.validate import ParamValidator

    try:
        op_model = service_model(service).operation_model(operation)
    except Exception:  # noqa: BLE001
        return [("", f"unknown operation {operation} of {service}", None)]
    shape = op_model.input_shape
    if shape is None:
        return []
    problems: list[tuple[str, str, Any]] = []
    report = ParamValidator().validate(params, shape)
    for error_type, name, extra in report._errors:  # noqa: SLF001 - the structured errors
        name = name or ""
        if error_type == "missing required field":
            member = f"{name}.{extra['required_name']}" if name else extra["required_name"]
            problems.append((member, "missing required member", None))
        elif error_type == "unknown field":
            member = f"{name}.{extra['unknown_param']}" if name else extra["unknown_param"]
            problems.append((member, "unknown member (not in the model)", None))
        else:
            detail = {k: v for k, v in extra.items() if k != "param"}
            param = extra.get("param")  # a string may be a secret: show its type only
            problems.append((name, f"{error_type} {detail}",
                             f"<{type(param).__name__}>" if isinstance(param, str) else param))
    problems += checks.walk(service, operation, params, shape, region)
    return [(path.lstrip("."), problem, value) for path, problem, value in problems]


def _short(value: Any) -> Any:
    if value is None or isinstance(value, (int, float, bool)):
        return value
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "..."


def record(method: str, path: str, query: str, headers: dict[str, str], body: bytes,
           parsed: list[Any] | None = None) -> dict[str, Any]:
    """Record (and validate) one request; ``parsed`` receives (service, operation, protocol,
    params) for the IAM check that follows."""
    caller, kind = classify(headers)
    try:
        service, operation, protocol, params = identify(method, path, query, headers, body)
    except Exception as err:  # noqa: BLE001 - the audit must never break a request
        service, operation, protocol, params = "?", f"{method} {path}", "?", None
        print(f"[stevedore-local] request audit could not parse {method} {path}: {err!r}", flush=True)
    if parsed is not None:
        parsed[:] = [service, operation, protocol, params]
    entry = {"time": time.time(), "caller": caller, "kind": kind, "service": service,
             "operation": operation, "protocol": protocol, "validated": False, "status": None,
             "agent": (headers.get("x-amz-user-agent") or headers.get("user-agent") or "")[:300]}
    if service == "dynamodb" and isinstance(params, dict):
        # Keys, items and query expressions (never secret values: the table holds ARNs only),
        # so the cost benchmark can size each request's read and write units.
        entry["params"] = params
    found: list[tuple[str, str, Any]] = []
    if kind in VALIDATED_KINDS and params is not None:
        try:
            found = validate(service, operation, params, _signing_region(headers))
            entry["validated"] = True
        except Exception as err:  # noqa: BLE001
            found = [("", f"validator crashed: {err!r}", None)]
    elif kind in VALIDATED_KINDS:
        entry["not_validated"] = f"{protocol} protocol requests are recorded, not validated"
    with AUDIT.lock:
        entry["seq"] = len(AUDIT.requests)
        AUDIT.requests.append(entry)
        for member, problem, value in found:
            AUDIT.violations.append({"seq": entry["seq"], "time": entry["time"], "caller": caller,
                                     "kind": kind, "service": service, "operation": operation,
                                     "member": member, "problem": problem, "value": _short(value)})
    return entry


class _StatusRecorder:
    def __init__(self, entry: dict[str, Any], start_response: Any):
        self.entry, self.start_response = entry, start_response

    def __call__(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        try:
            self.entry["status"] = int(status.split(None, 1)[0])
        except (ValueError, IndexError):
            pass
        return self.start_response(status, headers, exc_info) if exc_info else \
            self.start_response(status, headers)


def capture(environ: dict[str, Any], start_response: Any, app: Any) -> Any:
    """WSGI step in front of moto: read the body (and put it back), record, pass on."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/moto-api"):
        return app(environ, start_response)
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    if length > 0:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    headers, parsed = _headers(environ), []
    entry = record(environ.get("REQUEST_METHOD", "GET"), path, environ.get("QUERY_STRING", ""),
                   headers, body, parsed)
    environ["stevedore.audit_entry"] = entry  # faults.wrap marks the requests it answers
    if parsed:  # iam_enforce.wrap checks it against the caller's role
        environ["stevedore.audit_request"] = (*parsed, headers, _signing_region(headers))
    return app(environ, _StatusRecorder(entry, start_response))


# ------------------------------------------------------------------ control API views
def _match(entry: dict[str, Any], filters: dict[str, Any]) -> bool:
    return all(str(entry.get(k)) == str(v) for k, v in filters.items()
               if k in ("caller", "kind", "service", "operation"))


def requests_view(filters: dict[str, Any]) -> list[dict[str, Any]]:
    with AUDIT.lock:
        return [dict(e) for e in AUDIT.requests if _match(e, filters)]


def violations_view(filters: dict[str, Any]) -> list[dict[str, Any]]:
    with AUDIT.lock:
        return [dict(v) for v in AUDIT.violations if _match(v, filters)]


def counts_view(filters: dict[str, Any]) -> dict[str, dict[str, int]]:
    """{caller: {"<service>:<operation>": n}}."""
    out: dict[str, dict[str, int]] = {}
    for entry in requests_view(filters):
        ops = out.setdefault(entry["caller"], {})
        key = f"{entry['service']}:{entry['operation']}"
        ops[key] = ops.get(key, 0) + 1
    return out
