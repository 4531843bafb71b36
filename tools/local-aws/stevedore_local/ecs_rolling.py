"""Rolling updates (the ECS deployment controller's ROLLING strategy) for the rollout simulator.

The new deployment replaces the other deployments' task records (ecs_service_tasks.roll,
within minimumHealthyPercent/maximumPercent), a state per ``rollout.sim_seconds() / 4`` (10x
for a slow fate). An unhealthy fate fails tasks: with the deployment circuit breaker the deployment
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

from typing import Any

from . import ecs_alarms
from . import ecs_rollout as rollout
from . import ecs_service_tasks as service_tasks
from .state import STATE

CB_FAILED_REASON = "ECS deployment circuit breaker: tasks failed to start."
CB_ROLLBACK_REASON = "ECS deployment circuit breaker: rolling back to deploymentId {old}"
# AWS documents no wording for alarm failures; Stevedore must not depend on it.
ALARM_FAILED_REASON = "ECS deployment alarms: {names} in ALARM state."
ALARM_ROLLBACK_REASON = "ECS deployment alarms: rolling back to deploymentId {old}"


def progress(backend: Any, service: Any, dep: dict[str, Any], rec: dict, fate: str, gen: int,
              reason: str | None) -> None:
    total = rollout.sim_seconds() * (10 if fate == "slow" else 1)
    send = fate != "silent"
    rollout.pause_for_response()  # let the API response go out first
    if not rollout.alive(service, gen):
        return
    if send:
        rollout.emit(backend, service, "SERVICE_DEPLOYMENT_IN_PROGRESS", dep["id"],
              reason or f"ECS deployment {dep['id']} in progress.")
    outcome = service_tasks.roll(backend, service, dep, fate, total, gen)
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
        rollout.complete(backend, service, dep, rec, send)
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
