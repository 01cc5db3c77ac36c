"""Step Functions Standard's platform limits, as the local executor enforces them.

* **History**: 25,000 events per execution (hard quota). Each execution has one history: an
  inline ``Map``'s iterations count in their execution's; a Distributed Map child or a child
  started with ``states:startExecution`` has its own. Events are counted as moto's event manager
  records them, so the count is what ``GetExecutionHistory`` lists. The execution fails as AWS
  fails it: event 25,000 is ``ExecutionFailed`` with ``States.Runtime`` and the cause below (the
  error guide names the quota but not the event; the history shape is AWS's as recorded in
  floci-io/floci#2734). Nothing else is recorded after event 24,999 and no ``Catch`` runs.
* **Payloads**: 262,144 bytes of UTF-8 JSON (compact) per execution input, state input after
  ``Parameters`` / ``ItemSelector``, task result and state output. Beyond that:
  ``States.DataLimitExceeded``. moto already raised it for results and outputs (its measure was
  the spaced JSON and failed at exactly 256 KiB); here it is measured like AWS.
* **Catchers**: per the error-handling guide, ``States.ALL`` cannot catch the terminal
  ``States.DataLimitExceeded`` nor ``States.Runtime``; only a catcher or retrier naming the error
  matches it (moto's wildcards matched everything, and its ``States.TaskFailed`` wildcard matched
  a ``States.*`` error re-raised by a Map or Parallel). AWS's own history for a too-large
  *Lambda result* caught by ``States.ALL`` (localstack's AWS-validated snapshot
  test_states_errors, 2024) contradicts the guide; the stricter reading is kept so nothing that
  may die in AWS passes here.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections import Counter
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, cast
from unittest import mock

from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common import parargs
from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state import state as state_module
from moto.stepfunctions.parser.asl.component.state.exec.state_map import item_selector
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
from moto.stepfunctions.parser.asl.eval import environment
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackConsumerTimeout
from moto.stepfunctions.parser.asl.eval.event import event_manager
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.backend import execution_worker

from .sandbox import Progress

if TYPE_CHECKING:
    from mailwarden.clock import VirtualClock

    from .sfn_children import Child

HISTORY_LIMIT = 25_000
PAYLOAD_LIMIT = 256 * 1024  # bytes of UTF-8
HISTORY_CAUSE = f"The execution reached the maximum number of history events ({HISTORY_LIMIT})."
DATA_LIMIT = StatesErrorNameType.StatesStatesDataLimitExceeded.to_name()
# Terminal errors a States.ALL (or States.TaskFailed) wildcard does not match: see the module doc.
NOT_CAUGHT_BY_WILDCARDS = frozenset({DATA_LIMIT, StatesErrorNameType.StatesRuntime.to_name()})
_TERMINAL_EVENTS = frozenset(
    {
        HistoryEventType.ExecutionFailed,
        HistoryEventType.ExecutionSucceeded,
        HistoryEventType.ExecutionAborted,
        HistoryEventType.ExecutionTimedOut,
    }
)
event_details = cast(Any, EventDetails)  # moto's TypedDict is total: each event sets one of its keys
_HISTORY = "_mailwarden_history"  # the EventManager attribute holding its History


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def payload_bytes(value: Any) -> int:
    """Size of a payload as Step Functions limits it: compact JSON, UTF-8 encoded."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    return len(text.encode("utf-8"))


class History:
    """One execution's history: its events (counted as they are recorded, O(1) each), the
    largest payload it carried, and when (on the virtual clock) it ended."""

    def __init__(self, arn: str, *, limit: int = HISTORY_LIMIT) -> None:
        self.arn = arn
        self.limit = limit
        self.events = 0
        self.max_state_bytes = 0
        self.failure: ExecutionFailedEventDetails | None = None  # set once the history is full
        self.env: Any = None  # the execution's root evaluation environment while it runs
        self.box: list[float] | None = None  # its virtual timeline, if it has one of its own
        self.end: float | None = None
        self.done = threading.Event()
        self.lock = threading.Lock()

    def attach(self, env: Any) -> None:
        self.env = env
        setattr(env.event_manager, _HISTORY, self)

    def observe(self, size: int) -> None:
        with self.lock:
            self.max_state_bytes = max(self.max_state_bytes, size)

    def stats(self) -> dict[str, int]:
        return {"events": self.events, "max_state_bytes": self.max_state_bytes}


