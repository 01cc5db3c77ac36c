"""The DNS cut-over of an organization exit: the target-records file, and the Route 53 changes that
point each mail domain at the next provider (pure: record sets in, change dicts out).

The target-records file (docs/workmail-exit.md "The target-records file") gives, per mail domain, the
records the next provider needs. :func:`plan_domain` turns it, WorkMail's records for the domain
(``GetMailDomain``) and the record sets at the names it touches into one :class:`DomainPlan`:

* the MX set at the domain is replaced by the target's (a set that was not WorkMail's is said so);
* WorkMail's autodiscover CNAME is replaced by the target's, or deleted when the target has none;
* the SPF record is merged as the MAIL FROM publisher does (``mailfrom.records``): exactly one
  ``v=spf1`` record at the domain (RFC 7208 §3.2), the target's includes added before its ``all``;
* the target's other records are created, TXT merged into the TXT set at that name, a CNAME
  replacing the CNAME there; everything else (WorkMail's DKIM CNAMEs, ``_amazonses``, ``_dmarc``,
  unrelated records) is left as it is.

A conflict (a CNAME where MX/TXT must go, two SPF records, ...) plans nothing for the domain and says
what to fix. Like ``plan_records``, the changes DELETE the exact sets read and CREATE the new ones,
so a concurrent edit makes Route 53 reject the batch. Re-planning after the changes are applied
gives no changes (the step is re-run after a crash); :func:`plan_rollback` restores ``previous``.
:func:`zone_change_batch` merges the domains of one hosted zone into one ChangeBatch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..mailfrom.records import (
    DEFAULT_TTL,
    SES_INCLUDE,
    SPF_LOOKUP_LIMIT,
    DnsConflict,
    RecordSet,
    is_spf,
    merge_spf,
    quote_txt,
    txt_text,
)
from .ports import MailDomain

MAX_NAME = 253  # RFC 1035 §2.3.4 (the presentation form without the trailing dot)
MAX_TTL = 2_147_483_647  # Route 53's TTL range (botocore model: 0..2^31-1)
MAX_VALUE = 4000  # Route 53: one ResourceRecord Value (botocore model RData)
# Route 53's limits on one ChangeResourceRecordSets request (Developer Guide, "Quotas"): ResourceRecord
# elements and characters in all Value elements (an UPSERT counts twice; the cut-over never upserts).
MAX_BATCH_RECORDS = 1000
MAX_BATCH_CHARS = 32_000

_LDH = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"  # RFC 1035 §2.3.1 (RFC 1123 §2.1: a digit may lead)
_HOSTNAME = re.compile(rf"(?:{_LDH}\.)+{_LDH}")  # a host: the MX exchange, the autodiscover target
# A record name or CNAME/include target may also hold underscore labels (RFC 2181 §11, RFC 8552:
# _domainkey, _dmarc, _spf): letters, digits, hyphens and underscores, 63 per label.
_DNS_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DNS_NAME = re.compile(rf"(?:{_DNS_LABEL}\.)+{_DNS_LABEL}")
_MX = re.compile(r"(\d{1,5}) +(\S+)")
_SINGLE = {"v=spf1": "SPF", "v=dmarc1": "DMARC"}  # TXT kinds a name may hold once (RFC 7208 §3.2, RFC 7489 §6.6.3)
# WorkMail's own records, recognised also when GetMailDomain does not list them.
_WORKMAIL_MX = re.compile(r"\d+ inbound-smtp\.[a-z0-9-]+\.amazonaws\.com")
_WORKMAIL_AUTODISCOVER = re.compile(r"autodiscover\.mail\.[a-z0-9-]+\.awsapps\.com")


class TargetRecordsError(ValueError):
    """A target-records file that cannot be used; the message names the domain, the entry and the problem."""


def _host(value: str, what: str, *, underscores: bool = False) -> str:
    """``value`` lower-cased without its trailing dot, if it is a fully qualified name (two labels or more)."""
    name = value.lower()
    name = name[:-1] if name.endswith(".") else name
    pattern = _DNS_NAME if underscores else _HOSTNAME
    if len(name) > MAX_NAME or not pattern.fullmatch(name):
        kind = "letters, digits, hyphens and underscores" if underscores else "letters, digits and hyphens"
        raise ValueError(
            f"{what} {value!r} is not a fully qualified DNS name (two labels or more of {kind}, 63 characters "
            f"each, not starting or ending with a hyphen; {MAX_NAME} characters in all)"
        )
    return name


def _mx(value: str, what: str = "MX value") -> str:
    m = _MX.fullmatch(value.strip())
    if not m or int(m.group(1)) > 65535:
        raise ValueError(f"{what} {value!r} is not '<preference 0-65535> <host>', e.g. '10 mx1.example.net'")
    return f"{int(m.group(1))} {_host(m.group(2), f'the host of {what}')}"


def _include(value: str) -> str:
    return _host(value, "the SPF include", underscores=True)


def _txt_kind(text: str) -> str | None:
    """``SPF`` or ``DMARC`` by the version tag the text starts with (``v=DMARC1;p=none`` too), else None."""
    return _SINGLE.get(re.split(r"[\s;]", text.strip(), maxsplit=1)[0].lower())


def _unique(values: Sequence[str], what: str) -> None:
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise ValueError(f"{what} lists {', '.join(twice)} more than once")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class TargetRecord(_Model):
    """One other record the next provider gives (a DKIM CNAME, a verification TXT, ...)."""

    name: str = Field(min_length=1)  # "@", relative to the domain, or fully qualified inside it
    type: Literal["CNAME", "TXT", "MX"]
    value: str

    @field_validator("value")
    @classmethod
    def _value(cls, v: str, info: Any) -> str:
        kind = info.data.get("type")
        if kind is None:  # the type is wrong: that is the error to report
            return v
        if kind == "MX":
            return _mx(v)
        if kind == "CNAME":
            return _host(v, "the CNAME target", underscores=True)
        if not v or not all(" " <= c <= "~" for c in v):
            raise ValueError("a TXT value is printable ASCII text (unquoted; Mailwarden quotes it), not empty")
        if len(quote_txt(v)) > MAX_VALUE:
            raise ValueError(f"the TXT value is longer than Route 53's {MAX_VALUE} characters once quoted")
        return v


class DomainTarget(_Model):
    """What the next provider gives for one mail domain."""

    ttl: int = Field(DEFAULT_TTL, ge=0, le=MAX_TTL, strict=True)
    mx: tuple[Annotated[str, AfterValidator(_mx)], ...] = Field(min_length=1, max_length=100)
    spf_include: tuple[Annotated[str, AfterValidator(_include)], ...] = Field(
        alias="spfInclude", min_length=1, max_length=SPF_LOOKUP_LIMIT
    )
    autodiscover: str | None = None
    records: tuple[TargetRecord, ...] = Field(default=(), max_length=100)

    @field_validator("mx")
    @classmethod
    def _mx_hosts(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        _unique([x.split()[1] for x in v], "mx")
        return v

    @field_validator("spf_include")
    @classmethod
    def _includes(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        _unique(list(v), "spfInclude")
        return v

    @field_validator("autodiscover")
    @classmethod
    def _autodiscover(cls, v: str | None) -> str | None:
        return None if v is None else _host(v, "the autodiscover target")

    def names(self, domain: str) -> list[str]:
        """The names the cut-over reads and may write: the domain, autodiscover, the records' names."""
        return list(dict.fromkeys([domain, autodiscover_name(domain), *(r.name for r in self.records)]))


