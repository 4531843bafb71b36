"""Several accounts in one emulator: assumed roles, cross-account event buses, and Step Functions
tasks with `Credentials`.

moto keeps each account's resources apart and attributes a request to the account whose IAM
backend issued its access key (an `sts:AssumeRole` key belongs to the role's account) or to the
`x-moto-account-id` header. What moto does not check, and AWS does, is done here:

- AssumeRole needs both the caller's identity policy allowing `sts:AssumeRole` on the role and
  the role's trust policy naming the caller
  (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html;
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html);
  a role nobody created cannot be assumed.
- Requests signed with an assumed role's key are authorized by that role's policies, in its
  account.
- An event bus target in another account receives the event as it was (its `account`, `region`,
  `resources`), only when the receiving bus's policy allows the sending account, and events that
  came from another account are not forwarded on
  (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cross-account.html); the rule's
  target role must allow `events:PutEvents` on that bus.
- A Task state's `Credentials.RoleArn` makes Step Functions assume that role for the task
  (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-access-cross-acct-resources.html).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from . import iam_policy, iam_resources
from .state import STATE

ACCOUNT_HEADER = "x-moto-account-id"
ASSUMED_ROLE_HEADER = "x-stevedore-assumed-role"
_ACCESS_KEY = re.compile(r"Credential=([^/]+)/")


def account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else STATE.account


def assumed_role(headers: dict[str, str]) -> str | None:
    """The role ARN a request acts as, when it was signed with an assumed role's key (or a
    Step Functions task's `Credentials`)."""
    explicit = headers.get(ASSUMED_ROLE_HEADER)
    if explicit:
        return explicit
    match = _ACCESS_KEY.search(headers.get("authorization", ""))
    if not match:
        return None
    try:
        from moto.sts.models import sts_backends
    except ImportError:
        return None
    key = match.group(1)
    for partitions in list(sts_backends.values()):
        for backend in list(partitions.values()):
            found = backend.get_assumed_role_from_access_key(key)
            if found is not None:
                return found.role_arn
    return None


def _principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    aws = (principal or {}).get("AWS") if isinstance(principal, dict) else None
    return [aws] if isinstance(aws, str) else list(aws or [])


def _names(principal: str, caller_arn: str) -> bool:
    caller_account = account_of(caller_arn)
    return principal in ("*", caller_arn, caller_account, f"arn:aws:iam::{caller_account}:root")


TRUST_REFUSAL = "its trust policy does not name the caller"


def is_trust_refusal(refusal: str | None) -> bool:
    """A refusal by the role's side (its account's configuration, which Stevedore reports in
    the release's reason), not a gap in the caller's own template.yaml policy."""
    return bool(refusal) and (TRUST_REFUSAL in refusal or "(no such role)" in refusal)


def assume_refusal(roles: dict[str, dict[str, Any]], caller: dict[str, Any], role_arn: str,
                   external_id: str | None, where: iam_resources.Where) -> str | None:
    """Why AWS would refuse `caller` (a role of the template) assuming `role_arn`; None when
    both the caller's policy and the role's trust allow it."""
    ctx = iam_resources.request_context(where, {"sts:ExternalId": external_id} if external_id else {},
                                        {"sts:ExternalId", "sts:RoleSessionName"})
    allowed = iam_policy.evaluate(caller["statements"], "sts:AssumeRole", role_arn, ctx)
    if not allowed.allowed:
        return (f"{caller['role_arn']} is not authorized to perform: sts:AssumeRole on resource: "
                f"{role_arn} ({allowed.reason})")
    target = roles.get(role_arn)
    if target is None:
        return (f"{caller['role_arn']} is not authorized to perform: sts:AssumeRole on resource: "
                f"{role_arn} (no such role)")
    trusting = [{**s, "Resource": "*"} for s in (target.get("trust") or {}).get("Statement") or []
                if any(_names(p, caller["role_arn"]) for p in _principals(s))]
    trust = iam_policy.evaluate(trusting, "sts:AssumeRole", "*", ctx)
    if not trust.allowed:
        return (f"{caller['role_arn']} is not authorized to perform: sts:AssumeRole on resource: "
                f"{role_arn} ({TRUST_REFUSAL})")
    return None


