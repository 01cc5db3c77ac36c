"""What starts a reconcile run: the schedule's payload or an operator's event, validated.

Each run gets a deterministic id (the schedule tick's execution id, or the event id), used as the
Step Functions execution name, so a redelivered tick or event starts nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..contracts.names import OPERATOR_SOURCE, OperatorDetailType
from ..errors import MalformedEvent, malformed
from ..requests import ScheduleTick, run_name


@dataclass(frozen=True)
class RunRequest:
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


class _Detail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["plan", "apply"]
    reason: str = Field(min_length=1, max_length=500)
    requestedBy: str = Field(min_length=1, max_length=200)


class _OperatorEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    id: str = Field(min_length=1)
    source: Literal["mailwarden.operator"]
    detail_type: Literal[OperatorDetailType.RECONCILE_REQUESTED] = Field(alias="detail-type")
    detail: _Detail


def run_request(raw: Any) -> RunRequest:
    if not isinstance(raw, dict):
        raise MalformedEvent("input is not a JSON object")
    try:
        if raw.get("trigger") == "schedule":
            tick = ScheduleTick.model_validate(raw)
            name = run_name("schedule", tick.scheduleExecutionId)
            return RunRequest(name, "schedule", None, "schedule", tick.scheduledTime)
        if raw.get("source") != OPERATOR_SOURCE:
            raise MalformedEvent(f"expected a schedule tick or a {OPERATOR_SOURCE} event, got {raw.get('source')!r}")
        e = _OperatorEvent.model_validate(raw)
    except ValidationError as exc:
        raise malformed("reconcile request", exc) from exc
    return RunRequest(run_name("ondemand", e.id), "on-demand", e.detail.mode, e.detail.requestedBy, e.detail.reason)


class Runs(Protocol):
    def running(self) -> str | None: ...

    def start(self, request: RunRequest) -> tuple[str, bool]: ...  # (execution ARN, newly started)
