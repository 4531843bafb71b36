"""Rolling updates (the ECS deployment controller's ROLLING strategy) for the rollout simulator.

The new deployment replaces the other deployments' task records (ecs_service_tasks.roll,
within minimumHealthyPercent/maximumPercent), a state per ``rollout.sim_seconds() / 4`` (10x
for a slow fate). An unhealthy fate fails tasks: with the deployment circuit breaker the deployment
ends FAILED and, with ``rollback``, ECS starts a new deployment of the last COMPLETED one;
without it the deployment stays IN_PROGRESS, replacing failing tasks, until superseded.
"""

from __future__ import annotations

from typing import Any

from . import ecs_rollout as rollout
from . import ecs_service_tasks as service_tasks
from .state import STATE

CB_FAILED_REASON = "ECS deployment circuit breaker: tasks failed to start."
CB_ROLLBACK_REASON = "ECS deployment circuit breaker: rolling back to deploymentId {old}"


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
    if outcome == "completed":
        rollout.complete(backend, service, dep, rec, send)
        return
    # The circuit breaker saw its threshold of failed tasks (without it, roll() keeps
    # replacing failing tasks, IN_PROGRESS until superseded, as real ECS does).
    _, rollback = rollout.circuit_breaker(service)
    with STATE.lock:
        dep.update(rolloutState="FAILED", rolloutStateReason=CB_FAILED_REASON,
                   updatedAt=rollout.now())
        rollout.service_event(service, f"deployment {dep['id']} deployment failed: tasks failed to start.")
        target = next((d for d in service.deployments
                       if d is not dep and d.get("rolloutState") == "COMPLETED"), None)
        if target is None:
            target = next((d for d in service.deployments if d is not dep), None)
    rollout.emit(backend, service, "SERVICE_DEPLOYMENT_FAILED", dep["id"], CB_FAILED_REASON, "ERROR")
    if not rollback or target is None:
        rollout.finish(rec, "failed")
        return
    rollout.finish(rec, "rolled_back")
    rollout.start(backend, service, target["taskDefinition"], progress,
                  reason=CB_ROLLBACK_REASON.format(old=target["id"]), rollback_of=dep["id"],
                  fate="healthy")


