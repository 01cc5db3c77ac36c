"""moto's Step Functions executor, on the emulator's virtual clock and closer to AWS.

moto runs state machines (its ASL interpreter) in threads that wait in real time. Here:

* task timeouts (``TimeoutSeconds``) and ``waitForTaskToken`` waits end when the *virtual* clock
  passes the deadline: a test advances 72 hours instantly and the task times out;
* ``Wait`` states and ``Retry`` intervals sleep on the virtual clock (they advance it, like
  botocore's own back-off does), so long workflows finish in milliseconds;
* a ``Map`` state's iterations run on timelines of their own (``VirtualClock.fork``) that start
  when the Map does: ten iterations each waiting 60 s cost 60 s of simulated time, as in AWS;
* ``SendTaskSuccess`` / ``SendTaskFailure`` on a task that is closed (timed out, already answered,
  or whose execution ended) raise ``TaskTimedOut`` as AWS does; moto accepted them silently or
  said ``InvalidToken``. An unknown token is still ``InvalidToken``;
* the platform limits (history events, payload sizes) are enforced (``sfn_limits``) and the API
  pages histories like AWS (``sfn_api``); :class:`StepFunctionsRuntime` (``emu.stepfunctions``)
  measures every execution.
"""

from __future__ import annotations

import functools
import threading
import types
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

import jsonpath_ng
import jsonpath_ng.ext
from mailwarden.clock import VirtualClock
from moto.core.exceptions import AWSError
from moto.stepfunctions.exceptions import InvalidToken
from moto.stepfunctions.parser import models as parser_models
from moto.stepfunctions.parser.api import ExecutionStatus, SendTaskFailureOutput
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.program import program
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import inline_iteration_component
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function
from moto.stepfunctions.parser.asl.eval.callback import callback
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackConsumerTimeout,
    CallbackOutcome,
    CallbackOutcomeFailure,
    CallbackOutcomeSuccess,
)
from moto.stepfunctions.parser.asl.utils import json_path
from moto.stepfunctions.parser.backend import execution as execution_module

from . import sfn_api, sfn_limits
from .sfn_limits import POLL, StepFunctionsRuntime

__all__ = ["POLL", "StepFunctionsRuntime", "TaskTimedOut", "virtual_stepfunctions"]


class TaskTimedOut(AWSError):
    """moto's own TaskTimedOut sets ``code``, which its serializer ignores (the error code came
    back empty); this one serializes as AWS's ``TaskTimedOut``."""

    TYPE = "TaskTimedOut"
    STATUS = 400


def _virtual_event(clock: VirtualClock, closed: threading.Event) -> type[threading.Event]:
    class VirtualEvent(threading.Event):
        """``wait(timeout)`` measures ``timeout`` on the virtual clock. Once the emulator has
        closed, time stops: executions still waiting park without polling (daemon threads) rather
        than time out and call AWS with the mocks gone."""

        def wait(self, timeout: float | None = None) -> bool:
            if timeout is None:
                return super().wait()
            deadline = clock.time() + timeout
            while not super().wait(POLL):
                if closed.is_set():
                    return super().wait()
                if clock.time() >= deadline:
                    return self.is_set()
            return True

    return VirtualEvent


def _timeline_thread(clock: VirtualClock, *, fork: bool) -> Any:
    """``threading.Thread`` on a virtual timeline. ``fork``: a new one starting at the launching
    thread's time (a Map worker). Otherwise the launcher's own timeline, shared (a helper thread
    the launcher waits for: an iteration's program, a task), so time spent there counts there."""

    def thread(target: Any = None, **kwargs: Any) -> threading.Thread:  # moto passes keywords only
        start, box = clock.time(), clock.timeline()
        if not fork and box is None:
            return threading.Thread(target=target, **kwargs)

        def run(*a: Any, **kw: Any) -> None:
            if fork:
                clock.fork(start)
            else:
                clock.adopt(box)
            try:
                target(*a, **kw)
            finally:
                clock.fork(None)

        return threading.Thread(target=run, **kwargs)

    return thread


def _map_body(self: Any, env: Any, *, clock: VirtualClock, original: Any) -> None:
    """Launch every worker of a Map at the same virtual instant (the Map's start), however long the
    real-time loop that starts them takes; afterwards the Map's thread is at the latest worker's time."""
    box = clock.timeline()
    clock.fork(clock.time())
    try:
        original(self, env)
    finally:
        clock.adopt(box)


def _callback_wait(self: Any, timeout: float | None = None) -> CallbackOutcome | None:
    self._notify_event.wait(timeout=timeout)
    if self._outcome is None and self.consumer_error is None:
        self.report(CallbackConsumerTimeout())  # the task closed without an answer: later answers are too late
    return self._outcome  # type: ignore[no-any-return]


def _wait_interval(self: Any, env: Any, wait_seconds: int, *, clock: VirtualClock) -> None:
    if wait_seconds > 0 and env.is_running():
        clock.sleep(wait_seconds)


