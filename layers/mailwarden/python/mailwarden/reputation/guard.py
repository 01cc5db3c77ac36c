"""The reputation guard's use cases: reconcile runs, event-driven reactions, reinstatements.

Every decision ends in exactly one outcome, reported (audit + event) with its reason:

* ``applied``            the write was made;
* ``approval-requested`` a human must approve (reinstatements; a batch above the blast-radius cap);
* ``planned``            plan mode (dry-run): what apply would do;
* ``skipped``            the policy wanted it but Mailwarden is not doing it (the reason says why:
                         allowlisted, kill switch, blast radius, waiting, rejected, ...).

A reconcile run is resumable and fits in its Lambda's timeout at any scale:

* the scan first lists the account's OPEN findings once per run, a page at a time, keeping each
  page in the guard table (its NextToken checkpointed), so later invocations read them there
  instead of asking SES again;
* then it walks ListReputationEntities, checkpointing the page's NextToken and how many of that
  page's entities are decided (decisions are stored keyed by entity and kind, so a retried page
  rewrites the same items);
* the apply phase marks each action done after its write.

The remaining time is checked before every paced SES call (each list page, each entity's lookups,
each write), not once per page: a step stops with ``SAFETY_MARGIN_MS`` to spare and the workflow
calls it again; a step stopped by its timeout all the same is retried by the workflow and resumes
from the last checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..clock import Clock
from ..errors import NotFound, Rejected, UpdateInProgress
from ..policy import ReputationPolicy
from .engine import Decision, Finding, GuardRecord, decide
from .model import EntityState
from .ports import GuardStore, KillSwitch, ReinstateStarter, Reporter, ReputationApi

# Stop a step with this much Lambda time left (the workflow continues it): more than one SES call can
# take, pacing and the SDK's retry back-off included (8 attempts: about 70 s of back-off at worst).
SAFETY_MARGIN_MS = 90_000
Remaining = Callable[[], int]  # milliseconds left in this invocation


class _Lookups:
    """Per-invocation cache of the lazy lookups the engine asks for."""

    def __init__(self, api: ReputationApi, known: dict[str, list[Finding]] | None = None) -> None:
        self.api = api
        self._tags: dict[str, dict[str, str]] = {}
        self._findings = dict(known or {})

    def tags(self, reference: str) -> dict[str, str]:
        if reference not in self._tags:
            self._tags[reference] = self.api.tags(reference)
        return self._tags[reference]

    def findings(self, reference: str) -> list[Finding]:
        if reference not in self._findings:
            self._findings[reference] = self.api.findings(reference)
        return self._findings[reference]


@dataclass
class Guard:
    """Shared by every trigger: evaluate, and carry out one decision."""

    policy: ReputationPolicy
    api: ReputationApi
    store: GuardStore
    switch: KillSwitch
    starter: ReinstateStarter
    reporter: Reporter
    clock: Clock

    def evaluate(
        self,
        entity: EntityState,
        open_findings: list[Finding],
        record: GuardRecord | None,
        lookups: _Lookups,
    ) -> list[Decision]:
        return decide(self.policy, entity, open_findings, record, self.clock.now(), lookups)

    def evaluate_one(self, entity: EntityState, record: GuardRecord | None) -> list[Decision]:
        """One entity outside a run (an event, a re-check): its findings read once, history included."""
        history = self.api.findings(entity.reference)
        lookups = _Lookups(self.api, {entity.reference: history})
        return self.evaluate(entity, [f for f in history if f.status == "OPEN"], record, lookups)

    def execute(self, d: Decision, source: str, requester: str = "") -> tuple[str, str]:
        """Make the write for one acting decision; returns (outcome, note). An entity gone meanwhile
        or a write SES refuses is skipped with the reason; ``UpdateInProgress`` (SES's
        ConflictException: another update of the entity is being applied) is raised for the caller
        to retry (a workflow step) or leave to the next reconcile run (an event)."""
        try:
            if d.kind == "disable":
                self.api.set_customer_status(d.entity, "DISABLED")
                self.store.mark_disabled(d.entity, self.clock.now(), d.rule, source)
                return "applied", ""
            if d.kind == "set-policy":
                self.api.set_policy(d.entity, d.desired)
                return "applied", ""
        except NotFound as exc:
            return "skipped", f"the entity no longer exists: {exc}"
        except Rejected as exc:
            return "skipped", str(exc)
        record = self.store.record(d.entity) or GuardRecord(d.entity)
        execution = self.starter.start(d, record, reinstate_request(d, requester or f"mailwarden:{source}"))
        self.store.mark_reinstatement(d.entity, "REQUESTED", execution)
        return "approval-requested", execution


def reinstate_request(d: Decision, requester: str) -> dict[str, Any]:
    return {
        "action": "reputation.reinstate",
        "subject": d.entity,
        "summary": f"Reinstate SES tenant {d.name}: customer-managed {d.current} -> {d.desired}",
        "reason": d.reason,
        "requester": requester,
        "plan": [d.line()],
    }


# ---------------------------------------------------------------------------------- reconcile


@dataclass
class RunState:
    run_id: str
    trigger: str
    mode: str  # plan | apply
    requested_by: str = "mailwarden"
    reason: str = ""
    findings_token: str | None = None  # the next page of OPEN findings to list
    findings_pages: int = 0
    findings_complete: bool = False
    next_token: str | None = None  # the ListReputationEntities page being decided
    page_offset: int = 0  # entities of that page already decided
    pages: int = 0
    entities: int = 0
    scan_complete: bool = False
    outcome: str = ""  # plan | apply | needs-approval | halted | rejected | expired
    apply_complete: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    started_at: str = ""
    approval_request: dict[str, Any] | None = None  # the batch approval, when over the cap

    @property
    def actor(self) -> str:
        """The audit's actor: the operator for an on-demand run, Mailwarden's trigger otherwise."""
        return self.requested_by if self.trigger == "on-demand" else f"mailwarden:{self.trigger}"

    def dump(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def load(cls, data: dict[str, Any]) -> RunState:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def summary(self) -> dict[str, Any]:
        return {
            "runId": self.run_id,
            "trigger": self.trigger,
            "mode": self.mode,
            "actor": self.actor,
            "requestedBy": self.requested_by,
            "requestReason": self.reason,
            "scanComplete": self.scan_complete,
            "outcome": self.outcome,
            "applyComplete": self.apply_complete,
            "pages": self.pages,
            "entities": self.entities,
            "counts": self.counts,
        }


@dataclass
class Reconciler:
    guard: Guard

    @property
    def store(self) -> GuardStore:
        return self.guard.store

    def _run(self, run_id: str, start: dict[str, Any] | None = None) -> RunState:
        data = self.store.load_run(run_id)
        if data is not None:
            return RunState.load(data)
        if start is None:
            raise KeyError(f"unknown run {run_id}")
        mode = start.get("mode") or self.guard.policy.mode
        run = RunState(
            run_id,
            start.get("trigger", "on-demand"),
            mode,
            start.get("requestedBy", "mailwarden"),
            start.get("reason", ""),
            started_at=self.guard.clock.now().isoformat(),
        )
        self.store.save_run(run_id, run.dump())
        return run

    def scan(self, run_id: str, start: dict[str, Any], remaining: Remaining) -> dict[str, Any]:
        run = self._run(run_id, start)
        if run.scan_complete:
            return self._result(run)
        g = self.guard

        def stop() -> dict[str, Any]:
            self.store.save_run(run.run_id, run.dump())
            return self._result(run)

        while not run.findings_complete:  # once per run, resumable
            if remaining() < SAFETY_MARGIN_MS:
                return stop()
            found, run.findings_token = g.api.open_findings_page(run.findings_token)
            self.store.put_findings(run.run_id, run.findings_pages, found)
            run.findings_pages += 1
            run.findings_complete = run.findings_token is None
            self.store.save_run(run.run_id, run.dump())
        open_by_entity = self.store.findings(run.run_id)
        records = self.store.records()
        lookups = _Lookups(g.api)
        while not run.scan_complete:
            if remaining() < SAFETY_MARGIN_MS:
                return stop()
            entities, token = g.api.list_entities(run.next_token)
            decisions: list[Decision] = []
            for entity in entities[run.page_offset :]:
                if remaining() < SAFETY_MARGIN_MS:  # an entity's lookups are paced SES calls too
                    break
                found = open_by_entity.get(entity.reference, [])
                decisions += g.evaluate(entity, found, records.get(entity.reference), lookups)
                run.page_offset += 1
            self.store.put_actions(run.run_id, decisions)
            if run.page_offset < len(entities):
                return stop()  # the same page again next time, from page_offset
            run.pages += 1
            run.entities += len(entities)
            run.next_token, run.page_offset = token, 0
            run.scan_complete = token is None
            if run.scan_complete:
                self._conclude(run)
            self.store.save_run(run.run_id, run.dump())
        return self._result(run)

    def _conclude(self, run: RunState) -> None:
        actions = self.store.actions(run.run_id)
        acting = [a.decision for a in actions if a.decision.acts]
        skipped = [(a.decision, "skipped", "") for a in actions if not a.decision.acts]
        disables = sum(1 for d in acting if d.kind == "disable")
        cap = self.guard.policy.max_disables_per_run
        run.counts = {"decisions": len(actions), "acting": len(acting), "skipped": len(skipped), "disables": disables}
        items: list[tuple[Decision, str, str]] = list(skipped)
        if run.mode == "plan":
            run.outcome, run.apply_complete = "plan", True
            items += [(d, "planned", "plan mode (dry-run): nothing written") for d in acting]
        elif self.guard.switch.engaged():
            run.outcome, run.apply_complete = "halted", True
            items += [(d, "skipped", "kill switch engaged: no writes") for d in acting]
        elif disables > cap:
            run.outcome = "needs-approval"
            run.approval_request = self._batch_request(run, acting)
        elif acting:
            run.outcome = "apply"
        else:
            run.outcome, run.apply_complete = "apply", True
        self.guard.reporter.decisions(items, self._context(run))
        if run.apply_complete:
            self._finish(run)

    def _context(self, run: RunState) -> dict[str, Any]:
        """What every audit record and event of the run carries: who asked for it and why (an
        operator's run is recorded as theirs, as Partner Central's runs are)."""
        return {
            "run": run.run_id,
            "trigger": run.trigger,
            "mode": run.mode,
            "actor": run.actor,
            "requestedBy": run.requested_by,
            "requestReason": run.reason,
        }

    def _result(self, run: RunState) -> dict[str, Any]:
        out = run.summary()
        if run.outcome == "needs-approval" and not run.apply_complete:
            out["approvalRequest"] = run.approval_request
        return out

    def _batch_request(self, run: RunState, acting: list[Decision]) -> dict[str, Any]:
        cap = self.guard.policy.max_disables_per_run
        disables = run.counts.get("disables", 0)
        lines = [d.line() for d in acting]
        shown = lines[:40] + ([f"... and {len(lines) - 40} more"] if len(lines) > 40 else [])
        return {
            "action": "reputation.batch",
            "subject": run.run_id,
            "summary": f"Apply {len(acting)} reputation actions including {disables} disables "
            f"(blast-radius cap {cap} per run)",
            "reason": f"Run {run.run_id} ({run.trigger}) wants to disable {disables} entities; the policy caps "
            f"unapproved disables at {cap} per run, so nothing was applied.",
            "requester": run.actor,
            "plan": shown,
        }

    def apply(self, run_id: str, approval: dict[str, Any] | None, remaining: Remaining) -> dict[str, Any]:
        run = self._run(run_id)
        if run.apply_complete:
            return self._result(run)
        if run.outcome == "needs-approval" and not approval:
            raise PermissionError(f"run {run_id} needs an approval before it applies anything")
        g = self.guard
        context = self._context(run)
        if approval:
            context["approvedBy"] = approval.get("approver", "")
        pending = [a for a in self.store.actions(run.run_id) if a.decision.acts and a.state != "DONE"]
        for action in pending:
            if remaining() < SAFETY_MARGIN_MS:  # before each write (a paced SES call)
                return self._result(run)
            if g.switch.engaged():
                outcome, note = "skipped", "kill switch engaged: no writes"
            else:
                outcome, note = g.execute(action.decision, run.trigger, run.actor)
            g.reporter.decisions([(action.decision, outcome, note)], context)
            run.counts[outcome] = run.counts.get(outcome, 0) + 1
            self.store.save_run(run.run_id, run.dump())  # counts survive a retried step
            self.store.mark_action_done(run.run_id, action.key)
        run.apply_complete = True
        self._finish(run)
        self.store.save_run(run.run_id, run.dump())
        return self._result(run)

    def close(self, run_id: str, outcome: str) -> dict[str, Any]:
        """The batch approval was rejected or expired: report every withheld action, finish."""
        run = self._run(run_id)
        if not run.apply_complete:
            acting = [a.decision for a in self.store.actions(run.run_id) if a.decision.acts]
            note = f"the batch approval was {outcome}: nothing applied"
            self.guard.reporter.decisions([(d, "skipped", note) for d in acting], self._context(run))
            run.outcome, run.apply_complete = outcome, True
            self._finish(run)
            self.store.save_run(run.run_id, run.dump())
        return self._result(run)

    def _finish(self, run: RunState) -> None:
        self.guard.reporter.run({**run.summary(), "finishedAt": self.guard.clock.now().isoformat()})


def minimum_calls(entities: int, open_findings: int, changes: int) -> int:
    """The least SES calls a reconcile can make: list pages, open-finding pages, one write each."""
    return math.ceil(entities / 100) + max(1, math.ceil(open_findings / 100)) + changes


# ---------------------------------------------------------------------------------- events


@dataclass
class EventGuard:
    """React to one entity's SES event at once (the scheduled reconcile catches lost events)."""

    guard: Guard

    def __call__(self, entity: EntityState, event_id: str) -> list[tuple[Decision, str, str]]:
        g = self.guard
        items = [self._one(d) for d in g.evaluate_one(entity, g.store.record(entity.reference))]
        context = {"event": event_id, "trigger": "event", "mode": g.policy.mode, "actor": "mailwarden:event"}
        g.reporter.decisions(items, context)
        return items

    def _one(self, d: Decision) -> tuple[Decision, str, str]:
        g = self.guard
        if not d.acts:
            return d, "skipped", ""
        if g.policy.mode == "plan":
            return d, "planned", "plan mode (dry-run): nothing written"
        if g.switch.engaged():
            return d, "skipped", "kill switch engaged: no writes"
        if d.kind == "disable":
            hour = g.clock.now().strftime("%Y-%m-%dT%H")
            if not g.store.take_disable_slot(hour, g.policy.max_disables_per_run):
                return (
                    d,
                    "skipped",
                    f"blast-radius cap: {g.policy.max_disables_per_run} event-driven disables already this hour; "
                    "the next reconcile run will ask for approval of the batch",
                )
        try:
            outcome, note = g.execute(d, "event")
        except UpdateInProgress as exc:
            return d, "skipped", f"{exc}; the next reconcile run evaluates the entity again"
        return d, outcome, note


