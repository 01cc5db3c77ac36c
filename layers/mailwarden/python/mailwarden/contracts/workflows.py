"""Step Functions workflows as Amazon States Language, built in one place.

CDK deploys these definitions verbatim (``DefinitionBody.from_string`` with
``definition_substitutions`` for the function ARNs) and ``local.deployment`` creates the very same
JSON in moto's Step Functions executor, so what runs locally is what AWS runs.

``approval_gate`` is the reusable piece: a ``lambda:invoke.waitForTaskToken`` task that records an
approval request and waits for a signed decision, with a task timeout and one exit per outcome.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .functions import APPROVAL_REQUEST, PARTNER_CONNECTIONS, REPUTATION_RECONCILE, WORKMAIL_EXIT, WORKMAIL_OFFBOARD

REJECTED_ERROR = "Mailwarden.ApprovalRejected"  # SendTaskFailure error when an approver rejects
TIMED_OUT_ERROR = "Mailwarden.ApprovalTimedOut"
LAMBDA_TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
]
# How a task whose function was stopped at its timeout fails: Sandbox.Timedout on current runtimes,
# Lambda.Unknown ("Task timed out after ...") in older reports (FACTS.md "Platform limits"). Every step
# is idempotent and checkpointed, so retrying it resumes the work.
LAMBDA_TIMEOUTS = ["Sandbox.Timedout", "Lambda.Unknown"]


def substitution_key(function: str) -> str:
    """``approval_request`` -> ``ApprovalRequestFunctionArn`` (the ``${...}`` placeholder)."""
    return "".join(p.title() for p in function.split("_")) + "FunctionArn"


def function_arn(function: str) -> str:
    return "${" + substitution_key(function) + "}"


def _retry() -> list[dict[str, Any]]:
    return [
        {
            "ErrorEquals": list(LAMBDA_TRANSIENT),
            "IntervalSeconds": 2,
            "MaxAttempts": 6,
            "BackoffRate": 2.0,
            "JitterStrategy": "FULL",
        }
    ]


def approval_gate(
    state: str,
    *,
    request_path: str,
    timeout_seconds: int,
    on_approved: str,
    on_rejected: str,
    on_timed_out: str,
) -> dict[str, Any]:
    """States for one approval: ``<state>`` waits; ``<state>TimedOut`` records an expiry.

    The request object at ``request_path`` has ``action``, ``subject``, ``summary``, ``reason``,
    ``requester`` and optionally ``plan`` and ``approvers``. On approval the decision lands in
    ``$.approval``; on rejection ``$.approval`` holds ``Error``/``Cause`` (Cause is JSON).
    """
    fn = function_arn(APPROVAL_REQUEST.name)
    return {
        state: {
            "Type": "Task",
            "Comment": "Record an approval request, notify the approvers over SNS, wait for a signed decision.",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": fn,
                "Payload": {
                    "kind": "request",
                    "taskToken.$": "$$.Task.Token",
                    "executionArn.$": "$$.Execution.Id",
                    "gate": state,
                    "timeoutSeconds": timeout_seconds,
                    "request.$": request_path,
                },
            },
            "TimeoutSeconds": timeout_seconds,
            "ResultPath": "$.approval",
            "Retry": _retry(),
            "Catch": [
                {"ErrorEquals": [REJECTED_ERROR], "ResultPath": "$.approval", "Next": on_rejected},
                {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.approval", "Next": f"{state}TimedOut"},
            ],
            "Next": on_approved,
        },
        f"{state}TimedOut": {
            "Type": "Task",
            "Comment": "Nobody decided in time: mark the request expired (links stop working) and say so.",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": fn,
                "Payload": {"kind": "timed_out", "executionArn.$": "$$.Execution.Id", "gate": state},
            },
            "ResultSelector": {"requestId.$": "$.Payload.requestId", "state.$": "$.Payload.state"},
            "ResultPath": "$.approval",
            "Retry": _retry(),
            "Next": on_timed_out,
        },
    }


def approval_failures(rejected: str, timed_out: str) -> dict[str, Any]:
    """The two Fail states a workflow ends in when its approval is rejected or expires."""
    return {
        rejected: {"Type": "Fail", "Error": REJECTED_ERROR, "Cause": "An approver rejected the request."},
        timed_out: {"Type": "Fail", "Error": TIMED_OUT_ERROR, "Cause": "Nobody decided before it expired."},
    }


@dataclass(frozen=True)
class WorkflowSpec:
    name: str
    description: str
    functions: tuple[str, ...]  # functions its tasks invoke (substitutions and IAM)
    uses_approvals: bool
    build: Callable[[int], dict[str, Any]]  # approval timeout (seconds) -> ASL

    def definition(self, approval_timeout_seconds: int) -> dict[str, Any]:
        return self.build(approval_timeout_seconds)


def _approval_check(timeout_seconds: int) -> dict[str, Any]:
    return {
        "Comment": "Approval check: sends a harmless approval request through the real plumbing (SNS, links, "
        "callback, task token) so operators can prove approvals work before a real one matters.",
        "StartAt": "RequestApproval",
        "States": {
            **approval_gate(
                "RequestApproval",
                request_path="$.approvalRequest",
                timeout_seconds=timeout_seconds,
                on_approved="Approved",
                on_rejected="Rejected",
                on_timed_out="TimedOut",
            ),
            "Approved": {"Type": "Succeed"},
            **approval_failures("Rejected", "TimedOut"),
        },
    }


APPROVAL_CHECK = WorkflowSpec(
    name="approval-check",
    description="Proves the approval path end to end: request, SNS, signed link or SNS decision, resume.",
    functions=(APPROVAL_REQUEST.name,),
    uses_approvals=True,
    build=_approval_check,
)


# domain errors worth a retry (UpdateInProgress: AWS's ConflictException, another update still being applied)
TRANSIENT = ["Throttled", "Unavailable", "UpdateInProgress", "PublishFailed", "States.Timeout"]


def lambda_task(
    function: str,
    payload: dict[str, Any],
    next_state: str,
    result_path: str,
    *,
    retry: list[dict[str, Any]] | None = None,
    catch: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A step run by ``function`` (its result in ``<result_path>.result``): Lambda faults and the
    transient domain errors are retried with jittered back-off, after any step-specific ``retry``.
    Steps are idempotent, so a retry (or a whole re-run after a crash) does the right thing."""
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn(function), "Payload": payload},
        "ResultSelector": {"result.$": "$.Payload"},
        "ResultPath": result_path,
        "Retry": [
            *_retry(),
            {"ErrorEquals": list(LAMBDA_TIMEOUTS), "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0},
            *(retry or []),
            {
                "ErrorEquals": list(TRANSIENT),
                "IntervalSeconds": 5,
                "MaxAttempts": 8,
                "BackoffRate": 2.0,
                "JitterStrategy": "FULL",
            },
        ],
        "Next": next_state,
    }
    if catch:
        state["Catch"] = catch
    return state


