"""Keeps Partner Central connection preferences at the policy's desired state (seed 003).

A run reads each managed catalog (GetConnectionPreferences), plans the change (``model.plan``) and,
in ``apply`` mode, writes it with the Revision it just read. A ``ConflictException`` means someone
changed the preferences between that read and the write: the catalog is read again, planned again
and written again after a jittered back-off, at most ``maxConflictRetries`` times; when the new
state already matches, nothing is written. A change that widens access waits for a human (the
widening workflow and the shared approval mechanism): after approval the catalog is read and
planned once more, and the write happens only when it lets in nobody the approver did not see.

The catalog's widening record follows its execution. It is written (conditionally: two runs or a run
and a workflow step never overwrite each other's change) just before the execution starts, under a
name that is never reused, and it stays ``REQUESTED`` only while that execution may still decide. The
workflow's steps close it (applied, rejected, expired, stale, halted, conflicted, failed); when the
execution ended without a step closing it (an operator stopped it, a step failed or timed out), the
next run reads the end from DescribeExecution and asks again. A different change to approve stops
the one waiting (superseded): at most one widening per catalog waits for a human.

Throttling and 5xx errors propagate after the SDK's retries (the invocation or the workflow step is
retried; every step is idempotent). AccessDenied and a request AWS refuses are reported, audited
and alerted with what to fix, and the other catalogs go on.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from ..clock import Clock
from ..contracts.names import MailwardenDetailType
from ..contracts.workflows import REJECTED_ERROR, TIMED_OUT_ERROR
from ..errors import AccessDenied, Conflict, Rejected
from ..policy import PartnerPolicy
from .model import Access, Current, Plan, Reach, fingerprint, plan
from .ports import (
    ExecutionStatus,
    KillSwitch,
    PreferencesApi,
    Reporter,
    WideningRecord,
    WideningStore,
    WideningWorkflows,
)
from .requests import ApplyApproved, Closed, PartnerRun

ACTOR = "mailwarden:partner-connections"
BACKOFF_BASE_SECONDS = 0.5  # full jitter: a retry waits up to base * 2^(n-1), at most the cap
BACKOFF_CAP_SECONDS = 8.0
SUMMARY_MAX = 900
STORE_RETRIES = 5  # conditional writes of the widening record lost to another run before giving up


@dataclass(frozen=True)
class _Known:
    """A catalog's widening record as a run found it, settled (see ``PartnerConnections._settle``)."""

    record: WideningRecord | None
    started: bool = True  # a REQUESTED record's execution exists (False: recorded, not started yet)


def _ended(status: ExecutionStatus) -> tuple[str, str]:
    """The record state for an execution that ended without a step closing its record, and why."""
    if status.status == "ABORTED":
        return "STOPPED", "it was stopped (StopExecution)"
    if status.status == "TIMED_OUT":
        return "TIMED_OUT", "it timed out"
    if status.status == "SUCCEEDED":
        return "APPLIED", "it succeeded"
    if status.error == REJECTED_ERROR:
        return "REJECTED", "an approver rejected it"
    if status.error == TIMED_OUT_ERROR:
        return "EXPIRED", "nobody decided in time"
    return "FAILED", f"it failed ({status.error or 'no error given'}: {_short(status.cause, 300)})"


