"""WorkMail requests (offboard, restore, decommission) from EventBridge: parsed, validated, then a
dry-run plan or one workflow execution named after the request (a redelivered event starts nothing).
Anything that must not run is rejected before a single change, with the reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from ..contracts.names import IDENTITY_SOURCE, OPERATOR_SOURCE, OperatorDetailType
from ..errors import MalformedEvent, Rejected, parsed
from .model import DecommissionRequest, OffboardRequest, RestoreRequest
from .offboarding import Offboarding

_MODELS: dict[str, type[BaseModel]] = {
    OperatorDetailType.OFFBOARD_REQUESTED: OffboardRequest,
    OperatorDetailType.RESTORE_REQUESTED: RestoreRequest,
    OperatorDetailType.DECOMMISSION_REQUESTED: DecommissionRequest,
}
WORKFLOW_OF: dict[type, str] = {OffboardRequest: "offboard", DecommissionRequest: "decommission"}


@dataclass(frozen=True)
class Parsed:
    request_id: str
    request: OffboardRequest | RestoreRequest | DecommissionRequest


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
    assert isinstance(request, OffboardRequest | RestoreRequest | DecommissionRequest)
    request_id = request.request_id or re.sub(r"[^A-Za-z0-9_-]", "-", str(raw.get("id") or ""))[:64]
    if not request_id:
        raise MalformedEvent("the event has no id and the detail no requestId")
    return Parsed(request_id, request)


class Starter(Protocol):
    def start(self, workflow: str, name: str, payload: dict[str, Any]) -> tuple[str, bool]: ...


class Switch(Protocol):
    def engaged(self) -> bool: ...


HALTED = (
    "the kill switch is on: no WorkMail change starts (workflows already running go on); "
    "`mailwarden kill-switch off --reason ...` resumes, then send the request again"
)


class WorkmailTrigger:
    def __init__(self, offboarding: Offboarding, starter: Starter, switch: Switch | None = None) -> None:
        self.offboarding = offboarding
        self.starter = starter
        self.switch = switch

    def handle(self, parsed: Parsed) -> dict[str, Any]:
        """``Rejected`` (recorded) when the request must not run; otherwise a plan or a started run."""
        rid, request = parsed.request_id, parsed.request
        if not request.dry_run and self.switch is not None and self.switch.engaged():
            if not isinstance(request, DecommissionRequest):
                self.offboarding.reject(request, HALTED)
            raise Rejected(HALTED)
        match request:
            case OffboardRequest():
                try:
                    if request.dry_run:
                        return {"status": "planned", **self.offboarding.plan(rid, request)}
                    # A request seen before (its snapshot exists) re-runs from it: no fresh validation,
                    # which would refuse a user the first run already deregistered or deleted.
                    known = self.offboarding.known(rid)
                    user = known or self.offboarding.resolve(request.organization_id, request.user)[0].id
                except Rejected as exc:
                    self.offboarding.reject(request, str(exc))
                    raise
                payload = {**self._common(rid, request), "user": user, "export": request.export}
            case RestoreRequest():  # a handful of idempotent calls: done here, no workflow
                try:
                    return {"status": "planned" if request.dry_run else "restored", **self.offboarding.restore(request)}
                except Rejected as exc:
                    self.offboarding.reject(request, str(exc))
                    raise
            case DecommissionRequest():
                if request.dry_run:
                    plan = self.offboarding.decommission_plan(rid, request)
                    return {"status": "planned", "plan": plan["plan"]}
                self.offboarding.check_organization(request.organization_id)  # refused now, not in the workflow
                payload = {**self._common(rid, request), "export": request.export}
        execution, new = self.starter.start(WORKFLOW_OF[type(request)], rid, payload)
        return {"status": "started" if new else "duplicate", "requestId": rid, "execution": execution}

    @staticmethod
    def _common(rid: str, request: OffboardRequest | RestoreRequest | DecommissionRequest) -> dict[str, Any]:
        return {
            "requestId": rid,
            "organizationId": request.organization_id,
            "requestedBy": request.requested_by,
            "reason": request.reason,
        }
