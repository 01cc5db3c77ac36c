"""What the approval use cases need from the outside world (adapters in ``mailwarden.aws``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .message import ApproverMessage
from .model import ApprovalRequest, Delivery, State


class ApprovalStore(Protocol):
    def put_new(self, request: ApprovalRequest) -> bool:
        """Create the request unless one with its id exists; True if created."""
        ...

    def get(self, request_id: str) -> ApprovalRequest | None: ...

    def refresh_token(self, request_id: str, task_token: str) -> bool:
        """Replace the task token of a PENDING request (a retried task has a new one)."""
        ...

    def mark_notified(self, request_id: str, at: int) -> None: ...

    def record_decision(self, request_id: str, state: State, approver: str, via: str, comment: str, at: int) -> None:
        """PENDING and unexpired -> ``state`` atomically; raises ``Conflict`` otherwise."""
        ...

    def set_delivery(self, request_id: str, delivery: Delivery, state: State | None = None) -> None: ...

    def expire(self, request_id: str, at: int) -> bool:
        """PENDING -> EXPIRED; False if it was no longer pending."""
        ...


class AuditTrail(Protocol):
    def record(
        self, subject: str, what: str, outcome: str, actor: str, reason: str, detail: dict[str, Any]
    ) -> None: ...


class Notifier(Protocol):
    def publish(self, messages: Sequence[ApproverMessage]) -> None: ...


class TaskResumer(Protocol):
    def succeed(self, task_token: str, output: dict[str, Any]) -> None:
        """Raises ``TaskClosed`` or ``InvalidTaskToken``."""
        ...

    def fail(self, task_token: str, error: str, cause: dict[str, Any]) -> None: ...


class Events(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any], resources: list[str]) -> None: ...
