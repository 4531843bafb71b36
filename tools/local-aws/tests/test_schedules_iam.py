"""IAM for schedules and rule targets, enforced by the emulator with the roles template.yaml
deploys (PassRoleNamePattern set to ``jobs-*``): the deploy function may read and repoint a
schedule or a rule's targets, passing only roles of the pattern and only to Scheduler and
EventBridge; it may not create, delete or remove them; other functions may not touch them."""

from __future__ import annotations

import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION
from test_schedules import CLUSTER, TD6, TD7, as_sent_back, make_rule, make_schedule, rule_target

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import iam_roles  # noqa: E402

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
OUTSIDE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/someone-elses"


@pytest.fixture(scope="module")
def template_roles():
    return iam_roles.roles(TEMPLATE, "schedunit", REGION, {"PassRoleNamePattern": "jobs-*"})


@pytest.fixture()
def roles(template_roles, control):
    """Loaded for this test only (conftest unloads them afterwards)."""
    control.post("iam/roles", template_roles)
    control.post("requests/clear")
    yield template_roles
    control.post("requests/clear")


def as_function(emulator, service: str, function: str):
    """A client whose requests carry the function's app id, as the Rust SDK's do in Lambda."""
    return boto3.client(service, endpoint_url=emulator.url, region_name=REGION,
                        aws_access_key_id="local", aws_secret_access_key="local",
                        config=Config(user_agent_appid=function, retries={"max_attempts": 1}))


def iam_problems(control, caller: str) -> list[str]:
    return [v["problem"] for v in control.get("requests/violations")
            if v.get("check") == "iam" and v["caller"] == caller]


def denied(call) -> str:
    with pytest.raises(ClientError) as err:
        call()
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    return err.value.response["Error"]["Message"]


