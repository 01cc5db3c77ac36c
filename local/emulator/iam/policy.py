"""IAM policy evaluation for one account: compiled statements and the decision AWS makes.

Identity-based policies of the principal and, where one exists, the resource's policy:
an explicit ``Deny`` in either wins, then an ``Allow`` in either (in one account a resource policy
that names the principal grants on its own), else the implicit deny. A KMS key is different: its key
policy must allow the principal, directly or by allowing the account (``arn:aws:iam::<account>:root``),
which delegates to the identity-based policies.

Supported: ``Action``/``NotAction`` (wildcards, case-insensitive), ``Resource``/``NotResource`` (``*``
and ``?``; a wildcard never crosses the colons between an ARN's first six segments), ``Principal`` in
resource policies, and the condition operators String*, Arn*, Bool, Null, Numeric*, their
``...IfExists`` forms and the ``ForAnyValue:``/``ForAllValues:`` set operators (several values of a
key: any matches; several keys or operators: all must). Anything else (``NotPrincipal``, Date*,
IpAddress, policy variables, ...) raises :class:`Unsupported` instead of being guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

Context = Mapping[str, Any]  # lower-case condition key -> str | list[str]


class Unsupported(ValueError):
    """A policy construct this evaluator does not implement (never silently allowed or ignored)."""


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _glob(pattern: str, *, colon: bool) -> str:
    """Regex source for an IAM wildcard pattern (``*`` any run, ``?`` one character)."""
    star, one = (".*", ".") if colon else ("[^:]*", "[^:]")
    return "".join(star if c == "*" else one if c == "?" else re.escape(c) for c in pattern)


def _no_variables(value: str) -> str:
    if "${" in value:
        raise Unsupported(f"policy variables are not supported: {value}")
    return value


@lru_cache(maxsize=4096)
def arn_pattern(pattern: str) -> re.Pattern[str]:
    """An ARN pattern: ``*`` alone matches everything; otherwise each of the first five colon-separated
    segments is matched on its own and the resource part (the sixth, which may hold colons) as a whole."""
    _no_variables(pattern)
    if ":" not in pattern:
        return re.compile(_glob(pattern, colon=True) + r"\Z", re.DOTALL)
    parts = pattern.split(":", 5)
    head = [_glob(p, colon=False) for p in parts[:5]]
    tail = [_glob(parts[5], colon=True)] if len(parts) == 6 else []
    return re.compile(":".join(head + tail) + r"\Z", re.DOTALL)


@lru_cache(maxsize=4096)
def action_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(_glob(_no_variables(pattern), colon=True) + r"\Z", re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=4096)
def string_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(_glob(_no_variables(pattern), colon=True) + r"\Z", re.DOTALL)


# ---------------------------------------------------------------------------- conditions

Match = Callable[[str, str], bool]  # (context value, policy value) -> matches


def _numeric(compare: Callable[[float, float], bool]) -> Match:
    def match(value: str, wanted: str) -> bool:
        try:
            return compare(float(value), float(wanted))
        except ValueError:
            return False

    return match


# name -> (match, negated): a negated operator is true when the value matches none of the policy's values
_OPERATORS: dict[str, tuple[Match, bool]] = {
    "stringequals": (lambda v, w: v == w, False),
    "stringnotequals": (lambda v, w: v == w, True),
    "stringequalsignorecase": (lambda v, w: v.lower() == w.lower(), False),
    "stringnotequalsignorecase": (lambda v, w: v.lower() == w.lower(), True),
    "stringlike": (lambda v, w: string_pattern(w).match(v) is not None, False),
    "stringnotlike": (lambda v, w: string_pattern(w).match(v) is not None, True),
    # ArnEquals and ArnLike behave the same in IAM (both take wildcards)
    "arnequals": (lambda v, w: arn_pattern(w).match(v) is not None, False),
    "arnlike": (lambda v, w: arn_pattern(w).match(v) is not None, False),
    "arnnotequals": (lambda v, w: arn_pattern(w).match(v) is not None, True),
    "arnnotlike": (lambda v, w: arn_pattern(w).match(v) is not None, True),
    "bool": (lambda v, w: v.lower() == w.lower(), False),
    "numericequals": (_numeric(lambda a, b: a == b), False),
    "numericnotequals": (_numeric(lambda a, b: a == b), True),
    "numericlessthan": (_numeric(lambda a, b: a < b), False),
    "numericlessthanequals": (_numeric(lambda a, b: a <= b), False),
    "numericgreaterthan": (_numeric(lambda a, b: a > b), False),
    "numericgreaterthanequals": (_numeric(lambda a, b: a >= b), False),
}


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@dataclass(frozen=True)
class Condition:
    """One ``operator: {key: values}`` pair of a Condition block."""

    operator: str  # as written, for messages
    key: str  # lower-case
    values: tuple[str, ...]
    test: Match | None  # None: the Null operator
    negated: bool = False
    if_exists: bool = False
    set_operator: str = ""  # "", "foranyvalue" or "forallvalues"

    @staticmethod
    def parse(operator: str, key: str, values: Any) -> Condition:
        name = operator.lower()
        set_operator = ""
        for prefix in ("foranyvalue:", "forallvalues:"):
            if name.startswith(prefix):
                set_operator, name = prefix[:-1], name[len(prefix) :]
        if_exists = name.endswith("ifexists") and name != "null"
        name = name.removesuffix("ifexists") if if_exists else name
        texts = tuple(_no_variables(_text(v)) for v in _as_list(values))
        if name == "null":
            if set_operator:
                raise Unsupported(f"{operator} is not a valid condition operator")
            return Condition(operator, key.lower(), texts, None)
        if name not in _OPERATORS:
            raise Unsupported(f"condition operator {operator} is not supported")
        test, negated = _OPERATORS[name]
        return Condition(operator, key.lower(), texts, test, negated, if_exists, set_operator)

    def holds(self, context: Context) -> bool:
        present = self.key in context and context[self.key] is not None
        if self.test is None:  # Null: "true" -> the key is absent
            return any((v.lower() == "true") != present for v in self.values)
        if not present:
            if self.set_operator:
                return self.set_operator == "forallvalues"  # ForAllValues over nothing is true
            return self.if_exists or self.negated  # a negated operator is true when the key is absent
        value = context[self.key]
        if self.set_operator:
            items = [_text(v) for v in _as_list(value)]
            ok = [self._one(v) for v in items]
            return any(ok) if self.set_operator == "foranyvalue" else all(ok)
        if isinstance(value, list | tuple):
            raise Unsupported(f"{self.operator} on the multivalued key {self.key}: use ForAnyValue/ForAllValues")
        return self._one(_text(value))

    def _one(self, value: str) -> bool:
        assert self.test is not None
        hit = any(self.test(value, wanted) for wanted in self.values)
        return not hit if self.negated else hit


# ---------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Principal:
    """Who a resource policy's ``Principal`` names, as far as one account's role cares."""

    everyone: bool = False
    arns: frozenset[str] = frozenset()  # AWS principals: role ARNs, account roots (normalized), ...
    services: frozenset[str] = frozenset()

    @staticmethod
    def parse(value: Any) -> Principal:
        if value == "*":
            return Principal(everyone=True)
        if not isinstance(value, dict):
            raise Unsupported(f"Principal {value!r}")
        unknown = set(value) - {"AWS", "Service"}
        if unknown:
            raise Unsupported(f"Principal types {sorted(unknown)}")
        aws = [str(v) for v in _as_list(value.get("AWS", []))]
        roots = {f"arn:aws:iam::{a}:root" if re.fullmatch(r"\d{12}", a) else a for a in aws if a != "*"}
        return Principal("*" in aws, frozenset(roots), frozenset(str(s) for s in _as_list(value.get("Service", []))))


@dataclass(frozen=True)
class Statement:
    effect: str  # "Allow" | "Deny"
    actions: tuple[re.Pattern[str], ...]
    not_action: bool
    resources: tuple[re.Pattern[str], ...]
    not_resource: bool
    conditions: tuple[Condition, ...]
    principal: Principal | None  # resource policies only
    source: dict[str, Any] = field(compare=False, hash=False)

    @staticmethod
    def parse(raw: dict[str, Any], *, resource_policy: bool = False) -> Statement:
        known = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition", "Principal"}
        unknown = set(raw) - known
        if unknown:
            raise Unsupported(f"statement elements {sorted(unknown)} in {raw}")
        if raw.get("Effect") not in ("Allow", "Deny"):
            raise Unsupported(f"Effect {raw.get('Effect')!r} in {raw}")
        if ("Action" in raw) == ("NotAction" in raw) or ("Resource" in raw) == ("NotResource" in raw):
            raise Unsupported(f"a statement needs exactly one of Action/NotAction and Resource/NotResource: {raw}")
        principal = None
        if resource_policy:
            if "Principal" not in raw:
                raise Unsupported(f"a resource policy statement without Principal: {raw}")
            principal = Principal.parse(raw["Principal"])
        elif "Principal" in raw:
            raise Unsupported(f"Principal in an identity-based policy: {raw}")
        actions = _as_list(raw.get("Action", raw.get("NotAction")))
        resources = _as_list(raw.get("Resource", raw.get("NotResource")))
        for value in actions + resources:
            if not isinstance(value, str):
                raise Unsupported(f"unresolved value {value!r} in {raw}")
        conditions = tuple(
            Condition.parse(op, key, values)
            for op, block in (raw.get("Condition") or {}).items()
            for key, values in block.items()
        )
        return Statement(
            raw["Effect"],
            tuple(action_pattern(a) for a in actions),
            "NotAction" in raw,
            tuple(arn_pattern(r) for r in resources),
            "NotResource" in raw,
            conditions,
            principal,
            raw,
        )

    def applies(self, action: str, resource: str, context: Context) -> bool:
        if any(p.match(action) for p in self.actions) == self.not_action:
            return False
        if any(p.match(resource) for p in self.resources) == self.not_resource:
            return False
        return all(c.holds(context) for c in self.conditions)


def parse_document(document: dict[str, Any], *, resource_policy: bool = False) -> list[Statement]:
    return [Statement.parse(s, resource_policy=resource_policy) for s in _as_list(document.get("Statement", []))]


# ---------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


def _matching(statements: Iterable[Statement], action: str, resource: str, context: Context) -> list[Statement]:
    return [s for s in statements if s.applies(action, resource, context)]


def decide(
    *,
    principal_arn: str,
    account: str,
    identity: Sequence[Statement],
    action: str,
    resource: str,
    context: Context,
    resource_policy: Sequence[Statement] | None = None,
    key_policy: Sequence[Statement] | None = None,
) -> Decision:
    """What AWS decides for ``principal_arn`` (a role of ``account``) doing ``action`` on ``resource``.
    ``key_policy``: the resource is a KMS key (its policy must allow); ``resource_policy``: any other
    resource's policy (bucket, queue, topic ...), or None when it has none."""
    root = f"arn:aws:iam::{account}:root"
    own = _matching(identity, action, resource, context)
    if any(s.effect == "Deny" for s in own):
        return Decision(False, "explicit deny in an identity-based policy")
    granting = key_policy if key_policy is not None else resource_policy or ()
    theirs = _matching(granting, action, resource, context)

    def names(s: Statement, *, delegated: bool) -> bool:
        p = s.principal
        return p is not None and (p.everyone or principal_arn in p.arns or (delegated and root in p.arns))

    if any(s.effect == "Deny" and names(s, delegated=True) for s in theirs):
        return Decision(
            False, "explicit deny in the " + ("key policy" if key_policy is not None else "resource policy")
        )
    identity_allows = any(s.effect == "Allow" for s in own)
    direct = any(s.effect == "Allow" and names(s, delegated=False) for s in theirs)
    if key_policy is not None:
        if direct:
            return Decision(True, "allowed by the key policy")
        delegates = any(s.effect == "Allow" and root in (s.principal.arns if s.principal else ()) for s in theirs)
        if not delegates:
            return Decision(False, "the key policy neither allows the principal nor delegates to IAM policies")
        if identity_allows:
            return Decision(True, "allowed by an identity-based policy (the key policy delegates to IAM)")
        return Decision(False, "no identity-based policy allows it (the key policy delegates to IAM)")
    if identity_allows or direct:
        return Decision(True, "allowed")
    return Decision(False, "no identity-based policy allows it (implicit deny)")
