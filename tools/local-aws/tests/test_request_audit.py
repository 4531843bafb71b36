"""Request audit: every request is recorded with its caller; a function's request that real AWS
would reject is reported (operation, member, problem), one it would accept is not."""

from __future__ import annotations

import json
import uuid

import boto3
from botocore.config import Config
from conftest import ACCOUNT, REGION, run_execution

SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:staging/app/db-AbCdEf"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/app-execution"


def function_client(emulator, service: str, function: str):
    """A client that identifies as Lambda function `function` (user agent `app/<function>`)
    and, like a buggy function, skips botocore's own parameter validation."""
    return boto3.client(service, endpoint_url=emulator.url, region_name=REGION,
                        aws_access_key_id="local", aws_secret_access_key="local",
                        config=Config(user_agent_appid=function, parameter_validation=False,
                                      retries={"max_attempts": 1}))


def taskdef(**overrides):
    td = {
        "family": "audit", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512", "executionRoleArn": ROLE_ARN, "taskRoleArn": ROLE_ARN,
        "containerDefinitions": [{
            "name": "web", "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/app@sha256:" + "a" * 64,
            "essential": True,
            "secrets": [{"name": "DB", "valueFrom": SECRET_ARN},
                        {"name": "DB_PASSWORD", "valueFrom": f"{SECRET_ARN}:password::"},
                        {"name": "PARAM", "valueFrom": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/x"}],
        }],
    }
    td.update(overrides)
    return td


def violations(control, caller):
    return control.get(f"requests/violations?caller={caller}")


def call(fn, **kwargs):
    try:
        fn(**kwargs)
    except Exception:  # noqa: BLE001 - moto may or may not reject it: the audit must report it
        pass


def only(found, operation, member):
    assert [(v["operation"], v["member"]) for v in found] == [(operation, member)], found
    return found[0]


def test_good_requests_have_no_violations(emulator, control):
    fn = f"fn-good-{uuid.uuid4().hex[:6]}"
    ecs = function_client(emulator, "ecs", fn)
    ecs.register_task_definition(**taskdef())
    ecs.list_task_definitions(familyPrefix="audit", status="ACTIVE")
    function_client(emulator, "dynamodb", fn).list_tables(Limit=10)
    assert violations(control, fn) == []
    seen = control.get(f"requests?caller={fn}")
    assert [(r["kind"], r["service"], r["operation"], r["validated"]) for r in seen] == [
        ("function", "ecs", "RegisterTaskDefinition", True),
        ("function", "ecs", "ListTaskDefinitions", True),
        ("function", "dynamodb", "ListTables", True)]
    assert seen[0]["status"] == 200


def test_missing_required_member(emulator, control):
    fn = f"fn-{uuid.uuid4().hex[:6]}"
    call(function_client(emulator, "ecs", fn).describe_services, cluster="c")
    v = only(violations(control, fn), "DescribeServices", "services")
    assert v["problem"] == "missing required member" and v["caller"] == fn and v["kind"] == "function"


def test_bad_enum(emulator, control):
    fn = f"fn-{uuid.uuid4().hex[:6]}"
    call(function_client(emulator, "ecs", fn).register_task_definition,
         **taskdef(networkMode="vpc"))
    v = only(violations(control, fn), "RegisterTaskDefinition", "networkMode")
    assert "enum" in v["problem"] and v["value"] == "vpc"


def test_bad_value_from_arn(emulator, control):
    fn = f"fn-{uuid.uuid4().hex[:6]}"
    td = taskdef()
    secrets = td["containerDefinitions"][0]["secrets"]
    secrets[1]["valueFrom"] = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:staging/app/db"
    secrets.append({"name": "X", "valueFrom": f"arn:aws:s3:::bucket/key"})
    call(function_client(emulator, "ecs", fn).register_task_definition, **td)
    found = violations(control, fn)
    assert [v["member"] for v in found] == ["containerDefinitions[0].secrets[1].valueFrom",
                                            "containerDefinitions[0].secrets[3].valueFrom"], found
    assert "Secrets Manager secret ARN" in found[0]["problem"]
    assert "only secretsmanager and ssm" in found[1]["problem"]


def test_bad_role_arn(emulator, control):
    fn = f"fn-{uuid.uuid4().hex[:6]}"
    call(function_client(emulator, "ecs", fn).register_task_definition,
         **taskdef(executionRoleArn="ecsTaskExecutionRole",
                   taskRoleArn=f"arn:aws:iam::{ACCOUNT}:user/someone"))
    found = violations(control, fn)
    assert [v["member"] for v in found] == ["executionRoleArn", "taskRoleArn"], found
    assert all("IAM role ARN" in v["problem"] for v in found)


def test_too_long_string_and_bad_ecs_arn(emulator, control):
    fn = f"fn-{uuid.uuid4().hex[:6]}"
    sfn = function_client(emulator, "stepfunctions", fn)
    call(sfn.start_execution, stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:nope",
         name="n" * 81, input="{}")
    v = only(violations(control, fn), "StartExecution", "name")
    assert v["problem"].startswith("too long: 81 characters, max 80")
    ecs = function_client(emulator, "ecs", fn)
    call(ecs.update_service, cluster=f"arn:aws:ecs:{REGION}:{ACCOUNT}:clusters/c", service="s")
    v = violations(control, fn)[-1]
    assert (v["operation"], v["member"]) == ("UpdateService", "cluster")
    assert v["problem"] == "malformed ecs cluster ARN"


def test_pattern_checked(emulator, control):
    fn = f"fn-{uuid.uuid4().hex[:6]}"
    call(function_client(emulator, "stepfunctions", fn).start_execution,
         stateMachineArn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:x", traceHeader="é")
    v = only(violations(control, fn), "StartExecution", "traceHeader")
    assert "pattern" in v["problem"]


def test_callers_test_states_and_query_protocol(aws, control, fake_lambda):
    ec2 = aws("ec2")
    ec2.describe_vpcs()
    mine = [r for r in control.get("requests?caller=test") if r["operation"] == "DescribeVpcs"]
    assert mine and mine[-1]["service"] == "ec2" and mine[-1]["protocol"] == "query"
    assert not mine[-1]["validated"]  # tests' own requests are recorded, not validated

    definition = {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo",
                       "Payload": {"audit": True}}, "End": True}}}
    before = len(control.get("requests?caller=states&operation=Invoke"))
    desc = run_execution(aws("stepfunctions"), definition)
    assert desc["status"] == "SUCCEEDED", desc
    invokes = control.get("requests?caller=states&operation=Invoke")
    assert len(invokes) == before + 1 and invokes[-1]["service"] == "lambda"
    assert invokes[-1]["kind"] == "states" and invokes[-1]["validated"]
    assert control.get("requests/violations?caller=states") == []

    counts = control.get("requests/counts?caller=test")
    assert counts["test"]["ec2:DescribeVpcs"] >= 1
    assert json.loads(json.dumps(counts))  # plain JSON


