"""ECS service tasks: a deployment starts and stops real task records that ListTasks and
DescribeTasks see, and DescribeServices counts agree with them."""

from __future__ import annotations

import uuid

import pytest
from conftest import ACCOUNT, REGION, wait_for
from test_bluegreen import LOAD_BALANCERS

LIFECYCLE = ["PROVISIONING", "PENDING", "RUNNING", "STOPPING", "STOPPED"]
TARGET_GROUP = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/web/0123456789abcdef"


def _digest() -> str:
    return "sha256:" + uuid.uuid4().hex * 2


@pytest.fixture()
def svc(aws, control):
    """``create(name, ...)`` makes a Fargate awsvpc service on td1 and waits for its first
    deployment; ``snapshot(name)`` is one consistent view of the service and its tasks."""
    ecs, ec2 = aws("ecs"), aws("ec2")
    tag = uuid.uuid4().hex[:6]
    cluster = ecs.create_cluster(clusterName=f"tasks-{tag}")["cluster"]["clusterName"]
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"t-{tag}", Description="t", VpcId=vpc)["GroupId"]
    ns = type("Svc", (), {})()
    ns.ecs, ns.cluster, ns.family = ecs, cluster, f"web-{tag}"

    def register(fate="healthy", family=None):
        digest = _digest()
        control.post("ecs/deployment-fate", {"digest": digest, "fate": fate})
        return ecs.register_task_definition(
            family=family or ns.family, requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc", cpu="256", memory="512", containerDefinitions=[{
                "name": "web", "essential": True,
                "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web@{digest}"}],
        )["taskDefinition"]["taskDefinitionArn"]

    def create(name, minimum=100, maximum=200, breaker=True, count=2, conf=None, **extra):
        td = register()
        ecs.create_service(
            cluster=cluster, serviceName=name, taskDefinition=td, desiredCount=count,
            launchType="FARGATE", networkConfiguration={"awsvpcConfiguration": {
                "subnets": [subnet], "securityGroups": [group]}},
            deploymentConfiguration={
                "minimumHealthyPercent": minimum, "maximumPercent": maximum,
                "deploymentCircuitBreaker": {"enable": breaker, "rollback": breaker},
                **(conf or {})}, **extra)
        wait_for(lambda: describe(name)["deployments"][0]["rolloutState"] == "COMPLETED",
                 what="first deployment")
        return td

    def describe(name):
        return ecs.describe_services(cluster=cluster, services=[name])["services"][0]

    def tasks(**filters):
        arns = ecs.list_tasks(cluster=cluster, **filters)["taskArns"]
        return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []

    def snapshot(name):
        """(service, tasks) read while nothing changed: DescribeServices before and after the
        task reads answered the same, so the tasks are those the counts describe."""
        while True:
            before = describe(name)
            seen = (tasks(serviceName=name, desiredStatus="RUNNING")
                    + tasks(serviceName=name, desiredStatus="STOPPED"))
            after = describe(name)
            if _counts(before) == _counts(after):
                return after, seen

    ns.register, ns.create, ns.describe, ns.tasks, ns.snapshot = (
        register, create, describe, tasks, snapshot)
    return ns


def _counts(service):
    return (service["runningCount"], service["pendingCount"],
            [(d["id"], d["status"], d["rolloutState"], d["runningCount"], d["pendingCount"],
              d["failedTasks"]) for d in service["deployments"]])


def _assert_counts_agree(service, seen):
    def count(tasks, status):
        return sum(1 for t in tasks if t["lastStatus"] == status)

    pending = ("PROVISIONING", "PENDING", "ACTIVATING")
    assert service["runningCount"] == count(seen, "RUNNING")
    assert service["pendingCount"] == sum(1 for t in seen if t["lastStatus"] in pending)
    for dep in service["deployments"]:
        mine = [t for t in seen if t["startedBy"] == dep["id"]]
        assert dep["runningCount"] == count(mine, "RUNNING"), dep
        assert dep["pendingCount"] == sum(1 for t in mine if t["lastStatus"] in pending), dep


def _watch(svc, name, until, check=None):
    """Snapshots until `until(service, tasks)`; every one must keep the counts in agreement
    (and pass `check`); returns the statuses seen per task, in order, and the last snapshot."""
    history: dict[str, list[str]] = {}

    def poll():
        service, seen = svc.snapshot(name)
        _assert_counts_agree(service, seen)
        if check:
            check(service, seen)
        for t in seen:
            statuses = history.setdefault(t["taskArn"], [])
            if not statuses or statuses[-1] != t["lastStatus"]:
                statuses.append(t["lastStatus"])
        return (service, seen) if until(service, seen) else None

    return history, wait_for(poll, timeout=30, interval=0.05, what="rollout end")


