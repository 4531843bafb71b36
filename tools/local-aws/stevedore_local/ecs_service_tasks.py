"""The task records an ECS service's deployments start and stop (moto's services start none).

Every service task is a real record in moto's ECS backend, so DescribeTasks and ListTasks see
it as they see RunTask's: one per task of the deployment's task definition, with ``group``
``service:<name>`` ("Tasks launched as part of a service use the service name as the task
group name", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-groups.html; the
``service:`` prefix as DescribeTasks shows it) and ``startedBy`` the deployment id ("If a task
is started by an Amazon ECS service, the startedBy parameter contains the deployment ID of the
service that starts it", https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html).

``lastStatus`` walks the lifecycle of
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html:
PROVISIONING -> PENDING -> RUNNING for a task the scheduler starts (``desiredStatus`` RUNNING),
STOPPING -> STOPPED for one it stops (``desiredStatus`` STOPPED), one state per ``step``
(``sim_seconds() / 4`` unless a strategy passes its own). A task the scheduler stops gets
stopCode ``ServiceSchedulerInitiated`` and stoppedReason ``Scaling activity initiated by
(deployment <its own deployment id>)``, as real DescribeTasks output shows it (the task's
startedBy deployment is the one scaled in); its ENI is deleted as ECS deprovisions it.

An unhealthy fate lets new tasks reach RUNNING and then stops them as ECS would
(https://repost.aws/knowledge-center/ecs-task-stopped): ``Task failed ELB health checks in
(target-group <arn>)`` (stopCode ServiceSchedulerInitiated, exit code 137) for a service behind
a load balancer, else ``Essential container in task exited`` (stopCode
EssentialContainerExited, exit code 1). Tasks that fail after RUNNING are replaced without the
service throttle's back-off, which applies only to tasks that never reach RUNNING
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-throttle-logic.html).

The strategies call this module at their progress points: ``roll`` (a rolling replacement,
honouring minimumHealthyPercent/maximumPercent), ``scale_up`` (a blue/green SCALE_UP),
``retire_others`` (CLEAN_UP, rollback and completion), ``reconcile`` (desiredCount changes and
replacement of stopped tasks outside a rollout). DescribeServices/CreateService/UpdateService
counts (``runningCount``, ``pendingCount``, per-deployment ``runningCount``/``pendingCount``/
``failedTasks``) are derived from these records at read time (``sync_counts``), so they agree
with DescribeTasks whatever a strategy wrote. ListTasks honours ``serviceName``, an exact
``family``, ``startedBy`` and ``desiredStatus`` (default RUNNING, as ECS: "The default status
filter is RUNNING", https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html).
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

from . import ecs_rollout as rollout
from .state import STATE, spawn

PENDING_STATES = ("PROVISIONING", "PENDING", "ACTIVATING")
SCHEDULER = "ServiceSchedulerInitiated"
SCALING_REASON = "Scaling activity initiated by (deployment {deployment})"
EXITED_REASON = "Essential container in task exited"
ELB_REASON = "Task failed ELB health checks in (target-group {arn})"
KEEP_STOPPED = 100  # stopped task records kept per service (ECS shows them for about an hour)

_orig: dict[str, Any] = {}


def step_seconds() -> float:
    return rollout.sim_seconds() / 4


def group(service: Any) -> str:
    return f"service:{service.name}"


def tasks_of(backend: Any, service: Any) -> list[Any]:
    """The service's task records (every state), oldest first."""
    name = group(service)
    while True:  # moto's RunTask adds tasks without our lock: retry a torn read
        cluster = (backend.tasks or {}).get(service.cluster_name) or {}
        try:
            return [t for t in list(cluster.values()) if getattr(t, "group", None) == name]
        except RuntimeError:
            continue


def _live(tasks: list[Any]) -> list[Any]:
    return [t for t in tasks if t.desired_status == "RUNNING" and t.status != "STOPPED"]


def healthy(task: Any) -> bool:
    """RUNNING for a step already: a task without a health check counts towards the minimum
    healthy percent only a while after it reaches RUNNING (40 s on ECS, see bounds' page);
    a task of an unhealthy fate never does."""
    return task.status == "RUNNING" and time.time() >= getattr(task, "_healthy_at", math.inf)


