"""ECS service deployments in the emulator (moto's deployments never progress).

CreateService, and UpdateService with a new task definition or forceNewDeployment, start a
new deployment through the rollout core (ecs_rollout) with the strategy the service's stored
``deploymentConfiguration.strategy`` names: ``BLUE_GREEN`` walks the lifecycle stages
(ecs_bluegreen), ``LINEAR`` and ``CANARY`` shift production traffic in steps
(ecs_linear_canary), anything else is a rolling update (ecs_rolling). ``ECS Deployment State
Change`` events go to the default bus as real ECS sends them. This module patches moto's API
and imports the strategies; they import only the core.
"""

from __future__ import annotations

import copy
from typing import Any

from . import ecs_bluegreen, ecs_linear_canary, ecs_rolling
from . import ecs_rollout as rollout
from .state import STATE

_orig: dict[str, Any] = {}


def _runner(service: Any, initial: bool = False) -> rollout.Runner:
    """The strategy of a service's new deployment (its first one is always a plain rollout)."""
    if not initial and ecs_bluegreen.is_blue_green(service):
        return ecs_bluegreen.progress
    if not initial and ecs_linear_canary.strategy_of(service):
        return ecs_linear_canary.progress
    return ecs_rolling.progress


def _check_deployment_configuration(conf: Any, stored: Any = None) -> None:
    """ECS's InvalidParameterException for settings of another strategy."""
    from moto.ecs.exceptions import InvalidParameterException

    if isinstance(conf, dict) and "strategy" not in conf and isinstance(stored, dict):
        conf = {**conf, "strategy": stored.get("strategy")}  # a field left out keeps its value
    try:
        ecs_linear_canary.check_request(conf)
    except ecs_linear_canary.InvalidParameter as err:
        raise InvalidParameterException(str(err))


def _check_traffic_route(conf: Any, stored: Any, load_balancers: Any,
                         service_connect: Any) -> None:
    """ECS's InvalidParameterException for blue/green, linear or canary with no way to shift
    traffic (see ecs_linear_canary.check_traffic_route)."""
    from moto.ecs.exceptions import InvalidParameterException

    strategy = conf.get("strategy") if isinstance(conf, dict) else None
    if strategy is None and isinstance(stored, dict):
        strategy = stored.get("strategy")  # a field left out keeps its value
    try:
        ecs_linear_canary.check_traffic_route(strategy, load_balancers, service_connect)
    except ecs_linear_canary.InvalidParameter as err:
        raise InvalidParameterException(str(err))


def _task_definition_arn(backend: Any, td: str | None) -> str | None:
    if not td:
        return None
    return backend.describe_task_definition(td).arn


def create_service(self: Any, cluster_str: str, service_name: str, desired_count: int,
                   task_definition_str: str | None = None, *args: Any, **kwargs: Any) -> Any:
    service = _orig["create_service"](self, cluster_str, service_name, desired_count,
                                      task_definition_str, *args, **kwargs)
    td = _task_definition_arn(self, task_definition_str)
    if td and service.deployments:
        dep = service.deployments[0]
        dep["id"] = rollout.new_deployment_id()
        dep["taskDefinition"] = td
        if rollout.reports_rollout_state(service):
            dep["rolloutStateReason"] = f"ECS deployment {dep['id']} in progress."
            dep["rolloutState"] = "IN_PROGRESS"
        else:
            dep.pop("rolloutState", None)
            dep.pop("rolloutStateReason", None)
        rollout.start(self, service, td, _runner(service, initial=True), initial_deployment=dep)
    return service