def _step(payload: dict[str, Any], next_state: str, result_path: str = "$.run") -> dict[str, Any]:
    """A ``reputation_reconcile`` step."""
    return lambda_task(REPUTATION_RECONCILE.name, payload, next_state, result_path)


def _reconcile(timeout_seconds: int) -> dict[str, Any]:
    return {
        "Comment": "Reputation reconcile run: scan every entity against the policy (resumable: the NextToken is "
        "checkpointed, each Scan stops with time to spare and is called again), then apply, asking for approval "
        "first when the disables exceed the blast-radius cap.",
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Result": {"decision": "NONE"}, "ResultPath": "$.approval", "Next": "Scan"},
            "Scan": _step({"step": "scan", "runId.$": "$.runId", "start.$": "$"}, "Scanned"),
            "Scanned": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.run.result.scanComplete", "BooleanEquals": False, "Next": "Scan"}],
                "Default": "Decide",
            },
            "Decide": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.run.result.applyComplete", "BooleanEquals": True, "Next": "Done"},
                    {"Variable": "$.run.result.outcome", "StringEquals": "needs-approval", "Next": "ApproveBatch"},
                ],
                "Default": "Apply",
            },
            **approval_gate(
                "ApproveBatch",
                request_path="$.run.result.approvalRequest",
                timeout_seconds=timeout_seconds,
                on_approved="Apply",
                on_rejected="Rejected",
                on_timed_out="Expired",
            ),
            "Apply": _step({"step": "apply", "runId.$": "$.runId", "approval.$": "$.approval"}, "Applied"),
            "Applied": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.run.result.applyComplete", "BooleanEquals": False, "Next": "Apply"}],
                "Default": "Done",
            },
            "Rejected": _step({"step": "close", "runId.$": "$.runId", "outcome": "rejected"}, "Done"),
            "Expired": _step({"step": "close", "runId.$": "$.runId", "outcome": "expired"}, "Done"),
            "Done": {"Type": "Succeed"},
        },
    }


def _approve_then(
    comment: str,
    timeout_seconds: int,
    *,
    approved: dict[str, Any],
    closed: Callable[[str], dict[str, Any]],
) -> dict[str, Any]:
    """Ask a human, then run the ``approved`` task (a state that leads to ``Done``); a rejection or an
    expiry runs ``closed(outcome)`` (a state given its ``Next``) and fails the execution."""
    return {
        "Comment": comment,
        "StartAt": "RequestApproval",
        "States": {
            **approval_gate(
                "RequestApproval",
                request_path="$.approvalRequest",
                timeout_seconds=timeout_seconds,
                on_approved="Apply",
                on_rejected="Rejected",
                on_timed_out="Expired",
            ),
            "Apply": approved,
            "Rejected": {**closed("rejected"), "Next": "WasRejected"},
            "Expired": {**closed("expired"), "Next": "WasExpired"},
            "Done": {"Type": "Succeed"},
            **approval_failures("WasRejected", "WasExpired"),
        },
    }