def _in_lifecycle_order(statuses):
    positions = [LIFECYCLE.index(s) for s in statuses]
    return positions == sorted(positions)


def test_rolling_deployment_replaces_tasks_within_max_percent(svc, monkeypatch):
    # A start of 30 s x 0.02 = 0.6 s: long enough to see a new task before it runs, on a busy
    # machine too (ecs_timing).
    monkeypatch.setenv("STEVEDORE_SIM_TIME_SCALE", "0.02")
    td1 = svc.create("web")
    service, first = svc.snapshot("web")
    old_id = service["deployments"][0]["id"]
    assert [t["lastStatus"] for t in first] == ["RUNNING", "RUNNING"]
    assert {t["group"] for t in first} == {"service:web"}
    assert {t["startedBy"] for t in first} == {old_id} and old_id.startswith("ecs-svc/")
    assert {t["taskDefinitionArn"] for t in first} == {td1}
    assert {t["desiredStatus"] for t in first} == {"RUNNING"}

    td2 = svc.register()
    new_id = svc.ecs.update_service(cluster=svc.cluster, service="web",
                                    taskDefinition=td2)["service"]["deployments"][0]["id"]

    def within_bounds(_service, seen):
        live = [t for t in seen if t["lastStatus"] != "STOPPED"]
        assert len(live) <= 4  # maximumPercent 200
        assert sum(1 for t in seen if t["lastStatus"] == "RUNNING") >= 2  # minimum 100

    history, (service, seen) = _watch(
        svc, "web", lambda s, _t: s["deployments"][0]["rolloutState"] == "COMPLETED"
        and len(s["deployments"]) == 1, within_bounds)
    assert service["deployments"][0]["id"] == new_id
    assert service["runningCount"] == 2 and service["pendingCount"] == 0
    new = [t for t in seen if t["startedBy"] == new_id]
    old = [t for t in seen if t["startedBy"] == old_id]
    assert len(new) == 2 and {t["lastStatus"] for t in new} == {"RUNNING"}
    assert {t["taskDefinitionArn"] for t in new} == {td2}
    for t in new:
        assert _in_lifecycle_order(history[t["taskArn"]]) and history[t["taskArn"]][-1] == "RUNNING"
    assert any(history[t["taskArn"]][0] in ("PROVISIONING", "PENDING") for t in new)
    wait_for(lambda: all(t["lastStatus"] == "STOPPED"
                         for t in svc.tasks(serviceName="web", desiredStatus="STOPPED")),
             what="old tasks stopped")
    stopped = svc.tasks(serviceName="web", desiredStatus="STOPPED")
    assert {t["taskArn"] for t in stopped} == {t["taskArn"] for t in old}
    for t in stopped:
        assert t["desiredStatus"] == "STOPPED" and t["stopCode"] == "ServiceSchedulerInitiated"
        assert t["stoppedReason"] == f"Scaling activity initiated by (deployment {old_id})"
        assert t["stoppedAt"] >= t["stoppingAt"]

    # ListTasks: desiredStatus defaults to RUNNING; startedBy and an exact family filter.
    assert {*svc.ecs.list_tasks(cluster=svc.cluster, serviceName="web")["taskArns"]} == {
        t["taskArn"] for t in new}
    assert {*svc.ecs.list_tasks(cluster=svc.cluster, startedBy=old_id,
                                desiredStatus="STOPPED")["taskArns"]} == {t["taskArn"] for t in old}
    assert len(svc.ecs.list_tasks(cluster=svc.cluster, family=svc.family)["taskArns"]) == 2
    assert svc.ecs.list_tasks(cluster=svc.cluster, family=svc.family[:-1])["taskArns"] == []
    assert svc.ecs.list_tasks(cluster=svc.cluster, serviceName="other")["taskArns"] == []


