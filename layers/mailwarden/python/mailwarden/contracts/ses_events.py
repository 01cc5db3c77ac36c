"""Typed models of the ``aws.ses`` events, parsed defensively (FACTS.md quirks):

* recommendation events: ``detail.data`` is a plain string, type/impact sit in ``detail.metadata``;
* status events: ``detail.data.record.lastUpdatedTimestamp`` is ``[y, m, d, H, M, S, ns]`` in SES's
  samples, but this event schema is new (2025) and every other timestamp in the same events is an
  ISO 8601 string, so both forms are understood (anything else is refused); ``detail.data.origin``
  is CUSTOMER_MANAGED or AWS_MANAGED.
* ``resources`` name the entities, each an SES resource ARN (GetReputationEntity's
  ``ReputationEntityReference``): an empty or foreign string is refused here, not sent to SES.

``parse_ses_event`` returns a model or raises :class:`mailwarden.errors.MalformedEvent` naming the
first problem, so the handler can send the event to the DLQ with a reason.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from ..errors import MalformedEvent, parsed
from .names import SES_SOURCE, SesDetailType

FindingType = Literal["DKIM", "DMARC", "SPF", "BIMI", "COMPLAINT", "BOUNCE", "FEEDBACK_3P", "IP_LISTING"]
Impact = Literal["LOW", "HIGH"]
SendingStatus = Literal["ENABLED", "REINSTATED", "DISABLED"]


# An ISO 8601 date-time with its UTC offset (what the envelope's ``time`` and the recommendation
# timestamps are): a date alone, or a local time without an offset, is not a point in time.
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)$")
_TS_SHAPE = "expected [year, month, day, hour, minute, second, nanoseconds] or an ISO 8601 time with its offset"
MAX_RESOURCES = 10  # SES names one entity per event; more would not fit the function's time at 1 SES call/s
# EventBridge puts ARNs in ``resources``; these events' are SES's (tenants and other reputation entities).
_SES_ARN = re.compile(r"^arn:aws[a-z-]*:ses:[a-z0-9-]+:\d{12}:[A-Za-z0-9][\x21-\x7e]{0,1023}$")


def _timestamp(value: Any) -> datetime:
    """SES's samples send ``[y, m, d, H, M, S, ns]``; an ISO 8601 string is the same instant. Anything
    else (a number, a date alone, an impossible date) is a wrong value, not something to guess at."""
    if isinstance(value, str):
        if not _ISO.match(value):
            raise ValueError(f"{_TS_SHAPE}, got {value[:40]!r}")
        try:
            return datetime.fromisoformat(value.replace("z", "Z").replace("t", "T")).astimezone(UTC)
        except (ValueError, OverflowError) as exc:  # e.g. month 13, or year 1 moved back past year 1
            raise ValueError(f"{_TS_SHAPE}: {exc}") from exc
    if not isinstance(value, list) or not 6 <= len(value) <= 7:
        raise ValueError(_TS_SHAPE)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(_TS_SHAPE)
    y, mo, d, h, mi, s = value[:6]
    ns = value[6] if len(value) == 7 else 0
    if not 0 <= ns < 1_000_000_000:
        raise ValueError(f"{_TS_SHAPE}: nanoseconds must be 0..999999999")
    try:
        return datetime(y, mo, d, h, mi, s, ns // 1000, tzinfo=UTC)
    except (ValueError, OverflowError) as exc:  # a year past 9999, or past a C int
        raise ValueError(f"{_TS_SHAPE}: {exc}") from exc


def _ses_arn(value: str) -> str:
    if not _SES_ARN.match(value):
        raise ValueError(f"expected an SES resource ARN (arn:aws:ses:<region>:<account>:...), got {value[:80]!r}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Envelope(_Strict):
    id: str = Field(min_length=1)
    source: Literal["aws.ses"]
    account: str
    region: str
    time: datetime
    resources: list[Annotated[str, AfterValidator(_ses_arn)]] = Field(min_length=1, max_length=MAX_RESOURCES)


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
    lastUpdatedTimestamp: Annotated[datetime, BeforeValidator(_timestamp)]


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