def _answer(backend: Any, task_token: str, outcome: CallbackOutcome) -> None:
    for execution in backend._get_executions():
        worker = getattr(execution, "exec_worker", None)
        pool = getattr(getattr(worker, "env", None), "callback_pool_manager", None)
        endpoint = pool.get(task_token) if pool is not None else None
        if endpoint is None:
            continue
        closed = (
            endpoint.consumer_error is not None
            or endpoint.get_outcome() is not None
            or execution.status != ExecutionStatus.RUNNING
        )
        if closed:
            raise TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'")
        endpoint.notify(outcome)
        return
    raise InvalidToken("'Invalid token'")


def _stop(self: Any, stop_date: Any, error: str | None, cause: str | None, *, original: Any) -> None:
    """StopExecution is ABORTED at once, as in AWS (moto stayed RUNNING until the waiting task
    timed out), and the tokens it was waiting on are closed from then on."""
    original(self, stop_date=stop_date, error=error, cause=cause)
    self.exec_status = ExecutionStatus.ABORTED
    self.stop_date = stop_date
    worker = getattr(self, "exec_worker", None)
    pool = getattr(getattr(worker, "env", None), "callback_pool_manager", None)
    for endpoint in list(getattr(pool, "_pool", {}).values()):
        if endpoint.get_outcome() is None and endpoint.consumer_error is None:
            endpoint.report(CallbackConsumerTimeout())


def _send_task_success(self: Any, task_token: str, outcome: str) -> None:
    sfn_api.check_task_output(outcome)
    _answer(self, task_token, CallbackOutcomeSuccess(callback_id=task_token, output=outcome))


def _send_task_failure(self: Any, task_token: str, error: Any = None, cause: Any = None) -> SendTaskFailureOutput:
    _answer(self, task_token, CallbackOutcomeFailure(callback_id=task_token, error=error, cause=cause))
    return SendTaskFailureOutput()


@contextmanager
def virtual_stepfunctions(clock: VirtualClock) -> Iterator[StepFunctionsRuntime]:
    runtime = StepFunctionsRuntime(clock)
    closed = runtime.closed
    event = _virtual_event(clock, closed)
    threading_proxy = types.SimpleNamespace(**{**vars(threading), "Event": event})
    backend = parser_models.StepFunctionsParserBackend
    with ExitStack() as stack:
        stack.callback(closed.set)
        # moto parses every JSONPath on every use (a fresh PLY parser each time: 90 % of a Pass
        # state's cost); the parsed expressions are immutable, so each path is parsed once.
        stack.enter_context(mock.patch.object(json_path, "parse", functools.lru_cache(4096)(jsonpath_ng.ext.parse)))
        stack.enter_context(mock.patch.object(result_path, "parse", functools.lru_cache(4096)(jsonpath_ng.parse)))
        stack.enter_context(mock.patch.object(execute_state, "threading", threading_proxy))
        stack.enter_context(mock.patch.object(callback, "Event", event))
        # Threads an iteration starts (its program, each task) stay on the iteration's timeline.
        inheriting = _timeline_thread(clock, fork=False)
        stack.enter_context(mock.patch.object(execute_state, "Thread", inheriting))
        program_threading = types.SimpleNamespace(**{**vars(threading), "Thread": inheriting})
        stack.enter_context(mock.patch.object(program, "threading", program_threading))
        map_threading = types.SimpleNamespace(**{**vars(threading), "Thread": _timeline_thread(clock, fork=True)})
        stack.enter_context(mock.patch.object(inline_iteration_component, "threading", map_threading))
        component = inline_iteration_component.InlineIterationComponent
        original_body = component._eval_body
        stack.enter_context(
            mock.patch.object(
                component,
                "_eval_body",
                lambda self, env: _map_body(self, env, clock=clock, original=original_body),
            )
        )
        stack.enter_context(mock.patch.object(callback.CallbackEndpoint, "wait", _callback_wait))
        stack.enter_context(
            mock.patch.object(
                wait_function.WaitFunction,
                "_wait_interval",
                lambda self, env, wait_seconds: _wait_interval(self, env, wait_seconds, clock=clock),
            )
        )
        stack.enter_context(mock.patch.object(retrier_decl, "time", types.SimpleNamespace(sleep=clock.sleep)))
        original_stop = execution_module.Execution.stop
        stack.enter_context(
            mock.patch.object(
                execution_module.Execution,
                "stop",
                lambda self, stop_date, error, cause: _stop(self, stop_date, error, cause, original=original_stop),
            )
        )
        stack.enter_context(mock.patch.object(backend, "send_task_success", _send_task_success))
        stack.enter_context(mock.patch.object(backend, "send_task_failure", _send_task_failure))
        sfn_limits.install(stack, runtime)
        sfn_api.install(stack, runtime)
        yield runtime
