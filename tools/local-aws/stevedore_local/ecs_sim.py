"""ECS service rollout simulator (moto's deployments never progress).

CreateService, and UpdateService with a new task definition or forceNewDeployment, start a
new PRIMARY deployment (the previous PRIMARY becomes ACTIVE) that progresses on a daemon
thread over scaled time (env ``STEVEDORE_SIM_SECONDS``, default 2 s). Its fate comes from
the digests of the task definition's images (``POST /_stevedore/ecs/deployment-fate``):
healthy (default), unhealthy (circuit breaker: FAILED + rollback; without it: stuck
IN_PROGRESS), slow (10x time), silent (completes, no events). ``ECS Deployment State
Change`` events go to the default bus as real ECS sends them. Services whose stored
``deploymentConfiguration.strategy`` is ``BLUE_GREEN`` deploy through ecs_bluegreen instead
(lifecycle stages, hooks, test traffic, bake time).
"""

from __future__ import annotations

import copy
import os
import random
import re
import threading
import time
from typing import Any

from . import eventbridge
from .state import STATE, iso_z, spawn

_DIGEST = re.compile(r"@(sha256:[0-9a-fA-F]+)")
CB_FAILED_REASON = "ECS deployment circuit breaker: tasks failed to start."
CB_ROLLBACK_REASON = "ECS deployment circuit breaker: rolling back to deploymentId {old}"

_orig: dict[str, Any] = {}
_generation: dict[str, int] = {}
_stop = threading.Event()


def sim_seconds() -> float:
    try:
        return float(os.environ.get("STEVEDORE_SIM_SECONDS", "2"))
    except ValueError:
        return 2.0


def stop_all() -> None:
    _stop.set()


def resume() -> None:
    _stop.clear()


def _now():
    from moto.core.utils import utcnow

    return utcnow()


def new_deployment_id() -> str:
    return "ecs-svc/" + "".join(random.choice("0123456789") for _ in range(19))


def fate_for(backend: Any, task_definition_arn: str) -> str:
    try:
        td = backend.describe_task_definition(task_definition_arn)
        images = [cd.get("image") or "" for cd in td.container_definitions]
    except Exception:  # noqa: BLE001
        images = []
    with STATE.lock:
        for image in images:
            for digest in _DIGEST.findall(image):
                if digest in STATE.deployment_fates:
                    return STATE.deployment_fates[digest]
        return STATE.deployment_fates.get("default", "healthy")


def _circuit_breaker(service: Any) -> tuple[bool, bool]:
    conf = getattr(service, "deployment_configuration", None) or {}
    cb = conf.get("deploymentCircuitBreaker") or {}
    return bool(cb.get("enable")), bool(cb.get("rollback"))


def _deployment(service: Any, task_definition: str, reason: str | None = None) -> dict[str, Any]:
    dep_id = new_deployment_id()
    now = _now()
    return {
        "id": dep_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": service.desired_count,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": service.launch_type,
        "platformVersion": service.platform_version,
        "networkConfiguration": service.network_configuration or None,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": reason or f"ECS deployment {dep_id} in progress.",
    }


def _service_event(service: Any, message: str) -> None:
    import uuid

    service.events = [{"id": str(uuid.uuid4()), "createdAt": _now(),
                       "message": f"(service {service.name}) {message}"}] + list(service.events)[:99]


def _emit(backend: Any, service: Any, event_name: str, dep_id: str, reason: str,
          event_type: str = "INFO") -> None:
    detail = {"eventType": event_type, "eventName": event_name, "deploymentId": dep_id,
              "updatedAt": iso_z(millis=True), "reason": reason}
    eventbridge.emit("aws.ecs", "ECS Deployment State Change", detail, [service.arn],
                     account=backend.account_id, region=backend.region_name)


