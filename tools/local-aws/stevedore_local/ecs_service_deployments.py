"""ListServiceDeployments and DescribeServiceDeployments from the rollout simulator's records.

A service deployment is one rollout record (ecs_rollout.record) of the service; its ARN is the
one DescribeServices' ``currentServiceDeployment`` named (ecs_rollout.deployment_arn).
- ListServiceDeployments: the service's deployments, newest first (AWS documents no order),
  filtered by ``status`` and ``createdAt``, at most ``maxResults`` (1-100, default 20)
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListServiceDeployments.html).
- DescribeServiceDeployments: at most 20 ARNs; an unknown one is a ``failures`` entry
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html).
  ``status``: IN_PROGRESS while it rolls out, SUCCESSFUL, STOPPED (superseded, or failed
  without rollback), ROLLBACK_IN_PROGRESS / ROLLBACK_SUCCESSFUL / ROLLBACK_FAILED when ECS
  rolled it back; ``alarms`` {status, alarmNames, triggeredAlarmNames}
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentAlarms.html);
  ``rollback`` {reason, startedAt, serviceRevisionArn}
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Rollback.html).
"""

from __future__ import annotations

import datetime
from typing import Any

from . import ecs_rollout as rollout
from .state import STATE

MAX_DESCRIBE = 20


def _when(seconds: float | None) -> datetime.datetime | None:
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


def _invalid(message: str) -> Exception:
    from moto.ecs.exceptions import InvalidParameterException

    return InvalidParameterException(message)


def _service_of(backend: Any, service_arn: str) -> Any:
    return next((s for s in backend.services.values() if s.arn == service_arn), None)


def _status(rec: dict[str, Any], records: list[dict[str, Any]]) -> str:
    outcome = rec.get("outcome")
    if outcome is None:
        return "IN_PROGRESS"
    if outcome == "completed":
        return "SUCCESSFUL"
    if outcome != "rolled_back":
        return "STOPPED"
    back = next((r for r in records if r.get("rollback_of") == rec["deployment_id"]), None)
    if back is None:  # blue/green: blue takes the traffic back at once; rolling: not begun
        return "ROLLBACK_SUCCESSFUL" if rec.get("strategy") else "ROLLBACK_REQUESTED"
    if back.get("outcome") == "completed":
        return "ROLLBACK_SUCCESSFUL"
    return "ROLLBACK_IN_PROGRESS" if back.get("outcome") is None else "ROLLBACK_FAILED"


def _alarms(rec: dict[str, Any]) -> dict[str, Any]:
    names = rec.get("alarm_names")
    triggered = rec.get("triggered_alarms") or []
    if names is None:
        status = "DISABLED"
    elif triggered:
        status = "TRIGGERED"
    else:
        status = "MONITORING" if rec.get("outcome") is None else "MONITORING_COMPLETE"
    return {"status": status, "alarmNames": list(names or []),
            "triggeredAlarmNames": list(triggered)}


def _brief(service: Any, rec: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    out = {"serviceDeploymentArn": rollout.deployment_arn(service, rec["deployment_id"]),
           "serviceArn": service.arn, "clusterArn": service.cluster_arn,
           "createdAt": _when(rec["started_at"]), "startedAt": _when(rec["started_at"]),
           "targetServiceRevisionArn": rollout.revision_arn(service, rec["deployment_id"]),
           "status": _status(rec, records)}
    if rec.get("ended_at") is not None:
        out["finishedAt"] = _when(rec["ended_at"])
    if rec.get("reason"):
        out["statusReason"] = rec["reason"]
    return out


def _full(service: Any, rec: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    brief = _brief(service, rec, records)
    out = {k: v for k, v in brief.items() if k != "targetServiceRevisionArn"}
    out["targetServiceRevision"] = {"arn": brief["targetServiceRevisionArn"]}
    out["alarms"] = _alarms(rec)
    if rec.get("lifecycle_stage"):
        out["lifecycleStage"] = rec["lifecycle_stage"]
    if rec.get("outcome") == "rolled_back":
        back = next((r for r in records if r.get("rollback_of") == rec["deployment_id"]), None)
        rollback: dict[str, Any] = {"reason": rec.get("reason") or "rolled back",
                                    "startedAt": _when(rec.get("ended_at"))}
        if back is not None:
            rollback["serviceRevisionArn"] = rollout.revision_arn(service, back["deployment_id"])
        out["rollback"] = rollback
    return out


def _records(service_arn: str) -> list[dict[str, Any]]:
    with STATE.lock:
        return [dict(r) for r in STATE.rollouts if r["service_arn"] == service_arn]


def list_service_deployments(self: Any):
    from moto.core.responses import ActionResult

    backend = self.ecs_backend
    service = backend._get_service(self._get_param("cluster", "default"),
                                   self._get_param("service", "").rsplit("/", 1)[-1])
    limit = self._get_param("maxResults", 20)
    if not isinstance(limit, int) or not 1 <= limit <= 100:
        raise _invalid("maxResults must be between 1 and 100.")
    wanted = set(self._get_param("status") or [])
    created = self._get_param("createdAt") or {}
    records = _records(service.arn)
    out = []
    for rec in sorted(records, key=lambda r: r["started_at"], reverse=True):
        brief = _brief(service, rec, records)
        if wanted and brief["status"] not in wanted:
            continue
        if created.get("after") is not None and rec["started_at"] < _epoch(created["after"]):
            continue
        if created.get("before") is not None and rec["started_at"] > _epoch(created["before"]):
            continue
        out.append(brief)
    return ActionResult({"serviceDeployments": out[:limit]})


def _epoch(value: Any) -> float:
    """A `createdAt` bound as moto parsed it: epoch seconds, a numeric string, or a datetime
    (a timestamp member of the JSON protocol arrives as epoch seconds; moto may decode it)."""
    if hasattr(value, "timestamp"):
        return value.timestamp()
    return float(value)


def describe_service_deployments(self: Any):
    from moto.core.responses import ActionResult

    arns = self._get_param("serviceDeploymentArns") or []
    if not arns or len(arns) > MAX_DESCRIBE:
        raise _invalid(f"serviceDeploymentArns must name 1 to {MAX_DESCRIBE} service deployments.")
    backend = self.ecs_backend
    found, failures = [], []
    with STATE.lock:
        by_arn = {ids["deployment"]: dep_id for dep_id, ids in rollout._ids.items()}
        recs = [dict(r) for r in STATE.rollouts]
    for arn in arns:
        rec = next((r for r in recs if r["deployment_id"] == by_arn.get(arn)), None)
        service = _service_of(backend, rec["service_arn"]) if rec else None
        if rec is None or service is None:
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        found.append(_full(service, rec, [r for r in recs if r["service_arn"] == service.arn]))
    return ActionResult({"serviceDeployments": found, "failures": failures})


def apply() -> None:
    from moto.ecs.responses import EC2ContainerServiceResponse as R

    R.list_service_deployments = list_service_deployments
    R.describe_service_deployments = describe_service_deployments
