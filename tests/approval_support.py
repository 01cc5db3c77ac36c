"""Helpers for approval tests: start the approval-check workflow and read what approvers got."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.deployment import LocalDeployment

OPS = "ops-lead@example.com"
SEC = "security@example.com"


def approval_request(**overrides: Any) -> dict[str, Any]:
    return {
        "action": "reputation.reinstate",
        "subject": "arn:aws:ses:us-east-1:123456789012:tenant/acme/t-0001",
        "summary": "Set the tenant's customer-managed status to REINSTATED so it can send again.",
        "reason": "All findings FIXED for 24 h",
        "requester": "reputation-guard",
        "plan": ["UpdateReputationEntityCustomerManagedStatus acme -> REINSTATED"],
        **overrides,
    }


@dataclass
class Pending:
    execution_arn: str
    mail: dict[str, list[dict[str, Any]]]  # approver -> messages

    def message(self, approver: str = OPS) -> dict[str, Any]:
        return self.mail[approver][-1]

    def link(self, decision: str = "approve", approver: str = OPS) -> str:
        return str(self.message(approver)["links"][decision])

    @property
    def request_id(self) -> str:
        return str(self.message(next(iter(self.mail)))["requestId"])


def start_approval(deployment: LocalDeployment, **overrides: Any) -> Pending:
    request = approval_request(**overrides)
    arn = deployment.start("approval-check", {"approvalRequest": request})
    return awaiting(deployment, arn, request.get("approvers") or list(deployment.approvers))


def awaiting(deployment: LocalDeployment, arn: str, approvers: list[str] | None = None) -> Pending:
    """The approval messages of execution ``arn``, once its workflow waits for a decision."""
    approvers = approvers or list(deployment.approvers)
    mail = deployment.wait_until(
        lambda: (
            (m := {a: [x for x in deployment.inbox(a) if x["executionArn"] == arn] for a in approvers})
            and all(m.values())
            and m
        ),
        "approval messages",
    )
    # Mail goes out while the task's invocation is still running: wait until the workflow waits.
    deployment.wait_until(lambda: deployment.waiting(arn), "the workflow to wait for a decision")
    return Pending(arn, mail)


def form(link: str, **extra: str) -> tuple[str, dict[str, str]]:
    """The confirmation page's form: where it posts and the fields it sends."""
    parts = urlsplit(link)
    fields = dict(parse_qsl(parts.query))
    return f"{parts.scheme}://{parts.netloc}{parts.path}", {**fields, **extra}


def tamper(link: str, **changes: str) -> str:
    base, fields = form(link)
    fields.update(changes)
    from urllib.parse import urlencode

    return f"{base}?{urlencode(fields)}"


def decide(deployment: LocalDeployment, pending: Pending, decision: str = "approve", approver: str = OPS) -> int:
    """An approver opens their link and confirms on the page (the POST); returns the HTTP status."""
    url, fields = form(pending.link(decision, approver))
    return deployment.http("POST", url, fields).status


def request_item(deployment: LocalDeployment, request_id: str) -> dict[str, Any]:
    """The approval record as stored (attribute -> its string or number)."""
    item = deployment.emu.client("dynamodb").get_item(
        TableName=deployment.tables["approvals"], Key={"id": {"S": request_id}}
    )["Item"]
    return {k: v.get("S", v.get("N")) for k, v in item.items()}


def audit(deployment: LocalDeployment, request_id: str) -> list[dict[str, Any]]:
    """The audit trail of one approval request."""
    from mailwarden.aws.audit import DynamoAuditTrail

    trail = DynamoAuditTrail(deployment.emu.client("dynamodb"), deployment.tables["audit"], deployment.emu.clock)
    return trail.entries(f"approval#{request_id}")
