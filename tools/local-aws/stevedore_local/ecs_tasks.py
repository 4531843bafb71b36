"""ECS tasks: fixes for moto's RunTask and a wall-clock task lifecycle with test-set fates.

- Fargate containers without memory/memoryReservation no longer give HTTP 500.
- awsvpc without securityGroups uses the subnet's VPC default group (moto gave 500), and
  in a VPC without DNS hostnames (moto gave 500: ENI without a private DNS name).
- A task goes PENDING -> RUNNING -> STOPPED by wall time (about 1.2 s, env
  ``STEVEDORE_TASK_SECONDS``), whatever describe_tasks is called; fate by family via
  ``POST /_stevedore/ecs/task-fate``: exit code (per container with ``container_exit_codes``),
  fail to start, or hang until StopTask.
- RunTask with both ``launchType`` and ``capacityProviderStrategy`` is refused, as ECS does.
- Every container of the task definition is reported (moto reported the first only),
  with the command from RunTask's overrides.
- RunTask / StopTask / RegisterTaskDefinition / CreateService / UpdateService requests
  are logged for ``GET /_stevedore/ecs/log``.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from .state import STATE, spawn

CANNOT_PULL = ("CannotPullContainerError: pull image manifest has been retried 1 time(s): "
               "failed to resolve ref {image}: not found")

_orig: dict[str, Any] = {}  # moto backend methods
_orig_resp: dict[str, Any] = {}  # moto response-handler methods


def task_seconds() -> float:
    try:
        return float(os.environ.get("STEVEDORE_TASK_SECONDS", "1.2"))
    except ValueError:
        return 1.2


def _now():
    from moto.core.utils import utcnow

    return utcnow()


def _calculate_task_resource_requirements(task_definition: Any) -> dict[str, Any]:
    req: dict[str, Any] = {"CPU": 0, "MEMORY": 0, "PORTS": [], "PORTS_UDP": []}
    for cd in task_definition.container_definitions:
        req["CPU"] += int(cd.get("cpu", cd.get("Cpu", 0)) or 0)
        mem = (cd.get("Memory") or cd.get("MemoryReservation") or cd.get("memory")
               or cd.get("memoryReservation") or 0)
        req["MEMORY"] += int(mem)
        for pm in cd.get("PortMappings", cd.get("portMappings", [])) or []:
            port = pm.get("hostPort", pm.get("HostPort"))
            if port is not None:
                req["PORTS"].append(port)
    return req


def _fill_security_groups(backend: Any, net: dict[str, Any] | None) -> None:
    conf = (net or {}).get("awsvpcConfiguration")
    if not conf or conf.get("securityGroups") or not conf.get("subnets"):
        return
    from moto.ec2 import ec2_backends

    ec2 = ec2_backends[backend.account_id][backend.region_name]
    subnet = ec2.get_subnet(conf["subnets"][0])
    group = ec2.get_default_security_group(subnet.vpc_id)
    conf["securityGroups"] = [group.id] if group else []


def _create_network_interface(self: Any, *args: Any, **kwargs: Any) -> Any:
    """ENIs always get a private DNS name (moto's awsvpc tasks gave HTTP 500 without one
    when the VPC lacks DNS hostnames; real ENIs always have one)."""
    eni = _orig["create_network_interface"](self, *args, **kwargs)
    if not getattr(eni, "private_dns_name", None):
        from moto.ec2.utils import generate_dns_from_ip

        eni.private_dns_name = generate_dns_from_ip(eni.private_ip_address)
    return eni


def _containers(task: Any, task_def: Any, overrides: dict[str, Any]) -> list[Any]:
    from moto.ecs.models import Container

    by_name = {o.get("name"): o for o in (overrides or {}).get("containerOverrides", []) or []}
    out = []
    for cd in task_def.container_definitions:
        c = Container(task_def)
        c.task_arn = task.task_arn
        c.name = cd.get("name")
        c.image = cd.get("image")
        c.cpu = cd.get("cpu", 0)
        c.memory = cd.get("memory")
        c.environment = cd.get("environment")
        ov = by_name.get(c.name) or {}
        c.command = ov.get("command", cd.get("command"))
        c.essential = cd.get("essential", True)
        c.last_status = "PENDING"
        del c.exitCode  # no exit code until the container stops
        out.append(c)
    return out


def _stop(task: Any, stop_code: str, reason: str, exit_code: int | None,
          container_reason: str | None = None,
          container_exit_codes: dict[str, int] | None = None) -> None:
    with STATE.lock:
        if task.status == "STOPPED":
            return
        now = _now()
        for c in task.containers:
            c.last_status = "STOPPED"
            code = (container_exit_codes or {}).get(c.name, exit_code)
            if code is not None:
                c.exitCode = code
            if container_reason:
                c.reason = container_reason
        task.stop_code = stop_code
        task.stopped_reason = reason
        task.desired_status = "STOPPED"
        task.stopping_at = now
        task.stopped_at = now
        task.execution_stopped_at = now
        task.status = "STOPPED"


def _lifecycle(task: Any, fate: dict[str, Any]) -> None:
    total = task_seconds()
    if fate.get("fail_to_start"):
        time.sleep(total)
        image = task.containers[0].image if task.containers else "image"
        msg = CANNOT_PULL.format(image=image)
        _stop(task, "TaskFailedToStart", msg, None, container_reason=msg)
        return
    time.sleep(total / 4)
    with STATE.lock:
        if task.status == "STOPPED":
            return
        task.status = "RUNNING"
        task.started_at = _now()
        task.pull_started_at = task.pull_stopped_at = task.started_at
        for c in task.containers:
            c.last_status = "RUNNING"
    if fate.get("hang"):
        return  # until StopTask
    time.sleep(total * 3 / 4)
    _stop(task, "EssentialContainerExited", "Essential container in task exited",
          int(fate.get("exit_code", 0)), container_exit_codes=fate.get("container_exit_codes"))


def run_task(self: Any, cluster_str: str, task_definition_str: str, count: int,
             overrides: dict[str, Any] | None, started_by: str, tags: Any, launch_type: Any,
             networking_configuration: dict[str, Any] | None = None, group: Any = None,
             platform_version: Any = None, capacity_provider_strategy: Any = None) -> list[Any]:
    if launch_type and capacity_provider_strategy:
        # "If a capacityProviderStrategy is specified, the launchType parameter must be omitted."
        # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html
        from moto.ecs.exceptions import InvalidParameterException

        raise InvalidParameterException(
            "Specifying both a launch type and capacity provider strategy is not supported. "
            "Remove one and try again.")
    _fill_security_groups(self, networking_configuration)
    tasks = _orig["run_task"](self, cluster_str, task_definition_str, count, overrides,
                              started_by, tags, launch_type, networking_configuration, group,
                              platform_version, capacity_provider_strategy)
    task_def = self.describe_task_definition(task_definition_str)
    with STATE.lock:
        fate = dict(STATE.task_fates.get(task_def.family, {}))
    for task in tasks:
        task._transitions = []  # freeze moto's describe-driven state machine
        task.status = "PENDING"
        task.desired_status = "RUNNING"
        task.created_at = _now()
        task.containers = _containers(task, task_def, overrides or {})
        task.stop_code = None
        spawn(_lifecycle, task, fate, name="ecs-task-lifecycle")
    return tasks


def stop_task(self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
    task = self._find_task_for_stop(cluster_str, task_str)
    if task is not None and getattr(task, "_transitions", None) == []:
        with STATE.lock:
            if task.status == "STOPPED":
                return task  # already stopped: real ECS leaves it as it is
        _stop(task, "UserInitiated", reason or "Task stopped by user", 137)
        return task
    return _orig["stop_task"](self, cluster_str, task_str, reason)


def _find_task_for_stop(self: Any, cluster_str: str, task_str: str) -> Any:
    cluster = self._get_cluster(cluster_str)
    task_id = task_str.split("/")[-1]
    for arn, task in (self.tasks.get(cluster.name) or {}).items():
        if arn.endswith(task_id):
            return task
    return None


def _logged(op: str, name: str):
    def wrapper(self: Any):
        try:
            params = dict(self._get_params())
        except Exception:  # noqa: BLE001
            params = {}
        STATE.log_ecs(op, params)
        return _orig_resp[name](self)

    wrapper.__name__ = name
    return wrapper


def apply() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.ecs.responses import EC2ContainerServiceResponse as R

    if _orig:
        return
    from moto.ec2.models.elastic_network_interfaces import NetworkInterfaceBackend

    _orig["create_network_interface"] = NetworkInterfaceBackend.create_network_interface
    NetworkInterfaceBackend.create_network_interface = _create_network_interface
    _orig["run_task"] = EC2ContainerServiceBackend.run_task
    _orig["stop_task"] = EC2ContainerServiceBackend.stop_task
    EC2ContainerServiceBackend.run_task = run_task
    EC2ContainerServiceBackend.stop_task = stop_task
    EC2ContainerServiceBackend._find_task_for_stop = _find_task_for_stop
    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(
        _calculate_task_resource_requirements)
    for op, name in (("RunTask", "run_task"), ("StopTask", "stop_task"),
                     ("RegisterTaskDefinition", "register_task_definition"),
                     ("CreateService", "create_service"), ("UpdateService", "update_service")):
        _orig_resp[name] = getattr(R, name)
        setattr(R, name, _logged(op, name))
