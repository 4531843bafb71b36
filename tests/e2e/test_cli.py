"""The operator CLI against the emulated stack: each command in both output forms (a human
table and --json), its exit codes (0 done / a release that SUCCEEDED, 1 error, 2 usage,
3 refused or not found, 4 a release that did not succeed), and `--stack`, which reads the
table and state machine ARNs from the stack's outputs (the bootstrap registers the local
stack with CloudFormation).

Two apps, their releases shared by the tests (module fixtures): `cli-app` (staging
releases, a promotion, a rollback, a release ECS rolls back and its retry) and `cli-gate`
(staging behind an approval gate: one release approved, one rejected)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from e2e_helpers import ci_tag, finished_release
from stack import REPO_ROOT, LocalStack, target_dir


def cli(stack: LocalStack, *args: str, use_stack: bool = True,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `stevedore`. Every STEVEDORE_* variable of the functions' environment is dropped,
    so the table and state machines come from `--stack` (or from `env`)."""
    base = {k: v for k, v in stack.env.items() if not k.startswith("STEVEDORE_")}
    base.update(env or {})
    argv = [str(target_dir() / "debug" / "stevedore")]
    if use_stack:
        argv += ["--stack", stack.stack_name]
    return subprocess.run([*argv, *args], cwd=REPO_ROOT, env=base, capture_output=True,
                          text=True, timeout=120)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def release_id(release: dict[str, Any]) -> str:
    return release["SK"].split("#", 1)[1]


def release_of(stack: LocalStack, app: str, stage: str, rid: str) -> dict[str, Any]:
    [found] = [r for r in stack.releases(app, stage) if release_id(r) == rid]
    return found


# ------------------------------------------------------------------ the shared story

@pytest.fixture(scope="module")
def app(stack):
    from example_app import seed_app

    app = seed_app(stack, "cli-app", migration=False)
    tag = ci_tag()
    digest = stack.push_image(app.repository, tag, layer_seed="cli-app-a")
    first = finished_release(stack, app, digest)
    assert first["status"] == "SUCCEEDED", first.get("reason")
    return {"app": app, "a": first, "a_tag": tag, "a_digest": digest}


@pytest.fixture(scope="module")
def promoted(stack, app):
    """`promote --wait`: the human live view of the promotion to production."""
    proc = cli(stack, "promote", "cli-app", "--to", "production", "--wait")
    [release] = stack.releases("cli-app", "production")
    return proc, release


@pytest.fixture(scope="module")
def rolled_back(stack, app):
    """A second staging release (C), then `rollback --wait --json` back to A."""
    tag = ci_tag()
    digest = stack.push_image(app["app"].repository, tag, layer_seed="cli-app-c")
    assert finished_release(stack, app["app"], digest)["status"] == "SUCCEEDED"
    proc = cli(stack, "rollback", "cli-app", "staging", "--wait", "--json")
    return proc, tag, digest


@pytest.fixture(scope="module")
def rolled_back_by_ecs(stack, app):
    """A staging release (B) whose tasks fail their health checks: ECS rolls it back."""
    digest = stack.push_image(app["app"].repository, ci_tag(), layer_seed="cli-app-b")
    stack.control("ecs/deployment-fate", {"digest": digest, "fate": "unhealthy"})
    release = finished_release(stack, app["app"], digest)
    assert release["status"] == "ROLLED_BACK", release
    return release


def test_promote_wait_follows_the_release_and_exits_0_on_success(promoted, app):
    proc, release = promoted
    assert proc.returncode == 0, proc.stderr
    assert release["status"] == "SUCCEEDED" and release["trigger"] == "promote"
    assert release["digest"] == app["a_digest"]
    out = proc.stdout
    assert f"release {release_id(release)}" in out and f"from release {release_id(app['a'])}" in out
    for phase in ("pending", "lock acquired", "rendered", "rollout started", "SUCCEEDED"):
        assert phase in out, out
    assert "\x1b[" not in out, "no colour when stdout is not a terminal"


def test_rollback_wait_json_is_one_object_per_line(stack, rolled_back, app):
    proc, _, _ = rolled_back
    assert proc.returncode == 0, proc.stderr
    started, *events = json_lines(proc.stdout)
    assert started["source_release_id"] == release_id(app["a"]) and started["stage"] == "staging"
    assert started["execution_arn"].startswith("arn:aws:states:")
    assert [e["phase"] for e in events][:2] == ["pending", "lock_acquired"]
    assert events[-1]["phase"] == "finished" and events[-1]["status"] == "SUCCEEDED"
    assert {e["release_id"] for e in events} == {started["release_id"]}
    release = release_of(stack, "cli-app", "staging", started["release_id"])
    assert release["trigger"] == "rollback" and release["digest"] == app["a_digest"]


