"""Steps of the offboarding and decommission workflows (input validated; a bad one fails the task).

Domain errors propagate with their class name as the Step Functions error (``Rejected``,
``ExportSlotsBusy``, ``NotYetDisabled``, ``DeleteRefused``, ``Throttled``...), which the workflow's
Retry and Catch rules name.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mailwarden import wiring
from mailwarden.contracts.metrics import Metric
from mailwarden.errors import MalformedEvent, parsed
from mailwarden.observability import logger, metrics, tracer
from mailwarden.workmail.model import DecommissionRequest, OffboardRequest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

_ID = r"^[A-Za-z0-9_-]{1,64}$"


class _Step(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Snapshot(_Step):
    step: Literal["snapshot"]
    request: dict[str, Any]


class ForRequest(_Step):
    step: Literal["export-start", "strip", "deregister", "confirm-disabled"]
    requestId: str = Field(pattern=_ID)


class ExportStatus(_Step):
    step: Literal["export-status"]
    requestId: str = Field(pattern=_ID)
    jobId: str = Field(min_length=1)


class Delete(_Step):
    step: Literal["delete"]
    requestId: str = Field(pattern=_ID)
    approval: dict[str, Any] = Field(default_factory=dict)


class Kept(_Step):
    step: Literal["kept"]
    requestId: str = Field(pattern=_ID)
    outcome: Literal["rejected", "expired"]


class DecommissionPlan(_Step):
    step: Literal["decommission-plan"]
    request: dict[str, Any]


class DecommissionMember(_Step):
    """The last step of one user's child execution in a decommission: its outcome, kept per user."""

    step: Literal["decommission-member"]
    decommissionId: str = Field(pattern=_ID)
    requestId: str = Field(pattern=_ID)
    user: str = Field(min_length=1)
    outcome: str = Field(min_length=1)
    error: str = ""
    cause: str = ""


class DecommissionDone(_Step):
    step: Literal["decommission-done"]
    decommissionId: str = Field(pattern=_ID)
    organizationId: str = Field(min_length=1)
    outcome: Literal["completed", "rejected", "expired"]


StepInput = TypeAdapter(
    Annotated[
        Snapshot | ForRequest | ExportStatus | Delete | Kept | DecommissionPlan | DecommissionMember | DecommissionDone,
        Field(discriminator="step"),
    ]
)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = parsed(StepInput, event, "workmail_offboard")
    o = wiring.workmail_offboard().offboarding
    metrics.add_metric(name=Metric.OFFBOARDING_STEPS, unit=MetricUnit.Count, value=1)
    logger.info("offboarding step", step=step.step)
    match step:
        case Snapshot():
            request = parsed(OffboardRequest, step.request, "workmail_offboard")
            approved_by = step.request.get("approvedBy")
            return o.snapshot(str(request.request_id), request, str(approved_by) if approved_by else None)
        case ForRequest(step="export-start"):
            return o.start_export(step.requestId)
        case ForRequest(step="strip"):
            return dict(o.strip(step.requestId))
        case ForRequest(step="deregister"):
            return o.deregister(step.requestId)
        case ForRequest():
            return o.confirm_disabled(step.requestId)
        case ExportStatus():
            return o.export_status(step.requestId, step.jobId)
        case Delete():
            return o.delete(step.requestId, str(step.approval.get("approver") or ""))
        case Kept():
            return o.kept(step.requestId, step.outcome)
        case DecommissionPlan():
            decommission = parsed(DecommissionRequest, step.request, "workmail_offboard")
            return o.decommission_plan(str(decommission.request_id), decommission, keep_items=True)
        case DecommissionMember():
            result = {"requestId": step.requestId, "outcome": step.outcome, "error": step.error, "cause": step.cause}
            return o.decommission_member(step.decommissionId, step.user, result)
        case DecommissionDone():
            return o.decommission_done(step.decommissionId, step.organizationId, step.outcome)
    raise MalformedEvent(f"unknown step {event.get('step')!r}")
