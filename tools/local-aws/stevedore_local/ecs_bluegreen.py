"""Native ECS BLUE_GREEN deployments for the rollout simulator (uses the core, ecs_rollout).

A new deployment of a service whose stored ``deploymentConfiguration.strategy`` is
``BLUE_GREEN`` walks ECS's lifecycle stages (RECONCILE_SERVICE only with more than one ACTIVE
revision); at each stage every lifecycle hook listing it is invoked synchronously through the
Lambda bridge with the payload real ECS sends, and its ``hookStatus`` decides: SUCCEEDED goes
on, IN_PROGRESS is invoked again after ``callBackDelay`` (default 30 s) x
``STEVEDORE_SIM_HOOK_DELAY_SCALE`` (default 0.02, at least 0.05 s; hook time is Stevedore's,
not the timing model's) with the returned ``hookDetails``, anything else (FAILED, a function
error, no ``hookStatus``, more than ``STEVEDORE_SIM_HOOK_MAX_INVOCATIONS`` (default 200)
invocations) rolls back to the blue deployment (same deployment id; the hooks of
TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT run again). Time passes as the timing model
says (ecs_timing, x the time scale; 10x for a slow fate), the stages themselves none: SCALE_UP
lasts until green's tasks are all healthy (start + healthy), the production traffic steps wait
their step bakes (ecs_linear_canary), the bake time (``bakeTimeInMinutes`` x 60 s: "The time
period when both blue and green service revisions are running simultaneously after the
production traffic has shifted",
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html)
passes, CLEAN_UP stops blue's tasks (their stop time) and the deployment completes. Test
traffic reaches green (the test listener stand-in, see ecs_test_listener) from
TEST_TRAFFIC_SHIFT until the deployment ends.

Production traffic moves in the steps ``progress`` is given (BLUE_GREEN: one step of 100%;
LINEAR and CANARY: see ecs_linear_canary); PRE_PRODUCTION_TRAFFIC_SHIFT and
PRODUCTION_TRAFFIC_SHIFT hooks run at every step, as ECS documents for linear and canary
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentLifecycleHook.html).
The service's enabled deployment alarms are watched (ecs_alarms) from each production
traffic step through the step bakes and the final bake: one in ALARM (or the ``alarm`` fate)
fails the deployment, which rolls back to blue
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html).

A rollback sends the events ECS documents for one: SERVICE_DEPLOYMENT_IN_PROGRESS for the
rollback (its reason says so), SERVICE_DEPLOYMENT_FAILED for green, then
SERVICE_DEPLOYMENT_COMPLETED for the rollback
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html).
"""

from __future__ import annotations

import copy
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import ecs_alarms, ecs_rolling, iam_enforce, lambda_bridge
from . import ecs_rollout as rollout
from . import ecs_service_tasks as service_tasks
from . import ecs_timing as timing
from .state import STATE

STAGES = ["RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
          "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
          "POST_PRODUCTION_TRAFFIC_SHIFT"]
ROLLBACK_STAGES = ["TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"]
_ROLLED_BACK = "Service deployment rolled back because "
HOOK_FAILED_REASON = _ROLLED_BACK + "lifecycle hook {arn} returned FAILED during {stage}."
HOOK_ERROR_REASON = _ROLLED_BACK + "lifecycle hook {arn} failed during {stage}."
HOOK_NO_STATUS_REASON = _ROLLED_BACK + "lifecycle hook {arn} returned no hookStatus during {stage}."
HOOK_TIMEOUT_REASON = _ROLLED_BACK + "lifecycle hook {arn} timed out during {stage}."
TASKS_FAILED_REASON = _ROLLED_BACK + "tasks failed to start during SCALE_UP."
# AWS documents no wording for these two; Stevedore must not depend on it.
ALARM_REASON = _ROLLED_BACK + "deployment alarms {names} went into ALARM during {stage}."
ROLLBACK_REASON = "Service deployment rolling back to deploymentId {blue}: {reason}"
# (percent of production traffic on green after the step, bake minutes after the step)
Steps = list[tuple[float, float]]
ALL_AT_ONCE: Steps = [(100.0, 0.0)]

