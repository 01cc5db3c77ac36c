"""Helpers for the MAIL FROM tests: an identity in SES (verified the way its owner or a DNS automation
would), a hosted zone in Route 53, records read back."""

from __future__ import annotations

from typing import Any

from mailwarden.mailfrom.records import txt_text

from local.deployment import LocalDeployment
from local.dns_automation import publish_dkim

REGION = "us-east-1"
MX = f"10 feedback-smtp.{REGION}.amazonses.com"
SPF = "v=spf1 include:amazonses.com ~all"


def identity(d: LocalDeployment, name: str = "example.com") -> None:
    """A new SES identity: unverified until its owner follows SES's link (an email address) or the DNS
    automation has published its DKIM CNAMEs (a domain: now if a zone owns it, else when one is made)."""
    d.emu.client("sesv2").create_email_identity(EmailIdentity=name)
    if "@" in name:
        d.emu.control.confirm_email_identity(name)
    else:
        dkim(d, name)
    d.emu.clock.advance(1)  # SES allows one management call per second


def dkim(d: LocalDeployment, *identities: str) -> dict[str, str]:
    """The DNS automation: DKIM CNAMEs of ``identities`` (default: all) into the zones owning them."""
    return publish_dkim(d.emu.client("sesv2"), d.emu.client("route53"), *identities)


def zone(d: LocalDeployment, name: str = "example.com", *, private: bool = False, with_dkim: bool = True) -> str:
    """A hosted zone; the DNS automation then publishes the DKIM CNAMEs of the identities it owns."""
    extra: dict[str, Any] = {}
    if private:
        extra = {"VPC": {"VPCRegion": REGION, "VPCId": "vpc-1"}, "HostedZoneConfig": {"PrivateZone": True}}
    out = d.emu.client("route53").create_hosted_zone(Name=name, CallerReference=f"ref-{name}-{private}", **extra)
    if with_dkim:
        dkim(d)
    return str(out["HostedZone"]["Id"].rsplit("/", 1)[-1])


def put_records(
    d: LocalDeployment, zone_id: str, name: str, kind: str, values: list[str], ttl: int = 300, action: str = "UPSERT"
) -> None:
    d.emu.client("route53").change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": action,
                    "ResourceRecordSet": {
                        "Name": name,
                        "Type": kind,
                        "TTL": ttl,
                        "ResourceRecords": [{"Value": v} for v in values],
                    },
                }
            ]
        },
    )


def records(d: LocalDeployment, zone_id: str, name: str) -> dict[str, list[str]]:
    """Record sets at ``name``: {type: [values]} (a type twice would show as two lists merged)."""
    out: dict[str, list[str]] = {}
    r53 = d.emu.client("route53")
    for s in r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]:
        if s["Name"].rstrip(".") == name:
            out.setdefault(s["Type"], []).extend(r["Value"] for r in s.get("ResourceRecords", []))
    return out


def spf_records(d: LocalDeployment, zone_id: str, name: str) -> list[str]:
    return [txt_text(v) for v in records(d, zone_id, name).get("TXT", []) if txt_text(v).startswith("v=spf1")]


def put(d: LocalDeployment, ident: str = "example.com", domain: str = "mail.example.com", **kw: Any) -> Any:
    return d.api("PUT", "/mail-from-attributes", {"identity": ident, "mailFromDomain": domain}, **kw)


def writes(d: LocalDeployment) -> dict[str, int]:
    calls = d.emu.calls
    return {
        "ses": calls["sesv2.PutEmailIdentityMailFromAttributes"],
        "route53": calls["route-53.ChangeResourceRecordSets"],
    }