def autodiscover_name(domain: str) -> str:
    return f"autodiscover.{domain}"


def _resolve(name: str, domain: str) -> str:
    n = name.lower()
    if n == "@":
        return domain
    absolute = n.endswith(".")
    n = n[:-1] if absolute else n
    inside = n == domain or n.endswith("." + domain)
    if absolute and not inside:
        raise ValueError(f"name {name!r} is not inside {domain}")
    return _host(n if inside else f"{n}.{domain}", "the name", underscores=True)


def _checked_records(domain: str, target: DomainTarget) -> tuple[TargetRecord, ...]:
    """The records with fully qualified names, after the checks that need the domain."""
    out: list[TargetRecord] = []
    types: dict[str, set[str]] = {}
    for i, r in enumerate(target.records):
        where = f"domain {domain}: records[{i}] ({r.name} {r.type})"
        try:
            name = _resolve(r.name, domain)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if name == autodiscover_name(domain):
            raise ValueError(f"{where}: {name} is the autodiscover name; give its target as 'autodiscover'")
        if name == domain and r.type == "MX":
            raise ValueError(f"{where}: the MX records at the domain are 'mx'")
        if name == domain and r.type == "CNAME":
            raise ValueError(f"{where}: a CNAME cannot be at the domain itself (RFC 1034 §3.6.2: no other record)")
        if r.type == "TXT" and name == domain and _txt_kind(r.value) == "SPF":
            raise ValueError(f"{where}: the SPF record at the domain is merged from 'spfInclude'; list the includes")
        if "CNAME" in types.get(name, set()) or (r.type == "CNAME" and name in types):
            raise ValueError(f"{where}: a CNAME at {name} cannot share the name with another record (RFC 1034 §3.6.2)")
        same = [o for o in out if o.name == name and o.type == r.type]
        if any(o.value == r.value for o in same):
            raise ValueError(f"{where}: listed twice")
        kind = _txt_kind(r.value) if r.type == "TXT" else None
        if kind and any(_txt_kind(o.value) == kind for o in same):
            raise ValueError(f"{where}: a second {kind} record at {name} (a name holds one)")
        types.setdefault(name, set()).add(r.type)
        out.append(r.model_copy(update={"name": name}))
    return tuple(out)


