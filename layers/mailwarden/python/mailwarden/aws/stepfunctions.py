"""Resumes a waiting Step Functions task. TaskTimedOut/TaskDoesNotExist -> TaskClosed,
InvalidToken -> InvalidTaskToken; anything transient propagates (the caller retries). How an
approval gate ended is read from the execution's history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..contracts.workflows import REJECTED_ERROR
from ..requests import RunRequest
from .errors import code_of, translate

if TYPE_CHECKING:  # the approvals model only for the functions that read a gate (cold start)
    from ..approvals.model import GateOutcome

CAUSE_MAX = 32_768


class StepFunctionsResumer:
    def __init__(self, client: Any) -> None:
        self.client = client

    def succeed(self, task_token: str, output: dict[str, Any]) -> None:
        try:
            self.client.send_task_success(taskToken=task_token, output=json.dumps(output, default=str))
        except ClientError as err:
            raise translate(err) from err

    def fail(self, task_token: str, error: str, cause: dict[str, Any]) -> None:
        try:
            self.client.send_task_failure(
                taskToken=task_token, error=error[:256], cause=json.dumps(cause, default=str)[:CAUSE_MAX]
            )
        except ClientError as err:
            raise translate(err) from err

    def gate_outcome(self, execution_arn: str, gate: str) -> GateOutcome:
        """The last run of state ``gate`` (a ``waitForTaskToken`` task): resumed with success or the
        rejection, still waiting, or closed without a decision (timed out, or the execution ended)."""
        from ..approvals.model import GateOutcome

        inside, outcome, ended = False, GateOutcome.CLOSED, False
        try:
            pages = self.client.get_paginator("get_execution_history")
            for page in pages.paginate(executionArn=execution_arn, includeExecutionData=False):
                for event in page["events"]:
                    kind = str(event["type"])
                    name = (event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}).get(
                        "name"
                    )
                    if kind.endswith("StateEntered") and name == gate:
                        inside, outcome = True, GateOutcome.CLOSED
                    elif kind.endswith("StateExited") and name == gate:
                        inside = False
                    elif inside and kind == "TaskSucceeded":
                        outcome = GateOutcome.APPROVED
                    elif (
                        inside
                        and kind == "TaskFailed"
                        and event["taskFailedEventDetails"].get("error") == REJECTED_ERROR
                    ):
                        outcome = GateOutcome.REJECTED
                    ended = ended or kind in _EXECUTION_ENDS
        except ClientError as err:
            raise translate(err) from err
        if outcome is GateOutcome.CLOSED and inside and not ended:
            return GateOutcome.WAITING
        return outcome


_EXECUTION_ENDS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})


class ReconcileRuns:
    """Reconcile executions: at most one in progress; the run id is the execution name."""

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self.client = client
        self.arn = state_machine_arn

    def running(self) -> str | None:
        try:
            out = self.client.list_executions(stateMachineArn=self.arn, statusFilter="RUNNING", maxResults=1)
        except ClientError as err:
            raise translate(err) from err
        executions = out.get("executions", [])
        return str(executions[0]["executionArn"]) if executions else None

    def start(self, request: RunRequest) -> tuple[str, bool]:
        return start_named(self.client, self.arn, request.run_id, request.input())


def start_named(client: Any, state_machine_arn: str, name: str, payload: dict[str, Any]) -> tuple[str, bool]:
    """StartExecution under a deterministic name: (execution ARN, whether it is new). A second
    start with the same name finds the first execution instead of running twice."""
    try:
        out = client.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))
    except ClientError as err:
        if code_of(err) == "ExecutionAlreadyExists":
            return state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}", False
        raise translate(err) from err
    return str(out["executionArn"]), True


RERUNS = 20


def _status(client: Any, execution_arn: str) -> str | None:
    try:
        return str(client.describe_execution(executionArn=execution_arn)["status"])
    except ClientError as err:
        if code_of(err) == "ExecutionDoesNotExist":
            return None
        raise translate(err) from err


def _runs(client: Any, state_machine_arn: str, name: str) -> Iterator[tuple[str, str, str | None]]:
    """``name`` and its re-runs in order: (execution name, ARN, status; ``None``: never started)."""
    for attempt in range(RERUNS + 1):
        execution_name = name if attempt == 0 else f"{name[:64]}-rerun-{attempt}"
        arn = state_machine_arn.replace(":stateMachine:", ":execution:") + f":{execution_name}"
        yield execution_name, arn, _status(client, arn)


IN_FLIGHT = ("RUNNING", "PENDING_REDRIVE")


def start_or_rerun(
    client: Any, state_machine_arn: str, name: str, payload: dict[str, Any], *, again: bool = False
) -> tuple[str, bool]:
    """Start an execution named ``name`` once: running or succeeded -> nothing new (a duplicate;
    StartExecution alone cannot tell, it answers a same-name same-input start like a new one).
    Ended without succeeding (FAILED, TIMED_OUT, ABORTED), or succeeded and ``again`` (work is left
    that a re-run does) -> start ``<name>-rerun-<n>``: the steps are idempotent, so the re-run
    resumes where the first one stopped."""
    for execution_name, arn, status in _runs(client, state_machine_arn, name):
        if status is None:
            return start_named(client, state_machine_arn, execution_name, payload)
        if status in IN_FLIGHT or (status == "SUCCEEDED" and not again):
            return arn, False
    raise RuntimeError(f"{name}: {RERUNS} re-runs already ended; look at the executions before trying again")


def latest_run(client: Any, state_machine_arn: str, name: str) -> tuple[str, str | None]:
    """The last execution of ``name`` or its re-runs: (ARN, status); status ``None``: none started."""
    last: tuple[str, str | None] = (state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}", None)
    for _, arn, status in _runs(client, state_machine_arn, name):
        if status is None:
            return last
        last = (arn, status)
    return last


class NamedWorkflows:
    """Starts executions of named workflows (``workflow -> state machine ARN``) with
    :func:`start_or_rerun`: once per request, a failed one re-run when the request comes again."""

    def __init__(self, client: Any, arns: dict[str, str]) -> None:
        self.client = client
        self.arns = arns

    def start(self, workflow: str, name: str, payload: dict[str, Any], *, again: bool = False) -> tuple[str, bool]:
        return start_or_rerun(self.client, self.arns[workflow], name, payload, again=again)

    def latest(self, workflow: str, name: str) -> tuple[str, str | None]:
        return latest_run(self.client, self.arns[workflow], name)