def bounds(service: Any) -> tuple[int, int]:
    """(minimum healthy, maximum) task counts during a rolling deployment: minimumHealthyPercent
    rounded up, maximumPercent rounded down, defaults 100 and 200 (REPLICA)
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html)."""
    conf = getattr(service, "deployment_configuration", None) or {}
    wanted = int(service.desired_count or 0)
    low = conf.get("minimumHealthyPercent")
    high = conf.get("maximumPercent")
    low = 100 if not isinstance(low, int) or isinstance(low, bool) else low
    high = 200 if not isinstance(high, int) or isinstance(high, bool) else high
    return math.ceil(wanted * low / 100), math.floor(wanted * high / 100)


def breaker_threshold(service: Any) -> int:
    """Failed tasks that trip the circuit breaker: 0.5 x desired count, at least 3, at most 200
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/
    API_ServiceDeploymentCircuitBreaker.html)."""
    return max(3, min(200, math.ceil(int(service.desired_count or 0) * 0.5)))


def failed_count(backend: Any, service: Any, dep_id: str) -> int:
    with STATE.lock:
        return sum(1 for t in tasks_of(backend, service)
                   if t.started_by == dep_id and getattr(t, "_service_task_failed", False))


def _failure(service: Any, fate: str) -> tuple[str, str, int] | None:
    """(stopCode, stoppedReason, exit code) an unhealthy fate gives new tasks; None if healthy."""
    if fate != "unhealthy":
        return None
    for lb in getattr(service, "load_balancers", None) or []:
        if isinstance(lb, dict) and lb.get("targetGroupArn"):
            return SCHEDULER, ELB_REASON.format(arn=lb["targetGroupArn"]), 137
    return "EssentialContainerExited", EXITED_REASON, 1


def _launch(backend: Any, service: Any, dep: dict[str, Any], fate: str, step: float) -> Any:
    """Start one task of `dep` (call under STATE.lock); None when it cannot be placed."""
    from moto.ecs.models import Task

    from . import ecs_tasks

    try:
        cluster = backend._get_cluster(service.cluster_name)
        task_def = backend.describe_task_definition(dep["taskDefinition"])
        net = copy.deepcopy(getattr(service, "network_configuration", None)) or None
        ecs_tasks._fill_security_groups(backend, net)
        needs = ecs_tasks._calculate_task_resource_requirements(task_def)
        task = Task(cluster, task_def, None, needs, backend, group(service),
                    launch_type=service.launch_type or "", started_by=dep["id"],
                    networking_configuration=net,
                    platform_version=getattr(service, "platform_version", None))
    except Exception as exc:  # noqa: BLE001 - ECS reports placement failures as service events
        rollout.service_event(service, f"was unable to place a task. Reason: {exc}.")
        return None
    task._transitions = []  # freeze moto's describe-driven state machine
    task.status = "PROVISIONING"
    task.desired_status = "RUNNING"
    task.created_at = rollout.now()
    task.containers = ecs_tasks._containers(task, task_def, {})
    task.stop_code = None
    task._service_task_failed = False
    backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
    spawn(_start, backend, task, _failure(service, fate), step, name="ecs-service-task")
    return task


def _start(backend: Any, task: Any, failure: tuple[str, str, int] | None, step: float) -> None:
    for status in ("PENDING", "RUNNING"):
        time.sleep(step)
        with STATE.lock:
            if task.desired_status != "RUNNING" or task.status == "STOPPED":
                return  # the scheduler stops it
            task.status = status
            if status == "RUNNING":
                task._healthy_at = math.inf if failure else time.time() + step
                task.started_at = task.pull_stopped_at = rollout.now()
                task.pull_started_at = task.created_at
                for c in task.containers:
                    c.last_status = "RUNNING"
    if failure is not None:
        time.sleep(step)
        code, reason, exit_code = failure
        with STATE.lock:
            if task.desired_status == "RUNNING" and task.status == "RUNNING":
                task._service_task_failed = True
                _stopped(backend, task, code, reason, exit_code)


