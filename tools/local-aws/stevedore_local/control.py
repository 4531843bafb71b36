"""Control API served beside moto on the same port, under ``/_stevedore/``.

See the "Local emulator control API" table in docs/architecture.md.
"""

from __future__ import annotations

import copy
import json
import re
from urllib.parse import parse_qs
from typing import Any, Callable

from . import (codebuild_sim, ecs_timing, eventbridge, faults, iam_enforce, lambda_bridge,
               request_audit, sfn_events, stream_mappings, webhook_receiver)
from .state import STATE

PREFIX = "/_stevedore/"
DEPLOYMENT_FATES = {"healthy", "unhealthy", "slow", "silent", "alarm"}


class ControlError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _normalise_digest(digest: str) -> str:
    digest = digest.strip()
    if "@" in digest:
        digest = digest.split("@", 1)[1]
    return digest


def deployment_fate(body: dict[str, Any]) -> dict[str, Any]:
    fate = body.get("fate")
    if fate not in DEPLOYMENT_FATES:
        raise ControlError(400, f"fate must be one of {sorted(DEPLOYMENT_FATES)}")
    if body.get("default"):
        key = "default"
    elif body.get("digest"):
        key = _normalise_digest(str(body["digest"]))
        # One image, several services: `family` narrows the fate to the services whose task
        # definition is of that family (a worker failing while the web service is healthy).
        if body.get("family"):
            key = f"{body['family']}/{key}"
    else:
        raise ControlError(400, "give 'digest' (optionally with 'family') or 'default': true")
    with STATE.lock:
        STATE.deployment_fates[key] = fate
    return {"ok": True, "key": key, "fate": fate}


def task_fate(body: dict[str, Any]) -> dict[str, Any]:
    family = body.get("family")
    if not family:
        raise ControlError(400, "'family' is required")
    spec: dict[str, Any]
    if body.get("clear") or body.get("default"):
        with STATE.lock:
            STATE.task_fates.pop(family, None)
        return {"ok": True, "family": family, "fate": None}
    if body.get("fail_to_start"):
        spec = {"fail_to_start": True}
    elif body.get("hang"):
        spec = {"hang": True}
    elif "exit_code" in body or "container_exit_codes" in body:
        try:
            spec = {"exit_code": int(body.get("exit_code", 0))}
            per_container = body.get("container_exit_codes") or {}
            if not isinstance(per_container, dict):
                raise TypeError
            if per_container:
                spec["container_exit_codes"] = {str(k): int(v) for k, v in per_container.items()}
        except (TypeError, ValueError):
            raise ControlError(400, "'exit_code' must be an integer and 'container_exit_codes' "
                                    "an object of container name -> integer")
    else:
        raise ControlError(400, "give exit_code, fail_to_start, hang or clear")
    with STATE.lock:
        STATE.task_fates[family] = spec
    return {"ok": True, "family": family, "fate": spec}


_DIGEST_FORMAT = re.compile(r"^sha256:[0-9a-fA-F]{1,64}$")


def test_listener_status(body: dict[str, Any]) -> dict[str, Any]:
    """What the test listener answers for green tasks with this image digest (or default)."""
    if body.get("default") is True or body.get("digest") == "default":
        key = "default"
    elif isinstance(body.get("digest"), str) and body["digest"].strip():
        key = _normalise_digest(body["digest"])
        if not _DIGEST_FORMAT.match(key):
            raise ControlError(400, f"'digest' must be sha256:<hex> or <repo>@sha256:<hex>, "
                                    f"not {body['digest']!r}")
    else:
        raise ControlError(400, "give 'digest' (sha256:... or repo@sha256:...) or 'default': true")
    if body.get("clear"):
        with STATE.lock:
            STATE.test_listener_statuses.pop(key, None)
        return {"ok": True, "key": key, "status": None}
    status = body.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise ControlError(400, "'status' must be an integer HTTP status 100-599")
    text = body.get("body")
    if text is not None and not isinstance(text, str):
        raise ControlError(400, "'body' must be a string when given")
    # Only once green carries this share of production traffic (a linear or canary step):
    # a revision that fails under production load; before that green answers 200.
    share = body.get("from_production_percent")
    if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float))
                              or not 0 < share <= 100):
        raise ControlError(400, "'from_production_percent' must be a number in (0, 100]")
    entry: dict[str, Any] = {"status": status, "body": text}
    if share is not None:
        entry["from_production_percent"] = share
    with STATE.lock:
        STATE.test_listener_statuses[key] = entry
    return {"ok": True, "key": key, **entry}


