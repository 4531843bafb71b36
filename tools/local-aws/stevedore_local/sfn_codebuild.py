"""The Step Functions optimised CodeBuild integration, which moto's interpreter lacks.

moto 5.2.5 routes ``arn:aws:states:::codebuild:*`` to a stub that forwards the call unconverted
and has no ``.sync``. This module adds the integration as AWS documents it:

- Request Response: ``startBuild``, ``stopBuild``, ``batchDeleteBuilds``, ``batchGetReports``,
  ``startBuildBatch``, ``stopBuildBatch``, ``retryBuildBatch``, ``deleteBuildBatch`` (forwarded
  to moto; it implements StartBuild, StopBuild and BatchGetBuilds only).
- Run a Job: ``startBuild.sync`` (AWS also lists the build-batch ones; they are not emulated and
  fail with States.Runtime). ``.sync:2`` and ``.waitForTaskToken`` are not CodeBuild patterns on
  AWS, so a definition using them is rejected (InvalidDefinition), as AWS rejects it.
- Parameters in PascalCase are converted to the botocore shape (``sfn_fixes``), the call goes
  through the interpreter's boto3 client to moto, so the request audit records and validates it
  as ``caller: states``. Output: the response in PascalCase, timestamps as epoch milliseconds
  (float JSON numbers, see ``epoch_millis``),
  e.g. ``{"Build": {"Id": "<project>:<uuid>", "BuildStatus": "SUCCEEDED", "Environment":
  {"EnvironmentVariables": [{"Name", "Type", "Value"}]}, "Logs": {"DeepLink", ...}, ...}}``.
- ``startBuild.sync`` polls BatchGetBuilds every 0.5 s while the build is IN_PROGRESS (the
  state's TimeoutSeconds / TimeoutSecondsPath raise States.Timeout meanwhile; the poll ends when
  the state times out or the execution stops; the build is left running, stop it with StopBuild).
  SUCCEEDED: the output above. FAILED, FAULT, TIMED_OUT or STOPPED: the task fails with error
  ``States.TaskFailed`` and cause the compact JSON of the same ``{"Build": {...}}`` document
  (``BuildStatus``, ``Id``, ``Arn``, ``Phases`` with the failed phase's ``Contexts``,
  ``Logs.DeepLink``), as AWS reports a failed .sync job.
- A CodeBuild API error (StartBuild of an unknown project, ...) fails the task with error
  ``CodeBuild.<ErrorCode>`` and cause ``<message> (Service: AWSCodeBuild; Status Code: 400;
  Error Code: <ErrorCode>; Request ID: <id>; Proxy: null)``.
"""

from __future__ import annotations

import datetime
from functools import lru_cache
from typing import Any, Callable

SYNC_ACTIONS = {"startbuild"}
ACTIONS = ("StartBuild", "StopBuild", "BatchDeleteBuilds", "BatchGetReports", "StartBuildBatch",
           "StopBuildBatch", "RetryBuildBatch", "DeleteBuildBatch")
RETRYABLE = {"ThrottlingException", "Throttling", "TooManyRequestsException",
             "RequestLimitExceeded", "ServiceUnavailable", "InternalFailure"}

_orig_factory: dict[str, Callable[..., Any]] = {}
_service_class: Any = None


