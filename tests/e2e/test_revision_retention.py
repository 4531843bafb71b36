"""Task definition revision retention (`keep_revisions`): after each SUCCEEDED release the
stage's old revisions Stevedore registered are deregistered (INACTIVE, never deleted), except
the newest `keep_revisions` SUCCEEDED releases' and whatever the account uses, even outside
stevedore.yaml: a service in another cluster, an EventBridge Scheduler schedule, a rule on
another event bus; a rollback to a deregistered revision still works (it registers the
revision again)."""

from __future__ import annotations

import json

import pytest
from example_app import ensure_network, seed_app, service_task_definition
from example_services import (create_schedule, ensure_scheduler_role, rule_task_definition,
                              schedule_task_definition, scheduled_task_target)

from e2e_helpers import TERMINAL, run_state_machine

KEEP = 3
RELEASES = 9  # 3 used elsewhere, 3 deregistered, the newest 3 kept
# Revisions of the first releases that something outside stevedore.yaml uses by the time they
# become candidates (release index -> what uses it).
USED_ELSEWHERE = {0: "a service in another cluster", 1: "a Scheduler schedule",
                  2: "a rule on another event bus (by `family:revision`)"}


def use_elsewhere(stack, app, revisions):
    """Other teams' uses of the first three revisions, none of them in stevedore.yaml."""
    ecs = stack.client("ecs")
    subnets, groups = ensure_network(stack)
    other = ecs.create_cluster(clusterName="retain-other")["cluster"]["clusterArn"]
    ecs.create_service(
        cluster=other, serviceName="retain-batch", taskDefinition=revisions[0], desiredCount=1,
        launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
            "subnets": subnets, "securityGroups": groups, "assignPublicIp": "DISABLED"}})
    role = ensure_scheduler_role(stack.client("iam"), app.name, app.family)
    create_schedule(stack.client("scheduler"), "retain-report", "retain-jobs",
                    scheduled_task_target(other, role, revisions[1], subnets, groups))
    events = stack.client("events")
    events.create_event_bus(Name="retain-bus")
    events.put_rule(Name="retain-on-demand", EventBusName="retain-bus",
                    EventPattern=json.dumps({"source": ["retain.on-demand"]}))
    short = revisions[2].rsplit("/", 1)[-1]  # family:revision
    events.put_targets(Rule="retain-on-demand", EventBusName="retain-bus", Targets=[{
        "Id": "run", "Arn": other, "RoleArn": role,
        "EcsParameters": {"TaskDefinitionArn": short, "TaskCount": 1, "LaunchType": "FARGATE",
                          "NetworkConfiguration": {"awsvpcConfiguration": {
                              "Subnets": subnets, "SecurityGroups": groups}}}}])


@pytest.fixture(scope="module")
def released(stack):
    """RELEASES pushes deployed one after another, each SUCCEEDED, and the last one's pruning
    done; the app and its releases, oldest first."""
    app = seed_app(stack, "retain", migration=False, staging_overrides={"keep_revisions": KEEP})
    releases = []
    for n in range(RELEASES):
        if n == len(USED_ELSEWHERE):  # before any of them is a candidate (n > KEEP)
            use_elsewhere(stack, app, [r["task_definition_arn"] for r in releases])
        digest = stack.push_image(app.repository, f"develop-{n:07d}", layer_seed=f"retain-{n}")
        release = stack.wait_for_release(
            app.name, "staging", lambda r: r["digest"] == digest and r["status"] in TERMINAL, poll=0.2)
        assert release["status"] == "SUCCEEDED", f"{release['status']}: {release.get('reason')}"
        releases.append(release)
    last = releases[-1]["SK"]
    done = stack.wait_for_release(
        app.name, "staging", lambda r: r["SK"] == last and "revisions_pruned_at" in r, timeout=60)
    releases[-1] = done
    # Earlier releases gained their pruning fields after they were read: read them again.
    by_sk = {r["SK"]: r for r in stack.releases(app.name, "staging")}
    return app, [by_sk[r["SK"]] for r in releases]


def status_of(stack, arn):
    return stack.client("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]["status"]


def test_only_the_newest_kept_and_those_used_elsewhere_stay_active(stack, released):
    app, releases = released
    revisions = [r["task_definition_arn"] for r in releases]
    assert len(set(revisions)) == RELEASES, "each release registered its own revision"
    used = len(USED_ELSEWHERE)
    assert [status_of(stack, arn) for arn in revisions] == \
        ["ACTIVE"] * used + ["INACTIVE"] * (RELEASES - KEEP - used) + ["ACTIVE"] * KEEP, \
        f"kept for: {USED_ELSEWHERE}"
    # The revision the stage ran before Stevedore is not Stevedore's: never pruned.
    assert status_of(stack, app.task_definition_arn) == "ACTIVE"
    active = set(stack.client("ecs").list_task_definitions(
        familyPrefix=app.family, status="ACTIVE")["taskDefinitionArns"])
    assert active & set(revisions) == set(revisions[:used] + revisions[-KEEP:])
    assert service_task_definition(stack, app, "staging") == revisions[-1]
    # The other uses still name what they named (Stevedore changes none of them).
    other = stack.client("ecs").describe_services(cluster="retain-other", services=["retain-batch"])
    assert other["services"][0]["taskDefinition"] == revisions[0]
    assert schedule_task_definition(stack, "retain-report", "retain-jobs") == revisions[1]
    assert rule_task_definition(stack, "retain-on-demand", "retain-bus") == \
        revisions[2].rsplit("/", 1)[-1]
    # Counted on the releases that pruned, and never any error.
    assert sum(int(r.get("revisions_deregistered", 0)) for r in releases) == RELEASES - KEEP - used
    assert not [r for r in releases if "revision_retention_error" in r]


def test_a_rollback_to_a_deregistered_revision_registers_it_again(stack, released):
    app, releases = released
    first = releases[len(USED_ELSEWHERE)]  # the oldest one deregistered
    assert status_of(stack, first["task_definition_arn"]) == "INACTIVE"

    status = run_state_machine(stack, "RollbackStateMachine", {
        "app": app.name, "stage": "staging", "release": first["SK"].split("#")[1]})
    assert status["status"] == "SUCCEEDED", status
    started = json.loads(status["output"])["rollback"]
    release = stack.wait_for_release(app.name, "staging", lambda r: r["SK"] == f"REL#{started['release_id']}"
                                     and r.get("status") in TERMINAL)
    assert release["status"] == "SUCCEEDED", f"{release.get('status')}: {release.get('reason')}"
    again = release["task_definition_arn"]
    assert again != first["task_definition_arn"], "an INACTIVE revision cannot be deployed as is"
    assert status_of(stack, again) == "ACTIVE"
    assert service_task_definition(stack, app, "staging") == again