def test_a_rollback_with_nothing_to_return_to_exits_3(stack, promoted):
    for form in ([], ["--json"]):
        proc = cli(stack, "rollback", "cli-app", "production", "--no-wait", *form)
        assert proc.returncode == 3, proc
        assert "rollback of cli-app/production refused: no SUCCEEDED release" in proc.stderr
        assert proc.stdout == ""


def test_status_in_both_forms(stack, promoted, rolled_back):
    (_, production), (rollback, _, _) = promoted, rolled_back
    back_id = json_lines(rollback.stdout)[0]["release_id"]
    human = cli(stack, "status", "cli-app")
    assert human.returncode == 0, human.stderr
    rows = {line.split()[0]: line for line in human.stdout.splitlines()[2:] if line.startswith("  ")}
    assert release_id(production) in rows["production"] and back_id in rows["staging"], human.stdout
    as_json = cli(stack, "status", "--json")  # every app
    assert as_json.returncode == 0, as_json.stderr
    stages = {(s["app"], s["stage"]): s for s in json.loads(as_json.stdout)["stages"]}
    assert stages[("cli-app", "production")]["running"]["release_id"] == release_id(production)
    assert stages[("cli-app", "staging")]["running"]["release_id"] == back_id
    assert stages[("cli-app", "staging")]["in_flight"] is None
    missing = cli(stack, "status", "no-such-app")
    assert missing.returncode == 3 and "app `no-such-app` is not configured" in missing.stderr


def test_where_finds_every_stage_running_an_image(stack, app, promoted, rolled_back):
    _, c_tag, c_digest = rolled_back
    digest = app["a_digest"]
    human = cli(stack, "where", digest)
    assert human.returncode == 0, human.stderr
    running = [line.split()[:2] for line in human.stdout.splitlines()[1:] if line.startswith("cli-app")]
    assert running == [["cli-app", "production"], ["cli-app", "staging"]], human.stdout
    by_tag = cli(stack, "where", f"cli-app:{app['a_tag']}", "--json")
    assert by_tag.returncode == 0, by_tag.stderr
    found = json.loads(by_tag.stdout)
    assert found["digests"] == [digest]
    assert {(p["app"], p["stage"]) for p in found["running"]} == {("cli-app", "production"), ("cli-app", "staging")}
    # C was rolled back from: released to staging, running nowhere.
    gone = cli(stack, "where", c_tag, "--json")
    assert gone.returncode == 3, gone
    assert json.loads(gone.stdout)["not_running"][0]["release"]["digest"] == c_digest
    assert cli(stack, "where", "no-such-tag").returncode == 3
    usage = cli(stack, "where", digest[:19])
    assert usage.returncode == 2 and "not a whole digest" in usage.stderr


def test_a_release_that_did_not_succeed_exits_4(stack, rolled_back_by_ecs):
    failed_id = release_id(rolled_back_by_ecs)
    watched = cli(stack, "watch", "cli-app", "staging")
    assert watched.returncode == 4, watched
    assert failed_id in watched.stdout and "ROLLED_BACK" in watched.stdout
    assert f"release {failed_id} ended ROLLED_BACK" in watched.stderr
    by_id = cli(stack, "watch", failed_id, "--json")
    assert by_id.returncode == 4
    assert json_lines(by_id.stdout)[-1]["status"] == "ROLLED_BACK"
    # A retry of the same digest fails the same way: --wait says so with its exit code.
    retried = cli(stack, "retry", "cli-app", "staging", "--wait")
    assert retried.returncode == 4, retried
    assert "Retrying cli-app/staging" in retried.stdout and "ROLLED_BACK" in retried.stdout


# ------------------------------------------------------------------ the approval gate

@pytest.fixture(scope="module")
def gate(stack):
    from example_app import seed_app

    return seed_app(stack, "cli-gate", migration=False, staging_overrides={"approval": "required"})


def parked(stack, gate, seed_name: str) -> dict[str, Any]:
    digest = stack.push_image(gate.repository, ci_tag(), layer_seed=seed_name)
    release = stack.wait_for_release(gate.name, "staging", lambda r: r.get("digest") == digest and (
        r.get("approval_task_token") or r.get("status") in {"SUCCEEDED", "FAILED", "ROLLED_BACK"}))
    assert release.get("approval_task_token"), release
    return release


