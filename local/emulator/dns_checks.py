"""SES's DNS checks, on the virtual clock, against the public hosted zones in (moto's) Route 53.

What SES looks for (SESv2 API reference: ``CreateEmailIdentity``, ``DkimAttributes``,
``VerificationInfo``, ``MailFromDomainStatus``; SES v1 ``GetIdentityVerificationAttributes``):

* a **domain identity** (Easy DKIM) is verified when the three CNAMEs
  ``<token>._domainkey.<domain>`` -> ``<token>.dkim.amazonses.com`` are published; with BYODKIM, a TXT
  ``<selector>._domainkey.<domain>`` holding a public key (``p=...``). PENDING until then, FAILED
  after 72 hours without them (terminal: delete and create the identity again). Records that vanish
  after SUCCESS make it TEMPORARY_FAILURE; back within 72 hours: SUCCESS, else FAILED;
* an **email-address identity** is verified when its owner follows the link SES mailed
  (``control.confirm_email_identity``); FAILED when nobody does within 24 hours;
* a **MAIL FROM domain** turns SUCCESS once its identity is verified and the domain has exactly one
  MX ``10 feedback-smtp.<region>.amazonses.com`` and an SPF record including amazonses.com;
  FAILED after 72 hours without, TEMPORARY_FAILURE when they vanish after SUCCESS.

SES checks when it is asked (every GetEmailIdentity / ListEmailIdentities, and the control API's
``check_*``), seeing Route 53 as it is at that moment. Private hosted zones are not public DNS:
SES never sees them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import Emulator
    from .sesv2 import Identity

DOMAIN_WINDOW = timedelta(hours=72)
EMAIL_WINDOW = timedelta(hours=24)
MAIL_FROM_WINDOW = timedelta(hours=72)
DKIM_TARGET = "dkim.amazonses.com"
_SOA = re.compile(r"([A-Za-z0-9.-]+)\s+([A-Za-z0-9.-]+)\s+(\d+)\s")


def _fqdn(name: str) -> str:
    return name.rstrip(".").lower() + "."


class PublicDns:
    """Route 53's public zones as a resolver would answer (the emulator's own, untracked calls)."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    @property
    def _r53(self) -> Any:
        return self.emu.client("route53")

    def zone_for(self, name: str) -> dict[str, Any] | None:
        fqdn = _fqdn(name)
        zones = [
            z
            for page in self._r53.get_paginator("list_hosted_zones").paginate()
            for z in page["HostedZones"]
            if not z.get("Config", {}).get("PrivateZone") and (fqdn == z["Name"] or fqdn.endswith("." + z["Name"]))
        ]
        return max(zones, key=lambda z: len(z["Name"]), default=None)

    def records(self, name: str) -> dict[str, list[str]]:
        """``{type: [values]}`` of the record sets at ``name`` (empty when no zone owns it)."""
        zone = self.zone_for(name)
        if zone is None:
            return {}
        fqdn = _fqdn(name)
        sets = self._r53.list_resource_record_sets(HostedZoneId=zone["Id"], StartRecordName=fqdn, MaxItems="20")
        out: dict[str, list[str]] = {}
        for s in sets["ResourceRecordSets"]:
            if _fqdn(s["Name"]) == fqdn:
                out.setdefault(s["Type"], []).extend(r["Value"] for r in s.get("ResourceRecords", []))
        return out

    def soa(self, name: str) -> dict[str, Any] | None:
        """The owning zone's SOA as ``VerificationInfo.SOARecord``."""
        zone = self.zone_for(name)
        values = self.records(zone["Name"]).get("SOA", []) if zone else []
        # "<mname> <rname> <serial> ..."; moto 5.2 stores the value wrapped in "{'Value': '...'}"
        found = _SOA.search(values[0]) if values else None
        if found is None:
            return None
        primary, admin, serial = found.groups()
        return {"PrimaryNameServer": primary.rstrip("."), "AdminEmail": admin.rstrip("."), "SerialNumber": int(serial)}


def _txt(value: str) -> str:
    return value.replace('" "', "").strip('"')


class SesDnsChecks:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.dns = PublicDns(emulator)

    # ------------------------------------------------------------------ identities

    def dkim_problem(self, i: Identity) -> str | None:
        """Why the identity's DKIM records are not right yet (a ``VerificationError``), or None."""
        for token in i.tokens:
            name = f"{token}._domainkey.{i.domain}"
            here = self.dns.records(name)
            if not here:
                return "HOST_NOT_FOUND"
            if i.dkim_origin == "EXTERNAL":
                if not any("p=" in _txt(v) for v in here.get("TXT", [])):
                    return "TYPE_NOT_FOUND" if "TXT" not in here else "INVALID_VALUE"
            elif "CNAME" not in here:
                return "TYPE_NOT_FOUND"
            elif [_fqdn(v) for v in here["CNAME"]] != [_fqdn(f"{token}.{DKIM_TARGET}")]:
                return "INVALID_VALUE"
        return None

    def identity(self, i: Identity) -> str:
        """Check one identity now; its VerificationStatus."""
        now = self.emu.clock.now()
        if i.verification == "FAILED":
            return i.verification
        i.last_checked = now
        if i.kind == "EMAIL_ADDRESS":
            ok, window = i.confirmed, EMAIL_WINDOW  # no DNS involved: no VerificationError
        else:
            i.error = self.dkim_problem(i)
            ok, window = i.error is None, DOMAIN_WINDOW
        if ok:
            if i.verification != "SUCCESS":
                i.verification, i.verification_since = "SUCCESS", now
            i.last_success = now
        elif i.verification == "SUCCESS":
            i.verification, i.verification_since = "TEMPORARY_FAILURE", now
        elif now - i.verification_since >= window:
            i.verification = "FAILED"
        return i.verification

    # ------------------------------------------------------------------ MAIL FROM

    def mail_from_records(self, domain: str) -> bool:
        here = self.dns.records(domain)
        spf = [_txt(v) for v in here.get("TXT", []) if _txt(v).startswith("v=spf1")]
        want_mx = f"10 feedback-smtp.{self.emu.region}.amazonses.com"
        return here.get("MX", []) == [want_mx] and len(spf) == 1 and "include:amazonses.com" in spf[0].split()

    def mail_from(self, i: Identity) -> str | None:
        """Check one identity's MAIL FROM domain now (after the identity); its MailFromDomainStatus."""
        if not i.mail_from_domain or i.mail_from_status == "FAILED":
            return i.mail_from_status
        ok = self.identity(i) == "SUCCESS" and self.mail_from_records(i.mail_from_domain)
        now = self.emu.clock.now()
        if ok and i.mail_from_status != "SUCCESS":
            i.mail_from_status, i.mail_from_set_at = "SUCCESS", now
        elif not ok and i.mail_from_status == "SUCCESS":
            i.mail_from_status, i.mail_from_set_at = "TEMPORARY_FAILURE", now
        elif not ok and i.mail_from_set_at and now - i.mail_from_set_at >= MAIL_FROM_WINDOW:
            i.mail_from_status = "FAILED"
        return i.mail_from_status


__all__ = ["DKIM_TARGET", "DOMAIN_WINDOW", "EMAIL_WINDOW", "MAIL_FROM_WINDOW", "PublicDns", "SesDnsChecks"]
