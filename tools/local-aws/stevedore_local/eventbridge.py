"""EventBridge delivery that moto lacks: Step Functions, Lambda and SQS targets.

moto's put_events raises NotImplementedError for Step Functions / Lambda targets and
ignores a rule's state. ``publish`` replaces it: every event is recorded (default bus),
then delivered, in order, on one worker thread, to each target of every ENABLED rule
whose event pattern matches (moto's own matcher).
"""

from __future__ import annotations

import copy
import json
import queue
import threading
import time
import uuid
from datetime import datetime
from typing import Any

from . import request_audit
from .lambda_bridge import invoke_async
from .state import STATE, iso_z

_queue: "queue.Queue[tuple[dict[str, Any], str, str, str]]" = queue.Queue()
_worker: threading.Thread | None = None
_worker_lock = threading.Lock()
_original_send_to_targets = None


def make_event(
    source: str,
    detail_type: str,
    detail: Any,
    resources: list[str] | None = None,
    *,
    account: str | None = None,
    region: str | None = None,
    time_: str | None = None,
) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account or STATE.account,
        "time": time_ or iso_z(),
        "region": region or STATE.region,
        "resources": list(resources or []),
        "detail": detail,
    }


def emit(source: str, detail_type: str, detail: Any, resources: list[str] | None = None,
         *, account: str | None = None, region: str | None = None) -> dict[str, Any]:
    """Emit an AWS-service event (ECR, ECS) on the default bus."""
    event = make_event(source, detail_type, detail, resources, account=account, region=region)
    publish(event, "default", account=account, region=region)
    return event


def drop(body: dict[str, Any]) -> dict[str, Any]:
    """Lose the next `times` events of `source` (and `detail-type`, and `detail` fields, if
    given) on the default bus, as EventBridge's best-effort delivery of service events may."""
    rule = {"source": body.get("source"), "detail-type": body.get("detail-type"),
            "detail": dict(body.get("detail") or {}),
            "times": int(body.get("times", 1)), "dropped": 0}
    with STATE.lock:
        STATE.event_drops.append(rule)
    return rule


def _dropped(event: dict[str, Any]) -> bool:
    with STATE.lock:
        for rule in STATE.event_drops:
            detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
            if rule["times"] > 0 and rule["source"] == event.get("source") and \
                    rule["detail-type"] in (None, event.get("detail-type")) and \
                    all(detail.get(k) == v for k, v in rule["detail"].items()):
                rule["times"] -= 1
                rule["dropped"] += 1
                return True
    return False


def publish(event: dict[str, Any], bus_name: str = "default", *, account: str | None = None,
            region: str | None = None, record: bool = True) -> None:
    if record and bus_name in ("default", None):
        STATE.record_event(copy.deepcopy(event))
    # Recorded (a test can redeliver it later) but never delivered.
    if bus_name in ("default", None) and _dropped(event):
        print(f"[stevedore-local] event dropped on purpose: {event.get('detail-type')}", flush=True)
        return
    _ensure_worker()
    _queue.put((copy.deepcopy(event), bus_name or "default",
                account or event.get("account") or STATE.account,
                region or event.get("region") or STATE.region))


def _ensure_worker() -> None:
    global _worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_work, name="eventbridge-delivery", daemon=True)
            _worker.start()


def _work() -> None:
    while True:
        event, bus, account, region = _queue.get()
        try:
            deliver(event, bus, account, region)
        except Exception:  # noqa: BLE001
            import traceback

            traceback.print_exc()


def deliver(event: dict[str, Any], bus_name: str, account: str, region: str) -> None:
    from moto.events.models import events_backends

    backend = events_backends[account][region]
    try:
        bus = backend.describe_event_bus(bus_name)
    except Exception:  # noqa: BLE001 - unknown bus: nothing to deliver to
        return
    for rule in list(bus.rules.values()):
        if rule.state != "ENABLED" or not rule.event_pattern.get_pattern():
            continue  # disabled, or a schedule rule
        if not rule.event_pattern.matches_event(event):
            continue
        for target in list(rule.targets):
            try:
                _deliver_to_target(rule, target, event)
            except Exception as err:  # noqa: BLE001
                print(f"[stevedore-local] delivery to {target.get('Arn')} failed: {err}", flush=True)


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    if target.get("Input") is not None:
        return json.loads(target["Input"])
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    if target.get("InputTransformer"):
        from moto.events.models import EventTemplateParser

        it = target["InputTransformer"]
        out = EventTemplateParser.parse(
            input_template=it.get("InputTemplate"),
            input_paths_map=it.get("InputPathsMap", {}),
            event=event,
        )
        return out
    return event