def _reinstate(timeout_seconds: int) -> dict[str, Any]:
    return _approve_then(
        "Reinstate one entity Mailwarden disabled: ask a human, then re-check everything and write.",
        timeout_seconds,
        approved=_step(
            {"step": "reinstate", "entity.$": "$.entity", "approval.$": "$.approval"}, "Done", "$.reinstate"
        ),
        closed=lambda outcome: _step(
            {"step": "reinstate-closed", "entity.$": "$.entity", "outcome": outcome}, "", "$.closed"
        ),
    )


REPUTATION_RECONCILE_WORKFLOW = WorkflowSpec(
    name="reputation-reconcile",
    description="Reconcile every reputation entity with the policy; batch approval above the blast-radius cap.",
    functions=(APPROVAL_REQUEST.name, REPUTATION_RECONCILE.name),
    uses_approvals=True,
    build=_reconcile,
)

REPUTATION_REINSTATE_WORKFLOW = WorkflowSpec(
    name="reputation-reinstate",
    description="Reinstate one entity Mailwarden disabled, after a human approved.",
    functions=(APPROVAL_REQUEST.name, REPUTATION_RECONCILE.name),
    uses_approvals=True,
    build=_reinstate,
)

EXPORT_CONCURRENCY = 10  # WorkMail runs at most 10 mailbox exports per organization (FACTS.md)
EXPORT_POLL_SECONDS = 60


# Starting an export that WorkMail refuses for now: wait for the cooldown or a free slot.
EXPORT_WAITS = [
    {  # the mailbox was exported in the last 24 h: WorkMail starts another one a day later
        "ErrorEquals": ["ExportCoolingDown"],
        "IntervalSeconds": 3600,
        "MaxAttempts": 30,
        "BackoffRate": 1.0,
    },
    {
        "ErrorEquals": ["ExportSlotsBusy"],
        "IntervalSeconds": EXPORT_POLL_SECONDS,
        "MaxAttempts": 500,
        "BackoffRate": 1.0,
        "JitterStrategy": "FULL",
    },
]


def _wm(step: str, payload: dict[str, Any], next_state: str, result_path: str, **kw: Any) -> dict[str, Any]:
    """A ``workmail_offboard`` step (``kw``: ``retry``, ``catch``)."""
    return lambda_task(WORKMAIL_OFFBOARD.name, {"step": step, **payload}, next_state, result_path, **kw)


