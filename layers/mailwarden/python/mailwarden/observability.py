"""Logger, Tracer and Metrics: created once here, imported everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from .contracts.metrics import NAMESPACE, SERVICE, Metric


class _Untraced(BaseSegment, BaseProvider):
    """The tracing provider where tracing is off (outside Lambda, POWERTOOLS_TRACE_DISABLED: the CLI, the
    emulator, tests): a segment that records nothing. Powertools' Tracer builds the X-Ray recorder even
    when it is disabled (its SDK: ~110 ms of every CLI command's start); in Lambda with active tracing,
    as deployed, the Tracer is X-Ray's as before."""

    def close(self, end_time: int | None = None) -> None: ...
    def add_subsegment(self, subsegment: Any) -> None: ...
    def remove_subsegment(self, subsegment: Any) -> None: ...
    def put_annotation(self, key: str, value: Any) -> None: ...
    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None: ...
    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None: ...
    def patch(self, modules: Any) -> None: ...
    def patch_all(self) -> None: ...

    @contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield self

    @asynccontextmanager
    async def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> Any:
        yield self


logger = Logger(service=SERVICE)
# Active tracing patches botocore only: every AWS call the functions make goes through it, and the
# other libraries X-Ray's patch_all would import and patch (requests, sqlite3, database drivers) are
# ones no function uses (the SDK layer does not even ship most of them).
if Tracer._is_tracer_disabled():
    tracer = Tracer(disabled=True, provider=_Untraced(), auto_patch=False)
else:
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
