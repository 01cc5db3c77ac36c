"""What the reputation guard needs from the outside world (implemented in ``mailwarden.aws``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .engine import Decision, Finding, GuardRecord
from .model import EntityState


class ReputationApi(Protocol):
    def list_entities(self, next_token: str | None) -> tuple[list[EntityState], str | None]: ...

    def get(self, reference: str) -> EntityState | None: ...

    def open_findings_page(self, token: str | None) -> tuple[list[Finding], str | None]: ...

    def findings(self, reference: str) -> list[Finding]: ...

    def tags(self, reference: str) -> dict[str, str]: ...

    # The writes raise NotFound (entity gone), Rejected (SES refused the request) or
    # UpdateInProgress (another update of the entity is being applied: try again later).
    def set_customer_status(self, reference: str, status: str) -> None: ...

    def set_policy(self, reference: str, tier: str) -> None: ...


@dataclass
class PlannedAction:
    key: str
    decision: Decision
    state: str  # PENDING | DONE


class GuardStore(Protocol):
    def records(self) -> dict[str, GuardRecord]: ...

    def record(self, entity: str) -> GuardRecord | None: ...

    def mark_disabled(self, entity: str, at: datetime, rule: str, by: str) -> None: ...

    def mark_reinstatement(self, entity: str, state: str, execution: str | None) -> None: ...

    def take_disable_slot(self, window: str, cap: int) -> bool: ...

    def load_run(self, run_id: str) -> dict[str, Any] | None: ...

    def save_run(self, run_id: str, state: dict[str, Any]) -> None: ...

    def put_findings(self, run_id: str, page: int, findings: list[Finding]) -> None: ...

    def findings(self, run_id: str) -> dict[str, list[Finding]]: ...

    def put_actions(self, run_id: str, decisions: list[Decision]) -> None: ...

    def actions(self, run_id: str) -> list[PlannedAction]: ...

    def mark_action_done(self, run_id: str, key: str) -> None: ...


class KillSwitch(Protocol):
    def engaged(self) -> bool: ...


class ReinstateStarter(Protocol):
    def start(self, decision: Decision, record: GuardRecord, request: dict[str, Any]) -> str: ...


class Reporter(Protocol):
    """Audit record + outbound event for each decision, and one summary per run."""

    def decisions(self, items: list[tuple[Decision, str, str]], context: dict[str, Any]) -> None: ...

    def run(self, summary: dict[str, Any]) -> None: ...
