"""Fixes to moto's Step Functions interpreter (see local-aws-notes.md).

- StartExecution without ``name`` gets a uuid (moto names it "None").
- SendTaskFailure keeps ``cause``.
- Optimised service integrations (ecs:runTask.sync, ...) convert PascalCase parameters to
  the botocore shape and the response back to PascalCase, using botocore's service model
  (moto ships the normalisation as a no-op stub).
- Not changed: ecs:runTask drops ``StartedBy`` from Parameters (it is not among the
  parameters Step Functions supports for ECS) and .sync tasks get startedBy
  "AWS Step Functions", as on AWS.
- ecs:runTask: failures[] fail the state with ``AmazonECS.Unknown``, ECS errors are
  ``ECS.AmazonECSException``, ``CapacityProviderStrategy`` is passed on, and .sync fails
  (``States.TaskFailed``) when any container exits non-zero or the task never started.
- A definite JSONPath (``$.Containers[0].ExitCode``) yields the scalar, not ``[3]``.
- The interpreter's boto3 clients (service integrations, Lambda invokes) send the header
  ``x-stevedore-caller: states``, so the request audit can tell them from the tests' calls, and
  ``x-stevedore-state-machine: <ARN>``, so the IAM check uses that state machine's role.
"""

from __future__ import annotations

import re
import threading
import uuid
from functools import lru_cache
from typing import Any

_BRACKET = re.compile(r"\[([^\]]*)\]")
_DEFINITE_INDEX = re.compile(r"""^\s*(-?\d+|'[^']*'|"[^"]*")\s*$""")


def is_definite(path: str) -> bool:
    if ".." in path or "?(" in path:
        return False
    for content in _BRACKET.findall(path):
        if not _DEFINITE_INDEX.match(content):
            return False
    outside = _BRACKET.sub("", path)
    return "*" not in outside


_original_extract_json = None


def extract_json(path: str, data: Any) -> Any:
    if is_definite(path):
        from jsonpath_ng.ext import parse
        from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError

        matches = parse(path).find(data)
        if not matches:
            raise NoSuchJsonPathError(json_path=path, data=data)
        if len(matches) == 1:
            return matches[0].value
    return _original_extract_json(path, data)


@lru_cache(maxsize=None)
def _operation_model(service: str, action_snake: str):
    import botocore.session
    from botocore import xform_name

    try:
        model = botocore.session.get_session().get_service_model(service)
    except Exception:  # noqa: BLE001
        return None
    for op in model.operation_names:
        if xform_name(op) == action_snake or op == action_snake:
            return model.operation_model(op)
    return None


def _skip_normalisation(task: Any) -> bool:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as sdk,
        state_task_service_dynamodb as ddb,
        state_task_service_lambda as lam,
    )

    # Lambda, DynamoDB and aws-sdk integrations already work with moto's own handling.
    return isinstance(task, (lam.StateTaskServiceLambda, ddb.StateTaskServiceDynamoDB,
                             sdk.StateTaskServiceAwsSdk))


def _normalise_parameters(self: Any, parameters: dict, boto_service_name: str | None = None,
                          service_action_name: str | None = None) -> None:
    if _skip_normalisation(self):
        return
    op = _operation_model(self._get_boto_service_name(boto_service_name),
                          self._get_boto_service_action(service_action_name))
    if op is not None and op.input_shape is not None:
        self._to_boto_request(parameters, op.input_shape)


def _normalise_response(self: Any, response: Any, boto_service_name: str | None = None,
                        service_action_name: str | None = None) -> None:
    if _skip_normalisation(self):
        return
    op = _operation_model(self._get_boto_service_name(boto_service_name),
                          self._get_boto_service_action(service_action_name))
    if op is not None and op.output_shape is not None:
        self._from_boto_response(response, op.output_shape)


def _start_execution(self: Any):
    from moto.core.responses import ActionResult

    arn = self._get_param("stateMachineArn")
    name = self._get_param("name") or str(uuid.uuid4())
    execution_input = self._get_param("input", if_none="{}")
    execution = self.stepfunction_backend.start_execution(arn, name, execution_input)
    return ActionResult({"executionArn": execution.execution_arn,
                         "startDate": execution.start_date})


def _send_task_failure(self: Any):
    from moto.core.responses import EmptyResult

    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"),
        cause=self._get_param("cause"))
    return EmptyResult()


