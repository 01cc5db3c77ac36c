"""Logger, Tracer and Metrics: created once here, imported everywhere."""

from __future__ import annotations

from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from .contracts.metrics import NAMESPACE, SERVICE, Metric

logger = Logger(service=SERVICE)
# Active tracing patches botocore only: every AWS call the functions make goes through it, and the
# other libraries X-Ray's patch_all would import and patch (requests, sqlite3, database drivers) are
# ones no function uses (the SDK layer does not even ship most of them).
tracer = Tracer(patch_modules=("botocore",))
# The service is explicit: the dashboard and the alarms name exactly these dimensions.
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


class _DeadLetters(Protocol):
    def reject(self, event: Any, reason: str) -> dict[str, Any]: ...


def reject(dead_letters: _DeadLetters, event: Any, problem: Exception, what: str) -> dict[str, Any]:
    """An input that can never be processed: log it, count it, park it in the DLQ with the reason."""
    logger.warning(f"rejected {what}", reason=str(problem))
    metrics.add_metric(name=Metric.EVENTS_REJECTED, unit=MetricUnit.Count, value=1)
    return dead_letters.reject(event, str(problem))


def count(metric: Metric, value: int = 1) -> None:
    """Add ``value`` to a count metric (nothing when it is 0)."""
    if value:
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)