def _offboard_user(p: str, *, in_map: bool, timeout_seconds: int) -> dict[str, Any]:
    """One user's offboarding states (names prefixed with ``p``). Alone: ends in Succeed/Fail and
    asks for approval before DeleteUser. In a decommission (a child execution of its Distributed
    Map): the batch was approved already, and every end is the user's outcome, recorded per user
    (``decommission-member``) so one user's failure never stops the others and the summary names it."""
    rid = {"requestId.$": "$.requestId"}

    def end(name: str, outcome: str, error: str, cause: str) -> dict[str, Any]:
        if in_map:
            result = {"outcome": outcome, "error": error, "cause": cause}
            return {name: {"Type": "Pass", "Parameters": result, "ResultPath": "$.result", "Next": f"{p}Record"}}
        if outcome == "deleted":
            return {name: {"Type": "Succeed"}}
        return {name: {"Type": "Fail", "Error": error, "Cause": cause}}

    failed = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": f"{p}Failed"}] if in_map else []

    def task(
        step: str,
        payload: dict[str, Any],
        nxt: str,
        path: str,
        retry: list[dict[str, Any]] | None = None,
        catch: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        return _wm(step, payload, nxt, path, retry=retry, catch=[*(catch or []), *failed])

    states: dict[str, Any] = {
        f"{p}Snapshot": task(
            "snapshot",
            {"request.$": "$"},
            f"{p}ExportWanted",
            "$.snapshot",
            catch=[{"ErrorEquals": ["Rejected"], "ResultPath": "$.failure", "Next": f"{p}Rejected"}],
        ),
        f"{p}ExportWanted": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.snapshot.result.alreadyDeleted", "BooleanEquals": True, "Next": f"{p}Deleted"},
                {"Variable": "$.snapshot.result.export", "BooleanEquals": True, "Next": f"{p}StartExport"},
            ],
            "Default": f"{p}Strip",
        },
        f"{p}StartExport": task(
            "export-start",
            rid,
            f"{p}WaitForExport",
            "$.export",
            retry=EXPORT_WAITS,
        ),
        f"{p}WaitForExport": {"Type": "Wait", "Seconds": EXPORT_POLL_SECONDS, "Next": f"{p}PollExport"},
        f"{p}PollExport": task(
            "export-status", {**rid, "jobId.$": "$.export.result.jobId"}, f"{p}Exported", "$.exportStatus"
        ),
        f"{p}Exported": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.exportStatus.result.state", "StringEquals": "COMPLETED", "Next": f"{p}Strip"},
                {"Variable": "$.exportStatus.result.state", "StringEquals": "FAILED", "Next": f"{p}ExportFailed"},
                {"Variable": "$.exportStatus.result.state", "StringEquals": "CANCELLED", "Next": f"{p}ExportFailed"},
                {"Variable": "$.exportStatus.result.state", "StringEquals": "TIMED_OUT", "Next": f"{p}ExportTimedOut"},
            ],
            "Default": f"{p}WaitAgain",
        },
        f"{p}WaitAgain": {
            "Type": "Wait",
            "Comment": "Every minute at first, less often as the export ages (the step says when).",
            "SecondsPath": "$.exportStatus.result.pollAfterSeconds",
            "Next": f"{p}PollExport",
        },
        f"{p}Strip": task("strip", rid, f"{p}Deregister", "$.strip"),
        f"{p}Deregister": task("deregister", rid, f"{p}ConfirmDisabled", "$.deregister"),
        f"{p}ConfirmDisabled": task(
            "confirm-disabled",
            rid,
            f"{p}Delete" if in_map else f"{p}ApproveDelete",
            "$.disabled",
            retry=[{"ErrorEquals": ["NotYetDisabled"], "IntervalSeconds": 5, "MaxAttempts": 8, "BackoffRate": 2.0}],
            catch=[{"ErrorEquals": ["NotYetDisabled"], "ResultPath": "$.failure", "Next": f"{p}NotDisabled"}],
        ),
        f"{p}Delete": task(
            "delete",
            {**rid, "approval.$": "$.approval"} if not in_map else {**rid, "approval": {}},
            f"{p}Deleted",
            "$.delete",
            catch=[{"ErrorEquals": ["DeleteRefused"], "ResultPath": "$.failure", "Next": f"{p}DeleteRefused"}],
        ),
        **end(f"{p}Deleted", "deleted", "", ""),
        **end(
            f"{p}Rejected", "rejected", "Rejected", "The request was rejected before any change (see the audit trail)."
        ),
        **end(f"{p}ExportFailed", "export-failed", "ExportFailed", "The mailbox export failed; nothing was changed."),
        **end(
            f"{p}ExportTimedOut",
            "export-timed-out",
            "ExportTimedOut",
            "The mailbox export was still running 24 hours after it started; nothing was changed.",
        ),
        **end(f"{p}NotDisabled", "not-disabled", "NotYetDisabled", "DescribeUser never said DISABLED; not deleted."),
        **end(f"{p}DeleteRefused", "delete-refused", "DeleteRefused", "The user was not DISABLED; not deleted."),
    }
    if in_map:
        states[f"{p}Failed"] = {
            "Type": "Pass",
            "Parameters": {"outcome": "failed", "error.$": "$.failure.Error", "cause.$": "$.failure.Cause"},
            "ResultPath": "$.result",
            "Next": f"{p}Record",
        }
        record = {
            "decommissionId.$": "$.decommissionId",
            **rid,
            "user.$": "$.user",
            "outcome.$": "$.result.outcome",
            "error.$": "$.result.error",
            "cause.$": "$.result.cause",
        }
        states[f"{p}Record"] = _wm("decommission-member", record, f"{p}Recorded", "$.recorded")
        # the child's output stays a few bytes: the outcomes are in DynamoDB, not in the parent's state
        states[f"{p}Recorded"] = {"Type": "Pass", "OutputPath": "$.recorded.result", "End": True}
    else:
        states |= approval_gate(
            f"{p}ApproveDelete",
            request_path="$.snapshot.result.approvalRequest",
            timeout_seconds=timeout_seconds,
            on_approved=f"{p}Delete",
            on_rejected=f"{p}KeepRejected",
            on_timed_out=f"{p}KeepExpired",
        )
        states[f"{p}KeepRejected"] = task("kept", {**rid, "outcome": "rejected"}, "WasRejected", "$.kept")
        states[f"{p}KeepExpired"] = task("kept", {**rid, "outcome": "expired"}, "WasExpired", "$.kept")
        states |= approval_failures("WasRejected", "WasExpired")
    return states


def _offboard(timeout_seconds: int) -> dict[str, Any]:
    return {
        "Comment": "Offboard one WorkMail user: snapshot what will be removed, export the mailbox (optional), remove "
        "group memberships, mailbox grants and delegations, deregister, wait for DISABLED, ask a human, delete. "
        "Rejected or expired: the user stays deregistered (restorable for 30 days).",
        "StartAt": "Snapshot",
        "States": _offboard_user("", in_map=False, timeout_seconds=timeout_seconds),
    }