class TargetRecords(_Model):
    """The target-records file: ``version: 1`` and the target of each mail domain."""

    version: Literal[1]
    domains: dict[str, DomainTarget] = Field(min_length=1, max_length=1000)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, v: Any) -> Any:
        if type(v) is not int or v != 1:  # not True, not 1.0: the file says 1
            raise ValueError(f"version {v!r} is not 1, the only format of the file")
        return v

    @field_validator("domains")
    @classmethod
    def _domains(cls, v: dict[str, DomainTarget]) -> dict[str, DomainTarget]:
        out: dict[str, DomainTarget] = {}
        owner: dict[str, str] = {}  # name -> the domain that writes it
        for key, target in v.items():
            domain = _host(key, "the mail domain")
            if domain in out:
                raise ValueError(f"domain {key}: the same domain as another entry ({domain})")
            records = _checked_records(domain, target)
            out[domain] = target.model_copy(update={"records": records})
            for name in out[domain].names(domain):
                if name in owner:
                    raise ValueError(f"domain {domain}: {name} is also written for domain {owner[name]}")
                owner[name] = domain
        return out

    def as_dict(self) -> dict[str, Any]:
        """The file as JSON (what the exit request carries); :func:`parse_target_records` reads it back."""
        return self.model_dump(mode="json", by_alias=True)


_FIELDS = {
    0: ("version", "domains"),
    2: ("ttl", "mx", "spfInclude", "autodiscover", "records"),
    4: ("name", "type", "value"),
}


def _describe(exc: ValidationError) -> str:
    problems = []
    locs = [e["loc"] for e in exc.errors()]

    def inside(loc: tuple[Any, ...]) -> bool:  # an error of an item of the list or mapping at ``loc``
        return any(len(x) > len(loc) and x[: len(loc)] == loc for x in locs)

    # "at least 1 item after validation" where an item was refused: the item's error says it all
    errors = [e for e in exc.errors() if not (e["type"] == "too_short" and inside(e["loc"]))]
    for err in errors[:5]:
        loc = list(err["loc"])
        msg = "required" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
        if loc == ["domains"] and msg.startswith("domain "):  # the checks across entries name the domain
            problems.append(msg)
            continue
        head, rest = ([f"domain {loc[1]}"], loc[2:]) if loc[:1] == ["domains"] and len(loc) > 1 else ([], loc)
        if err["type"] == "extra_forbidden":
            msg = f"unknown field {rest[-1]!r} (the fields are {', '.join(_FIELDS.get(len(loc) - 1, ()))})"
            rest = rest[:-1]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest).lstrip(".")
        problems.append(": ".join([*head, *([path] if path else []), msg]))
    more = len(errors) - len(problems)
    return "target records: " + "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def parse_target_records(data: Any) -> TargetRecords:
    """The target-records file as parsed YAML/JSON (what the exit request carries), validated."""
    if not isinstance(data, dict):
        raise TargetRecordsError("target records: expected a mapping with 'version: 1' and 'domains'")
    try:
        return TargetRecords.model_validate(data)
    except ValidationError as exc:
        raise TargetRecordsError(_describe(exc)) from None
    except RecursionError:
        raise TargetRecordsError("target records: nested too deeply") from None