def history_of(env: Any) -> History | None:
    return getattr(env.event_manager, _HISTORY, None)


def _add_event(
    self: Any,
    context: Any,
    event_type: Any,
    event_details: Any = None,
    timestamp: Any = None,
    update_source_event_id: bool = True,
    *,
    original: Any,
    on_full: Any,
) -> int:
    history: History | None = getattr(self, _HISTORY, None)
    if history is None:
        return int(original(self, context, event_type, event_details, timestamp, update_source_event_id))
    terminal = event_type in _TERMINAL_EVENTS
    with history.lock:
        if history.failure is not None and not terminal:
            return int(context.last_published_event_id)  # the history is full: AWS records nothing more
        event_id = int(original(self, context, event_type, event_details, timestamp, update_source_event_id))
        history.events = event_id
        full = not terminal and history.failure is None and event_id >= history.limit - 1
        if full:
            history.failure = ExecutionFailedEventDetails(
                error=StatesErrorNameType.StatesRuntime.to_name(), cause=HISTORY_CAUSE
            )
    if full:
        on_full(history)
    return event_id


def _set_error(self: Any, error: Any, *, original: Any) -> None:
    """Once the history is full, whatever else fails later in the execution (a state whose
    program stopped under it), the execution's error is the history limit's."""
    history = history_of(self)
    original(self, history.failure if history is not None and history.failure is not None else error)


def _verify_size(self: Any, env: Any, value: Any, *, original: Any) -> None:
    """A state's output or a task's result: measured like AWS, recorded, refused above the quota
    (by moto's own code path, so the event and cause are the ones it reports)."""
    size = payload_bytes(value)
    history = history_of(env)
    if history is not None:
        history.observe(size)
    if size > PAYLOAD_LIMIT:
        original(self, env, value)


def _checked_input(self: Any, env: Any, *, original: Any) -> None:
    """``Parameters`` / ``Arguments`` / ``ItemSelector``: the state's effective input."""
    original(self, env)
    size = payload_bytes(env.stack[-1])
    history = history_of(env)
    if history is not None:
        history.observe(size)
    if size <= PAYLOAD_LIMIT:
        return
    # AWS's exact cause for an input is not documented; this mirrors its wording for results.
    cause = (
        f"The state/task '{env.next_state_name}' has an input with a size exceeding the maximum number of bytes "
        "service limit."
    )
    raise FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=StatesErrorNameType.StatesStatesDataLimitExceeded),
            event_type=HistoryEventType.TaskFailed,
            event_details=event_details(taskFailedEventDetails=TaskFailedEventDetails(error=DATA_LIMIT, cause=cause)),
        )
    )


def _error_equals(self: Any, env: Any, *, original: Any) -> None:
    name = getattr(env.stack[-1], "error_name", None)
    if name in NOT_CAUGHT_BY_WILDCARDS:
        env.stack.pop()
        env.stack.append(any(error.error_name == name for error in self.error_names))
        return
    original(self, env)


def _within_quota(value: Any) -> bool:
    return payload_bytes(value) <= PAYLOAD_LIMIT


def wrap(stack: ExitStack, owner: Any, name: str, replacement: Any, **bound: Any) -> None:
    """Patch ``owner.name`` with ``replacement(*args, original=<the patched one>, **bound)``."""
    original = getattr(owner, name)

    def patched(*args: Any, **kwargs: Any) -> Any:
        return replacement(*args, **kwargs, original=original, **bound)

    stack.enter_context(mock.patch.object(owner, name, patched))


def close_tasks(pool: Any) -> None:
    """Close the tasks still waiting on ``pool``'s tokens: later answers are too late, and the
    waiting tasks end (as timed out) instead of holding their execution open."""
    for endpoint in list(getattr(pool, "_pool", {}).values()):
        if endpoint.get_outcome() is None and endpoint.consumer_error is None:
            endpoint.report(CallbackConsumerTimeout())
            endpoint.interrupt_all()


