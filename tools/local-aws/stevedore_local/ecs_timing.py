"""How long an ECS service's tasks take to start, turn healthy and stop: the rollout timing model.

The emulator's rollouts (ecs_service_tasks, ecs_rolling, ecs_bluegreen, ecs_linear_canary) take
their durations from the service's own settings, as ``stevedore doctor`` predicts them, in real
time multiplied by the time scale (below). Real-AWS seconds, per task:

- start (launch -> RUNNING): ``ASSUMED_TASK_START`` = 30 s. ASSUMPTION: provisioning and image
  pull are set by no setting and AWS documents no figure.
- healthy (RUNNING -> counted healthy towards minimumHealthyPercent):
  - behind a target group (the service's ``loadBalancers[].targetGroupArn``, read from moto's
    ELBv2 backend): HealthyThresholdCount x HealthCheckIntervalSeconds. "The number of
    consecutive health checks successes required before considering a target healthy", one
    check per interval (defaults 5 and 30 s for HTTP/HTTPS target groups,
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html);
  - an essential container with a ``healthCheck``: its ``interval`` ("The time period in seconds
    between each health check execution. The default value is 30 seconds",
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html): the first
    check runs one interval after start and one pass makes the container HEALTHY;
  - both: the larger (they run at the same time); several target groups or containers: the
    slowest, since the task counts only once all of them say healthy;
  - neither: 40 s: "If a task has no essential containers with a health check defined, the
    service scheduler will wait for 40 seconds after a task reaches a RUNNING state before the
    task is counted towards the minimum healthy percent total"
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html).
- stop (the scheduler stops an old task -> STOPPED): behind a target group the deregistration
  delay first (``deregistration_delay.timeout_seconds``, "The default value is 300 seconds",
  https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupAttribute.html;
  ECS waits for the target to leave draining before it stops the task,
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-connection-draining.html),
  then the containers' ``stopTimeout`` (SIGTERM, then SIGKILL after it; "if the parameter is not
  specified, the default value of 30 seconds is used",
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html).
  ASSUMPTION: the app takes all of it (the worst case ECS waits for); the longest container's.

A target group the service names but moto does not know (the emulator does not refuse such a
service, AWS would) counts with the defaults above (5 x 30 s, 300 s). The strategies add the
waits of their own settings (blue/green ``bakeTimeInMinutes``, linear/canary step bakes: see
ecs_bluegreen and ecs_linear_canary) in minutes x 60.

Time scale: every duration is multiplied by ``scale()``: ``POST /_stevedore/ecs/time-scale
{"scale": f}`` if set (``{"scale": null}`` forgets it; ``POST /_stevedore/reset`` too), else env
``STEVEDORE_SIM_TIME_SCALE``, else ``DEFAULT_SCALE`` (0.004: a service with ALB defaults,
100/200 percent, rolls in about 2 s: (30 + 150 + 300 + 30) s x 0.004 = 2.04 s). The ``slow``
deployment fate multiplies it by ``SLOW_FACTOR`` (10). This module imports none of the
rollout modules (they import it).
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from typing import Any

DEFAULT_SCALE = 0.004
SLOW_FACTOR = 10.0
ASSUMED_TASK_START = 30.0  # ASSUMPTION (see above)
NO_HEALTH_CHECK_WAIT = 40.0
CONTAINER_INTERVAL_DEFAULT = 30.0
HEALTHY_THRESHOLD_DEFAULT = 5
TARGET_GROUP_INTERVAL_DEFAULT = 30.0
DEREGISTRATION_DEFAULT = 300.0
STOP_TIMEOUT_DEFAULT = 30.0

_lock = threading.Lock()
_override: float | None = None


class ScaleError(ValueError):
    """A time scale that is not a positive number."""


def env_scale() -> float:
    try:
        value = float(os.environ.get("STEVEDORE_SIM_TIME_SCALE", DEFAULT_SCALE))
    except ValueError:
        return DEFAULT_SCALE
    return value if value > 0 and math.isfinite(value) else DEFAULT_SCALE


def scale() -> float:
    with _lock:
        override = _override
    return env_scale() if override is None else override


def factor(fate: str = "healthy") -> float:
    """Emulator seconds per real-AWS second for a deployment of this fate."""
    return scale() * (SLOW_FACTOR if fate == "slow" else 1.0)


def set_scale(body: dict[str, Any]) -> dict[str, Any]:
    """``{"scale": f}`` (f > 0) or ``{"scale": null}`` (back to env/default); answers the
    previous and the current scale, so a test can restore what it found."""
    global _override
    if "scale" not in body:
        raise ScaleError("give 'scale': a positive number, or null for the default")
    value = body["scale"]
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not math.isfinite(value) or value <= 0):
        raise ScaleError("'scale' must be a positive number, or null for the default")
    previous = scale()
    with _lock:
        _override = None if value is None else float(value)
    return {"ok": True, "previous": previous, "scale": scale()}


def view(_body: dict[str, Any]) -> dict[str, Any]:
    with _lock:
        override = _override
    return {"scale": scale(), "default": env_scale(), "overridden": override is not None}


def reset() -> None:
    global _override
    with _lock:
        _override = None


@dataclass(frozen=True)
class TaskTiming:
    """Seconds (real AWS, or emulator seconds once ``scaled``) of one task's lifecycle."""

    start: float
    healthy: float
    deregistration: float
    stop_timeout: float

    @property
    def stop(self) -> float:
        return self.deregistration + self.stop_timeout

    def scaled(self, k: float) -> "TaskTiming":
        return TaskTiming(self.start * k, self.healthy * k, self.deregistration * k,
                          self.stop_timeout * k)


