"""The approval-request message: a readable email for a person and a JSON form for bots.

One message per allowed approver, each carrying only that approver's signed links, routed by the
``approver`` message attribute (each email subscription has a filter policy on it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..clock import iso
from .model import ApprovalRequest, Decision, plan_lines
from .signing import Links

SUBJECT_MAX = 100  # SNS email subject limit
MESSAGE_KIND = "mailwarden.approval-request"


@dataclass(frozen=True)
class ApproverMessage:
    approver: str
    subject: str
    text: str  # the email body
    document: dict[str, Any]  # the JSON form (sqs / lambda / https / email-json subscribers)

    def sns_message(self) -> str:
        """``MessageStructure=json`` body: the text for email, the JSON for everything else."""
        doc = json.dumps(self.document, default=str)
        return json.dumps(
            {"default": doc, "email": self.text, "email-json": doc, "sqs": doc, "lambda": doc, "https": doc}
        )


def render_plan(plan: Any) -> str:
    bullet = "- " if isinstance(plan, list) and plan and all(isinstance(x, str) for x in plan) else ""
    return "\n".join(f"  {bullet}{line}" for line in plan_lines(plan))


def _subject(request: ApprovalRequest) -> str:
    subject = f"[Mailwarden] Approval needed: {request.action} on {request.subject}"
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 1] + "…"


def compose(request: ApprovalRequest, approver: str, links: Links) -> ApproverMessage:
    approve = links.link(request.id, Decision.APPROVE, approver, request.expires_at)
    reject = links.link(request.id, Decision.REJECT, approver, request.expires_at)
    text = "\n".join(
        [
            f"Mailwarden asks {approver} to approve an action.",
            "",
            f"What will happen: {request.summary}",
            f"Why:              {request.reason}",
            f"To what:          {request.subject}",
            f"Action:           {request.action}",
            f"Requested by:     {request.requester}",
            f"Decide before:    {iso(request.expires_at)} (UTC). After that the request expires and nothing happens.",
            "",
            "Plan:",
            render_plan(request.plan),
            "",
            f"Approve: {approve}",
            "",
            f"Reject:  {reject}",
            "",
            "Each link opens a confirmation page; nothing is decided until you press the button on that page.",
            "These links are yours alone and work once: do not forward this message.",
            f"Request id: {request.id}",
        ]
    )
    document = {
        "version": 1,
        "kind": MESSAGE_KIND,
        **{k: v for k, v in request.public().items() if k not in ("decidedBy", "decidedAt", "decidedVia")},
        "approver": approver,
        "expires": request.expires_at,
        "links": {"approve": approve, "reject": reject},
        # What a bot puts in its approval-decisions message for this approver.
        "signatures": {
            "approve": links.signer.sign(request.id, Decision.APPROVE, approver, request.expires_at),
            "reject": links.signer.sign(request.id, Decision.REJECT, approver, request.expires_at),
        },
        "text": text,
    }
    return ApproverMessage(approver=approver, subject=_subject(request), text=text, document=document)
