"""Creating a DynamoDB stream event source mapping: the settings Lambda refuses, the IAM it
requires of the function's role, and the mappings the bootstrap makes from template.yaml
(stream_mapping_config.py, bootstrap.py)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import boto3
import pytest

from conftest import ACCOUNT, REGION
from stream_fixtures import item, streams  # noqa: F401  (fixture)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import bootstrap  # noqa: E402
from cfn_template import BootstrapError, load_template  # noqa: E402

REPO = HERE.parents[2]
READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
        "dynamodb:ListStreams"]


@pytest.mark.parametrize("settings, says", [
    ({"StartingPosition": None}, "StartingPosition"),
    ({"StartingPosition": "AT_TIMESTAMP"}, "StartingPosition"),
    ({"BatchSize": 0}, "BatchSize"),
    ({"BatchSize": 10001}, "BatchSize"),
    ({"MaximumBatchingWindowInSeconds": 301}, "MaximumBatchingWindowInSeconds"),
    ({"MaximumRetryAttempts": -2}, "MaximumRetryAttempts"),
    ({"MaximumRecordAgeInSeconds": 59}, "MaximumRecordAgeInSeconds"),
    ({"FunctionResponseTypes": ["Everything"]}, "FunctionResponseTypes"),
    ({"ParallelizationFactor": 2}, "not emulated"),
    ({"FilterCriteria": {"Filters": [{"Pattern": "{not json"}]}}, "Pattern is invalid"),
    ({"FilterCriteria": {"Filters": [{"Pattern": '{"a": ["b"]}'}] * 6}}, "at most 5"),
    ({"DestinationConfig": {"OnFailure": {"Destination": f"arn:aws:sns:{REGION}:{ACCOUNT}:t"}}},
     "only SQS"),
])
def test_settings_lambda_refuses(streams, settings, says):
    _table, arn = streams.table()
    body = {"FunctionName": "f", "EventSourceArn": arn, "StartingPosition": "LATEST", **settings}
    assert says in streams.refusal({k: v for k, v in body.items() if v is not None})


def test_a_stream_that_does_not_exist_is_refused(streams):
    _table, arn = streams.table()
    gone = arn.rsplit("/", 1)[0] + "/2001-01-01T00:00:00.000"
    assert "Stream not found" in streams.refusal(
        {"FunctionName": "f", "EventSourceArn": gone, "StartingPosition": "LATEST"})


def role(*statements):
    return {"role_arn": f"arn:aws:iam::{ACCOUNT}:role/fn-role", "statements": list(statements)}


def test_the_role_must_let_lambda_read_the_stream_and_send_to_the_destination(streams):
    _table, arn = streams.table()
    _url, queue_arn = streams.queue()
    fn = streams.function()
    body = {"FunctionName": fn, "EventSourceArn": arn, "StartingPosition": "LATEST",
            "DestinationConfig": {"OnFailure": {"Destination": queue_arn}}}
    table_streams = arn.rsplit("/", 1)[0] + "/*"

    def load(*statements):
        streams.control.post("iam/roles", {"functions": {fn: role(*statements)}, "state_machines": {}})

    load({"Effect": "Allow", "Action": "dynamodb:DescribeStream", "Resource": table_streams})
    says = streams.refusal(body)
    assert says.startswith(f"InvalidParameterValueException: Cannot access stream {arn}")
    assert "dynamodb:GetRecords, dynamodb:GetShardIterator, dynamodb:ListStreams" in says

    read = {"Effect": "Allow", "Action": READ, "Resource": table_streams}
    load(read, {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn + "-other"})
    assert "does not have permissions to call SendMessage on SQS" in streams.refusal(body)

    load(read, {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn})
    assert streams.create(fn, arn, StartingPosition="LATEST",
                          DestinationConfig={"OnFailure": {"Destination": queue_arn}})["State"] == "Enabled"


def test_the_bootstrap_maps_the_release_table_stream_to_record(emulator, control):
    session = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name=REGION)
    res = bootstrap.bootstrap(session, emulator.url, REPO / "template.yaml", stack="streams")
    want = load_template(REPO / "template.yaml")["Resources"]["ReleaseChangesMapping"]["Properties"]
    table = session.client("dynamodb", endpoint_url=emulator.url).describe_table(
        TableName=res.tables["ReleaseTable"])["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True,
                                            "StreamViewType": "NEW_AND_OLD_IMAGES"}
    [mapping] = [m for m in control.get("lambda/event-source-mappings")
                 if m["UUID"] == res.event_source_mappings["ReleaseChangesMapping"]]
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:streams-ReleaseEventFailureQueue"
    assert mapping["FunctionName"] == "record"
    assert mapping["EventSourceArn"] == table["LatestStreamArn"]
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": queue}}
    for setting in ("StartingPosition", "BatchSize", "MaximumBatchingWindowInSeconds",
                    "MaximumRetryAttempts", "MaximumRecordAgeInSeconds",
                    "BisectBatchOnFunctionError", "FunctionResponseTypes", "FilterCriteria"):
        assert mapping[setting] == want[setting], setting
    control.post("lambda/event-source-mappings/delete", {"UUID": mapping["UUID"]})


def test_the_bootstrap_fails_when_record_may_not_read_the_stream(tmp_path, emulator):
    text = (REPO / "template.yaml").read_text()
    granted = "Action: [dynamodb:DescribeStream, dynamodb:GetRecords, dynamodb:GetShardIterator, dynamodb:ListStreams]"
    assert text.count(granted) == 1
    (tmp_path / "template.yaml").write_text(text.replace(granted, "Action: [dynamodb:DescribeStream]"))
    shutil.copytree(REPO / "statemachines", tmp_path / "statemachines")
    session = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name=REGION)
    with pytest.raises(BootstrapError, match="Cannot access stream .*does not allow "
                       "dynamodb:GetRecords, dynamodb:GetShardIterator, dynamodb:ListStreams"):
        bootstrap.bootstrap(session, emulator.url, tmp_path / "template.yaml", stack="nostream")


SAM_EVENT_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: PK, AttributeType: S}, {AttributeName: SK, AttributeType: S}]
      KeySchema: [{AttributeName: PK, KeyType: HASH}, {AttributeName: SK, KeyType: RANGE}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Failures:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: BINARY}}
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      CodeUri: .
      Events:
        Changes:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: LATEST
            DestinationConfig: {OnFailure: {Type: SQS, Destination: !GetAtt Failures.Arn}}
"""


