"""The example app's services and scheduled jobs: one image run as several ECS services of a
stage (web behind a load balancer, a queue worker without one) plus an EventBridge Scheduler
schedule whose ECS target runs the worker's task definition family.

examples/stevedore.yaml lists `services:` per stage. Most end-to-end tests want the app as it
was before stages had several services: `single_service_variant` turns the example into
exactly that (app-level `containers`, one `service:` per stage, no schedules).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from stack import ACCOUNT_ID, REGION, REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
EXAMPLE_WORKER_TASKDEF = EXAMPLES / "backend-worker-taskdef.json"
EXAMPLE_SCHEDULE = EXAMPLES / "backend-nightly-schedule.json"
# Keys of a stage that only a stage of several services (or with schedules) has.
MULTI_SERVICE_KEYS = ("services", "rollout", "migration_service", "schedules")
# Keys of a `services:` entry that a one-service stage carries on the stage itself.
SERVICE_ROLLOUT_KEYS = ("strategy", "bake_minutes", "smoke_test")


def single_service_variant(config: dict[str, Any]) -> dict[str, Any]:
    """The app with each stage's first service as its one `service:` (in the place of
    `services:`), the first service's containers as the app's `containers` (after
    `repository`), and no schedules: the example as it was before multi-service stages."""
    first_stage = next(iter(config["stages"].values()))
    containers = (stage_service_entries(first_stage)[0].get("containers")
                  if "containers" not in config else None)
    out: dict[str, Any] = {}
    for key, value in config.items():
        out[key] = value
        if key == "repository" and containers is not None:
            out["containers"] = list(containers)
    out["stages"] = {}
    for name, stage in config["stages"].items():
        first = stage_service_entries(stage)[0]
        single: dict[str, Any] = {}
        for key, value in stage.items():
            if key == "services":
                single["service"] = first["service"]
                single.update({k: first[k] for k in SERVICE_ROLLOUT_KEYS if k in first})
            elif key not in MULTI_SERVICE_KEYS:
                single[key] = value
        out["stages"][name] = single
    return out


def renamed(name: str, example_app: str, app: str) -> str:
    """`backend-worker-staging` -> `<app>-worker-staging`: the example's names, per app."""
    prefix = f"{example_app}-"
    return f"{app}-{name[len(prefix):]}" if name.startswith(prefix) else name


def rename_services(stage: dict[str, Any], example_app: str, app: str) -> None:
    for entry in stage.get("services") or []:
        entry["service"] = renamed(entry["service"], example_app, app)
    for entry in stage.get("schedules") or []:
        for key in ("schedule", "rule"):
            if key in entry:
                entry[key] = renamed(entry[key], example_app, app)


def stage_service_entries(stage: dict[str, Any]) -> list[dict[str, Any]]:
    """The stage's services as `services:` entries, in order (a `service:` stage: one)."""
    if stage.get("service") is not None:
        return [{"service": stage["service"]}]
    return list(stage.get("services") or [])


def worker_containers() -> set[str]:
    """The containers of the worker's task definition that carry the app's image."""
    taskdef = json.loads(EXAMPLE_WORKER_TASKDEF.read_text())
    return {c["name"] for c in taskdef["containerDefinitions"]
            if c["image"].startswith(f"{ACCOUNT_ID}.dkr.ecr.")}


def runs_worker(entry: dict[str, Any]) -> bool:
    """A service whose selected containers are all the worker's runs the worker family."""
    containers = entry.get("containers") or []
    return bool(containers) and set(containers) <= worker_containers()


def register_worker_task_definition(ecs: Any, app: str, registry: str, initial_tag: str) -> str:
    """examples/backend-worker-taskdef.json as family `<app>-worker`, its image from the
    app's repository at `initial_tag` (like the web one)."""
    taskdef = json.loads(EXAMPLE_WORKER_TASKDEF.read_text())
    taskdef["family"] = worker_family(app)
    for container in taskdef["containerDefinitions"]:
        if container["image"].startswith(f"{ACCOUNT_ID}.dkr.ecr."):
            container["image"] = f"{registry}/{app}:{initial_tag}"
    return ecs.register_task_definition(**taskdef)["taskDefinition"]["taskDefinitionArn"]


def worker_family(app: str) -> str:
    return f"{app}-worker"


def scheduler_role_name(app: str) -> str:
    # Any name fits the template's PassRoleNamePattern default (`*`).
    return f"{app}-scheduler"


