"""The DNS records a MAIL FROM domain needs, and the one Route 53 change that publishes them.

Pure functions over record sets as Route 53 returns them. The rules (FACTS.md "MAIL FROM and DNS"):

* exactly one MX ``10 feedback-smtp.<region>.amazonses.com`` at the MAIL FROM domain;
* one SPF record (RFC 7208 §3.2: two are a permerror that breaks SPF for every sender): an existing
  ``v=spf1`` TXT value is merged (its mechanisms kept, ``include:amazonses.com`` added before its
  ``all``), other TXT values at that name are kept;
* TXT values are quoted, with ``\\`` and ``"`` escaped, and split into strings of at most 255
  characters (RFC 1035 character-strings);
* a CNAME at that name, another MX, two SPF records or an SPF already at its 10-lookup limit is a
  conflict: nothing is written and the caller is told what to fix.

The change deletes the exact TXT/MX sets it read and creates the new ones in one atomic batch, so a
concurrent edit makes Route 53 reject the batch (``InvalidChangeBatch``) instead of being lost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

SES_INCLUDE = "include:amazonses.com"
SPF_RECORD = f"v=spf1 {SES_INCLUDE} ~all"
MAX_STRING = 255  # characters per TXT character-string
SPF_LOOKUP_LIMIT = 10  # RFC 7208 §4.6.4: terms that cause DNS lookups
_LOOKUP_TERMS = re.compile(r"^[+\-~?]?(include:|a\b|a:|a/|mx\b|mx:|mx/|ptr\b|ptr:|exists:|redirect=)", re.I)
_ALL = re.compile(r"^[+\-~?]?all$", re.I)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(\d{3}|.)")

DEFAULT_TTL = 300


def mx_value(region: str) -> str:
    return f"10 feedback-smtp.{region}.amazonses.com"


class DnsConflict(ValueError):
    """The records at the MAIL FROM domain cannot take SES's without breaking something."""


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1))) if m.group(1).isdigit() else m.group(1), text)


def txt_text(value: str) -> str:
    """The text of one TXT record value: its quoted strings concatenated (RFC 7208 §3.3), unescaped.
    An unquoted value (which Route 53 refuses, but zone imports may hold) is taken as it is."""
    strings = _QUOTED.findall(value)
    if not strings:
        return value.strip()
    return "".join(_unescape(s) for s in strings)