def test_a_sam_dynamodb_event_becomes_a_mapping(tmp_path, emulator, control, fake_lambda):
    """SAM's own form: its managed policy (AWSLambdaDynamoDBExecutionRole) and the SQS policy
    OnFailure `Type: SQS` asks for let Lambda read the stream and send to the queue."""
    binary = "sam-event-fn"
    (tmp_path / "template.yaml").write_text(SAM_EVENT_TEMPLATE.replace("BINARY", binary))
    session = boto3.Session(aws_access_key_id="t", aws_secret_access_key="t", region_name=REGION)
    res = bootstrap.bootstrap(session, emulator.url, tmp_path / "template.yaml", stack="samevent")
    uuid = res.event_source_mappings["FnChanges"]
    [mapping] = [m for m in control.get("lambda/event-source-mappings") if m["UUID"] == uuid]
    assert mapping["FunctionName"] == binary and mapping["StartingPosition"] == "LATEST"
    session.client("dynamodb", endpoint_url=emulator.url).put_item(
        TableName=res.tables["Table"], Item=item("A", "1"))
    assert control.post("lambda/event-source-mappings/drain", {"UUID": uuid})["drained"]
    [payload] = fake_lambda.payloads(binary)
    assert payload["Records"][0]["dynamodb"]["StreamViewType"] == "NEW_IMAGE"
    control.post("lambda/event-source-mappings/delete", {"UUID": uuid})
