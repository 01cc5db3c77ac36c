"""Reputation entity state and the seed-001 status semantics (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Status = Literal["ENABLED", "REINSTATED", "DISABLED"]


def aggregate_status(customer: Status, ses_managed: Status) -> Status:
    """Seed 001: DISABLED if either record is DISABLED; a customer REINSTATED lets the entity send
    despite findings, but never overrides an SES-managed DISABLED."""
    if "DISABLED" in (customer, ses_managed):
        return "DISABLED"
    if customer == "REINSTATED":
        return "REINSTATED"
    return "ENABLED"


@dataclass(frozen=True)
class EntityState:
    reference: str
    policy: str
    customer_status: Status
    ses_status: Status
    aggregate: Status
    impact: Literal["LOW", "HIGH"] | None = None
    customer_updated: datetime | None = None  # when the customer-managed status last changed
    ses_cause: str | None = None

    @property
    def name(self) -> str:
        """Tenant name from ``arn:aws:ses:<region>:<acct>:tenant/<name>/<id>`` (else the reference)."""
        parts = self.reference.split(":", 5)[-1].split("/")
        return parts[1] if len(parts) >= 3 and parts[0] == "tenant" else self.reference

    @property
    def policy_tier(self) -> str:
        return self.policy.rsplit("/", 1)[-1]

    @property
    def paused_by_ses(self) -> bool:
        return self.ses_status == "DISABLED"
