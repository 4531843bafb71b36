"""The events the emulator emits have exactly the shape of the samples in events/, which are
taken from AWS's documentation (events/README.md cites each page): the same top-level keys,
the same detail keys, recursively, with the same JSON value types. A field the emulator adds
or drops, or a value of another type, fails here before a function comes to rely on it."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from conftest import ACCOUNT, REGION, wait_for
from test_bluegreen import _digest as _bg_digest
from test_bluegreen import _fast, bg  # noqa: F401  (fixtures)
from test_rollouts import _digest, _remember_fake, svc  # noqa: F401  (fixtures)
from stream_fixtures import streams  # noqa: F401  (fixture)

EVENTS = Path(__file__).resolve().parents[3] / "events"
# Maps whose keys are data (service revision ARNs), not field names.
MAPS = {"testTrafficWeights", "productionTrafficWeights"}
# Free-form JSON the service configured, passed through as it is.
OPAQUE = {"hookDetails"}


def shape(value: Any, key: str | None = None) -> Any:
    if key in OPAQUE:
        return "object" if isinstance(value, dict) else type(value).__name__
    if key in MAPS:
        assert isinstance(value, dict), f"{key} is not a map: {value!r}"
        assert all(isinstance(k, str) and isinstance(v, int) for k, v in value.items()), value
        return "map<string, number>"
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(shape(v)) for v in value})
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    raise AssertionError(f"not JSON: {value!r}")


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def assert_same_shape(emitted: dict[str, Any], sample_name: str) -> None:
    assert shape(emitted) == shape(sample(sample_name)), (sample_name, emitted)


def test_the_shape_comparison_bites():
    base = sample("ecs-deployment-completed.json")
    extra = json.loads(json.dumps(base))
    extra["detail"]["serviceArn"] = "arn:aws:ecs:us-east-1:1:service/c/s"
    retyped = json.loads(json.dumps(base))
    retyped["detail"]["updatedAt"] = 1
    assert shape(extra) != shape(base) and shape(retyped) != shape(base)


def recorded(control, source: str, match) -> list[dict[str, Any]]:
    return [e for e in control.get("events") if e["source"] == source and match(e)]


def test_ecr_push_is_shaped_as_documented(aws, control):
    ecr = aws("ecr")
    repo = f"shape-{uuid.uuid4().hex[:6]}"
    ecr.create_repository(repositoryName=repo)
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"digest": "sha256:" + "a" * 64, "size": 1, "mediaType": "x"},
                           "layers": []})
    ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag="develop-1a2b3c4")
    [event] = wait_for(lambda: recorded(
        control, "aws.ecr", lambda e: e["detail"]["repository-name"] == repo), what="ECR event")
    assert_same_shape(event, "ecr-push.json")


def test_ecs_deployment_events_are_shaped_as_documented(svc, control):  # noqa: F811
    s = svc.create("shapes")
    first = svc.describe("shapes")["deployments"][0]["id"]
    digest = _digest()
    control.post("ecs/deployment-fate", {"digest": digest, "fate": "unhealthy"})
    failing = svc.ecs.update_service(cluster=svc.cluster, service="shapes",
                                     taskDefinition=svc.register(digest))["service"]
    failing_id = failing["deployments"][0]["id"]

    def mine(e):
        return s["serviceArn"] in e["resources"] and e["detail-type"] == "ECS Deployment State Change"

    def rolled_back():
        evs = recorded(control, "aws.ecs", mine)
        done = [e for e in evs if e["detail"]["eventName"] == "SERVICE_DEPLOYMENT_COMPLETED"
                and e["detail"]["deploymentId"] not in (first, failing_id)]
        return evs if done else None

    evs = wait_for(rolled_back, what="circuit-breaker rollback completed")
    by = {(e["detail"]["eventName"], e["detail"]["deploymentId"] == failing_id): e
          for e in evs if e["detail"]["deploymentId"] != first}
    assert_same_shape(by[("SERVICE_DEPLOYMENT_IN_PROGRESS", True)], "ecs-deployment-in-progress.json")
    assert_same_shape(by[("SERVICE_DEPLOYMENT_FAILED", True)], "ecs-deployment-failed.json")
    rollback = by[("SERVICE_DEPLOYMENT_IN_PROGRESS", False)]
    assert rollback["detail"]["reason"].startswith(
        "ECS deployment circuit breaker: rolling back to deploymentId ")
    assert_same_shape(rollback, "ecs-deployment-rollback.json")
    assert_same_shape(by[("SERVICE_DEPLOYMENT_COMPLETED", False)], "ecs-deployment-completed.json")


def _machine(sfn, definition: dict) -> str:
    return sfn.create_state_machine(
        name=f"shape-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn")["stateMachineArn"]


def _end_event(control, execution_arn: str) -> dict[str, Any]:
    [event] = wait_for(lambda: recorded(
        control, "aws.states", lambda e: e["detail"]["executionArn"] == execution_arn),
        what="execution status change")
    return event


def test_step_functions_ends_are_shaped_as_documented(aws, control):
    sfn = aws("stepfunctions")
    release = sample("deploy-input.json")
    failing = _machine(sfn, {"StartAt": "Boom", "States": {
        "Boom": {"Type": "Fail", "Error": "DeploymentFailed", "Cause": "it broke"}}})
    failed_arn = sfn.start_execution(stateMachineArn=failing, input=json.dumps(release))["executionArn"]
    failed = _end_event(control, failed_arn)
    assert failed["detail"]["status"] == "FAILED" and failed["resources"] == [failed_arn]
    assert json.loads(failed["detail"]["input"]) == release
    assert_same_shape(failed, "sfn-execution-failed.json")

    waiting = _machine(sfn, {"StartAt": "Wait", "States": {
        "Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}})
    stopped_arn = sfn.start_execution(stateMachineArn=waiting, input=json.dumps(release))["executionArn"]
    time.sleep(0.3)  # let it start waiting; the stop is what this checks, not its timing
    sfn.stop_execution(executionArn=stopped_arn, error="Operator", cause="wrong branch")
    aborted = _end_event(control, stopped_arn)
    assert aborted["detail"]["status"] == "ABORTED"
    assert_same_shape(aborted, "sfn-execution-aborted.json")
    # Not in the event (as documented), but DescribeExecution has them.
    described = sfn.describe_execution(executionArn=stopped_arn)
    assert (described["error"], described["cause"]) == ("Operator", "wrong branch")


def test_an_oversized_input_is_left_out_of_the_event(aws, control):
    sfn = aws("stepfunctions")
    machine = _machine(sfn, {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail"}}})
    big = {"padding": "x" * (250 * 1024)}
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(big))["executionArn"]
    detail = _end_event(control, arn)["detail"]
    assert detail["input"] is None and detail["inputDetails"] == {"included": False}


def test_the_lifecycle_hook_payload_is_shaped_as_documented(bg, control, fake_lambda):  # noqa: F811
    hook = bg.hook(lambda _payload, _n: (200, {"hookStatus": "SUCCEEDED"}))
    details = sample("deployment-hook.json")["hookDetails"]
    service = bg.create(f"hooked-{uuid.uuid4().hex[:4]}",
                        hooks=[(hook, ["POST_TEST_TRAFFIC_SHIFT"], details)])
    bg.deploy(service["serviceName"], bg.register(_bg_digest()))
    name = hook.rsplit(":", 1)[1]
    [payload] = wait_for(lambda: fake_lambda.payloads(name), what="hook invocation")
    assert payload["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    assert payload["hookDetails"] == details
    assert payload["executionDetails"]["serviceArn"] == service["serviceArn"]
    assert payload["resourceArn"].startswith(f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/")
    assert_same_shape(payload, "deployment-hook.json")


def test_a_release_table_stream_record_is_shaped_as_documented(streams):  # noqa: F811
    """The sample's release item goes from its OldImage to its NewImage in a table with a
    NEW_AND_OLD_IMAGES stream; the function gets the sample's event shape, item and all."""
    documented = sample("dynamodb-stream-release.json")["Records"][0]["dynamodb"]
    table, arn = streams.table("NEW_AND_OLD_IMAGES")
    fn = streams.function()
    mapping = streams.create(fn, arn, FilterCriteria={"Filters": [
        {"Pattern": '{"dynamodb": {"Keys": {"SK": {"S": [{"prefix": "REL#"}]}}}}'}]})
    streams.ddb.put_item(TableName=table, Item=documented["OldImage"])
    streams.ddb.put_item(TableName=table, Item=documented["NewImage"])
    streams.drain(mapping)
    records = [r for batch in streams.batches(fn) for r in batch]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY"]
    modify = records[1]
    assert modify["dynamodb"]["OldImage"] == documented["OldImage"]
    assert modify["dynamodb"]["NewImage"] == documented["NewImage"]
    assert_same_shape({"Records": [modify]}, "dynamodb-stream-release.json")
