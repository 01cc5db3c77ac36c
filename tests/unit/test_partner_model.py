"""Who gains and who loses access between two connection-preference states, and the plan."""

from __future__ import annotations

import pytest
from mailwarden.partner.model import ALLOW_ALL, DENY_ALL, SOME, Access, Reach, fingerprint, plan


def some(*ids: str) -> Access:
    return Access(SOME, frozenset(ids))


ALL, NONE = Access(ALLOW_ALL), Access(DENY_ALL)


@pytest.mark.parametrize(
    ("current", "desired", "gained", "lost"),
    [
        (NONE, ALL, Reach(True), Reach(False)),
        (ALL, NONE, Reach(False), Reach(True)),
        (some("a"), ALL, Reach(False, frozenset({"a"})), Reach(False)),
        (ALL, some("a"), Reach(False), Reach(False, frozenset({"a"}))),
        (some("a", "b"), some("b", "c"), Reach(False, frozenset({"a"})), Reach(False, frozenset({"c"}))),
        (NONE, some("x"), Reach(True, frozenset({"x"})), Reach(False)),
        (some(), ALL, Reach(False), Reach(False)),  # same reach, another type
    ],
)
def test_reach_difference(current, desired, gained, lost):
    assert desired.reach.minus(current.reach) == gained
    assert current.reach.minus(desired.reach) == lost


def test_within_compares_reaches_including_everyone_but():
    assert Reach(False, frozenset({"a"})).within(Reach(False, frozenset({"a", "b"})))
    assert not Reach(False, frozenset({"c"})).within(Reach(False, frozenset({"a"})))
    assert Reach(False, frozenset({"a"})).within(Reach(True, frozenset({"b"})))
    assert not Reach(False, frozenset({"b"})).within(Reach(True, frozenset({"b"})))
    assert not Reach(True).within(Reach(False, frozenset({"a"})))
    assert Reach(True, frozenset({"a", "b"})).within(Reach(True, frozenset({"a"})))


def test_in_sync_plans_nothing():
    assert plan("AWS", some("a"), some("a"), "widening").in_sync


def test_narrowing_is_one_direct_write_and_widening_one_gated_write():
    narrow = plan("AWS", ALL, some("a"), "widening")
    assert [w.needs_approval for w in narrow.writes] == [False] and narrow.direct and narrow.direct.target == some("a")
    widen = plan("AWS", NONE, ALL, "widening")
    assert [w.needs_approval for w in widen.writes] == [True] and widen.gated and widen.gated.gained == Reach(True)


def test_a_mixed_change_excludes_the_union_first_then_asks_to_lift_the_rest():
    p = plan("AWS", some("a", "b"), some("b", "c"), "widening")
    assert [(w.target, w.needs_approval) for w in p.writes] == [(some("a", "b", "c"), False), (some("b", "c"), True)]
    assert p.writes[1].gained == Reach(False, frozenset({"a"}))
    assert p.lines() == [
        f"AWS: {SOME} excluding [a, b] -> {SOME} excluding [a, b, c] (no longer let in: c)",
        f"AWS: then -> {SOME} excluding [b, c] (newly let in: a) — needs approval",
    ]


def test_a_pure_removal_has_no_narrowing_step():
    p = plan("AWS", some("a", "b"), some("b"), "widening")
    assert [w.needs_approval for w in p.writes] == [True]


def test_when_the_union_exceeds_100_the_whole_change_waits():
    current = Access(SOME, frozenset(f"old-{i}" for i in range(60)))
    desired = Access(SOME, frozenset(f"new-{i}" for i in range(60)))
    p = plan("AWS", current, desired, "widening")
    assert [w.needs_approval for w in p.writes] == [True] and "120 participants" in p.notes[0]


def test_approval_always_and_never():
    assert [w.needs_approval for w in plan("AWS", ALL, NONE, "always").writes] == [True]
    assert [w.needs_approval for w in plan("AWS", NONE, ALL, "never").writes] == [False]


def test_exclusions_need_the_matching_access_type_and_fingerprints_tell_changes_apart():
    with pytest.raises(ValueError, match="only apply to"):
        Access(ALLOW_ALL, frozenset({"a"}))
    assert fingerprint("AWS", NONE, ALL) == fingerprint("AWS", NONE, ALL) != fingerprint("AWS", some(), ALL)
    assert fingerprint("AWS", NONE, ALL) != fingerprint("Sandbox", NONE, ALL)