class StepFunctionsRuntime:
    """What the local executor knows about its executions (``emu.stepfunctions``).

    ``stats()`` measures every execution, Distributed Map children and ``startExecution`` children
    included: ``{execution arn: {"events": n, "max_state_bytes": b}}``, ``events`` being what
    ``GetExecutionHistory`` lists and ``max_state_bytes`` the largest payload checked against the
    256 KiB quota (execution input, state input after ``Parameters``/``ItemSelector``, task result,
    state output). ``max_child_threads`` bounds the real threads one Distributed Map runs its
    children in (its virtual concurrency is the Map's own)."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.histories: dict[str, History] = {}
        self.children: dict[str, Child] = {}  # Distributed Map children by execution ARN
        self.max_child_threads = 32
        self.closed = threading.Event()  # the emulator closed: whatever still waits parks for good
        # announced changes (the clock's, when it is the emulator's SandboxClock): see Progress
        self.progress: Progress = getattr(clock, "progress", None) or Progress()
        self._parked: Counter[int] = Counter()
        self._lock = threading.Lock()

    def stats(self) -> dict[str, dict[str, int]]:
        with self._lock:
            histories = list(self.histories.items())
        return {arn: history.stats() for arn, history in histories}

    def history(self, arn: str) -> History:
        with self._lock:
            if arn not in self.histories:
                self.histories[arn] = History(arn)
            return self.histories[arn]

    def history_full(self, history: History) -> None:
        """The execution reached the history quota: it fails now, and the tasks it waits on close."""
        env = history.env
        if env is not None:
            env.set_error(history.failure)
            close_tasks(env.callback_pool_manager)

    # A timeline waiting for a task token is "parked": only the outside world moves it on.
    def park(self, box: list[float], delta: int) -> None:
        with self._lock:
            self._parked[id(box)] += delta
        self.progress.notify()

    def parked(self, box: list[float]) -> bool:
        return self._parked.get(id(box), 0) > 0

    def close(self) -> None:
        self.closed.set()
        self.progress.notify()

    def pause(self, since: int) -> None:
        """Wait until something changes after ``progress.mark()`` said ``since`` (``Progress``);
        once the emulator has closed, for good (daemon threads of unfinished executions must not
        poll, nor call AWS with the mocks gone)."""
        if not self.closed.is_set():
            self.progress.wait(since)
        if self.closed.is_set():
            threading.Event().wait()


def _environment(self: Any, *, original: Any, runtime: StepFunctionsRuntime) -> Any:
    """An execution's evaluation environment: its history is counted from its first event, and its
    input is its first payload."""
    env = original(self)
    details = self._evaluation_details.execution_details
    history = runtime.history(details.arn)
    history.attach(env)
    history.box = runtime.clock.timeline()
    history.observe(payload_bytes(details.inpt))
    return env


def _execution_logic(self: Any, *, original: Any, runtime: StepFunctionsRuntime) -> None:
    """An execution's run: when it ends, its history records where on the virtual clock."""
    try:
        original(self)
    finally:
        history = history_of(self.env) if self.env is not None else None
        if history is not None:
            history.end = runtime.clock.time()
            history.done.set()
            runtime.progress.notify()


def install(stack: ExitStack, runtime: StepFunctionsRuntime) -> None:
    wrap(stack, event_manager.EventManager, "add_event", _add_event, on_full=runtime.history_full)
    wrap(stack, environment.Environment, "set_error", _set_error)
    for module in (state_module, state_task_lambda, state_task_service):
        stack.enter_context(mock.patch.object(module, "is_within_size_quota", _within_quota))
    for owner in (
        state_module.CommonStateField,
        state_task_lambda.StateTaskLambda,
        state_task_service.StateTaskService,
    ):
        wrap(stack, owner, "_verify_size_quota", _verify_size)
    wrap(stack, parargs.Parargs, "_eval_body", _checked_input)
    wrap(stack, item_selector.ItemSelector, "_eval_body", _checked_input)
    wrap(stack, error_equals_decl.ErrorEqualsDecl, "_eval_body", _error_equals)
    worker = execution_worker.ExecutionWorker
    wrap(stack, worker, "_get_evaluation_environment", _environment, runtime=runtime)
    wrap(stack, worker, "_execution_logic", _execution_logic, runtime=runtime)