def test_minimum_healthy_50_replaces_one_task_at_a_time(svc):
    svc.create("half", minimum=50, maximum=100)
    old_id = svc.describe("half")["deployments"][0]["id"]
    td2 = svc.register()
    new_id = svc.ecs.update_service(cluster=svc.cluster, service="half",
                                    taskDefinition=td2)["service"]["deployments"][0]["id"]
    phases = []

    def bounds(_service, seen):
        live = [t for t in seen if t["lastStatus"] != "STOPPED"]
        assert len(live) <= 2  # maximumPercent 100: a new task only once an old one stopped
        assert sum(1 for t in seen if t["lastStatus"] == "RUNNING") >= 1 or any(
            t["lastStatus"] == "STOPPING" for t in seen)  # minimum 50: one keeps running
        phases.append((sum(1 for t in live if t["startedBy"] == old_id),
                       sum(1 for t in live if t["startedBy"] == new_id)))

    _watch(svc, "half", lambda s, _t: s["deployments"][0]["rolloutState"] == "COMPLETED"
           and len(s["deployments"]) == 1, bounds)
    assert (1, 1) in phases  # one old task kept while the first new one started


def test_unhealthy_tasks_stop_as_ecs_reports_them(svc):
    svc.create("sick", breaker=False)
    old_id = svc.describe("sick")["deployments"][0]["id"]
    new_id = svc.ecs.update_service(cluster=svc.cluster, service="sick",
                                    taskDefinition=svc.register("unhealthy"))[
        "service"]["deployments"][0]["id"]
    _, (service, seen) = _watch(svc, "sick", lambda s, _t: s["deployments"][0]["failedTasks"] >= 3)
    failed = [t for t in seen if t["startedBy"] == new_id and t["lastStatus"] == "STOPPED"]
    assert len(failed) == service["deployments"][0]["failedTasks"]
    for t in failed:
        assert t["stopCode"] == "EssentialContainerExited"
        assert t["stoppedReason"] == "Essential container in task exited"
        assert t["containers"][0]["exitCode"] == 1
    old = [t for t in seen if t["startedBy"] == old_id]
    assert [t["lastStatus"] for t in old] == ["RUNNING", "RUNNING"]  # minimum healthy 100
    assert service["deployments"][0]["rolloutState"] == "IN_PROGRESS"


def test_unhealthy_tasks_behind_a_load_balancer_fail_elb_health_checks(svc):
    svc.create("lb", loadBalancers=[{"targetGroupArn": TARGET_GROUP, "containerName": "web",
                                     "containerPort": 8080}])
    new_id = svc.ecs.update_service(cluster=svc.cluster, service="lb",
                                    taskDefinition=svc.register("unhealthy"))[
        "service"]["deployments"][0]["id"]
    failed = wait_for(lambda: [t for t in svc.tasks(serviceName="lb", desiredStatus="STOPPED")
                               if t["startedBy"] == new_id], what="failed task")
    assert failed[0]["stoppedReason"] == (
        f"Task failed ELB health checks in (target-group {TARGET_GROUP})")
    assert failed[0]["stopCode"] == "ServiceSchedulerInitiated"
    assert failed[0]["startedAt"]  # it ran, then failed its health checks


def test_circuit_breaker_rollback_leaves_the_old_definition_running(svc):
    td1 = svc.create("cb")
    bad = svc.ecs.update_service(cluster=svc.cluster, service="cb",
                                 taskDefinition=svc.register("unhealthy"))[
        "service"]["deployments"][0]["id"]
    _, (service, seen) = _watch(svc, "cb", lambda s, _t: len(s["deployments"]) == 1
                                and s["deployments"][0]["id"] != bad
                                and s["deployments"][0]["rolloutState"] == "COMPLETED")
    rollback_id = service["deployments"][0]["id"]
    running = [t for t in seen if t["lastStatus"] == "RUNNING"]
    assert {t["startedBy"] for t in running} == {rollback_id} and len(running) == 2
    assert {t["taskDefinitionArn"] for t in running} == {td1}
    bad_tasks = [t for t in seen if t["startedBy"] == bad]
    assert len(bad_tasks) >= 3
    assert all(t["lastStatus"] in ("STOPPING", "STOPPED") for t in bad_tasks)


