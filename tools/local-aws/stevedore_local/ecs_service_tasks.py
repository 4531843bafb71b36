"""The task records an ECS service's deployments start and stop (moto's services start none).

Every service task is a real record in moto's ECS backend, so DescribeTasks and ListTasks see
it as they see RunTask's: one per task of the deployment's task definition, with ``group``
``service:<name>`` ("Tasks launched as part of a service use the service name as the task
group name", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-groups.html; the
``service:`` prefix as DescribeTasks shows it) and ``startedBy`` the deployment id ("If a task
is started by an Amazon ECS service, the startedBy parameter contains the deployment ID of the
service that starts it", https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html).

``lastStatus`` walks the lifecycle of
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
over the durations of the timing model (ecs_timing, scaled): PROVISIONING -> PENDING (half the
start) -> RUNNING (the start) for a task the scheduler starts (``desiredStatus`` RUNNING), counted
healthy the model's healthy time after RUNNING; for one it stops (``desiredStatus`` STOPPED)
DEACTIVATING while the load balancer deregisters it ("If the task is part of a service that's
configured to use Elastic Load Balancing, the load balancer deregistration occurs at this
stage", same page; only behind a target group), STOPPING for the containers' stop timeout, then
STOPPED (a task that never ran stops at once). Every change wakes the rolling scheduler
(ecs_rolling), so it acts when ECS would, not on a coarse poll. A task the scheduler stops gets
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

The strategies call this module at their progress points: ``launch`` and ``stop`` (ecs_rolling's
scheduler, honouring minimumHealthyPercent/maximumPercent), ``scale_up`` (a blue/green SCALE_UP),
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
import threading
import time
from typing import Any

from . import ecs_rollout as rollout
from . import ecs_timing as timing
from .ecs_timing import TaskTiming
from .state import STATE, spawn

PENDING_STATES = ("PROVISIONING", "PENDING", "ACTIVATING")
SCHEDULER = "ServiceSchedulerInitiated"
SCALING_REASON = "Scaling activity initiated by (deployment {deployment})"
EXITED_REASON = "Essential container in task exited"
ELB_REASON = "Task failed ELB health checks in (target-group {arn})"
KEEP_STOPPED = 100  # stopped task records kept per service (ECS shows them for about an hour)

POLL_SECONDS = 0.05  # the longest the scheduler sleeps without a task change (supersede checks)
REPLACE_DELAY = 0.1  # a task stopped by hand is replaced once the scheduler sees it stopped

_orig: dict[str, Any] = {}
_changed = threading.Condition()
_version = [0]


def _notify() -> None:
    """A task changed state: wake whoever waits in ``_wait_change``."""
    with _changed:
        _version[0] += 1
        _changed.notify_all()


def seen_changes() -> int:
    with _changed:
        return _version[0]


def wait_change(seen: int, timeout: float = POLL_SECONDS) -> None:
    """Return once a task changed after `seen` (``seen_changes()``), or after `timeout`."""
    with _changed:
        if _version[0] == seen:
            _changed.wait(max(0.0, timeout))


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


def live(tasks: list[Any]) -> list[Any]:
    return [t for t in tasks if t.desired_status == "RUNNING" and t.status != "STOPPED"]


def healthy(task: Any) -> bool:
    """RUNNING for the model's healthy time already (ecs_timing: target group or container
    health checks, else 40 s); a task of an unhealthy fate never is."""
    return task.status == "RUNNING" and time.time() >= getattr(task, "_healthy_at", math.inf)


def _failure(service: Any, fate: str) -> tuple[str, str, int] | None:
    """(stopCode, stoppedReason, exit code) an unhealthy fate gives new tasks; None if healthy."""
    if fate != "unhealthy":
        return None
    for lb in getattr(service, "load_balancers", None) or []:
        if isinstance(lb, dict) and lb.get("targetGroupArn"):
            return SCHEDULER, ELB_REASON.format(arn=lb["targetGroupArn"]), 137
    return "EssentialContainerExited", EXITED_REASON, 1


def launch(backend: Any, service: Any, dep: dict[str, Any], fate: str, times: TaskTiming) -> Any:
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
    spawn(_start, backend, task, _failure(service, fate), times, name="ecs-service-task")
    return task


def _start(backend: Any, task: Any, failure: tuple[str, str, int] | None,
           times: TaskTiming) -> None:
    for status in ("PENDING", "RUNNING"):
        time.sleep(times.start / 2)
        with STATE.lock:
            if task.desired_status != "RUNNING" or task.status == "STOPPED":
                return  # the scheduler stops it
            task.status = status
            if status == "RUNNING":
                task._healthy_at = math.inf if failure else time.time() + times.healthy
                task.started_at = task.pull_stopped_at = rollout.now()
                task.pull_started_at = task.created_at
                for c in task.containers:
                    c.last_status = "RUNNING"
        _notify()
    time.sleep(times.healthy)  # an unhealthy task fails the checks it would have passed
    with STATE.lock:
        if task.desired_status == "RUNNING" and task.status == "RUNNING":
            if failure is None:
                task._healthy_at = min(task._healthy_at, time.time())
            else:
                code, reason, exit_code = failure
                task._service_task_failed = True
                _stopped(backend, task, code, reason, exit_code)
    _notify()


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


def stop_seconds(backend: Any, service: Any, task: Any,
                 k: float | None = None) -> tuple[float, float]:
    """(deregistration, stop timeout) in emulator seconds for stopping `task` now: a task that
    never ran has nothing to drain or to wait for."""
    if task.status != "RUNNING":
        return 0.0, 0.0
    times = timing.task_timing(backend, service, task.task_definition_arn)
    k = timing.factor() if k is None else k
    return times.deregistration * k, times.stop_timeout * k


def stop(backend: Any, service: Any, task: Any, k: float | None = None) -> None:
    """The scheduler stops `task` (call under STATE.lock): DEACTIVATING while the load balancer
    drains it, STOPPING for the stop timeout, then STOPPED (see the module doc); `k` scales
    the model's seconds (default: the time scale)."""
    if task.desired_status != "RUNNING" or task.status == "STOPPED":
        return
    deregistration, stop_timeout = stop_seconds(backend, service, task, k)
    task.desired_status = "STOPPED"
    task.stopping_at = rollout.now()
    task.status = "DEACTIVATING" if deregistration > 0 else "STOPPING"
    reason = SCALING_REASON.format(deployment=task.started_by)
    spawn(_finish_stop, backend, task, reason, deregistration, stop_timeout,
          name="ecs-service-task-stop")