def load_target_records(text: str) -> TargetRecords:
    """The target-records file from its text (JSON, or YAML through PyYAML, the project's YAML library)."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise TargetRecordsError("target records: nested too deeply") from None
    except ValueError:
        import yaml  # only for YAML (the Lambdas get the parsed object in the event)

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark else ""
            raise TargetRecordsError(
                f"target records: {where}not YAML: {getattr(exc, 'problem', None) or exc}"
            ) from None
        except RecursionError:
            raise TargetRecordsError("target records: nested too deeply") from None
    return parse_target_records(data)


# ---------------------------------------------------------------- the plan

Key = tuple[str, str]  # (name, type)


@dataclass(frozen=True)
class DomainPlan:
    """The cut-over of one mail domain (or its rollback), JSON-serialisable with :meth:`as_dict`.

    ``changes`` are Route 53 Change dicts (DELETE the exact set read, then CREATE the new one);
    ``previous`` the record sets before for each name/type changed, ``after`` the sets after (a set
    deleted is only in ``previous``, one created only in ``after``); ``diff`` one line per value
    removed (``-``) or added (``+``). With ``conflicts`` nothing is planned."""

    domain: str
    changes: tuple[dict[str, Any], ...] = ()
    previous: tuple[dict[str, Any], ...] = ()
    after: tuple[dict[str, Any], ...] = ()
    diff: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def needed(self) -> bool:
        return bool(self.changes)

    @property
    def names(self) -> list[str]:
        """The names the plan changes (what a rollback or an "already applied" check must read)."""
        return list(dict.fromkeys(r["Name"] for r in (*self.previous, *self.after)))

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DomainPlan:
        return cls(
            domain=d["domain"],
            **{k: tuple(d.get(k, ())) for k in ("changes", "previous", "after", "diff", "conflicts", "notes")},
        )


def _canon(rtype: str, value: str) -> str:
    if rtype == "TXT":
        return txt_text(value)
    if rtype == "CNAME":
        return value.lower().rstrip(".")
    if rtype == "MX":
        m = _MX.fullmatch(value.strip())
        return f"{int(m.group(1))} {m.group(2).lower().rstrip('.')}" if m else value
    return value


def _same(a: RecordSet | None, b: RecordSet | None) -> bool:
    """Whether two record sets are the same DNS data (names case-insensitive, TXT by its text)."""
    if a is None or b is None:
        return a is b
    return (a.type, a.alias, a.ttl, sorted(_canon(a.type, v) for v in a.values)) == (
        b.type,
        b.alias,
        b.ttl,
        sorted(_canon(b.type, v) for v in b.values),
    )


def _index(names: Sequence[str], current: Mapping[str, Sequence[RecordSet]]) -> dict[Key, RecordSet]:
    missing = [n for n in names if n not in current]
    if missing:
        raise ValueError(f"the record sets at {', '.join(missing)} were not read")
    return {(n, rs.type): rs for n in names for rs in current[n]}


def _diff(name: str, old: RecordSet | None, new: RecordSet | None) -> Iterator[str]:
    """``- TYPE name value`` per value removed, ``+ ...`` per value added (every value when the TTL changes)."""
    ttl_changed = old is not None and new is not None and old.ttl != new.ttl
    canon = [set() if rs is None else {_canon(rs.type, v) for v in rs.values} for rs in (old, new)]
    common = set() if ttl_changed else canon[0] & canon[1]
    for rs, sign in ((old, "-"), (new, "+")):
        if rs is None:
            continue
        ttl = f" (TTL {rs.ttl})" if ttl_changed else ""
        yield from (f"{sign} {rs.type} {name} {v}{ttl}" for v in rs.values if _canon(rs.type, v) not in common)


def _build(
    domain: str, have: Mapping[Key, RecordSet], want: Mapping[Key, RecordSet | None], notes: list[str]
) -> DomainPlan:
    changes: list[dict[str, Any]] = []
    previous: list[dict[str, Any]] = []
    after: list[dict[str, Any]] = []
    diff: list[str] = []
    for key, new in want.items():
        name, old = key[0], have.get(key)
        if _same(old, new):
            continue
        if old is not None:
            changes.append({"Action": "DELETE", "ResourceRecordSet": old.to_route53(name)})
            previous.append(old.to_route53(name))
        if new is not None:
            changes.append({"Action": "CREATE", "ResourceRecordSet": new.to_route53(name)})
            after.append(new.to_route53(name))
        diff += _diff(name, old, new)
    return DomainPlan(domain, tuple(changes), tuple(previous), tuple(after), tuple(diff), (), tuple(notes))


def _values(rs: RecordSet | None) -> str:
    if rs is None:
        return "nothing"
    return "an alias" if rs.alias else ", ".join(rs.values)


class _Planner:
    def __init__(self, domain: str, target: DomainTarget, have: dict[Key, RecordSet]) -> None:
        self.domain, self.target, self.have = domain, target, have
        self.want: dict[Key, RecordSet | None] = {}
        self.conflicts: list[str] = []
        self.notes: list[str] = []

    def types_at(self, name: str) -> set[str]:
        return {t for (n, t) in self.have if n == name}

    def writable(self, name: str, rtype: str) -> RecordSet | None:
        """The set at (name, type) that a record of ``rtype`` replaces; a conflict when it cannot go there."""
        others = self.types_at(name) - {rtype}
        if rtype != "CNAME" and "CNAME" in others:
            self.conflicts.append(
                f"{name} is a CNAME ({_values(self.have[(name, 'CNAME')])}); a name with a CNAME can hold no other "
                f"record (RFC 1034 §3.6.2), so the {rtype} records cannot be written there. Remove the CNAME."
            )
        if rtype == "CNAME" and others:
            self.conflicts.append(
                f"{name} has {', '.join(sorted(others))} records where the new provider's CNAME must go; a CNAME "
                "cannot share its name (RFC 1034 §3.6.2). Remove them or change the target file."
            )
        old = self.have.get((name, rtype))
        # An alias of another type (an A alias at the apex for the web site) shares the name harmlessly;
        # where a CNAME must go, the check above names every other record, aliases included.
        if old is not None and old.alias:
            self.conflicts.append(
                f"{name} has an alias {rtype} record; the cut-over writes ordinary {rtype} records and cannot merge "
                "into an alias. Replace the alias with ordinary records or remove it."
            )
        return old

    def mx(self, workmail: MailDomain) -> None:
        d = self.domain
        old = self.writable(d, "MX")
        new = RecordSet("MX", self.target.mx, self.target.ttl)
        if old is not None and not old.alias and not _same(old, new):
            ours = {_canon("MX", v) for t, h, v in workmail.records if t == "MX" and _name(h) == d}
            got = {_canon("MX", v) for v in old.values}
            if got != ours and not all(_WORKMAIL_MX.fullmatch(v) for v in got):
                self.notes.append(f"the MX records at {d} ({_values(old)}) were not WorkMail's; they are replaced too")
        self.want[(d, "MX")] = new

    def spf(self, extra_txt: Sequence[str]) -> None:
        d = self.domain
        old = self.writable(d, "TXT")
        values = list(old.values) if old is not None else []
        spf = [i for i, v in enumerate(values) if is_spf(txt_text(v))]
        if len(spf) > 1:
            self.conflicts.append(
                f"{d} already has {len(spf)} SPF records, an SPF permerror (RFC 7208 §3.2) that breaks SPF for every "
                "sender. Merge them into one first."
            )
            return
        text = txt_text(values[spf[0]]) if spf else "v=spf1 ~all"
        merged = text
        try:
            for include in self.target.spf_include:
                merged = merge_spf(merged, f"include:{include}")
        except DnsConflict as exc:
            self.conflicts.append(f"{d}: {exc}")
            return
        # include:amazonses.com stays: SES may still send for the domain (a MAIL FROM domain, other
        # senders) after WorkMail is gone; the cut-over removes no include it cannot know to be unused.
        if not spf:
            values.append(quote_txt(merged))
            self.notes.append(f"an SPF record is created at {d}: {merged}")
        elif merged != text:
            values[spf[0]] = quote_txt(merged)
            ses = any(t.lower().lstrip("+") == SES_INCLUDE for t in merged.split())
            kept = f"; {SES_INCLUDE} is kept (SES may still send for {d})" if ses else ""
            self.notes.append(f"the includes are merged into the SPF record at {d}{kept}")
        self.merge_txt(d, old, values, extra_txt)

    def merge_txt(self, name: str, old: RecordSet | None, values: list[str], extra: Sequence[str]) -> None:
        texts = [txt_text(v) for v in values]
        for text in extra:
            kind = _txt_kind(text)
            clash = [t for t in texts if kind and _txt_kind(t) == kind and t != text]
            if clash:
                self.conflicts.append(
                    f"{name} already has a {kind} record ({clash[0]!r}); a second one breaks {kind} for the name. "
                    "Merge the target's into it by hand, or drop it from the target file."
                )
            elif text not in texts:
                values.append(quote_txt(text))
                texts.append(text)
        self.want[(name, "TXT")] = RecordSet("TXT", tuple(values), old.ttl if old is not None else self.target.ttl)

    def autodiscover(self, workmail: MailDomain) -> None:
        name = autodiscover_name(self.domain)
        target = self.target.autodiscover
        ours = {_canon("CNAME", v) for t, h, v in workmail.records if t == "CNAME" and _name(h) == name}
        old = self.have.get((name, "CNAME"))
        workmails = (
            old is not None
            and not old.alias
            and all(
                _canon("CNAME", v) in ours or _WORKMAIL_AUTODISCOVER.fullmatch(_canon("CNAME", v)) for v in old.values
            )
        )
        if target is not None:
            old = self.writable(name, "CNAME")
            new = RecordSet("CNAME", (target,), self.target.ttl)
            if old is not None and not workmails and not _same(old, new):
                self.notes.append(f"the CNAME at {name} ({_values(old)}) was not WorkMail's; it is replaced too")
            self.want[(name, "CNAME")] = new
        elif workmails:
            self.want[(name, "CNAME")] = None
            self.notes.append(f"WorkMail's autodiscover CNAME at {name} is deleted (the target file gives none)")
        elif old is not None:
            self.notes.append(f"the CNAME at {name} ({_values(old)}) is not WorkMail's; it is left as it is")

    def records(self) -> None:
        by_key: dict[Key, list[str]] = {}
        for r in self.target.records:
            by_key.setdefault((r.name, r.type), []).append(r.value)
        for (name, rtype), values in by_key.items():
            if name == self.domain:  # TXT at the domain: merged with the SPF record (the file refuses others)
                continue
            old = self.writable(name, rtype)
            if rtype == "TXT":
                self.merge_txt(name, old, list(old.values) if old is not None else [], values)
                continue
            new = RecordSet(rtype, tuple(values), self.target.ttl)
            if old is not None and not old.alias and not _same(old, new):
                self.notes.append(f"the {rtype} record at {name} ({_values(old)}) is replaced")
            self.want[(name, rtype)] = new


def _name(host: str) -> str:
    return host.lower().rstrip(".")


def plan_domain(
    domain: str, target: DomainTarget, workmail: MailDomain, current: Mapping[str, Sequence[RecordSet]]
) -> DomainPlan:
    """The cut-over of ``domain``: ``current`` holds the record sets at every name of
    ``target.names(domain)`` (keyed by lower-case name without the trailing dot), as Route 53 lists them."""
    if _name(workmail.name) != domain:
        raise ValueError(f"WorkMail's records are for {workmail.name}, not {domain}")
    if workmail.test:
        conflict = f"{domain} is WorkMail's test domain; it is not in your DNS. Remove it from the target file."
        return DomainPlan(domain, conflicts=(conflict,))
    planner = _Planner(domain, target, _index(target.names(domain), current))
    planner.mx(workmail)
    planner.spf([r.value for r in target.records if r.name == domain and r.type == "TXT"])
    planner.autodiscover(workmail)
    planner.records()
    if planner.conflicts:
        return DomainPlan(domain, conflicts=tuple(dict.fromkeys(planner.conflicts)), notes=tuple(planner.notes))
    plan = _build(domain, planner.have, planner.want, planner.notes)
    if not plan.needed:
        return DomainPlan(domain, notes=(f"{domain} is already cut over: its records are what the target file gives",))
    return plan


def _sets(rrsets: Sequence[Mapping[str, Any]]) -> dict[Key, RecordSet]:
    return {(_name(r["Name"]), r["Type"]): RecordSet.from_route53(dict(r)) for r in rrsets}


def is_applied(plan: DomainPlan, current: Mapping[str, Sequence[RecordSet]]) -> bool:
    """Whether the records at the plan's names are what it writes (``after``; its deletions gone)."""
    have = _index(plan.names, current)
    after = _sets(plan.after)
    return all(_same(have.get(k), after.get(k)) for k in {**_sets(plan.previous), **after})


