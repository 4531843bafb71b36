"""CodeBuild builds that behave like real ones, with test-set outcomes (moto 5.2.5 fixes).

moto's StartBuild ignores every override, gives random build numbers and placeholder logs, and
BatchGetBuilds reports SUCCEEDED at once. Here:

- StartBuild records ``environmentVariablesOverride`` (merged by name into the project's
  ``environment.environmentVariables``, ``type`` PLAINTEXT when omitted), ``buildspecOverride``,
  ``sourceVersion``, ``image``/``computeType``/``environmentType`` overrides,
  ``timeoutInMinutesOverride`` and ``serviceRoleOverride``. A build has ``id``
  ``<project>:<uuid>``, its ``arn``, ``buildNumber`` counting per project from 1, ``initiator``
  (the emulator's name of the caller: ``states``, a function name, ``cli`` or ``test``; real
  CodeBuild names the IAM principal), and ``logs`` as real CodeBuild writes them: ``groupName``
  ``/aws/codebuild/<project>`` (or the project's ``logsConfig`` group), ``streamName`` the
  build's uuid (``<configured stream>/<uuid>`` when the project sets one), ``deepLink``
  ``https://console.aws.amazon.com/cloudwatch/home?region=<region>#logsV2:log-groups/log-group/
  $252Faws$252Fcodebuild$252F<project>/log-events/<stream>`` and ``cloudWatchLogsArn``.
- A build is IN_PROGRESS for about ``STEVEDORE_SIM_SECONDS`` (default 2), going through the
  real phases (SUBMITTED, QUEUED, PROVISIONING, DOWNLOAD_SOURCE, INSTALL, PRE_BUILD, BUILD,
  POST_BUILD, UPLOAD_ARTIFACTS, FINALIZING, COMPLETED), then ends with the outcome set for its
  project by ``POST /_stevedore/codebuild/build-outcome`` when it started (default SUCCEEDED).
  FAILED: the BUILD phase FAILED (COMMAND_EXECUTION_ERROR); FAULT / TIMED_OUT: the BUILD phase
  FAULT / TIMED_OUT (BUILD_TIMED_OUT), no POST_BUILD or UPLOAD_ARTIFACTS; HANG: IN_PROGRESS in
  BUILD until StopBuild. The state is worked out from the clock on every read (no threads).
- StopBuild ends an IN_PROGRESS build STOPPED (the running phase STOPPED); a finished build is
  returned unchanged. BatchGetBuilds answers in the order asked, with ``buildsNotFound``.
- ``GET /_stevedore/codebuild/builds`` lists the builds started (``STATE.codebuild_builds``).
"""

from __future__ import annotations

import copy
import json
import os
import time
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from .state import STATE

OUTCOMES = ("SUCCEEDED", "FAILED", "FAULT", "TIMED_OUT", "HANG")
# (phase, start as a fraction of the build's duration); each ends where the next starts.
PHASES = (("SUBMITTED", 0.0), ("QUEUED", 0.0), ("PROVISIONING", 0.1), ("DOWNLOAD_SOURCE", 0.3),
          ("INSTALL", 0.4), ("PRE_BUILD", 0.5), ("BUILD", 0.6), ("POST_BUILD", 0.9),
          ("UPLOAD_ARTIFACTS", 0.95), ("FINALIZING", 0.97), ("COMPLETED", 1.0))
CONTEXTS = {
    "FAILED": {"statusCode": "COMMAND_EXECUTION_ERROR",
               "message": "Error while executing command: ./migrate. Reason: exit status 1"},
    "FAULT": {"statusCode": "INTERNAL_ERROR", "message": "Internal service error"},
    "TIMED_OUT": {"statusCode": "BUILD_TIMED_OUT", "message": "Build has timed out. "},
}
_SIMS: dict[str, dict[str, Any]] = {}  # build id -> timing and outcome (outlives /_stevedore/reset)
_orig: dict[str, Any] = {}


class OutcomeError(ValueError):
    """A bad ``build-outcome`` request (control.py answers 400)."""


def sim_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get("STEVEDORE_SIM_SECONDS", "2")))
    except ValueError:
        return 2.0


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def console_escape(text: str) -> str:
    """CloudWatch console URL escaping: ``/`` is ``$252F`` (URL-encoded twice, ``%`` as ``$``)."""
    return quote(quote(text, safe=""), safe="").replace("%", "$")