def _short(text: str, limit: int = SUMMARY_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class PartnerConnections:
    api: PreferencesApi
    store: WideningStore
    switch: KillSwitch
    workflows: WideningWorkflows
    reporter: Reporter
    policy: PartnerPolicy
    clock: Clock
    jitter: Callable[[], float] = random.random

    # ------------------------------------------------------------------ runs

    def run(self, request: PartnerRun) -> dict[str, Any]:
        mode = request.mode or self.policy.mode
        note = ""
        if mode == "apply" and self.switch.engaged():
            mode, note = "plan", "the kill switch is engaged: nothing is written"
        actor = ACTOR if request.trigger == "schedule" else request.requested_by
        context = {"runId": request.run_id, "trigger": request.trigger, "mode": mode, "requestReason": request.reason}
        results: dict[str, Any] = {}
        for catalog in request.catalogs or tuple(self.policy.catalogs):
            if catalog not in self.policy.catalogs:
                results[catalog] = {"outcome": "unmanaged", "reason": "the policy does not list this catalog"}
                continue
            results[catalog] = self._guarded(
                catalog, actor, context, partial(self._converge, catalog, mode, actor, context)
            )
        return {"runId": request.run_id, "mode": mode, "note": note, "catalogs": results}

    def _guarded(
        self, catalog: str, actor: str, context: dict[str, Any], work: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """Runs ``work``; a permission or a request AWS refuses is reported and alerted, not retried."""
        try:
            return work()
        except (AccessDenied, Rejected) as exc:
            reason = str(exc)
            self._report(catalog, "failed", actor, context, reason)
            self.reporter.alert(f"Mailwarden: Partner Central {catalog} not reconciled", reason)
            return {"outcome": "failed", "reason": reason}

    def _converge(self, catalog: str, mode: str, actor: str, context: dict[str, Any]) -> dict[str, Any]:
        desired = self.policy.catalogs[catalog].access
        known = self._settle(catalog, actor, context)
        conflicts = 0
        for _ in range(self.policy.max_conflict_retries + 1):
            current = self.api.get(catalog)
            p = plan(catalog, current.access, desired, self.policy.require_approval)
            if p.in_sync:
                if conflicts:  # someone else's write made it match: nothing to write
                    why = f"another writer made it match after {conflicts} conflict(s): nothing written"
                    self._report(catalog, "in-sync", actor, context, why, before=current, plan=p)
                if mode == "apply":
                    self._retire(catalog, known, actor, context)
                return {"outcome": "in-sync", "revision": current.revision, "conflicts": conflicts}
            if mode == "plan":
                self._report(
                    catalog, "planned", actor, context, "drift: " + "; ".join(p.lines()), before=current, plan=p
                )
                return {"outcome": "planned", "plan": p.as_dict(), "conflicts": conflicts}
            write = p.direct
            if write is None:
                return {**self._ask(catalog, current, p, actor, context, known), "conflicts": conflicts}
            after = self._write(catalog, current, write.target, conflicts)
            if after is None:
                conflicts += 1
                continue
            why = "; ".join(p.lines()[:1]) + (" (the widening part waits for approval)" if p.gated else "")
            self._report(catalog, "applied", actor, context, why, before=current, after=after, plan=p)
            out: dict[str, Any] = {"outcome": "applied", "revision": after.revision, "conflicts": conflicts}
            rest = plan(catalog, after.access, desired, self.policy.require_approval)
            if rest.gated is not None:
                out["approval"] = self._ask(catalog, after, rest, actor, context, known)
            else:
                self._retire(catalog, known, actor, context)
            return out
        return self._conflicted(catalog, actor, context, conflicts)

    def _settle(self, catalog: str, actor: str, context: dict[str, Any]) -> _Known:
        """The catalog's widening record, made to follow its execution: a REQUESTED record whose
        execution ended without a step closing it takes that end (reported), so it is asked again."""
        for _ in range(STORE_RETRIES):
            record = self.store.load(catalog)
            if record is None or record.state != "REQUESTED":
                return _Known(record)
            status = self.workflows.describe(record.execution)
            if status is None:
                return _Known(record, started=False)
            if status.running:
                return _Known(record)
            state, how = _ended(status)
            settled = replace(record, state=state)
            if self.store.save(catalog, settled, replaces=record):
                again = "" if state in ("APPLIED", "REJECTED") else "; the change is asked again when still needed"
                why = (
                    f"the widening execution ended {status.status} without closing its request ({how}): "
                    f"the record said REQUESTED, it now says {state}{again}"
                )
                self._report(catalog, "widening-ended", actor, context, why, execution=record.execution, state=state)
                return _Known(settled)
        raise Conflict(f"the widening record of catalog {catalog} kept changing under this run")

    def _ask(
        self, catalog: str, current: Current, p: Plan, actor: str, context: dict[str, Any], known: _Known
    ) -> dict[str, Any]:
        """Start the widening workflow for ``p``'s gated write, once per (from, to) change: one
        execution per catalog waits for a human, the record written just before it starts."""
        assert p.gated is not None
        fp = fingerprint(catalog, current.access, p.desired)
        for _ in range(STORE_RETRIES):
            record = known.record
            same = record is not None and record.fingerprint == fp
            if record is not None and record.state == "REQUESTED":
                if not same:
                    known = self._supersede(catalog, record, known.started, actor, context)
                    continue
                if known.started:
                    return {"outcome": "approval-pending", "execution": record.execution}
                claimed = record  # recorded but never started (a run stopped in between): start it now
            elif record is not None and same and record.state == "REJECTED":
                return {
                    "outcome": "rejected-before",
                    "execution": record.execution,
                    "reason": "an approver rejected this very change; asked again once the policy or the drift changes",
                }
            else:
                seq = (record.attempts if record is not None else 0) + 1  # never reuses an execution name
                name = f"partner-{catalog}-{fp}-{seq}"
                claimed = WideningRecord(fp, "REQUESTED", self.workflows.execution_arn(name), seq)
                if not self.store.save(catalog, claimed, replaces=record):
                    known = self._settle(catalog, actor, context)  # another run asked first
                    continue
            started = self._start(catalog, claimed, current, p, actor, context)
            if started is not None:
                return started
            known = self._settle(catalog, actor, context)
        raise Conflict(f"the widening record of catalog {catalog} kept changing under this run")

    def _retire(self, catalog: str, known: _Known, actor: str, context: dict[str, Any]) -> None:
        """Nothing is left to approve: a widening still waiting for a human is stopped and closed."""
        if known.record is not None and known.record.state == "REQUESTED":
            why = "superseded: nothing is left to approve (the preferences match the policy, or need no widening)"
            self._supersede(catalog, known.record, known.started, actor, context, why)

    def _supersede(
        self,
        catalog: str,
        record: WideningRecord,
        started: bool,
        actor: str,
        context: dict[str, Any],
        why: str = (
            "superseded: the preferences or the policy changed while this widening waited, so the change to "
            "approve is a different one (asked now)"
        ),
    ) -> _Known:
        """A different change (or none) must be approved now: the waiting one is stopped and closed."""
        if started:
            self.workflows.stop(record.execution, why)
        superseded = replace(record, state="SUPERSEDED")
        if not self.store.save(catalog, superseded, replaces=record):
            return self._settle(catalog, actor, context)
        self._report(catalog, "superseded", actor, context, why, execution=record.execution)
        return _Known(superseded)

    def _start(
        self, catalog: str, record: WideningRecord, current: Current, p: Plan, actor: str, context: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Start ``record``'s execution; None when its name belongs to an execution that has ended."""
        gated = p.gated
        assert gated is not None
        widened = gated.gained.describe()
        request = {
            "action": "partner.widen-access",
            "subject": current.arn or f"Partner Central catalog {catalog}",
            "summary": _short(
                f"Partner Central {catalog}: {current.access.describe()} -> {p.desired.describe()}; "
                f"newly let in: {widened}"
            ),
            "reason": _short(
                f"The policy file wants {p.desired.describe()} ({context.get('requestReason') or 'policy'})"
            ),
            "requester": actor,
            "plan": p.lines(),
        }
        payload = {
            "catalog": catalog,
            "fingerprint": record.fingerprint,
            "from": current.as_dict(),
            "desired": p.desired.as_dict(),
            "gained": gated.gained.as_dict(),
            "approvalRequest": request,
        }
        execution, new = self.workflows.start(record.execution.rsplit(":", 1)[-1], payload)
        if not new:  # another run (or this one before a crash) started it
            status = self.workflows.describe(execution)
            return {"outcome": "approval-pending", "execution": execution} if status and status.running else None
        now = self.store.load(catalog)
        if now is None or now.execution != execution:  # another run superseded it while it started
            self.workflows.stop(execution, "superseded while it started: another run asks for a newer change")
            return {"outcome": "approval-pending", "execution": now.execution if now else ""}
        why = f"widening (would newly let in: {widened}) waits for approval"
        self._report(catalog, "approval-requested", actor, context, why, before=current, plan=p, execution=execution)
        return {"outcome": "approval-requested", "execution": execution}

    # ------------------------------------------------------------------ the widening workflow

    def apply_approved(self, step: ApplyApproved) -> dict[str, Any]:
        approver = str(step.approval.get("approver") or "")
        context = {"fingerprint": step.fingerprint, "execution": step.execution, "approvedBy": approver}
        actor = approver or ACTOR
        result = self._guarded(step.catalog, actor, context, lambda: self._apply_approved(step, actor, context))
        if result["outcome"] == "failed":  # denied or refused: approved, not written; the next run asks again
            self._close(step, "FAILED")
        return result

    def _apply_approved(self, step: ApplyApproved, actor: str, context: dict[str, Any]) -> dict[str, Any]:
        catalog = step.catalog
        spec = self.policy.catalogs.get(catalog)
        halted = self._halted(catalog)
        if halted or spec is None:
            self._close(step, "HALTED")
            self._report(catalog, "halted", actor, context, f"approved, but not written: {halted}")
            return {"outcome": "halted", "reason": halted}
        approved = Reach.from_dict(step.gained)
        conflicts = 0
        for _ in range(self.policy.max_conflict_retries + 1):
            current = self.api.get(catalog)
            p = plan(catalog, current.access, spec.access, "never")
            if p.in_sync:
                self._close(step, "APPLIED")
                self._report(catalog, "in-sync", actor, context, "already as approved: nothing written", before=current)
                return {"outcome": "in-sync", "revision": current.revision, "conflicts": conflicts}
            write = p.writes[0]
            if not write.gained.within(approved):
                extra = write.gained.minus(approved).describe()
                why = (
                    f"the change would now also let in {extra}, which was not approved: nothing written; "
                    "the next run asks again"
                )
                self._close(step, "STALE")
                self._report(catalog, "stale-approval", actor, context, why, before=current, plan=p)
                return {"outcome": "stale-approval", "reason": why}
            after = self._write(catalog, current, write.target, conflicts)
            if after is None:
                conflicts += 1
                continue
            self._close(step, "APPLIED")
            self._report(
                catalog, "applied", actor, context, "approved: " + p.lines()[0], before=current, after=after, plan=p
            )
            return {"outcome": "applied", "revision": after.revision, "conflicts": conflicts}
        self._close(step, "CONFLICTED")
        return self._conflicted(catalog, actor, context, conflicts)

    def closed(self, step: Closed) -> dict[str, Any]:
        state = "REJECTED" if step.outcome == "rejected" else "EXPIRED"
        self._close(step, state)
        why = (
            "an approver rejected the widening: not asked again until the policy or the drift changes"
            if state == "REJECTED"
            else "nobody decided in time: the next run asks again"
        )
        context = {"fingerprint": step.fingerprint, "execution": step.execution}
        self._report(step.catalog, step.outcome, ACTOR, context, why)
        return {"outcome": step.outcome}

    # ------------------------------------------------------------------ helpers

    def _halted(self, catalog: str) -> str | None:
        """Why an approved widening must not be written now, if it must not."""
        if catalog not in self.policy.catalogs:
            return "the policy no longer lists this catalog"
        if self.policy.mode != "apply":
            return "the policy's partner mode is plan"
        return "the kill switch is engaged" if self.switch.engaged() else None

    def _close(self, step: ApplyApproved | Closed, state: str) -> None:
        """End the record of this step's execution (a step retried after closing it, or of an
        execution superseded meanwhile, changes nothing)."""
        record = self.store.load(step.catalog)
        if record is None or record.state != "REQUESTED":
            return
        ours = record.execution == step.execution if step.execution else record.fingerprint == step.fingerprint
        if ours:
            self.store.save(step.catalog, replace(record, state=state), replaces=record)

    def _write(self, catalog: str, current: Current, target: Access, lost: int) -> Current | None:
        """Write with the Revision just read; None when another writer won the race (after a jittered
        back-off of up to base * 2^lost seconds, capped), so the caller reads and plans again."""
        try:
            return self.api.update(catalog, current.revision, target)
        except Conflict:
            self.clock.sleep(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**lost) * self.jitter())
            return None

    def _conflicted(self, catalog: str, actor: str, context: dict[str, Any], conflicts: int) -> dict[str, Any]:
        why = (
            f"another writer changed the preferences between Mailwarden's read and write {conflicts} times in a row: "
            "nothing written now, the next run tries again. Is another tool managing them too?"
        )
        self._report(catalog, "conflicted", actor, context, why)
        self.reporter.alert(f"Mailwarden: Partner Central {catalog} keeps changing", why)
        return {"outcome": "conflicted", "conflicts": conflicts, "reason": why}

    def _report(
        self,
        catalog: str,
        outcome: str,
        actor: str,
        context: dict[str, Any],
        reason: str,
        *,
        before: Current | None = None,
        after: Current | None = None,
        plan: Plan | None = None,
        **extra: Any,
    ) -> None:
        desired = self.policy.catalogs.get(catalog)
        detail = {
            **context,
            **extra,
            "reason": reason,
            "before": before.as_dict() if before else None,
            "after": after.as_dict() if after else None,
            "desired": desired.access.as_dict() if desired else None,
            "plan": plan.lines() if plan else [],
        }
        self.reporter.report(MailwardenDetailType.PARTNER_CONNECTIONS, catalog, outcome, actor, detail)