_traffic: dict[tuple[str, str], dict[str, Any]] = {}  # (cluster, service) -> green on test


class _Superseded(Exception):
    """A newer deployment (or the emulator's stop) ended this one."""


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def hook_delay_scale() -> float:
    return _env_float("STEVEDORE_SIM_HOOK_DELAY_SCALE", 0.02)


def max_hook_invocations() -> int:
    return max(1, int(_env_float("STEVEDORE_SIM_HOOK_MAX_INVOCATIONS", 200)))


def is_blue_green(service: Any) -> bool:
    conf = getattr(service, "deployment_configuration", None)
    return isinstance(conf, dict) and conf.get("strategy") == "BLUE_GREEN"


def test_traffic(cluster: str, service: str) -> dict[str, Any] | None:
    """The green deployment that gets this service's test traffic now, if any."""
    with STATE.lock:
        entry = _traffic.get((cluster, service))
        if entry is None or not rollout.alive_arn(entry["service_arn"], entry["gen"]):
            return None
        return dict(entry)


@dataclass
class _Run:
    backend: Any
    service: Any
    dep: dict[str, Any]
    rec: dict[str, Any]
    fate: str
    gen: int
    blue: dict[str, Any]
    conf: dict[str, Any]
    emit: bool = True
    stage: str = ""
    ids: dict[str, str] = field(default_factory=dict)
    steps: Steps = field(default_factory=lambda: list(ALL_AT_ONCE))
    green_percent: float = 0.0  # of production traffic
    k: float = 1.0  # emulator seconds per real-AWS second (ecs_timing.factor)

    def live(self, dep: dict[str, Any]) -> dict[str, Any]:
        """The service's current dict for a deployment (UpdateService may copy them)."""
        return next((d for d in self.service.deployments if d.get("id") == dep["id"]), dep)

    def sleep(self, seconds: float) -> None:
        if not rollout.sleep(seconds, self.service, self.gen):
            raise _Superseded()


def progress(backend: Any, service: Any, dep: dict[str, Any], rec: dict[str, Any], fate: str,
             gen: int, reason: str | None, steps: Steps | None = None,
             strategy: str = "BLUE_GREEN") -> None:
    with STATE.lock:
        others = [d for d in service.deployments if d.get("id") != dep["id"]]
        blue = next((d for d in others if d.get("rolloutState") == "COMPLETED"), None)
        blue = blue or (others[0] if others else None)
        conf = copy.deepcopy(getattr(service, "deployment_configuration", None) or {})
        rec["strategy"] = strategy
    if blue is None:  # nothing to be blue against: an ordinary rollout
        ecs_rolling.progress(backend, service, dep, rec, fate, gen, reason)
        return
    run = _Run(backend, service, dep, rec, fate, gen, blue, conf, emit=fate != "silent",
               steps=list(steps or ALL_AT_ONCE), k=timing.factor(fate))
    run.ids = {"green": rollout.revision_arn(service, dep["id"]), "blue": rollout.revision_arn(service, blue["id"]),
               "deployment": rollout.deployment_arn(service, dep["id"])}
    try:
        _walk(run, reconcile=len(others) > 1, reason=reason)
    except _Superseded:
        pass
    finally:
        _clear_traffic(run)