def project_name_of(value: str) -> str:
    """A project name from a name or a project ARN."""
    return value.rsplit(":project/", 1)[-1] if ":project/" in value else value


# ------------------------------------------------------------------ the build's timeline
def _timeline(outcome: str) -> list[tuple[str, float, float | None, str]]:
    """[(phase, start fraction, end fraction or None while running, status)] of a whole build."""
    skip = {"POST_BUILD", "UPLOAD_ARTIFACTS"} if outcome in ("FAULT", "TIMED_OUT") else set()
    phases = [(p, f) for p, f in PHASES if p not in skip]
    out = []
    for i, (phase, start) in enumerate(phases):
        if phase == "COMPLETED":
            out.append((phase, start, None, ""))
            break
        end = phases[i + 1][1]
        status = outcome if phase == "BUILD" and outcome in CONTEXTS else "SUCCEEDED"
        if phase == "BUILD" and outcome == "HANG":
            out.append((phase, start, None, ""))
            break
        out.append((phase, start, end, status))
    return out


def _render(build: dict[str, Any], now: float | None = None) -> None:
    """Bring a build's status and phases up to date with the clock."""
    sim = _SIMS.get(build.get("id", ""))
    if sim is None:
        return  # started before the patches (or by another emulator): leave it as it is
    now = time.time() if now is None else now
    t0, total, outcome, stopped = sim["t0"], sim["total"], sim["outcome"], sim.get("stopped_at")
    cut = now if stopped is None else min(now, stopped)
    phases: list[dict[str, Any]] = []
    finished_at = None
    for phase, f_start, f_end, status in _timeline(outcome):
        start = t0 + f_start * total
        if start > cut:
            break
        entry: dict[str, Any] = {"phaseType": phase, "startTime": _dt(start)}
        phases.append(entry)
        if phase == "COMPLETED":
            finished_at = start
            break
        end = None if f_end is None else t0 + f_end * total
        if end is not None and end <= cut:
            entry.update(phaseStatus=status, endTime=_dt(end), durationInSeconds=int(end - start))
            if status in CONTEXTS:
                entry["contexts"] = [dict(CONTEXTS[status])]
        elif stopped is not None:  # StopBuild ended this phase
            entry.update(phaseStatus="STOPPED", endTime=_dt(stopped),
                         durationInSeconds=int(stopped - start))
            phases.append({"phaseType": "COMPLETED", "startTime": _dt(stopped)})
            finished_at = stopped
            break
    build["phases"] = phases
    if finished_at is None:
        build.update(buildStatus="IN_PROGRESS", buildComplete=False,
                     currentPhase=phases[-1]["phaseType"] if phases else "SUBMITTED")
        build.pop("endTime", None)
    else:
        status = "STOPPED" if stopped is not None and stopped <= finished_at else outcome
        build.update(buildStatus=status, buildComplete=True, currentPhase="COMPLETED",
                     endTime=_dt(finished_at))


