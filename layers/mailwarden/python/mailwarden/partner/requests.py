"""What the partner_connections function is asked to do, validated: a reconcile run (the schedule's
tick or an operator's ``Partner Connections Reconcile Requested`` event) or a step of the widening
workflow (apply after approval, or close after a rejection or expiry)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ..contracts.names import OperatorDetailType
from ..errors import parsed
from ..requests import RunRequest, run_trigger
from .model import Catalog


@dataclass(frozen=True)
class PartnerRun(RunRequest):
    catalogs: tuple[str, ...] | None = None  # None: every catalog the policy lists


class _Detail(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    mode: Literal["plan", "apply"] | None = None
    reason: str = Field(min_length=1, max_length=500)
    requestedBy: str = Field(min_length=1, max_length=200)
    catalogs: list[Catalog] | None = Field(None, min_length=1)


def run_request(raw: Any) -> PartnerRun:
    t = run_trigger(raw, OperatorDetailType.PARTNER_RECONCILE_REQUESTED, _Detail, "partner reconcile request")
    if t.detail is None:
        return PartnerRun(t.run_id, "schedule", None, "schedule", "schedule")
    d = t.detail
    catalogs = tuple(dict.fromkeys(d.catalogs)) if d.catalogs else None
    return PartnerRun(t.run_id, "on-demand", d.mode, d.requestedBy, d.reason, catalogs)


class _Step(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)
    catalog: Catalog
    fingerprint: str = Field(min_length=1, max_length=64)
    execution: str = Field("", max_length=256)  # the step's own execution ("": started before it was passed)


class ApplyApproved(_Step):
    step: Literal["apply"]
    gained: dict[str, Any]
    approval: dict[str, Any]


class Closed(_Step):
    step: Literal["closed"]
    outcome: Literal["rejected", "expired"]


StepInput = TypeAdapter(Annotated[ApplyApproved | Closed, Field(discriminator="step")])


def step_request(raw: dict[str, Any]) -> ApplyApproved | Closed:
    return parsed(StepInput, raw, "partner_connections step")
