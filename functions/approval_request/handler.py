"""Step Functions task (``lambda:invoke.waitForTaskToken``): record an approval request and notify
the approvers; or, from the gate's timeout branch, mark the request expired.

Invoked synchronously by Step Functions, so a malformed payload fails the task with a clear error
in the execution history (no DLQ: the caller is told directly). The task token is never logged.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mailwarden import wiring
from mailwarden.approvals.model import RequestTask, TimedOutTask
from mailwarden.contracts.metrics import Metric
from mailwarden.errors import MalformedEvent
from mailwarden.observability import logger, metrics, tracer
from pydantic import ValidationError


def parse(event: Any) -> RequestTask | TimedOutTask:
    kind = event.get("kind") if isinstance(event, dict) else None
    model = TimedOutTask if kind == "timed_out" else RequestTask
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in exc.errors())
        raise MalformedEvent(f"invalid approval task payload: {problems}") from None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        task = parse(event)
    except MalformedEvent:
        metrics.add_metric(name=Metric.APPROVAL_TASKS_INVALID, unit=MetricUnit.Count, value=1)
        raise
    approvals = wiring.approval_request().approvals
    if isinstance(task, TimedOutTask):
        result = approvals.timed_out(task)
        metrics.add_metric(name=Metric.APPROVALS_EXPIRED, unit=MetricUnit.Count, value=1)
    else:
        result = approvals.request(task)
        metrics.add_metric(name=Metric.APPROVALS_REQUESTED, unit=MetricUnit.Count, value=1)
    logger.info("approval task", **result)
    return result
