"""Child workflow executions in the local executor: Distributed Map runs and ``startExecution``.

**Distributed Map** (``ItemProcessor.ProcessorConfig.Mode: DISTRIBUTED``). moto ran every item
inside one fresh event manager, ignored the failure tolerance and wrote an empty manifest. Here
each item runs as a child execution, as AWS runs it:

* its own ARN (``execution:<state machine>/<Map label or id>:<uuid>``), history (``ExecutionStarted``
  ... ``ExecutionSucceeded``, held against the 25,000 events on its own), input (the item, or
  ``ItemSelector`` applied with ``$$.Map.Item``) and context (``$$.Execution`` is the child);
  ``DescribeExecution``, ``GetExecutionHistory`` and ``ListExecutions(mapRunArn=...)`` show it
  (``sfn_api``), ``DescribeMapRun`` counts its items and executions;
* the parent's history has only the Map's own events (``MapRunStarted``, ``MapRunSucceeded`` /
  ``MapRunFailed``), whatever the number of items;
* ``MaxConcurrency`` virtual slots (0 means AWS's 10,000), all free when the Map starts: a child
  starts on the slot that frees first *in virtual time* and runs on a timeline of its own, so
  1,000 items of 5 minutes at ``MaxConcurrency`` 10 take 100 x 5 minutes of simulated time. At most
  ``emu.stepfunctions.max_child_threads`` children run at once in real threads (the virtual
  concurrency is unchanged): more children than that cannot wait for task tokens all at once;
* ``ToleratedFailurePercentage`` / ``ToleratedFailureCount``: failed and timed-out children over
  the threshold (a count of 0 or percentage of 0 is read as "not set"; with neither, one failure
  is too many) fail the Map Run with ``States.ExceedToleratedFailureThreshold``; the children
  still running are aborted, the rest are not started. A tolerated failure's place in the
  output is its execution record (``Error``, ``Cause``, ``Status``...), as the ResultWriter guide
  describes for failed children;
* ``ItemReader`` (moto's, from moto S3) failures are ``States.ItemReaderFailed``; ``ResultWriter``
  writes what AWS writes: ``<prefix>/<map run id>/manifest.json`` and ``SUCCEEDED_0.json`` /
  ``FAILED_0.json`` / ``PENDING_0.json`` with one record per child (failures are
  ``States.ResultWriterFailed``).

**startExecution** (``arn:aws:states:::states:startExecution``, ``.sync``, ``.sync:2``): moto starts
a real child execution; here it runs on a timeline forked at the parent's time, the parent waits
for it (one ``DescribeExecution``, not a poll every half second) and its clock moves with the
child's, so the parent's ``TimeoutSeconds`` counts the child's time.
"""

from __future__ import annotations

import datetime
import hashlib
import heapq
import importlib.metadata
import json
import threading
import types
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

from moto.core.exceptions import AWSError
from moto.stepfunctions.parser import models as parser_models
from moto.stepfunctions.parser.api import (
    ExecutionStartedEventDetails,
    HistoryEventExecutionDataDetails,
    HistoryEventType,
    MapRunFailedEventDetails,
    MapRunStartedEventDetails,
    MapRunStatus,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    distributed_iteration_component,
    inline_iteration_component,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job import JobPool
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
    resource_eval_s3 as result_writer_s3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback,
    state_task_service_sfn,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext, EventManager
from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded, ProgramError, ProgramTimedOut
from moto.stepfunctions.parser.asl.eval.states import ExecutionData, ItemData, MapData, StateMachineData
from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend import execution_worker

from ..cache import CACHE_DIR, write_atomically
from .sfn_limits import (
    History,
    StepFunctionsRuntime,
    close_tasks,
    event_details,
    history_of,
    payload_bytes,
    wrap,
)

if TYPE_CHECKING:
    from mailwarden.clock import VirtualClock

DEFAULT_CONCURRENCY = 10_000  # AWS's child executions in parallel when MaxConcurrency is 0 or absent
_RUN = "mailwarden_map_run"  # env.heap key: the Map Run the state's ResultWriter writes


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _failure(error_type: StatesErrorNameType, cause: str, env: Any) -> FailureEventException:
    error = error_type.to_name()
    return FailureEventException(
        failure_event=FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=error_type),
            event_type=HistoryEventType.MapRunFailed,
            event_details=event_details(mapRunFailedEventDetails=MapRunFailedEventDetails(error=error, cause=cause)),
        )
    )


