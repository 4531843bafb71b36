"""Fault injection: AWS API errors in the services' JSON error shape, crashing Lambda functions."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import ACCOUNT, REGION, run_execution, wait_for

FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


@pytest.fixture()
def raw(emulator):
    """Clients that do not retry (boto3 retries throttling errors on its own)."""
    def client(service: str):
        return boto3.client(service, endpoint_url=emulator.url, region_name=REGION,
                            aws_access_key_id="local", aws_secret_access_key="local",
                            config=NO_RETRIES)

    return client


@pytest.fixture(autouse=True)
def no_faults(control):
    control.post("faults/clear")
    yield
    control.post("faults/clear")


def _service(aws, name: str) -> tuple[str, str]:
    ecs = aws("ecs")
    cluster = ecs.create_cluster(clusterName="faults")["cluster"]["clusterArn"]
    td = ecs.register_task_definition(
        family=f"{name}-td", containerDefinitions=[
            {"name": "app", "image": "public.ecr.aws/x/app:1", "memory": 128}],
    )["taskDefinition"]["taskDefinitionArn"]
    arn = ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=td,
                             desiredCount=1)["service"]["serviceArn"]
    return cluster, arn


def _task_definitions(aws, service_arn: str, cluster: str) -> str:
    return aws("ecs").describe_services(cluster=cluster, services=[service_arn])[
        "services"][0]["taskDefinition"]


def test_throttled_update_service_twice_then_succeeds(aws, raw, control, emulator):
    name = f"web-{uuid.uuid4().hex[:6]}"
    cluster, arn = _service(aws, name)
    td2 = aws("ecs").register_task_definition(
        family=f"{name}-td", containerDefinitions=[
            {"name": "app", "image": "public.ecr.aws/x/app:2", "memory": 128}],
    )["taskDefinition"]["taskDefinitionArn"]
    armed = control.post("faults", {
        "service": "ecs", "operation": "UpdateService", "match": {"service": name}, "times": 2,
        "error": {"code": "ThrottlingException", "message": "Rate exceeded", "status": 400}})
    assert armed["active"] and armed["remaining"] == 2 and armed["fired"] == 0
    ecs = raw("ecs")
    for attempt in range(2):  # the service named by ARN: matched by its last segment
        with pytest.raises(ClientError) as err:
            ecs.update_service(cluster=cluster, service=arn, taskDefinition=td2)
        assert err.value.response["Error"]["Code"] == "ThrottlingException"
        assert err.value.response["Error"]["Message"] == "Rate exceeded"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        # moto's state did not change
        assert _task_definitions(aws, arn, cluster).endswith(f"{name}-td:1")
    out = ecs.update_service(cluster=cluster, service=arn, taskDefinition=td2)
    assert out["service"]["taskDefinition"] == td2

    [listed] = control.get("faults")
    assert listed["id"] == armed["id"] and listed["fired"] == 2
    assert listed["remaining"] == 0 and listed["active"] is False
    # the audit recorded the faulted requests with their status
    recs = control.get("requests?operation=UpdateService")[-3:]
    assert [r["status"] for r in recs] == [400, 400, 200]
    assert [r.get("fault") for r in recs] == [armed["id"], armed["id"], None]


def test_sdk_retries_absorb_throttling(aws, control):
    """boto3 (and the Rust SDK) retry ThrottlingException: one call consumes both faults."""
    name = f"retry-{uuid.uuid4().hex[:6]}"
    cluster, arn = _service(aws, name)
    control.post("faults", {"service": "ecs", "operation": "UpdateService",
                            "match": {"service": name}, "times": 2,
                            "error": {"code": "ThrottlingException", "message": "Rate exceeded"}})
    out = aws("ecs").update_service(cluster=cluster, service=arn, desiredCount=3)
    assert out["service"]["desiredCount"] == 3
    assert control.get("faults")[0]["fired"] == 2


def test_raw_error_shape(raw, control, emulator):
    control.post("faults", {"service": "ecs", "operation": "ListClusters",
                            "error": {"code": "ServerException", "message": "oops",
                                      "status": 500}})
    req = urllib.request.Request(
        emulator.url + "/", data=b"{}", method="POST",
        headers={"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters",
                 "Content-Type": "application/x-amz-json-1.1"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    assert err.value.code == 500
    assert err.value.headers["x-amzn-ErrorType"] == "ServerException"
    assert err.value.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert json.loads(err.value.read()) == {"__type": "ServerException", "message": "oops"}


def test_match_that_does_not_apply_passes_through(aws, raw, control):
    name = f"api-{uuid.uuid4().hex[:6]}"
    cluster, arn = _service(aws, name)
    control.post("faults", {"service": "ecs", "operation": "UpdateService",
                            "match": {"service": "someone-else"}, "times": 5,
                            "error": {"code": "ThrottlingException", "message": "no"}})
    control.post("faults", {"service": "ecs", "operation": "DeleteService",
                            "match": {}, "error": {"code": "ClientException", "message": "no"}})
    out = raw("ecs").update_service(cluster=cluster, service=arn, desiredCount=2)
    assert out["service"]["desiredCount"] == 2
    assert [f["fired"] for f in control.get("faults")] == [0, 0]


def test_register_task_definition_client_exception_verbatim(raw, control):
    message = ("Container.image repository should be 255 characters or less: "
               "'<family>' isn't valid, \"quotes\" and unicode \u00e9 kept")
    control.post("faults", {"service": "ecs", "operation": "RegisterTaskDefinition",
                            "match": {"family": "broken"},
                            "error": {"code": "ClientException", "message": message}})
    ecs = raw("ecs")
    defs = [{"name": "app", "image": "public.ecr.aws/x/app:1", "memory": 128}]
    with pytest.raises(ClientError) as err:
        ecs.register_task_definition(family="broken", containerDefinitions=defs)
    assert err.value.response["Error"] == {"Code": "ClientException", "Message": message}
    assert ecs.list_task_definitions(familyPrefix="broken")["taskDefinitionArns"] == []
    out = ecs.register_task_definition(family="broken", containerDefinitions=defs)
    assert out["taskDefinition"]["revision"] == 1


def test_dynamodb_fault(aws, raw, control):
    table = f"releases-{uuid.uuid4().hex[:6]}"
    ddb = aws("dynamodb")
    ddb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    control.post("faults", {"service": "dynamodb", "operation": "PutItem",
                            "match": {"TableName": table},
                            "error": {"code": "ProvisionedThroughputExceededException",
                                      "message": "The level of configured provisioned "
                                                 "throughput for the table was exceeded."}})
    item = {"pk": {"S": "a"}}
    with pytest.raises(ClientError) as err:
        raw("dynamodb").put_item(TableName=table, Item=item)
    assert err.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert "Item" not in ddb.get_item(TableName=table, Key=item)
    raw("dynamodb").put_item(TableName=table, Item=item)
    assert ddb.get_item(TableName=table, Key=item)["Item"] == item


def test_secrets_manager_fault_by_arn_name(aws, raw, control):
    sm = aws("secretsmanager")
    arn = sm.create_secret(Name=f"app/db-{uuid.uuid4().hex[:4]}", SecretString="s")["ARN"]
    name = arn.split(":secret:", 1)[1][:-7]  # the name without the ARN's "-XXXXXX"
    control.post("faults", {"service": "secretsmanager", "operation": "GetSecretValue",
                            "match": {"SecretId": "app/other"},
                            "error": {"code": "InternalServiceError", "message": "x",
                                      "status": 500}})
    assert raw("secretsmanager").get_secret_value(SecretId=arn)["SecretString"] == "s"
    control.post("faults", {"service": "secretsmanager", "operation": "GetSecretValue",
                            "match": {"SecretId": name},
                            "error": {"code": "InternalServiceError", "message": "x",
                                      "status": 500}})
    with pytest.raises(ClientError) as err:
        raw("secretsmanager").get_secret_value(SecretId=arn)
    assert err.value.response["Error"]["Code"] == "InternalServiceError"


def test_lambda_crash_is_caught_once_then_function_works(aws, control, fake_lambda):
    definition = {
        "StartAt": "Render",
        "States": {
            "Render": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": FN + "echo", "Payload": {"n": 1}},
                "ResultSelector": {"body.$": "$.Payload"},
                "Catch": [{"ErrorEquals": ["Runtime.ExitError"], "ResultPath": "$.error",
                           "Next": "Crashed"}],
                "End": True,
            },
            "Crashed": {"Type": "Pass", "Parameters": {
                "error.$": "$.error.Error",
                "cause.$": "States.StringToJson($.error.Cause)"}, "End": True},
        },
    }
    message = "RequestId: 1 Error: Runtime exited with error: signal: aborted (core dumped)"
    armed = control.post("faults", {"lambda": "echo", "times": 1, "crash": "Runtime.ExitError",
                                    "message": message})
    before = len(fake_lambda.payloads("echo"))
    sfn = aws("stepfunctions")
    crashed = run_execution(sfn, definition, timeout=60)
    assert crashed["status"] == "SUCCEEDED", crashed
    out = json.loads(crashed["output"])
    assert out["error"] == "Runtime.ExitError"
    assert out["cause"] == {"errorType": "Runtime.ExitError", "errorMessage": message}
    assert len(fake_lambda.payloads("echo")) == before  # the function was not called
    works = run_execution(sfn, definition, timeout=60)
    assert json.loads(works["output"]) == {"body": {"echo": {"n": 1}}}
    assert [(f["id"], f["fired"]) for f in control.get("faults")] == [(armed["id"], 1)]


def test_lambda_timeout_sync_and_async(aws, control, fake_lambda):
    control.post("faults", {"lambda": FN + "echo", "times": 2, "crash": "Sandbox.Timedout",
                            "timeout_seconds": 30})
    lam = aws("lambda")
    out = lam.invoke(FunctionName="echo", Payload=b"{}")
    assert out["FunctionError"] == "Unhandled"
    payload = json.loads(out["Payload"].read())
    assert payload["errorType"] == "Sandbox.Timedout"
    assert payload["errorMessage"].endswith("Error: Task timed out after 30.00 seconds")
    before = len(fake_lambda.payloads("echo"))
    lam.invoke(FunctionName="echo", InvocationType="Event", Payload=b"{}")
    wait_for(lambda: control.get("faults")[0]["fired"] == 2, what="async crash")
    # Lambda retries a failed asynchronous invocation (twice by default): the retry, no
    # longer faulted, reaches the function.
    wait_for(lambda: len(fake_lambda.payloads("echo")) == before + 1, what="async retry")
    assert "FunctionError" not in lam.invoke(FunctionName="echo", Payload=b"{}")


def test_lambda_crash_with_match_fires_only_for_payloads_that_contain_it(aws, control,
                                                                         fake_lambda):
    control.post("faults", {"lambda": "echo", "times": 1, "crash": "Runtime.ExitError",
                            "match": {"detail": {"image-tag": "v2"}}})
    lam = aws("lambda")
    other = b'{"detail": {"image-tag": "v1", "repository-name": "web"}}'
    assert "FunctionError" not in lam.invoke(FunctionName="echo", Payload=other)
    assert control.get("faults")[0]["fired"] == 0
    wanted = b'{"detail": {"image-tag": "v2", "repository-name": "web"}}'
    assert lam.invoke(FunctionName="echo", Payload=wanted)["FunctionError"] == "Unhandled"
    assert control.get("faults")[0]["fired"] == 1


def test_listing_counts_and_reset_clears(control, raw):
    a = control.post("faults", {"service": "stepfunctions", "operation": "ListStateMachines",
                                "times": None, "error": {"code": "ThrottlingException",
                                                         "message": "slow down"}})
    b = control.post("faults", {"lambda": "render", "crash": "Runtime.ExitError"})
    for _ in range(3):
        with pytest.raises(ClientError):
            raw("stepfunctions").list_state_machines()
    listed = {f["id"]: f for f in control.get("faults")}
    assert listed[a["id"]]["fired"] == 3 and listed[a["id"]]["remaining"] is None
    assert listed[a["id"]]["active"] is True
    assert listed[b["id"]]["fired"] == 0 and listed[b["id"]]["remaining"] == 1
    assert control.post("faults/clear", {"id": b["id"]})["cleared"] == 1
    assert [f["id"] for f in control.get("faults")] == [a["id"]]
    control.post("reset")
    assert control.get("faults") == []
    raw("stepfunctions").list_state_machines()


@pytest.mark.parametrize("body", [
    {"service": "ecs", "operation": "NoSuchOp", "error": {"code": "X"}},
    {"service": "ec2", "operation": "DescribeVpcs", "error": {"code": "X"}},
    {"service": "ecs", "operation": "ListClusters"},
    {"service": "ecs", "operation": "ListClusters", "error": {"code": "X", "status": 200}},
    {"service": "ecs", "operation": "ListClusters", "times": 0, "error": {"code": "X"}},
    {"lambda": "", "crash": "Runtime.ExitError"},
    {"lambda": "echo", "crash": "Runtime.ExitError", "match": ["detail"]},
])
def test_bad_fault_definitions_are_rejected(control, body):
    with pytest.raises(urllib.error.HTTPError) as err:
        control.post("faults", body)
    assert err.value.code == 400
    assert control.get("faults") == []


def test_lambda_invoke_api_fault_rest_json(raw, control, fake_lambda):
    control.post("faults", {"service": "lambda", "operation": "Invoke",
                            "match": {"FunctionName": "echo"},
                            "error": {"code": "TooManyRequestsException",
                                      "message": "Rate Exceeded.", "status": 429}})
    before = len(fake_lambda.payloads("echo"))
    with pytest.raises(ClientError) as err:
        raw("lambda").invoke(FunctionName=FN + "echo", Payload=b"{}")
    assert err.value.response["Error"] == {"Code": "TooManyRequestsException",
                                           "Message": "Rate Exceeded."}
    assert len(fake_lambda.payloads("echo")) == before