def _record(service: Any, dep: dict[str, Any], fate: str, rollback_of: str | None = None) -> dict:
    rec = {"service_arn": service.arn, "deployment_id": dep["id"],
           "task_definition": dep["taskDefinition"], "started_at": time.time(),
           "ended_at": None, "outcome": None, "fate": fate}
    if rollback_of:
        rec["rollback_of"] = rollback_of
    with STATE.lock:
        STATE.rollouts.append(rec)
    return rec


def _finish(rec: dict[str, Any], outcome: str) -> None:
    with STATE.lock:
        if rec["ended_at"] is None:
            rec["ended_at"] = time.time()
            rec["outcome"] = outcome


def _start(backend: Any, service: Any, task_definition: str, *, initial_deployment:
           dict[str, Any] | None = None, reason: str | None = None,
           rollback_of: str | None = None, fate: str | None = None) -> dict[str, Any]:
    """Make a new PRIMARY deployment (demoting the old one) and start progressing it."""
    from . import ecs_bluegreen  # it uses this module's helpers

    with STATE.lock:
        key = service.arn
        gen = _generation.get(key, 0) + 1
        _generation[key] = gen
        for rec in STATE.rollouts:  # a superseded rollout ends here
            if rec["service_arn"] == key and rec["ended_at"] is None:
                rec["ended_at"], rec["outcome"] = time.time(), "superseded"
        dep = initial_deployment or _deployment(service, task_definition, reason)
        previous = [d for d in service.deployments if d is not dep]
        for d in previous:
            if d.get("status") == "PRIMARY":
                d["status"] = "ACTIVE"
                d["updatedAt"] = _now()
        service.deployments = [dep] + previous
        service.task_definition = task_definition
        fate = fate or fate_for(backend, task_definition)
        rec = _record(service, dep, fate, rollback_of)
        ecs_bluegreen.prepare(service, dep)
        runner = _progress
        if initial_deployment is None and rollback_of is None and ecs_bluegreen.is_blue_green(service):
            runner = ecs_bluegreen.progress
    spawn(runner, backend, service, dep, rec, fate, gen, reason, name="ecs-rollout")
    return dep


def _alive(service: Any, gen: int) -> bool:
    return _alive_arn(service.arn, gen)


def _alive_arn(service_arn: str, gen: int) -> bool:
    return _generation.get(service_arn) == gen and not _stop.is_set()


def _sleep(seconds: float, service: Any, gen: int) -> bool:
    end = time.time() + seconds
    while time.time() < end:
        if not _alive(service, gen):
            return False
        time.sleep(min(0.05, max(0.0, end - time.time())))
    return _alive(service, gen)


def _complete(backend: Any, service: Any, dep: dict[str, Any], rec: dict, emit: bool) -> None:
    with STATE.lock:
        dep.update(rolloutState="COMPLETED", rolloutStateReason=f"ECS deployment {dep['id']} completed.",
                   runningCount=service.desired_count, pendingCount=0, updatedAt=_now())
        service.deployments = [dep]
        service.running_count = service.desired_count
        service.pending_count = 0
        _service_event(service, f"deployment {dep['id']} deployment completed.")
        _service_event(service, "has reached a steady state.")
    _finish(rec, "completed")
    if emit:
        _emit(backend, service, "SERVICE_DEPLOYMENT_COMPLETED", dep["id"],
              f"ECS deployment {dep['id']} completed.")