class ChildCallbacks:
    """A child's task tokens: kept in its parent's pool (``SendTask*`` finds them as before) and
    listed here, so ending the child closes exactly its own tasks."""

    def __init__(self, parent: Any) -> None:
        self.parent = parent
        self._pool: dict[str, Any] = {}

    def add(self, callback_id: str) -> Any:
        endpoint = self.parent.add(callback_id)
        self._pool[callback_id] = endpoint
        return endpoint

    def __getattr__(self, name: str) -> Any:
        return getattr(self.parent, name)


class Child:
    """One child workflow execution of a Map Run; it has what moto's DescribeExecution reads."""

    def __init__(self, arn: str, map_run_arn: str, state_machine_arn: str, child_input: Any, start: datetime.datetime):
        self.execution_arn = arn
        self.name = arn.rsplit(":", 1)[-1]
        self.map_run_arn = map_run_arn
        self.state_machine_arn = state_machine_arn
        self.input = child_input
        self.execution_input = to_json_str(child_input, separators=(",", ":"))
        self.start_date = start
        self.stop_date: datetime.datetime | None = None
        self.status = "RUNNING"
        self.result_value: Any = None
        self.output: str | None = None
        self.output_details = {"included": True}
        self.error: str | None = None
        self.cause: str | None = None
        self.env: Any = None  # while it runs
        self.events: EventManager | None = None

    def record(self) -> dict[str, Any]:
        """The child as a ResultWriter results file lists it."""
        record: dict[str, Any] = {
            "ExecutionArn": self.execution_arn,
            "Input": self.execution_input,
            "InputDetails": {"Included": True},
            "Name": self.name,
            "RedriveCount": 0,
            "StartDate": _iso(self.start_date),
            "StateMachineArn": self.state_machine_arn,
            "Status": self.status,
        }
        if self.stop_date is not None:
            record["StopDate"] = _iso(self.stop_date)
        if self.output is not None:
            record |= {"Output": self.output, "OutputDetails": {"Included": True}}
        if self.error is not None:
            record["Error"] = self.error
        if self.cause is not None:
            record["Cause"] = self.cause
        return record

    def result(self) -> Any:
        return self.result_value if self.status == "SUCCEEDED" else self.record()


class Slots:
    """A Map's ``MaxConcurrency`` slots on the virtual clock, all free when the Map starts, each
    with the timeline of the item it runs. A slot is handed out in the order it frees in virtual
    time: only once no running item could still end before it (its timeline is already later, or
    it waits for a task token). Which real thread asks first no longer matters: moto's workers
    each took the next item as soon as they were done in real time, so one fast worker could run
    four items back to back while others had not started (ten 300 s iterations: 1,200 s)."""

    def __init__(self, runtime: StepFunctionsRuntime, start: float, count: int, items: int) -> None:
        self.runtime = runtime
        self.free = [(start, slot) for slot in range(count)]  # a heap of (free since, slot)
        self.running: dict[int, list[float]] = {}
        self.items = items
        self.next = 0
        self.latest = start
        self.lock = threading.Lock()

    def acquire(self, proceed: Callable[[], bool]) -> tuple[int, int, list[float]] | None:
        while True:
            since = self.runtime.progress.mark()
            with self.lock:
                if self.next >= self.items or not proceed():
                    return None
                at, slot = self.free[0]
                if all(box[0] >= at or self.runtime.parked(box) for box in self.running.values()):
                    heapq.heappop(self.free)
                    box = self.running[slot] = [at]
                    self.next += 1
                    return self.next - 1, slot, box
            self.runtime.pause(since)

    def release(self, slot: int) -> None:
        with self.lock:
            box = self.running.pop(slot)
            heapq.heappush(self.free, (box[0], slot))
            self.latest = max(self.latest, box[0])
        self.runtime.progress.notify()


def _tally(record: Any, **deltas: int) -> None:
    """DescribeMapRun's item and execution counts (one item per child: no ItemBatcher)."""
    for counts in (record.item_counter, record.execution_counter):
        for name, delta in deltas.items():
            getattr(counts, name).offset(delta)


