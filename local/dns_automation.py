"""What an organisation's DNS automation does for new SES domain identities, for the local harness
(tests, demo, sample estate, benchmarks): publish each identity's Easy DKIM CNAMEs
(``<token>._domainkey.<domain>`` -> ``<token>.dkim.amazonses.com``, the tokens CreateEmailIdentity
returned) in the public Route 53 zone that owns the domain. SES then verifies the identity.

Mailwarden itself does not do this (its MAIL FROM setup publishes the MX and SPF records only).
"""

from __future__ import annotations

from typing import Any

from .emulator.dns_checks import DKIM_TARGET

TTL = 1800


def _owning_zone(r53: Any, domain: str) -> str | None:
    fqdn = domain.rstrip(".").lower() + "."
    best: dict[str, Any] | None = None
    for page in r53.get_paginator("list_hosted_zones").paginate():
        for z in page["HostedZones"]:
            owns = fqdn == z["Name"] or fqdn.endswith("." + z["Name"])
            if (
                owns
                and not z.get("Config", {}).get("PrivateZone")
                and (best is None or len(z["Name"]) > len(best["Name"]))
            ):
                best = z
    return str(best["Id"]) if best else None


def _domain_identities(ses: Any) -> list[str]:
    names: list[str] = []
    kwargs: dict[str, str] = {}
    while True:  # botocore has no paginator for ListEmailIdentities
        page = ses.list_email_identities(**kwargs)
        names += [i["IdentityName"] for i in page["EmailIdentities"] if i["IdentityType"] == "DOMAIN"]
        if not page.get("NextToken"):
            return names
        kwargs["NextToken"] = page["NextToken"]


def publish_dkim(ses: Any, r53: Any, *identities: str) -> dict[str, str]:
    """UPSERT the DKIM CNAMEs of ``identities`` (default: every domain identity SES has) where a
    public zone owns them; returns identity -> hosted zone id for those published."""
    names = list(identities) or _domain_identities(ses)
    published = {}
    for name in names:
        dkim = ses.get_email_identity(EmailIdentity=name).get("DkimAttributes") or {}
        zone = _owning_zone(r53, name)
        if zone is None or dkim.get("SigningAttributesOrigin") != "AWS_SES" or not dkim.get("Tokens"):
            continue
        changes = [
            {
                "Action": "UPSERT",
                "ResourceRecordSet": {
                    "Name": f"{token}._domainkey.{name}",
                    "Type": "CNAME",
                    "TTL": TTL,
                    "ResourceRecords": [{"Value": f"{token}.{DKIM_TARGET}"}],
                },
            }
            for token in dkim["Tokens"]
        ]
        r53.change_resource_record_sets(
            HostedZoneId=zone, ChangeBatch={"Comment": f"SES Easy DKIM for {name}", "Changes": changes}
        )
        published[name] = zone.rsplit("/", 1)[-1]
    return published