# ------------------------------------------------------------------ EventBridge bus targets
def _bus_allows(bus: Any, sender_account: str) -> bool:
    import json

    document = json.loads(bus.policy or "{}")
    for statement in document.get("Statement") or []:
        actions = statement.get("Action")
        actions = [actions] if isinstance(actions, str) else actions or []
        if statement.get("Effect") == "Allow" and \
                any(a in ("events:PutEvents", "events:*") for a in actions) and \
                any(_names(p, f"arn:aws:iam::{sender_account}:root") for p in _principals(statement)):
            return True
    return False


def forward_to_bus(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> str | None:
    """Deliver `event` to the bus `target["Arn"]`; the refusal (printed, and the event not
    delivered) or None."""
    from moto.events.models import events_backends

    from .eventbridge import publish
    from .iam_enforce import ROLES

    arn = target["Arn"]
    _, _, _, region, account, resource = arn.split(":", 5)
    bus_name = resource.split("/", 1)[1]
    sender = rule.account_id
    refusal = None
    if event.get("account") not in (None, sender):
        refusal = f"event from account {event.get('account')} is not forwarded on by {sender}"
    elif account != sender:
        try:
            bus = events_backends[account][region].describe_event_bus(bus_name)
        except Exception:  # noqa: BLE001
            bus = None
        if bus is None:
            refusal = f"no event bus {arn}"
        elif not _bus_allows(bus, sender):
            refusal = f"the policy of {arn} does not allow account {sender} to put events"
    role_arn = target.get("RoleArn")
    with ROLES.lock:
        role = ROLES.roles.get(role_arn or "")
    if refusal is None and role is not None:
        where = iam_resources.Where(ROLES.partition, rule.region_name, sender)
        decision = iam_policy.evaluate(role["statements"], "events:PutEvents", arn,
                                       iam_resources.request_context(where))
        if not decision.allowed:
            refusal = f"{role_arn} may not events:PutEvents on {arn} ({decision.reason})"
    if refusal:
        print(f"[stevedore-local] {rule.name}: not forwarded: {refusal}", flush=True)
        return refusal
    publish(copy.deepcopy(event), bus_name, account=account, region=region)
    return None


# ------------------------------------------------------------------ Step Functions Credentials
def task_client_headers(machine_arn: str | None, role_arn: str | None) -> dict[str, str]:
    """Headers for a state machine's task client assuming `role_arn` (Credentials.RoleArn):
    the role's account and the role itself; raises PermissionError when AWS would refuse."""
    from .iam_enforce import ROLES

    if not role_arn or not machine_arn:
        return {}
    with ROLES.lock:
        caller = ROLES.state_machines.get(machine_arn)
        roles = dict(ROLES.roles)
        loaded = ROLES.loaded
    # Without `Credentials` the task runs as the state machine's own role (moto hands that).
    if not loaded or caller is None or role_arn in (caller["role_arn"], _machine_role(machine_arn)):
        return {}
    where = iam_resources.Where(ROLES.partition, STATE.region, account_of(machine_arn))
    refusal = assume_refusal(roles, caller, role_arn, None, where)
    if refusal:
        raise PermissionError(refusal)
    return {ACCOUNT_HEADER: account_of(role_arn), ASSUMED_ROLE_HEADER: role_arn}


def _machine_role(machine_arn: str) -> str | None:
    """The role the state machine was created with (moto's record of it)."""
    from moto.stepfunctions.models import stepfunctions_backends
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    region = machine_arn.split(":")[3]
    for backends in (stepfunctions_parser_backends, stepfunctions_backends):
        try:
            machine = backends[account_of(machine_arn)][region].describe_state_machine(machine_arn)
            return getattr(machine, "roleArn", None) or getattr(machine, "role_arn", None)
        except Exception:  # noqa: BLE001 - not in this store
            continue
    return None
