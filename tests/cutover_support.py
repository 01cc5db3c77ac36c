"""Helpers for the DNS cut-over tests: WorkMail's records for a mail domain (as GetMailDomain lists
them and as they sit in Route 53), and a tiny in-memory hosted zone that applies a change batch
with Route 53's semantics (atomic; DELETE only of the exact set, CREATE only where none is, no CNAME
beside another record)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from mailwarden.mailfrom.records import SPF_RECORD, RecordSet, quote_txt
from mailwarden.workmail.ports import MailDomain

REGION = "eu-west-1"
WORKMAIL_MX = f"10 inbound-smtp.{REGION}.amazonaws.com"
WORKMAIL_AUTODISCOVER = f"autodiscover.mail.{REGION}.awsapps.com"
DKIM_TOKENS = ("tok1abc", "tok2def", "tok3ghi")


def workmail_records(domain: str) -> tuple[tuple[str, str, str], ...]:
    """(type, hostname, value) as GetMailDomain lists them."""
    return (
        ("MX", domain, WORKMAIL_MX),
        ("CNAME", f"autodiscover.{domain}", WORKMAIL_AUTODISCOVER),
        ("TXT", domain, SPF_RECORD),
        ("TXT", f"_amazonses.{domain}", "verification-token="),
        *(("CNAME", f"{t}._domainkey.{domain}", f"{t}.dkim.amazonses.com") for t in DKIM_TOKENS),
        ("TXT", f"_dmarc.{domain}", "v=DMARC1;p=quarantine;pct=100;fo=1"),
    )


def mail_domain(domain: str, *, test: bool = False) -> MailDomain:
    return MailDomain(domain, default=True, test=test, records=workmail_records(domain), ownership="VERIFIED")


Zone = dict[str, dict[str, RecordSet]]  # name -> type -> the record set


def workmail_zone(domain: str, ttl: int = 300) -> Zone:
    """A zone holding WorkMail's records for ``domain``, as its owner published them."""
    zone: Zone = {}
    for rtype, host, value in workmail_records(domain):
        here = zone.setdefault(host, {})
        value = quote_txt(value) if rtype == "TXT" else value
        old = here.get(rtype)
        here[rtype] = RecordSet(rtype, (*(old.values if old else ()), value), ttl)
    return zone


def read(zone: Zone, names: Sequence[str]) -> dict[str, list[RecordSet]]:
    """What ``Route53Dns.record_sets`` answers for each name."""
    return {n: list(zone.get(n, {}).values()) for n in names}


class InvalidChangeBatch(Exception):
    pass


def _rrset(rrset: Mapping[str, Any]) -> tuple[str, RecordSet]:
    return rrset["Name"].rstrip(".").lower(), RecordSet.from_route53(dict(rrset))


def apply(zone: Zone, batch: Mapping[str, Any] | None) -> Zone:
    """The zone after ``batch`` (a ChangeBatch), or InvalidChangeBatch (the zone is unchanged)."""
    out = copy.deepcopy(zone)
    if batch is None:
        return out
    if not batch["Changes"]:
        raise InvalidChangeBatch("Changes: at least one change")
    for change in batch["Changes"]:
        name, new = _rrset(change["ResourceRecordSet"])
        here = out.setdefault(name, {})
        old = here.get(new.type)
        if change["Action"] == "DELETE":
            if old is None or (old.ttl, sorted(old.values)) != (new.ttl, sorted(new.values)):
                raise InvalidChangeBatch(f"Tried to delete {name} {new.type} but it was not found (or differs)")
            del here[new.type]
        elif change["Action"] == "CREATE":
            if old is not None:
                raise InvalidChangeBatch(f"Tried to create {name} {new.type} but it already exists")
            if (new.type == "CNAME" and here) or "CNAME" in here:
                raise InvalidChangeBatch(f"RRSet of type CNAME with DNS name {name} is not permitted beside others")
            if not new.values or (new.type == "CNAME" and len(new.values) != 1):
                raise InvalidChangeBatch(f"{name} {new.type}: wrong number of values")
            here[new.type] = new
        else:
            raise InvalidChangeBatch(f"unexpected action {change['Action']}")
        if not here:
            del out[name]
    return out
