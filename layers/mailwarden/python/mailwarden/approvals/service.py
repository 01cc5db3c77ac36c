"""The approval use cases: request, expire, view (GET: never decides) and decide (POST or SNS)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from ..clock import Clock, iso
from ..contracts.functions import APPROVAL_CALLBACK
from ..contracts.names import MailwardenDetailType
from ..contracts.workflows import REJECTED_ERROR
from ..errors import Conflict, InvalidTaskToken, TaskClosed, Unavailable
from .message import compose
from .model import (
    ApprovalRequest,
    Attempt,
    Decision,
    Delivery,
    GateOutcome,
    Outcome,
    Refusal,
    RequestTask,
    State,
    TimedOutTask,
    normalize_email,
    request_id,
    valid_request_id,
)
from .ports import ApprovalStore, AuditEntry, AuditTrail, Events, Notifier, TaskResumer
from .signing import Links, LinkSigner

# A delivery is claimed for as long as the function holding the claim can run: a claim whose
# holder died (its Lambda timed out) lapses when that Lambda would have been stopped anyway.
CLAIM_SECONDS = APPROVAL_CALLBACK.timeout_seconds
_STATES = {Decision.APPROVE: State.APPROVED, Decision.REJECT: State.REJECTED}
_DECIDED = (Refusal.ALREADY_DECIDED, "Already decided.")


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
        """The gate's timeout branch: the workflow no longer waits, so the request is EXPIRED, also
        when a decision was recorded but never reached it (the record must not say APPROVED)."""
        rid = request_id(task.execution_arn, task.gate)
        if self._expire(rid, task.execution_arn, "stepfunctions", "task timed out"):
            return {"requestId": rid, "state": State.EXPIRED.value}
        request = self.store.get(rid)
        return {"requestId": rid, "state": request.state.value if request else "UNKNOWN"}

    def _expire(self, rid: str, execution_arn: str, actor: str, reason: str) -> bool:
        """Mark the request EXPIRED (audited, announced) unless it already is or was delivered."""
        if not self.store.expire(rid, int(self.clock.time())):
            return False
        request = self.store.get(rid)
        detail = request.public() if request else {"requestId": rid}
        undelivered = {"undeliveredDecision": request.decided_by} if request and request.decided_by else {}
        self.audit.record(audit_subject(rid), "approval.expired", "expired", actor, reason, undelivered)
        self.events.publish(MailwardenDetailType.APPROVAL_EXPIRED, detail, [execution_arn])
        return True

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
        """Record the attempt's decision if the request still waits for one, then deliver the
        recorded decision to the workflow. Exactly one decision is ever recorded (the conditional
        write), and exactly one caller at a time may deliver it (the claim): a double click or 30
        approvers at once send the token once. A decision recorded but not delivered (its caller
        failed or died) is delivered by whoever comes next, once the claim has lapsed."""
        request, refusal = self._check_link(attempt, deciding=True)
        if refusal is not None:
            return refusal
        assert request is not None
        now = int(self.clock.time())
        claim = secrets.token_hex(8)
        claimed: ApprovalRequest | None = None
        if request.state is State.PENDING:
            closed = self._undecidable(request, attempt)
            if closed is not None:
                if request.expired(now):  # its workflow no longer waits (timed out, or stopped): say so
                    self._expire(request.id, request.execution_arn, "mailwarden", "past its expiry, undecided")
                    request = self.store.get(request.id) or request
                return self._refuse(attempt, *closed, request)
            state = _STATES[attempt.decision]
            try:
                self.store.record_decision(
                    request.id, state, attempt.approver, attempt.via, attempt.comment, now, claim, now + CLAIM_SECONDS
                )
                claimed = request.with_(
                    state=state,
                    delivery=Delivery.PENDING,
                    decided_by=attempt.approver,
                    decided_at=now,
                    decided_via=attempt.via,
                    comment=attempt.comment,
                    sending_until=now + CLAIM_SECONDS,
                )
            except Conflict:  # someone else's decision, or the expiry, won the conditional write
                request = self.store.get(request.id) or request
        if claimed is None and request.delivery is Delivery.PENDING:
            claimed = self.store.claim(request.id, claim, now, now + CLAIM_SECONDS)
        if claimed is None:
            why = self._undecidable(request, attempt) or _DECIDED
            return self._refuse(attempt, *why, request)
        return self._deliver(attempt, claimed, claim)

    def _deliver(self, attempt: Attempt, request: ApprovalRequest, claim: str) -> Outcome:
        """Resume the workflow with ``request``'s recorded decision (this caller holds ``claim``).
        A failure before the delivery's end is recorded gives the claim up: the next attempt may
        finish it at once (the send may have reached the workflow: ``_resume`` tells)."""
        try:
            return self._delivered(attempt, request)
        except Exception:
            with suppress(Exception):  # if even this fails, the claim lapses after CLAIM_SECONDS
                self.store.release(request.id, claim)  # a no-op once the delivery's end is recorded
            raise

    def _delivered(self, attempt: Attempt, request: ApprovalRequest) -> Outcome:
        delivery, request = self._resume(request)
        if delivery is Delivery.TOO_LATE:
            self.store.finish(request.id, request.task_token, Delivery.TOO_LATE, State.EXPIRED)
            return self._refuse(
                attempt,
                Refusal.TOO_LATE,
                "Too late: the workflow stopped waiting (its task timed out, or it was stopped), so nothing was "
                "resumed.",
                request.with_(state=State.EXPIRED, delivery=Delivery.TOO_LATE),
            )
        if delivery is Delivery.INVALID_TOKEN:
            self.store.finish(request.id, request.task_token, Delivery.INVALID_TOKEN)
            return self._refuse(
                attempt,
                Refusal.INVALID_TOKEN,
                "Step Functions rejected this request's task token; nothing was resumed. Operators are alerted.",
                request.with_(delivery=Delivery.INVALID_TOKEN),
            )
        verb = "approve" if request.state is State.APPROVED else "reject"
        detail = {"via": request.decided_via, "source": attempt.source, "state": request.state.value}
        if attempt.approver != request.decided_by:
            detail["deliveredOn"] = f"an attempt by {attempt.approver}"  # the decider's own call failed
        entry: AuditEntry = (
            audit_subject(request.id),
            f"approval.{verb}",
            "accepted",
            request.decided_by or "-",
            request.comment or "",
            detail,
        )
        if self.store.finish(request.id, request.task_token, Delivery.DELIVERED, audit=entry):
            request = request.with_(delivery=Delivery.DELIVERED, sending_until=None)
            self.events.publish(
                MailwardenDetailType.APPROVAL_DECIDED,
                {**request.public(), "comment": request.comment},
                [request.execution_arn],
            )
        else:  # another caller recorded the delivery's end (and its audit record): say what the record says
            request = self.store.get(request.id) or request
        mine = request.decided_by == attempt.approver and request.state is _STATES[attempt.decision]
        if not (mine and request.delivery is Delivery.DELIVERED):
            return self._refuse(attempt, *(self._undecidable(request, attempt) or _DECIDED), request)
        verbed = "approved" if request.state is State.APPROVED else "rejected"
        return Outcome(
            True, f"Recorded: {attempt.approver} {verbed} {request.action} on {request.subject}.", None, request
        )

    def _resume(self, request: ApprovalRequest) -> tuple[Delivery, ApprovalRequest]:
        """SendTaskSuccess / SendTaskFailure with the recorded decision: whether it reached the
        workflow. ``TaskTimedOut`` alone does not say: a send before ours (whose caller died before
        recording it) also closes the task. The execution's history does."""
        if self.resumer is None:
            raise RuntimeError("this deployment cannot resume workflows (no resumer)")
        for _ in range(3):
            try:
                self._send(request)
                return Delivery.DELIVERED, request
            except InvalidTaskToken:
                return Delivery.INVALID_TOKEN, request
            except TaskClosed:
                ended = self.resumer.gate_outcome(request.execution_arn, request.gate)
            if ended is not GateOutcome.WAITING:
                expected = GateOutcome.APPROVED if request.state is State.APPROVED else GateOutcome.REJECTED
                return (Delivery.DELIVERED if ended is expected else Delivery.TOO_LATE), request
            # The gate waits on a newer token: its task was retried after ours was stored.
            latest = self.store.get(request.id)
            if latest is None or latest.task_token == request.task_token:
                break
            request = request.with_(task_token=latest.task_token)
        raise Unavailable("the workflow still waits but refused the stored task token; submit again")

    def _send(self, request: ApprovalRequest) -> None:
        assert self.resumer is not None
        decision = {
            "requestId": request.id,
            "decision": request.state.value,
            "approver": request.decided_by,
            "decidedAt": iso(request.decided_at or 0),
            "via": request.decided_via,
            "comment": request.comment or "",
        }
        if request.state is State.APPROVED:
            self.resumer.succeed(request.task_token, decision)
        else:
            self.resumer.fail(request.task_token, REJECTED_ERROR, decision)

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
        if attempt.approver not in {normalize_email(a) for a in self.approvers}:  # checked now, not at request time
            return None, self._refuse(
                attempt,
                Refusal.REVOKED,
                f"{attempt.approver} is no longer an approver (removed from the configured approvers); "
                "nothing was done.",
                request,
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
            note = " It is being delivered to the workflow." if request.delivery is Delivery.PENDING else ""
            return (
                Refusal.ALREADY_DECIDED,
                f"Already {verb} by {request.decided_by} at {when} UTC. Links work once.{note}",
            )
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