def test_deploy_may_read_and_repoint_a_schedule(emulator, control, aws, roles):
    group, name = make_schedule(aws("scheduler"))
    deploy = as_function(emulator, "scheduler", "deploy")
    request = as_sent_back(deploy.get_schedule(Name=name, GroupName=group))
    request["Target"]["EcsParameters"]["TaskDefinitionArn"] = TD7
    deploy.update_schedule(**request)
    assert iam_problems(control, "deploy") == []
    checks = [c for r in control.get("requests") if r["caller"] == "deploy"
              for c in r["iam"]["checks"]]
    assert [(c["action"], c["resource"], c["allowed"]) for c in checks] == [
        ("scheduler:GetSchedule", f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/{name}", True),
        ("scheduler:UpdateSchedule", f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/{name}", True),
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/jobs-runner", True)]
    after = aws("scheduler").get_schedule(Name=name, GroupName=group)
    assert after["Target"]["EcsParameters"]["TaskDefinitionArn"] == TD7


def test_deploy_may_not_pass_a_schedule_role_outside_the_pattern(emulator, control, aws, roles):
    group, name = make_schedule(aws("scheduler"), role=OUTSIDE_ROLE)
    deploy = as_function(emulator, "scheduler", "deploy")
    request = as_sent_back(deploy.get_schedule(Name=name, GroupName=group))
    request["Target"]["EcsParameters"]["TaskDefinitionArn"] = TD7
    message = denied(lambda: deploy.update_schedule(**request))
    assert f"iam:PassRole on resource: {OUTSIDE_ROLE}" in message
    assert "assumed-role/schedunit-DeployFunctionRole/deploy" in message
    # Denied before moto: the schedule still runs the old revision.
    after = aws("scheduler").get_schedule(Name=name, GroupName=group)
    assert after["Target"]["EcsParameters"]["TaskDefinitionArn"] == TD6
    assert [p.split(" on ")[0] for p in iam_problems(control, "deploy")] == ["AccessDenied: iam:PassRole"]


def test_deploy_may_not_create_or_delete_schedules(emulator, control, aws, roles):
    group, name = make_schedule(aws("scheduler"))
    deploy = as_function(emulator, "scheduler", "deploy")
    assert "scheduler:DeleteSchedule" in denied(
        lambda: deploy.delete_schedule(Name=name, GroupName=group))
    assert "scheduler:CreateSchedule" in denied(lambda: deploy.create_schedule(
        Name="another", GroupName=group, ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": CLUSTER, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/jobs-runner"}))
    assert aws("scheduler").get_schedule(Name=name, GroupName=group)["Name"] == name


@pytest.mark.parametrize("bus", ["default", "jobs-iam-bus"])
def test_deploy_may_repoint_rule_targets_but_not_remove_them(emulator, control, aws, roles, bus):
    events = aws("events")
    if bus != "default" and not any(b["Name"] == bus for b in events.list_event_buses()["EventBuses"]):
        events.create_event_bus(Name=bus)
    rule = make_rule(events, bus)
    deploy = as_function(emulator, "events", "deploy")
    targets = deploy.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
    report = next(t for t in targets if t["Id"] == "report")
    report["EcsParameters"]["TaskDefinitionArn"] = TD7
    assert deploy.put_targets(Rule=rule, EventBusName=bus, Targets=[report])["FailedEntryCount"] == 0
    assert iam_problems(control, "deploy") == []
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/" + ("" if bus == "default" else f"{bus}/") + rule
    resources = {c["resource"] for r in control.get("requests") if r["caller"] == "deploy"
                 for c in r["iam"]["checks"]}
    assert rule_arn in resources
    assert "events:RemoveTargets" in denied(
        lambda: deploy.remove_targets(Rule=rule, EventBusName=bus, Ids=["report"]))
    assert "iam:PassRole" in denied(lambda: deploy.put_targets(
        Rule=rule, EventBusName=bus, Targets=[rule_target("report", TD7, OUTSIDE_ROLE)]))


def test_render_may_only_read_schedules_and_other_functions_not_even_that(emulator, aws, roles):
    group, name = make_schedule(aws("scheduler"))
    rule = make_rule(aws("events"))
    # render checks, before anything changes, which task definition each target runs.
    render_scheduler = as_function(emulator, "scheduler", "render")
    schedule = render_scheduler.get_schedule(Name=name, GroupName=group)
    assert as_function(emulator, "events", "render").list_targets_by_rule(Rule=rule)["Targets"]
    update = {k: schedule[k] for k in ("Name", "GroupName", "ScheduleExpression",
                                       "FlexibleTimeWindow", "Target")}
    assert "scheduler:UpdateSchedule" in denied(lambda: render_scheduler.update_schedule(**update))
    assert "scheduler:GetSchedule" in denied(
        lambda: as_function(emulator, "scheduler", "record").get_schedule(Name=name, GroupName=group))
    assert "events:ListTargetsByRule" in denied(
        lambda: as_function(emulator, "events", "record").list_targets_by_rule(Rule=rule))


def test_rule_and_schedule_arns_follow_the_service_authorization_reference():
    from stevedore_local import iam_resources

    where = iam_resources.Where("aws", REGION, ACCOUNT)
    role = f"arn:aws:iam::{ACCOUNT}:role/jobs-runner"
    other_bus = "arn:aws:events:eu-west-1:111122223333:event-bus/jobs"
    put = iam_resources.authorizations("events", "PutTargets", {
        "Rule": "hourly", "EventBusName": other_bus,
        "Targets": [{"Id": "a", "Arn": CLUSTER, "RoleArn": role},
                    {"Id": "b", "Arn": CLUSTER, "RoleArn": role}]}, where)
    assert [(a.action, a.resource) for a in put] == [
        ("events:PutTargets", "arn:aws:events:eu-west-1:111122223333:rule/jobs/hourly"),
        ("iam:PassRole", role)]
    assert put[1].context.lookup("iam:PassedToService") == (True, "events.amazonaws.com")
    listed = iam_resources.authorizations("events", "ListTargetsByRule", {"Rule": "hourly"}, where)
    assert listed[0].resource == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/hourly"
    update = iam_resources.authorizations("scheduler", "UpdateSchedule", {
        "Name": "nightly", "Target": {"Arn": CLUSTER, "RoleArn": role}}, where)
    assert [(a.action, a.resource) for a in update] == [
        ("scheduler:UpdateSchedule", f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/nightly"),
        ("iam:PassRole", role)]
    assert update[1].context.lookup("iam:PassedToService") == (True, "scheduler.amazonaws.com")