_original_boto_client_for = None
# moto builds each task's client with boto3.client(), i.e. from boto3's one default Session,
# from every execution's thread at once; a Session is not thread-safe (clients made from it
# are): https://boto3.amazonaws.com/v1/documentation/api/latest/guide/clients.html#multithreading-or-multiprocessing-with-clients
_CLIENT_CREATION = threading.Lock()


def _executing_state_machine() -> str | None:
    """The ARN of the state machine whose execution is creating a client: the nearest caller
    frame holding the interpreter's ``env`` (every service integration and Lambda invoke
    creates its client while evaluating a state, Map iterations included)."""
    import sys

    frame = sys._getframe(2)  # noqa: SLF001 - the interpreter passes no execution to the client
    while frame is not None:
        env = frame.f_locals.get("env")
        states = getattr(env, "states", None)
        if states is not None:
            try:
                return states.context_object.context_object_data["StateMachine"]["Id"]
            except (AttributeError, KeyError, TypeError):
                return None
        frame = frame.f_back
    return None


def boto_client_for(*args: Any, **kwargs: Any) -> Any:
    from .iam_enforce import STATE_MACHINE_HEADER
    from .request_audit import tag_client

    from .accounts import task_client_headers

    with _CLIENT_CREATION:
        client = tag_client(_original_boto_client_for(*args, **kwargs), "states")
    machine = _executing_state_machine()
    credentials = kwargs.get("state_credentials")
    # A Task state's Credentials.RoleArn: the task acts as that role, in its account.
    assumed = task_client_headers(machine, getattr(credentials, "role_arn", None))
    if machine:  # the IAM check uses the state machine's role

        def add_header(request: Any, **_kwargs: Any) -> None:
            request.headers[STATE_MACHINE_HEADER] = machine
            for name, value in assumed.items():
                request.headers[name] = value

        client.meta.events.register_first("before-sign.*.*", add_header)
    return client


def _tag_interpreter_clients() -> None:
    global _original_boto_client_for
    import importlib
    import pkgutil
    import sys

    from moto.stepfunctions.parser.asl.utils import boto_client

    if _original_boto_client_for is None:
        _original_boto_client_for = boto_client.boto_client_for
    boto_client.boto_client_for = boto_client_for
    import moto.stepfunctions.parser.asl.component.state.exec.state_task as task_pkg

    for info in pkgutil.walk_packages(task_pkg.__path__, task_pkg.__name__ + "."):
        importlib.import_module(info.name)  # every module that imports boto_client_for by name
    for m in list(sys.modules.values()):
        if getattr(m, "__name__", "").startswith("moto.stepfunctions") and \
                getattr(m, "boto_client_for", None) is _original_boto_client_for:
            m.boto_client_for = boto_client_for


def apply() -> None:
    global _original_extract_json
    import importlib

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.utils import json_path
    from moto.stepfunctions.responses import StepFunctionResponse

    StepFunctionResponse.start_execution = _start_execution
    StepFunctionResponse.send_task_failure = _send_task_failure
    StateTaskService._normalise_parameters = _normalise_parameters
    StateTaskService._normalise_response = _normalise_response
    _patch_ecs_integration()
    _tag_interpreter_clients()

    if _original_extract_json is None:
        _original_extract_json = json_path.extract_json
    json_path.extract_json = extract_json
    base = "moto.stepfunctions.parser.asl."
    for mod in (
        "component.intrinsic.argument.argument",
        "component.state.choice.comparison.operator.implementations.timestamp_operators",
        "component.state.choice.comparison.operator.implementations.boolean_equals",
        "component.state.choice.comparison.operator.implementations.numeric",
        "component.state.choice.comparison.operator.implementations.string_operators",
        "eval.states",
        "component.common.string.string_expression",
    ):
        importlib.import_module(base + mod)
    import sys

    for name, m in list(sys.modules.items()):  # every module that imported it by name
        if name.startswith("moto.stepfunctions") and getattr(m, "extract_json", None) is _original_extract_json:
            m.extract_json = extract_json