def _walk(run: _Run, reconcile: bool, reason: str | None) -> None:
    rollout.pause_for_response()
    if not rollout.alive(run.service, run.gen):
        raise _Superseded()
    dep_id = run.dep["id"]
    if run.emit:
        rollout.emit(run.backend, run.service, "SERVICE_DEPLOYMENT_IN_PROGRESS", dep_id,
                      reason or f"ECS deployment {dep_id} in progress.")
    stages = [s for s in STAGES if s != "RECONCILE_SERVICE" or reconcile]
    for stage in stages:
        if stage == "PRODUCTION_TRAFFIC_SHIFT":
            continue  # runs with PRE_PRODUCTION_TRAFFIC_SHIFT, once per step
        if stage == "PRE_PRODUCTION_TRAFFIC_SHIFT":
            failure = _shift_production(run)
        else:
            _set_stage(run, stage)
            failure = _enter(run, stage) or _run_hooks(run, stage)
        if failure:
            _rollback(run, failure)
            return
        if stage == "PRE_SCALE_UP":  # SCALE_UP: green's tasks start beside blue's
            service_tasks.scale_up(run.backend, run.service, run.live(run.dep), run.fate,
                                   run.gen)
        run.sleep(0)
    minutes = timing.minutes(run.conf.get("bakeTimeInMinutes")) / 60  # absent or invalid: 0
    started = time.time()
    with STATE.lock:
        run.rec["lifecycle_stage"] = "BAKE_TIME"
        run.rec["bake_time_in_minutes"] = int(minutes) if minutes.is_integer() else minutes
    failure = _watch_alarms(run, minutes * 60 * run.k, "BAKE_TIME")
    if failure:
        _rollback(run, failure)
        return
    with STATE.lock:
        run.rec["bake_seconds"] = round(time.time() - started, 3)
        run.rec["lifecycle_stage"] = "CLEAN_UP"
        if not rollout.alive(run.service, run.gen):
            raise _Superseded()
        green = run.live(run.dep)
    service_tasks.retire_others(run.backend, run.service, green, run.k, wait=True)  # CLEAN_UP
    run.sleep(0)
    _clear_traffic(run)
    rollout.complete(run.backend, run.service, green, run.rec, run.emit,
                     service_tasks.retire_others)


def _set_stage(run: _Run, stage: str) -> None:
    run.stage = stage
    with STATE.lock:
        run.rec["lifecycle_stage"] = stage


def _watch_alarms(run: _Run, seconds: float, stage: str) -> str | None:
    """``seconds`` pass with the alarms watched; a failure reason when one is in ALARM."""
    found = ecs_alarms.watch(run.backend, run.conf, run.fate, run.rec, seconds,
                             lambda s: run.sleep(s) or True)
    return ALARM_REASON.format(names=", ".join(found), stage=stage) if found else None


def _shift_production(run: _Run) -> str | None:
    """Production traffic to green, step by step; a failure reason stops it."""
    for index, (percent, bake_minutes) in enumerate(run.steps):
        for stage in ("PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"):
            _set_stage(run, stage)
            if stage == "PRODUCTION_TRAFFIC_SHIFT":
                with STATE.lock:
                    run.green_percent = percent
                    run.rec.setdefault("production_steps", []).append(percent)
            failure = _run_hooks(run, stage)
            if failure:
                return failure
        last = index == len(run.steps) - 1  # no step bake after the last step
        wait = 0.0 if last else timing.minutes(bake_minutes) * run.k
        failure = _watch_alarms(run, wait, "PRODUCTION_TRAFFIC_SHIFT")
        if failure:
            return failure
    return None


def _enter(run: _Run, stage: str) -> str | None:
    """What happens as a stage begins; a failure reason when green's tasks do not start."""
    service = run.service
    with STATE.lock:
        green = run.live(run.dep)
        if stage == "POST_SCALE_UP":
            if run.fate == "unhealthy":
                green.update(failedTasks=green.get("failedTasks", 0) + service.desired_count,
                             updatedAt=rollout.now())
                return TASKS_FAILED_REASON
            green.update(runningCount=service.desired_count, pendingCount=0,
                         updatedAt=rollout.now())
            rollout.service_event(service, f"has started {service.desired_count} tasks "
                                            f"of deployment {green['id']}.")
        elif stage == "TEST_TRAFFIC_SHIFT":
            _traffic[(service.cluster_name, service.name)] = {
                "service_arn": service.arn, "gen": run.gen, "deployment_id": green["id"],
                "task_definition": green["taskDefinition"],
                "digests": rollout.digests(run.backend, green["taskDefinition"])}
    return None