def _progress(backend: Any, service: Any, dep: dict[str, Any], rec: dict, fate: str, gen: int,
              reason: str | None) -> None:
    total = sim_seconds() * (10 if fate == "slow" else 1)
    emit = fate != "silent"
    time.sleep(0.05)  # let the API response go out first
    if not _alive(service, gen):
        return
    if emit:
        _emit(backend, service, "SERVICE_DEPLOYMENT_IN_PROGRESS", dep["id"],
              reason or f"ECS deployment {dep['id']} in progress.")
    if not _sleep(total / 2, service, gen):
        return
    with STATE.lock:
        if fate != "unhealthy":
            half = service.desired_count // 2
            dep.update(runningCount=half, pendingCount=service.desired_count - half, updatedAt=_now())
        else:
            dep.update(failedTasks=dep.get("failedTasks", 0) + 1, updatedAt=_now())
    if not _sleep(total / 2, service, gen):
        return
    if fate != "unhealthy":
        _complete(backend, service, dep, rec, emit)
        return
    enabled, rollback = _circuit_breaker(service)
    if not enabled:
        # Real ECS keeps replacing failing tasks: IN_PROGRESS until superseded.
        while _sleep(total, service, gen):
            with STATE.lock:
                dep.update(failedTasks=dep.get("failedTasks", 0) + 1, updatedAt=_now())
        return
    with STATE.lock:
        dep.update(rolloutState="FAILED", rolloutStateReason=CB_FAILED_REASON,
                   failedTasks=max(dep.get("failedTasks", 0), 3), updatedAt=_now())
        _service_event(service, f"deployment {dep['id']} deployment failed: tasks failed to start.")
        target = next((d for d in service.deployments
                       if d is not dep and d.get("rolloutState") == "COMPLETED"), None)
        if target is None:
            target = next((d for d in service.deployments if d is not dep), None)
    _emit(backend, service, "SERVICE_DEPLOYMENT_FAILED", dep["id"], CB_FAILED_REASON, "ERROR")
    if not rollback or target is None:
        _finish(rec, "failed")
        return
    _finish(rec, "rolled_back")
    _start(backend, service, target["taskDefinition"],
           reason=CB_ROLLBACK_REASON.format(old=target["id"]), rollback_of=dep["id"],
           fate="healthy")


def _task_definition_arn(backend: Any, td: str | None) -> str | None:
    if not td:
        return None
    return backend.describe_task_definition(td).arn


def create_service(self: Any, cluster_str: str, service_name: str, desired_count: int,
                   task_definition_str: str | None = None, *args: Any, **kwargs: Any) -> Any:
    service = _orig["create_service"](self, cluster_str, service_name, desired_count,
                                      task_definition_str, *args, **kwargs)
    td = _task_definition_arn(self, task_definition_str)
    if td and service.deployments:
        dep = service.deployments[0]
        dep["id"] = new_deployment_id()
        dep["taskDefinition"] = td
        dep["rolloutStateReason"] = f"ECS deployment {dep['id']} in progress."
        dep["rolloutState"] = "IN_PROGRESS"
        _start(self, service, td, initial_deployment=dep)
    return service


def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
    props = dict(service_properties)
    cluster_str = props.get("cluster", "default")
    service = self._get_service(cluster_str, props["service"].split("/")[-1])
    before = [copy.deepcopy(d) for d in service.deployments]
    td = _task_definition_arn(self, props.get("task_definition"))
    force = bool(props.get("force_new_deployment"))
    service = _orig["update_service"](self, service_properties)
    with STATE.lock:
        service.deployments = before  # undo moto's in-place id change on force
        current = next((d for d in before if d.get("status") == "PRIMARY"), None)
        current_td = current["taskDefinition"] if current else service.task_definition
        if td is None:
            service.task_definition = current_td
        for d in service.deployments:
            d["desiredCount"] = service.desired_count
        service.running_count = current["runningCount"] if current else 0
        service.pending_count = max(service.desired_count - service.running_count, 0)
    if (td and td != current_td) or force:
        _start(self, service, td or current_td)
    return service


def _create_service_response(self: Any):
    result = _orig["create_service_response"](self)
    conf = self._get_param("deploymentConfiguration")
    if conf:
        service = result.result["service"]
        service.deployment_configuration = conf
    return result


def apply() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.ecs.responses import EC2ContainerServiceResponse as R

    if _orig:
        return
    _orig["create_service"] = EC2ContainerServiceBackend.create_service
    _orig["update_service"] = EC2ContainerServiceBackend.update_service
    _orig["create_service_response"] = R.create_service
    EC2ContainerServiceBackend.create_service = create_service
    EC2ContainerServiceBackend.update_service = update_service
    R.create_service = _create_service_response