def _decommission(timeout_seconds: int) -> dict[str, Any]:
    def done(outcome: str, nxt: str) -> dict[str, Any]:
        payload = {"decommissionId.$": "$.requestId", "organizationId.$": "$.organizationId", "outcome": outcome}
        return _wm("decommission-done", payload, nxt, "$.summary")

    return {
        "Comment": "Decommission a WorkMail organization: plan every user (protected ones kept; the users go to a "
        "document in S3, not into this execution's state), one approval for the batch, then one child execution "
        f"per user, {EXPORT_CONCURRENCY} at a time (WorkMail's export limit), each recording its outcome; then a "
        "summary naming every user's outcome. Each user's history is its own (Distributed Map), so an "
        "organization of any size fits Step Functions' 25,000 events and 256 KiB per state.",
        "StartAt": "Plan",
        "States": {
            "Plan": _wm(
                "decommission-plan",
                {"request.$": "$"},
                "AnyUsers",
                "$.plan",
                catch=[{"ErrorEquals": ["Rejected"], "ResultPath": "$.failure", "Next": "RequestRejected"}],
            ),
            "RequestRejected": {"Type": "Fail", "Error": "Rejected", "Cause": "See the audit trail for the reason."},
            "AnyUsers": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.plan.result.plan.offboard", "NumericEquals": 0, "Next": "Summary"}],
                "Default": "ApproveBatch",
            },
            **approval_gate(
                "ApproveBatch",
                request_path="$.plan.result.approvalRequest",
                timeout_seconds=timeout_seconds,
                on_approved="OffboardUsers",
                on_rejected="BatchRejected",
                on_timed_out="BatchExpired",
            ),
            "OffboardUsers": {
                "Type": "Map",
                "Comment": f"One child execution per user, at most {EXPORT_CONCURRENCY} in flight: WorkMail's "
                "concurrent export limit. Every user ends in a recorded outcome, so no failure stops the others.",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket.$": "$.plan.result.items.bucket", "Key.$": "$.plan.result.items.key"},
                },
                "MaxConcurrency": EXPORT_CONCURRENCY,
                "ToleratedFailurePercentage": 100,  # every user ends in a recorded outcome, failed or not
                "Label": "users",
                "ItemSelector": {
                    "decommissionId.$": "$.requestId",
                    "requestId.$": "$$.Map.Item.Value.requestId",
                    "user.$": "$$.Map.Item.Value.user",
                    "organizationId.$": "$.organizationId",
                    "export.$": "$.plan.result.export",
                    "requestedBy.$": "$.requestedBy",
                    "reason.$": "$.reason",
                    "approvedBy.$": "$.approval.approver",
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "UserSnapshot",
                    "States": _offboard_user("User", in_map=True, timeout_seconds=timeout_seconds),
                },
                "ResultPath": None,
                "Next": "Summary",
            },
            "Summary": done("completed", "Done"),
            "Done": {"Type": "Succeed"},
            "BatchRejected": done("rejected", "WasRejected"),
            "BatchExpired": done("expired", "WasExpired"),
            **approval_failures("WasRejected", "WasExpired"),
        },
    }


WORKMAIL_OFFBOARD_WORKFLOW = WorkflowSpec(
    name="workmail-offboard",
    description="Offboard one WorkMail user: snapshot, export, strip, deregister, approval, delete.",
    functions=(APPROVAL_REQUEST.name, WORKMAIL_OFFBOARD.name),
    uses_approvals=True,
    build=_offboard,
)

WORKMAIL_DECOMMISSION_WORKFLOW = WorkflowSpec(
    name="workmail-decommission",
    description="Offboard every user of a WorkMail organization after one batch approval: one child execution per "
    "user, 10 at a time.",
    functions=(APPROVAL_REQUEST.name, WORKMAIL_OFFBOARD.name),
    uses_approvals=True,
    build=_decommission,
)


EXIT_STOPPED = "Mailwarden.ExitStopped"
INSYNC_POLL_SECONDS = 30


def _ex(step: str, payload: dict[str, Any], next_state: str, result_path: str, **kw: Any) -> dict[str, Any]:
    """A ``workmail_exit`` step of the exit ``$.requestId`` (``kw``: ``retry``, ``catch``)."""
    return lambda_task(WORKMAIL_EXIT.name, {"step": step, **payload}, next_state, result_path, **kw)


def _distributed(
    label: str, reader: str, selector: dict[str, Any], start: str, states: dict[str, Any], nxt: str
) -> dict[str, Any]:
    """A Distributed Map over the JSON list in S3 at ``reader`` (bucket/key), 10 children at a time,
    each ending in a recorded outcome (so no failure stops the others)."""
    return {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket.$": f"{reader}.bucket", "Key.$": f"{reader}.key"},
        },
        "MaxConcurrency": EXPORT_CONCURRENCY,
        "ToleratedFailurePercentage": 100,
        "Label": label,
        "ItemSelector": selector,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": start,
            "States": states,
        },
        "ResultPath": None,
        "Next": nxt,
    }


