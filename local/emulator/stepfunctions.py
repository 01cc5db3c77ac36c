"""moto's Step Functions executor, on the emulator's virtual clock and closer to AWS.

moto runs state machines (its ASL interpreter) in threads that wait in real time. Here:

* task timeouts (``TimeoutSeconds``) and ``waitForTaskToken`` waits end when the *virtual* clock
  passes the deadline: a test advances 72 hours instantly and the task times out;
* ``Wait`` states and ``Retry`` intervals sleep on the virtual clock (they advance it, like
  botocore's own back-off does), so long workflows finish in milliseconds;
* a ``Parallel`` state's branches and a ``Map`` state's items run on timelines of their own
  (``VirtualClock.fork``) that start when the state does, and the state ends when its latest one
  does; items take the Map's ``MaxConcurrency`` slots in the order the slots free in virtual time
  (``sfn_children.Slots``): ten iterations each waiting 60 s cost 60 s, a hundred at
  ``MaxConcurrency`` 10 cost 600 s, as in AWS;
* ``SendTaskSuccess`` / ``SendTaskFailure`` on a task that is closed (timed out, already answered,
  or whose execution ended) raise ``TaskTimedOut`` as AWS does; moto accepted them silently or
  said ``InvalidToken``. An unknown token is still ``InvalidToken``;
* the platform limits (history events, payload sizes) are enforced (``sfn_limits``), Distributed
  Maps run their items as child executions and ``startExecution.sync`` waits for its child on the
  virtual clock (``sfn_children``), the API shows them and pages histories like AWS (``sfn_api``);
  :class:`StepFunctionsRuntime` (``emu.stepfunctions``) measures every execution.
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
from moto.stepfunctions.parser.api import (
    ExecutionAbortedEventDetails,
    ExecutionStatus,
    HistoryEventType,
    SendTaskFailureOutput,
)
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.program import program
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import inline_iteration_component
from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branch_worker, branches_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function
from moto.stepfunctions.parser.asl.eval.callback import callback
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackConsumerTimeout,
    CallbackOutcome,
    CallbackOutcomeFailure,
    CallbackOutcomeSuccess,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils import boto_client, json_path
from moto.stepfunctions.parser.backend import execution as execution_module

from . import sfn_api, sfn_children, sfn_limits
from .sfn_limits import StepFunctionsRuntime

__all__ = ["StepFunctionsRuntime", "TaskTimedOut", "virtual_stepfunctions"]


class TaskTimedOut(AWSError):
    """moto's own TaskTimedOut sets ``code``, which its serializer ignores (the error code came
    back empty); this one serializes as AWS's ``TaskTimedOut``."""

    TYPE = "TaskTimedOut"
    STATUS = 400


def _virtual_event(clock: VirtualClock, runtime: StepFunctionsRuntime, *, parks: bool = False) -> Any:
    closed, progress = runtime.closed, runtime.progress

    class VirtualEvent(threading.Event):
        """``wait(timeout)`` measures ``timeout`` on the virtual clock: it sleeps until the event is
        set or virtual time passes the deadline (woken by ``progress``, not by polling). Once the
        emulator has closed, time stops: executions still waiting park without polling (daemon
        threads) rather than time out and call AWS with the mocks gone. With ``parks``, the waiting
        timeline is marked parked (a task-token wait: only an answer from outside ends it early)."""

        set_on: tuple[list[float] | None, float] = (None, float("-inf"))

        def __init__(self) -> None:
            super().__init__()
            # A task's timeout runs from the state's start: moto makes this event, starts the task's
            # thread, then waits; the task may have run (virtual) hours before the wait begins.
            # Task-token events (``parks``) are waited on again and again (heartbeats): from each wait.
            self.made_at = None if parks else clock.time()

        def set(self) -> None:
            self.set_on = (clock.timeline(), clock.time())  # the setter's timeline and its time then
            super().set()
            progress.notify()

        def _on_time(self, deadline: float) -> bool:
            """Set by ``deadline``, or from another timeline (a forked one's time is not the waiter's).
            Set on the waiter's own timeline (its task's thread, or the shared one) past the deadline is
            a timeout, however the threads raced in real time: AWS ends the task at its deadline."""
            box, at = self.set_on
            return box is not clock.timeline() or at <= deadline

        def wait(self, timeout: float | None = None) -> bool:
            box = clock.timeline() if parks else None
            if box is not None:
                runtime.park(box, 1)
            try:
                return self._wait(timeout)
            finally:
                if box is not None:
                    runtime.park(box, -1)

        def _wait(self, timeout: float | None) -> bool:
            if timeout is None:
                return super().wait()
            deadline = (clock.time() if self.made_at is None else self.made_at) + timeout
            while True:
                since = progress.mark()
                if self.is_set():
                    return self._on_time(deadline)
                if closed.is_set():
                    return super().wait()
                if clock.time() >= deadline:
                    return self.is_set() and self._on_time(deadline)
                progress.wait(since)

    return VirtualEvent


_launched = threading.local()  # the timelines a Parallel state's thread has forked so far


