"""What every scheduled or on-demand run starts from: the schedule's tick (its input is in
``contracts.schedules``) or an operator's event, validated, with a deterministic run name so a
redelivered tick or event does nothing new."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .contracts.names import OPERATOR_SOURCE
from .errors import MalformedEvent, malformed

D = TypeVar("D", bound=BaseModel)


class ScheduleTick(BaseModel):
    model_config = ConfigDict(extra="ignore")
    trigger: Literal["schedule"]
    scheduledTime: str = Field(min_length=1)
    scheduleExecutionId: str = Field(min_length=1)


class _OperatorEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    id: str = Field(min_length=1)
    source: Literal["mailwarden.operator"]
    detail_type: str = Field(alias="detail-type")
    detail: dict[str, Any]


def run_name(prefix: str, value: str) -> str:
    """``<prefix>-<value>`` made safe for a Step Functions execution name (80 characters)."""
    return f"{prefix}-{re.sub(r'[^A-Za-z0-9_-]', '-', value)}"[:80]


@dataclass(frozen=True)
class RunRequest:
    """A scheduled or on-demand run of a capability, as its trigger parsed it."""

    run_id: str
    trigger: str  # schedule | on-demand
    mode: str | None  # None: the policy's mode
    requested_by: str
    reason: str

    def input(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "trigger": self.trigger,
            "mode": self.mode,
            "requestedBy": self.requested_by,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class RunTrigger(Generic[D]):
    run_id: str  # schedule-<tick id> | ondemand-<event id>
    scheduled_time: str  # the tick's time; "" for an operator's event
    detail: D | None  # the operator's request; None for a tick


def run_trigger(raw: Any, detail_type: str, detail: type[D], what: str) -> RunTrigger[D]:
    """A schedule tick or an operator's ``detail_type`` event whose detail is a ``detail``; anything
    else raises :class:`MalformedEvent` naming ``what``, the field and the problem."""
    if not isinstance(raw, dict):
        raise MalformedEvent("input is not a JSON object")
    try:
        if raw.get("trigger") == "schedule":
            tick = ScheduleTick.model_validate(raw)
            return RunTrigger(run_name("schedule", tick.scheduleExecutionId), tick.scheduledTime, None)
        if raw.get("source") != OPERATOR_SOURCE:
            raise MalformedEvent(
                f"{what}: source: expected a schedule tick or a {OPERATOR_SOURCE} event, got {raw.get('source')!r}"
            )
        event = _OperatorEvent.model_validate(raw)
    except ValidationError as exc:
        raise malformed(what, exc) from exc
    if event.detail_type != detail_type:
        raise MalformedEvent(f"{what}: detail-type: expected {detail_type!r}, got {event.detail_type!r}")
    try:
        return RunTrigger(run_name("ondemand", event.id), "", detail.model_validate(event.detail))
    except ValidationError as exc:
        raise malformed(what, exc, "detail.") from exc
