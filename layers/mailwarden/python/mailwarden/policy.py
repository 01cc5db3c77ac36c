"""The policy file: versioned, schema-validated, YAML or JSON; errors name the line.

One loader serves ``cdk synth`` (a bad file fails the synth), the ``mailwarden`` CLI (``policy
check`` and ``plan``) and the Lambdas (which read the normalized JSON deployed with the stack).
See README "Policy file" for the format.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from .contracts.ses_events import FindingType, Impact
from .mailfrom.model import DNS_LABEL
from .partner.model import CATALOGS, MAX_EXCLUSIONS, PARTICIPANT_ID, SOME, Access, AccessType, Approval

if TYPE_CHECKING:
    import yaml

Mode = Literal["plan", "apply"]
Tier = Literal["none", "standard", "strict"]
TIER_ORDER: dict[str, int] = {"none": 0, "standard": 1, "strict": 2}


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file, the line and the problem."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class Selector(_Model):
    """Which entities a rule or the allowlist covers. Every given criterion must hold; none = all."""

    names: tuple[str, ...] = ()
    name_prefix: str | None = Field(None, alias="namePrefix", min_length=1)
    arn_prefix: str | None = Field(None, alias="arnPrefix", min_length=1)
    tags: dict[str, str] = Field(default_factory=dict)

    @property
    def needs_tags(self) -> bool:
        return bool(self.tags)

    def matches_name(self, name: str, reference: str) -> bool:
        """The criteria that need no AWS call (names, prefixes)."""
        if self.names and name not in self.names:
            return False
        if self.name_prefix and not name.startswith(self.name_prefix):
            return False
        return not (self.arn_prefix and not reference.startswith(self.arn_prefix))

    def matches_tags(self, tags: dict[str, str]) -> bool:
        return all(tags.get(k) == v for k, v in self.tags.items())


class DisableWhen(_Model):
    types: tuple[FindingType, ...] = ()  # empty = any type
    impact: tuple[Impact, ...] = ("HIGH",)

    def covers(self, finding_type: str, impact: str) -> bool:
        return (not self.types or finding_type in self.types) and impact in self.impact


class ReinstateWhen(_Model):
    fixed_for_hours: float = Field(alias="fixedForHours", ge=0, le=24 * 90)
    to: Literal["ENABLED", "REINSTATED"] = "ENABLED"


class Rule(_Model):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    select: Selector = Field(default_factory=lambda: Selector.model_validate({}))
    disable_when: DisableWhen | None = Field(None, alias="disableWhen")
    reinstate_when: ReinstateWhen | None = Field(None, alias="reinstateWhen")
    reputation_policy: Tier | None = Field(None, alias="reputationPolicy")
    allow_loosening: bool = Field(False, alias="allowLoosening")

    @model_validator(mode="after")
    def _one_action(self) -> Rule:
        given = [k for k in ("disable_when", "reinstate_when", "reputation_policy") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a rule needs exactly one of disableWhen, reinstateWhen, reputationPolicy")
        if self.allow_loosening and self.reputation_policy is None:
            raise ValueError("allowLoosening only applies to a reputationPolicy rule")
        return self


class ReputationPolicy(_Model):
    mode: Mode = "plan"  # a new deployment plans (dry-run) until the file says apply
    max_disables_per_run: int = Field(10, alias="maxDisablesPerRun", ge=0, le=1_000_000)
    allowlist: tuple[Selector, ...] = ()
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> ReputationPolicy:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        return self


class WorkmailPolicy(_Model):
    """Who offboarding never touches, and the export default (README "Policy file")."""

    protected_users: tuple[str, ...] = Field((), alias="protectedUsers")  # user ids, names or emails
    protected_groups: tuple[str, ...] = Field((), alias="protectedGroups")  # group names or ids: members kept
    export_by_default: bool = Field(True, alias="exportByDefault")  # when a request does not say
    # An organization exit's soak: days between the DNS cut-over and the deletion (a rollback restores the DNS).
    exit_soak_days: int = Field(7, ge=1, le=90, alias="exitSoakDays")

    def protects_user(self, *identifiers: str | None) -> str | None:
        wanted = {p.lower() for p in self.protected_users}
        return next((i for i in identifiers if i and i.lower() in wanted), None)

    def protects_group(self, group_id: str, name: str) -> bool:
        wanted = {p.lower() for p in self.protected_groups}
        return group_id.lower() in wanted or name.lower() in wanted


class MailFromPolicy(_Model):
    """MAIL FROM setup and watching (README "Policy file")."""

    behavior_on_mx_failure: Literal["USE_DEFAULT_VALUE", "REJECT_MESSAGE"] = Field(
        "USE_DEFAULT_VALUE", alias="behaviorOnMxFailure"
    )
    # MAIL FROM domain suffix -> Route 53 hosted zone id; otherwise the longest-suffix public zone wins.
    hosted_zones: dict[str, str] = Field(default_factory=dict, alias="hostedZones")
    record_ttl: int = Field(300, ge=60, le=172800, alias="recordTtl")
    max_setup_attempts: int = Field(3, ge=1, le=10, alias="maxSetupAttempts")  # FAILED -> set up again, then alert
    check_every_minutes: int = Field(15, ge=5, le=1440, alias="checkEveryMinutes")  # PENDING / TEMPORARY_FAILURE
    recheck_succeeded_hours: int = Field(24, ge=1, le=720, alias="recheckSucceededHours")  # SUCCESS drifts too
    max_checks_per_run: int = Field(300, ge=1, le=800, alias="maxChecksPerRun")  # SES: 1 request/s
    # "Email Identity Created" events without a mailFromDomain get "<defaultSubdomain>.<identity's domain>".
    default_subdomain: str | None = Field(None, alias="defaultSubdomain", pattern=DNS_LABEL)

    @field_validator("hosted_zones")
    @classmethod
    def _zones(cls, v: dict[str, str]) -> dict[str, str]:
        return {k.strip().rstrip(".").lower(): z.strip().rsplit("/", 1)[-1] for k, z in v.items()}

    def zone_for(self, domain: str) -> str | None:
        owners = [s for s in self.hosted_zones if domain == s or domain.endswith("." + s)]
        return self.hosted_zones[max(owners, key=len)] if owners else None


ParticipantId = Annotated[str, StringConstraints(pattern=PARTICIPANT_ID)]


class CatalogPreferences(_Model):
    """Who may connect in one catalog (seed 003)."""

    access_type: AccessType = Field(alias="accessType")
    excluded: tuple[ParticipantId, ...] = Field((), alias="excludedParticipantIds", max_length=MAX_EXCLUSIONS)

    @model_validator(mode="after")
    def _consistent(self) -> CatalogPreferences:
        if self.excluded and self.access_type != SOME:
            raise ValueError(f"excludedParticipantIds only apply to accessType {SOME}")
        twice = sorted({p for p in self.excluded if self.excluded.count(p) > 1})
        if twice:
            raise ValueError(f"participant ids listed twice: {', '.join(twice)}")
        return self

    @property
    def access(self) -> Access:
        return Access(self.access_type, frozenset(self.excluded))


class PartnerPolicy(_Model):
    """Partner Central connection preferences kept at this desired state (README "Policy file")."""

    mode: Mode = "plan"  # a new deployment plans (dry-run) until the file says apply
    # Which changes wait for a human: widening ones (someone gains access), every one, or none.
    require_approval: Approval = Field("widening", alias="requireApproval")
    max_conflict_retries: int = Field(5, ge=0, le=20, alias="maxConflictRetries")  # another writer won the race
    catalogs: dict[str, CatalogPreferences] = Field(default_factory=dict)

    @field_validator("catalogs")
    @classmethod
    def _known(cls, v: dict[str, CatalogPreferences]) -> dict[str, CatalogPreferences]:
        unknown = sorted(set(v) - set(CATALOGS))
        if unknown:
            raise ValueError(f"unknown catalog {', '.join(unknown)}: Partner Central has {', '.join(CATALOGS)}")
        return v


class Policy(_Model):
    version: Literal[1]
    reputation: ReputationPolicy = Field(default_factory=lambda: ReputationPolicy.model_validate({}))
    workmail: WorkmailPolicy = Field(default_factory=lambda: WorkmailPolicy.model_validate({}))
    mail_from: MailFromPolicy = Field(default_factory=lambda: MailFromPolicy.model_validate({}), alias="mailFrom")
    partner: PartnerPolicy = Field(default_factory=lambda: PartnerPolicy.model_validate({}))

    def normalized(self) -> str:
        """Canonical JSON (what the stack deploys and the Lambdas read)."""
        return json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))


def _lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    import yaml

    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*path, key.value)] = key.start_mark.line + 1
            _lines(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)


_NOT_JSON = object()


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse and validate; raise :class:`PolicyError` naming ``source``, the line and the problem."""
    try:
        # JSON (what the stack deploys, ``normalized()``) is read as JSON: YAML would decode an escaped
        # character outside the BMP (``"\\ud83d\\ude00"``) as two lone surrogates, not the character.
        data = json.loads(text)
    except ValueError:
        data = _NOT_JSON
    if data is not _NOT_JSON and "\n" not in text.strip():
        # One line of JSON (the deployed, normalized file): every problem is on line 1, which is what
        # an empty line map answers, so the Lambdas need not load the YAML parser to compose it.
        return _validated(data, {}, source)
    import yaml  # only for YAML, or JSON on several lines (line numbers for its problems)

    # libyaml's parser when PyYAML has it (its wheels do: ten times the pure-Python one), composed
    # once: the node tree gives the line numbers and, constructed, the data.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if data is _NOT_JSON:
            data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        if data is not _NOT_JSON:  # valid JSON that YAML cannot read: no line numbers, same data
            node = None
        else:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark else "line ?"
            raise PolicyError(f"{source}: {where}: {getattr(exc, 'problem', None) or exc}") from exc
    finally:
        loader.dispose()
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _lines(node, (), lines)
    return _validated(data, lines, source)