def _exceeds(failures: int, total: int, count: int, percentage: float) -> bool:
    if failures == 0:
        return False
    limits = []
    if count > 0:
        limits.append(failures > count)
    if percentage > 0:
        limits.append(failures * 100 > percentage * total)
    return any(limits) if limits else True


class MapRun:
    """One Distributed Map state's run: its children, their slots and their tally."""

    def __init__(self, runtime: StepFunctionsRuntime, component: Any, env: Any, eval_input: Any) -> None:
        self.runtime = runtime
        self.clock = runtime.clock
        self.env = env
        self.eval_input = eval_input
        self.record = eval_input.map_run_record
        self.map_input = env.stack[-1] if env.stack else env.states.get_input()
        self.program = component._get_iteration_program()
        self.child_prefix = self.record.map_state_machine_arn.replace(":stateMachine:", ":execution:", 1)
        self.children: list[Child | None] = []
        self.running: dict[str, Child] = {}
        self.failures = 0
        self.exceeded = False
        self.error: BaseException | None = None
        self.lock = threading.Lock()

    def execute(self, items: list[Any]) -> list[Any]:
        self.items = items
        self.children = [None] * len(items)
        _tally(self.record, total=len(items), pending=len(items))
        if not items:
            return []
        concurrency = self.record.max_concurrency or DEFAULT_CONCURRENCY
        slots = Slots(self.runtime, self.clock.time(), min(concurrency, len(items)), len(items))
        workers = [
            threading.Thread(target=self._work, args=(slots,), daemon=True, name="MapRunChild")
            for _ in range(min(len(slots.free), self.runtime.max_child_threads))
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        self.clock.join(slots.latest)
        if self.error is not None:
            raise self.error
        if self.exceeded:
            total = len(items)
            raise _failure(
                StatesErrorNameType.StatesExceedToleratedFailureThreshold,
                f"The specified tolerated failure threshold was exceeded: {self.failures} of {total} items failed.",
                self.env,
            )
        return [child.result() if child is not None else None for child in self.children]

    def _proceed(self) -> bool:
        return self.error is None and not self.exceeded and bool(self.env.is_running())

    def _work(self, slots: Slots) -> None:
        while (job := slots.acquire(self._proceed)) is not None:
            index, slot, box = job
            self.clock.adopt(box)
            try:
                self._run(index)
            except BaseException as exc:  # noqa: BLE001 -- an ItemSelector failure fails the Map Run
                with self.lock:
                    self.error = self.error or exc
            finally:
                self.clock.adopt(None)
                slots.release(slot)

    def _select(self, index: int, item: Any) -> Any:
        """The child's input: the item, or ItemSelector (Parameters) applied to the Map's input."""
        selector = self.eval_input.item_selector or self.eval_input.parameters
        if selector is None:
            return item
        frame = self.env.open_inner_frame()
        try:
            frame.states.context_object.context_object_data["Map"] = MapData(Item=ItemData(Index=index, Value=item))
            frame.states.reset(input_value=self.map_input)
            frame.stack.append(self.map_input)
            selector.eval(frame)
            return frame.stack[-1]
        finally:
            self.env.delete_frame(frame)

    def _run(self, index: int) -> None:
        child = self._start(index, self._select(index, self.items[index]))
        try:
            self.program.eval(child.env)
        finally:
            self._finish(child)

    def _start(self, index: int, child_input: Any) -> Child:
        arn = f"{self.child_prefix}:{uuid.uuid4()}"
        env = self.env.open_inner_frame(event_history_context=EventHistoryContext.of_program_start())
        env._is_frame = False  # its program ends as an execution does, with its own terminal event
        env.event_manager = EventManager()
        env.callback_pool_manager = ChildCallbacks(self.env.callback_pool_manager)
        history = self.runtime.history(arn)
        history.attach(env)
        history.box = self.clock.timeline()
        history.observe(payload_bytes(child_input))
        context = env.states.context_object.context_object_data
        role = context["Execution"]["RoleArn"]
        start = self.clock.now()
        context["Execution"] = ExecutionData(
            Id=arn, Input=child_input, Name=arn.rsplit(":", 1)[-1], RoleArn=role, StartTime=_iso(start)
        )
        context["StateMachine"] = StateMachineData(
            Id=self.record.map_state_machine_arn, Name=self.record.map_state_machine_arn.split(":")[-1]
        )
        context.pop("Map", None)
        context.pop("Task", None)
        env.states.reset(input_value=child_input)
        env.event_manager.add_event(
            context=env.event_history_context,
            event_type=HistoryEventType.ExecutionStarted,
            event_details=event_details(
                executionStartedEventDetails=ExecutionStartedEventDetails(
                    input=to_json_str(child_input),
                    inputDetails=HistoryEventExecutionDataDetails(truncated=False),
                    roleArn=role,
                )
            ),
            update_source_event_id=False,
        )
        child = Child(arn, self.record.map_run_arn, self.record.map_state_machine_arn, child_input, start)
        child.env, child.events = env, env.event_manager
        with self.lock:
            self.children[index] = child
            self.running[arn] = child
        self.runtime.children[arn] = child
        _tally(self.record, pending=-1, running=1)
        return child

    def _finish(self, child: Child) -> None:
        env, child.env = child.env, None
        state = env.program_state()
        child.stop_date = self.clock.now()  # the status last: DescribeExecution reads it first
        if isinstance(state, ProgramEnded):
            child.result_value = env.states.get_input()
            child.output = to_json_str(child.result_value, separators=(",", ":"))
            child.status = "SUCCEEDED"
        elif isinstance(state, ProgramError):
            child.error, child.cause = (state.error or {}).get("error"), (state.error or {}).get("cause")
            child.status = "FAILED"
        else:
            child.status = "TIMED_OUT" if isinstance(state, ProgramTimedOut) else "ABORTED"
        history = history_of(env)
        if history is not None:
            history.end, history.env = self.clock.time(), None
            history.done.set()
            self.runtime.progress.notify()
        self.env.delete_frame(env)
        _tally(self.record, running=-1, **{child.status.lower(): 1})
        with self.lock:
            self.running.pop(child.execution_arn, None)
            if child.status in ("FAILED", "TIMED_OUT"):
                self.failures += 1
            tolerated = self.record.tolerated_failure_count, self.record.tolerated_failure_percentage
            if self.exceeded or not _exceeds(self.failures, len(self.items), *tolerated):
                return
            self.exceeded = True
            aborted = list(self.running.values())
        for other in aborted:  # the Map Run fails: its running children are aborted
            running = other.env
            if running is not None:
                running.set_stop(datetime.datetime.now(datetime.UTC), None, None)
                close_tasks(running.callback_pool_manager)


class VirtualJobPool(JobPool):
    """moto's job pool for an inline Map, handing out items through :class:`Slots`: a worker gets
    its next item on the timeline of the slot that frees first, releasing its previous one."""

    def __init__(self, program: Any, items: list[Any], slots: Slots, clock: VirtualClock) -> None:
        super().__init__(job_program=program, job_inputs=items)
        self._slots, self._clock, self._held = slots, clock, threading.local()

    def next_job(self) -> Any:
        held = getattr(self._held, "slot", None)
        if held is not None:
            self._held.slot = None
            self._slots.release(held)
        got = self._slots.acquire(lambda: self._worker_exception is None)
        if got is None:
            return None
        _, self._held.slot, box = got
        self._clock.adopt(box)
        return super().next_job()


def _inline_map(self: Any, env: Any, *, runtime: StepFunctionsRuntime) -> None:
    """InlineIterationComponent._eval_body, its items scheduled on the virtual clock (moto's
    otherwise: one worker per slot, outputs in item order, the first failure ends the Map)."""
    eval_input = env.stack.pop()
    items = eval_input.input_items
    clock = runtime.clock
    slots = Slots(runtime, clock.time(), min(eval_input.max_concurrency or len(items), len(items)), len(items))
    pool = VirtualJobPool(self._get_iteration_program(), items, slots, clock)
    for _ in range(len(slots.free)):
        self._launch_worker(env=env, eval_input=eval_input, job_pool=pool)
    pool.await_jobs()
    clock.join(slots.latest)
    worker_exception = pool.get_worker_exception()
    if worker_exception is not None:
        raise worker_exception
    env.stack.append([closed.job_output for closed in pool.get_closed_jobs()])


def _map_run(self: Any, env: Any, *, runtime: StepFunctionsRuntime) -> None:
    """DistributedIterationComponent._eval_body: the Map Run, its children as executions."""
    eval_input = env.stack.pop()
    record = eval_input.map_run_record
    env.event_manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.MapRunStarted,
        event_details=event_details(mapRunStartedEventDetails=MapRunStartedEventDetails(mapRunArn=record.map_run_arn)),
    )
    run = MapRun(runtime, self, env, eval_input)
    env.heap[_RUN] = run
    try:
        if eval_input.item_reader is None:
            items = eval_input.input_items
        else:
            try:
                eval_input.item_reader.eval(env=env)
            except FailureEventException:
                raise
            except Exception as exc:
                raise _failure(StatesErrorNameType.StatesItemReaderFailed, str(exc), env) from exc
            items = env.stack.pop()
        results = run.execute(items)
    except Exception as exc:
        details: dict[str, str] = {}
        if isinstance(exc, FailureEventException):
            error, cause = exc.extract_error_cause_pair() or (None, None)
            details = {k: v for k, v in (("error", error), ("cause", cause)) if v}
        env.event_manager.add_event(
            context=env.event_history_context,
            event_type=HistoryEventType.MapRunFailed,
            event_details=event_details(mapRunFailedEventDetails=details),
        )
        record.set_stop(status=MapRunStatus.FAILED)
        raise
    env.event_manager.add_event(context=env.event_history_context, event_type=HistoryEventType.MapRunSucceeded)
    record.set_stop(status=MapRunStatus.SUCCEEDED)
    env.stack.append(results)


