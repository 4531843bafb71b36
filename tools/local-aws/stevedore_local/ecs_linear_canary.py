"""Native ECS LINEAR and CANARY deployments for the rollout simulator.

Both are blue/green deployments whose production traffic moves in steps
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-linear.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/canary-deployment.html): the
lifecycle stages, hooks, bake time and rollback are ecs_bluegreen's, with these steps:

- LINEAR (``linearConfiguration``): ``stepPercent`` (3.0..100.0 in steps of 0.1, default 10.0)
  of production traffic per step, ``stepBakeTimeInMinutes`` (0..1440, default 6) between
  steps and none after the last
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinearConfiguration.html);
- CANARY (``canaryConfiguration``): ``canaryPercent`` (0.1..100.0, default 5.0) first, then
  ``canaryBakeTimeInMinutes`` (0..1440, default 10), then the rest
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CanaryConfiguration.html).

A hook answering FAILED (or failing), an unhealthy green, or an ``alarm`` fate with deployment
alarms on rolls the deployment back to blue, as for BLUE_GREEN. ``check_request`` refuses a
``linearConfiguration`` or ``canaryConfiguration`` sent with another strategy: the API
reference says each "is only valid" with its own strategy.
"""

from __future__ import annotations

from typing import Any

from . import ecs_bluegreen
from .ecs_bluegreen import Steps

STRATEGIES = ("LINEAR", "CANARY")
_OWN_SETTINGS = {"linearConfiguration": "LINEAR", "canaryConfiguration": "CANARY"}


class InvalidParameter(Exception):
    """Answered as ECS's InvalidParameterException."""


def strategy_of(service: Any) -> str | None:
    conf = getattr(service, "deployment_configuration", None)
    strategy = conf.get("strategy") if isinstance(conf, dict) else None
    return strategy if strategy in STRATEGIES else None


def _number(value: Any, default: float, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        return default
    return float(value)


def steps(conf: dict[str, Any]) -> Steps:
    """Production traffic on green after each step, and the bake minutes after it."""
    if conf.get("strategy") == "CANARY":
        canary = conf.get("canaryConfiguration") or {}
        percent = _number(canary.get("canaryPercent"), 5.0, 0.1, 100.0)
        bake = _number(canary.get("canaryBakeTimeInMinutes"), 10, 0, 1440)
        return [(percent, bake), (100.0, 0.0)] if percent < 100 else [(100.0, 0.0)]
    linear = conf.get("linearConfiguration") or {}
    step = _number(linear.get("stepPercent"), 10.0, 3.0, 100.0)
    bake = _number(linear.get("stepBakeTimeInMinutes"), 6, 0, 1440)
    out: Steps = []
    shifted = 0.0
    while shifted < 100.0:
        shifted = min(100.0, round(shifted + step, 1))
        out.append((shifted, bake if shifted < 100.0 else 0.0))
    return out


def check_request(conf: Any) -> None:
    """InvalidParameter for strategy-specific settings sent with another strategy."""
    if not isinstance(conf, dict):
        return
    strategy = conf.get("strategy")
    for key, own in _OWN_SETTINGS.items():
        if conf.get(key) is not None and strategy != own:
            raise InvalidParameter(
                f"{key} is only valid when the deployment strategy is {own}, not "
                f"{strategy or 'ROLLING'}.")


def progress(backend: Any, service: Any, dep: dict[str, Any], rec: dict[str, Any], fate: str,
             gen: int, reason: str | None) -> None:
    conf = getattr(service, "deployment_configuration", None) or {}
    ecs_bluegreen.progress(backend, service, dep, rec, fate, gen, reason, steps=steps(conf),
                           strategy=strategy_of(service) or "LINEAR")
