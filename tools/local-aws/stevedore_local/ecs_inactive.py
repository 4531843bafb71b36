"""INACTIVE task definition revisions, as ECS treats them (moto 5.2.5 checks nothing):
"You can't use an INACTIVE task definition to run new tasks or create new services, and you
can't update an existing service to reference an INACTIVE task definition", while "Existing
tasks and services that reference an INACTIVE task definition continue to run without
disruption" and can still scale
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeregisterTaskDefinition.html).
So RunTask, CreateService and an UpdateService naming a taskDefinition are refused with
InvalidParameterException "TaskDefinition is inactive" (the error AWS gives RunTask; the
API reference names no code for the others). An UpdateService without a taskDefinition
(desiredCount, deploymentConfiguration) is untouched. AWS allows "up to a 10-minute window"
before the refusal takes effect; the emulator refuses at once.

Apply last among the ECS patches: it wraps whatever those installed.
"""

from __future__ import annotations

from typing import Any

_orig: dict[str, Any] = {}


def _refuse_inactive(backend: Any, task_definition: str | None) -> None:
    if not task_definition:
        return
    from moto.ecs.exceptions import InvalidParameterException

    try:
        revision = backend.describe_task_definition(task_definition)
    except Exception:  # unknown revisions: moto's own error, from the wrapped call
        return
    if getattr(revision, "status", "ACTIVE") == "INACTIVE":
        raise InvalidParameterException("TaskDefinition is inactive")


def run_task(self: Any, cluster_str: str, task_definition_str: str, *args: Any, **kwargs: Any) -> Any:
    _refuse_inactive(self, task_definition_str)
    return _orig["run_task"](self, cluster_str, task_definition_str, *args, **kwargs)


def create_service(self: Any, *args: Any, **kwargs: Any) -> Any:
    task_definition = kwargs.get("task_definition_str", args[3] if len(args) > 3 else None)
    _refuse_inactive(self, task_definition)
    return _orig["create_service"](self, *args, **kwargs)


def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
    _refuse_inactive(self, service_properties.get("task_definition"))
    return _orig["update_service"](self, service_properties)


def apply() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend as B

    if _orig:
        return
    for name in ("run_task", "create_service", "update_service"):
        _orig[name] = getattr(B, name)
        setattr(B, name, globals()[name])
