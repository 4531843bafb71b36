"""Release events: only the record function may put events, and only on the account's default
bus (events:PutEvents on ``event-bus/default``; the action's resource type is the event bus:
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html).
A PutEvents entry is authorized against the bus it names (the default bus when it names none),
so one entry for another bus denies the whole request."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bootstrap  # noqa: E402

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


@pytest.fixture(scope="module")
def stack(emulator):
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name=REGION)
    return bootstrap.bootstrap(session, emulator.url, TEMPLATE, stack="iamevents")


@pytest.fixture()
def roles(stack, control):
    control.post("iam/roles", stack.roles)
    control.post("requests/clear")
    yield stack
    control.post("requests/clear")


def events_as(emulator, function: str):
    return boto3.client("events", endpoint_url=emulator.url, region_name=REGION,
                        aws_access_key_id="local", aws_secret_access_key="local",
                        config=Config(user_agent_appid=function, retries={"max_attempts": 1}))


def entry(**extra):
    return {"Source": "stevedore", "DetailType": "Stevedore Release State Change",
            "Detail": json.dumps({"version": "1"}), **extra}


def test_record_puts_release_events_on_the_default_bus_only(emulator, roles):
    record = events_as(emulator, "record")
    assert record.put_events(Entries=[entry()])["FailedEntryCount"] == 0
    assert record.put_events(Entries=[entry(EventBusName="default")])["FailedEntryCount"] == 0
    with pytest.raises(ClientError) as err:
        record.put_events(Entries=[entry(), entry(EventBusName="audit-bus")])
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/audit-bus" in err.value.response["Error"]["Message"]


def test_no_other_function_may_put_events(emulator, roles):
    with pytest.raises(ClientError) as err:
        events_as(emulator, "render").put_events(Entries=[entry()])
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "events:PutEvents" in err.value.response["Error"]["Message"]