def _write_results(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
    """ResultWriter ``arn:aws:states:::s3:putObject``: the manifest and one results file per status."""
    parameters = env.stack.pop()
    env.stack.pop()  # the Map's results: the files are written from the children themselves
    run: MapRun = env.heap[_RUN]
    bucket, prefix = parameters["Bucket"], parameters.get("Prefix", "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    base = f"{prefix}{run.record.map_run_arn.rsplit(':', 1)[-1]}/"
    groups: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for index, child in enumerate(run.children):
        if child is None:
            groups["PENDING"].append({"Input": to_json_str(run.items[index], separators=(",", ":"))})
        else:
            groups["SUCCEEDED" if child.status == "SUCCEEDED" else "FAILED"].append(child.record())
    s3 = boto_client_for(region=resource_runtime_part.region, service="s3", state_credentials=state_credentials)
    files: dict[str, list[dict[str, Any]]] = {status: [] for status in groups}
    try:
        for status, records in groups.items():
            if records:
                body = to_json_str(records).encode("utf-8")
                key = f"{base}{status}_0.json"
                s3.put_object(Bucket=bucket, Key=key, Body=body)
                files[status].append({"Key": key, "Size": len(body)})
        manifest = {"DestinationBucket": bucket, "MapRunArn": run.record.map_run_arn, "ResultFiles": files}
        s3.put_object(Bucket=bucket, Key=f"{base}manifest.json", Body=to_json_str(manifest).encode("utf-8"))
    except Exception as exc:
        raise _failure(StatesErrorNameType.StatesResultWriterFailed, str(exc), env) from exc
    _tally(run.record, results_written=len(groups["SUCCEEDED"]) + len(groups["FAILED"]))
    env.stack.append(
        {
            "MapRunArn": run.record.map_run_arn,
            "ResultWriterDetails": {"Bucket": bucket, "Key": f"{base}manifest.json"},
        }
    )


_PARSED: dict[str, Any] = {}  # definition -> moto's (program, parse tree), for every execution and emulator
_PARSED_LOCK = threading.Lock()


def _parse(definition: str, *, original: Any) -> Any:
    """moto's grammar takes ``ToleratedFailurePercentage`` only as a decimal (``20.0``): AWS takes
    any number, so the definition moto parses has the integer as a float (the stored one is as given).

    A definition is parsed once per process (moto parsed it at every CreateStateMachine and every
    StartExecution, about 0.3 s for a workflow of ours). The program is reused: its components keep
    nothing of an evaluation (that is in each execution's environment), except a Parallel state's
    branch counters, so a definition with a Parallel state is parsed every time."""
    cached = _PARSED.get(definition)
    if cached is not None:
        return cached
    source = definition
    if "ToleratedFailurePercentage" in definition:
        try:
            document = json.loads(definition)
        except ValueError:
            return original(definition)
        if _floated(document):
            definition = json.dumps(document)
    parsed = original(definition)
    if '"Parallel"' not in source:
        with _PARSED_LOCK:
            _PARSED.setdefault(source, parsed)
    return parsed


def _validated_key(definition: str) -> str:
    return hashlib.sha256(f"{_VALIDATOR_DIGEST}\0{definition}".encode()).hexdigest()[:32]


# What decides whether a definition parses: moto's grammar (its version) and the patch above.
_VALIDATOR_DIGEST = hashlib.sha256(
    f"moto=={importlib.metadata.version('moto')}\0".encode() + Path(__file__).read_bytes()
).hexdigest()
_VALIDATED = CACHE_DIR / "sfn-valid"


def _validate(definition: str, *, original: Callable[[str], None]) -> None:
    """CreateStateMachine's validation (moto parses the definition) for a definition this version
    of moto and of this module has accepted before, in any process, is not repeated: the project's
    cache (``.cache/sfn-valid/``) keeps a marker per accepted definition. The result is the same
    (accepted) and a process that only creates state machines parses none (about 0.2 s each).
    A rejected definition leaves no marker, so it is parsed and rejected every time."""
    marker = _VALIDATED / _validated_key(definition)
    if marker.exists():
        return
    _unique_state_names(definition)
    try:
        original(definition)
    except Exception as exc:  # moto's InvalidDefinition reaches the client without its error code
        if type(exc).__name__ != "InvalidDefinition":
            raise
        raise InvalidDefinitionError(str(getattr(exc, "message", "") or exc)) from exc
    write_atomically(marker, "")


class InvalidDefinitionError(AWSError):
    """CreateStateMachine's ``InvalidDefinition``, with its code (the model's error shape)."""

    TYPE = "InvalidDefinition"
    STATUS = 400


def _state_names(document: Any) -> list[str]:
    """Every state name of a definition, Map processors and Parallel branches included."""
    names: list[str] = []
    if isinstance(document, dict):
        for name, state in (document.get("States") or {}).items():
            names.append(name)
            if isinstance(state, dict):
                for inner in (state.get("ItemProcessor"), state.get("Iterator"), *(state.get("Branches") or [])):
                    names += _state_names(inner)
    return names


def _unique_state_names(definition: str) -> None:
    """CreateStateMachine refuses a definition that names two states alike anywhere in it (a Map's
    or a Parallel branch's states included): ``InvalidDefinition`` ("DUPLICATE_STATE_NAME"), as
    AWS's validation and asl-validator do; moto's parser accepts it."""
    try:
        names = _state_names(json.loads(definition))
    except ValueError:
        return  # moto's parser says what is wrong with it
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidDefinitionError(
            f"Invalid State Machine Definition: 'DUPLICATE_STATE_NAME: Duplicate State name: {twice[0]}'"
        )


def _floated(value: Any) -> bool:
    changed = False
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "ToleratedFailurePercentage" and isinstance(item, int) and not isinstance(item, bool):
                value[key], changed = float(item), True
            else:
                changed = _floated(item) or changed
    elif isinstance(value, list):
        for item in value:
            changed = _floated(item) or changed
    return changed


def _sfn_parameters(
    self: Any,
    parameters: dict[str, Any],
    boto_service_name: Any = None,
    service_action_name: Any = None,
    *,
    original: Any,
) -> None:
    """The SDK call moto makes takes the API's member names (``stateMachineArn``), not the state's
    (``StateMachineArn``): moto passed them as they were and botocore failed on the first one."""
    original(self, parameters, boto_service_name, service_action_name)
    for key in list(parameters):
        parameters[key[0].lower() + key[1:]] = parameters.pop(key)


def _sfn_response(
    self: Any, response: Any, boto_service_name: Any = None, service_action_name: Any = None, *, original: Any
) -> None:
    """...and the task's result has the state's names (``ExecutionArn``, ``Output``), dates in epoch
    milliseconds, as AWS's integration returns them (moto's sync resolvers read ``ExecutionArn``)."""
    original(self, response, boto_service_name, service_action_name)
    if isinstance(response, dict):
        _pascal(response)


def _pascal(value: dict[str, Any]) -> None:
    for key in list(value):
        item = value.pop(key)
        if isinstance(item, datetime.datetime):
            item = int(item.timestamp() * 1000)
        elif isinstance(item, dict) and key not in ("input", "output"):  # the executions' own data stays
            _pascal(item)
        value[key[0].upper() + key[1:]] = item


_sync = threading.local()  # .starting: a .sync task is starting its child execution


def _start_child(self: Any, *args: Any, original: Any, **kwargs: Any) -> Any:
    _sync.starting = self.resource.condition in (ResourceCondition.Sync, ResourceCondition.Sync2)
    try:
        return original(self, *args, **kwargs)
    finally:
        _sync.starting = False


def _execution_thread(clock: VirtualClock) -> Any:
    """``execution_worker.Thread``: an execution a ``.sync`` task starts from a timeline of its own
    (a Map iteration's, a Parallel branch's, a child's) runs on one forked at that time, beside
    its siblings' children; any other (started by a test, a Lambda function, a plain
    ``startExecution`` task, or a ``.sync`` task on the shared timeline) is on the shared
    timeline, so ``emu.clock.advance`` reaches it."""

    def thread(target: Any = None, **kwargs: Any) -> threading.Thread:
        if not getattr(_sync, "starting", False) or clock.timeline() is None:
            return threading.Thread(target=target, **kwargs)
        box = [clock.time()]

        def run() -> None:
            clock.adopt(box)
            try:
                target()
            finally:
                clock.adopt(None)

        return threading.Thread(target=run, **kwargs)

    return thread


def _synced(
    self: Any,
    env: Any,
    resource_runtime_part: Any,
    normalised_parameters: Any,
    state_credentials: Any,
    *,
    original: Any,
    runtime: StepFunctionsRuntime,
) -> Any:
    """A ``.sync`` / ``.sync:2`` resolver that waits for its child execution instead of polling it:
    meanwhile the parent's timeline follows the child's (so its task timeout counts), afterwards
    it is where the child ended."""
    history: History = runtime.history(env.stack[-1]["ExecutionArn"])
    resolve = original(self, env, resource_runtime_part, normalised_parameters, state_credentials)
    clock = runtime.clock

    def wait_then_resolve() -> Any:
        while True:
            since = runtime.progress.mark()
            if history.done.is_set():
                break
            if not env.is_running():
                return None
            if history.box is not None:
                clock.join(history.box[0])
            runtime.pause(since)
        if history.end is not None:
            clock.join(history.end)
        return resolve()

    return wait_then_resolve


def install(stack: ExitStack, runtime: StepFunctionsRuntime) -> None:
    stack.enter_context(
        mock.patch.object(
            inline_iteration_component.InlineIterationComponent,
            "_eval_body",
            lambda self, env: _inline_map(self, env, runtime=runtime),
        )
    )
    stack.enter_context(
        mock.patch.object(
            distributed_iteration_component.DistributedIterationComponent,
            "_eval_body",
            lambda self, env: _map_run(self, env, runtime=runtime),
        )
    )
    stack.enter_context(
        mock.patch.object(result_writer_s3.ResourceEvalS3, "_handle_put_object", staticmethod(_write_results))
    )
    parser = asl_parser.AmazonStateLanguageParser
    original_parse = parser.parse
    stack.enter_context(
        mock.patch.object(parser, "parse", staticmethod(lambda definition: _parse(definition, original=original_parse)))
    )
    backend = parser_models.StepFunctionsParserBackend
    original_validate = backend._validate_definition
    stack.enter_context(
        mock.patch.object(
            backend,
            "_validate_definition",
            staticmethod(lambda definition: _validate(definition, original=original_validate)),
        )
    )
    sfn_task = state_task_service_sfn.StateTaskServiceSfn
    stack.enter_context(mock.patch.object(execution_worker, "Thread", _execution_thread(runtime.clock)))
    wrap(stack, sfn_task, "_eval_service_task", _start_child)
    wrap(stack, sfn_task, "_normalise_parameters", _sfn_parameters)
    wrap(stack, sfn_task, "_normalise_response", _sfn_response)
    for name in ("_build_sync_resolver", "_build_sync2_resolver"):
        wrap(stack, sfn_task, name, _synced, runtime=runtime)
    # .sync tasks re-check their resolver every half (real) second; ours waits for the child itself.
    progress = runtime.progress
    stack.enter_context(
        mock.patch.object(
            state_task_service_callback,
            "time",
            types.SimpleNamespace(sleep=lambda _seconds: progress.wait(progress.mark())),
        )
    )