def plan_rollback(applied: DomainPlan, current: Mapping[str, Sequence[RecordSet]]) -> DomainPlan:
    """The changes that put back ``applied.previous`` exactly: DELETE what is there now (which must be
    ``applied.after``), CREATE the previous sets. A name changed since the cut-over is a conflict
    (nothing planned); a name already restored is left alone (the rollback is re-run safely)."""
    have = _index(applied.names, current)
    previous, after = _sets(applied.previous), _sets(applied.after)
    want: dict[Key, RecordSet | None] = {}
    changed: list[str] = []
    for key in {**previous, **after}:
        now = have.get(key)
        if _same(now, previous.get(key)):
            continue
        if not _same(now, after.get(key)):
            changed.append(f"{key[0]} {key[1]} (now {_values(now)})")
        want[key] = previous.get(key)
    if changed:
        conflict = (
            f"the records at {'; '.join(changed)} are no longer what the cut-over wrote: someone changed them since. "
            "Nothing is rolled back; put the previous records back by hand or undo that change first."
        )
        return DomainPlan(applied.domain, conflicts=(conflict,))
    return _build(applied.domain, have, want, [])


def zone_change_batch(zone: str, plans: Sequence[DomainPlan], comment: str) -> dict[str, Any] | None:
    """One ChangeBatch with the changes of every domain of hosted zone ``zone`` (``None``: nothing to
    change). Raises :class:`DnsConflict` when two domains change the same name, a change is outside
    the zone, or the batch exceeds Route 53's limits."""
    changes: list[dict[str, Any]] = []
    owner: dict[str, str] = {}
    for plan in plans:
        for change in plan.changes:
            rrset = change["ResourceRecordSet"]
            name = _name(rrset["Name"])
            if not (name == zone or name.endswith("." + zone)):
                raise DnsConflict(f"{name} (domain {plan.domain}) is not in hosted zone {zone}")
            if owner.setdefault(name, plan.domain) != plan.domain:
                raise DnsConflict(f"{name} is changed for both {owner[name]} and {plan.domain}; plan it once")
            if any(c["Action"] == change["Action"] and _key(c) == _key(change) for c in changes):
                raise DnsConflict(f"{change['Action']} {name} {rrset['Type']} is in the batch twice")
            changes.append(change)
    if not changes:
        return None
    weight = [2 if c["Action"] == "UPSERT" else 1 for c in changes]
    values = [[r["Value"] for r in c["ResourceRecordSet"].get("ResourceRecords", [])] for c in changes]
    records = sum(w * len(v) for w, v in zip(weight, values, strict=True))
    chars = sum(w * sum(map(len, v)) for w, v in zip(weight, values, strict=True))
    if records > MAX_BATCH_RECORDS or chars > MAX_BATCH_CHARS:
        raise DnsConflict(
            f"the changes to hosted zone {zone} have {records} records and {chars} characters of values; one "
            f"Route 53 change batch takes {MAX_BATCH_RECORDS} and {MAX_BATCH_CHARS:,}. Cut the zone's domains "
            "over in several runs (a target file with fewer domains each)."
        )
    return {"Comment": comment[:256], "Changes": changes}


def _key(change: Mapping[str, Any]) -> Key:
    return _name(change["ResourceRecordSet"]["Name"]), change["ResourceRecordSet"]["Type"]
