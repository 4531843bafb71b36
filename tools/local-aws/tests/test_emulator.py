"""Lambda bridge, Step Functions error handling, EventBridge delivery, ECR push events."""

from __future__ import annotations

import json
import uuid

from conftest import ACCOUNT, REGION, run_execution, wait_for

FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"


def test_lambda_invoke_directly(aws, fake_lambda):
    lam = aws("lambda")
    out = lam.invoke(FunctionName=FN + "echo:live", Payload=json.dumps({"a": 1}))
    assert json.loads(out["Payload"].read()) == {"echo": {"a": 1}}
    assert "FunctionError" not in out
    err = lam.invoke(FunctionName="boom", Payload=b"{}")
    assert err["FunctionError"] == "Unhandled"
    assert json.loads(err["Payload"].read())["errorType"] == "DeploymentFailed"
    before = len(fake_lambda.payloads("echo"))
    ev = lam.invoke(FunctionName="echo", InvocationType="Event", Payload=b'{"async": true}')
    assert ev["StatusCode"] == 202
    wait_for(lambda: len(fake_lambda.payloads("echo")) > before, what="async invoke")


def test_invocations_of_one_function_in_flight_are_capped(aws, fake_lambda, monkeypatch):
    """More invocations of one function at once than the guard allows wait for a slot (see
    lambda_bridge.MAX_IN_FLIGHT_PER_FUNCTION); every one of them still runs."""
    import threading
    import time

    from stevedore_local import lambda_bridge

    monkeypatch.setattr(lambda_bridge, "MAX_IN_FLIGHT_PER_FUNCTION", 3)
    name = f"capped-{uuid.uuid4().hex[:8]}"
    state = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def slow(payload, n):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.2)
        with lock:
            state["now"] -= 1
        return 200, {"ok": n}

    fake_lambda.handlers[name] = slow
    lam = aws("lambda")
    for i in range(12):
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"i": i}))
    wait_for(lambda: len(fake_lambda.payloads(name)) == 12 and state["now"] == 0,
             what="every capped invocation")
    assert state["peak"] == 3, state


def test_lambda_invoke_retry_and_catch_on_error_type(aws, fake_lambda):
    definition = {
        "StartAt": "Flaky",
        "States": {
            "Flaky": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": FN + "flaky", "Payload.$": "$"},
                "ResultSelector": {"body.$": "$.Payload"},
                "ResultPath": "$.flaky",
                "Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 1,
                           "MaxAttempts": 3, "BackoffRate": 1.0}],
                "Next": "Boom",
            },
            "Boom": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": FN + "boom",
                               "Payload": {"msg.$": "States.Format('hi {}', $.who)"}},
                "Retry": [{"ErrorEquals": ["Throttled"], "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["DeploymentFailed"], "ResultPath": "$.error",
                           "Next": "Caught"}],
                "Next": "NotHere",
            },
            "NotHere": {"Type": "Fail", "Error": "ShouldNotGetHere"},
            "Caught": {"Type": "Pass", "Parameters": {
                "error.$": "$.error.Error",
                "cause.$": "States.StringToJson($.error.Cause)",
                "flaky.$": "$.flaky.body"}, "End": True},
        },
    }
    desc = run_execution(aws("stepfunctions"), definition, {"who": "you"}, timeout=60)
    assert desc["status"] == "SUCCEEDED", desc
    out = json.loads(desc["output"])
    assert out["error"] == "DeploymentFailed"
    assert out["cause"]["errorMessage"] == "it broke"
    assert out["flaky"] == {"ok": True}
    assert {"msg": "hi you"} in fake_lambda.payloads("boom")


