"""Notifications of a real release: record's "Stevedore Release State Change" events reach the
notify function (EventBridge rule), which posts Block Kit messages to a Slack webhook (the
emulator's local receiver), publishes chat applications' custom notifications to the stack's
SNS topic, and, when a webhook answers 500, fails so Lambda retries it and the event lands in
the notification dead-letter queue, the release left exactly as it was.

One release serves every test: its staging stage needs approval (a WAITING_FOR_APPROVAL event),
it is approved, then ECS's circuit breaker rolls it back (a ROLLED_BACK event)."""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

import pytest

from e2e_helpers import TERMINAL, ci_tag, run_state_machine
from example_app import seed_app

APP = "notify-e2e"
SLACK_SECRET = "stevedore/notifications/notify-e2e-slack"
BROKEN_SECRET = "stevedore/notifications/notify-e2e-broken"
RETRIES = 2  # the template's MaximumRetryAttempts for notify


def wait(what: str, fn, timeout: float = 60.0, poll: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def subscribe_queue(stack) -> str:
    """An SQS queue subscribed to the notification topic (as a chat channel would be)."""
    sqs, sns = stack.client("sqs"), stack.client("sns")
    url = sqs.create_queue(QueueName=f"{APP}-topic")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=stack.resources.topics["NotificationTopic"], Protocol="sqs", Endpoint=arn)
    return url


def drain(stack, queue_url: str) -> list[dict[str, Any]]:
    sqs, out = stack.client("sqs"), []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=1).get("Messages", [])
        if not messages:
            return out
        for message in messages:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture(scope="module")
def flow(stack):
    """The release, approved then rolled back, and where its notifications went."""
    receiver = stack.control("webhooks")["url"]
    token = secrets.token_hex(8)  # in the webhook paths: it must show up in no log
    slack_path, broken_path = f"/hooks/{token}/slack", f"/hooks/{token}/broken"
    sm = stack.client("secretsmanager")
    sm.create_secret(Name=SLACK_SECRET, SecretString=f"{receiver}{slack_path}")
    sm.create_secret(Name=BROKEN_SECRET, SecretString=json.dumps({"url": f"{receiver}{broken_path}"}))
    stack.control("webhooks/status", {"path": broken_path, "status": 500})
    topic_queue = subscribe_queue(stack)
    app = seed_app(stack, APP, staging_overrides={"approval": "required"}, app_overrides={
        "notifications": [{"slack": SLACK_SECRET},
                          {"webhook": BROKEN_SECRET, "on": ["ROLLED_BACK"]}]})

    digest = stack.push_image(app.repository, ci_tag(), layer_seed=f"{APP}-1")
    stack.control("ecs/deployment-fate", {"digest": digest, "fate": "unhealthy"})
    stack.wait_for_release(APP, "staging", lambda r: r.get("digest") == digest
                           and (r.get("approval_requested_at") or r.get("status") in TERMINAL))
    decided = run_state_machine(stack, "ApproveStateMachine",
                                {"app": APP, "stage": "staging", "decision": "approve", "by": "e2e"})
    assert decided["status"] == "SUCCEEDED", decided
    release = stack.wait_for_release(APP, "staging", lambda r: r.get("digest") == digest
                                     and r.get("status") in TERMINAL)
    assert release["status"] == "ROLLED_BACK", f"{release.get('status')}: {release.get('reason')}"
    # notify has run for ROLLED_BACK once the broken webhook heard of it: the release as it
    # was then is what the failed delivery must leave alone.
    wait("the broken webhook's first request", lambda: received(stack, broken_path))
    before = stack.releases(APP, "staging")
    return {"app": app, "digest": digest, "release": release, "before": before, "token": token,
            "slack": slack_path, "broken": broken_path, "topic_queue": topic_queue}


def received(stack, path: str) -> list[dict[str, Any]]:
    """What the receiver got on `path` (filtered here: a path in a control URL would be in the
    emulator's request log, and the test checks that no log holds one)."""
    return [r for r in stack.control("webhooks/received") if r["path"] == path]


def slack_messages(stack, flow) -> list[dict[str, Any]]:
    return [r["json"] for r in received(stack, flow["slack"])]


def one_message(messages: list[dict[str, Any]], outcome: str) -> dict[str, Any]:
    found = [m for m in messages if m["blocks"][0]["text"]["text"].endswith(f"{APP} · staging: {outcome}")]
    assert len(found) == 1, f"{len(found)} Slack messages say {outcome!r}: {json.dumps(messages)[:3000]}"
    return found[0]


def fields(message: dict[str, Any]) -> dict[str, str]:
    out = {}
    for block in message["blocks"]:
        for field in block.get("fields") or []:
            name, _, value = field["text"].partition("\n")
            out[name.strip("*")] = value
    return out


