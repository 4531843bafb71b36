"""Helpers of the DynamoDB stream tests: a table with a stream, an event source mapping from
it to a fake function (conftest's FakeLambda, by a name unique to the test), a queue for the
on-failure destination, and waiting for the mapping to drain."""

from __future__ import annotations

import json
import urllib.error
import uuid
from typing import Any

import pytest

from conftest import ACCOUNT, REGION

KEYS = {"KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"},
                      {"AttributeName": "SK", "KeyType": "RANGE"}],
        "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"},
                                 {"AttributeName": "SK", "AttributeType": "S"}]}


def item(pk: str, sk: str, **attrs: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}, **{k: {"S": v} for k, v in attrs.items()}}


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def sks(records: list[dict[str, Any]]) -> list[str]:
    return [r["dynamodb"]["Keys"]["SK"]["S"] for r in records]


class Streams:
    def __init__(self, aws: Any, control: Any, fake_lambda: Any) -> None:
        self.ddb, self.sqs = aws("dynamodb"), aws("sqs")
        self.control, self.fake = control, fake_lambda
        self.mappings: list[str] = []

    def table(self, view: str = "NEW_AND_OLD_IMAGES") -> tuple[str, str]:
        """(table name, stream ARN) of a new table whose stream has this view type."""
        name = f"stream-{uuid.uuid4().hex[:8]}"
        self.ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **KEYS,
                              StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
        return name, self.ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]

    def function(self, handler: Any = None) -> str:
        """A fake function's name; `handler(payload, n)` answers (status, body)."""
        name = f"fn-{uuid.uuid4().hex[:8]}"
        if handler is not None:
            self.fake.handlers[name] = handler
        return name

    def queue(self) -> tuple[str, str]:
        name = f"stream-failures-{uuid.uuid4().hex[:8]}"
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"

    def messages(self, url: str) -> list[dict[str, Any]]:
        got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]

    def create(self, function: str, stream_arn: str, **settings: Any) -> dict[str, Any]:
        body = {"FunctionName": function, "EventSourceArn": stream_arn,
                "StartingPosition": "TRIM_HORIZON", **settings}
        view = self.control.post("lambda/event-source-mappings", body)
        self.mappings.append(view["UUID"])
        return view

    def refusal(self, body: dict[str, Any]) -> str:
        """The 400 message Lambda's refusal of this mapping gets."""
        with pytest.raises(urllib.error.HTTPError) as err:
            self.control.post("lambda/event-source-mappings", body)
        assert err.value.code == 400
        return json.loads(err.value.read())["error"]

    def drain(self, mapping: dict[str, Any], timeout: float = 30) -> None:
        answer = self.control.post("lambda/event-source-mappings/drain",
                                   {"UUID": mapping["UUID"], "timeout": timeout})
        assert answer["drained"], answer

    def view(self, mapping: dict[str, Any]) -> dict[str, Any]:
        [view] = [m for m in self.control.get("lambda/event-source-mappings")
                  if m["UUID"] == mapping["UUID"]]
        return view

    def batches(self, function: str) -> list[list[dict[str, Any]]]:
        return [p["Records"] for p in self.fake.payloads(function)]

    def close(self) -> None:
        for mapping in self.mappings:
            self.control.post("lambda/event-source-mappings/delete", {"UUID": mapping})


@pytest.fixture()
def streams(aws, control, fake_lambda):
    helper = Streams(aws, control, fake_lambda)
    yield helper
    helper.close()