def quote_txt(text: str) -> str:
    """``text`` as a Route 53 TXT value: split into ≤255-character strings, each quoted and escaped."""
    chunks = [text[i : i + MAX_STRING] for i in range(0, len(text), MAX_STRING)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


def is_spf(text: str) -> bool:
    return text.lower() == "v=spf1" or text.lower().startswith("v=spf1 ")


def merge_spf(text: str, include: str = SES_INCLUDE) -> str:
    """``text`` with ``include`` (an ``include:<domain>`` term, SES's by default) added before its
    ``all`` (or its first modifier, or at the end); unchanged when it is already included. Raises
    DnsConflict at the lookup limit."""
    terms = text.split()
    if any(t.lower().lstrip("+") == include for t in terms[1:]):
        return text
    lookups = sum(1 for t in terms[1:] if _LOOKUP_TERMS.match(t))
    if lookups >= SPF_LOOKUP_LIMIT:
        raise DnsConflict(
            f"the SPF record already has {lookups} DNS-lookup terms; adding {include} would exceed the "
            f"limit of {SPF_LOOKUP_LIMIT} (RFC 7208 §4.6.4) and break SPF. Flatten it first."
        )
    at = next((i for i, t in enumerate(terms) if i and (_ALL.match(t) or "=" in t)), len(terms))
    return " ".join([*terms[:at], include, *terms[at:]])


@dataclass(frozen=True)
class RecordSet:
    """One Route 53 resource record set (simple routing) at the MAIL FROM domain."""

    type: str
    values: tuple[str, ...]
    ttl: int | None = None
    alias: bool = False

    @classmethod
    def from_route53(cls, rrset: dict[str, Any]) -> RecordSet:
        return cls(
            type=rrset["Type"],
            values=tuple(r["Value"] for r in rrset.get("ResourceRecords", [])),
            ttl=rrset.get("TTL"),
            alias="AliasTarget" in rrset,
        )

    def to_route53(self, name: str) -> dict[str, Any]:
        return {
            "Name": name,
            "Type": self.type,
            "TTL": self.ttl if self.ttl is not None else DEFAULT_TTL,
            "ResourceRecords": [{"Value": v} for v in self.values],
        }


@dataclass(frozen=True)
class RecordPlan:
    """What publishing needs at ``name``: the Route 53 changes (empty: already right) and why."""

    name: str
    changes: tuple[dict[str, Any], ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def needed(self) -> bool:
        return bool(self.changes)


def _same_host(a: str, b: str) -> bool:
    return a.lower().rstrip(".") == b.lower().rstrip(".")


def _mx_ok(values: Sequence[str], want: str) -> bool:
    if len(values) != 1:
        return False
    got, wanted = values[0].split(), want.split()
    return len(got) == 2 and got[0] == wanted[0] and _same_host(got[1], wanted[1])


def plan_records(name: str, existing: Sequence[RecordSet], region: str, ttl: int = DEFAULT_TTL) -> RecordPlan:
    """The atomic change that makes ``name`` carry SES's MX and SPF, given the record sets there now.
    Raises :class:`DnsConflict` (nothing to write) when that would break something."""
    by_type = {r.type: r for r in existing}
    if "CNAME" in by_type:
        raise DnsConflict(
            f"{name} is a CNAME ({', '.join(by_type['CNAME'].values) or 'alias'}); a name with a CNAME can hold "
            "no other record (RFC 1034 §3.6.2), so the MX and SPF records cannot be added. Use another MAIL FROM "
            "domain or remove the CNAME."
        )
    want_mx = mx_value(region)
    changes: list[dict[str, Any]] = []
    notes: list[str] = []
    mx = by_type.get("MX")
    if mx is None:
        changes.append({"Action": "CREATE", "ResourceRecordSet": RecordSet("MX", (want_mx,), ttl).to_route53(name)})
    elif mx.alias or not _mx_ok(mx.values, want_mx):
        raise DnsConflict(
            f"{name} already has an MX record ({', '.join(mx.values) or 'alias'}); SES needs exactly one MX, "
            f"'{want_mx}', to receive bounces there. Remove the other MX or use another MAIL FROM domain."
        )
    txt = by_type.get("TXT")
    values = list(txt.values) if txt else []
    spf = [i for i, v in enumerate(values) if is_spf(txt_text(v))]
    if len(spf) > 1:
        raise DnsConflict(
            f"{name} already has {len(spf)} SPF records, which is an SPF permerror (RFC 7208 §3.2) that breaks "
            "SPF for every sender. Merge them into one first."
        )
    if not spf:
        values.append(quote_txt(SPF_RECORD))
        notes.append("SPF record added")
    else:
        text = txt_text(values[spf[0]])
        merged = merge_spf(text)
        if merged != text:
            values[spf[0]] = quote_txt(merged)
            notes.append(f"{SES_INCLUDE} merged into the existing SPF record")
    if txt is None:
        changes.append({"Action": "CREATE", "ResourceRecordSet": RecordSet("TXT", tuple(values), ttl).to_route53(name)})
    elif tuple(values) != txt.values:
        changes.append({"Action": "DELETE", "ResourceRecordSet": txt.to_route53(name)})
        changes.append(
            {"Action": "CREATE", "ResourceRecordSet": RecordSet("TXT", tuple(values), txt.ttl).to_route53(name)}
        )
    return RecordPlan(name, tuple(changes), tuple(notes))


def records_ok(existing: Sequence[RecordSet], region: str) -> bool:
    """Whether ``existing`` already carries SES's MX and exactly one SPF record that includes SES."""
    by_type = {r.type: r for r in existing}
    mx, txt = by_type.get("MX"), by_type.get("TXT")
    if mx is None or txt is None or "CNAME" in by_type or not _mx_ok(mx.values, mx_value(region)):
        return False
    spf = [txt_text(v) for v in txt.values if is_spf(txt_text(v))]
    return len(spf) == 1 and SES_INCLUDE in (t.lower().lstrip("+") for t in spf[0].split())
