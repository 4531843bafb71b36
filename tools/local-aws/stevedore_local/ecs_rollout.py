"""The shared core of the ECS rollout simulator: deployments, their generations and fates.

A rollout is one deployment of a service progressing on a daemon thread over scaled time
(the timing model of ecs_timing: the service's own settings x ``STEVEDORE_SIM_TIME_SCALE``).
``start`` makes the new PRIMARY deployment
(the previous PRIMARY becomes ACTIVE), bumps the service's generation (a superseded rollout
notices through ``alive``/``sleep`` and stops) and runs the strategy's runner given by the
caller. Strategies live in their own modules and use this one (ecs_rolling, ecs_bluegreen);
ecs_sim picks the strategy for a service and patches moto's API. This module imports none
of them, nor ecs_service_tasks (``complete`` is handed its ``retire``).

A deployment's fate comes from the digests of the task definition's images
(``POST /_stevedore/ecs/deployment-fate``): healthy (default), unhealthy, slow (10x time),
silent (completes, no events), alarm (the service's deployment alarms go into ALARM; see
ecs_rolling and ecs_bluegreen).
"""

from __future__ import annotations

import random
import re
import string
import threading
import time
from typing import Any, Callable

from . import eventbridge
from .state import STATE, iso_z, spawn

DIGEST = re.compile(r"@(sha256:[0-9a-fA-F]+)")

_generation: dict[str, int] = {}
_stop = threading.Event()
# runner(backend, service, deployment, rollout record, fate, generation, reason)
Runner = Callable[[Any, Any, dict, dict, str, int, 'str | None'], None]
_ids: dict[str, dict[str, str]] = {}  # deployment id -> {"revision": arn, "deployment": arn}


def stop_all() -> None:
    _stop.set()


def resume() -> None:
    _stop.clear()


def now():
    from moto.core.utils import utcnow

    return utcnow()


def new_deployment_id() -> str:
    return "ecs-svc/" + "".join(random.choice("0123456789") for _ in range(19))


def fate_for(backend: Any, task_definition_arn: str) -> str:
    try:
        td = backend.describe_task_definition(task_definition_arn)
        images = [cd.get("image") or "" for cd in td.container_definitions]
        family = td.family
    except Exception:  # noqa: BLE001
        images, family = [], None
    with STATE.lock:
        for image in images:
            for digest in DIGEST.findall(image):
                for key in (f"{family}/{digest}", digest):
                    if key in STATE.deployment_fates:
                        return STATE.deployment_fates[key]
        return STATE.deployment_fates.get("default", "healthy")


def circuit_breaker(service: Any) -> tuple[bool, bool]:
    conf = getattr(service, "deployment_configuration", None) or {}
    cb = conf.get("deploymentCircuitBreaker") or {}
    return bool(cb.get("enable")), bool(cb.get("rollback"))


def reports_rollout_state(service: Any) -> bool:
    """"The rolloutState of a service is only returned for services that use the rolling update
    (ECS) deployment type that aren't behind a Classic Load Balancer."
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html
    A service behind a Classic Load Balancer names it by ``loadBalancerName``; the emulator also
    sends no ``ECS Deployment State Change`` events for it: AWS documents these events as changes
    of a deployment's rollout (ecs_service_deployment_events.html) and says nothing of such
    services, so the strictest answer (nothing) is what Stevedore must cope with."""
    return not any(lb.get("loadBalancerName") for lb in (service.load_balancers or []))


def new_deployment(service: Any, task_definition: str, reason: str | None = None) -> dict[str, Any]:
    dep_id = new_deployment_id()
    created = now()
    dep = {
        "id": dep_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": service.desired_count,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": created,
        "updatedAt": created,
        "launchType": service.launch_type,
        "platformVersion": service.platform_version,
        "networkConfiguration": service.network_configuration or None,
    }
    strategy = getattr(service, "capacity_provider_strategy", None)
    if strategy:  # a capacity-provider service has no launch type
        dep.pop("launchType")
        dep["capacityProviderStrategy"] = strategy
    if reports_rollout_state(service):
        dep["rolloutState"] = "IN_PROGRESS"
        dep["rolloutStateReason"] = reason or f"ECS deployment {dep_id} in progress."
    return dep


def service_event(service: Any, message: str) -> None:
    import uuid

    service.events = [{"id": str(uuid.uuid4()), "createdAt": now(),
                       "message": f"(service {service.name}) {message}"}] + list(service.events)[:99]


def emit(backend: Any, service: Any, event_name: str, dep_id: str, reason: str,
         event_type: str = "INFO") -> None:
    if not reports_rollout_state(service):
        return  # see reports_rollout_state
    detail = {"eventType": event_type, "eventName": event_name, "deploymentId": dep_id,
              "updatedAt": iso_z(millis=True), "reason": reason}
    eventbridge.emit("aws.ecs", "ECS Deployment State Change", detail, [service.arn],
                     account=backend.account_id, region=backend.region_name)