def ensure_scheduler_role(iam: Any, app: str, family: str) -> str:
    """The role EventBridge Scheduler (or an EventBridge rule) assumes to run the app's
    scheduled tasks: allowed ecs:RunTask on the family and to pass the task roles
    to ECS (https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role)."""
    name = scheduler_role_name(app)
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        pass
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        # Scheduler for schedules, EventBridge for a rule's ECS target.
        "Principal": {"Service": ["scheduler.amazonaws.com", "events.amazonaws.com"]},
        "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecs:RunTask",
         "Resource": f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:task-definition/{family}:*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
         "Condition": {"StringLike": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}]}
    iam.put_role_policy(RoleName=name, PolicyName="run-scheduled-tasks",
                        PolicyDocument=json.dumps(policy))
    return arn


def _example_schedule() -> dict[str, Any]:
    return json.loads(EXAMPLE_SCHEDULE.read_text())


def scheduled_task_target(cluster_arn: str, role_arn: str, task_definition_arn: str,
                          subnets: list[str], groups: list[str]) -> dict[str, Any]:
    """examples/backend-nightly-schedule.json's target for this cluster, role, revision and
    network; its Input (the RunTask overrides: the nightly command) as it is."""
    target = copy.deepcopy(_example_schedule()["Target"])
    target["Arn"], target["RoleArn"] = cluster_arn, role_arn
    ecs_parameters = target["EcsParameters"]
    ecs_parameters["TaskDefinitionArn"] = task_definition_arn
    ecs_parameters["NetworkConfiguration"]["awsvpcConfiguration"].update(
        Subnets=subnets, SecurityGroups=groups)
    return target


def create_schedule(scheduler: Any, name: str, group: str, target: dict[str, Any]) -> None:
    """An EventBridge Scheduler schedule (cron from the example) with an ECS target."""
    example = _example_schedule()
    if group != "default":
        try:
            scheduler.create_schedule_group(Name=group)
        except scheduler.exceptions.ConflictException:
            pass  # several apps may share a group
    scheduler.create_schedule(
        Name=name, GroupName=group, ScheduleExpression=example["ScheduleExpression"],
        ScheduleExpressionTimezone=example.get("ScheduleExpressionTimezone", "UTC"),
        FlexibleTimeWindow=example["FlexibleTimeWindow"], Target=target)


def create_scheduled_rule(events: Any, name: str, event_bus: str, target: dict[str, Any]) -> None:
    """An EventBridge rule on the example's cron with the same ECS target, in the rule
    target's shape (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_EcsParameters.html)."""
    example = _example_schedule()
    events.put_rule(Name=name, EventBusName=event_bus,
                    ScheduleExpression=example["ScheduleExpression"], State="ENABLED")
    params, network = target["EcsParameters"], target["EcsParameters"]["NetworkConfiguration"]
    events.put_targets(Rule=name, EventBusName=event_bus, Targets=[{
        "Id": "nightly", "Arn": target["Arn"], "RoleArn": target["RoleArn"],
        "Input": target["Input"],
        "EcsParameters": {
            "TaskDefinitionArn": params["TaskDefinitionArn"], "TaskCount": params["TaskCount"],
            "LaunchType": params["LaunchType"],
            "NetworkConfiguration": {"awsvpcConfiguration": network["awsvpcConfiguration"]}}}])


def seed_schedule(client: Any, app: str, entry: dict[str, Any], cluster_arn: str,
                  task_definition_arn: str, subnets: list[str], groups: list[str]) -> str:
    """Creates the `schedules:` entry's schedule (or rule) running `task_definition_arn`
    nightly, with the app's scheduler role; returns its name. `client`: a boto3 client factory."""
    family = task_definition_arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]
    role_arn = ensure_scheduler_role(client("iam"), app, family)
    target = scheduled_task_target(cluster_arn, role_arn, task_definition_arn, subnets, groups)
    if entry.get("rule"):
        create_scheduled_rule(client("events"), entry["rule"], entry.get("event_bus") or "default",
                              target)
        return entry["rule"]
    create_schedule(client("scheduler"), entry["schedule"], entry.get("group") or "default", target)
    return entry["schedule"]


def schedule_task_definition(stack: Any, name: str, group: str = "default") -> str:
    """The task definition a schedule's ECS target runs now."""
    schedule = stack.client("scheduler").get_schedule(Name=name, GroupName=group)
    return schedule["Target"]["EcsParameters"]["TaskDefinitionArn"]


def rule_task_definition(stack: Any, name: str, event_bus: str = "default") -> str:
    """The task definition an EventBridge rule's (first) ECS target runs now."""
    targets = stack.client("events").list_targets_by_rule(Rule=name, EventBusName=event_bus)
    return next(t["EcsParameters"]["TaskDefinitionArn"] for t in targets["Targets"]
                if "EcsParameters" in t)
