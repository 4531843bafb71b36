"""moto's ECS API made to see service tasks (ecs_service_tasks keeps them).

- ListTasks: ``serviceName`` limits the list to the service's tasks (moto ignored it),
  ``family`` is an exact family (moto matched a prefix), ``desiredStatus`` defaults to RUNNING
  ("The default status filter is RUNNING",
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html).
- DescribeServices, CreateService and UpdateService answer with counts derived from the task
  records at that moment.
- UpdateService that changes desiredCount outside a rollout, and StopTask on a service task,
  let the service scheduler restore desiredCount tasks ("If the number of tasks running in a
  service drops below the desiredCount, Amazon ECS runs another copy of the task",
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html).
- DeleteService stops the service's remaining tasks.

Apply after ecs_tasks and ecs_sim: it wraps whatever those installed.
"""

from __future__ import annotations

from typing import Any

from . import ecs_service_tasks as service_tasks
from .state import spawn

_orig: dict[str, Any] = {}


def _family(task_definition_arn: str) -> str:
    return task_definition_arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]


def list_tasks(self: Any, cluster_str: str | None = None, container_instance: str | None = None,
               family: str | None = None, started_by: str | None = None,
               service_name: str | None = None, desiredStatus: str | None = None) -> list[Any]:
    tasks = _orig["list_tasks"](self, cluster_str, container_instance, None, started_by, None,
                                desiredStatus or "RUNNING")
    if family:
        tasks = [t for t in tasks if _family(t.task_definition_arn) == family]
    if service_name:
        wanted = "service:" + service_name.rsplit("/", 1)[-1]
        tasks = [t for t in tasks if getattr(t, "group", None) == wanted]
    return tasks


def describe_services(self: Any, cluster_str: str, names: list[str]) -> Any:
    services, failures = _orig["describe_services"](self, cluster_str, names)
    for service in services:
        service_tasks.sync_counts(self, service)
    return services, failures


def create_service(self: Any, *args: Any, **kwargs: Any) -> Any:
    service = _orig["create_service"](self, *args, **kwargs)
    service_tasks.sync_counts(self, service)
    return service


def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
    scaled = service_properties.get("desired_count") is not None
    service = _orig["update_service"](self, service_properties)
    if scaled:
        service_tasks.reconcile(self, service)
    service_tasks.sync_counts(self, service)
    return service


def stop_task(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
    task = _orig["stop_task"](self, cluster_str, task_str, reason)
    name = (getattr(task, "group", None) or "").partition("service:")[2]
    service = next((s for s in self.services.values()
                    if s.name == name and s.cluster_name == task.cluster_name), None)
    if service is not None:
        spawn(service_tasks.reconcile, self, service, name="ecs-service-replace",
              delay=service_tasks.REPLACE_DELAY)
    return task


def describe_tasks(self: Any, cluster_str: str, tasks: list[str]) -> Any:
    """moto walks every cluster's task dict: a service task started meanwhile on another thread
    tears the walk (RuntimeError); walk again (every task's moto transitions are frozen, so a
    second walk changes nothing)."""
    while True:
        try:
            return _orig["describe_tasks"](self, cluster_str, tasks)
        except RuntimeError:
            continue


def delete_service(self: Any, cluster_name: str, service_name: str, force: bool) -> Any:
    service = _orig["delete_service"](self, cluster_name, service_name, force)
    from .state import STATE

    with STATE.lock:
        for task in service_tasks.tasks_of(self, service):
            service_tasks.stop(self, service, task)
    return service


def apply() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend as B

    if _orig:
        return
    for name in ("list_tasks", "describe_services", "create_service", "update_service",
                 "stop_task", "delete_service", "describe_tasks"):
        _orig[name] = getattr(B, name)
        setattr(B, name, globals()[name])