def test_query_protocol_requests_are_validated_too(emulator, control):
    """CloudFormation and STS speak the query protocol (form fields, `Name.member.N` lists):
    their requests are read back into the model's shape and validated like JSON ones."""
    fn = f"fn-query-{uuid.uuid4().hex[:6]}"
    sts = function_client(emulator, "sts", fn)
    sts.get_caller_identity()
    cfn = function_client(emulator, "cloudformation", fn)
    call(cfn.list_stacks, StackStatusFilter=["CREATE_COMPLETE", "NOT_A_STATUS"])
    call(cfn.describe_stacks, StackName="s", NextToken="")
    seen = [r for r in control.get(f"requests?caller={fn}")]
    assert [(r["operation"], r["protocol"], r["validated"]) for r in seen] == [
        ("GetCallerIdentity", "query", True), ("ListStacks", "query", True),
        ("DescribeStacks", "query", True)], seen
    found = violations(control, fn)
    assert sorted((v["operation"], v["member"]) for v in found) == [
        ("DescribeStacks", "NextToken"), ("ListStacks", "StackStatusFilter[1]")], found


def test_query_fields_are_read_into_maps_lists_and_scalars():
    from stevedore_local import query_protocol
    from stevedore_local.request_audit import service_model

    shape = service_model("sns").operation_model("Publish").input_shape
    form = {"Action": "Publish", "Version": "2010-03-31", "TopicArn": "arn:t",
            "Message": "hi", "MessageAttributes.entry.1.Name": "kind",
            "MessageAttributes.entry.1.Value.DataType": "String",
            "MessageAttributes.entry.1.Value.StringValue": "release", "Bogus": "1"}
    assert query_protocol.params_of(shape, form) == {
        "TopicArn": "arn:t", "Message": "hi", "Bogus": "1",
        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "release"}}}
    listing = service_model("cloudformation").operation_model("ListStacks").input_shape
    assert query_protocol.params_of(listing, {"StackStatusFilter": ""}) == {"StackStatusFilter": []}
