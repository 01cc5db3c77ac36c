"""Typed models of the ``aws.ses`` events, parsed defensively (FACTS.md quirks):

* recommendation events: ``detail.data`` is a plain string, type/impact sit in ``detail.metadata``;
* status events: ``detail.data.record.lastUpdatedTimestamp`` is ``[y, m, d, H, M, S, ns]`` and
  ``detail.data.origin`` is CUSTOMER_MANAGED or AWS_MANAGED.

``parse_ses_event`` returns a model or raises :class:`mailwarden.errors.MalformedEvent` naming the
first problem, so the handler can send the event to the DLQ with a reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..errors import MalformedEvent, parsed
from .names import SES_SOURCE, SesDetailType

FindingType = Literal["DKIM", "DMARC", "SPF", "BIMI", "COMPLAINT", "BOUNCE", "FEEDBACK_3P", "IP_LISTING"]
Impact = Literal["LOW", "HIGH"]
SendingStatus = Literal["ENABLED", "REINSTATED", "DISABLED"]


def _ts_array(value: Any) -> datetime:
    """SES sends ``[y, m, d, H, M, S, ns]``; anything else is a wrong type, not something to guess at."""
    shape = "expected [year, month, day, hour, minute, second, nanoseconds]"
    if not isinstance(value, list) or not 6 <= len(value) <= 7:
        raise ValueError(shape)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(shape)
    y, mo, d, h, mi, s = value[:6]
    ns = value[6] if len(value) == 7 else 0
    try:
        return datetime(y, mo, d, h, mi, s, ns // 1000, tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"{shape}: {exc}") from exc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Envelope(_Strict):
    id: str = Field(min_length=1)
    source: Literal["aws.ses"]
    account: str
    region: str
    time: datetime
    resources: list[str] = Field(min_length=1)


class RecommendationMetadata(_Strict):
    impact: Impact
    type: FindingType


class RecommendationDetail(_Strict):
    data: str
    metadata: RecommendationMetadata


class RecommendationEvent(_Envelope):
    kind: Literal["recommendation"] = "recommendation"
    detail_type: Literal[
        SesDetailType.RECOMMENDATION_OPEN, SesDetailType.RECOMMENDATION_RESOLVED, SesDetailType.RECOMMENDATION_CLOSED
    ] = Field(alias="detail-type")
    detail: RecommendationDetail

    @property
    def is_open(self) -> bool:
        return self.detail_type == SesDetailType.RECOMMENDATION_OPEN


class StatusRecord(_Strict):
    status: SendingStatus
    cause: str | None = None
    lastUpdatedTimestamp: Annotated[datetime, BeforeValidator(_ts_array)]


class StatusData(_Strict):
    origin: Literal["CUSTOMER_MANAGED", "AWS_MANAGED"]
    record: StatusRecord


class StatusDetail(_Strict):
    data: StatusData


class SendingStatusEvent(_Envelope):
    kind: Literal["status"] = "status"
    detail_type: Literal[SesDetailType.SENDING_ENABLED, SesDetailType.SENDING_DISABLED] = Field(alias="detail-type")
    detail: StatusDetail


SesEvent = RecommendationEvent | SendingStatusEvent


def parse_ses_event(raw: Any) -> SesEvent:
    if not isinstance(raw, dict):
        raise MalformedEvent("event is not a JSON object")
    if raw.get("source") != SES_SOURCE:
        raise MalformedEvent(f"unexpected source {raw.get('source')!r}, expected {SES_SOURCE!r}")
    detail_type = raw.get("detail-type")
    model: type[SesEvent]
    if detail_type in (SesDetailType.SENDING_ENABLED, SesDetailType.SENDING_DISABLED):
        model = SendingStatusEvent
    elif isinstance(detail_type, str) and detail_type.startswith("Advisor Recommendation Status "):
        model = RecommendationEvent
    else:
        raise MalformedEvent(f"unknown detail-type {detail_type!r}")
    return parsed(model, raw, str(detail_type))