def _prefixed(prefix: str, states: dict[str, Any]) -> dict[str, Any]:
    """``states`` with every name (and every Next/Default/Catch target) prefixed: state names are
    unique across a whole state machine, Map children included."""
    text = json.dumps(states)
    for name in states:
        text = text.replace(f'"{name}"', f'"{prefix}{name}"')
    return dict(json.loads(text))


def _exit_export_child() -> dict[str, Any]:
    """One mailbox: start (or reuse) its export, poll it, verify the archive; any failure recorded."""
    ids = {"exitId.$": "$.exitId", "user.$": "$.user"}
    failed = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "ExportFailed"}]
    return {
        "ExportStart": _ex("exit-export-start", ids, "Skip", "$.start", retry=EXPORT_WAITS, catch=failed),
        "Skip": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.start.result.skip", "BooleanEquals": True, "Next": "Done"}],
            "Default": "WaitExport",
        },
        "WaitExport": {"Type": "Wait", "Seconds": EXPORT_POLL_SECONDS, "Next": "PollExport"},
        "PollExport": _ex(
            "exit-export-status",
            {**ids, "jobId.$": "$.start.result.jobId", "mailboxBytes.$": "$.mailboxBytes"},
            "Exported",
            "$.status",
            catch=failed,
        ),
        "Exported": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.status.result.done", "BooleanEquals": True, "Next": "Done"}],
            "Default": "WaitAgain",
        },
        "WaitAgain": {"Type": "Wait", "SecondsPath": "$.status.result.pollAfterSeconds", "Next": "PollExport"},
        "ExportFailed": _ex(
            "exit-export-failed",
            {**ids, "error.$": "$.failure.Error", "cause.$": "$.failure.Cause"},
            "Done",
            "$.recorded",
        ),
        "Done": {"Type": "Pass", "OutputPath": "$.user", "End": True},
    }


def _exit_delete_child() -> dict[str, Any]:
    """One user: deregister, wait for DISABLED, delete (each step re-checks approval and verification)."""
    ids = {"exitId.$": "$.exitId", "user.$": "$.user"}
    failed = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "UserFailed"}]
    return {
        "Deregister": _ex("exit-user-deregister", ids, "Disabled", "$.deregister", catch=failed),
        "Disabled": _ex(
            "exit-user-disabled",
            ids,
            "Delete",
            "$.disabled",
            retry=[{"ErrorEquals": ["NotYetDisabled"], "IntervalSeconds": 5, "MaxAttempts": 8, "BackoffRate": 2.0}],
            catch=failed,
        ),
        "Delete": _ex("exit-user-delete", ids, "Done", "$.delete", catch=failed),
        "UserFailed": _ex(
            "exit-user-failed", {**ids, "error.$": "$.failure.Error", "cause.$": "$.failure.Cause"}, "Done", "$.rec"
        ),
        "Done": {"Type": "Pass", "OutputPath": "$.user", "End": True},
    }


def _no_new_approval(nxt: str) -> dict[str, Any]:
    """A re-run past an approval given before: no gate, the step reads the approver from the state."""
    return {"Type": "Pass", "Result": {}, "ResultPath": "$.approval", "Next": nxt}