def _finish_stop(backend: Any, task: Any, reason: str, deregistration: float,
                 stop_timeout: float) -> None:
    if deregistration > 0:
        time.sleep(deregistration)
        with STATE.lock:
            if task.status == "STOPPED":
                return
            task.status = "STOPPING"
        _notify()
    time.sleep(stop_timeout)
    with STATE.lock:
        if task.status != "STOPPED":
            _stopped(backend, task, SCHEDULER, reason, 137)
    _notify()


def scale_up(backend: Any, service: Any, dep: dict[str, Any], fate: str, gen: int) -> None:
    """Blue/green SCALE_UP: `dep` (green) starts desiredCount tasks beside blue's; returns when
    they are all healthy or have failed (an unhealthy fate), or when the rollout is
    superseded."""
    times = timing.task_timing(backend, service, dep["taskDefinition"]).scaled(
        timing.factor(fate))
    with STATE.lock:
        started = [launch(backend, service, dep, fate, times)
                   for _ in range(int(service.desired_count or 0))]
    started = [t for t in started if t is not None]
    while True:
        seen = seen_changes()
        with STATE.lock:
            if not rollout.alive(service, gen) or all(
                    healthy(t) or t.status == "STOPPED" for t in started):
                return
        wait_change(seen)


def retire_others(backend: Any, service: Any, keep: dict[str, Any], k: float | None = None,
                  wait: bool = False) -> None:
    """Stop every task not of deployment `keep` (blue at CLEAN_UP, green on rollback); with
    `wait`, return once they are STOPPED."""
    with STATE.lock:
        leaving = [t for t in tasks_of(backend, service)
                   if t.started_by != keep["id"] and t.status != "STOPPED"]
        longest = max([sum(stop_seconds(backend, service, t, k)) for t in leaving] or [0.0])
        for task in leaving:
            stop(backend, service, task, k)
    end = time.time() + longest + 5.0  # a bound: the stop threads end each task in `longest`
    while wait and time.time() < end:
        seen = seen_changes()
        with STATE.lock:
            if all(t.status == "STOPPED" for t in leaving):
                return
        wait_change(seen)


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
        mine = live([t for t in tasks_of(backend, service) if t.started_by == primary["id"]])
        wanted = int(service.desired_count or 0)
        for extra in sorted(mine, key=lambda t: t.status == "RUNNING")[:max(0, len(mine) - wanted)]:
            stop(backend, service, extra)
        starting = max(0, wanted - len(mine))
        if starting:
            times = timing.task_timing(backend, service, primary["taskDefinition"]).scaled(
                timing.factor())
            for _ in range(starting):
                launch(backend, service, primary, "healthy", times)


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