@lru_cache(maxsize=1)
def supported_parameters() -> dict[str, set[str]]:
    """{lower-case action: the PascalCase members of its request}."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("codebuild")
    out = {}
    for action in ACTIONS:
        shape = model.operation_model(action).input_shape
        out[action.lower()] = {m[0].upper() + m[1:] for m in (shape.members if shape else {})}
    return out


def epoch_millis(value: Any) -> Any:
    """Timestamps as Step Functions writes them in integration outputs: epoch milliseconds as
    a JSON number that is not always an integer literal (AWS writes ``1.601486201325E12``;
    here ``1601486201325.0``), so readers must accept a float."""
    if isinstance(value, datetime.datetime):
        return float(round(value.timestamp() * 1000))
    if isinstance(value, dict):
        return {k: epoch_millis(v) for k, v in value.items()}
    if isinstance(value, list):
        return [epoch_millis(v) for v in value]
    return value


def _build_class() -> Any:
    from botocore.exceptions import ClientError

    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.utils import boto_client
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

    def client_for(runtime_part: Any, credentials: Any) -> Any:
        # Looked up at call time: sfn_fixes tags the interpreter's clients for the audit.
        return boto_client.boto_client_for(region=runtime_part.region, service="codebuild",
                                           state_credentials=credentials)

    class StateTaskServiceCodeBuild(StateTaskServiceCallback):
        def __init__(self) -> None:
            # WaitForTaskToken is listed only because the base class needs a callback endpoint
            # in every .sync evaluation; definitions using it are rejected below.
            super().__init__(supported_integration_patterns={
                ResourceCondition.Sync, ResourceCondition.WaitForTaskToken})

        def _get_supported_parameters(self) -> set[str] | None:
            return supported_parameters().get(self.resource.api_action.lower())

        def _validate_service_integration_is_supported(self) -> None:
            super()._validate_service_integration_is_supported()
            condition = self.resource.condition
            if condition is None:
                return
            if condition != ResourceCondition.Sync or \
                    self.resource.api_action.lower() not in SYNC_ACTIONS:
                raise ValueError(
                    f"The resource provided {self.resource.resource_arn} not recognized. The "
                    "value is not a valid resource ARN, or the resource is not available in "
                    "this region.")

        def _normalise_response(self, response: Any, boto_service_name: str | None = None,
                                service_action_name: str | None = None) -> None:
            super()._normalise_response(response, boto_service_name, service_action_name)
            if isinstance(response, dict):
                converted = epoch_millis(response)
                response.clear()
                response.update(converted)

        def _eval_service_task(self, env: Any, resource_runtime_part: Any,
                               normalised_parameters: dict, state_credentials: Any) -> None:
            client = client_for(resource_runtime_part, state_credentials)
            response = getattr(client, self._get_boto_service_action())(**normalised_parameters)
            response.pop("ResponseMetadata", None)
            env.stack.append(response)

        def _from_error(self, env: Any, ex: Exception) -> Any:
            if isinstance(ex, ClientError):
                code = ex.response["Error"]["Code"]
                meta = ex.response.get("ResponseMetadata", {})
                name = f"CodeBuild.{code}"
                cause = (f"{ex.response['Error'].get('Message', '')} (Service: AWSCodeBuild; "
                         f"Status Code: {meta.get('HTTPStatusCode')}; Error Code: {code}; "
                         f"Request ID: {meta.get('RequestId', '')}; Proxy: null)")
                return FailureEvent(
                    env=env, error_name=CustomErrorName(name),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                        error=name, cause=cause, resource=self._get_sfn_resource(),
                        resourceType=self._get_sfn_resource_type())))
            return super()._from_error(env=env, ex=ex)

        def _build_sync_resolver(self, env: Any, resource_runtime_part: Any,
                                 normalised_parameters: dict, state_credentials: Any):
            client = client_for(resource_runtime_part, state_credentials)
            submission: dict = env.stack.pop()
            build_id = submission["Build"]["Id"]

            def resolver() -> dict | None:
                try:
                    builds = client.batch_get_builds(ids=[build_id]).get("builds") or []
                except ClientError as err:  # AWS polls on through throttling and 5xx
                    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
                    if err.response["Error"]["Code"] in RETRYABLE or status >= 500:
                        return None
                    raise
                if not builds or builds[0].get("buildStatus") == "IN_PROGRESS":
                    return None
                output = {"build": builds[0]}
                self._normalise_response(output, service_action_name="start_build")
                if output["Build"].get("BuildStatus") == "SUCCEEDED":
                    return output
                raise FailureEventException(FailureEvent(
                    env=env, error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
                        resource=self._get_sfn_resource(),
                        resourceType=self._get_sfn_resource_type(),
                        error=StatesErrorNameType.StatesTaskFailed.to_name(),
                        cause=to_json_str(output, separators=(",", ":"))))))

            return resolver

    return StateTaskServiceCodeBuild


def state_task_service_for(service_name: str) -> Any:
    if service_name == "codebuild":
        return _service_class()
    return _orig_factory["fn"](service_name=service_name)


def apply() -> None:
    """Route ``arn:aws:states:::codebuild:*`` to the integration (after ``sfn_fixes.apply``)."""
    global _service_class
    if _orig_factory:
        return
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_factory as factory,
    )

    _service_class = _build_class()
    _orig_factory["fn"] = factory.state_task_service_for
    factory.state_task_service_for = state_task_service_for
    state_task_factory.state_task_service_for = state_task_service_for