def test_the_slack_message_of_an_approval_needed_release(stack, flow):
    message = one_message(slack_messages(stack, flow), "waiting for approval")
    shown = fields(message)
    tag = flow["release"]["tag"]
    assert (shown["App"], shown["Stage"], shown["Outcome"], shown["Tag"]) == (
        APP, "staging", "WAITING_FOR_APPROVAL", f"`{tag}`")
    assert shown["Digest"] == f"`{flow['digest'][:19]}`"
    text = json.dumps(message)
    assert f'{{\\"app\\": \\"{APP}\\", \\"stage\\": \\"staging\\", \\"decision\\": \\"approve\\"}}' in text, text
    assert message["text"] == f"{APP}/staging waiting for approval: {tag}"


def test_the_slack_message_of_a_rolled_back_release(stack, flow):
    message = one_message(slack_messages(stack, flow), "rolled back")
    shown = fields(message)
    release = flow["release"]
    assert (shown["App"], shown["Stage"], shown["Outcome"]) == (APP, "staging", "ROLLED_BACK")
    assert shown["Tag"] == f"`{release['tag']}`"
    assert shown["Digest"] == f"`{flow['digest'][:19]}`"
    assert re.fullmatch(r"\d+s|\d+m \d+s|\d+h \d+m", shown["Duration"]), shown["Duration"]
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "text" in b]
    [reason] = [s for s in sections if s.startswith("*Reason*\n")]
    assert release["reason"][:60].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in reason
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    urls = [b["url"] for b in buttons]
    assert any(release["SK"].split("#")[1] in url for url in urls), f"no execution link: {urls}"
    assert all(url.startswith("https://") for url in urls), urls


def test_the_topic_gets_chat_custom_notifications(stack, flow):
    def ours() -> list[dict[str, Any]]:
        flow.setdefault("topic_messages", []).extend(drain(stack, flow["topic_queue"]))
        bodies = [json.loads(m["Message"]) for m in flow["topic_messages"]]
        return [b for b in bodies if b["metadata"]["additionalContext"].get("app") == APP]

    notifications = wait("both topic notifications", lambda: (lambda n: n if len(n) >= 2 else None)(ours()),
                         timeout=30)
    # The default filter: the approval wait and the rollback; no success off production.
    assert sorted(n["metadata"]["eventType"] for n in notifications) == ["ROLLED_BACK", "WAITING_FOR_APPROVAL"]
    release_id = flow["release"]["SK"].split("#")[1]
    for notification in notifications:
        assert (notification["version"], notification["source"]) == ("1.0", "custom")
        assert notification["content"]["textType"] == "client-markdown"
        assert notification["content"]["description"].startswith(f"*{APP}* `{flow['release']['tag']}`")
        assert notification["metadata"]["threadId"] == f"stevedore/{APP}/staging/{release_id}"
    envelope = next(m for m in flow["topic_messages"] if APP in m["Message"])
    assert envelope["Type"] == "Notification" and envelope["Subject"].startswith(f"Stevedore: {APP}/staging ")


def test_a_webhook_answering_500_changes_nothing_and_lands_in_the_dead_letter_queue(stack, flow):
    sqs = stack.client("sqs")
    dlq = sqs.get_queue_url(QueueName=stack.resources.queues["NotificationFailureQueue"])["QueueUrl"]

    def ours() -> list[dict[str, Any]]:
        flow.setdefault("dead_letters", []).extend(drain(stack, dlq))
        return [d for d in flow["dead_letters"] if d["requestPayload"]["detail"]["app"] == APP]

    [dead] = wait("the failed event in the dead-letter queue", ours, timeout=60)
    assert dead["requestContext"]["condition"] == "RetriesExhausted"
    assert dead["requestContext"]["approximateInvokeCount"] == 1 + RETRIES
    assert dead["requestPayload"]["detail"]["status"] == "ROLLED_BACK"
    assert dead["requestPayload"]["detail-type"] == "Stevedore Release State Change"
    assert "NotificationFailed" in dead["responsePayload"]
    assert BROKEN_SECRET in dead["responsePayload"]
    # Every attempt reached the broken webhook; the retries did not post to Slack again.
    assert [r["status"] for r in received(stack, flow["broken"])] == [500] * (1 + RETRIES)
    one_message(slack_messages(stack, flow), "rolled back")
    # The release, and every other release of the stage, exactly as they were.
    assert stack.releases(APP, "staging") == flow["before"]
    assert not (stack.head(APP, "staging") or {}).get("lock_holder")
    # notify only reads: its requests were GetItem, GetSecretValue and Publish, nothing else.
    counts = stack.control("requests/counts?caller=notify")["notify"]
    assert set(counts) <= {"dynamodb:GetItem", "secretsmanager:GetSecretValue", "sns:Publish"}, counts
    # The webhook URLs (their paths carry the token) are in no log of the stack.
    logs = stack.lambda_log.read_text(errors="replace") + stack.emulator_log.read_text(errors="replace")
    assert flow["token"] not in logs
    assert stack.control("requests/violations?caller=notify") == []
