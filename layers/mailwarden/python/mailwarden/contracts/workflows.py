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

from .functions import APPROVAL_REQUEST, REPUTATION_RECONCILE

REJECTED_ERROR = "Mailwarden.ApprovalRejected"  # SendTaskFailure error when an approver rejects
TIMED_OUT_ERROR = "Mailwarden.ApprovalTimedOut"
LAMBDA_TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


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


def _step(payload: dict[str, Any], next_state: str, result_path: str = "$.run") -> dict[str, Any]:
    """A ``reputation_reconcile`` step; Lambda throttling/faults and Mailwarden.Throttled retried."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn(REPUTATION_RECONCILE.name), "Payload": payload},
        "ResultSelector": {"result.$": "$.Payload"},
        "ResultPath": result_path,
        "Retry": [
            *_retry(),
            {
                "ErrorEquals": ["Throttled", "Unavailable", "PublishFailed", "States.Timeout"],
                "IntervalSeconds": 5,
                "MaxAttempts": 8,
                "BackoffRate": 2.0,
                "JitterStrategy": "FULL",
            },
        ],
        "Next": next_state,
    }


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


def _reinstate(timeout_seconds: int) -> dict[str, Any]:
    return {
        "Comment": "Reinstate one entity Mailwarden disabled: ask a human, then re-check everything and write.",
        "StartAt": "RequestApproval",
        "States": {
            **approval_gate(
                "RequestApproval",
                request_path="$.approvalRequest",
                timeout_seconds=timeout_seconds,
                on_approved="Reinstate",
                on_rejected="Rejected",
                on_timed_out="Expired",
            ),
            "Reinstate": _step(
                {"step": "reinstate", "entity.$": "$.entity", "approval.$": "$.approval"}, "Done", "$.reinstate"
            ),
            "Rejected": _step(
                {"step": "reinstate-closed", "entity.$": "$.entity", "outcome": "rejected"}, "WasRejected", "$.closed"
            ),
            "Expired": _step(
                {"step": "reinstate-closed", "entity.$": "$.entity", "outcome": "expired"}, "WasExpired", "$.closed"
            ),
            "Done": {"Type": "Succeed"},
            **approval_failures("WasRejected", "WasExpired"),
        },
    }


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

WORKFLOWS: tuple[WorkflowSpec, ...] = (APPROVAL_CHECK, REPUTATION_RECONCILE_WORKFLOW, REPUTATION_REINSTATE_WORKFLOW)


def substitute(definition: dict[str, Any], arns: dict[str, str]) -> str:
    """Render a definition with ``${XFunctionArn}`` replaced, as Step Functions does at deploy time."""
    text = json.dumps(definition)
    for function, arn in arns.items():
        text = text.replace(function_arn(function), arn)
    return text
