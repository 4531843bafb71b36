"""No push is silently lost: ECR delivers push events best effort, so a scheduled reconcile
lists each configured repository's images and releases those whose event never came; the
release id claims make it start nothing for pushes that were released already."""

from __future__ import annotations

import json
import time

from e2e_helpers import ci_tag, finished_release


def reconcile(stack):
    answer = stack.client("lambda").invoke(
        FunctionName="on-push", Payload=json.dumps({"action": "reconcile", "settle_seconds": 0}))
    assert "FunctionError" not in answer, answer
    return json.loads(answer["Payload"].read())


def test_a_push_whose_event_was_lost_is_released_by_the_reconcile(stack, seed):
    app = seed("lost-push", migration=False)
    delivered = stack.push_image(app.repository, ci_tag(), layer_seed="lost-push-0")
    assert finished_release(stack, app, delivered)["status"] == "SUCCEEDED"
    lost_tag = ci_tag()
    stack.control("events/drop", {"source": "aws.ecr", "detail": {"image-tag": lost_tag}})
    time.sleep(1.1)  # a later second than the delivered push
    lost = stack.push_image(app.repository, lost_tag, layer_seed="lost-push-1")
    time.sleep(3)
    assert [r for r in stack.releases(app.name, "staging") if r["digest"] == lost] == []

    out = reconcile(stack)
    assert out["reconciled"]["images"] >= 2, out
    release = finished_release(stack, app, lost)
    assert release["status"] == "SUCCEEDED", release.get("reason")
    assert release["tag"] == lost_tag and release["trigger"] == "push"
    assert stack.head(app.name, "staging")["current_release"] == release["release_id"]

    # Nothing twice: neither the push whose event arrived, nor the one just released.
    again = reconcile(stack)
    assert [r for r in again["releases"] if r["app"] == app.name] == [], again
    for digest in (delivered, lost):
        assert len([r for r in stack.releases(app.name, "staging") if r["digest"] == digest]) == 1


def test_an_event_the_function_keeps_failing_on_lands_in_the_queue_and_is_reconciled(stack, seed):
    app = seed("crashed-push", migration=False)
    tag = ci_tag()
    # The first attempt and Lambda's two retries all crash.
    # Only this push's event crashes: another on-push invocation must not use up the crashes.
    stack.control("faults", {"lambda": "on-push", "times": 3, "crash": "Runtime.ExitError",
                             "match": {"detail": {"image-tag": tag}}})
    digest = stack.push_image(app.repository, tag, layer_seed="crashed-push-1")
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=stack.resources.queues["AsyncInvokeFailureQueue"])["QueueUrl"]
    deadline, records = time.monotonic() + 60, []
    while not records and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        records += [json.loads(m["Body"]) for m in messages]
        records = [r for r in records if (r.get("requestPayload") or {}).get("detail", {}).get("image-tag") == tag]
    assert records, "the failed event never reached the on-failure queue"
    assert records[0]["requestContext"]["condition"] == "RetriesExhausted"
    assert records[0]["requestContext"]["approximateInvokeCount"] == 3
    assert [r for r in stack.releases(app.name, "staging") if r["digest"] == digest] == []

    reconcile(stack)
    assert finished_release(stack, app, digest)["status"] == "SUCCEEDED"


def test_every_event_rule_has_retries_and_a_dead_letter_queue():
    from pathlib import Path

    from cfn_template import load_template

    template = load_template(Path(__file__).resolve().parents[2] / "template.yaml")
    resources = template["Resources"]
    rules = [(lid, name, event["Properties"]) for lid, res in resources.items()
             for name, event in ((res.get("Properties") or {}).get("Events") or {}).items()
             if event.get("Type") in ("EventBridgeRule", "Schedule")]
    assert rules
    for lid, name, props in rules:
        assert props.get("RetryPolicy") and props.get("DeadLetterConfig"), (lid, name)
        function = resources[lid]["Properties"]
        destination = function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        assert destination["Type"] == "SQS", (lid, destination)
    alarmed = {res["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
               for res in resources.values() if res["Type"] == "AWS::CloudWatch::Alarm"
               and res["Properties"].get("Namespace") == "AWS/SQS"}
    queues = {lid for lid, res in resources.items() if res["Type"] == "AWS::SQS::Queue"}
    assert queues and queues == alarmed, (queues, alarmed)
