"""Rolling updates (the ECS deployment controller's ROLLING strategy) for the rollout simulator.

The new deployment replaces the other deployments' task records (``roll``: the scheduler,
within minimumHealthyPercent/maximumPercent), each task taking the timing model's durations
(ecs_timing: start, healthy, stop from the service's own settings, x the time scale; 10x for a
slow fate). An unhealthy fate fails tasks: with the deployment circuit breaker the deployment
ends FAILED and, with ``rollback``, ECS starts a new deployment of the last COMPLETED one;
without it the deployment stays IN_PROGRESS, replacing failing tasks, until superseded.
Once the new tasks run, ECS watches the service's enabled deployment alarms for a bake time
(ecs_alarms): one in ALARM (or the ``alarm`` fate) ends the deployment FAILED and, with the
alarms' ``rollback``, ECS rolls back as the circuit breaker does
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html);
without alarms nobody watches them and the deployment completes. A rollback deployment is not
watched again (AWS documents nothing for it; watching would roll back forever).
"""

from __future__ import annotations

import math
from typing import Any

from . import ecs_alarms
from . import ecs_rollout as rollout
from . import ecs_service_tasks as service_tasks
from . import ecs_timing as timing
from .state import STATE

CB_FAILED_REASON = "ECS deployment circuit breaker: tasks failed to start."
CB_ROLLBACK_REASON = "ECS deployment circuit breaker: rolling back to deploymentId {old}"
# AWS documents no wording for alarm failures; Stevedore must not depend on it.
ALARM_FAILED_REASON = "ECS deployment alarms: {names} in ALARM state."
ALARM_ROLLBACK_REASON = "ECS deployment alarms: rolling back to deploymentId {old}"


def progress(backend: Any, service: Any, dep: dict[str, Any], rec: dict, fate: str, gen: int,
              reason: str | None) -> None:
    send = fate != "silent"
    rollout.pause_for_response()  # let the API response go out first
    if not rollout.alive(service, gen):
        return
    if send:
        rollout.emit(backend, service, "SERVICE_DEPLOYMENT_IN_PROGRESS", dep["id"],
              reason or f"ECS deployment {dep['id']} in progress.")
    outcome = roll(backend, service, dep, fate, gen)
    if outcome == "superseded":
        return
    conf = getattr(service, "deployment_configuration", None) or {}
    alarms = ecs_alarms.watched(conf)
    if outcome == "completed" and alarms and alarms[0] and not rec.get("rollback_of"):
        # The new tasks run; ECS watches the alarms for its bake time before calling it done.
        found = ecs_alarms.watch(backend, conf, fate, rec, ecs_alarms.rolling_bake_seconds(),
                                 lambda seconds: rollout.sleep(seconds, service, gen))
        if not rollout.alive(service, gen):
            return
        if found:
            _fail(backend, service, dep, rec, ALARM_FAILED_REASON.format(names=", ".join(found)),
                  alarms[1], ALARM_ROLLBACK_REASON)
            return
    if outcome == "completed":
        rollout.complete(backend, service, dep, rec, send, service_tasks.retire_others)
        return
    # The circuit breaker saw its threshold of failed tasks (without it, roll() keeps
    # replacing failing tasks, IN_PROGRESS until superseded, as real ECS does).
    _, rollback = rollout.circuit_breaker(service)
    _fail(backend, service, dep, rec, CB_FAILED_REASON, rollback, CB_ROLLBACK_REASON)


def _fail(backend: Any, service: Any, dep: dict[str, Any], rec: dict, reason: str,
          rollback: bool, rollback_reason: str) -> None:
    with STATE.lock:
        dep.update(rolloutState="FAILED", rolloutStateReason=reason, updatedAt=rollout.now())
        rec["reason"] = reason
        rollout.service_event(service, f"deployment {dep['id']} deployment failed: {reason}")
        target = next((d for d in service.deployments
                       if d is not dep and d.get("rolloutState") == "COMPLETED"), None)
        if target is None:
            target = next((d for d in service.deployments if d is not dep), None)
    # The outcome is decided before the event goes out: whoever reads the event may then ask
    # DescribeServiceDeployments about it (ecs_service_deployments).
    rollout.finish(rec, "rolled_back" if rollback and target is not None else "failed")
    rollout.emit(backend, service, "SERVICE_DEPLOYMENT_FAILED", dep["id"], reason, "ERROR")
    if not rollback or target is None:
        return
    rollout.start(backend, service, target["taskDefinition"], progress,
                  reason=rollback_reason.format(old=target["id"]), rollback_of=dep["id"],
                  fate="healthy")


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
        return sum(1 for t in service_tasks.tasks_of(backend, service)
                   if t.started_by == dep_id and getattr(t, "_service_task_failed", False))


def roll(backend: Any, service: Any, dep: dict[str, Any], fate: str, gen: int) -> str:
    """A rolling replacement of every other deployment's tasks by `dep`'s desiredCount tasks:
    start new tasks while fewer than maximumPercent are not STOPPED, stop old ones while more
    than minimumHealthyPercent stay RUNNING (old) or healthy (new); failed new tasks are
    replaced. The scheduler acts on every task change (``service_tasks.wait_change``), so the
    waves take the timing model's durations. Returns "completed" (dep runs desiredCount
    healthy tasks, no other task is left), "failed" (the circuit breaker, when enabled, saw
    its threshold of failed tasks) or "superseded"."""
    breaker, _ = rollout.circuit_breaker(service)
    k = timing.factor(fate)
    while True:
        seen = service_tasks.seen_changes()
        with STATE.lock:
            if not rollout.alive(service, gen):
                return "superseded"
            done = _rolling_step(backend, service, dep, fate, k)
        if done:
            return "completed"
        if breaker and failed_count(backend, service, dep["id"]) >= breaker_threshold(service):
            return "failed"
        service_tasks.wait_change(seen)


def _rolling_step(backend: Any, service: Any, dep: dict[str, Any], fate: str, k: float) -> bool:
    wanted = int(service.desired_count or 0)
    low, high = bounds(service)
    tasks = service_tasks.tasks_of(backend, service)
    mine = service_tasks.live([t for t in tasks if t.started_by == dep["id"]])
    for extra in sorted(mine, key=lambda t: t.status == "RUNNING")[:max(0, len(mine) - wanted)]:
        # desiredCount went down: the ones not running yet go first
        service_tasks.stop(backend, service, extra, k)
    mine = service_tasks.live(mine)
    old = service_tasks.live([t for t in tasks if t.started_by != dep["id"]])
    for task in [t for t in old if t.status != "RUNNING"]:
        service_tasks.stop(backend, service, task, k)  # an old task that never ran: no one healthy
    old = [t for t in old if t.status == "RUNNING"]
    ready = sum(1 for t in mine if service_tasks.healthy(t))
    for task in old[:max(0, len(old) + ready - low)]:
        service_tasks.stop(backend, service, task, k)
    in_flight = sum(1 for t in service_tasks.tasks_of(backend, service)
                    if t.status != "STOPPED")
    starting = max(0, min(wanted - len(mine), high - in_flight))
    if starting:
        times = timing.task_timing(backend, service, dep["taskDefinition"]).scaled(k)
        for _ in range(starting):
            service_tasks.launch(backend, service, dep, fate, times)
    others_left = any(t.status != "STOPPED" for t in service_tasks.tasks_of(backend, service)
                      if t.started_by != dep["id"])
    return ready >= wanted and not others_left