def _clear_traffic(run: _Run) -> None:
    with STATE.lock:
        key = (run.service.cluster_name, run.service.name)
        if _traffic.get(key, {}).get("gen") == run.gen:
            del _traffic[key]


def _weights(run: _Run, stage: str, rollback: bool) -> tuple[dict[str, int], dict[str, int]]:
    on_blue = {run.ids["blue"]: 100, run.ids["green"]: 0}
    on_green = {run.ids["blue"]: 0, run.ids["green"]: 100}
    if rollback:
        return dict(on_blue), dict(on_blue)
    index = STAGES.index(stage)
    test = on_green if index >= STAGES.index("TEST_TRAFFIC_SHIFT") else {}
    green = run.green_percent if index >= STAGES.index("PRE_PRODUCTION_TRAFFIC_SHIFT") else 0
    green = int(green) if float(green).is_integer() else green
    production = {run.ids["blue"]: round(100 - green, 1), run.ids["green"]: green}
    return dict(test), production


def _hooks(run: _Run, stage: str) -> list[dict[str, Any]]:
    hooks = run.conf.get("lifecycleHooks") or []
    return [h for h in hooks if isinstance(h, dict) and stage in (h.get("lifecycleStages") or [])
            and h.get("hookTargetArn") and (h.get("targetType") or "AWS_LAMBDA") == "AWS_LAMBDA"]


def _run_hooks(run: _Run, stage: str, rollback: bool = False) -> str | None:
    for hook in _hooks(run, stage):
        failure = _run_hook(run, hook, stage, rollback)
        if failure and not rollback:
            return failure
    return None


def _run_hook(run: _Run, hook: dict[str, Any], stage: str, rollback: bool) -> str | None:
    arn = hook["hookTargetArn"]
    details = hook.get("hookDetails")
    execution_id = str(uuid.uuid4())
    for attempt in range(1, max_hook_invocations() + 1):
        test, production = _weights(run, stage, rollback)
        payload: dict[str, Any] = {
            "executionDetails": {
                "testTrafficWeights": test, "productionTrafficWeights": production,
                "serviceArn": run.service.arn,
                "targetServiceRevisionArn": run.ids["blue" if rollback else "green"]},
            "executionId": execution_id, "lifecycleStage": stage,
            "resourceArn": run.ids["deployment"]}
        if details is not None:
            payload["hookDetails"] = details
        started = time.time()
        # ECS invokes the hook with the hook's role: a role of the template must trust ECS for
        # this account and allow invoking the function, or the invocation fails.
        refusal = iam_enforce.service_role_refusal(
            "ecs", hook.get("roleArn"), "ecs.amazonaws.com", "lambda:InvokeFunction", arn,
            run.service.arn)
        if refusal:
            _record(run, stage, arn, execution_id, attempt, rollback, payload, 403, refusal, None,
                    started)
            return HOOK_ERROR_REASON.format(arn=arn, stage=stage)
        status, body = lambda_bridge.invoke_remote(arn, json.dumps(payload))
        try:
            answer: Any = json.loads(body or b"null")
        except ValueError:
            answer = (body or b"").decode("utf-8", "replace")
        hook_status = answer.get("hookStatus") if isinstance(answer, dict) else None
        _record(run, stage, arn, execution_id, attempt, rollback, payload, status, answer,
                hook_status, started)
        if not rollout.alive(run.service, run.gen):
            raise _Superseded()
        if status >= 300:
            return HOOK_ERROR_REASON.format(arn=arn, stage=stage)
        if hook_status == "SUCCEEDED":
            return None
        if hook_status == "FAILED":
            return HOOK_FAILED_REASON.format(arn=arn, stage=stage)
        if hook_status != "IN_PROGRESS":
            return HOOK_NO_STATUS_REASON.format(arn=arn, stage=stage)
        returned = answer.get("hookDetails")
        details = returned if returned is not None else hook.get("hookDetails")
        delay = answer.get("callBackDelay", 30)
        if not isinstance(delay, (int, float)) or isinstance(delay, bool) or delay < 0:
            delay = 30
        run.sleep(max(0.05, float(delay) * hook_delay_scale()))
    return HOOK_TIMEOUT_REASON.format(arn=arn, stage=stage)