def _number(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) and number >= 0 else default


def target_group_arns(service: Any) -> list[str]:
    return [lb["targetGroupArn"] for lb in getattr(service, "load_balancers", None) or []
            if isinstance(lb, dict) and lb.get("targetGroupArn")]


def target_groups(service: Any, account: str, region: str) -> list[Any]:
    """moto's target group for each of the service's target groups (None: unknown to moto)."""
    arns = target_group_arns(service)
    if not arns:
        return []
    try:
        from moto.elbv2.models import elbv2_backends

        known = elbv2_backends[account][region].target_groups
    except Exception:  # noqa: BLE001 - no ELBv2 state in this account/region
        known = {}
    return [known.get(arn) for arn in arns]


def target_group_healthy(group: Any) -> float:
    if group is None:
        return HEALTHY_THRESHOLD_DEFAULT * TARGET_GROUP_INTERVAL_DEFAULT
    count = _number(getattr(group, "healthy_threshold_count", None), HEALTHY_THRESHOLD_DEFAULT)
    interval = _number(getattr(group, "health_check_interval_seconds", None),
                       TARGET_GROUP_INTERVAL_DEFAULT)
    return count * interval


def target_group_deregistration(group: Any) -> float:
    if group is None:
        return DEREGISTRATION_DEFAULT
    attributes = getattr(group, "attributes", None) or {}
    return _number(attributes.get("deregistration_delay.timeout_seconds"),
                   DEREGISTRATION_DEFAULT)


def container_health_interval(containers: list[dict[str, Any]]) -> float | None:
    """The slowest essential container health check's interval; None when none has one."""
    intervals = [_number(c["healthCheck"].get("interval"), CONTAINER_INTERVAL_DEFAULT)
                 for c in containers if c.get("essential", True) is not False
                 and isinstance(c.get("healthCheck"), dict)]
    return max(intervals) if intervals else None


def stop_timeout(containers: list[dict[str, Any]]) -> float:
    return max([_number(c.get("stopTimeout"), STOP_TIMEOUT_DEFAULT) for c in containers]
               or [STOP_TIMEOUT_DEFAULT])


def containers_of(backend: Any, task_definition: str) -> list[dict[str, Any]]:
    try:
        return list(backend.describe_task_definition(task_definition).container_definitions)
    except Exception:  # noqa: BLE001 - an unknown task definition has the defaults
        return []


def task_timing(backend: Any, service: Any, task_definition: str) -> TaskTiming:
    """Real-AWS seconds for a task of `task_definition` in `service` (see the module doc)."""
    containers = containers_of(backend, task_definition)
    groups = target_groups(service, backend.account_id, backend.region_name)
    waits = [target_group_healthy(g) for g in groups]
    interval = container_health_interval(containers)
    if interval is not None:
        waits.append(interval)
    healthy = max(waits) if waits else NO_HEALTH_CHECK_WAIT
    deregistration = max([target_group_deregistration(g) for g in groups] or [0.0])
    return TaskTiming(ASSUMED_TASK_START, healthy, deregistration, stop_timeout(containers))


def minutes(value: Any) -> float:
    """A bake time setting in minutes (absent or invalid: 0) as real seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return 0.0
    return float(value) * 60.0