@pytest.fixture(scope="module")
def gate_parked(stack, gate):
    """A release of cli-gate/staging parked at the gate (its task token in the table)."""
    return parked(stack, gate, "cli-gate-1")


def test_history_and_status_never_print_the_parked_task_token(stack, gate_parked):
    token = gate_parked["approval_task_token"]
    for args in (["history", "cli-gate"], ["history", "cli-gate", "--json"],
                 ["status", "cli-gate"], ["status", "cli-gate", "--json"]):
        proc = cli(stack, *args)
        assert proc.returncode == 0, proc
        assert token not in proc.stdout and "approval_task_token" not in proc.stdout, args
    shown = json.loads(cli(stack, "history", "cli-gate", "--json").stdout)
    assert shown[0]["approval_requested_at"], "history shows that the release waits"
    status = cli(stack, "status", "cli-gate").stdout
    assert "waiting for approval" in status and f"held by {release_id(gate_parked)}" in status


def test_approve_signs_with_the_callers_identity_and_waits(stack, gate, gate_parked):
    # The state machine and table named by their variables alone (no --stack).
    env = {"STEVEDORE_TABLE": stack.table_name,
           "STEVEDORE_APPROVE_STATE_MACHINE": stack.resources.state_machines["ApproveStateMachine"]}
    release = gate_parked
    proc = cli(stack, "approve", "cli-gate", "staging", "--wait", use_stack=False, env=env)
    assert proc.returncode == 0, proc
    assert "SUCCEEDED" in proc.stdout
    caller = stack.client("sts").get_caller_identity()["Arn"]
    decided = release_of(stack, gate.name, "staging", release_id(release))
    assert decided["status"] == "SUCCEEDED"
    assert decided["approval_decision"] == f"approved by {caller}"
    # Nothing waits any more: a second decision is refused.
    again = cli(stack, "approve", "cli-gate", "staging", "--no-wait", use_stack=False, env=env)
    assert again.returncode == 3 and "no release of cli-gate/staging is waiting for approval" in again.stderr


def test_reject_waits_until_the_release_ended_rejected(stack, gate, gate_parked):
    release = parked(stack, gate, "cli-gate-2")
    proc = cli(stack, "reject", "cli-gate", "staging", "--reason", "change freeze", "--wait", "--json")
    assert proc.returncode == 0, proc
    started, *events = json_lines(proc.stdout)
    assert started["release_id"] == release_id(release) and started["decision"] == "reject"
    assert events[-1]["status"] == "FAILED" and "change freeze" in events[-1]["detail"]
    assert release_of(stack, gate.name, "staging", release_id(release))["status"] == "FAILED"


# ------------------------------------------------------------------ where Stevedore is

def test_settings_missing_or_wrong_exit_1_naming_the_fix(stack):
    unset = cli(stack, "status", use_stack=False)
    assert unset.returncode == 1 and "--stack NAME" in unset.stderr and "STEVEDORE_TABLE" in unset.stderr
    wrong = cli(stack, "--stack", "no-such-stack", "status", use_stack=False)
    assert wrong.returncode == 1 and "no stack `no-such-stack`" in wrong.stderr
    # A value named on its own wins over the stack's output.
    own = cli(stack, "status", "cli-app", env={"STEVEDORE_TABLE": "no-such-table"})
    assert own.returncode == 1, own
    assert "the release table `no-such-table` (from --table / STEVEDORE_TABLE) was not found" in own.stderr


def on_a_terminal(stack: LocalStack, *args: str, no_color: str | None) -> str:
    """What `stevedore --stack ... ARGS` writes to a terminal (a pseudo-terminal as stdout)."""
    import os
    import pty

    env = {k: v for k, v in stack.env.items() if not k.startswith("STEVEDORE_") and k != "NO_COLOR"}
    if no_color is not None:
        env["NO_COLOR"] = no_color
    leader, follower = pty.openpty()
    proc = subprocess.Popen([str(target_dir() / "debug" / "stevedore"), "--stack", stack.stack_name, *args],
                            cwd=REPO_ROOT, env=env, stdout=follower, stderr=subprocess.PIPE)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    return b"".join(chunks).decode()


def test_colour_only_on_a_terminal_and_never_under_no_color(stack, app):
    assert "\x1b[1mcli-app\x1b[0m" in on_a_terminal(stack, "status", "cli-app", no_color=None)
    assert "\x1b[" not in on_a_terminal(stack, "status", "cli-app", no_color="1")
    assert "\x1b[" not in cli(stack, "status", "cli-app").stdout