def _deliver_to_target(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
    arn = target["Arn"]
    parts = arn.split(":")
    service = parts[2] if len(parts) > 2 else ""
    if service == "states":
        payload = _target_input(target, event)
        start_execution(arn, payload if isinstance(payload, str) else json.dumps(payload))
    elif service == "lambda":
        payload = _target_input(target, event)
        invoke_async(arn, payload if isinstance(payload, str) else json.dumps(payload))
    elif service == "sqs":
        _send_to_queue(arn, target, _target_input(target, event))
    elif service == "events" and ":event-bus/" in arn:
        from .accounts import forward_to_bus

        forward_to_bus(rule, target, event)
    else:
        # Logs, archives, buses...: moto's own code, which wants an epoch time.
        legacy = copy.copy(rule)
        legacy.targets = [target]
        ev = copy.deepcopy(event)
        try:
            ev["time"] = datetime.strptime(ev["time"], "%Y-%m-%dT%H:%M:%SZ").timestamp()
        except (TypeError, ValueError):
            ev["time"] = time.time()
        _original_send_to_targets(legacy, ev)


def _send_to_queue(arn: str, target: dict[str, Any], payload: Any) -> None:
    """An SQS target gets the event itself (or the target's Input / InputPath /
    InputTransformer result) as the message body, the event's `time` as EventBridge wrote it
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html;
    a FIFO queue needs the target's SqsParameters.MessageGroupId:
    https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_SqsParameters.html).
    moto's own SQS delivery expects moto's internal event (epoch time, ingestion time)."""
    from moto.sqs import sqs_backends

    _, _, _, region, account, queue_name = arn.split(":", 5)
    sqs_backends[account][region].send_message(
        queue_name=queue_name,
        message_body=payload if isinstance(payload, str) else json.dumps(payload),
        group_id=(target.get("SqsParameters") or {}).get("MessageGroupId"),
    )


def start_execution(state_machine_arn: str, input_json: str) -> str:
    import boto3

    region = state_machine_arn.split(":")[3]
    sfn = boto3.client(
        "stepfunctions", region_name=region, endpoint_url=STATE.url,
        aws_access_key_id="local", aws_secret_access_key="local",
    )
    request_audit.tag_client(sfn, "events")  # EventBridge's own call, not a function's
    return sfn.start_execution(stateMachineArn=state_machine_arn, input=input_json)["executionArn"]


def _event_time(value: Any) -> str:
    if value is None or value == "":
        return iso_z()
    if isinstance(value, (int, float)):
        return iso_z(float(value))
    if isinstance(value, datetime):
        return iso_z(value.timestamp())
    try:
        return iso_z(float(value))
    except ValueError:
        return str(value)


def put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Replacement for moto's EventsBackend.put_events (same validation, our delivery)."""
    from moto.events.exceptions import ValidationException

    if len(events) > 10:
        raise ValidationException(
            "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' "
            "failed to satisfy constraint: Member must have length less than or equal to 10"
        )
    entries: list[dict[str, Any]] = []
    for entry in events:
        missing = next((k for k in ("Source", "DetailType", "Detail") if not entry.get(k)), None)
        if missing:
            entries.append({"ErrorCode": "InvalidArgument",
                            "ErrorMessage": f"Parameter {missing} is not valid. Reason: {missing} is a required argument."})
            continue
        try:
            detail = json.loads(entry["Detail"])
        except ValueError:
            entries.append({"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."})
            continue
        bus_name = self._normalize_event_bus_arn(entry.get("EventBusName"))
        self.describe_event_bus(bus_name)  # raises for an unknown bus, as moto does
        event = make_event(entry["Source"], entry["DetailType"], detail, entry.get("Resources", []),
                           account=self.account_id, region=self.region_name,
                           time_=_event_time(entry.get("Time")))
        entries.append({"EventId": event["id"]})
        publish(event, bus_name, account=self.account_id, region=self.region_name)
    return entries


def redeliver(event: dict[str, Any]) -> None:
    """Deliver this exact event again (same id and time) on the default bus."""
    publish(event, "default")


def drain(timeout: float = 10.0) -> None:
    """Wait until queued deliveries are done (tests)."""
    end = time.time() + timeout
    while not _queue.empty() and time.time() < end:
        time.sleep(0.02)


def apply() -> None:
    global _original_send_to_targets
    from moto.events.models import EventsBackend, Rule

    if _original_send_to_targets is None:
        _original_send_to_targets = Rule.send_to_targets
    EventsBackend.put_events = put_events