# ---------------------------------------------------------------------------------- reinstatement


@dataclass
class Reinstater:
    """The reinstate workflow's steps: after approval re-check everything, then write."""

    guard: Guard

    def approved(self, reference: str, approver: str) -> dict[str, Any]:
        g = self.guard
        context = {"trigger": "approval", "mode": "apply", "actor": approver or "approver", "approvedBy": approver}
        entity = g.api.get(reference)
        if entity is None:
            return {"outcome": "skipped", "reason": "the entity no longer exists"}
        record = g.store.record(reference)
        if record is not None:
            record = GuardRecord(record.entity, record.disabled_at, record.rule)  # the pending request is this one
        d = next((x for x in g.evaluate_one(entity, record) if x.kind == "reinstate"), None)
        if d is None or not d.acts:
            reason = d.reason if d else "no longer needed: the entity is not disabled, or a disable rule matches again"
            g.store.mark_reinstatement(reference, "OBSOLETE", None)
            if d is not None:
                g.reporter.decisions([(d, "skipped", "re-checked after approval")], context)
            return {"outcome": "skipped", "reason": reason}
        if g.switch.engaged():
            g.reporter.decisions([(d, "skipped", "kill switch engaged: no writes")], context)
            return {"outcome": "skipped", "reason": "kill switch engaged"}
        try:
            g.api.set_customer_status(reference, d.desired)  # UpdateInProgress: the workflow retries the step
        except (NotFound, Rejected) as exc:
            g.store.mark_reinstatement(reference, "OBSOLETE", None)
            g.reporter.decisions([(d, "skipped", str(exc))], context)
            return {"outcome": "skipped", "reason": str(exc)}
        g.store.mark_reinstatement(reference, "DONE", None)
        g.reporter.decisions([(d, "applied", f"approved by {approver}")], context)
        return {"outcome": "applied", "status": d.desired}

    def closed(self, reference: str, outcome: str) -> dict[str, Any]:
        state = "REJECTED" if outcome == "rejected" else "EXPIRED"
        self.guard.store.mark_reinstatement(reference, state, None)
        return {"outcome": outcome}
