"""The local webhook receiver: notify's Slack / webhook stand-in, with a control API listing
what each path received and setting what a path answers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post(url: str, body: object, headers: dict[str, str] | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with _opener.open(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.fixture()
def receiver(control):
    control.post("webhooks/clear")
    yield control.get("webhooks")["url"]
    control.post("webhooks/clear")


def test_it_answers_ok_and_keeps_each_request_per_path(control, receiver):
    assert receiver.startswith("http://127.0.0.1:")
    assert post(f"{receiver}/hooks/slack", {"text": "hi", "blocks": []},
                {"X-Stevedore-Event-Id": "e-1"}) == (200, "ok")
    assert post(f"{receiver}/hooks/audit?x=1", {"status": "FAILED"}) == (200, "ok")
    slack = control.get("webhooks/received?path=/hooks/slack")
    assert [(r["method"], r["path"], r["status"], r["json"]) for r in slack] == [
        ("POST", "/hooks/slack", 200, {"text": "hi", "blocks": []})]
    assert slack[0]["headers"]["x-stevedore-event-id"] == "e-1"
    assert slack[0]["headers"]["content-type"] == "application/json"
    everything = control.get("webhooks/received")
    assert [r["path"] for r in everything] == ["/hooks/slack", "/hooks/audit"]


def test_a_path_answers_the_status_it_was_given_until_cleared(control, receiver):
    assert control.post("webhooks/status", {"path": "/hooks/broken", "status": 500}) == {
        "ok": True, "path": "/hooks/broken", "status": 500}
    assert post(f"{receiver}/hooks/broken", {"n": 1}) == (500, "error 500")
    assert post(f"{receiver}/hooks/fine", {"n": 2})[0] == 200  # other paths are unaffected
    control.post("webhooks/status", {"path": "/hooks/broken", "clear": True})
    assert post(f"{receiver}/hooks/broken", {"n": 3})[0] == 200
    statuses = [r["status"] for r in control.get("webhooks/received?path=/hooks/broken")]
    assert statuses == [500, 200]
    # A non-JSON body is kept as text.
    req = urllib.request.Request(f"{receiver}/hooks/text", data=b"plain", method="POST")
    with _opener.open(req, timeout=10) as resp:
        assert resp.status == 200
    text = control.get("webhooks/received?path=/hooks/text")[0]
    assert (text["body"], text["json"]) == ("plain", None)


@pytest.mark.parametrize("body, message", [
    ({"path": "hooks/x", "status": 500}, "'path' must be a path starting with '/'"),
    ({"path": "/hooks/x", "status": 42}, "'status' must be an integer HTTP status 100-599"),
    ({"path": "/hooks/x", "status": True}, "'status' must be an integer HTTP status 100-599"),
    ({"status": 500}, "'path' must be a path starting with '/'"),
])
def test_bad_control_requests_are_refused(control, receiver, body, message):
    with pytest.raises(urllib.error.HTTPError) as err:
        control.post("webhooks/status", body)
    assert err.value.code == 400
    assert json.loads(err.value.read())["error"].startswith(message)


def test_reset_forgets_requests_and_statuses(control, receiver):
    control.post("webhooks/status", {"path": "/hooks/r", "status": 503})
    post(f"{receiver}/hooks/r", {})
    control.post("reset")
    assert control.get("webhooks/received") == []
    assert post(f"{receiver}/hooks/r", {})[0] == 200
