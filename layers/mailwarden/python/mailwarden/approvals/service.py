"""The approval use cases: request, expire, view (GET: never decides) and decide (POST or SNS)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..clock import Clock, iso
from ..contracts.names import MailwardenDetailType
from ..contracts.workflows import REJECTED_ERROR
from ..errors import Conflict, InvalidTaskToken, TaskClosed
from .message import compose
from .model import (
    ApprovalRequest,
    Attempt,
    Decision,
    Delivery,
    Outcome,
    Refusal,
    RequestTask,
    State,
    TimedOutTask,
    normalize_email,
    request_id,
    valid_request_id,
)
from .ports import ApprovalStore, AuditTrail, Events, Notifier, TaskResumer
from .signing import Links, LinkSigner


def audit_subject(request_id: str) -> str:
    return f"approval#{request_id}"


@dataclass
class Approvals:
    """All approval use cases over the same ports."""

    store: ApprovalStore
    audit: AuditTrail
    events: Events
    clock: Clock
    signer: Callable[[], LinkSigner]
    approvers: Sequence[str]  # who is subscribed (configured); a request may name a subset
    notifier: Notifier | None = None
    resumer: TaskResumer | None = None
    base_url: str = ""

    # ------------------------------------------------------------------ request

    def request(self, task: RequestTask) -> dict[str, Any]:
        spec = task.request
        configured = sorted({normalize_email(a) for a in self.approvers})
        chosen = spec.approvers or configured
        unknown = sorted(set(chosen) - set(configured))
        if not configured:
            raise ValueError("no approvers are configured (mailwarden:approverEmails): nobody could approve")
        if unknown:
            raise ValueError(f"approvers {unknown} are not configured approvers, so they would get no message")
        if normalize_email(spec.requester) in chosen and len(chosen) == 1:
            raise ValueError("the only approver is the requester: someone else must be able to approve")
        now = int(self.clock.time())
        request = ApprovalRequest(
            id=request_id(task.execution_arn, task.gate),
            action=spec.action,
            subject=spec.subject,
            summary=spec.summary,
            reason=spec.reason,
            requester=spec.requester,
            plan=spec.plan,
            approvers=tuple(chosen),
            created_at=now,
            expires_at=now + task.timeout_seconds,
            execution_arn=task.execution_arn,
            gate=task.gate,
            task_token=task.task_token,
        )
        if not self.store.put_new(request):
            existing = self.store.get(request.id)
            assert existing is not None
            if existing.task_token != task.task_token:
                self.store.refresh_token(request.id, task.task_token)  # a retried task: resume with the new token
            request = existing
        if request.state is State.PENDING and request.notified_at is None:
            self._notify(request, now)
        return {"requestId": request.id, "state": request.state.value, "expiresAt": iso(request.expires_at)}

    def _notify(self, request: ApprovalRequest, now: int) -> None:
        if self.notifier is None:
            raise RuntimeError("this deployment cannot send approval requests (no notifier)")
        links = Links(self.base_url, self.signer())
        self.notifier.publish([compose(request, approver, links) for approver in request.approvers])
        self.store.mark_notified(request.id, now)
        self.audit.record(
            audit_subject(request.id),
            "approval.requested",
            "notified",
            request.requester,
            request.reason,
            {k: v for k, v in request.public().items() if k != "plan"},
        )
        self.events.publish(MailwardenDetailType.APPROVAL_REQUESTED, request.public(), [request.execution_arn])

    # ------------------------------------------------------------------ timeout

    def timed_out(self, task: TimedOutTask) -> dict[str, Any]:
        rid = request_id(task.execution_arn, task.gate)
        now = int(self.clock.time())
        if self.store.expire(rid, now):
            request = self.store.get(rid)
            detail = request.public() if request else {"requestId": rid}
            self.audit.record(audit_subject(rid), "approval.expired", "expired", "stepfunctions", "task timed out", {})
            self.events.publish(MailwardenDetailType.APPROVAL_EXPIRED, detail, [task.execution_arn])
            return {"requestId": rid, "state": State.EXPIRED.value}
        request = self.store.get(rid)
        return {"requestId": rid, "state": request.state.value if request else "UNKNOWN"}

    # ------------------------------------------------------------------ view (GET)

    def view(self, attempt: Attempt) -> Outcome:
        """What a confirmation page shows. Read-only: mail scanners prefetch links."""
        request, refusal = self._check_link(attempt, deciding=False)
        if refusal is not None:
            return refusal
        assert request is not None
        closed = self._undecidable(request, attempt)
        if closed is not None:
            return Outcome(False, closed[1], closed[0], request)  # shown, not audited: viewing is harmless
        return Outcome(True, "Confirm your decision.", None, request)

    # ------------------------------------------------------------------ decide (POST / SNS)

    def decide(self, attempt: Attempt) -> Outcome:
        request, refusal = self._check_link(attempt, deciding=True)
        if refusal is not None:
            return refusal
        assert request is not None
        now = self.clock.time()
        state = State.APPROVED if attempt.decision is Decision.APPROVE else State.REJECTED
        resuming = (
            request.state is state and request.delivery is Delivery.PENDING and request.decided_by == attempt.approver
        )
        if not resuming:
            closed = self._undecidable(request, attempt)
            if closed is not None:
                return self._refuse(attempt, *closed, request)
            try:
                self.store.record_decision(request.id, state, attempt.approver, attempt.via, attempt.comment, int(now))
            except Conflict:  # someone else's decision, or the expiry, won the conditional write
                latest = self.store.get(request.id) or request
                why = self._undecidable(latest, attempt) or (Refusal.ALREADY_DECIDED, "Already decided.")
                return self._refuse(attempt, *why, latest)
            request = request.with_(
                state=state,
                delivery=Delivery.PENDING,
                decided_by=attempt.approver,
                decided_at=int(now),
                decided_via=attempt.via,
                comment=attempt.comment,
            )
        return self._deliver(attempt, request)

    def _deliver(self, attempt: Attempt, request: ApprovalRequest) -> Outcome:
        if self.resumer is None:
            raise RuntimeError("this deployment cannot resume workflows (no resumer)")
        decision = {
            "requestId": request.id,
            "decision": request.state.value,
            "approver": request.decided_by,
            "decidedAt": iso(request.decided_at or 0),
            "via": request.decided_via,
            "comment": request.comment or "",
        }
        try:
            if request.state is State.APPROVED:
                self.resumer.succeed(request.task_token, decision)
            else:
                self.resumer.fail(request.task_token, REJECTED_ERROR, decision)
        except TaskClosed:
            self.store.set_delivery(request.id, Delivery.TOO_LATE, State.EXPIRED)
            return self._refuse(
                attempt,
                Refusal.TOO_LATE,
                "Too late: the workflow stopped waiting (its task timed out), so nothing was resumed.",
                request,
            )
        except InvalidTaskToken:
            self.store.set_delivery(request.id, Delivery.INVALID_TOKEN)
            return self._refuse(
                attempt,
                Refusal.INVALID_TOKEN,
                "Step Functions rejected this request's task token; nothing was resumed. Operators are alerted.",
                request,
            )
        self.store.set_delivery(request.id, Delivery.DELIVERED)
        request = request.with_(delivery=Delivery.DELIVERED)
        self.audit.record(
            audit_subject(request.id),
            f"approval.{attempt.decision.value}",
            "accepted",
            attempt.approver,
            attempt.comment,
            {"via": attempt.via, "source": attempt.source, "state": request.state.value},
        )
        self.events.publish(
            MailwardenDetailType.APPROVAL_DECIDED,
            {**request.public(), "comment": request.comment},
            [request.execution_arn],
        )
        verb = "approved" if request.state is State.APPROVED else "rejected"
        return Outcome(
            True, f"Recorded: {attempt.approver} {verb} {request.action} on {request.subject}.", None, request
        )

    # ------------------------------------------------------------------ checks

    def _check_link(self, attempt: Attempt, *, deciding: bool) -> tuple[ApprovalRequest | None, Outcome | None]:
        if not valid_request_id(attempt.request_id):
            return None, self._refuse(attempt, Refusal.MALFORMED, "This is not a Mailwarden approval link.")
        signer = self.signer()
        if not signer.verify(
            attempt.request_id, attempt.decision, attempt.approver, attempt.expires, attempt.signature
        ):
            return None, self._refuse(
                attempt,
                Refusal.FORGED,
                "This link's signature does not match: it was altered or not issued by Mailwarden. Nothing was done.",
            )
        request = self.store.get(attempt.request_id)
        if request is None:
            return None, self._refuse(attempt, Refusal.UNKNOWN, "There is no such approval request.")
        if attempt.approver not in request.approvers:
            return None, self._refuse(
                attempt, Refusal.NOT_ALLOWED, f"{attempt.approver} is not an approver of this request.", request
            )
        if deciding and normalize_email(request.requester) == attempt.approver:
            return None, self._refuse(
                attempt, Refusal.SELF_APPROVAL, "The requester cannot decide their own request.", request
            )
        return request, None

    def _undecidable(self, request: ApprovalRequest, attempt: Attempt) -> tuple[Refusal, str] | None:
        """Why ``request`` can take no decision now (timed out, decided, past its expiry), if so."""
        if request.state is State.EXPIRED:
            when = iso(request.expires_at)
            return Refusal.EXPIRED, f"This request expired at {when} UTC without a decision; nothing was resumed."
        if request.state is not State.PENDING:
            when = iso(request.decided_at) if request.decided_at else "?"
            verb = request.state.value.lower()
            return Refusal.ALREADY_DECIDED, f"Already {verb} by {request.decided_by} at {when} UTC. Links work once."
        now = self.clock.time()
        if request.expired(now) or attempt.expires <= now:
            return Refusal.EXPIRED, f"This request expired at {iso(request.expires_at)} UTC."
        return None

    def _refuse(
        self, attempt: Attempt, refusal: Refusal, message: str, request: ApprovalRequest | None = None
    ) -> Outcome:
        detail = {
            "requestId": attempt.request_id,
            "decision": attempt.decision.value,
            "approver": attempt.approver,
            "via": attempt.via,
            "source": attempt.source,
            "refusal": refusal.value,
            "reason": message,
        }
        self.audit.record(
            audit_subject(attempt.request_id),
            f"approval.{attempt.decision.value}",
            "refused",
            attempt.approver,
            message,
            detail,
        )
        resources = [request.execution_arn] if request else []
        self.events.publish(MailwardenDetailType.APPROVAL_REFUSED, detail, resources)
        return Outcome(False, message, refusal, request)