def _exit(timeout_seconds: int) -> dict[str, Any]:
    exit_id = {"exitId.$": "$.requestId"}
    stop = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Stopped"}]

    def step(name: str, payload: dict[str, Any], nxt: str, path: str, **kw: Any) -> dict[str, Any]:
        return _ex(name, {**exit_id, **payload}, nxt, path, catch=stop, **kw)

    def summary(outcome: str, nxt: str) -> dict[str, Any]:
        return _ex("exit-summary", {**exit_id, "outcome": outcome}, nxt, "$.summary")

    return {
        "Comment": "Move a WorkMail organization out: inventory (S3), export and verify every mailbox (Distributed "
        f"Map, {EXPORT_CONCURRENCY} at a time), approval 1, DNS cut-over (one change per hosted zone, INSYNC), "
        "soak (nothing deleted; a rollback restores the DNS), approval 2, delete users (Distributed Map), then "
        "groups, resources, mail domains and the organization; a summary names what did not complete. Sent again, "
        "every step resumes from the exit's state.",
        "StartAt": "Inventory",
        "States": {
            "Inventory": _ex(
                "exit-inventory",
                {"request.$": "$", "execution.$": "$$.Execution.Id"},
                "DryRun",
                "$.inventory",
                catch=[{"ErrorEquals": ["Rejected"], "ResultPath": "$.failure", "Next": "RequestRejected"}, *stop],
            ),
            "RequestRejected": {"Type": "Fail", "Error": "Rejected", "Cause": "See the audit trail for the reason."},
            "DryRun": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.dryRun", "BooleanEquals": True, "Next": "Planned"}],
                "Default": "ExportMailboxes",
            },
            "Planned": {"Type": "Pass", "OutputPath": "$.inventory.result", "End": True},
            "ExportMailboxes": {
                **_distributed(
                    "mailboxes",
                    "$.inventory.result.mailboxes",
                    {
                        "exitId.$": "$.requestId",
                        "user.$": "$$.Map.Item.Value.user",
                        "mailboxBytes.$": "$$.Map.Item.Value.mailboxBytes",
                    },
                    "MailboxExportStart",
                    _prefixed("Mailbox", _exit_export_child()),
                    "Manifest",
                ),
                "Catch": stop,
            },
            "Manifest": step("exit-manifest", {}, "CutoverPlan", "$.manifest"),
            "CutoverPlan": step("exit-cutover-plan", {}, "CutoverApproved", "$.cutoverPlan"),
            "CutoverApproved": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.cutoverPlan.result.alreadyCutOver", "BooleanEquals": True, "Next": "Soak"},
                    {"Variable": "$.cutoverPlan.result.approved", "BooleanEquals": True, "Next": "CutoverKept"},
                ],
                "Default": "ApproveCutover",
            },
            **approval_gate(
                "ApproveCutover",
                request_path="$.cutoverPlan.result.approvalRequest",
                timeout_seconds=timeout_seconds,
                on_approved="Cutover",
                on_rejected="CutoverRejected",
                on_timed_out="CutoverExpired",
            ),
            "CutoverKept": _no_new_approval("Cutover"),
            "Cutover": step("exit-cutover-apply", {"approval.$": "$.approval"}, "CutoverStatus", "$.cutover"),
            "CutoverStatus": step("exit-cutover-status", {}, "InSync", "$.insync"),
            "InSync": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.insync.result.insync", "BooleanEquals": True, "Next": "Soak"}],
                "Default": "WaitInSync",
            },
            "WaitInSync": {"Type": "Wait", "Seconds": INSYNC_POLL_SECONDS, "Next": "CutoverStatus"},
            "Soak": step("exit-soak", {}, "Soaked", "$.soak"),
            "Soaked": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.soak.result.rolledBack", "BooleanEquals": True, "Next": "RolledBack"},
                    {"Variable": "$.soak.result.waitSeconds", "NumericGreaterThan": 0, "Next": "SoakWait"},
                ],
                "Default": "DeletePlan",
            },
            "SoakWait": {
                "Type": "Wait",
                "Comment": "Nothing is deleted during the soak; a rollback request restores the DNS meanwhile.",
                "SecondsPath": "$.soak.result.waitSeconds",
                "Next": "Soak",
            },
            "DeletePlan": step("exit-delete-plan", {}, "DeleteApproved", "$.deletePlan"),
            "DeleteApproved": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.deletePlan.result.approved", "BooleanEquals": True, "Next": "DeleteKept"}],
                "Default": "ApproveDelete",
            },
            **approval_gate(
                "ApproveDelete",
                request_path="$.deletePlan.result.approvalRequest",
                timeout_seconds=timeout_seconds,
                on_approved="Deleting",
                on_rejected="DeleteRejected",
                on_timed_out="DeleteExpired",
            ),
            "DeleteKept": _no_new_approval("Deleting"),
            "Deleting": step("exit-delete-approved", {"approval.$": "$.approval"}, "AnyUsers", "$.deleting"),
            "AnyUsers": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.deletePlan.result.deletions.count", "NumericEquals": 0, "Next": "DeleteRest"}
                ],
                "Default": "DeleteUsers",
            },
            "DeleteUsers": {
                **_distributed(
                    "users",
                    "$.deletePlan.result.deletions",
                    {"exitId.$": "$.requestId", "user.$": "$$.Map.Item.Value.user"},
                    "UserDeregister",
                    _prefixed("User", _exit_delete_child()),
                    "DeleteRest",
                ),
                "Catch": stop,
            },
            "DeleteRest": step("exit-delete-rest", {}, "Summary", "$.deleteRest"),
            "Summary": summary("completed", "Done"),
            "Done": {"Type": "Succeed"},
            "RolledBack": {"Type": "Succeed", "Comment": "A rollback request restored the DNS (its own summary)."},
            "CutoverRejected": summary("rejected", "WasRejected"),
            "CutoverExpired": summary("expired", "WasExpired"),
            "DeleteRejected": summary("rejected", "WasRejected"),
            "DeleteExpired": summary("expired", "WasExpired"),
            **approval_failures("WasRejected", "WasExpired"),
            "Stopped": _ex(
                "exit-summary",
                {**exit_id, "outcome": "stopped", "error.$": "$.failure.Error", "cause.$": "$.failure.Cause"},
                "StoppedFail",
                "$.summary",
            ),
            "StoppedFail": {
                "Type": "Fail",
                "Error": EXIT_STOPPED,
                "Cause": "A step could not go on (halted, a DNS conflict, a failure): the summary in the audit trail "
                "and report.json say why; send the request again to resume.",
            },
        },
    }


