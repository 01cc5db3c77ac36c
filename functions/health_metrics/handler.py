"""Health census (schedule, every 5 minutes): gauges for the dashboard and the alarms. A malformed
input goes to the DLQ with the reason."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from mailwarden import wiring
from mailwarden.contracts.metrics import NAMESPACE, SERVICE, STATUS_DIMENSION, Metric
from mailwarden.errors import MalformedEvent, parsed
from mailwarden.observability import logger, metrics, reject, tracer
from mailwarden.requests import ScheduleTick


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = wiring.health_metrics()
    try:
        parsed(ScheduleTick, event, "health census tick")
    except MalformedEvent as exc:
        return reject(deps.dead_letters, event, exc, "health census tick")
    c = deps.census.take()
    metrics.add_metric(name=Metric.APPROVALS_PENDING, unit=MetricUnit.Count, value=c.approvals_pending)
    metrics.add_metric(
        name=Metric.OLDEST_PENDING_APPROVAL_AGE, unit=MetricUnit.Seconds, value=c.oldest_pending_age_seconds
    )
    metrics.add_metric(name=Metric.APPROVALS_EXPIRING_SOON, unit=MetricUnit.Count, value=c.approvals_expiring_soon)
    metrics.add_metric(name=Metric.KILL_SWITCH_ENGAGED, unit=MetricUnit.Count, value=int(c.kill_switch_engaged))
    for status, n in c.mail_from.items():
        with single_metric(
            name=Metric.MAIL_FROM_IDENTITIES,
            unit=MetricUnit.Count,
            value=n,
            namespace=NAMESPACE,
            default_dimensions={"service": SERVICE},
        ) as metric:
            metric.add_dimension(name=STATUS_DIMENSION, value=status)
    out = c.as_dict()
    logger.info("health census", **out)
    return out
