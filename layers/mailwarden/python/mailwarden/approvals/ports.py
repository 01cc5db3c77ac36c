"""What the approval use cases need from the outside world (adapters in ``mailwarden.aws``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .message import ApproverMessage
from .model import ApprovalRequest, Delivery, GateOutcome, State

# One audit record: subject, what, outcome, actor, reason, detail (``AuditTrail.record``'s arguments).
AuditEntry = tuple[str, str, str, str, str, dict[str, Any]]


class ApprovalStore(Protocol):
    def put_new(self, request: ApprovalRequest) -> bool:
        """Create the request unless one with its id exists; True if created."""
        ...

    def get(self, request_id: str) -> ApprovalRequest | None: ...

    def refresh_token(self, request_id: str, task_token: str) -> bool:
        """Replace the task token of a request whose decision has not reached the workflow (a
        retried task has a new one)."""
        ...

    def mark_notified(self, request_id: str, at: int) -> None: ...

    def record_decision(
        self, request_id: str, state: State, approver: str, via: str, comment: str, at: int, claim: str, until: int
    ) -> None:
        """PENDING and unexpired -> ``state`` with its delivery pending and claimed by ``claim``
        until ``until``, atomically; raises ``Conflict`` otherwise."""
        ...

    def claim(self, request_id: str, claim: str, now: int, until: int) -> ApprovalRequest | None:
        """Take the delivery of a recorded decision (delivery pending, no live claim) until
        ``until``; the request as claimed, or None if it is not pending or someone holds it."""
        ...

    def release(self, request_id: str, claim: str) -> None:
        """Give up claim ``claim`` (a failed send: the next attempt may take it at once)."""
        ...

    def finish(
        self,
        request_id: str,
        task_token: str,
        delivery: Delivery,
        state: State | None = None,
        audit: AuditEntry | None = None,
    ) -> bool:
        """Delivery pending with ``task_token`` -> ``delivery`` (and ``state``), with ``audit`` in
        the same transaction; False if it was no longer pending with that token."""
        ...

    def expire(self, request_id: str, at: int) -> bool:
        """The workflow stopped waiting: PENDING, or decided but not delivered, -> EXPIRED; False
        if neither (it was delivered, or already expired)."""
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

    def gate_outcome(self, execution_arn: str, gate: str) -> GateOutcome:
        """How the approval task of state ``gate`` in that execution ended (its history)."""
        ...


class Events(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any], resources: list[str]) -> None: ...
