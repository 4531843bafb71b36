"""EventBridge Scheduler schedules and EventBridge rule targets as IAM authorizes them.

- Scheduler (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html):
  GetSchedule / UpdateSchedule / CreateSchedule / DeleteSchedule act on the ``schedule``
  resource ``arn:${Partition}:scheduler:${Region}:${Account}:schedule/${GroupName}/${ScheduleName}``
  (the group is ``default`` when the request names none). CreateSchedule and UpdateSchedule
  hand the target's RoleArn to the service: iam:PassRole with iam:PassedToService
  ``scheduler.amazonaws.com``.
- EventBridge (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html):
  ListTargetsByRule / PutTargets / RemoveTargets act on the ``rule`` resource
  ``arn:${Partition}:events:${Region}:${Account}:rule/[${EventBusName}/]${RuleName}`` (no bus
  part on the default bus). PutTargets passes each target's RoleArn to EventBridge: iam:PassRole
  with iam:PassedToService ``events.amazonaws.com`` ("To be able to make API calls against the
  resources that you own, Amazon EventBridge needs the appropriate permissions ... EventBridge
  relies on IAM roles that you specify in the RoleARN argument in PutTargets":
  https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html).
- Listings (scheduler:ListSchedules, events:ListEventBuses, events:ListRules): what resource
  type they take, if any, is not settled in what we could read of the reference; they are
  authorized on "*", which only a policy granting "*" allows (right whether or not AWS has a
  resource type for them; template.yaml grants them on "*").
"""

from __future__ import annotations

from typing import Any

from .iam_request import Authorization, Lookup, Mapper, Where, _star, pass_role, request_context

SCHEDULER = "scheduler.amazonaws.com"
EVENTS = "events.amazonaws.com"


def schedule_arn(where: Where, p: dict[str, Any]) -> str:
    group = p.get("GroupName") or "default"
    return where.arn("scheduler", f"schedule/{group}/{p.get('Name', '')}")


def rule_arn(where: Where, p: dict[str, Any]) -> str:
    """The rule's ARN; EventBusName may be a name or an event bus ARN (of another account)."""
    bus = p.get("EventBusName") or "default"
    partition, region, account = where.partition, where.region, where.account
    if bus.startswith("arn:"):
        parts = bus.split(":", 5)
        if len(parts) == 6:
            partition, region, account = parts[1], parts[3], parts[4]
            bus = parts[5].split("/", 1)[-1]
    prefix = "" if bus == "default" else f"{bus}/"
    return f"arn:{partition}:events:{region}:{account}:rule/{prefix}{p.get('Rule', '')}"


def _schedule(action: str, passes_role: bool = False) -> Mapper:
    def mapper(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
        out = [Authorization(f"scheduler:{action}", schedule_arn(where, p), request_context(where))]
        role = (p.get("Target") or {}).get("RoleArn")
        if passes_role and role:
            out.append(pass_role(where, role, SCHEDULER))
        return out

    return mapper


def _rule(action: str, passes_roles: bool = False) -> Mapper:
    def mapper(where: Where, p: dict[str, Any], _l: Lookup) -> list[Authorization]:
        out = [Authorization(f"events:{action}", rule_arn(where, p), request_context(where))]
        if passes_roles:
            roles = {t.get("RoleArn") for t in p.get("Targets") or [] if t.get("RoleArn")}
            out += [pass_role(where, role, EVENTS) for role in sorted(roles)]
        return out

    return mapper


MAPPERS: dict[tuple[str, str], Mapper] = {
    ("scheduler", "GetSchedule"): _schedule("GetSchedule"),
    ("scheduler", "UpdateSchedule"): _schedule("UpdateSchedule", passes_role=True),
    ("scheduler", "CreateSchedule"): _schedule("CreateSchedule", passes_role=True),
    ("scheduler", "DeleteSchedule"): _schedule("DeleteSchedule"),
    ("scheduler", "ListSchedules"): _star("scheduler:ListSchedules"),
    ("events", "ListEventBuses"): _star("events:ListEventBuses"),
    ("events", "ListRules"): _star("events:ListRules"),
    ("events", "ListTargetsByRule"): _rule("ListTargetsByRule"),
    ("events", "PutTargets"): _rule("PutTargets", passes_roles=True),
    ("events", "RemoveTargets"): _rule("RemoveTargets"),
}
