"""The Step Functions API where moto's differs from AWS's, for what the executor adds.

* ``GetExecutionHistory`` pages like AWS (``maxResults`` 100 by default, at most 1,000;
  ``nextToken``, ``reverseOrder``, ``includeExecutionData``): moto returned every event at once,
  serializing each in about 3 ms, so a 25,000-event history took over a minute to read.
* ``DescribeExecution`` and ``GetExecutionHistory`` know Distributed Map children;
  ``ListExecutions(mapRunArn=...)`` lists a Map Run's children (newest first, paged).
* ``StartExecution`` without a name gets a UUID (moto named every such execution ``None``, so a
  second one clashed with the first); an input over 262,144 bytes of UTF-8 (its modelled
  length) fails with the operation's modelled error for bad input, ``InvalidExecutionInput``.
* ``DescribeExecution`` never shows ``SUCCEEDED`` without the output: moto set the status first
  and then copied the output, so a large output left a window in which it had none.
* ``SendTaskSuccess`` with an ``output`` over 262,144 bytes fails with ``InvalidOutput``, the
  operation's modelled error for bad output. (AWS documents the length, not which error it
  answers; these two follow the service model.)
"""

from __future__ import annotations

import base64
import copy
import uuid
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import AWSError
from moto.core.responses import ActionResult
from moto.stepfunctions import responses
from moto.stepfunctions.exceptions import InvalidExecutionInput, InvalidToken, ResourceNotFound
from moto.stepfunctions.parser import models as parser_models
from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded
from moto.stepfunctions.parser.backend import execution as execution_module

from .sfn_limits import PAYLOAD_LIMIT, StepFunctionsRuntime, wrap

if TYPE_CHECKING:
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

PAGE = (100, 1000)  # GetExecutionHistory and ListExecutions: default and maximum maxResults
_DATA = ("input", "inputDetails", "output", "outputDetails")


class InvalidOutput(AWSError):
    TYPE = "InvalidOutput"
    STATUS = 400


def check_task_output(output: str | None) -> None:
    if output is not None and len(output.encode("utf-8")) > PAYLOAD_LIMIT:
        raise InvalidOutput(f"The provided output is larger than the maximum size of {PAYLOAD_LIMIT} bytes.")


def _page(response: Any, count: int) -> tuple[int, int]:
    """(start, size) of the page a request asks for, from its ``nextToken`` and ``maxResults``."""
    size = min(response._get_int_param("maxResults") or PAGE[0], PAGE[1])
    token = response._get_param("nextToken")
    if not token:
        return 0, size
    try:
        start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("o:"))
    except ValueError as exc:
        raise InvalidToken("Invalid Token") from exc
    if not 0 <= start <= count:
        raise InvalidToken("Invalid Token")
    return start, size


def _token(end: int, count: int) -> dict[str, str]:
    return {"nextToken": base64.urlsafe_b64encode(f"o:{end}".encode()).decode()} if end < count else {}


def _start_execution(
    self: Any,
    state_machine_arn: str,
    name: str | None = None,
    execution_input: str | None = None,
    trace_header: str | None = None,
    *,
    original: Any,
) -> Any:
    if execution_input is not None and len(execution_input.encode("utf-8")) > PAYLOAD_LIMIT:
        raise InvalidExecutionInput(f"The input is larger than the maximum size of {PAYLOAD_LIMIT} bytes.")
    return original(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)


def _reflect_execution_status(self: Any, *, original: Any) -> None:
    if self.execution.exec_status == ExecutionStatus.ABORTED:
        return  # StopExecution's end stands: a task still running when it came does not turn it FAILED
    env = self.execution.exec_worker.env
    if isinstance(env.program_state(), ProgramEnded):
        self.execution.output = env.states.get_input()  # before the status says SUCCEEDED
    original(self)


def _stop_execution(self: Any, *, original: Any) -> Any:
    """StopExecution keeps the ``error`` and ``cause`` it was given, as DescribeExecution returns them
    in AWS (moto's response handler dropped both)."""
    out = original(self)
    execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
    execution.error, execution.cause = self._get_param("error"), self._get_param("cause")
    return out


def _describe_execution(self: Any, execution_arn: str, *, original: Any, runtime: StepFunctionsRuntime) -> Any:
    child = runtime.children.get(execution_arn)
    return child if child is not None else original(self, execution_arn)


def _get_execution_history(self: Any, *, original: Any, runtime: StepFunctionsRuntime) -> Any:
    arn = self._get_param("executionArn")
    child = runtime.children.get(arn)
    manager: EventManager | None
    if child is not None:
        manager = child.events
    else:
        execution = self.stepfunction_backend.describe_execution(arn)  # ExecutionDoesNotExist as moto says it
        manager = getattr(getattr(execution, "exec_worker", None), "env", None)
        manager = getattr(manager, "event_manager", None)
    if manager is None:
        return original(self)
    with manager._mutex:
        events = list(manager._history_event_list)
    if self._get_param("reverseOrder"):
        events.reverse()
    start, size = _page(self, len(events))
    page = copy.deepcopy(events[start : start + size])
    if self._get_param("includeExecutionData") is False:
        for event in page:
            for details in event.values():
                if isinstance(details, dict):
                    for key in _DATA:
                        details.pop(key, None)
    return ActionResult({"events": page, **_token(start + size, len(events))})


def _list_executions(self: Any, *, original: Any, runtime: StepFunctionsRuntime) -> Any:
    """ListExecutions(mapRunArn=...): the Map Run's children, newest first as for a state machine."""
    map_run_arn = self._get_param("mapRunArn")
    if not map_run_arn:
        return original(self)
    try:
        self.stepfunction_backend.describe_map_run(map_run_arn)
    except Exception as exc:
        raise ResourceNotFound(map_run_arn) from exc
    status = self._get_param("statusFilter")
    children = [c for c in list(runtime.children.values()) if c.map_run_arn == map_run_arn]
    children = sorted((c for c in children if status in (None, c.status)), key=lambda c: c.start_date, reverse=True)
    start, size = _page(self, len(children))
    executions = []
    for child in children[start : start + size]:
        item = {
            "executionArn": child.execution_arn,
            "name": child.name,
            "startDate": child.start_date,
            "stateMachineArn": child.state_machine_arn,
            "mapRunArn": child.map_run_arn,
            "status": child.status,
        }
        if child.stop_date is not None:
            item["stopDate"] = child.stop_date
        executions.append(item)
    return ActionResult({"executions": executions, **_token(start + size, len(children))})


def install(stack: ExitStack, runtime: StepFunctionsRuntime) -> None:
    worker_comm = execution_module.BaseExecutionWorkerCommunication
    wrap(stack, worker_comm, "_reflect_execution_status", _reflect_execution_status)
    backend = parser_models.StepFunctionsParserBackend
    wrap(stack, backend, "start_execution", _start_execution)
    wrap(stack, backend, "describe_execution", _describe_execution, runtime=runtime)
    api = responses.StepFunctionResponse
    wrap(stack, api, "get_execution_history", _get_execution_history, runtime=runtime)
    wrap(stack, api, "list_executions", _list_executions, runtime=runtime)
    wrap(stack, api, "stop_execution", _stop_execution)
