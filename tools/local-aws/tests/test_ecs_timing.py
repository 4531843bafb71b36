"""The rollout timing model (stevedore_local/ecs_timing.py): durations from the service's own
settings, and real rollouts in the emulator that take them (x the time scale).

The expected durations are computed here, independently of the emulator's code, from the
settings each test gives (the model of docs: task start 30 s assumed; healthy = target group
HealthyThresholdCount x HealthCheckIntervalSeconds, an essential container's health check
interval, the larger of both, else 40 s; stop = deregistration delay + stopTimeout; rolling
waves within minimumHealthyPercent/maximumPercent; blue/green: start + healthy + bake + stop).
A measured deployment (createdAt -> COMPLETED, the emulator's own timestamps) must be within
20 % of that x the time scale. The scale is large enough that thread timing noise (tens of
milliseconds) stays well inside the margin.
"""

from __future__ import annotations

import math
import uuid

import pytest
from conftest import ACCOUNT, REGION, wait_for

# Emulator seconds per modelled second for the measured rollouts: each rollout lasts seconds,
# so the fixed overhead (threads, the API response before the first event) stays near 5 %.
SCALE = 0.025
SLOW_SCALE = 0.01  # for ALB defaults (510 s modelled)
START = 30.0  # the model's assumed task start


def _digest() -> str:
    return "sha256:" + uuid.uuid4().hex * 2


def rolling_seconds(n: int, minimum: int, maximum: int, start: float, healthy: float,
                    stop: float) -> float:
    """The rolling scheduler as an event simulation: stop old tasks while old running + new
    healthy > low, start new ones while new < n and tasks not yet stopped < high."""
    low, high = math.ceil(n * minimum / 100), math.floor(n * maximum / 100)
    t, old_running, stopping, new = 0.0, n, [], []
    while True:
        ready = sum(1 for h in new if h <= t)
        while old_running and old_running + ready > low:
            old_running -= 1
            stopping.append(t + stop)
        not_stopped = old_running + sum(1 for s in stopping if s > t) + len(new)
        while len(new) < n and not_stopped < high:
            new.append(t + start + healthy)
            not_stopped += 1
        if ready >= n and not old_running and all(s <= t for s in stopping):
            return t
        t = min(x for x in new + stopping if x > t)


def test_the_independent_simulation_gives_the_documented_cases():
    assert rolling_seconds(2, 100, 200, 30, 150, 330) == 510  # start + healthy + stop
    assert rolling_seconds(2, 50, 100, 30, 40, 30) == 200  # two waves of stop + start + healthy
    assert rolling_seconds(4, 50, 100, 30, 40, 30) == 200  # two waves of two


@pytest.fixture(scope="module")
def net(emulator):
    import boto3

    def client(service):
        return boto3.client(service, endpoint_url=emulator.url, region_name=REGION,
                            aws_access_key_id="local", aws_secret_access_key="local")

    ec2 = client("ec2")
    tag = uuid.uuid4().hex[:6]
    vpc = ec2.create_vpc(CidrBlock="10.11.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.11.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"tm-{tag}", Description="t", VpcId=vpc)["GroupId"]
    cluster = client("ecs").create_cluster(clusterName=f"timing-{tag}")["cluster"]["clusterName"]
    ns = type("Net", (), {})()
    ns.ecs, ns.elb, ns.vpc, ns.cluster = client("ecs"), client("elbv2"), vpc, cluster
    ns.network = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}
    return ns


@pytest.fixture()
def scaled(control):
    """``scaled(f)`` sets the emulator's time scale (the control endpoint) for the test and
    answers f; the scale found is restored after."""
    before = control.get("ecs/time-scale")

    def scale_to(factor):
        answer = control.post("ecs/time-scale", {"scale": factor})
        assert answer["scale"] == factor and control.get("ecs/time-scale")["overridden"]
        return factor

    yield scale_to
    control.post("ecs/time-scale", {"scale": before["scale"] if before["overridden"] else None})
    assert control.get("ecs/time-scale") == before


