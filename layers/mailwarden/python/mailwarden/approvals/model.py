"""Approval requests, decisions and the refusals a decision attempt can meet."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..clock import iso
from ..contracts.tables import RETENTION_SECONDS

MAX_PLAN_BYTES = 16_000  # keeps every SNS message (limit 256 KB) and DynamoDB item small
MIN_TIMEOUT = 60
MAX_TIMEOUT = 365 * 24 * 3600  # Step Functions Standard runs for at most a year
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class State(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"  # timed out before a decision reached the workflow


class Delivery(StrEnum):
    """Whether the recorded decision reached the waiting workflow."""

    NONE = "none"  # no decision yet
    PENDING = "pending"  # recorded, SendTask* not yet confirmed (a retry resumes it)
    DELIVERED = "delivered"
    TOO_LATE = "too_late"  # Step Functions said TaskTimedOut: the workflow no longer waits
    INVALID_TOKEN = "invalid_token"  # Step Functions rejected the stored token


class GateOutcome(StrEnum):
    """How the workflow's approval gate ended, as its execution history tells (the truth a
    ``TaskTimedOut`` answer alone cannot give: an earlier send may have resumed it)."""

    WAITING = "waiting"  # the gate still waits (on a newer task token than the one sent)
    APPROVED = "approved"  # resumed by SendTaskSuccess
    REJECTED = "rejected"  # resumed by SendTaskFailure with the rejection
    CLOSED = "closed"  # ended without a decision: timed out, or the execution stopped or failed


class Refusal(StrEnum):
    """Why a view or decision attempt was refused (each maps to one HTTP status)."""

    MALFORMED = "malformed"
    FORGED = "forged"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    NOT_ALLOWED = "not_allowed"
    REVOKED = "revoked"  # the approver was removed from the configured approvers after the request went out
    SELF_APPROVAL = "self_approval"
    ALREADY_DECIDED = "already_decided"
    TOO_LATE = "too_late"
    INVALID_TOKEN = "invalid_token"


HTTP_STATUS = {
    Refusal.MALFORMED: 400,
    Refusal.FORGED: 403,
    Refusal.UNKNOWN: 404,
    Refusal.EXPIRED: 410,
    Refusal.NOT_ALLOWED: 403,
    Refusal.REVOKED: 403,
    Refusal.SELF_APPROVAL: 403,
    Refusal.ALREADY_DECIDED: 409,
    Refusal.TOO_LATE: 410,
    Refusal.INVALID_TOKEN: 502,
}


def normalize_email(value: str) -> str:
    return value.strip().lower()


class RequestSpec(BaseModel):
    """What a workflow asks a human to approve (the ``request`` of the waitForTaskToken payload)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    action: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.-]*$")
    subject: str = Field(min_length=1, max_length=512, description="what the action applies to")
    summary: str = Field(min_length=1, max_length=1000, description="what will happen when approved")
    reason: str = Field(min_length=1, max_length=1000, description="why it is asked")
    requester: str = Field(min_length=1, max_length=256)
    plan: Any = None  # the plan or diff, shown verbatim to the approver
    approvers: list[str] | None = None  # default: every configured approver

    @field_validator("plan")
    @classmethod
    def _plan_size(cls, v: Any) -> Any:
        if v is not None and len(json.dumps(v, default=str)) > MAX_PLAN_BYTES:
            raise ValueError(f"plan is larger than {MAX_PLAN_BYTES} bytes; summarize it")
        return v

    @field_validator("approvers")
    @classmethod
    def _approvers(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        bad = [a for a in v if not _EMAIL.match(a)]
        if bad:
            raise ValueError(f"approvers must be email addresses: {bad}")
        if not v:
            raise ValueError("approvers, when given, must not be empty")
        return sorted({normalize_email(a) for a in v})


class RequestTask(BaseModel):
    """The waitForTaskToken payload ``approval_gate`` sends."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    kind: str = Field(pattern="^request$")
    task_token: str = Field(alias="taskToken", min_length=1, max_length=1024)
    execution_arn: str = Field(alias="executionArn", pattern=r"^arn:aws[a-z-]*:states:")
    gate: str = Field(min_length=1, max_length=80)
    timeout_seconds: int = Field(alias="timeoutSeconds", ge=MIN_TIMEOUT, le=MAX_TIMEOUT)
    request: RequestSpec


class TimedOutTask(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    kind: str = Field(pattern="^timed_out$")
    execution_arn: str = Field(alias="executionArn", pattern=r"^arn:aws[a-z-]*:states:")
    gate: str = Field(min_length=1, max_length=80)


def request_id(execution_arn: str, gate: str) -> str:
    """Deterministic per (execution, gate): a retried task (new token) finds its own request."""
    digest = hashlib.sha256(f"{execution_arn}\n{gate}".encode()).digest()
    return "apr-" + base64.b32encode(digest).decode().lower().rstrip("=")[:26]


_ID = re.compile(r"^apr-[a-z2-7]{26}$")


def valid_request_id(value: str) -> bool:
    return bool(_ID.match(value))


@dataclass(frozen=True)
class ApprovalRequest:
    id: str
    action: str
    subject: str
    summary: str
    reason: str
    requester: str
    plan: Any
    approvers: tuple[str, ...]
    created_at: int  # epoch seconds
    expires_at: int
    execution_arn: str
    gate: str
    task_token: str  # never leaves the store: not in links, messages, events or logs
    state: State = State.PENDING
    delivery: Delivery = Delivery.NONE
    notified_at: int | None = None
    decided_by: str | None = None
    decided_at: int | None = None
    decided_via: str | None = None
    comment: str | None = None
    sending_until: int | None = None  # a delivery is in flight (claimed) until then
    history: tuple[dict[str, Any], ...] = field(default=())

    @property
    def purge_at(self) -> int:
        return self.expires_at + RETENTION_SECONDS

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    def with_(self, **changes: Any) -> ApprovalRequest:
        return replace(self, **changes)

    def public(self) -> dict[str, Any]:
        """Everything but the task token: what events, pages and bots may see."""
        return {
            "requestId": self.id,
            "action": self.action,
            "subject": self.subject,
            "summary": self.summary,
            "reason": self.reason,
            "requester": self.requester,
            "plan": self.plan,
            "approvers": list(self.approvers),
            "createdAt": iso(self.created_at),
            "expiresAt": iso(self.expires_at),
            "state": self.state.value,
            "decidedBy": self.decided_by,
            "decidedAt": iso(self.decided_at) if self.decided_at else None,
            "decidedVia": self.decided_via,
            "executionArn": self.execution_arn,
        }


def plan_lines(plan: Any) -> list[str]:
    """A plan as an approver reads it: its lines if it is a list of strings, else indented JSON."""
    if plan is None:
        return ["(no plan attached)"]
    if isinstance(plan, list) and all(isinstance(x, str) for x in plan):
        return list(plan) or ["(empty)"]
    return json.dumps(plan, indent=2, sort_keys=True, default=str).splitlines()


@dataclass(frozen=True)
class Attempt:
    """A signed view or decision attempt, from a link (GET/POST) or an SNS message."""

    request_id: str
    decision: Decision
    approver: str
    expires: int
    signature: str
    via: str  # "link" | "sns"
    comment: str = ""
    source: str = ""  # source IP / user agent, or SNS message id: for the audit trail


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    message: str
    refusal: Refusal | None = None
    request: ApprovalRequest | None = None

    @property
    def status(self) -> int:
        return 200 if self.accepted else HTTP_STATUS[self.refusal or Refusal.MALFORMED]