def _exit_rollback(timeout_seconds: int) -> dict[str, Any]:
    exit_id = {"exitId.$": "$.exitId"}
    return {
        "Comment": "Roll an organization exit's DNS cut-over back (one change per hosted zone, INSYNC) and stop the "
        "exit; WorkMail is left as it was. Refused once the deletion has started.",
        "StartAt": "Rollback",
        "States": {
            "Rollback": _ex(
                "exit-rollback",
                {"request.$": "$"},
                "RollbackStatus",
                "$.rollback",
                catch=[{"ErrorEquals": ["Rejected", "DnsNotCutOver"], "ResultPath": "$.failure", "Next": "Refused"}],
            ),
            "Refused": {"Type": "Fail", "Error": "Rejected", "Cause": "See the audit trail (workmail:<org>)."},
            "RollbackStatus": _ex("exit-cutover-status", exit_id, "InSync", "$.insync"),
            "InSync": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.insync.result.insync", "BooleanEquals": True, "Next": "Summary"}],
                "Default": "WaitInSync",
            },
            "WaitInSync": {"Type": "Wait", "Seconds": INSYNC_POLL_SECONDS, "Next": "RollbackStatus"},
            "Summary": _ex("exit-summary", {**exit_id, "outcome": "rolled-back"}, "Done", "$.summary"),
            "Done": {"Type": "Succeed"},
        },
    }


WORKMAIL_EXIT_WORKFLOW = WorkflowSpec(
    name="workmail-exit",
    description="Move a WorkMail organization out: inventory, export + verify, approved DNS cut-over, soak, "
    "approved deletion of everything, summary.",
    functions=(APPROVAL_REQUEST.name, WORKMAIL_EXIT.name),
    uses_approvals=True,
    build=_exit,
)

WORKMAIL_EXIT_ROLLBACK_WORKFLOW = WorkflowSpec(
    name="workmail-exit-rollback",
    description="Put an organization exit's previous DNS back and stop the exit (until its deletion starts).",
    functions=(WORKMAIL_EXIT.name,),
    uses_approvals=False,
    build=_exit_rollback,
)


def _partner(step: str, payload: dict[str, Any], next_state: str, result_path: str) -> dict[str, Any]:
    """A ``partner_connections`` step for the catalog, change and execution (its record) of this execution."""
    ids = {"catalog.$": "$.catalog", "fingerprint.$": "$.fingerprint", "execution.$": "$$.Execution.Id"}
    return lambda_task(PARTNER_CONNECTIONS.name, {"step": step, **ids, **payload}, next_state, result_path)


WIDENING_NOT_APPLIED = "Mailwarden.WideningNotApplied"


def _partner_widening(timeout_seconds: int) -> dict[str, Any]:
    definition = _approve_then(
        "Widen who may connect in a Partner Central catalog: ask a human, then read the preferences again and write "
        "the policy's state with the current Revision, only if nobody gains access beyond what was approved.",
        timeout_seconds,
        approved=_partner("apply", {"gained.$": "$.gained", "approval.$": "$.approval"}, "Applied", "$.applied"),
        closed=lambda outcome: _partner("closed", {"outcome": outcome}, "", "$.closed"),
    )
    # An approved change that was not written (denied, refused, stale, halted, conflicted) ends the
    # execution FAILED, as its record says: the next run asks again.
    definition["States"]["Applied"] = {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.applied.result.outcome", "StringEquals": outcome, "Next": "Done"}
            for outcome in ("applied", "in-sync")
        ],
        "Default": "NotApplied",
    }
    definition["States"]["NotApplied"] = {
        "Type": "Fail",
        "Error": WIDENING_NOT_APPLIED,
        "Cause": "Approved, but not written: the Apply step's result and the audit trail (partner:<catalog>) say why.",
    }
    return definition


PARTNER_WIDENING_WORKFLOW = WorkflowSpec(
    name="partner-widening",
    description="Widen Partner Central connection preferences after a human approved (re-read, re-checked).",
    functions=(APPROVAL_REQUEST.name, PARTNER_CONNECTIONS.name),
    uses_approvals=True,
    build=_partner_widening,
)

WORKFLOWS: tuple[WorkflowSpec, ...] = (
    APPROVAL_CHECK,
    REPUTATION_RECONCILE_WORKFLOW,
    REPUTATION_REINSTATE_WORKFLOW,
    WORKMAIL_OFFBOARD_WORKFLOW,
    WORKMAIL_DECOMMISSION_WORKFLOW,
    WORKMAIL_EXIT_WORKFLOW,
    WORKMAIL_EXIT_ROLLBACK_WORKFLOW,
    PARTNER_WIDENING_WORKFLOW,
)


def substitute(definition: dict[str, Any], arns: dict[str, str]) -> str:
    """Render a definition with ``${XFunctionArn}`` replaced, as Step Functions does at deploy time."""
    text = json.dumps(definition)
    for function, arn in arns.items():
        text = text.replace(function_arn(function), arn)
    return text
