"""An event source mapping from a DynamoDB stream to a function: its settings, as
CreateEventSourceMapping (and AWS::Lambda::EventSourceMapping) takes them, checked as Lambda
checks them before it creates the mapping.

- Parameters, ranges and defaults for DynamoDB: "Lambda parameters for Amazon DynamoDB event
  source mappings", https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html
  (BatchSize 1-10000, default 100; MaximumBatchingWindowInSeconds 0-300, default 0;
  MaximumRetryAttempts -1 (retry until the record expires) to 10000; MaximumRecordAgeInSeconds
  -1 (no limit) or 60-604800; StartingPosition TRIM_HORIZON or LATEST, required).
- The execution role must allow dynamodb:DescribeStream, GetRecords, GetShardIterator and
  ListStreams on the stream ("Using AWS Lambda with Amazon DynamoDB", execution role
  permissions, https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html); without them
  Lambda refuses the mapping with InvalidParameterValueException "Cannot access stream <arn>.
  Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and
  ListStreams Actions on your stream in IAM."
- An on-failure destination needs sqs:SendMessage (SQS) in the same role ("Retain discarded
  records for a DynamoDB event source in Lambda",
  https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html); without it
  Lambda answers "The provided execution role does not have permissions to call SendMessage
  on SQS". SNS and S3 destinations are not emulated and are refused here.
- FilterCriteria: at most 5 filters, each an EventBridge-style pattern, a record is sent when
  any filter matches ("Control which events Lambda sends to your function",
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html).
The IAM check runs once the template's roles are loaded (iam_enforce.ROLES), as every other
local IAM check does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import dynamodb_streams
from .state import STATE

STREAM_READ_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords",
                       "dynamodb:GetShardIterator", "dynamodb:ListStreams")
MAX_FILTERS = 5
# Settings of other event sources or features this model does not act out: refused, not ignored.
NOT_EMULATED = {"ParallelizationFactor": 1, "TumblingWindowInSeconds": 0}


class MappingError(Exception):
    """Lambda refuses the mapping; the message is what Lambda says (and what was missing)."""


@dataclass
class MappingConfig:
    function: str
    stream_arn: str
    starting_position: str
    batch_size: int = 100
    window_seconds: float = 0.0
    max_retries: int = -1
    max_age_seconds: int = -1
    bisect: bool = False
    report_failures: bool = False
    patterns: list[Any] = field(default_factory=list)   # moto EventPatterns; empty: every record
    filters: list[str] = field(default_factory=list)    # the patterns as given
    on_failure: str | None = None
    enabled: bool = True


def _int(body: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = body.get(key, default)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)  # template values may be strings
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MappingError(f"{key} must be an integer from {low} to {high}, not {value!r}")
    return value


def _bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key, default)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise MappingError(f"{key} must be a boolean, not {value!r}")
    return value


def _patterns(body: dict[str, Any]) -> tuple[list[Any], list[str]]:
    from moto.events.models import EventPattern, EventPatternParser

    filters = (body.get("FilterCriteria") or {}).get("Filters") or []
    if not isinstance(filters, list) or len(filters) > MAX_FILTERS:
        raise MappingError(f"FilterCriteria.Filters must be a list of at most {MAX_FILTERS} filters")
    patterns, raw = [], []
    for index, item in enumerate(filters):
        text = item.get("Pattern") if isinstance(item, dict) else None
        if not isinstance(text, str):
            raise MappingError(f"FilterCriteria.Filters[{index}].Pattern must be a string")
        try:
            parsed = EventPatternParser(text).parse()
        except Exception as err:  # noqa: BLE001 - moto's InvalidEventPatternException
            raise MappingError(f"FilterCriteria.Filters[{index}].Pattern is invalid: {err}") from None
        if not isinstance(parsed, dict) or not parsed:
            raise MappingError(f"FilterCriteria.Filters[{index}].Pattern must be a JSON object")
        patterns.append(EventPattern(text, parsed))
        raw.append(text)
    return patterns, raw


def _on_failure(body: dict[str, Any]) -> str | None:
    on_failure = ((body.get("DestinationConfig") or {}).get("OnFailure") or {})
    destination = on_failure.get("Destination")
    if destination is None:
        return None
    if not isinstance(destination, str) or ":sqs:" not in destination:
        raise MappingError(f"OnFailure destination {destination!r}: only SQS queues are emulated")
    return destination


def parse(body: dict[str, Any]) -> MappingConfig:
    """The settings of CreateEventSourceMapping for a DynamoDB stream, checked."""
    function, stream_arn = body.get("FunctionName"), body.get("EventSourceArn")
    if not isinstance(function, str) or not function:
        raise MappingError("FunctionName is required")
    if not isinstance(stream_arn, str) or ":dynamodb:" not in stream_arn or "/stream/" not in stream_arn:
        raise MappingError(f"EventSourceArn must be a DynamoDB stream ARN, not {stream_arn!r}")
    position = body.get("StartingPosition")
    if position not in ("TRIM_HORIZON", "LATEST"):
        raise MappingError(f"StartingPosition must be TRIM_HORIZON or LATEST, not {position!r}")
    for key, default in NOT_EMULATED.items():
        if key in body and body[key] != default:
            raise MappingError(f"{key} is not emulated locally")
    responses = body.get("FunctionResponseTypes") or []
    if not isinstance(responses, list) or set(responses) - {"ReportBatchItemFailures"}:
        raise MappingError(f"FunctionResponseTypes may only hold ReportBatchItemFailures, not {responses!r}")
    max_age = _int(body, "MaximumRecordAgeInSeconds", -1, -1, 604800)
    if 0 <= max_age < 60:
        raise MappingError("MaximumRecordAgeInSeconds must be -1 or from 60 to 604800")
    patterns, filters = _patterns(body)
    from .lambda_bridge import function_name

    return MappingConfig(
        function=function_name(function), stream_arn=stream_arn, starting_position=position,
        batch_size=_int(body, "BatchSize", 100, 1, 10000),
        window_seconds=_int(body, "MaximumBatchingWindowInSeconds", 0, 0, 300),
        max_retries=_int(body, "MaximumRetryAttempts", -1, -1, 10000),
        max_age_seconds=max_age,
        bisect=_bool(body, "BisectBatchOnFunctionError", False),
        report_failures="ReportBatchItemFailures" in responses,
        patterns=patterns, filters=filters, on_failure=_on_failure(body),
        enabled=_bool(body, "Enabled", True))


def check_stream_exists(stream_arn: str) -> None:
    """The stream must be the current stream of a table (Lambda: "Stream not found")."""
    from moto.dynamodb.models import dynamodb_backends

    parts = stream_arn.split(":")
    region, account = parts[3], parts[4]
    try:
        tables = dynamodb_backends[account][region].tables.values()
    except KeyError:
        tables = []
    if not any(dynamodb_streams.stream_arn_of(t) == stream_arn for t in tables):
        raise MappingError(f"InvalidParameterValueException: Stream not found: {stream_arn} "
                           "(no table has it as its current stream)")


def check_role(config: MappingConfig) -> None:
    """The function's role (template.yaml) must let Lambda read the stream and send to the
    on-failure destination."""
    from . import iam_enforce, iam_policy, iam_resources

    roles = iam_enforce.ROLES
    with roles.lock:
        loaded, role = roles.loaded, roles.functions.get(config.function)
        partition = roles.partition
    if not loaded:
        return
    if role is None:
        raise MappingError(f"function {config.function} has no role in template.yaml")
    where = iam_resources.Where(partition, config.stream_arn.split(":")[3], STATE.account)
    ctx = iam_resources.request_context(where)
    missing = [a for a in STREAM_READ_ACTIONS
               if not iam_policy.evaluate(role["statements"], a, config.stream_arn, ctx).allowed]
    if missing:
        raise MappingError(
            f"InvalidParameterValueException: Cannot access stream {config.stream_arn}. Please "
            "ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and "
            f"ListStreams Actions on your stream in IAM. (role {role['role_arn']} of function "
            f"{config.function} does not allow {', '.join(missing)} on the stream)")
    if config.on_failure and not iam_policy.evaluate(role["statements"], "sqs:SendMessage",
                                                     config.on_failure, ctx).allowed:
        raise MappingError(
            "InvalidParameterValueException: The provided execution role does not have "
            f"permissions to call SendMessage on SQS (role {role['role_arn']} of function "
            f"{config.function} does not allow sqs:SendMessage on {config.on_failure})")


def describe(config: MappingConfig) -> dict[str, Any]:
    return {"FunctionName": config.function, "EventSourceArn": config.stream_arn,
            "StartingPosition": config.starting_position, "BatchSize": config.batch_size,
            "MaximumBatchingWindowInSeconds": config.window_seconds,
            "MaximumRetryAttempts": config.max_retries,
            "MaximumRecordAgeInSeconds": config.max_age_seconds,
            "BisectBatchOnFunctionError": config.bisect,
            "FunctionResponseTypes": ["ReportBatchItemFailures"] if config.report_failures else [],
            "FilterCriteria": {"Filters": [{"Pattern": p} for p in config.filters]},
            "DestinationConfig": {"OnFailure": {"Destination": config.on_failure}
                                  if config.on_failure else {}},
            "Enabled": config.enabled}


def pattern_matches(config: MappingConfig, record: dict[str, Any]) -> bool:
    """Any filter matching sends the record; no filter sends every record."""
    if not config.patterns:
        return True
    plain = json.loads(json.dumps(record))
    return any(p.matches_event(plain) for p in config.patterns)
