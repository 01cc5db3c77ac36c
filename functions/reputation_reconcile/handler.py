"""Steps of the reconcile and reinstate workflows (input validated; a bad one fails the task)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mailwarden import wiring
from mailwarden.contracts.metrics import Metric
from mailwarden.errors import MalformedEvent, parsed
from mailwarden.observability import logger, metrics, tracer
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Step(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Scan(_Step):
    step: Literal["scan"]
    runId: str = Field(min_length=1)
    start: dict[str, Any]


class Apply(_Step):
    step: Literal["apply"]
    runId: str = Field(min_length=1)
    approval: dict[str, Any] = Field(default_factory=dict)


class Close(_Step):
    step: Literal["close"]
    runId: str = Field(min_length=1)
    outcome: Literal["rejected", "expired"]


class Reinstate(_Step):
    step: Literal["reinstate"]
    entity: str = Field(min_length=1)
    approval: dict[str, Any]


class ReinstateClosed(_Step):
    step: Literal["reinstate-closed"]
    entity: str = Field(min_length=1)
    outcome: Literal["rejected", "expired"]


StepInput = TypeAdapter(Annotated[Scan | Apply | Close | Reinstate | ReinstateClosed, Field(discriminator="step")])


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step = parsed(StepInput, event, "reputation_reconcile")
    deps = wiring.reputation_reconcile()
    metrics.add_metric(name=Metric.RECONCILE_STEPS, unit=MetricUnit.Count, value=1)
    remaining = context.get_remaining_time_in_millis
    match step:
        case Scan():
            return deps.reconciler.scan(step.runId, step.start, remaining)
        case Apply():
            approved = step.approval if step.approval.get("decision") == "APPROVED" else None
            return deps.reconciler.apply(step.runId, approved, remaining)
        case Close():
            return deps.reconciler.close(step.runId, step.outcome)
        case Reinstate():
            return deps.reinstater.approved(step.entity, str(step.approval.get("approver", "")))
        case ReinstateClosed():
            return deps.reinstater.closed(step.entity, step.outcome)
    raise MalformedEvent(f"unknown step {event.get('step')!r}")