def _record(run: _Run, stage: str, arn: str, execution_id: str, attempt: int, rollback: bool,
            payload: dict[str, Any], status: int, answer: Any, hook_status: Any,
            started: float) -> None:
    entry = {"service_arn": run.service.arn, "service": run.service.name,
             "cluster": run.service.cluster_name, "deployment_id": run.dep["id"],
             "service_deployment_arn": run.ids["deployment"], "stage": stage,
             "hook_target_arn": arn, "execution_id": execution_id, "attempt": attempt,
             "rollback": rollback, "payload": payload, "status": status, "answer": answer,
             "hook_status": hook_status, "at": started,
             "duration": round(time.time() - started, 4)}
    with STATE.lock:
        STATE.hook_invocations.append(entry)


def _rollback(run: _Run, reason: str) -> None:
    """Green FAILED, blue PRIMARY again at once; rollback hooks; then green is gone."""
    service = run.service
    with STATE.lock:
        green, blue = run.live(run.dep), run.live(run.blue)
        now = rollout.now()
        green.update(status="ACTIVE", rolloutState="FAILED", rolloutStateReason=reason,
                     updatedAt=now)
        blue.update(status="PRIMARY", rolloutState="IN_PROGRESS", updatedAt=now,
                    runningCount=service.desired_count, pendingCount=0)
        service.deployments = [blue, green]
        service.task_definition = blue["taskDefinition"]
        run.rec.update(reason=reason, failed_stage=run.stage)
        rollout.service_event(service, f"deployment {green['id']} deployment failed: {reason}")
    # Green's outcome is decided now; the release may end on the rollback's first event.
    rollout.finish(run.rec, "rolled_back")
    _clear_traffic(run)  # test traffic goes back to blue
    if run.emit:  # the rollback deployment starts; its reason says it is one
        rollout.emit(run.backend, service, "SERVICE_DEPLOYMENT_IN_PROGRESS", blue["id"],
                     ROLLBACK_REASON.format(blue=blue["id"], reason=reason))
    for stage in ROLLBACK_STAGES:
        _run_hooks(run, stage, rollback=True)  # answers do not change the outcome
    if run.emit:
        rollout.emit(run.backend, service, "SERVICE_DEPLOYMENT_FAILED", run.dep["id"], reason,
                     "ERROR")
    # Green's tasks leave as blue's would at CLEAN_UP (drained, then their stop timeout).
    service_tasks.retire_others(run.backend, service, run.live(run.blue), run.k, wait=True)
    run.sleep(0)
    with STATE.lock:
        if not rollout.alive(service, run.gen):
            raise _Superseded()
        blue = run.live(run.blue)
        blue.update(rolloutState="COMPLETED", updatedAt=rollout.now(),
                    rolloutStateReason=f"ECS deployment {blue['id']} completed.")
        service.deployments = [blue]
        service.task_definition = blue["taskDefinition"]
        service_tasks.retire_others(run.backend, service, blue)  # any task left of green
        rollout.service_event(service, f"rolled back to deployment {blue['id']}.")
        rollout.service_event(service, "has reached a steady state.")
    if run.emit:
        rollout.emit(run.backend, service, "SERVICE_DEPLOYMENT_COMPLETED", blue["id"],
                     f"ECS deployment {blue['id']} completed.")
