"""Native ECS LINEAR and CANARY deployments for the rollout simulator.

Both are blue/green deployments whose production traffic moves in steps
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-linear.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/canary-deployment.html): the
lifecycle stages, hooks, bake time and rollback are ecs_bluegreen's, with these steps (a step
bake waits its minutes x 60 s of the timing model, x the time scale, see ecs_timing):

- LINEAR (``linearConfiguration``): ``stepPercent`` (3.0..100.0 in steps of 0.1, default 10.0)
  of production traffic per step, ``stepBakeTimeInMinutes`` (0..1440, default 6) between
  steps and none after the last
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinearConfiguration.html);
- CANARY (``canaryConfiguration``): ``canaryPercent`` (0.1..100.0, default 5.0) first, then
  ``canaryBakeTimeInMinutes`` (0..1440, default 10), then the rest
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CanaryConfiguration.html).

A hook answering FAILED (or failing), an unhealthy green, or an ``alarm`` fate with deployment
alarms on rolls the deployment back to blue, as for BLUE_GREEN. ``check_request`` refuses a
``linearConfiguration`` or ``canaryConfiguration`` sent with another strategy (the API
reference says each "is only valid" with its own strategy) and values outside the ranges
above or not multiples of 0.1, as ECS's InvalidParameterException; ``check_traffic_route``
refuses BLUE_GREEN, LINEAR and CANARY on a service that has neither a load balancer with an
``advancedConfiguration`` (its ``alternateTargetGroupArn`` is required,
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-advancedconfiguration.html)
nor Service Connect: "To use a linear deployment with managed traffic shifting, your service
must use" Elastic Load Balancing or Service Connect
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linear-deployment-implementation.html;
blue/green: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-implementation.html).
"""

from __future__ import annotations

from typing import Any

from . import ecs_bluegreen
from .ecs_bluegreen import Steps

STRATEGIES = ("LINEAR", "CANARY")
TRAFFIC_SHIFTING = ("BLUE_GREEN", "LINEAR", "CANARY")
_OWN_SETTINGS = {"linearConfiguration": "LINEAR", "canaryConfiguration": "CANARY"}
# (settings, field) -> (lowest, highest, in tenths): the API reference's ranges.
_RANGES = {
    ("linearConfiguration", "stepPercent"): (3.0, 100.0, True),
    ("linearConfiguration", "stepBakeTimeInMinutes"): (0, 1440, False),
    ("canaryConfiguration", "canaryPercent"): (0.1, 100.0, True),
    ("canaryConfiguration", "canaryBakeTimeInMinutes"): (0, 1440, False),
}


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
    """InvalidParameter for strategy-specific settings sent with another strategy, or out of
    ECS's ranges."""
    if not isinstance(conf, dict):
        return
    strategy = conf.get("strategy")
    for key, own in _OWN_SETTINGS.items():
        if conf.get(key) is not None and strategy != own:
            raise InvalidParameter(
                f"{key} is only valid when the deployment strategy is {own}, not "
                f"{strategy or 'ROLLING'}.")
    for (key, field), (low, high, tenths) in _RANGES.items():
        settings = conf.get(key)
        value = settings.get(field) if isinstance(settings, dict) else None
        if value is None:
            continue  # ECS's default applies
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not number or not low <= value <= high:
            raise InvalidParameter(f"{key}.{field} must be between {low} and {high}.")
        if tenths and abs(round(value * 10) - value * 10) > 1e-9:
            raise InvalidParameter(f"{key}.{field} must be a multiple of 0.1.")
        if not tenths and not float(value).is_integer():
            raise InvalidParameter(f"{key}.{field} must be a whole number of minutes.")


def _routes_traffic(load_balancers: Any, service_connect: Any) -> bool:
    """A load balancer with an alternate target group, or Service Connect enabled."""
    for lb in load_balancers or []:
        advanced = lb.get("advancedConfiguration") if isinstance(lb, dict) else None
        if isinstance(advanced, dict) and advanced.get("alternateTargetGroupArn"):
            return True
    return isinstance(service_connect, dict) and service_connect.get("enabled") is True


def check_traffic_route(strategy: Any, load_balancers: Any, service_connect: Any) -> None:
    """InvalidParameter for a traffic-shifting strategy with no way to shift traffic."""
    if strategy in TRAFFIC_SHIFTING and not _routes_traffic(load_balancers, service_connect):
        raise InvalidParameter(
            f"The {strategy} deployment strategy requires a load balancer with an "
            "advancedConfiguration (alternateTargetGroupArn) or Service Connect.")


def progress(backend: Any, service: Any, dep: dict[str, Any], rec: dict[str, Any], fate: str,
             gen: int, reason: str | None) -> None:
    conf = getattr(service, "deployment_configuration", None) or {}
    ecs_bluegreen.progress(backend, service, dep, rec, fate, gen, reason, steps=steps(conf),
                           strategy=strategy_of(service) or "LINEAR")
