"""The decision engine on hand-built states (pure: no AWS, lookups counted)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailwarden.policy import parse_policy
from mailwarden.reputation.engine import Finding, GuardRecord, decide
from mailwarden.reputation.model import EntityState

from tests.reputation_support import policy

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
ARN = "arn:aws:ses:us-east-1:123456789012:tenant/acme/tn-1"
POLICY = parse_policy(policy()).reputation


class Lookups:
    def __init__(self, tags=None, findings=()):
        self._tags = tags or {}
        self._findings = list(findings)
        self.calls = []

    def tags(self, reference):
        self.calls.append("tags")
        return self._tags

    def findings(self, reference):
        self.calls.append("findings")
        return self._findings


def entity(customer="ENABLED", ses="ENABLED", updated=NOW - timedelta(days=30), name="acme", tier="standard"):
    agg = "DISABLED" if "DISABLED" in (customer, ses) else customer
    return EntityState(
        ARN.replace("acme", name),
        f"arn:aws:ses:us-east-1:aws:reputation-policy/{tier}",
        customer,
        ses,
        agg,
        None,
        updated,
    )


def finding(type_="BOUNCE", impact="HIGH", status="OPEN", at=NOW - timedelta(hours=1)):
    return Finding(ARN, type_, impact, status, at, "bounce rate 15%")


def test_an_open_covered_finding_disables_and_an_uncovered_one_does_not():
    (d,) = decide(POLICY, entity(), [finding()], None, NOW, Lookups())
    assert (d.kind, d.verdict, d.desired) == ("disable", "act", "DISABLED") and "HIGH BOUNCE" in d.reason
    assert decide(POLICY, entity(), [finding("DKIM")], None, NOW, Lookups()) == []
    assert decide(POLICY, entity(), [finding(impact="LOW")], None, NOW, Lookups()) == []
    assert decide(POLICY, entity("DISABLED"), [finding()], None, NOW, Lookups()) == []  # already there


def test_a_human_decision_after_the_finding_is_respected():
    later = entity(updated=NOW - timedelta(minutes=5))  # someone re-enabled after the finding
    (d,) = decide(POLICY, later, [finding()], None, NOW, Lookups())
    assert d.verdict == "skip" and "respecting that decision" in d.reason


def test_allowlisted_entities_are_never_touched():
    (d,) = decide(POLICY, entity(name="vip"), [finding()], None, NOW, Lookups())
    assert d.verdict == "skip" and "allowlisted" in d.reason


def test_reinstatement_needs_ours_fixed_long_enough_and_ses_not_paused():
    disabled_at = NOW - timedelta(hours=30)
    ours = GuardRecord(ARN, disabled_at, "pause-high")
    state = entity("DISABLED", updated=disabled_at)
    fixed = Lookups(findings=[finding(status="FIXED", at=NOW - timedelta(hours=25))])
    (d,) = decide(POLICY, state, [], ours, NOW, fixed)
    assert (d.kind, d.verdict, d.desired, d.needs_approval) == ("reinstate", "act", "ENABLED", True)

    recent = Lookups(findings=[finding(status="FIXED", at=NOW - timedelta(hours=2))])
    (d,) = decide(POLICY, state, [], ours, NOW, recent)
    assert d.verdict == "skip" and "due at" in d.reason

    (d,) = decide(POLICY, state, [], None, NOW, fixed)
    assert d.verdict == "skip" and "only reinstates what it disabled" in d.reason

    paused = entity("DISABLED", "DISABLED", updated=disabled_at)
    lookups = Lookups(findings=fixed._findings)
    (d,) = decide(POLICY, paused, [], ours, NOW, lookups)
    assert d.verdict == "skip" and "cannot override" in d.reason and lookups.calls == []

    for state_name, text in (("REQUESTED", "already pending"), ("REJECTED", "not asking again")):
        rec = GuardRecord(ARN, disabled_at, "pause-high", state_name, "exec")
        (d,) = decide(POLICY, state, [], rec, NOW, fixed)
        assert d.verdict == "skip" and text in d.reason


def test_policy_tier_rules_tighten_and_loosen_only_when_allowed():
    text = policy() + "    - name: strict\n      reputationPolicy: strict\n"
    p = parse_policy(text).reputation
    (d,) = decide(p, entity(tier="standard"), [], None, NOW, Lookups())
    assert (d.kind, d.current, d.desired, d.verdict) == ("set-policy", "standard", "strict", "act")
    loosen = parse_policy(policy() + "    - name: none\n      reputationPolicy: none\n").reputation
    (d,) = decide(loosen, entity(tier="strict"), [], None, NOW, Lookups())
    assert d.verdict == "skip" and "allowLoosening" in d.reason
    assert decide(p, entity(tier="strict"), [], None, NOW, Lookups()) == []


def test_tags_are_looked_up_only_when_an_answer_depends_on_them():
    text = policy() + "    - name: m\n      select: {tags: {team: marketing}}\n      reputationPolicy: strict\n"
    p = parse_policy(text).reputation
    lookups = Lookups(tags={"team": "marketing"})
    assert decide(p, entity(tier="strict"), [], None, NOW, lookups) == [] and lookups.calls == []
    (d,) = decide(p, entity(tier="standard"), [], None, NOW, lookups)
    assert d.acts and lookups.calls == ["tags"]
