"""WorkMail requests (offboard, restore, decommission) from EventBridge: parsed, validated, then a
dry-run plan or one workflow execution named after the request (a redelivered event starts nothing).
Anything that must not run is rejected before a single change, with the reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from ..contracts.names import IDENTITY_SOURCE, OPERATOR_SOURCE, MailwardenDetailType, OperatorDetailType
from ..errors import MalformedEvent, Rejected, parsed
from .exit import ExitRequest, ExitRollbackRequest, dry_run_id
from .model import DecommissionRequest, OffboardRequest, RestoreRequest
from .offboarding import Offboarding
from .ports import ExitStore

IN_FLIGHT = ("RUNNING", "PENDING_REDRIVE")  # Step Functions execution states that may still change WorkMail

_MODELS: dict[str, type[BaseModel]] = {
    OperatorDetailType.OFFBOARD_REQUESTED: OffboardRequest,
    OperatorDetailType.RESTORE_REQUESTED: RestoreRequest,
    OperatorDetailType.DECOMMISSION_REQUESTED: DecommissionRequest,
    OperatorDetailType.EXIT_REQUESTED: ExitRequest,
    OperatorDetailType.EXIT_ROLLBACK_REQUESTED: ExitRollbackRequest,
}
AnyRequest = OffboardRequest | RestoreRequest | DecommissionRequest | ExitRequest | ExitRollbackRequest
WORKFLOW_OF: dict[type, str] = {OffboardRequest: "offboard", DecommissionRequest: "decommission"}


@dataclass(frozen=True)
class Parsed:
    request_id: str
    request: AnyRequest


def parse(raw: Any) -> Parsed:
    """The request in an EventBridge event, or ``MalformedEvent`` naming the first problem."""
    if not isinstance(raw, dict) or not isinstance(raw.get("detail"), dict):
        raise MalformedEvent("not an EventBridge event with a JSON detail")
    if raw.get("source") not in (OPERATOR_SOURCE, IDENTITY_SOURCE):
        raise MalformedEvent(f"source {raw.get('source')!r} may not request WorkMail changes")
    model = _MODELS.get(str(raw.get("detail-type")))
    if model is None:
        raise MalformedEvent(f"unknown detail-type {raw.get('detail-type')!r}")
    request = parsed(model, raw["detail"], str(raw.get("detail-type")), "detail.")
    assert isinstance(request, AnyRequest)
    request_id = request.request_id or re.sub(r"[^A-Za-z0-9_-]", "-", str(raw.get("id") or ""))[:64]
    if not request_id:
        raise MalformedEvent("the event has no id and the detail no requestId")
    return Parsed(request_id, request)


class Starter(Protocol):
    def start(self, workflow: str, name: str, payload: dict[str, Any], *, again: bool = False) -> tuple[str, bool]:
        """(execution ARN, whether new): once per name; a re-run if the last one ended unsucceeded
        (or succeeded, with ``again``)."""
        ...

    def latest(self, workflow: str, name: str) -> tuple[str, str | None]:
        """The last execution of ``name`` (or its re-runs): ARN, status (``None``: not started)."""
        ...


# A user claimed by a request whose execution has not started yet is in flight for this long (its
# trigger is between the claim and StartExecution); after that another request may take the user.
CLAIM_STARTS_WITHIN = 300


class Switch(Protocol):
    def engaged(self) -> bool: ...


HALTED = (
    "the kill switch is on: no WorkMail change starts (workflows already running go on); "
    "`mailwarden kill-switch off --reason ...` resumes, then send the request again"
)


class WorkmailTrigger:
    def __init__(
        self, offboarding: Offboarding, starter: Starter, switch: Switch | None = None, exits: ExitStore | None = None
    ) -> None:
        self.offboarding = offboarding
        self.starter = starter
        self.switch = switch
        self.exits = exits  # organization exits: which one holds an organization

    def _reject(self, request: AnyRequest, why: str, rid: str) -> None:
        if isinstance(request, ExitRequest | ExitRollbackRequest):
            org = request.organization_id
            phase = "rollback" if isinstance(request, ExitRollbackRequest) else "request"
            exit_id = request.exit_id if isinstance(request, ExitRollbackRequest) else rid
            body = {"exitId": exit_id, "requestId": rid, "organizationId": org, "phase": phase, "outcome": "rejected"}
            self.offboarding.audit.record(
                f"workmail:{org}", f"workmail.exit.{phase}", "rejected", request.requested_by, why, {**body, "why": why}
            )
            self.offboarding.events.publish(MailwardenDetailType.WORKMAIL_EXIT, {**body, "why": why}, [])
            return
        self.offboarding.reject(request, why, rid)

    def handle(self, parsed: Parsed) -> dict[str, Any]:
        """``Rejected`` (recorded) when the request must not run; otherwise a plan or a started run."""
        rid, request = parsed.request_id, parsed.request
        # a rollback only puts the DNS back as it was: it runs with the kill switch on
        halted = not request.dry_run and not isinstance(request, ExitRollbackRequest)
        if halted and self.switch is not None and self.switch.engaged():
            self._reject(request, HALTED, rid)
            raise Rejected(HALTED)
        match request:
            case ExitRequest():
                return self._exit(rid, request)
            case ExitRollbackRequest():
                payload = {**self._common(rid, request), "exitId": request.exit_id}
                execution, new = self.starter.start("exit-rollback", rid, payload)
                return {"status": "started" if new else "duplicate", "requestId": rid, "execution": execution}
            case OffboardRequest():
                try:
                    if request.dry_run:
                        return {"status": "planned", **self.offboarding.plan(rid, request)}
                    # A request seen before (its snapshot exists) re-runs from it: no fresh validation,
                    # which would refuse a user the first run already deregistered or deleted.
                    known = self.offboarding.known(rid)
                    user = known or self.offboarding.resolve(request.organization_id, request.user)[0].id
                except Rejected as exc:
                    self.offboarding.reject(request, str(exc), rid)
                    raise
                running = self._in_flight(request.organization_id, user, rid)
                if running is not None:
                    self.offboarding.answer_running(request, rid, user, running[0])
                    return {"status": "already-running", "requestId": running[0], "execution": running[1]}
                payload = {**self._common(rid, request), "user": user, "export": request.export}
            case RestoreRequest():  # a handful of idempotent calls: done here, no workflow
                try:
                    return {"status": "planned" if request.dry_run else "restored", **self.offboarding.restore(request)}
                except Rejected as exc:
                    self.offboarding.reject(request, str(exc), rid)
                    raise
            case DecommissionRequest():
                if request.dry_run:  # (decommission_plan records its own refusal)
                    plan = self.offboarding.decommission_plan(rid, request)
                    return {"status": "planned", "plan": plan["plan"]}
                try:  # refused before any workflow starts
                    self.offboarding.check_organization(request.organization_id)
                except Rejected as exc:
                    self.offboarding.reject(request, str(exc), rid)
                    raise
                payload = {**self._common(rid, request), "export": request.export}
                # a decommission that ended with users not finished: re-sent, a re-run resumes them
                state = self.offboarding.store.decommission(rid) or {}
                again = bool(state.get("unfinished"))
                execution, new = self.starter.start("decommission", rid, payload, again=again)
                return {"status": "started" if new else "duplicate", "requestId": rid, "execution": execution}
        execution, new = self.starter.start(WORKFLOW_OF[type(request)], rid, payload)
        return {"status": "started" if new else "duplicate", "requestId": rid, "execution": execution}

    def _in_flight(self, org: str, user: str, rid: str) -> tuple[str, str] | None:
        """The other offboarding in flight for ``user`` (request id, execution ARN), else ``None``
        with the user claimed for ``rid`` (at most one offboarding in flight per user)."""
        store, clock = self.offboarding.store, self.offboarding.clock
        claim = store.claim(org, user, rid)
        while claim.request_id != rid:
            arn, status = self.starter.latest("offboard", claim.request_id)
            starting = status is None and clock.time() - claim.since < CLAIM_STARTS_WITHIN
            if status in IN_FLIGHT or starting:
                return claim.request_id, arn
            claim = store.claim(org, user, rid, replacing=claim.request_id)  # it ended: this one takes over
        return None

    def _exit(self, rid: str, request: ExitRequest) -> dict[str, Any]:
        """One exit in flight per organization; a dry run is its own execution (inventory only)."""
        org = request.organization_id
        # an exit seen before resumes even once its organization is gone (deleted by that exit)
        seen = None if request.dry_run or self.exits is None else self.exits.exit_state(rid)
        known = seen is not None
        try:
            if seen is not None and seen.get("organizationId") != org:
                raise Rejected(f"request id {rid} is the exit of organization {seen.get('organizationId')}, not {org}")
            if not known:
                self.offboarding.check_organization(org)
        except Rejected as exc:
            self._reject(request, str(exc), rid)
            raise
        exit_id = dry_run_id(rid) if request.dry_run else rid
        if not request.dry_run and self.exits is not None:
            claim = self.exits.claim_organization(org, rid)
            while claim.request_id != rid:
                arn, status = self.starter.latest("exit", claim.request_id)
                starting = status is None and self.offboarding.clock.time() - claim.since < CLAIM_STARTS_WITHIN
                if status in IN_FLIGHT or starting:
                    why = f"an exit of this organization is in flight already (request {claim.request_id})"
                    self._reject(request, why, rid)
                    return {"status": "already-running", "requestId": claim.request_id, "execution": arn}
                claim = self.exits.claim_organization(org, rid, replacing=claim.request_id)
        payload = {
            **self._common(exit_id, request),
            "dryRun": request.dry_run,
            "targetRecords": request.target_records,
            "soakDays": request.soak_days,
        }
        execution, new = self.starter.start("exit", exit_id, payload)
        status = ("planning" if request.dry_run else "started") if new else "duplicate"
        return {"status": status, "requestId": exit_id, "execution": execution}

    @staticmethod
    def _common(rid: str, request: AnyRequest) -> dict[str, Any]:
        return {
            "requestId": rid,
            "organizationId": request.organization_id,
            "requestedBy": request.requested_by,
            "reason": request.reason,
        }
