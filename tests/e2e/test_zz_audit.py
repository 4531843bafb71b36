"""Runs last (file name): every AWS request the functions, the state machine and the CLI sent
during the suite would be accepted by real AWS, as far as botocore's service model tells
(required members, types, enums, lengths, patterns) plus the ARN formats AWS checks
(secrets' valueFrom, IAM role ARNs, ECS / Step Functions ARNs), and every request of a
function or a state machine was allowed by its role in template.yaml (IAM: action, resource,
condition keys; a denial, an unevaluable condition key or an operation the emulator cannot map
to IAM is a violation with member `(iam)`). The emulator records, validates and authorizes each
request (tools/local-aws/stevedore_local/request_audit.py, iam_enforce.py); this reads its
verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

FUNCTIONS = ("on-push", "render", "migrate", "deploy", "on-ecs-event", "record", "promote",
             "rollback", "approve", "deployment-hook", "notify")
# Violations known to be real and reported, not yet fixed: (caller, operation, member) -> why.
# Each one turns its check into an xfail; anything else fails.
KNOWN_VIOLATIONS: dict[tuple[str, str, str], str] = {}


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"  {v['caller']} ({v['kind']}) -> {v['service']}:{v['operation']} member "
        f"`{v['member'] or '(request)'}`: {v['problem']} (value: {v['value']!r})"
        for v in violations)


def ran_with_the_suite(request) -> bool:
    """True when the other e2e modules ran in this session (not `pytest test_zz_audit.py`)."""
    here = Path(__file__).resolve()
    others = {Path(str(item.fspath)).resolve() for item in request.session.items} - {here}
    return any(p.parent == here.parent and p.name.startswith("test_") and "_zz_" not in p.name
               for p in others)


def check(stack, kinds: set[str]) -> None:
    found = [v for v in stack.control("requests/violations") if v["kind"] in kinds]
    unknown = [v for v in found if (v["caller"], v["operation"], v["member"]) not in KNOWN_VIOLATIONS]
    assert not unknown, (f"{len(unknown)} request(s) that real AWS would reject:\n"
                         + describe(unknown))
    if found:
        reasons = sorted({KNOWN_VIOLATIONS[(v["caller"], v["operation"], v["member"])] for v in found})
        pytest.xfail("known violations (reported, not fixed here):\n" + describe(found)
                     + "\n" + "\n".join(reasons))


def test_function_requests_are_valid(stack):
    check(stack, {"function"})


def test_state_machine_requests_are_valid(stack):
    check(stack, {"states"})


def test_services_acting_with_the_stacks_roles_are_allowed(stack):
    """ECS invoking the lifecycle hook with the stack's hook role: trusted, and allowed."""
    check(stack, {"service"})


def test_cli_and_unidentified_requests_are_valid(stack):
    check(stack, {"cli", "unknown"})


def test_audit_saw_every_function_and_the_state_machine(stack, request):
    if not ran_with_the_suite(request):
        pytest.skip("run with the whole e2e suite: alone, no function has sent anything")
    requests = stack.control("requests")
    validated: dict[str, set[str]] = {}
    for r in requests:
        if r["validated"]:
            validated.setdefault(r["caller"], set()).add(f"{r['service']}:{r['operation']}")
    missing = [f for f in FUNCTIONS if not validated.get(f)]
    assert not missing, (f"the audit saw no validated request from {missing}; callers seen: "
                         f"{sorted({(r['caller'], r['kind']) for r in requests})}")
    states = validated.get("states", set())
    for op in ("lambda:Invoke", "ecs:RunTask", "ecs:DescribeTasks", "codebuild:StartBuild",
               "codebuild:BatchGetBuilds"):
        assert op in states, f"no state machine {op} request was audited; saw {sorted(states)}"
    unvalidated = sorted({f"{r['caller']} {r['service']}:{r['operation']} ({r.get('not_validated')})"
                          for r in requests if r["kind"] in ("function", "states", "cli")
                          and not r["validated"]})
    assert not unvalidated, f"requests recorded but not validated: {unvalidated}"
    unknown = sorted({f"{r['service']}:{r['operation']}" for r in requests if r["kind"] == "unknown"})
    assert not unknown, f"requests from an unidentified caller: {unknown}"


def test_function_and_state_machine_requests_were_checked_against_their_roles(stack):
    """IAM enforcement was on: every request of a function or a state machine carries the
    outcome of its role's check (a request that skipped the check could hide a denial)."""
    assert stack.control("iam/roles")["loaded"], "the bootstrap loaded no roles: IAM was not enforced"
    unchecked = sorted({f"{r['caller']} {r['service']}:{r['operation']}" for r in stack.control("requests")
                        if r["kind"] in ("function", "states") and "iam" not in r})
    assert not unchecked, f"requests never checked against a role: {unchecked}"
