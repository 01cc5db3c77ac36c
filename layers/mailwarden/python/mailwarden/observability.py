"""Logger, Tracer and Metrics: created once here, imported everywhere."""

from __future__ import annotations

from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Mailwarden")


class _DeadLetters(Protocol):
    def reject(self, event: Any, reason: str) -> dict[str, Any]: ...


def reject(dead_letters: _DeadLetters, event: Any, problem: Exception, what: str) -> dict[str, Any]:
    """An input that can never be processed: log it, count it, park it in the DLQ with the reason."""
    logger.warning(f"rejected {what}", reason=str(problem))
    metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
    return dead_letters.reject(event, str(problem))
