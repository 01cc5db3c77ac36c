"""The health census behind the dashboard and the alarms (pure: reads are injected).

Counters say what happened; these gauges say how things stand: approvals waiting and for how long,
those about to expire, whether the kill switch is on, and MAIL FROM identities per SES status.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .clock import Clock
from .contracts.metrics import EXPIRING_SOON_SECONDS, MAIL_FROM_STATUSES


class Waiting(Protocol):
    @property
    def created_at(self) -> int: ...

    @property
    def expires_at(self) -> int: ...


class PendingApprovals(Protocol):
    def pending(self, now: float) -> Sequence[Waiting]:
        """Every request still PENDING and not yet expired at ``now``."""
        ...


class MailFromStatuses(Protocol):
    def statuses(self) -> Iterable[str]: ...


class Switch(Protocol):
    def engaged(self) -> bool: ...


@dataclass(frozen=True)
class Census:
    approvals_pending: int
    oldest_pending_age_seconds: int
    approvals_expiring_soon: int
    kill_switch_engaged: bool
    mail_from: dict[str, int]  # every MAIL_FROM_STATUSES key (0 when none); others as seen

    def as_dict(self) -> dict[str, Any]:
        return {
            "approvalsPending": self.approvals_pending,
            "oldestPendingApprovalAgeSeconds": self.oldest_pending_age_seconds,
            "approvalsExpiringSoon": self.approvals_expiring_soon,
            "killSwitchEngaged": self.kill_switch_engaged,
            "mailFrom": self.mail_from,
        }


def census(pending: Sequence[Waiting], now: int, engaged: bool, statuses: Iterable[str]) -> Census:
    seen = Counter(s or "UNKNOWN" for s in statuses)
    return Census(
        approvals_pending=len(pending),
        oldest_pending_age_seconds=max((now - r.created_at for r in pending), default=0),
        approvals_expiring_soon=sum(1 for r in pending if r.expires_at - now <= EXPIRING_SOON_SECONDS),
        kill_switch_engaged=engaged,
        mail_from={**dict.fromkeys(MAIL_FROM_STATUSES, 0), **seen},
    )


@dataclass(frozen=True)
class HealthCensus:
    approvals: PendingApprovals
    mail_from: MailFromStatuses
    switch: Switch
    clock: Clock

    def take(self) -> Census:
        now = int(self.clock.time())
        return census(self.approvals.pending(now), now, self.switch.engaged(), self.mail_from.statuses())