def test_listener_url(_body: dict[str, Any]) -> dict[str, Any]:
    if not STATE.test_listener_url:
        raise ControlError(503, "the test listener is not running")
    return {"url": STATE.test_listener_url}


def _webhooks(fn: Callable[[dict[str, Any]], Any], status: int = 400) -> Callable[[dict[str, Any]], Any]:
    """A webhook receiver call, its refusals as control errors."""

    def call(body: dict[str, Any]) -> Any:
        try:
            return fn(body)
        except webhook_receiver.ReceiverError as err:
            raise ControlError(status, str(err))

    return call


def _by_service(attr: str) -> Callable[[dict[str, Any]], Any]:
    """A STATE list, optionally only the entries of one service (name or ARN)."""

    def get(body: dict[str, Any]) -> Any:
        wanted = body.get("service")
        with STATE.lock:
            items = copy.deepcopy(getattr(STATE, attr))
        if wanted:
            items = [i for i in items if wanted in (i.get("service"), i.get("service_arn"))]
        return items

    return get


def redeliver(body: dict[str, Any]) -> dict[str, Any]:
    for key in ("id", "source", "detail-type", "detail"):
        if key not in body:
            raise ControlError(400, f"event lacks '{key}'")
    eventbridge.redeliver(body)
    return {"ok": True, "id": body["id"]}


def reserved_concurrency(body: dict[str, Any]) -> dict[str, Any]:
    """The bootstrap passes on a function's ReservedConcurrentExecutions from the template."""
    name, reserved = body.get("function"), body.get("reserved")
    if not isinstance(name, str) or not isinstance(reserved, int) or reserved < 0:
        raise ControlError(400, "need {\"function\": <name>, \"reserved\": <int >= 0>}")
    lambda_bridge.set_reserved_concurrency(name, reserved)
    return {"function": name, "reserved": reserved}


def event_invoke_config(body: dict[str, Any]) -> dict[str, Any]:
    """The bootstrap passes on a function's EventInvokeConfig from the template."""
    name, retries = body.get("function"), body.get("retries", 2)
    if not isinstance(name, str) or not isinstance(retries, int) or not 0 <= retries <= 2:
        raise ControlError(400, "need {\"function\": <name>, \"retries\": 0..2, \"on_failure\"?: <queue ARN>}")
    lambda_bridge.set_event_invoke_config(name, retries, body.get("on_failure"))
    return {"function": name, "retries": retries, "on_failure": body.get("on_failure")}


