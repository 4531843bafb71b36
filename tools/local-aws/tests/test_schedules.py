"""EventBridge Scheduler schedules and EventBridge rules whose ECS target a release repoints:
moto's scheduler and events served through the emulator (signing, routing, request audit),
UpdateSchedule replacing the whole schedule as on AWS, and IAM as template.yaml grants it to
the deploy function (tests/test_schedules_iam.py)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION

CLUSTER = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/jobs"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/jobs-runner"
TD6 = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/report:6"
TD7 = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/report:7"
START = datetime(2031, 1, 1, tzinfo=timezone.utc)
END = datetime(2032, 1, 1, tzinfo=timezone.utc)


def schedule_target(task_definition: str, role: str = ROLE) -> dict:
    """A schedule target with every field a team may set."""
    return {
        "Arn": CLUSTER, "RoleArn": role, "Input": json.dumps({"containerOverrides": []}),
        "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600},
        "DeadLetterConfig": {"Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs-dlq"},
        "EcsParameters": {
            "TaskDefinitionArn": task_definition, "TaskCount": 2, "LaunchType": "FARGATE",
            "PlatformVersion": "1.4.0", "Group": "reports",
            "NetworkConfiguration": {"awsvpcConfiguration": {
                "Subnets": ["subnet-1"], "SecurityGroups": ["sg-1"], "AssignPublicIp": "DISABLED"}},
            "EnableECSManagedTags": True, "EnableExecuteCommand": False,
            "PlacementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
            "PropagateTags": "TASK_DEFINITION", "ReferenceId": "ref-1", "Tags": [{"team": "data"}]},
    }


def make_schedule(scheduler, role: str = ROLE) -> tuple[str, str]:
    """(group, name) of a new schedule whose every optional field is set."""
    group, name = f"jobs-{uuid.uuid4().hex[:6]}", "nightly-report"
    scheduler.create_schedule_group(Name=group)
    scheduler.create_schedule(
        Name=name, GroupName=group, ScheduleExpression="cron(0 3 * * ? *)",
        ScheduleExpressionTimezone="Europe/Berlin", StartDate=START, EndDate=END,
        Description="the nightly report", State="DISABLED", ActionAfterCompletion="DELETE",
        KmsKeyArn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        Target=schedule_target(TD6, role))
    return group, name


def as_sent_back(schedule: dict) -> dict:
    """A GetSchedule answer as UpdateSchedule's request (what the deploy function sends)."""
    return {k: v for k, v in schedule.items()
            if k not in ("Arn", "CreationDate", "LastModificationDate", "ResponseMetadata")}


def test_get_schedule_returns_the_whole_ecs_target(aws):
    scheduler = aws("scheduler")
    group, name = make_schedule(scheduler)
    got = scheduler.get_schedule(Name=name, GroupName=group)
    assert got["Arn"] == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/{name}"
    assert got["Target"] == schedule_target(TD6)
    assert (got["State"], got["ActionAfterCompletion"], got["Description"]) == (
        "DISABLED", "DELETE", "the nightly report")
    assert (got["StartDate"], got["EndDate"]) == (START, END)
    assert got["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert got["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}