def _stopped(backend: Any, task: Any, code: str, reason: str, exit_code: int | None) -> None:
    """The task is STOPPED now (call under STATE.lock); its ENI is deprovisioned."""
    now = rollout.now()
    ran = getattr(task, "started_at", None) is not None
    for c in task.containers:
        c.last_status = "STOPPED"
        if ran and exit_code is not None:
            c.exitCode = exit_code
    task.desired_status = "STOPPED"
    task.stop_code = code
    task.stopped_reason = reason
    task.stopping_at = getattr(task, "stopping_at", None) or now
    task.stopped_at = task.execution_stopped_at = now
    task.status = "STOPPED"
    _delete_eni(backend, task)
    _forget_old_stopped(backend, task)


def _delete_eni(backend: Any, task: Any) -> None:
    for attachment in getattr(task, "attachments", None) or []:
        eni = next((d["value"] for d in attachment.get("details", [])
                    if d.get("name") == "networkInterfaceId"), None)
        if not eni:
            continue
        try:
            from moto.ec2 import ec2_backends

            ec2_backends[backend.account_id][backend.region_name].delete_network_interface(eni)
        except Exception:  # noqa: BLE001 - already gone
            pass
        attachment["status"] = "DELETED"


def _forget_old_stopped(backend: Any, task: Any) -> None:
    cluster = backend.tasks.get(task.cluster_name) or {}
    stopped = [arn for arn, t in list(cluster.items())
               if getattr(t, "group", None) == task.group and t.status == "STOPPED"]
    forget = set(stopped[:-KEEP_STOPPED])
    if forget:  # a new dict, so a request iterating the old one is not torn
        backend.tasks[task.cluster_name] = {a: t for a, t in list(cluster.items())
                                            if a not in forget}


def stop(backend: Any, task: Any, step: float | None = None) -> None:
    """The scheduler stops `task` (call under STATE.lock): STOPPING now, STOPPED a step later."""
    if task.desired_status != "RUNNING" or task.status == "STOPPED":
        return
    task.desired_status = "STOPPED"
    task.stopping_at = rollout.now()
    task.status = "STOPPING"
    reason = SCALING_REASON.format(deployment=task.started_by)

    def finish() -> None:
        with STATE.lock:
            if task.status != "STOPPED":
                _stopped(backend, task, SCHEDULER, reason, 137)

    spawn(finish, name="ecs-service-task-stop", delay=step_seconds() if step is None else step)


def roll(backend: Any, service: Any, dep: dict[str, Any], fate: str, total: float,
         gen: int) -> str:
    """A rolling replacement of every other deployment's tasks by `dep`'s desiredCount tasks:
    start new tasks while at most maximumPercent are RUNNING or PENDING, stop old ones while
    at least minimumHealthyPercent stay RUNNING; failed new tasks are replaced. Returns
    "completed" (dep runs desiredCount tasks, no other task is left), "failed" (the circuit
    breaker, when enabled, saw its threshold of failed tasks) or "superseded"."""
    step = total / 4
    breaker, _ = rollout.circuit_breaker(service)
    while True:
        with STATE.lock:
            if not rollout.alive(service, gen):
                return "superseded"
            done = _rolling_step(backend, service, dep, fate, step)
        if done:
            return "completed"
        if breaker and failed_count(backend, service, dep["id"]) >= breaker_threshold(service):
            return "failed"
        if not rollout.sleep(step / 2, service, gen):
            return "superseded"


