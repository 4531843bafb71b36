"""Deployment alarms (``deploymentConfiguration.alarms``) as ECS watches them during a rollout.

"When the alarms are generated, Amazon ECS sets the service deployment to failed. Set the
rollback parameter to have Amazon ECS roll back your service to the last completed deployment"
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentAlarms.html). ECS
watches them after the new tasks of a rolling update are up, for a bake time it computes
itself ("You can't set this value",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html),
and during the traffic shifts and bake times of BLUE_GREEN, LINEAR and CANARY
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html).

The state of an alarm is moto's CloudWatch alarm of that name in the service's account and
region, set by tests with the real SetAlarmState after PutMetricAlarm ("Temporarily sets the
state of an alarm for testing",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html; moto
never re-evaluates it, so the state stays). A name with no alarm is never in ALARM. The
``alarm`` deployment fate (control.py) is a shortcut: every enabled alarm counts as in ALARM.
The rolling update's alarm bake time (ECS computes it and documents no value, so it is not part
of the timing model, ecs_timing) is ``STEVEDORE_SIM_ALARM_BAKE_SECONDS`` emulator seconds
(default 2, not scaled). The alarms seen in ALARM go on the rollout record
(``triggered_alarms``) for DescribeServiceDeployments (ecs_service_deployments).
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable

from .state import STATE

POLL_SECONDS = 0.05
ROLLING_BAKE_DEFAULT = 2.0


def watched(conf: Any) -> tuple[list[str], bool] | None:
    """(alarm names ECS watches, whether it rolls back), or None when alarms are off."""
    alarms = conf.get("alarms") if isinstance(conf, dict) else None
    if not isinstance(alarms, dict) or not alarms.get("enable"):
        return None
    return [str(n) for n in alarms.get("alarmNames") or []], bool(alarms.get("rollback"))


def rolling_bake_seconds() -> float:
    try:
        return float(os.environ.get("STEVEDORE_SIM_ALARM_BAKE_SECONDS", ROLLING_BAKE_DEFAULT))
    except ValueError:
        return ROLLING_BAKE_DEFAULT


def alarm_states(account: str, region: str, names: list[str]) -> dict[str, str]:
    """CloudWatch's state of each named alarm that exists (moto's backend)."""
    from moto.cloudwatch.models import cloudwatch_backends

    try:
        alarms = cloudwatch_backends[account][region].alarms
    except KeyError:
        return {}
    return {n: alarms[n].state_value for n in names if n in alarms}


def triggered(backend: Any, conf: Any, fate: str, rec: dict[str, Any]) -> list[str]:
    """The watched alarms in ALARM now (recorded on ``rec``); [] when none or alarms are off."""
    alarms = watched(conf)
    if alarms is None:
        return []
    names, _ = alarms
    with STATE.lock:
        rec["alarm_names"] = list(names)
    if fate == "alarm":
        found = list(names)
    else:
        states = alarm_states(backend.account_id, backend.region_name, names)
        found = [n for n in names if states.get(n) == "ALARM"]
    if found:
        with STATE.lock:
            rec["triggered_alarms"] = found
    return found


def watch(backend: Any, conf: Any, fate: str, rec: dict[str, Any], seconds: float,
          sleep: Callable[[float], bool]) -> list[str]:
    """Wait ``seconds`` (``sleep`` returns False or raises when the rollout is superseded),
    looking at the alarms all along; the alarms found in ALARM, [] when none went off."""
    end = time.time() + max(0.0, seconds)
    while True:
        found = triggered(backend, conf, fate, rec)
        if found:
            return found
        left = end - time.time()
        if left <= 0 or not sleep(min(POLL_SECONDS, left)):
            return []
