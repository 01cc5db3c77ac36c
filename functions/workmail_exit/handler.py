"""Steps of the organization exit and its rollback (input validated; a bad one fails the task).

Domain errors propagate with their class name as the Step Functions error (``Rejected``, ``Halted``,
``DnsNotCutOver``, ``ExportSlotsBusy``, ``NotYetDisabled``, ``DeleteRefused``, ``Throttled``...),
which the workflows' Retry and Catch rules name.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mailwarden import wiring
from mailwarden.contracts.metrics import Metric
from mailwarden.errors import MalformedEvent, parsed
from mailwarden.observability import logger, metrics, tracer
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

_ID = r"^[A-Za-z0-9_-]{1,64}$"


class _Step(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Inventory(_Step):
    step: Literal["exit-inventory"]
    request: dict[str, Any]
    execution: str = ""


class ForExit(_Step):
    step: Literal[
        "exit-manifest", "exit-cutover-plan", "exit-cutover-status", "exit-soak", "exit-delete-plan", "exit-delete-rest"
    ]
    exitId: str = Field(pattern=_ID)


class Approved(_Step):
    step: Literal["exit-cutover-apply", "exit-delete-approved"]
    exitId: str = Field(pattern=_ID)
    approval: dict[str, Any] = Field(default_factory=dict)


class ForUser(_Step):
    step: Literal["exit-export-start", "exit-user-deregister", "exit-user-disabled", "exit-user-delete"]
    exitId: str = Field(pattern=_ID)
    user: str = Field(min_length=1, max_length=256)


class ExportStatus(_Step):
    step: Literal["exit-export-status"]
    exitId: str = Field(pattern=_ID)
    user: str = Field(min_length=1, max_length=256)
    jobId: str = Field(min_length=1)
    mailboxBytes: int | None = Field(None, ge=0)


class UserFailed(_Step):
    step: Literal["exit-export-failed", "exit-user-failed"]
    exitId: str = Field(pattern=_ID)
    user: str = Field(min_length=1, max_length=256)
    error: str = ""
    cause: str = ""


class Summary(_Step):
    step: Literal["exit-summary"]
    exitId: str = Field(pattern=_ID)
    outcome: Literal["completed", "rejected", "expired", "stopped", "rolled-back"]
    error: str = ""
    cause: str = ""


class Rollback(_Step):
    step: Literal["exit-rollback"]
    request: dict[str, Any]


StepInput = TypeAdapter(
    Annotated[
        Inventory | ForExit | Approved | ForUser | ExportStatus | UserFailed | Summary | Rollback,
        Field(discriminator="step"),
    ]
)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from mailwarden.workmail.exit import ExitRequest, ExitRollbackRequest

    step = parsed(StepInput, event, "workmail_exit")
    x = wiring.workmail_exit().exit
    metrics.add_metric(name=Metric.EXIT_STEPS, unit=MetricUnit.Count, value=1)
    logger.info("exit step", step=step.step, exit=getattr(step, "exitId", None))
    match step:
        case Inventory():
            request = parsed(ExitRequest, step.request, "workmail_exit")
            return x.inventory(str(request.request_id), request, step.execution)
        case ForExit(step="exit-manifest"):
            return x.manifest(step.exitId)
        case ForExit(step="exit-cutover-plan"):
            return x.cutover_plan(step.exitId)
        case ForExit(step="exit-cutover-status"):
            return x.cutover_status(step.exitId)
        case ForExit(step="exit-soak"):
            return x.soak(step.exitId)
        case ForExit(step="exit-delete-plan"):
            return x.delete_plan(step.exitId)
        case ForExit():
            return x.delete_rest(step.exitId)
        case Approved(step="exit-cutover-apply"):
            return x.cutover_apply(step.exitId, str(step.approval.get("approver") or ""))
        case Approved():
            return x.delete_approved(step.exitId, str(step.approval.get("approver") or ""))
        case ForUser(step="exit-export-start"):
            return x.export_start(step.exitId, step.user)
        case ForUser(step="exit-user-deregister"):
            return x.user_deregister(step.exitId, step.user)
        case ForUser(step="exit-user-disabled"):
            return x.user_disabled(step.exitId, step.user)
        case ForUser():
            return x.user_delete(step.exitId, step.user)
        case ExportStatus():
            return x.export_status(step.exitId, step.user, step.jobId, step.mailboxBytes)
        case UserFailed(step="exit-export-failed"):
            return x.export_failed(step.exitId, step.user, step.error, step.cause)
        case UserFailed():
            return x.user_failed(step.exitId, step.user, step.error, step.cause)
        case Summary():
            return x.summary(step.exitId, step.outcome, step.error, step.cause)
        case Rollback():
            rollback = parsed(ExitRollbackRequest, step.request, "workmail_exit")
            return x.rollback(rollback.exit_id, rollback)
    raise MalformedEvent(f"unknown step {event.get('step')!r}")