def test_desired_count_and_stopped_tasks_are_restored(svc):
    svc.create("scale")
    dep_id = svc.describe("scale")["deployments"][0]["id"]
    svc.ecs.update_service(cluster=svc.cluster, service="scale", desiredCount=3)
    wait_for(lambda: svc.describe("scale")["runningCount"] == 3, what="scaled out")
    victim = svc.ecs.list_tasks(cluster=svc.cluster, serviceName="scale")["taskArns"][0]
    svc.ecs.stop_task(cluster=svc.cluster, task=victim, reason="by hand")
    def listed():
        return svc.ecs.list_tasks(cluster=svc.cluster, serviceName="scale")["taskArns"]

    wait_for(lambda: len(listed()) == 3 and victim not in listed()
             and svc.describe("scale")["runningCount"] == 3, what="replacement")
    svc.ecs.update_service(cluster=svc.cluster, service="scale", desiredCount=0)
    service, seen = wait_for(lambda: (lambda s: s if s[0]["runningCount"] == 0
                                      and all(t["lastStatus"] == "STOPPED" for t in s[1])
                                      else None)(svc.snapshot("scale")), what="scaled in")
    assert svc.ecs.list_tasks(cluster=svc.cluster, serviceName="scale")["taskArns"] == []
    reasons = {t["stoppedReason"] for t in seen if t["taskArn"] != victim}
    assert reasons == {f"Scaling activity initiated by (deployment {dep_id})"}


def test_blue_green_keeps_blue_and_green_tasks_as_the_stages_say(svc, fake_lambda):
    """Green's tasks run from SCALE_UP on beside blue's; blue's stop after the bake time
    (CLEAN_UP); on a rollback green's stop and blue's keep running."""
    views: dict[str, dict[str, list[str]]] = {}

    def recorder(stage, answer="SUCCEEDED"):
        name = f"bg-tasks-{uuid.uuid4().hex[:8]}"

        def handle(payload, _n):
            by_deployment: dict[str, list[str]] = {}
            name = payload["executionDetails"]["serviceArn"].split("/")[-1]
            for t in svc.tasks(serviceName=name):
                by_deployment.setdefault(t["startedBy"], []).append(t["lastStatus"])
            views[f"{service}/{stage}"] = by_deployment
            return 200, {"hookStatus": answer}

        fake_lambda.handlers[name] = handle
        return {"hookTargetArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
                "roleArn": f"arn:aws:iam::{ACCOUNT}:role/hooks", "lifecycleStages": [stage]}

    def blue_green(hooks):
        return {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 2, "lifecycleHooks": hooks}

    service = "bg"
    svc.create("bg", conf=blue_green([recorder("POST_SCALE_UP"),
                                      recorder("POST_PRODUCTION_TRAFFIC_SHIFT")]),
               loadBalancers=LOAD_BALANCERS)
    blue = svc.describe("bg")["deployments"][0]["id"]
    green = svc.ecs.update_service(cluster=svc.cluster, service="bg",
                                   taskDefinition=svc.register())["service"]["deployments"][0]["id"]
    _, (done, seen) = _watch(svc, "bg", lambda s, _t: len(s["deployments"]) == 1
                             and s["deployments"][0]["id"] == green
                             and s["deployments"][0]["rolloutState"] == "COMPLETED")
    assert views["bg/POST_SCALE_UP"] == {blue: ["RUNNING"] * 2, green: ["RUNNING"] * 2}
    assert views["bg/POST_PRODUCTION_TRAFFIC_SHIFT"] == {blue: ["RUNNING"] * 2,
                                                         green: ["RUNNING"] * 2}
    assert sorted((t["startedBy"], t["lastStatus"]) for t in seen) == sorted(
        [(green, "RUNNING")] * 2 + [(blue, "STOPPED")] * 2)
    assert {t["stoppedReason"] for t in seen if t["startedBy"] == blue} == {
        f"Scaling activity initiated by (deployment {blue})"}

    service = "rb"
    svc.create("rb", conf=blue_green([recorder("TEST_TRAFFIC_SHIFT", answer="FAILED")]),
               loadBalancers=LOAD_BALANCERS)
    blue = svc.describe("rb")["deployments"][0]["id"]
    green = svc.ecs.update_service(cluster=svc.cluster, service="rb",
                                   taskDefinition=svc.register())["service"]["deployments"][0]["id"]
    _, (done, seen) = _watch(svc, "rb", lambda s, t: len(s["deployments"]) == 1
                             and s["deployments"][0]["id"] == blue
                             and all(x["lastStatus"] == "STOPPED" for x in t
                                     if x["startedBy"] == green))
    assert views["rb/TEST_TRAFFIC_SHIFT"] == {blue: ["RUNNING"] * 2, green: ["RUNNING"] * 2}
    assert sorted((t["startedBy"], t["lastStatus"]) for t in seen) == sorted(
        [(blue, "RUNNING")] * 2 + [(green, "STOPPED")] * 2)
    assert done["runningCount"] == 2