def _target_group(net, interval=None, threshold=None, deregistration=None):
    arn = net.elb.create_target_group(
        Name=f"tm-{uuid.uuid4().hex[:10]}", Protocol="HTTP", Port=8080, VpcId=net.vpc,
        TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    if interval is not None or threshold is not None:
        net.elb.modify_target_group(TargetGroupArn=arn, HealthCheckIntervalSeconds=interval,
                                    HealthyThresholdCount=threshold, HealthCheckTimeoutSeconds=2)
    if deregistration is not None:
        net.elb.modify_target_group_attributes(TargetGroupArn=arn, Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": str(deregistration)}])
    return arn


def _register(net, family, **container):
    return net.ecs.register_task_definition(
        family=family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256",
        memory="512", containerDefinitions=[{
            "name": "web", "essential": True, "portMappings": [{"containerPort": 8080}],
            "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web@{_digest()}", **container}],
    )["taskDefinition"]["taskDefinitionArn"]


def _service(net, container=None, count=2, minimum=100, maximum=200, target_groups=(),
             conf=None):
    """A service on a first task definition, its first deployment completed; answers
    (name, family)."""
    name, family = f"svc-{uuid.uuid4().hex[:8]}", f"web-{uuid.uuid4().hex[:8]}"
    lbs = [{"targetGroupArn": tg, "containerName": "web", "containerPort": 8080}
           for tg in target_groups[:1]]
    if len(target_groups) > 1:  # blue/green: the alternate target group
        lbs[0]["advancedConfiguration"] = {
            "alternateTargetGroupArn": target_groups[1],
            "productionListenerRule": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:"
                                      "listener-rule/app/web/0123456789abcdef/1111/2222",
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/ecs-infrastructure"}
    td = _register(net, family, **(container or {}))
    net.ecs.create_service(
        cluster=net.cluster, serviceName=name, taskDefinition=td, desiredCount=count,
        launchType="FARGATE", networkConfiguration=net.network, loadBalancers=lbs, deploymentConfiguration={
            "minimumHealthyPercent": minimum, "maximumPercent": maximum, **(conf or {})})
    _settled(net, name)
    return name, family


def _settled(net, name):
    def done():
        svc = net.ecs.describe_services(cluster=net.cluster, services=[name])["services"][0]
        deps = svc["deployments"]
        return deps[0] if len(deps) == 1 and deps[0]["rolloutState"] == "COMPLETED" else None

    return wait_for(done, timeout=60, interval=0.05, what=f"{name} settled")


def _measured(net, name, family, container=None):
    """Seconds from the new deployment's createdAt to COMPLETED."""
    td = _register(net, family, **(container or {}))
    new_id = net.ecs.update_service(cluster=net.cluster, service=name,
                                    taskDefinition=td)["service"]["deployments"][0]["id"]
    dep = _settled(net, name)
    assert dep["id"] == new_id
    return (dep["updatedAt"] - dep["createdAt"]).total_seconds()


def _assert_near(measured, model_seconds, scale):
    expected = model_seconds * scale
    assert abs(measured - expected) <= 0.2 * expected, (measured, expected)


def test_task_timing_reads_the_target_group_container_and_defaults(net, emulator):
    from moto.ecs.models import ecs_backends
    from stevedore_local import ecs_timing

    defaults = _target_group(net)
    fast = _target_group(net, interval=5, threshold=2, deregistration=5)
    backend = ecs_backends[ACCOUNT][REGION]

    def timing(target_groups, **container):
        family = f"tt-{uuid.uuid4().hex[:8]}"
        td = _register(net, family, **container)
        lbs = [{"targetGroupArn": tg} for tg in target_groups]
        service = type("S", (), {"load_balancers": lbs})()
        return ecs_timing.task_timing(backend, service, td)

    check = {"command": ["CMD", "true"], "interval": 15}
    assert timing([defaults]) == ecs_timing.TaskTiming(START, 150.0, 300.0, 30.0)
    assert timing([fast], stopTimeout=12) == ecs_timing.TaskTiming(START, 10.0, 5.0, 12.0)
    assert timing([], healthCheck=check) == ecs_timing.TaskTiming(START, 15.0, 0.0, 30.0)
    assert timing([fast], healthCheck=check).healthy == 15.0  # the larger of both
    assert timing([fast, defaults]).healthy == 150.0  # healthy in every target group
    assert timing([]) == ecs_timing.TaskTiming(START, 40.0, 0.0, 30.0)  # ECS's 40 s
    unknown = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/none/0123456789abcdef"
    assert timing([unknown]) == ecs_timing.TaskTiming(START, 150.0, 300.0, 30.0)
    assert timing([], healthCheck={"command": ["CMD", "true"]}).healthy == 30.0  # its default
    sidecar = ecs_timing.container_health_interval(
        [{"essential": False, "healthCheck": {"interval": 99}}, {"name": "web"}])
    assert sidecar is None  # a non-essential container's health check counts for nothing


def test_time_scale_control_validates(control):
    import urllib.error

    for bad in ({}, {"scale": 0}, {"scale": -1}, {"scale": "fast"}, {"scale": True}):
        with pytest.raises(urllib.error.HTTPError) as err:
            control.post("ecs/time-scale", bad)
        assert err.value.code == 400


def test_alb_defaults_roll_in_start_healthy_and_stop(net, scaled):
    scale = scaled(SLOW_SCALE)
    name, family = _service(net, target_groups=[_target_group(net)])
    model = rolling_seconds(2, 100, 200, START, 5 * 30, 300 + 30)
    _assert_near(_measured(net, name, family), model, scale)


def test_a_fast_target_group_rolls_faster(net, scaled):
    scale = scaled(SCALE)
    name, family = _service(net, target_groups=[_target_group(net, 5, 2, 5)])
    _assert_near(_measured(net, name, family), rolling_seconds(2, 100, 200, START, 2 * 5, 5 + 30),
                 scale)


def test_minimum_50_maximum_100_rolls_in_two_waves(net, scaled):
    scale = scaled(SCALE)
    name, family = _service(net, minimum=50, maximum=100)
    model = rolling_seconds(2, 50, 100, START, 40, 30)
    assert model == 2 * (30 + START + 40)
    _assert_near(_measured(net, name, family), model, scale)


def test_a_container_health_check_without_load_balancer(net, scaled):
    scale = scaled(SCALE)
    container = {"healthCheck": {"command": ["CMD", "true"], "interval": 15}, "stopTimeout": 20}
    name, family = _service(net, container=container)
    _assert_near(_measured(net, name, family, container),
                 rolling_seconds(2, 100, 200, START, 15, 20), scale)


def test_blue_green_scales_up_bakes_and_cleans_up(net, scaled):
    scale = scaled(SCALE)
    groups = [_target_group(net, 5, 2, 5), _target_group(net, 5, 2, 5)]
    name, family = _service(net, target_groups=groups,
                            conf={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1})
    model = START + 2 * 5 + 60 + (5 + 30)  # green's start + healthy, bake, blue's stop
    _assert_near(_measured(net, name, family), model, scale)


def test_linear_waits_its_step_bakes(net, scaled):
    scale = scaled(SCALE)
    groups = [_target_group(net, 5, 2, 5), _target_group(net, 5, 2, 5)]
    linear = {"stepPercent": 50.0, "stepBakeTimeInMinutes": 1}
    name, family = _service(net, target_groups=groups, conf={
        "strategy": "LINEAR", "bakeTimeInMinutes": 0, "linearConfiguration": linear})
    steps = math.ceil(100 / 50) - 1  # no step bake after the last step
    model = START + 2 * 5 + steps * 60 + (5 + 30)
    _assert_near(_measured(net, name, family), model, scale)
