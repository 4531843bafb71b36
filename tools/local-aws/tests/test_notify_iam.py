"""The notify function's AWS surface as the emulator enforces it from template.yaml: it alone
may read notification secrets (GetSecretValue, on the secrets' name pattern only) and publish
to the notification topic (sns:Publish, that topic only); SNS requests (query protocol) are
validated and denied like the JSON protocols' ones."""

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
from stevedore_local import query_protocol, request_audit  # noqa: E402

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
STACK = "notifyiam"


@pytest.fixture(scope="module")
def stack(emulator):
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name=REGION)
    return bootstrap.bootstrap(session, emulator.url, TEMPLATE, stack=STACK)


@pytest.fixture()
def roles(stack, control):
    control.post("iam/roles", stack.roles)
    control.post("requests/clear")
    yield stack
    control.post("requests/clear")


def as_function(emulator, service: str, function: str):
    return boto3.client(service, endpoint_url=emulator.url, region_name=REGION,
                        aws_access_key_id="local", aws_secret_access_key="local",
                        config=Config(user_agent_appid=function, retries={"max_attempts": 1}))


def topic_arn(stack) -> str:
    return stack.topics["NotificationTopic"]


def test_the_stack_has_the_topic_and_notify_gets_its_arn(stack, aws):
    assert topic_arn(stack) == f"arn:aws:sns:{REGION}:{ACCOUNT}:{STACK}-NotificationTopic"
    topics = [t["TopicArn"] for t in aws("sns").list_topics()["Topics"]]
    assert topic_arn(stack) in topics
    assert stack.function_env["NOTIFICATION_TOPIC_ARN"] == topic_arn(stack)
    assert stack.function_env["NOTIFICATION_TOPIC_STATUSES"] == "default"
    assert "NotificationFailureQueue" in stack.queues


def test_notify_publishes_to_its_topic_only_and_others_not_at_all(emulator, control, roles, aws):
    other = aws("sns").create_topic(Name="someone-elses")["TopicArn"]
    notify = as_function(emulator, "sns", "notify")
    notify.publish(TopicArn=topic_arn(roles), Message='{"version":"1.0"}', Subject="s",
                   MessageAttributes={"app": {"DataType": "String", "StringValue": "backend"}})
    with pytest.raises(ClientError) as err:
        notify.publish(TopicArn=other, Message="x")
    assert err.value.response["Error"]["Code"] == "AuthorizationError"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert f"sns:Publish on resource: {other}" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        as_function(emulator, "sns", "record").publish(TopicArn=topic_arn(roles), Message="x")
    assert err.value.response["Error"]["Code"] == "AuthorizationError"
    # The allowed request was validated like a JSON one, with its attributes read back.
    published = [r for r in control.get("requests?caller=notify&operation=Publish")]
    assert [r["validated"] for r in published] == [True, True]
    assert [r["iam"]["denied"] for r in published] == [False, True]


def test_only_notify_reads_only_notification_secrets(emulator, control, roles, aws):
    sm = aws("secretsmanager")
    hook = sm.create_secret(Name="stevedore/notifications/iam-slack",
                            SecretString="http://127.0.0.1:9/hooks/x")["ARN"]
    app_secret = sm.create_secret(Name="prod/iam-db", SecretString="pw")["ARN"]
    notify = as_function(emulator, "secretsmanager", "notify")
    assert notify.get_secret_value(SecretId="stevedore/notifications/iam-slack")["ARN"] == hook
    with pytest.raises(ClientError) as err:
        notify.get_secret_value(SecretId=app_secret)
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    for function in ("render", "deploy", "record", "on-push"):
        with pytest.raises(ClientError) as err:
            as_function(emulator, "secretsmanager", function).get_secret_value(SecretId=hook)
        assert err.value.response["Error"]["Code"] == "AccessDeniedException", function
        assert "secretsmanager:GetSecretValue" in err.value.response["Error"]["Message"]


def test_notify_cannot_write_the_table(emulator, roles):
    ddb = as_function(emulator, "dynamodb", "notify")
    table = roles.tables["ReleaseTable"]
    with pytest.raises(ClientError) as err:
        ddb.put_item(TableName=table, Item={"PK": {"S": "APP#x"}, "SK": {"S": "CONFIG"}})
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "Item" not in ddb.get_item(TableName=table, Key={"PK": {"S": "APP#x"}, "SK": {"S": "CONFIG"}})


def test_query_forms_read_back_into_the_botocore_shape():
    shape = request_audit.service_model("sns").operation_model("Publish").input_shape
    form = query_protocol.form_of(
        "", "application/x-www-form-urlencoded",
        b"Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At"
        b"&Message=%7B%7D&MessageAttributes.entry.1.Name=app"
        b"&MessageAttributes.entry.1.Value.DataType=String"
        b"&MessageAttributes.entry.1.Value.StringValue=backend"
        b"&MessageAttributes.entry.2.Name=n&MessageAttributes.entry.2.Value.DataType=Number"
        b"&MessageAttributes.entry.2.Value.StringValue=3")
    assert query_protocol.params_of(shape, form) == {
        "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": "{}",
        "MessageAttributes": {"app": {"DataType": "String", "StringValue": "backend"},
                              "n": {"DataType": "Number", "StringValue": "3"}}}
    # Lists (member.N), an empty list, booleans.
    shape = request_audit.service_model("sns").operation_model("AddPermission").input_shape
    params = query_protocol.params_of(shape, {"TopicArn": "t", "Label": "l",
                                              "AWSAccountId.member.1": "111122223333",
                                              "AWSAccountId.member.2": "444455556666",
                                              "ActionName": ""})
    assert params == {"TopicArn": "t", "Label": "l",
                      "AWSAccountId": ["111122223333", "444455556666"], "ActionName": []}
    shape = request_audit.service_model("sns").operation_model("Subscribe").input_shape
    params = query_protocol.params_of(shape, {"TopicArn": "t", "Protocol": "sqs",
                                              "ReturnSubscriptionArn": "true",
                                              "Attributes.entry.1.key": "RawMessageDelivery",
                                              "Attributes.entry.1.value": "true"})
    assert params == {"TopicArn": "t", "Protocol": "sqs", "ReturnSubscriptionArn": True,
                      "Attributes": {"RawMessageDelivery": "true"}}


def test_a_malformed_topic_arn_is_a_violation(emulator, control, roles):
    notify = as_function(emulator, "sns", "notify")
    with pytest.raises(ClientError):
        notify.publish(TopicArn="arn:aws:sns:us-east-1:123:short-account", Message="x")
    found = [v for v in control.get("requests/violations?caller=notify")
             if v["member"] == "TopicArn"]
    assert found and found[0]["problem"] == "malformed sns topic ARN", json.dumps(found)