# ------------------------------------------------------------------ ecs:runTask(.sync)
# Step Functions' RunTask integration takes RunTask's parameters, CapacityProviderStrategy
# included (moto's list predates it): https://docs.aws.amazon.com/step-functions/latest/dg/connect-ecs.html
ECS_RUN_TASK_EXTRA_PARAMETERS = {"CapacityProviderStrategy", "EnableECSManagedTags", "Tags",
                                 "ReferenceId"}


def _ecs_failure(env: Any, task: Any, error: str, cause: str) -> Exception:
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent, FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    if error == "States.TaskFailed":
        name: Any = StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed)
    else:
        name = CustomErrorName(error)
    return FailureEventException(FailureEvent(
        env=env, error_name=name, event_type=HistoryEventType.TaskFailed,
        event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
            error=error, cause=cause, resource=task._get_sfn_resource(),
            resourceType=task._get_sfn_resource_type()))))


_orig_ecs: dict[str, Any] = {}


def _ecs_eval_service_task(self: Any, env: Any, resource_runtime_part: Any,
                           normalised_parameters: dict, state_credentials: Any) -> None:
    """"Run a Job or Task Token: If a non-empty Failures field is encountered, the task is failed
    with an AmazonECS.Unknown error." (connect-ecs.html above); moto indexed Tasks[0] and failed
    with States.Runtime. An ECS error response is ``ECS.AmazonECSException`` (the name Step
    Functions reports for ECS's refusals, e.g. no capacity:
    https://repost.aws/knowledge-center/ecs-fargate-runtask-capacity), its code in the cause."""
    import json

    from botocore.exceptions import ClientError

    if self._get_boto_service_action() == "run_task":
        from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

        client = boto_client_for(region=resource_runtime_part.region, service="ecs",
                                 state_credentials=state_credentials)
        try:
            probe = client.run_task(**normalised_parameters)
        except ClientError as e:
            err = e.response.get("Error", {})
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            raise _ecs_failure(env, self, "ECS.AmazonECSException",
                               f"{err.get('Message', '')} (Service: AmazonECS; Status Code: "
                               f"{status}; Error Code: {err.get('Code', '')})")
        failures = probe.get("failures") or []
        if failures and not probe.get("tasks"):
            cause = json.dumps({"Failures": [{k[:1].upper() + k[1:]: v for k, v in f.items()}
                                             for f in failures]})
            raise _ecs_failure(env, self, "AmazonECS.Unknown", cause)
        probe.pop("ResponseMetadata", None)
        self._normalise_response(response=probe, service_action_name="run_task")
        task = probe["Tasks"][0]
        described = client.describe_tasks(cluster=task["ClusterArn"], tasks=[task["TaskArn"]])
        described.pop("ResponseMetadata", None)
        self._normalise_response(response=described, service_action_name="describe_tasks")
        env.stack.append(described)
        return
    _orig_ecs["eval"](self, env, resource_runtime_part, normalised_parameters, state_credentials)


def _ecs_sync_resolver(self: Any, env: Any, resource_runtime_part: Any,
                       normalised_parameters: dict, state_credentials: Any) -> Any:
    """.sync fails the state (States.TaskFailed, the described task as the cause) when any
    container of the stopped task exited non-zero, sidecars included; moto took any STOPPED
    task as success."""
    import json

    resolve = _orig_ecs["sync"](self, env, resource_runtime_part, normalised_parameters,
                                state_credentials)

    def resolver() -> Any:
        stopped = resolve()
        if stopped is None:
            return None
        codes = [c.get("ExitCode") for c in stopped.get("Containers") or []]
        never_ran = stopped.get("StopCode") == "TaskFailedToStart"
        if never_ran or any(code not in (None, 0) for code in codes):
            raise _ecs_failure(env, self, "States.TaskFailed", json.dumps(stopped, default=str))
        return stopped

    return resolver


def _patch_ecs_integration() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_ecs as ecs,
    )

    if _orig_ecs:
        return
    ecs._SUPPORTED_API_PARAM_BINDINGS["runtask"] |= ECS_RUN_TASK_EXTRA_PARAMETERS
    _orig_ecs["eval"] = ecs.StateTaskServiceEcs._eval_service_task
    _orig_ecs["sync"] = ecs.StateTaskServiceEcs._build_sync_resolver
    ecs.StateTaskServiceEcs._eval_service_task = _ecs_eval_service_task
    ecs.StateTaskServiceEcs._build_sync_resolver = _ecs_sync_resolver
