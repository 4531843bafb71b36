"""EventBridge rules with SQS targets: a matching event lands in the queue as EventBridge
delivers it, the event itself as JSON (its `time` as written, no internal fields), or what
the target's InputPath selects."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

from conftest import ACCOUNT, REGION


def _messages(sqs, url, count):
    got = []
    for _ in range(20):
        got += [json.loads(m["Body"]) for m in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])]
        if len(got) >= count:
            return got
    return got


def test_an_sqs_target_gets_the_matching_events_as_eventbridge_writes_them(aws):
    events, sqs = aws("events"), aws("sqs")
    source = f"test.{uuid.uuid4().hex[:6]}"
    whole = sqs.create_queue(QueueName=f"whole-{source[5:]}")["QueueUrl"]
    details = sqs.create_queue(QueueName=f"detail-{source[5:]}")["QueueUrl"]
    arn = lambda url: sqs.get_queue_attributes(  # noqa: E731
        QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"sqs-{source}", EventPattern=json.dumps(
        {"source": [source], "detail": {"status": ["SUCCEEDED"]}}))
    events.put_targets(Rule=f"sqs-{source}", Targets=[
        {"Id": "whole", "Arn": arn(whole)},
        {"Id": "detail", "Arn": arn(details), "InputPath": "$.detail"}])

    at = datetime(2026, 3, 2, 9, 1, 40, tzinfo=timezone.utc)
    res = events.put_events(Entries=[
        {"Source": source, "DetailType": "Thing", "Detail": json.dumps({"status": "PENDING"})},
        {"Source": source, "DetailType": "Thing", "Detail": json.dumps({"status": "SUCCEEDED"}),
         "Resources": ["arn:aws:states:us-east-1:123456789012:execution:x:y"], "Time": at},
    ])
    assert res["FailedEntryCount"] == 0

    [event] = _messages(sqs, whole, 1)
    assert event == {
        "version": "0", "id": res["Entries"][1]["EventId"], "detail-type": "Thing",
        "source": source, "account": ACCOUNT, "time": "2026-03-02T09:01:40Z",
        "region": REGION, "resources": ["arn:aws:states:us-east-1:123456789012:execution:x:y"],
        "detail": {"status": "SUCCEEDED"}}
    assert _messages(sqs, details, 1) == [{"status": "SUCCEEDED"}]