def _rolling_step(backend: Any, service: Any, dep: dict[str, Any], fate: str, step: float) -> bool:
    wanted = int(service.desired_count or 0)
    low, high = bounds(service)
    tasks = tasks_of(backend, service)
    mine = _live([t for t in tasks if t.started_by == dep["id"]])
    for extra in sorted(mine, key=lambda t: t.status == "RUNNING")[:max(0, len(mine) - wanted)]:
        stop(backend, extra, step)  # desiredCount went down: the ones not running yet go first
    mine = _live(mine)
    old = _live([t for t in tasks if t.started_by != dep["id"]])
    for task in [t for t in old if t.status != "RUNNING"]:
        stop(backend, task, step)  # an old task that never ran keeps no one healthy
    old = [t for t in old if t.status == "RUNNING"]
    ready = sum(1 for t in mine if healthy(t))
    for task in old[:max(0, len(old) + ready - low)]:
        stop(backend, task, step)
    in_flight = sum(1 for t in tasks_of(backend, service) if t.status != "STOPPED")
    for _ in range(max(0, min(wanted - len(mine), high - in_flight))):
        _launch(backend, service, dep, fate, step)
    others_left = any(t.status != "STOPPED" for t in tasks_of(backend, service)
                      if t.started_by != dep["id"])
    return ready >= wanted and not others_left


def scale_up(backend: Any, service: Any, dep: dict[str, Any], fate: str, seconds: float,
             gen: int) -> None:
    """Blue/green SCALE_UP: `dep` (green) starts desiredCount tasks beside blue's; returns when
    they all run or have failed (an unhealthy fate), or when the rollout is superseded."""
    step = seconds / 4
    with STATE.lock:
        started = [_launch(backend, service, dep, fate, step)
                   for _ in range(int(service.desired_count or 0))]
    started = [t for t in started if t is not None]
    while rollout.sleep(step / 2, service, gen):
        with STATE.lock:
            if all(t.status in ("RUNNING", "STOPPED") for t in started) and (
                    fate != "unhealthy" or all(t.status == "STOPPED" for t in started)):
                return


def retire_others(backend: Any, service: Any, keep: dict[str, Any], wait: float = 0.0) -> None:
    """Stop every task not of deployment `keep` (blue at CLEAN_UP, green on rollback); with
    `wait`, return once they are STOPPED (at most `wait` seconds)."""
    step = wait / 2 if wait else None
    with STATE.lock:
        leaving = [t for t in tasks_of(backend, service)
                   if t.started_by != keep["id"] and t.status != "STOPPED"]
        for task in leaving:
            stop(backend, task, step)
    end = time.time() + wait
    while wait and time.time() < end:
        with STATE.lock:
            if all(t.status == "STOPPED" for t in leaving):
                return
        time.sleep(min(0.05, wait))


def _rollout_running(service: Any) -> bool:
    with STATE.lock:
        return any(r["service_arn"] == service.arn and r["ended_at"] is None
                   for r in STATE.rollouts)


def reconcile(backend: Any, service: Any) -> None:
    """Outside a rollout the PRIMARY deployment runs desiredCount tasks: a raised desiredCount
    or a stopped task starts new ones, a lowered one stops the surplus."""
    if _rollout_running(service) or getattr(service, "status", "ACTIVE") != "ACTIVE":
        return
    with STATE.lock:
        primary = next((d for d in service.deployments if d.get("status") == "PRIMARY"), None)
        if primary is None:
            return
        mine = _live([t for t in tasks_of(backend, service) if t.started_by == primary["id"]])
        wanted = int(service.desired_count or 0)
        for extra in sorted(mine, key=lambda t: t.status == "RUNNING")[:max(0, len(mine) - wanted)]:
            stop(backend, extra)
        for _ in range(max(0, wanted - len(mine))):
            _launch(backend, service, primary, "healthy", step_seconds())


def sync_counts(backend: Any, service: Any) -> None:
    """Service and deployment counts from the task records (one book, not two)."""
    if (getattr(service, "deployment_controller", None) or {}).get("type", "ECS") != "ECS":
        return  # task sets keep their own counts
    with STATE.lock:
        tasks = tasks_of(backend, service)
        service.running_count = sum(1 for t in tasks if t.status == "RUNNING")
        service.pending_count = sum(1 for t in tasks if t.status in PENDING_STATES)
        for d in service.deployments:
            mine = [t for t in tasks if t.started_by == d.get("id")]
            d["runningCount"] = sum(1 for t in mine if t.status == "RUNNING")
            d["pendingCount"] = sum(1 for t in mine if t.status in PENDING_STATES)
            d["failedTasks"] = sum(1 for t in mine if getattr(t, "_service_task_failed", False))