def record(service: Any, dep: dict[str, Any], fate: str, rollback_of: str | None = None) -> dict:
    rec = {"service_arn": service.arn, "deployment_id": dep["id"],
           "task_definition": dep["taskDefinition"], "started_at": time.time(),
           "ended_at": None, "outcome": None, "fate": fate}
    if rollback_of:
        rec["rollback_of"] = rollback_of
    with STATE.lock:
        STATE.rollouts.append(rec)
    return rec


def finish(rec: dict[str, Any], outcome: str) -> None:
    with STATE.lock:
        if rec["ended_at"] is None:
            rec["ended_at"] = time.time()
            rec["outcome"] = outcome


def start(backend: Any, service: Any, task_definition: str, runner: Runner, *,
          initial_deployment: dict[str, Any] | None = None, reason: str | None = None,
          rollback_of: str | None = None, fate: str | None = None) -> dict[str, Any]:
    """Make a new PRIMARY deployment (demoting the old one) and progress it with `runner`."""
    with STATE.lock:
        key = service.arn
        gen = _generation.get(key, 0) + 1
        _generation[key] = gen
        for rec in STATE.rollouts:  # a superseded rollout ends here
            if rec["service_arn"] == key and rec["ended_at"] is None:
                rec["ended_at"], rec["outcome"] = time.time(), "superseded"
        dep = initial_deployment or new_deployment(service, task_definition, reason)
        previous = [d for d in service.deployments if d is not dep]
        for d in previous:
            if d.get("status") == "PRIMARY":
                d["status"] = "ACTIVE"
                d["updatedAt"] = now()
        service.deployments = [dep] + previous
        service.task_definition = task_definition
        fate = fate or fate_for(backend, task_definition)
        rec = record(service, dep, fate, rollback_of)
        # DescribeServices' ``currentServiceDeployment`` names a new deployment at once.
        service.current_service_deployment = deployment_arn(service, dep["id"])
    spawn(runner, backend, service, dep, rec, fate, gen, reason, name="ecs-rollout")
    return dep


def pause_for_response() -> None:
    """Let the API response that started a rollout go out before its first event."""
    time.sleep(0.05)


def alive(service: Any, gen: int) -> bool:
    return alive_arn(service.arn, gen)


def alive_arn(service_arn: str, gen: int) -> bool:
    return _generation.get(service_arn) == gen and not _stop.is_set()


def sleep(seconds: float, service: Any, gen: int) -> bool:
    end = time.time() + seconds
    while time.time() < end:
        if not alive(service, gen):
            return False
        time.sleep(min(0.05, max(0.0, end - time.time())))
    return alive(service, gen)


def complete(backend: Any, service: Any, dep: dict[str, Any], rec: dict, send: bool,
             retire: Callable[[Any, Any, dict[str, Any]], None]) -> None:
    """`dep` COMPLETED and alone; `retire` (ecs_service_tasks.retire_others) stops any task
    left of the others."""
    with STATE.lock:
        dep.update(updatedAt=now())
        if reports_rollout_state(service):
            dep.update(rolloutState="COMPLETED",
                       rolloutStateReason=f"ECS deployment {dep['id']} completed.")
        service.deployments = [dep]
        retire(backend, service, dep)
        service_event(service, f"deployment {dep['id']} deployment completed.")
        service_event(service, "has reached a steady state.")
    finish(rec, "completed")
    if send:
        emit(backend, service, "SERVICE_DEPLOYMENT_COMPLETED", dep["id"],
             f"ECS deployment {dep['id']} completed.")


def _ids_for(service: Any, dep_id: str) -> dict[str, str]:
    with STATE.lock:
        if dep_id not in _ids:
            prefix, _, path = service.arn.partition(":service/")
            cluster_service = f"{service.cluster_name}/{service.name}" if "/" not in path else path
            revision = "".join(random.choice(string.digits) for _ in range(19))
            sd_id = "".join(random.choice(string.ascii_letters + string.digits) for _ in range(21))
            _ids[dep_id] = {
                "revision": f"{prefix}:service-revision/{cluster_service}/{revision}",
                "deployment": f"{prefix}:service-deployment/{cluster_service}/{sd_id}",
            }
        return _ids[dep_id]


def revision_arn(service: Any, dep_id: str) -> str:
    return _ids_for(service, dep_id)["revision"]


def deployment_arn(service: Any, dep_id: str) -> str:
    return _ids_for(service, dep_id)["deployment"]


def digests(backend: Any, task_definition: str) -> list[str]:
    try:
        td = backend.describe_task_definition(task_definition)
        images = [cd.get("image") or "" for cd in td.container_definitions]
    except Exception:  # noqa: BLE001
        images = []
    return [d for image in images for d in DIGEST.findall(image)]
