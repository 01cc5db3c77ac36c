"""What the partner_connections function is asked to do, validated: a reconcile run (the schedule's
tick or an operator's ``Partner Connections Reconcile Requested`` event) or a step of the widening
workflow (apply after approval, or close after a rejection or expiry)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ..contracts.names import OPERATOR_SOURCE, OperatorDetailType
from ..errors import MalformedEvent, malformed
from ..requests import ScheduleTick, run_name
from .model import Catalog


@dataclass(frozen=True)
class PartnerRun:
    run_id: str
    trigger: str  # schedule | on-demand
    mode: str | None  # None: the policy's mode
    requested_by: str
    reason: str
    catalogs: tuple[str, ...] | None = None  # None: every catalog the policy lists


class _Detail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["plan", "apply"] | None = None
    reason: str = Field(min_length=1, max_length=500)
    requestedBy: str = Field(min_length=1, max_length=200)
    catalogs: list[Catalog] | None = Field(None, min_length=1)


class _OperatorEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    id: str = Field(min_length=1)
    source: Literal["mailwarden.operator"]
    detail_type: Literal[OperatorDetailType.PARTNER_RECONCILE_REQUESTED] = Field(alias="detail-type")
    detail: _Detail


def run_request(raw: Any) -> PartnerRun:
    if not isinstance(raw, dict):
        raise MalformedEvent("input is not a JSON object")
    try:
        if raw.get("trigger") == "schedule":
            tick = ScheduleTick.model_validate(raw)
            return PartnerRun(run_name("schedule", tick.scheduleExecutionId), "schedule", None, "schedule", "schedule")
        if raw.get("source") != OPERATOR_SOURCE:
            raise MalformedEvent(f"expected a schedule tick or a {OPERATOR_SOURCE} event, got {raw.get('source')!r}")
        e = _OperatorEvent.model_validate(raw)
    except ValidationError as exc:
        raise malformed("partner reconcile request", exc) from exc
    d = e.detail
    catalogs = tuple(dict.fromkeys(d.catalogs)) if d.catalogs else None
    return PartnerRun(run_name("ondemand", e.id), "on-demand", d.mode, d.requestedBy, d.reason, catalogs)


class _Step(BaseModel):
    model_config = ConfigDict(extra="ignore")
    catalog: Catalog
    fingerprint: str = Field(min_length=1, max_length=64)


class ApplyApproved(_Step):
    step: Literal["apply"]
    gained: dict[str, Any]
    approval: dict[str, Any]


class Closed(_Step):
    step: Literal["closed"]
    outcome: Literal["rejected", "expired"]


StepInput = TypeAdapter(Annotated[ApplyApproved | Closed, Field(discriminator="step")])


def step_request(raw: dict[str, Any]) -> ApplyApproved | Closed:
    try:
        return StepInput.validate_python(raw)
    except ValidationError as exc:
        raise malformed("partner_connections step", exc) from exc
