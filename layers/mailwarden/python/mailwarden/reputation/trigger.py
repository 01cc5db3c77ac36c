"""What starts a reconcile run: the schedule's payload or an operator's event, validated.

Each run gets a deterministic id (the schedule tick's execution id, or the event id), used as the
Step Functions execution name, so a redelivered tick or event starts nothing new.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ..contracts.names import OperatorDetailType
from ..requests import RunRequest, run_trigger


class _Detail(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    mode: Literal["plan", "apply"]
    reason: str = Field(min_length=1, max_length=500)
    requestedBy: str = Field(min_length=1, max_length=200)


def run_request(raw: Any) -> RunRequest:
    t = run_trigger(raw, OperatorDetailType.RECONCILE_REQUESTED, _Detail, "reconcile request")
    if t.detail is None:
        return RunRequest(t.run_id, "schedule", None, "schedule", t.scheduled_time)
    return RunRequest(t.run_id, "on-demand", t.detail.mode, t.detail.requestedBy, t.detail.reason)


class Runs(Protocol):
    def running(self) -> str | None: ...

    def start(self, request: RunRequest) -> tuple[str, bool]: ...  # (execution ARN, newly started)
