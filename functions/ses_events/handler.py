"""aws.ses reputation events -> one Mailwarden observation per entity (or the DLQ, with a reason)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mailwarden import wiring
from mailwarden.contracts.ses_events import parse_ses_event
from mailwarden.errors import MalformedEvent
from mailwarden.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = wiring.ses_events()
    try:
        signal = parse_ses_event(event)
    except MalformedEvent as exc:
        logger.warning("rejected malformed event", reason=str(exc))
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        return deps.dead_letters.reject(event, str(exc))
    observations = deps.observe(signal)
    metrics.add_metric(name="SignalsObserved", unit=MetricUnit.Count, value=len(observations))
    return {"status": "observed", "observations": [o.explanation for o in observations]}