def _stream_mapping(action: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """Event source mappings of DynamoDB streams (the bootstrap creates the template's; tests
    list them and wait for them to drain); Lambda's refusals answer 400."""

    def run(body: dict[str, Any]) -> Any:
        try:
            return action(body)
        except stream_mappings.MappingError as err:
            raise ControlError(400, str(err))

    return run


def reset(_body: dict[str, Any]) -> dict[str, Any]:
    STATE.reset()
    ecs_timing.reset()
    return {"ok": True}


def time_scale(body: dict[str, Any]) -> dict[str, Any]:
    """The ECS rollout time scale (ecs_timing): ``{"scale": f}`` or ``{"scale": null}``."""
    try:
        return ecs_timing.set_scale(body)
    except ecs_timing.ScaleError as err:
        raise ControlError(400, str(err))


def arm_fault(body: dict[str, Any]) -> dict[str, Any]:
    try:
        return faults.arm(body)
    except faults.FaultError as err:
        raise ControlError(400, str(err))


def codebuild_outcome(body: dict[str, Any]) -> dict[str, Any]:
    try:
        return codebuild_sim.set_outcome(body)
    except codebuild_sim.OutcomeError as err:
        raise ControlError(400, str(err))


def iam_roles(body: dict[str, Any]) -> dict[str, Any]:
    """The bootstrap loads each function's and state machine's role from template.yaml."""
    try:
        return iam_enforce.ROLES.load(body)
    except ValueError as err:
        raise ControlError(400, str(err))


def _snapshot(attr: str) -> Callable[[dict[str, Any]], Any]:
    def get(_body: dict[str, Any]) -> Any:
        with STATE.lock:
            return copy.deepcopy(getattr(STATE, attr))

    return get


ROUTES: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
    ("POST", "ecs/deployment-fate"): deployment_fate,
    ("POST", "ecs/task-fate"): task_fate,
    ("POST", "ecs/time-scale"): time_scale,
    ("GET", "ecs/time-scale"): ecs_timing.view,
    ("GET", "ecs/log"): _snapshot("ecs_log"),
    ("GET", "ecs/deployments"): _snapshot("rollouts"),
    ("GET", "ecs/hook-invocations"): _by_service("hook_invocations"),
    ("GET", "ecs/test-listener"): test_listener_url,
    ("POST", "ecs/test-listener"): test_listener_status,
    ("GET", "ecs/test-listener/requests"): _by_service("test_listener_requests"),
    ("GET", "webhooks"): _webhooks(webhook_receiver.url, 503),
    ("POST", "webhooks/status"): _webhooks(webhook_receiver.set_status),
    ("GET", "webhooks/received"): _webhooks(webhook_receiver.received),
    ("POST", "webhooks/clear"): _webhooks(webhook_receiver.clear),
    ("GET", "events"): _snapshot("events"),
    ("POST", "events/redeliver"): redeliver,
    ("POST", "events/drop"): eventbridge.drop,
    ("POST", "sfn/status-events"): sfn_events.set_enabled,
    ("POST", "reset"): reset,
    ("POST", "faults"): arm_fault,
    ("GET", "faults"): faults.listing,
    ("POST", "faults/clear"): faults.clear,
    ("POST", "lambda/reserved-concurrency"): reserved_concurrency,
    ("GET", "lambda/invocations"): lambda_bridge.invocations_view,
    ("POST", "lambda/invocations/clear"): lambda_bridge.clear_invocations,
    ("POST", "lambda/event-invoke-config"): event_invoke_config,
    ("POST", "lambda/event-source-mappings"): _stream_mapping(stream_mappings.create),
    ("GET", "lambda/event-source-mappings"): _stream_mapping(stream_mappings.listing),
    ("POST", "lambda/event-source-mappings/delete"): _stream_mapping(stream_mappings.delete),
    ("POST", "lambda/event-source-mappings/drain"): _stream_mapping(stream_mappings.drain),
    ("POST", "codebuild/build-outcome"): codebuild_outcome,
    ("GET", "codebuild/builds"): codebuild_sim.builds_view,
    ("POST", "iam/roles"): iam_roles,
    ("GET", "iam/roles"): lambda _b: iam_enforce.ROLES.view(),
    ("POST", "iam/roles/clear"): lambda _b: iam_enforce.ROLES.clear(),
    ("GET", "requests"): request_audit.requests_view,
    ("GET", "requests/violations"): request_audit.violations_view,
    ("GET", "requests/counts"): request_audit.counts_view,
    ("POST", "requests/clear"): lambda _b: (request_audit.AUDIT.clear(), {"ok": True})[1],
    ("GET", "health"): lambda _b: {"ok": True, "url": STATE.url, "region": STATE.region},
}


def handle(method: str, path: str, raw_body: bytes, query: str = "") -> tuple[int, Any]:
    route = path[len(PREFIX):].strip("/")
    fn = ROUTES.get((method, route))
    if fn is None:
        known = [f"{m} {PREFIX}{r}" for (m, r) in ROUTES]
        return 404, {"error": f"no route {method} {path}", "routes": known}
    try:
        body = json.loads(raw_body or b"{}") if raw_body else {}
        if not isinstance(body, dict):
            raise ControlError(400, "body must be a JSON object")
        if query:  # GET filters: ?caller=render&operation=GetSecretValue
            body.update({k: v[-1] for k, v in parse_qs(query).items()})
        return 200, fn(body)
    except ControlError as err:
        return err.status, {"error": err.message}
    except ValueError as err:
        return 400, {"error": f"bad JSON: {err}"}


class ControlMiddleware:
    """WSGI wrapper: ``/_stevedore/...`` goes to the control API, the rest (recorded by the
    request audit) to moto."""

    def __init__(self, app: Any):
        self.app = app
        # Inside the audit (answered denials and faults are recorded): IAM first, as on AWS
        # a request the role may not make is refused before the service would throttle it.
        self.faulting_app = iam_enforce.wrap(faults.wrap(app))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX):
            return request_audit.capture(environ, start_response, self.faulting_app)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        status, payload = handle(environ.get("REQUEST_METHOD", "GET"), path, raw,
                                 environ.get("QUERY_STRING", ""))
        body = json.dumps(payload, default=str).encode()
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found",
                  503: "Service Unavailable"}.get(status, "Error")
        start_response(f"{status} {reason}", [("Content-Type", "application/json"),
                                              ("Content-Length", str(len(body)))])
        return [body]