def _validated(data: Any, lines: dict[tuple[Any, ...], int], source: str) -> Policy:
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: line 1: expected a mapping with 'version: 1'")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-after")))
        line = next((lines[loc[:i]] for i in range(len(loc), -1, -1) if loc[:i] in lines), 1)
        field = ".".join(str(p) for p in loc) or "(top level)"
        raise PolicyError(f"{source}: line {line}: {field}: {err['msg']}") from exc


def load_policy(path: str | Path) -> Policy:
    p = Path(path)
    if not p.is_file():
        raise PolicyError(f"{p}: policy file does not exist")
    return parse_policy(p.read_text(), str(p))


def main(argv: list[str] | None = None) -> int:
    """``python -m mailwarden.policy [FILE]``: validate a policy file (exit 2 naming the line)."""
    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else "policy/mailwarden.yaml"
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        print(exc, file=sys.stderr)
        return 2
    r = policy.reputation
    print(
        f"{path}: valid (reputation: mode {r.mode}, {len(r.rules)} rules, {len(r.allowlist)} allowlist entries, "
        f"at most {r.max_disables_per_run} disables per run; workmail: {len(policy.workmail.protected_users)} "
        f"protected users, {len(policy.workmail.protected_groups)} protected groups; partner: mode "
        f"{policy.partner.mode}, {len(policy.partner.catalogs)} catalogs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
