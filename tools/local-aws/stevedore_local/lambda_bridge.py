"""Forward Lambda invokes to ``cargo lambda watch`` (or any Lambda invoke API server).

moto only runs functions in Docker; this replaces both Lambda backends' ``invoke`` so an
invoke POSTs the payload to ``<lambda-url>/2015-03-31/functions/<name>/invocations``.
The functions do not need to exist in moto.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
import uuid
import urllib.error
import urllib.request
from typing import Any, Callable
from urllib.parse import unquote

from . import faults
from .state import STATE, spawn

INVOKE_TIMEOUT_SECONDS = 600  # the first invoke compiles and starts the binary

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Not AWS behaviour: a guard for the local runner. `cargo lambda watch` queues a function's
# invocations in a bounded channel (100) and takes a write lock before each push; with more
# than about 100 invocations of one function waiting at once, its scheduler blocks on the full
# channel while holding the lock the function needs to take the next one, and every function
# stops (seen with 150 invocations sent at once, whatever `--concurrency`). Lambda itself
# queues asynchronous events and hands them to instances as they free up
# (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html); waiting here for a
# slot is that queue, kept below the runner's limit.
MAX_IN_FLIGHT_PER_FUNCTION = int(os.environ.get("STEVEDORE_LAMBDA_MAX_IN_FLIGHT", "64"))
_in_flight: dict[str, threading.BoundedSemaphore] = {}
_in_flight_lock = threading.Lock()


def _slot(name: str) -> threading.BoundedSemaphore:
    with _in_flight_lock:
        if name not in _in_flight:
            _in_flight[name] = threading.BoundedSemaphore(max(1, MAX_IN_FLIGHT_PER_FUNCTION))
        return _in_flight[name]


# Every forwarded invoke: function, start (epoch s), wall duration (ms) and HTTP status, for
# the cost benchmark (GET /_stevedore/lambda/invocations). The duration is the bridge's round
# trip to the runtime API server, so it bounds the billed duration from above.
_invocations: list[dict[str, Any]] = []
_invocations_lock = threading.Lock()


def invocations_view(filters: dict[str, Any]) -> list[dict[str, Any]]:
    with _invocations_lock:
        return [dict(i) for i in _invocations
                if "function" not in filters or i["function"] == filters["function"]]


def clear_invocations(_body: dict[str, Any]) -> dict[str, Any]:
    with _invocations_lock:
        _invocations.clear()
    return {"ok": True}


def _timed(name: str, call: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
    started = time.time()
    clock = time.perf_counter()
    status, body = call()
    with _invocations_lock:
        _invocations.append({"function": name, "started": started, "status": status,
                             "duration_ms": (time.perf_counter() - clock) * 1000.0})
    return status, body


def function_name(name_or_arn: str) -> str:
    """Last part of a function name / (partial) ARN, without a qualifier."""
    s = unquote(name_or_arn or "")
    if ":function:" in s:
        s = s.split(":function:", 1)[1]
    return s.split(":", 1)[0]


def invoke_remote(name_or_arn: str, payload: bytes | str | None) -> tuple[int, bytes]:
    """POST the payload; return (status, body). Connection failures become a 502-like error."""
    if payload is None or payload == "" or payload == b"":
        payload = b"{}"
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    name = function_name(name_or_arn)
    crash = faults.lambda_crash(name, payload)
    if crash is not None:  # an armed crash: the function is not called
        return 500, crash
    url = f"{STATE.lambda_url.rstrip('/')}/2015-03-31/functions/{name}/invocations"
    req = urllib.request.Request(
        url, data=payload, method="POST", headers={"Content-Type": "application/json"}
    )
    def post() -> tuple[int, bytes]:
        try:
            with _opener.open(req, timeout=INVOKE_TIMEOUT_SECONDS) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()
        except Exception as err:  # noqa: BLE001
            body = {"errorType": "Lambda.ServiceException", "errorMessage": f"{name}: {err}"}
            return 502, json.dumps(body).encode()

    with _slot(name):  # the wait for a slot is the queue's, not the function's time
        return _timed(name, post)


def _error_body(status: int, body: bytes) -> bytes:
    try:
        parsed = json.loads(body or b"null")
        if isinstance(parsed, dict) and "errorType" in parsed:
            return body
    except ValueError:
        pass
    text = (body or b"").decode("utf-8", "replace")
    return json.dumps(
        {"errorType": "Lambda.Unknown", "errorMessage": f"HTTP {status}: {text}"}
    ).encode()


# Functions whose template sets ReservedConcurrentExecutions: 1 run one invocation at a
# time, in arrival order, as Lambda's async queue feeds a function limited to one instance.
_serial_queues: dict[str, "queue.Queue[Callable[[], None]]"] = {}
_serial_lock = threading.Lock()


def set_reserved_concurrency(name: str, reserved: int) -> None:
    """Only 1 changes anything: higher limits are never reached by the local suite."""
    with _serial_lock:
        if reserved == 1 and name not in _serial_queues:
            jobs: "queue.Queue[Callable[[], None]]" = queue.Queue()
            _serial_queues[name] = jobs

            def work() -> None:
                while True:
                    jobs.get()()

            threading.Thread(target=work, name=f"lambda-serial-{name}", daemon=True).start()
        elif reserved != 1:
            _serial_queues.pop(name, None)


# A function's EventInvokeConfig (set by the bootstrap from the template): how often Lambda
# retries an asynchronous invocation that failed, and where the event goes when it gives up.
# https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
# https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
_event_invoke_configs: dict[str, dict[str, Any]] = {}
# Lambda waits one minute, then two, between attempts; scaled like the other simulated waits.
ASYNC_RETRY_SECONDS = float(os.environ.get("STEVEDORE_ASYNC_RETRY_SECONDS", "1"))


def set_event_invoke_config(name: str, retries: int, on_failure: str | None) -> None:
    _event_invoke_configs[name] = {"retries": retries, "on_failure": on_failure}


def send_to_destination(queue_arn: str, record: dict[str, Any]) -> None:
    """Send an invocation record to an SQS on-failure destination (async invokes, and the
    stream event source mappings of stream_mappings.py)."""
    import boto3

    region, account, queue = queue_arn.split(":")[3:6]
    sqs = boto3.client("sqs", region_name=region, endpoint_url=STATE.url,
                       aws_access_key_id="local", aws_secret_access_key="local")
    url = sqs.get_queue_url(QueueName=queue, QueueOwnerAWSAccountId=account)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))


def invoke_async(name_or_arn: str, payload: bytes | str | None) -> None:
    """Fire and forget (InvocationType Event, EventBridge Lambda targets), with the function's
    retries and on-failure destination."""
    name = function_name(name_or_arn)
    config = _event_invoke_configs.get(name, {"retries": 2, "on_failure": None})

    def run() -> None:
        attempts = 1 + int(config["retries"])
        for attempt in range(1, attempts + 1):
            status, body = invoke_remote(name_or_arn, payload)
            if status < 300:
                return
            print(f"[stevedore-local] async invoke of {name} failed (attempt {attempt}/{attempts}): "
                  f"{status} {body[:500]!r}", flush=True)
            if attempt < attempts:
                time.sleep(ASYNC_RETRY_SECONDS * attempt)
        if config["on_failure"]:
            text = payload.decode() if isinstance(payload, bytes) else (payload or "null")
            send_to_destination(config["on_failure"], {
                "version": "1.0", "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "requestContext": {"requestId": str(uuid.uuid4()), "condition": "RetriesExhausted",
                                   "functionArn": f"arn:aws:lambda:{STATE.region}:{STATE.account}:function:{name}:$LATEST",
                                   "approximateInvokeCount": attempts},
                "requestPayload": json.loads(text) if text.strip() else None,
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                    "functionError": "Unhandled"},
                "responsePayload": body.decode(errors="replace")})

    serial = _serial_queues.get(name)
    if serial is not None:
        serial.put(run)
    else:
        spawn(run, name="lambda-async-invoke")


def _header(headers: Any, key: str, default: str) -> str:
    try:
        return headers.get(key) or headers.get(key.lower()) or default
    except AttributeError:
        return default


def bridged_invoke(
    self: Any,
    function_name: str,
    qualifier: str | None,
    body: Any,
    headers: Any,
    response_headers: Any,
) -> bytes:
    inv_type = _header(headers, "X-Amz-Invocation-Type", "RequestResponse")
    if inv_type == "Event":
        invoke_async(function_name, body)
        return b""
    if inv_type == "DryRun":
        return b""
    status, payload = invoke_remote(function_name, body)
    if status >= 300:
        response_headers["x-amz-function-error"] = "Unhandled"
        payload = _error_body(status, payload)
    response_headers["Content-Length"] = str(len(payload))
    return payload


def apply() -> None:
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda_simple.models import LambdaSimpleBackend

    LambdaBackend.invoke = bridged_invoke
    LambdaSimpleBackend.invoke = bridged_invoke