def test_unnamed_executions_get_distinct_names(aws):
    sfn = aws("stepfunctions")
    sm = sfn.create_state_machine(
        name=f"pass-{uuid.uuid4().hex[:6]}", roleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    a = sfn.start_execution(stateMachineArn=sm["stateMachineArn"])["executionArn"]
    b = sfn.start_execution(stateMachineArn=sm["stateMachineArn"])["executionArn"]
    assert a != b and not a.endswith(":None")


def _rule(events, name, pattern, targets, state="ENABLED"):
    events.put_rule(Name=name, EventPattern=json.dumps(pattern), State=state)
    events.put_targets(Rule=name, Targets=targets)


def test_eventbridge_delivers_to_sfn_and_lambda_targets(aws, fake_lambda, control):
    events, sfn = aws("events"), aws("stepfunctions")
    source = f"test.{uuid.uuid4().hex[:6]}"
    sm = sfn.create_state_machine(
        name=f"evt-{uuid.uuid4().hex[:6]}", roleArn=f"arn:aws:iam::{ACCOUNT}:role/r",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))
    sm_arn = sm["stateMachineArn"]
    _rule(events, f"r1-{source}", {"source": [source], "detail": {"kind": [{"prefix": "go"}]}},
          [{"Id": "sfn", "Arn": sm_arn, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/r"},
           {"Id": "fn", "Arn": FN + "recorder"}])
    _rule(events, f"r2-{source}", {"source": [source]},
          [{"Id": "fn", "Arn": FN + "disabled-recorder"}], state="DISABLED")
    _rule(events, f"r3-{source}", {"source": [source]},
          [{"Id": "fn", "Arn": FN + "input-recorder", "Input": '{"fixed": 1}'}])

    res = events.put_events(Entries=[
        {"Source": source, "DetailType": "Thing Happened", "Detail": json.dumps({"kind": "gogo"})},
        {"Source": source, "DetailType": "Thing Happened", "Detail": json.dumps({"kind": "no"})},
    ])
    assert res["FailedEntryCount"] == 0
    event_id = res["Entries"][0]["EventId"]

    execs = wait_for(lambda: sfn.list_executions(stateMachineArn=sm_arn)["executions"],
                     what="execution from rule")
    assert len(execs) == 1
    got = json.loads(sfn.describe_execution(executionArn=execs[0]["executionArn"])["input"])
    assert got["id"] == event_id and got["detail"] == {"kind": "gogo"}
    assert got["detail-type"] == "Thing Happened" and got["account"] == ACCOUNT
    assert got["time"].endswith("Z") and got["resources"] == []
    rec = wait_for(lambda: [p for p in fake_lambda.payloads("recorder") if p["id"] == event_id],
                   what="lambda target")
    assert rec[0]["source"] == source
    wait_for(lambda: len(fake_lambda.payloads("input-recorder")) == 2, what="Input targets")
    assert fake_lambda.payloads("input-recorder")[0] == {"fixed": 1}
    assert fake_lambda.payloads("disabled-recorder") == []

    recorded = [e for e in control.get("events") if e["source"] == source]
    assert [e["detail"]["kind"] for e in recorded] == ["gogo", "no"]
    control.post("events/redeliver", recorded[0])
    execs = wait_for(lambda: (lambda x: x if len(x) == 2 else None)(
        sfn.list_executions(stateMachineArn=sm_arn)["executions"]), what="redelivery")
    inputs = [json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])
              for e in execs]
    assert inputs[0] == inputs[1] and inputs[0]["id"] == event_id


def test_ecr_put_image_emits_image_action(aws, fake_lambda, control):
    ecr, events = aws("ecr"), aws("events")
    repo = f"repo-{uuid.uuid4().hex[:6]}"
    ecr.create_repository(repositoryName=repo)
    _rule(events, f"push-{repo}", {"source": ["aws.ecr"], "detail-type": ["ECR Image Action"],
                                   "detail": {"action-type": ["PUSH"], "result": ["SUCCESS"],
                                              "repository-name": [repo]}},
          [{"Id": "fn", "Arn": FN + "on-push-test"}])
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"digest": "sha256:" + "a" * 64, "size": 1, "mediaType": "x"}, "layers": []}
    ecr.put_image(repositoryName=repo, imageManifest=json.dumps(manifest), imageTag="develop-1")
    digest = ecr.describe_images(repositoryName=repo)["imageDetails"][0]["imageDigest"]
    got = wait_for(lambda: fake_lambda.payloads("on-push-test"), what="ECR event")
    ev = got[0]
    assert ev["source"] == "aws.ecr" and ev["detail-type"] == "ECR Image Action"
    assert ev["resources"] == []
    assert ev["detail"] == {"result": "SUCCESS", "repository-name": repo, "image-digest": digest,
                            "action-type": "PUSH", "image-tag": "develop-1"}
    assert any(e["id"] == ev["id"] for e in control.get("events"))


def test_control_api_validation_and_reset(control):
    import urllib.error

    import pytest

    with pytest.raises(urllib.error.HTTPError) as err:
        control.post("ecs/deployment-fate", {"digest": "sha256:x", "fate": "maybe"})
    assert err.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as err:
        control.get("no/such/route")
    assert err.value.code == 404
    assert control.post("ecs/deployment-fate", {"digest": "repo@sha256:abc", "fate": "slow"})["key"] == "sha256:abc"
    assert control.post("ecs/task-fate", {"family": "f", "exit_code": "2"})["fate"] == {"exit_code": 2}
    control.post("reset")
    assert control.get("events") == [] and control.get("ecs/log") == []
    assert control.get("ecs/deployments") == []