def test_update_schedule_resets_every_field_it_is_not_sent(aws):
    # "if you do not set an optional field in your request, that field will be set to its
    # system-default value after the update" (UpdateSchedule API reference).
    scheduler = aws("scheduler")
    group, name = make_schedule(scheduler)
    scheduler.update_schedule(Name=name, GroupName=group, ScheduleExpression="rate(1 hour)",
                              FlexibleTimeWindow={"Mode": "OFF"},
                              Target={"Arn": CLUSTER, "RoleArn": ROLE})
    got = scheduler.get_schedule(Name=name, GroupName=group)
    for gone in ("Description", "KmsKeyArn", "StartDate", "EndDate"):
        assert gone not in got, gone
    assert got["State"] == "ENABLED"
    assert got["ActionAfterCompletion"] == "NONE"
    assert got["ScheduleExpressionTimezone"] == "UTC"
    # The default retry policy (185 attempts, 24 hours) replaces the one not sent.
    assert got["Target"] == {"Arn": CLUSTER, "RoleArn": ROLE, "RetryPolicy": {
        "MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}}


def test_a_schedule_sent_back_whole_changes_only_its_task_definition(aws):
    scheduler = aws("scheduler")
    group, name = make_schedule(scheduler)
    before = scheduler.get_schedule(Name=name, GroupName=group)
    request = as_sent_back(before)
    request["Target"]["EcsParameters"]["TaskDefinitionArn"] = TD7
    scheduler.update_schedule(**request)
    after = scheduler.get_schedule(Name=name, GroupName=group)
    assert after["Target"] == schedule_target(TD7)
    assert as_sent_back(after) == request


def test_missing_schedules_and_groups_are_resource_not_found(aws):
    scheduler = aws("scheduler")
    group, _ = make_schedule(scheduler)
    for call in (lambda: scheduler.get_schedule(Name="nope", GroupName=group),
                 lambda: scheduler.get_schedule(Name="nope", GroupName="no-such-group"),
                 lambda: scheduler.update_schedule(
                     Name="nope", GroupName=group, ScheduleExpression="rate(1 hour)",
                     FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": CLUSTER, "RoleArn": ROLE}),
                 lambda: scheduler.create_schedule(
                     Name="x", GroupName="no-such-group", ScheduleExpression="rate(1 hour)",
                     FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": CLUSTER, "RoleArn": ROLE})):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def rule_target(target_id: str, task_definition: str, role: str = ROLE, **extra) -> dict:
    return {"Id": target_id, "Arn": CLUSTER, "RoleArn": role, **extra, "EcsParameters": {
        "TaskDefinitionArn": task_definition, "TaskCount": 1, "LaunchType": "FARGATE",
        "Group": "hourly", "EnableExecuteCommand": True,
        "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": ["subnet-1"]}}}}


def make_rule(events, bus: str = "default", role: str = ROLE) -> str:
    name = f"hourly-{uuid.uuid4().hex[:6]}"
    if bus == "default":  # schedule expressions exist on the default bus only
        events.put_rule(Name=name, ScheduleExpression="rate(1 hour)")
    else:
        events.put_rule(Name=name, EventBusName=bus,
                        EventPattern=json.dumps({"source": ["jobs.trigger"]}))
    events.put_targets(Rule=name, EventBusName=bus, Targets=[
        rule_target("report", TD6, role, Input=json.dumps({"a": 1})),
        {"Id": "audit", "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:audit"}])
    return name


@pytest.mark.parametrize("bus", ["default", "jobs-bus"])
def test_rule_ecs_targets_round_trip_and_put_targets_replaces_a_target_whole(aws, bus):
    events = aws("events")
    if bus != "default" and not any(b["Name"] == bus for b in events.list_event_buses()["EventBuses"]):
        events.create_event_bus(Name=bus)
    rule = make_rule(events, bus)
    targets = events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
    assert targets[0] == rule_target("report", TD6, Input=json.dumps({"a": 1}))
    # The same Id without Input: PutTargets replaces the target, Input is gone.
    out = events.put_targets(Rule=rule, EventBusName=bus, Targets=[rule_target("report", TD7)])
    assert out["FailedEntryCount"] == 0
    targets = {t["Id"]: t for t in events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]}
    assert targets["report"] == rule_target("report", TD7)
    assert set(targets) == {"report", "audit"}


def test_a_missing_rule_is_resource_not_found(aws):
    with pytest.raises(ClientError) as err:
        aws("events").list_targets_by_rule(Rule="no-such-rule")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_scheduler_requests_are_recognised_and_validated(aws, control):
    control.post("requests/clear")
    scheduler = aws("scheduler")
    group, name = make_schedule(scheduler)
    scheduler.update_schedule(**as_sent_back(scheduler.get_schedule(Name=name, GroupName=group)))
    seen = [(r["service"], r["operation"], r["protocol"]) for r in control.get("requests")
            if r["service"] == "scheduler"]
    assert seen == [("scheduler", op, "rest-json") for op in
                    ("CreateScheduleGroup", "CreateSchedule", "GetSchedule", "UpdateSchedule")]
    from stevedore_local import request_audit

    # What a function's request is checked against: the full schedule is a valid UpdateSchedule.
    request = as_sent_back(scheduler.get_schedule(Name=name, GroupName=group))
    request["StartDate"], request["EndDate"] = START.timestamp(), END.timestamp()
    assert request_audit.validate("scheduler", "UpdateSchedule", request, REGION) == []
