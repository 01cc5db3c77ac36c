"""Partner Central connection preferences: states, who can connect, and the plan between two states
(pure; seed 003, FACTS.md "Partner Central Account").

A state is an AccessType and, for ``ALLOW_BY_DEFAULT_DENY_SOME`` only, a set of excluded participant
ids. What a state lets in is its *reach*: everyone (``ALLOW_ALL``), nobody (``DENY_ALL``) or everyone
but the excluded ones. A change *widens* access when the new reach lets in someone the old one did
not (to ``ALLOW_ALL``, away from ``DENY_ALL``, or an exclusion removed) and *narrows* it when someone
loses access. A change can do both (one exclusion added, another removed): the narrowing part is
then written first, on its own, and only the widening part waits for approval.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

Catalog = Literal["AWS", "Sandbox"]  # the catalogs Partner Central knows
CATALOGS: tuple[str, ...] = get_args(Catalog)
MAX_EXCLUSIONS = 100  # UpdateConnectionPreferences accepts at most 100 excluded identifiers
PARTICIPANT_ID = r"^[a-zA-Z0-9-]{1,100}$"  # botocore's model: [a-zA-Z0-9-]+, 1..100 characters

AccessType = Literal["ALLOW_ALL", "DENY_ALL", "ALLOW_BY_DEFAULT_DENY_SOME"]
ALLOW_ALL: AccessType = "ALLOW_ALL"
DENY_ALL: AccessType = "DENY_ALL"
SOME: AccessType = "ALLOW_BY_DEFAULT_DENY_SOME"
Approval = Literal["widening", "always", "never"]  # which changes wait for a human


@dataclass(frozen=True)
class Reach:
    """Who may connect: everyone except ``ids`` (``everyone``) or only ``ids``."""

    everyone: bool
    ids: frozenset[str] = frozenset()

    def minus(self, other: Reach) -> Reach:
        """Who ``self`` lets in that ``other`` does not."""
        if self.everyone and other.everyone:
            return Reach(False, other.ids - self.ids)
        if self.everyone:
            return Reach(True, self.ids | other.ids)
        if other.everyone:
            return Reach(False, self.ids & other.ids)
        return Reach(False, self.ids - other.ids)

    @property
    def empty(self) -> bool:
        return not self.everyone and not self.ids

    def within(self, other: Reach) -> bool:
        return self.minus(other).empty

    def describe(self) -> str:
        if self.everyone:
            return "every participant" + (f" except {', '.join(sorted(self.ids))}" if self.ids else "")
        return ", ".join(sorted(self.ids)) or "nobody"

    def as_dict(self) -> dict[str, Any]:
        return {"everyone": self.everyone, "ids": sorted(self.ids)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Reach:
        return cls(bool(d["everyone"]), frozenset(d.get("ids") or ()))


@dataclass(frozen=True)
class Access:
    access_type: AccessType
    excluded: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.excluded and self.access_type != SOME:
            raise ValueError(f"excluded participants only apply to {SOME}, not {self.access_type}")

    @property
    def reach(self) -> Reach:
        if self.access_type == ALLOW_ALL:
            return Reach(True)
        if self.access_type == DENY_ALL:
            return Reach(False)
        return Reach(True, self.excluded)

    def describe(self) -> str:
        if self.access_type != SOME:
            return self.access_type
        return f"{SOME} excluding [{', '.join(sorted(self.excluded))}]"

    def as_dict(self) -> dict[str, Any]:
        return {"accessType": self.access_type, "excludedParticipantIds": sorted(self.excluded)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Access:
        return cls(d["accessType"], frozenset(d.get("excludedParticipantIds") or ()))


@dataclass(frozen=True)
class Current:
    """What GetConnectionPreferences (or an update) answered."""

    catalog: str
    access: Access
    revision: int
    arn: str = ""
    updated_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {**self.access.as_dict(), "revision": self.revision, "updatedAt": self.updated_at}


@dataclass(frozen=True)
class Write:
    target: Access
    needs_approval: bool
    gained: Reach  # who gets in by this write
    lost: Reach  # who loses access by this write


@dataclass(frozen=True)
class Plan:
    catalog: str
    current: Access
    desired: Access
    writes: tuple[Write, ...] = ()  # in order; at most one direct write, then at most one awaiting approval
    notes: tuple[str, ...] = field(default=())

    @property
    def in_sync(self) -> bool:
        return not self.writes

    @property
    def direct(self) -> Write | None:
        return next((w for w in self.writes if not w.needs_approval), None)

    @property
    def gated(self) -> Write | None:
        return next((w for w in self.writes if w.needs_approval), None)

    def lines(self) -> list[str]:
        """The diff for humans: one line per write, then the notes."""
        if self.in_sync:
            return [f"{self.catalog}: in sync ({self.current.describe()})"]
        out = []
        for w in self.writes:
            what = []
            if not w.lost.empty:
                what.append(f"no longer let in: {w.lost.describe()}")
            if not w.gained.empty:
                what.append(f"newly let in: {w.gained.describe()}")
            head = (
                f"{self.catalog}: {self.current.describe() if w is self.writes[0] else 'then'} -> {w.target.describe()}"
            )
            tail = "; ".join(what) or "same reach"
            out.append(f"{head} ({tail}){' — needs approval' if w.needs_approval else ''}")
        return out + [f"{self.catalog}: {n}" for n in self.notes]

    def as_dict(self) -> dict[str, Any]:
        return {
            "catalog": self.catalog,
            "current": self.current.as_dict(),
            "desired": self.desired.as_dict(),
            "inSync": self.in_sync,
            "writes": [
                {
                    "target": w.target.as_dict(),
                    "needsApproval": w.needs_approval,
                    "gained": w.gained.as_dict(),
                    "lost": w.lost.as_dict(),
                }
                for w in self.writes
            ],
            "lines": self.lines(),
        }


def _write(current: Access, target: Access, needs_approval: bool) -> Write:
    return Write(target, needs_approval, target.reach.minus(current.reach), current.reach.minus(target.reach))


def plan(catalog: str, current: Access, desired: Access, approval: Approval) -> Plan:
    """The writes that take ``current`` to ``desired``; the widening part waits for approval when
    ``approval`` says so (``widening``), every change does (``always``) or none does (``never``)."""
    if current == desired:
        return Plan(catalog, current, desired)
    whole = _write(current, desired, needs_approval=False)
    if approval == "never" or (approval == "widening" and whole.gained.empty):
        return Plan(catalog, current, desired, (whole,))
    if (
        approval == "always"
        or DENY_ALL in (current.access_type, desired.access_type)
        or desired.access_type == ALLOW_ALL
    ):
        return Plan(catalog, current, desired, (_write(current, desired, True),))
    # Widening between ALLOW_ALL / ALLOW_BY_DEFAULT_DENY_SOME states: first exclude everyone either
    # state excludes (nobody gains access by that), then lift the exclusions the desired state drops.
    union = current.excluded | desired.excluded
    if len(union) > MAX_EXCLUSIONS:
        note = (
            f"the narrowing part alone would exclude {len(union)} participants (at most {MAX_EXCLUSIONS}): "
            "the whole change waits for approval"
        )
        return Plan(catalog, current, desired, (_write(current, desired, True),), (note,))
    step = Access(SOME, union)
    writes = ([_write(current, step, False)] if step != current else []) + [_write(step, desired, True)]
    return Plan(catalog, current, desired, tuple(writes))


def fingerprint(catalog: str, current: Access, desired: Access) -> str:
    """Identifies one widening request (from what, to what): the same drift asks once."""
    text = json.dumps([catalog, current.as_dict(), desired.as_dict()], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
