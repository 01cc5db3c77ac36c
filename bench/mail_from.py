"""MAIL FROM: AWS calls per PUT against the minimum, per case (write goal: 1 SES write + 1 ChangeBatch;
none when everything is in place), and 100 identities set up in a row."""

from __future__ import annotations

from collections import Counter
from typing import Any

from local.deployment import LocalDeployment
from local.dns_automation import publish_dkim
from local.emulator import emulated_aws

WRITES = ("sesv2.PutEmailIdentityMailFromAttributes", "route-53.ChangeResourceRecordSets")
# GetEmailIdentity, ListHostedZones, ListResourceRecordSets + the two writes (the PUT does not wait for
# INSYNC: the watcher follows the change)
MINIMUM_CALLS = 5


def _case(d: LocalDeployment, domain: str, zone: bool, setup: Any = None) -> dict[str, int]:
    ses, r53 = d.emu.client("sesv2"), d.emu.client("route53")
    d.emu.clock.advance(2)  # SES: 1 request/s
    ses.create_email_identity(EmailIdentity=domain)
    if zone:
        zone_id = r53.create_hosted_zone(Name=domain, CallerReference=domain)["HostedZone"]["Id"]
        publish_dkim(ses, r53, domain)  # the DNS automation: the identity gets verified, as in AWS
        if setup:
            setup(r53, zone_id)
    return _put(d, domain)


def _put(d: LocalDeployment, domain: str) -> dict[str, int]:
    """One PUT of ``mail.<domain>``: its status, writes, and SES + Route 53 calls."""
    d.emu.clock.advance(2)
    before = Counter(d.emu.calls)
    status = d.api("PUT", "/mail-from-attributes", {"identity": domain, "mailFromDomain": f"mail.{domain}"}).status
    calls = Counter(d.emu.calls) - before
    aws = sum(n for k, n in calls.items() if k.split(".")[0] in ("sesv2", "route-53"))
    return {"http": status, "writes": sum(calls[w] for w in WRITES), "ses_route53_calls": aws}


def _txt(values: list[str]) -> Any:
    def setup(r53: Any, zone_id: str) -> None:
        rrset: dict[str, Any] = {
            "Name": "",
            "Type": "TXT",
            "TTL": 300,
            "ResourceRecords": [{"Value": v} for v in values],
        }
        name = r53.get_hosted_zone(Id=zone_id)["HostedZone"]["Name"]
        rrset["Name"] = "mail." + name
        r53.change_resource_record_sets(
            HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": rrset}]}
        )

    return setup


def all_figures() -> dict[str, Any]:
    out: dict[str, Any] = {}
    with emulated_aws() as emu:
        d = LocalDeployment(emu)
        cases = {
            "fresh": _case(d, "fresh.example", True),
            "merge_spf": _case(d, "merge.example", True, _txt(['"v=spf1 a -all"', '"verify=1"'])),
            "no_zone": _case(d, "nozone.example", False),
        }
        cases["re_put"] = _put(d, "fresh.example")
        for name, figures in cases.items():
            for key, value in figures.items():
                out[f"mail_from.{name}.{key}"] = value
        out["mail_from.minimum_calls_first_put"] = MINIMUM_CALLS
        out["mail_from.fresh.calls_vs_minimum"] = round(cases["fresh"]["ses_route53_calls"] / MINIMUM_CALLS, 2)
        total: Counter[str] = Counter()
        for i in range(100):
            total += Counter(_case(d, f"bulk{i:03d}.example", True))
        out["mail_from.bulk100.writes_per_request"] = total["writes"] / 100
        out["mail_from.bulk100.calls_per_request"] = total["ses_route53_calls"] / 100
        out["mail_from.bulk100.all_200"] = total["http"] == 200 * 100
    return out
