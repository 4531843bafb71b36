"""Step Functions "Execution Status Change" events, which moto's interpreter never emits.

AWS sends one to the default bus whenever a standard execution starts or ends (RUNNING,
SUCCEEDED, FAILED, TIMED_OUT, ABORTED), best effort, with `source: aws.states`. Its `detail`
is shaped as the page's examples show it (and as events/sfn-execution-*.json are):
executionArn, stateMachineArn, name, status, startDate, stopDate (epoch milliseconds),
input, inputDetails, output, outputDetails; no error or cause (a reader gets those from
DescribeExecution). Input and output are left out (`included: false`) past 248 KB:
https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
("EventBridge payloads", "Step Functions event examples")

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


# "If the combined escaped input and escaped output sent to EventBridge exceeds 248KB, then
# the input will be excluded. Similarly, if the escaped output exceeds 248KB, then the output
# will be excluded." (the page above, "EventBridge payloads")
PAYLOAD_LIMIT = 248 * 1024


def _escaped_len(text: str | None) -> int:
    return len(json.dumps(text)) if text is not None else 0


def detail(execution: Any) -> dict[str, Any]:
    status = execution.exec_status.value if execution.exec_status else "RUNNING"
    input_, output = _text(execution.input_data), _text(execution.output)
    output_kept = _escaped_len(output) <= PAYLOAD_LIMIT
    input_kept = _escaped_len(input_) + (_escaped_len(output) if output_kept else 0) <= PAYLOAD_LIMIT
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine.arn,
        "name": execution.name,
        "status": status,
        "startDate": _epoch_ms(execution.start_date),
        "stopDate": _epoch_ms(execution.stop_date),
        "input": input_ if input_kept else None,
        "inputDetails": {"included": input_kept},
        "output": output if output_kept else None,
        "outputDetails": {"included": output_kept} if output is not None else None,
    }


def _emit_end(execution: Any) -> None:
    """One end event per execution (a stopped one is reported when it is stopped, not again
    when its interpreter thread notices)."""
    if getattr(execution, "_stevedore_end_emitted", False):
        return
    execution._stevedore_end_emitted = True
    if not getattr(STATE, "sfn_status_events", True):
        return
    eventbridge.emit("aws.states", DETAIL_TYPE, detail(execution), [execution.exec_arn],
                     account=execution.account_id, region=execution.region_name)


def _reflect_and_emit(self: Any) -> None:
    _original_reflect(self)
    _emit_end(self.execution)


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