def merged_deployment_configuration(current: dict[str, Any] | None,
                                    given: dict[str, Any]) -> dict[str, Any]:
    """UpdateService changes only the parameters it is given: a ``deploymentConfiguration``
    member left out keeps its value, one given replaces that member whole (a list, even an
    empty one, or an object such as ``deploymentCircuitBreaker``). moto replaced the whole
    configuration. "Modifies the parameters of a service" / "Required: No" for each member:
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/update-service-parameters.html
    """
    merged = copy.deepcopy(current or {})
    for key, value in given.items():
        if value is not None:
            merged[key] = copy.deepcopy(value)
    # AWS does not say what becomes of a stored linear/canaryConfiguration when the strategy
    # changes; the request was valid, so the stored result is too: settings only the old
    # strategy accepts go (Stevedore never relies on either answer, it never re-sends them).
    for strategy, key in (("LINEAR", "linearConfiguration"), ("CANARY", "canaryConfiguration")):
        if merged.get("strategy") != strategy:
            merged.pop(key, None)
    return merged


def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
    props = dict(service_properties)
    cluster_str = props.get("cluster", "default")
    service = self._get_service(cluster_str, props["service"].split("/")[-1])
    stored = getattr(service, "deployment_configuration", None)
    _check_deployment_configuration(props.get("deployment_configuration"), stored)
    lbs = props.get("load_balancers")
    connect = props.get("service_connect_configuration")
    _check_traffic_route(props.get("deployment_configuration"), stored,
                         lbs if lbs is not None else getattr(service, "load_balancers", None),
                         connect if connect is not None
                         else getattr(service, "service_connect_configuration", None))
    if isinstance(props.get("deployment_configuration"), dict):
        service_properties["deployment_configuration"] = merged_deployment_configuration(
            getattr(service, "deployment_configuration", None), props["deployment_configuration"])
    before = [copy.deepcopy(d) for d in service.deployments]
    td = _task_definition_arn(self, props.get("task_definition"))
    force = bool(props.get("force_new_deployment"))
    service = _orig["update_service"](self, service_properties)
    with STATE.lock:
        service.deployments = before  # undo moto's in-place id change on force
        current = next((d for d in before if d.get("status") == "PRIMARY"), None)
        current_td = current["taskDefinition"] if current else service.task_definition
        if td is None:
            service.task_definition = current_td
        for d in service.deployments:
            d["desiredCount"] = service.desired_count
        service.running_count = current["runningCount"] if current else 0
        service.pending_count = max(service.desired_count - service.running_count, 0)
    if (td and td != current_td) or force:
        rollout.start(self, service, td or current_td, _runner(service))
    return service


def _create_service_response(self: Any):
    strategy = self._get_param("capacityProviderStrategy")
    if strategy and self._get_param("launchType"):
        # "If a capacityProviderStrategy is specified, the launchType parameter must be omitted."
        # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html
        from moto.ecs.exceptions import InvalidParameterException

        raise InvalidParameterException(
            "Specifying both a launch type and capacity provider strategy is not supported. "
            "Remove one and try again.")
    conf = self._get_param("deploymentConfiguration")
    _check_deployment_configuration(conf)
    connect = self._get_param("serviceConnectConfiguration")
    _check_traffic_route(conf, None, self._get_param("loadBalancers"), connect)
    result = _orig["create_service_response"](self)
    service = result.result["service"]
    if conf:
        service.deployment_configuration = conf
    if connect is not None:
        service.service_connect_configuration = connect
    if strategy:
        # moto defaulted the launch type to EC2; a capacity-provider service has none.
        service.launch_type = None
        service.capacity_provider_strategy = strategy
        for dep in service.deployments:
            dep.pop("launchType", None)
            dep["capacityProviderStrategy"] = strategy
    return result


def apply() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.ecs.responses import EC2ContainerServiceResponse as R

    if _orig:
        return
    _orig["create_service"] = EC2ContainerServiceBackend.create_service
    _orig["update_service"] = EC2ContainerServiceBackend.update_service
    _orig["create_service_response"] = R.create_service
    EC2ContainerServiceBackend.create_service = create_service
    EC2ContainerServiceBackend.update_service = update_service
    R.create_service = _create_service_response