def timeline_thread(clock: VirtualClock, *, fork: bool) -> Any:
    """``threading.Thread`` on a virtual timeline. ``fork``: a new one starting at the launching
    thread's time (a Parallel branch, whose state ends where its branches do: ``_fan_out``; a Map
    worker, which then runs each item on its slot's timeline). Otherwise the launcher's own
    timeline, shared (a helper thread the launcher waits for: an iteration's program, a task), so
    time spent there counts there."""

    def thread(target: Any = None, **kwargs: Any) -> threading.Thread:  # moto passes keywords only
        start, box = clock.time(), clock.timeline()
        if box is None and not fork:
            return threading.Thread(target=target, **kwargs)
        if fork:
            box = [start]
            boxes = getattr(_launched, "boxes", None)
            if boxes is not None:
                boxes.append(box)

        def run(*a: Any, **kw: Any) -> None:
            clock.adopt(box)
            try:
                target(*a, **kw)
            finally:
                clock.adopt(None)

        return threading.Thread(target=run, **kwargs)

    return thread


def _fan_out(self: Any, env: Any, *, clock: VirtualClock, original: Any) -> None:
    """Launch every branch of a Parallel state at the same virtual instant (the state's start),
    however long the real-time loop that starts them takes; afterwards the state's thread is at
    its latest branch's time (their timelines are final once the state has its results)."""
    box, outer = clock.timeline(), getattr(_launched, "boxes", None)
    start = clock.time()
    clock.fork(start)
    boxes: list[list[float]] = []
    _launched.boxes = boxes
    try:
        original(self, env)
    finally:
        _launched.boxes = outer
        clock.adopt(box)
        clock.join(max((b[0] for b in boxes), default=start))


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
    _record_abort(getattr(worker, "env", None), error, cause)


def _record_abort(env: Any, error: str | None, cause: str | None) -> None:
    """AWS's history ends with ``ExecutionAborted`` when StopExecution returns; moto's program
    thread writes it only once its waiting task wakes (at the task's timeout). Written here, and
    nothing after it (the thread's late events are dropped, as AWS records nothing after the end)."""
    manager = getattr(env, "event_manager", None)
    if manager is None:
        return
    aborted = ExecutionAbortedEventDetails(error=error, cause=cause)
    details = EventDetails(executionAbortedEventDetails=aborted)  # type: ignore[typeddict-item]  # as moto's own
    env.event_history_context.source_event_id = 0
    manager.add_event(
        context=env.event_history_context, event_type=HistoryEventType.ExecutionAborted, event_details=details
    )
    manager.add_event = lambda *_, **__: None


def _send_task_success(self: Any, task_token: str, outcome: str) -> None:
    sfn_api.check_task_output(outcome)
    _answer(self, task_token, CallbackOutcomeSuccess(callback_id=task_token, output=outcome))


def _send_task_failure(self: Any, task_token: str, error: Any = None, cause: Any = None) -> SendTaskFailureOutput:
    _answer(self, task_token, CallbackOutcomeFailure(callback_id=task_token, error=error, cause=cause))
    return SendTaskFailureOutput()


# JSONPath expressions parsed once per process (moto builds a PLY parser for each parse, ~4 ms; a parsed
# expression is immutable): Step Functions' paths here, EventBridge's input transformers (local.emulator).
parse_json_path = functools.lru_cache(4096)(jsonpath_ng.ext.parse)
_parse_plain_path = functools.lru_cache(4096)(jsonpath_ng.parse)


def _integration_client(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's ``boto_client_for``, made once per region and service: moto made a new boto3 client (and
    its event emitter, endpoint resolver and methods: ~6 ms) for every Lambda task the interpreter ran,
    a fifth of a workflow test's CPU. A client keeps no state of an execution (clients are thread-safe;
    every one reaches the active emulator through botocore's built-in handlers, with moto's fixed
    credentials and its configuration: no validation, no retries)."""
    return _shared_client_for(region, service)


_shared_client_for = functools.cache(boto_client.boto_client_for)  # (region, service): its credentials are fixed


@contextmanager
def virtual_stepfunctions(clock: VirtualClock) -> Iterator[StepFunctionsRuntime]:
    runtime = StepFunctionsRuntime(clock)
    event = _virtual_event(clock, runtime)
    threading_proxy = types.SimpleNamespace(**{**vars(threading), "Event": event})
    backend = parser_models.StepFunctionsParserBackend
    with ExitStack() as stack:
        stack.callback(runtime.close)
        # moto parses every JSONPath on every use (90 % of a Pass state's cost): once per process.
        stack.enter_context(mock.patch.object(json_path, "parse", parse_json_path))
        stack.enter_context(mock.patch.object(result_path, "parse", _parse_plain_path))
        stack.enter_context(mock.patch.object(execute_state, "threading", threading_proxy))
        stack.enter_context(mock.patch.object(lambda_eval_utils, "boto_client_for", _integration_client))
        stack.enter_context(mock.patch.object(callback, "Event", _virtual_event(clock, runtime, parks=True)))
        # Threads an iteration starts (its program, each task) stay on the iteration's timeline.
        inheriting = timeline_thread(clock, fork=False)
        stack.enter_context(mock.patch.object(execute_state, "Thread", inheriting))
        program_threading = types.SimpleNamespace(**{**vars(threading), "Thread": inheriting})
        stack.enter_context(mock.patch.object(program, "threading", program_threading))
        forking = types.SimpleNamespace(**{**vars(threading), "Thread": timeline_thread(clock, fork=True)})
        stack.enter_context(mock.patch.object(inline_iteration_component, "threading", forking))
        stack.enter_context(mock.patch.object(branch_worker, "threading", forking))
        original_branches = branches_decl.BranchesDecl._eval_body
        stack.enter_context(
            mock.patch.object(
                branches_decl.BranchesDecl,
                "_eval_body",
                functools.partialmethod(_fan_out, clock=clock, original=original_branches),
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
        sfn_children.install(stack, runtime)
        sfn_api.install(stack, runtime)
        yield runtime
