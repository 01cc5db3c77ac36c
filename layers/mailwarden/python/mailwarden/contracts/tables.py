"""DynamoDB tables: keys, indexes and TTL attribute, in one place. CDK creates them from these
specs and ``local.deployment`` creates the same tables in moto."""

from __future__ import annotations

from dataclasses import dataclass

RETENTION_SECONDS = 400 * 24 * 3600  # items are purged (TTL) this long after they stop mattering


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True)
class TableSpec:
    name: str  # logical name; the deployed name comes from the function's environment
    env: str  # environment variable that carries the deployed name
    partition_key: str
    sort_key: str | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    numeric: tuple[str, ...] = ()  # key attributes that are numbers (epoch seconds); the rest are strings
    description: str = ""

    def attribute_type(self, name: str) -> str:
        """DynamoDB's scalar type letter for a key attribute: ``N`` or ``S``."""
        return "N" if name in self.numeric else "S"


APPROVALS = TableSpec(
    name="approvals",
    env="APPROVALS_TABLE",
    partition_key="id",
    indexes=(Index("by-state", "state", "expires_at"),),
    ttl_attribute="purge_at",
    numeric=("expires_at",),
    description="One item per approval request: what, why, who may decide, until when, state, the "
    "Step Functions task token (never leaves this table) and the decision.",
)

AUDIT = TableSpec(
    name="audit",
    env="AUDIT_TABLE",
    partition_key="subject",
    sort_key="at",
    ttl_attribute="purge_at",
    description="Append-only audit trail: every action, skipped action, decision and refused attempt.",
)

GUARD = TableSpec(
    name="guard",
    env="GUARD_TABLE",
    partition_key="pk",
    sort_key="sk",
    ttl_attribute="purge_at",
    description="Guard state: what Mailwarden did to each reputation entity, reconcile runs (checkpoint and "
    "decisions), the hourly count of event-driven disables, and the latest widening approval asked per Partner "
    "Central catalog.",
)

IDEMPOTENCY = TableSpec(
    name="idempotency",
    env="IDEMPOTENCY_TABLE",
    partition_key="id",
    ttl_attribute="expiration",
    description="Powertools idempotency records: an SES event id is processed once however often it arrives.",
)

OFFBOARDING = TableSpec(
    name="offboarding",
    env="OFFBOARDING_TABLE",
    partition_key="pk",
    sort_key="sk",
    ttl_attribute="purge_at",
    description="WorkMail offboarding: the snapshot of what each request removes (written once, before the "
    "first change) and each user's latest snapshot, which a restore re-applies.",
)

MAIL_FROM = TableSpec(
    name="mail-from",
    env="MAIL_FROM_TABLE",
    partition_key="identity",
    # sparse: only identities still watched carry "watch", so a run queries what is due and nothing else
    indexes=(Index("by-next-check", "watch", "next_check_at"),),
    ttl_attribute="purge_at",  # set once an identity is no longer watched
    numeric=("next_check_at",),
    description="Identities whose MAIL FROM Mailwarden set up: domain, hosted zone, SES status last seen, setup "
    "attempts, and when the watcher checks it next.",
)

TABLES: tuple[TableSpec, ...] = (APPROVALS, AUDIT, GUARD, IDEMPOTENCY, OFFBOARDING, MAIL_FROM)
