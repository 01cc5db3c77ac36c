"""WorkMail requests -> a dry-run plan, a restore, or one workflow execution (or the DLQ with a reason)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mailwarden import wiring
from mailwarden.contracts.metrics import Metric
from mailwarden.errors import MalformedEvent, Rejected
from mailwarden.observability import logger, metrics, reject, tracer
from mailwarden.workmail.trigger import parse


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = wiring.workmail_trigger()
    try:
        request = parse(event)
        out = deps.trigger.handle(request)
    except (MalformedEvent, Rejected) as exc:
        return reject(deps.dead_letters, event, exc, "WorkMail request")
    metrics.add_metric(name=Metric.WORKMAIL_REQUESTS, unit=MetricUnit.Count, value=1)
    logger.info("WorkMail request", request=request.request_id, status=out["status"])
    return out