# ------------------------------------------------------------------ StartBuild
def _merged_env(project_env: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    env = copy.deepcopy(project_env or {})
    variables = [dict(v, type=v.get("type") or "PLAINTEXT")
                 for v in env.get("environmentVariables") or []]
    for override in params.get("environmentVariablesOverride") or []:
        var = {"name": override.get("name"), "value": override.get("value", ""),
               "type": override.get("type") or "PLAINTEXT"}
        variables = [v for v in variables if v.get("name") != var["name"]] + [var]
    env["environmentVariables"] = variables
    for key, override in (("image", "imageOverride"), ("computeType", "computeTypeOverride"),
                          ("type", "environmentTypeOverride"),
                          ("privilegedMode", "privilegedModeOverride")):
        if params.get(override) is not None:
            env[key] = params[override]
    env.setdefault("imagePullCredentialsType", "CODEBUILD")
    env.setdefault("privilegedMode", False)
    return env


def _logs(project: dict[str, Any], name: str, build_uuid: str, region: str,
          account: str) -> dict[str, Any]:
    config = ((project.get("logsConfig") or {}).get("cloudWatchLogs") or {})
    if config.get("status") == "DISABLED":
        return {"cloudWatchLogs": {"status": "DISABLED"},
                "s3Logs": {"status": "DISABLED", "encryptionDisabled": False}}
    group = config.get("groupName") or f"/aws/codebuild/{name}"
    stream = f"{config['streamName']}/{build_uuid}" if config.get("streamName") else build_uuid
    return {
        "groupName": group,
        "streamName": stream,
        "deepLink": (f"https://console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:"
                     f"log-groups/log-group/{console_escape(group)}/log-events/"
                     f"{console_escape(stream)}"),
        "cloudWatchLogsArn": f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{stream}",
        "cloudWatchLogs": {"status": "ENABLED", "groupName": group,
                           **({"streamName": config["streamName"]} if config.get("streamName") else {})},
        "s3Logs": {"status": "DISABLED", "encryptionDisabled": False},
    }


def start_build(backend: Any, params: dict[str, Any], initiator: str) -> dict[str, Any]:
    """Create a build of ``params['projectName']`` (which must exist) and return it."""
    name = project_name_of(params["projectName"])
    project = backend.codebuild_projects[name].project_metadata
    build_uuid = str(uuid.uuid4())
    build_id = f"{name}:{build_uuid}"
    region, account = backend.region_name, backend.account_id
    history = backend.build_history.setdefault(name, [])
    history.append(build_id)
    now = time.time()
    source = copy.deepcopy(project.get("source") or {})
    if params.get("buildspecOverride"):
        source["buildspec"] = params["buildspecOverride"]
    artifacts = project.get("artifacts") or {}
    build: dict[str, Any] = {
        "id": build_id,
        "arn": f"arn:aws:codebuild:{region}:{account}:build/{build_id}",
        "buildNumber": len(history),
        "startTime": _dt(now),
        "projectName": name,
        "source": source,
        "secondarySources": [],
        "secondarySourceVersions": [],
        "artifacts": ({"location": ""} if artifacts.get("type") in (None, "NO_ARTIFACTS")
                      else {"location": f"arn:aws:s3:::{artifacts.get('location', '')}"}),
        "secondaryArtifacts": [],
        "cache": copy.deepcopy(project.get("cache") or {"type": "NO_CACHE"}),
        "environment": _merged_env(project.get("environment") or {}, params),
        "serviceRole": params.get("serviceRoleOverride") or project.get("serviceRole"),
        "logs": _logs(project, name, build_uuid, region, account),
        "timeoutInMinutes": params.get("timeoutInMinutesOverride")
        or project.get("timeoutInMinutes") or 60,
        "queuedTimeoutInMinutes": params.get("queuedTimeoutInMinutesOverride")
        or project.get("queuedTimeoutInMinutes") or 480,
        "initiator": initiator,
        "encryptionKey": project.get("encryptionKey")
        or f"arn:aws:kms:{region}:{account}:alias/aws/s3",
    }
    version = params.get("sourceVersion") or project.get("sourceVersion")
    if version:
        build["sourceVersion"] = version
    with STATE.lock:
        outcome = STATE.codebuild_outcomes.get(name, "SUCCEEDED")
        _SIMS[build_id] = {"t0": now, "total": sim_seconds(), "outcome": outcome}
        _render(build, now)
        backend.build_metadata_history[name].append(build)
        STATE.codebuild_builds.append({
            "id": build_id, "arn": build["arn"], "project": name,
            "build_number": build["buildNumber"], "initiator": initiator, "started_at": now,
            "outcome": outcome,
            "env_overrides": copy.deepcopy(params.get("environmentVariablesOverride") or []),
            "buildspec_override": params.get("buildspecOverride"),
        })
    return build


# ------------------------------------------------------------------ moto patches
def _find(backend: Any, build_id: str) -> dict[str, Any] | None:
    for builds in backend.build_metadata_history.values():
        for build in builds:
            if build.get("id") == build_id:
                return build
    return None


def batch_get_builds(self: Any, ids: list[str]) -> list[dict[str, Any]]:
    out = []
    with STATE.lock:
        for build_id in ids:
            build = _find(self, build_id)
            if build is not None:
                _render(build)
                out.append(build)
    return out


def stop_build(self: Any, build_id: str) -> dict[str, Any] | None:
    with STATE.lock:
        build = _find(self, build_id)
        if build is None:
            return None
        _render(build)
        sim = _SIMS.get(build_id)
        if sim is not None and build["buildStatus"] == "IN_PROGRESS":
            sim["stopped_at"] = time.time()
            _render(build)
        return build


def _caller(response: Any) -> str:
    from .request_audit import classify

    headers = {str(k).lower(): str(v) for k, v in dict(response.headers).items()}
    return classify(headers)[0]


def _start_build_response(self: Any):
    from moto.codebuild.exceptions import ResourceNotFoundException
    from moto.codebuild.responses import _validate_required_params_project_name
    from moto.core.responses import ActionResult

    params = json.loads(self.body or "{}") if isinstance(self.body, (str, bytes)) else {}
    name = project_name_of(str(params.get("projectName") or ""))
    _validate_required_params_project_name(name)
    if name not in self.codebuild_backend.codebuild_projects:
        raise ResourceNotFoundException(
            f"Project cannot be found: arn:aws:codebuild:{self.region}:{self.current_account}"
            f":project/{name}")
    return ActionResult({"build": start_build(self.codebuild_backend, params, _caller(self))})


def _batch_get_builds_response(self: Any):
    from moto.codebuild.exceptions import InvalidInputException
    from moto.core.responses import ActionResult

    ids = self._get_param("ids") or []
    for build_id in ids:
        if ":" not in build_id:
            raise InvalidInputException("Invalid build ID provided")
    found = self.codebuild_backend.batch_get_builds(ids)
    known = {b["id"] for b in found}
    return ActionResult({"builds": found, "buildsNotFound": [i for i in ids if i not in known]})


def apply() -> None:
    from moto.codebuild.models import CodeBuildBackend
    from moto.codebuild.responses import CodeBuildResponse

    if _orig:
        return
    _orig["start_build"] = CodeBuildResponse.start_build
    CodeBuildResponse.start_build = _start_build_response
    CodeBuildResponse.batch_get_builds = _batch_get_builds_response
    CodeBuildBackend.batch_get_builds = batch_get_builds
    CodeBuildBackend.stop_build = stop_build


# ------------------------------------------------------------------ control API
def set_outcome(body: dict[str, Any]) -> dict[str, Any]:
    """``POST /_stevedore/codebuild/build-outcome``."""
    unknown = sorted(set(body) - {"project", "status", "clear"})
    if unknown:
        raise OutcomeError(f"unknown field {unknown[0]!r}: give 'project' and 'status' "
                           f"(or 'clear': true)")
    project = body.get("project")
    if not isinstance(project, str) or not project.strip():
        raise OutcomeError("'project' is required: the CodeBuild project name (or ARN)")
    name = project_name_of(project.strip())
    clear = body.get("clear")
    if clear is not None and not isinstance(clear, bool):
        raise OutcomeError("'clear' must be true or false")
    if clear:
        if "status" in body:
            raise OutcomeError("give 'status' or 'clear': true, not both")
        with STATE.lock:
            STATE.codebuild_outcomes.pop(name, None)
        return {"ok": True, "project": name, "status": "SUCCEEDED"}
    status = body.get("status")
    if status not in OUTCOMES:
        raise OutcomeError(f"'status' must be one of {list(OUTCOMES)}, got {status!r}")
    with STATE.lock:
        STATE.codebuild_outcomes[name] = status
    return {"ok": True, "project": name, "status": status}


def builds_view(filters: dict[str, Any]) -> list[dict[str, Any]]:
    """``GET /_stevedore/codebuild/builds``: every build started, oldest first, with its current
    status (``?project=`` filters)."""
    from moto.codebuild.models import codebuild_backends

    out = []
    with STATE.lock:
        for record in STATE.codebuild_builds:
            if filters.get("project") and record["project"] != project_name_of(filters["project"]):
                continue
            entry = copy.deepcopy(record)
            region = record["arn"].split(":")[3]
            account = record["arn"].split(":")[4]
            build = None
            try:
                build = _find(codebuild_backends[account][region], record["id"])
            except Exception:  # noqa: BLE001 - moto state reset under us
                build = None
            if build is not None:
                _render(build)
                entry.update(status=build["buildStatus"], current_phase=build["currentPhase"],
                             ended_at=build["endTime"].timestamp() if build.get("endTime") else None)
            else:
                entry.update(status=None, current_phase=None, ended_at=None)
            out.append(entry)
    return out
