"""MAIL FROM watcher: the schedule checks the identities that are due; an ``Email Identity Created``
event sets up (or starts watching) one identity. Malformed or refused events go to the DLQ."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mailwarden import wiring
from mailwarden.contracts.metrics import Metric
from mailwarden.errors import MalformedEvent, Rejected
from mailwarden.mailfrom.model import parse_watch_event
from mailwarden.observability import logger, metrics, reject, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = wiring.mail_from_watch()
    try:
        created = parse_watch_event(event)
        out = deps.watcher.identity_created(created) if created else deps.watcher.run()
    except (MalformedEvent, Rejected) as exc:
        return reject(deps.dead_letters, event, exc, "MAIL FROM event")
    metrics.add_metric(name=Metric.MAIL_FROM_CHECKS, unit=MetricUnit.Count, value=out.get("checked", 0))
    logger.info("MAIL FROM watcher", **out)
    return out
