"""Policy evaluation for one reputation entity (pure: lookups are injected and called lazily).

``decide`` returns every action the policy wants for an entity and every action it wanted but is
not taking, each with a sentence that says why. An entity already in the state the policy wants
produces nothing. AWS is asked for more only when an answer depends on it: tags only for a
selector that uses tags, an entity's findings history only when a reinstatement is otherwise due.

Semantics (seeds 000/001, FACTS.md):

* disable: an OPEN finding covered by a ``disableWhen`` rule. A finding older than the entity's
  last customer-managed status change does not count: someone decided after seeing it (a human
  re-enabling an entity Mailwarden disabled is respected until a new finding opens);
* reinstate: only what Mailwarden disabled, only once no covered finding is OPEN and the findings
  have been FIXED for ``fixedForHours``, only with human approval, and never while SES itself has
  the entity DISABLED (a customer REINSTATED/ENABLED cannot override that, so asking would mislead);
* reputation policy tier: set when it differs; loosening (strict -> standard -> none) only when
  the rule says ``allowLoosening``;
* allowlisted entities are never touched (the skip is reported when a rule would have acted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from ..policy import TIER_ORDER, ReputationPolicy, Rule, Selector
from .model import EntityState

Kind = Literal["disable", "reinstate", "set-policy"]
Verdict = Literal["act", "skip"]
OURS_TOLERANCE = timedelta(minutes=2)  # SES's timestamp vs ours for the same update


@dataclass(frozen=True)
class Finding:
    resource: str
    type: str
    impact: str
    status: str  # OPEN | FIXED
    updated: datetime
    description: str = ""


@dataclass(frozen=True)
class GuardRecord:
    """What Mailwarden remembers about an entity it acted on."""

    entity: str
    disabled_at: datetime | None = None  # Mailwarden set customer-managed DISABLED at this time
    rule: str = ""
    reinstatement: str | None = None  # REQUESTED | REJECTED | EXPIRED | DONE
    execution: str | None = None


class Lookups(Protocol):
    def tags(self, reference: str) -> dict[str, str]: ...

    def findings(self, reference: str) -> list[Finding]: ...


@dataclass(frozen=True)
class Decision:
    kind: Kind
    entity: str
    name: str
    rule: str
    current: str
    desired: str
    verdict: Verdict
    reason: str
    needs_approval: bool = False

    @property
    def acts(self) -> bool:
        return self.verdict == "act"

    def line(self) -> str:
        verb = {"disable": "disable", "reinstate": "reinstate", "set-policy": "set reputation policy of"}[self.kind]
        head = f"{verb} {self.name}: {self.current} -> {self.desired}"
        if self.verdict == "skip":
            head = f"skip {head}"
        elif self.needs_approval:
            head += " (needs approval)"
        return f"{head} [rule {self.rule}] — {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "entity": self.entity,
            "name": self.name,
            "rule": self.rule,
            "current": self.current,
            "desired": self.desired,
            "verdict": self.verdict,
            "reason": self.reason,
            "needsApproval": self.needs_approval,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Decision:
        return cls(
            d["kind"],
            d["entity"],
            d["name"],
            d["rule"],
            d["current"],
            d["desired"],
            d["verdict"],
            d["reason"],
            bool(d.get("needsApproval")),
        )


def _when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC") if t else "an unknown time"


@dataclass
class _Entity:
    """One evaluation: the entity plus lazily fetched facts, each fetched at most once."""

    state: EntityState
    lookups: Lookups
    _tags: dict[str, str] | None = field(default=None, init=False)

    def tags(self) -> dict[str, str]:
        if self._tags is None:
            self._tags = self.lookups.tags(self.state.reference)
        return self._tags

    def selected(self, selector: Selector) -> bool:
        if not selector.matches_name(self.state.name, self.state.reference):
            return False
        return not selector.needs_tags or selector.matches_tags(self.tags())


def decide(
    policy: ReputationPolicy,
    entity: EntityState,
    open_findings: Sequence[Finding],
    record: GuardRecord | None,
    now: datetime,
    lookups: Lookups,
) -> list[Decision]:
    e = _Entity(entity, lookups)
    out: list[Decision] = []

    def decision(kind: Kind, rule: Rule, desired: str, verdict: Verdict, reason: str, approval: bool = False) -> None:
        current = entity.policy_tier if kind == "set-policy" else entity.customer_status
        d = Decision(kind, entity.reference, entity.name, rule.name, current, desired, verdict, reason, approval)
        if d.acts and any(e.selected(s) for s in policy.allowlist):
            d = replace(d, verdict="skip", reason="allowlisted: Mailwarden never touches this entity")
        out.append(d)

    disabling = _disable(policy, e, open_findings, decision)
    if not disabling and entity.customer_status == "DISABLED":
        _reinstate(policy, e, open_findings, record, now, decision)
    _tier(policy, e, decision)
    return out


Emit = Callable[..., None]


def _disable(policy: ReputationPolicy, e: _Entity, open_findings: Sequence[Finding], emit: Emit) -> bool:
    """Returns True when a disable rule covers an OPEN finding (whether or not it acts)."""
    entity = e.state
    for rule in policy.rules:
        cond = rule.disable_when
        if cond is None:
            continue
        hits = [f for f in open_findings if cond.covers(f.type, f.impact)]
        if not hits or not e.selected(rule.select):
            continue
        if entity.customer_status == "DISABLED":
            return True  # already where the policy wants it
        found = ", ".join(sorted({f"{f.impact} {f.type}" for f in hits}))
        fresh = [f for f in hits if entity.customer_updated is None or f.updated >= entity.customer_updated]
        if not fresh:
            emit(
                "disable",
                rule,
                "DISABLED",
                "skip",
                f"OPEN {found} finding(s), but the customer-managed status was set to {entity.customer_status} "
                f"at {_when(entity.customer_updated)}, after they last changed: respecting that decision until a "
                "finding opens or changes",
            )
        else:
            emit("disable", rule, "DISABLED", "act", f"OPEN {found} finding(s): {fresh[0].description}".rstrip(": "))
        return True
    return False


def _reinstate(
    policy: ReputationPolicy,
    e: _Entity,
    open_findings: Sequence[Finding],
    record: GuardRecord | None,
    now: datetime,
    emit: Emit,
) -> None:
    entity = e.state
    rule = next((r for r in policy.rules if r.reinstate_when and e.selected(r.select)), None)
    if rule is None or rule.reinstate_when is None:
        return
    to = rule.reinstate_when.to
    ours = (
        record is not None
        and record.disabled_at is not None
        and (entity.customer_updated is None or entity.customer_updated <= record.disabled_at + OURS_TOLERANCE)
    )
    if not ours:
        emit(
            "reinstate",
            rule,
            to,
            "skip",
            f"customer-managed DISABLED since {_when(entity.customer_updated)} was not set by Mailwarden: "
            "Mailwarden only reinstates what it disabled",
        )
        return
    assert record is not None and record.disabled_at is not None
    disabled_at: datetime = record.disabled_at
    if entity.paused_by_ses:
        emit(
            "reinstate",
            rule,
            to,
            "skip",
            f"SES itself has the entity DISABLED ({(entity.ses_cause or 'no cause given').rstrip('.')}); a customer-"
            f"managed {to} cannot override that (aggregate stays DISABLED), so Mailwarden waits for SES",
        )
        return
    if record.reinstatement == "REQUESTED":
        emit("reinstate", rule, to, "skip", f"an approval is already pending ({record.execution})")
        return
    if record.reinstatement == "REJECTED":
        emit("reinstate", rule, to, "skip", "an approver rejected reinstating after this disable; not asking again")
        return
    if open_findings:
        open_text = ", ".join(sorted({f"{f.impact} {f.type}" for f in open_findings}))
        note = f" (OPEN {open_text} not covered by any disable rule)"
    else:
        note = ""
    hours = rule.reinstate_when.fixed_for_hours
    fixed = [f.updated for f in e.lookups.findings(entity.reference) if f.status == "FIXED"]
    fixed_at = max(fixed, default=disabled_at)
    due = fixed_at + timedelta(hours=hours)
    if now < due:
        emit(
            "reinstate",
            rule,
            to,
            "skip",
            f"findings fixed at {_when(fixed_at)}; the rule wants {hours:g} h fixed, due at {_when(due)}",
        )
        return
    emit(
        "reinstate",
        rule,
        to,
        "act",
        f"Mailwarden disabled it at {_when(record.disabled_at)} (rule {record.rule or '?'}); findings fixed since "
        f"{_when(fixed_at)} (≥ {hours:g} h){note}; SES-managed {entity.ses_status}, so the aggregate becomes {to}",
        True,
    )


def _tier(policy: ReputationPolicy, e: _Entity, emit: Emit) -> None:
    current = e.state.policy_tier
    rules = [r for r in policy.rules if r.reputation_policy is not None]
    if all(r.reputation_policy == current for r in rules):
        return  # whichever rule selects it, nothing changes: no need to look at tags
    for rule in rules:
        desired = rule.reputation_policy
        if desired is None or not e.selected(rule.select):
            continue
        if current == desired:
            return
        if TIER_ORDER.get(current, 1) > TIER_ORDER[desired] and not rule.allow_loosening:
            emit(
                "set-policy",
                rule,
                desired,
                "skip",
                f"would loosen the reputation policy from {current} to {desired}; the rule does not say allowLoosening",
            )
        else:
            emit("set-policy", rule, desired, "act", f"reputation policy {current}, the rule wants {desired}")
        return
