"""Step Functions "Execution Status Change" events, which moto's interpreter never emits.

AWS sends one to the default bus whenever a standard execution starts or ends (RUNNING,
SUCCEEDED, FAILED, TIMED_OUT, ABORTED), best effort, with `source: aws.states` and a
`detail` holding executionArn, stateMachineArn, name, status, startDate, stopDate (epoch
milliseconds), input, output, error and cause:
https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html

The ends are emitted here when the interpreter reflects an execution's final status; the
control API can switch them off (`POST /_stevedore/sfn/status-events {"enabled": false}`)
so a test can lose one, as EventBridge's best-effort delivery may.
"""

from __future__ import annotations

import json
from typing import Any

from . import eventbridge
from .state import STATE

DETAIL_TYPE = "Step Functions Execution Status Change"
_original_reflect = None


def _epoch_ms(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if hasattr(value, "timestamp") else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def detail(execution: Any, stopped: Any = None) -> dict[str, Any]:
    status = execution.exec_status.value if execution.exec_status else "RUNNING"
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine.arn,
        "name": execution.name,
        "status": status,
        "startDate": _epoch_ms(execution.start_date),
        "stopDate": _epoch_ms(execution.stop_date),
        "input": _text(execution.input_data),
        "output": _text(execution.output),
        "error": execution.error or getattr(stopped, "error", None),
        "cause": execution.cause or getattr(stopped, "cause", None),
    }


def _emit_end(execution: Any, stopped: Any = None) -> None:
    """One end event per execution (a stopped one is reported when it is stopped, not again
    when its interpreter thread notices)."""
    if getattr(execution, "_stevedore_end_emitted", False):
        return
    execution._stevedore_end_emitted = True
    if not getattr(STATE, "sfn_status_events", True):
        return
    eventbridge.emit("aws.states", DETAIL_TYPE, detail(execution, stopped), [execution.exec_arn],
                     account=execution.account_id, region=execution.region_name)


def _reflect_and_emit(self: Any) -> None:
    _original_reflect(self)
    execution = self.execution
    try:
        stopped = execution.exec_worker.env.program_state()
    except Exception:  # noqa: BLE001
        stopped = None
    _emit_end(execution, stopped)


def _stop_execution(self: Any):
    """StopExecution ends the execution at once (ABORTED) with the caller's error and cause,
    as AWS does; moto drops both, and its interpreter only notices a stop when the state it
    is in ends (a task-token wait may last a day).
    https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html"""
    import datetime

    from moto.core.responses import ActionResult
    from moto.stepfunctions.parser.api import ExecutionStatus

    arn = self._get_param("executionArn")
    error, cause = self._get_param("error") or None, self._get_param("cause") or None
    backend = self.stepfunction_backend
    backend._validate_execution_arn(arn)
    machine = backend._get_state_machine_for_execution(arn)
    execution = next((x for x in machine.executions if x.execution_arn == arn), None)
    if execution is None:
        from moto.stepfunctions.exceptions import ExecutionDoesNotExist

        raise ExecutionDoesNotExist(f"Execution Does Not Exist: '{arn}'")
    stop_date = datetime.datetime.now(tz=datetime.timezone.utc)
    if getattr(execution, "exec_status", None) == ExecutionStatus.RUNNING:
        execution.stop(stop_date=stop_date, error=error, cause=cause)
        execution.exec_status = ExecutionStatus.ABORTED
        execution.stop_date = stop_date
        execution.error, execution.cause = error, cause
        _emit_end(execution)
    return ActionResult({"stopDate": execution.stop_date or stop_date})


def set_enabled(body: dict[str, Any]) -> dict[str, Any]:
    STATE.sfn_status_events = bool(body.get("enabled", True))
    return {"enabled": STATE.sfn_status_events}


def apply() -> None:
    global _original_reflect
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    from moto.stepfunctions.responses import StepFunctionResponse

    if _original_reflect is None:
        _original_reflect = BaseExecutionWorkerCommunication._reflect_execution_status
    BaseExecutionWorkerCommunication._reflect_execution_status = _reflect_and_emit
    StepFunctionResponse.stop_execution = _stop_execution
