"""An organization to move out of WorkMail: users, nested groups, resources with delegates, aliases,
mailbox grants and two mail domains whose WorkMail records are in Route 53, built through real boto3
calls to the emulator; and the requests and approvals of an exit."""

from __future__ import annotations

import json
from typing import Any

from mailwarden.contracts.names import MAILWARDEN_SOURCE, MailwardenDetailType, OperatorDetailType

from local.deployment import LocalDeployment
from tests.approval_support import OPS, Pending
from tests.workmail_support import Org, request

DOMAINS = ("globex.example.com", "globex-mail.example.net")


def target_records(*domains: str) -> dict[str, Any]:
    """The next provider's records for each domain (the target-records file, parsed)."""
    return {
        "version": 1,
        "domains": {
            d: {
                "mx": ["10 mx1.newmail.example.org", "20 mx2.newmail.example.org"],
                "spfInclude": ["spf.newmail.example.org"],
                "autodiscover": "autodiscover.newmail.example.org",
                "records": [{"name": "nm1._domainkey", "type": "CNAME", "value": "nm1.dkim.newmail.example.org"}],
            }
            for d in (domains or DOMAINS)
        },
    }


def globex(deployment: LocalDeployment) -> Org:
    """Users (nobody protected: tests add a protected group), groups nested two deep, a room with
    delegates and booking options, aliases and grants; two mail domains, each in its own hosted zone."""
    control = deployment.emu.control
    org_id = control.add_organization("globex", DOMAINS[0])
    org = Org(deployment, org_id, DOMAINS[0])
    control.add_mail_domain(org_id, DOMAINS[1])
    for name in ("ann", "ben", "cid", "dee"):
        org.user(name)
    org.group("sales", "ann", "ben")
    org.group("staff", "cid")
    org.wm.associate_member_to_group(OrganizationId=org_id, GroupId=org.groups["staff"], MemberId=org.groups["sales"])
    org.resource("room-1", "ann", "ben")
    org.wm.update_resource(
        OrganizationId=org_id, ResourceId=org.resources["room-1"], BookingOptions={"AutoAcceptRequests": True}
    )
    org.grant("ann", "ben", "FULL_ACCESS")
    org.alias("ann", "ann.smith")
    org.wm.create_alias(OrganizationId=org_id, EntityId=org.users["ben"], Alias=f"ben@{DOMAINS[1]}")
    for name, mb in (("ann", 2.0), ("ben", 0.5), ("cid", 1.0), ("dee", 0.25)):
        control.set_mailbox_size(org_id, org.users[name], mb)
    r53 = deployment.emu.client("route53")
    for domain in DOMAINS:
        zone = r53.create_hosted_zone(Name=domain, CallerReference=f"exit-{domain}")["HostedZone"]["Id"]
        control.publish_mail_domain(org_id, domain, zone.rsplit("/", 1)[-1])
    return org


def exit_request(deployment: LocalDeployment, org: Org | str, **extra: Any) -> dict[str, Any]:
    org_id = org.id if isinstance(org, Org) else org
    detail = {
        "organizationId": org_id,
        "requestedBy": "it@example.com",
        "reason": "WorkMail ends on 2027-03-31",
        "targetRecords": target_records(),
        **extra,
    }
    [out] = request(deployment, OperatorDetailType.EXIT_REQUESTED, detail)
    return dict(out)


def rollback_request(deployment: LocalDeployment, org: Org, exit_id: str, **extra: Any) -> dict[str, Any]:
    detail = {"organizationId": org.id, "exitId": exit_id, "requestedBy": "it@example.com", "reason": "mail bounces"}
    [out] = request(deployment, OperatorDetailType.EXIT_ROLLBACK_REQUESTED, {**detail, **extra})
    return dict(out)


def gate(deployment: LocalDeployment, arn: str, action: str) -> Pending:
    """The approval of ``action`` (workmail.exit-cutover / workmail.exit-delete) once ``arn`` waits for it."""

    def mail() -> dict[str, list[dict[str, Any]]] | None:
        found = {
            a: [m for m in deployment.inbox(a) if m["executionArn"] == arn and action in json.dumps(m)]
            for a in deployment.approvers
        }
        return found if all(found.values()) and deployment.waiting(arn) else None

    return Pending(arn, deployment.wait_until(mail, f"the {action} approval", timeout=60))


def phases(deployment: LocalDeployment) -> list[tuple[str, str]]:
    """(phase, outcome) of every WorkMail Organization Exit event so far, in order."""
    deployment.deliver()
    return [
        (e["detail"]["phase"], e["detail"]["outcome"])
        for e in deployment.published
        if e["source"] == MAILWARDEN_SOURCE and e["detail-type"] == MailwardenDetailType.WORKMAIL_EXIT
    ]


def zone_records(deployment: LocalDeployment, domain: str) -> dict[tuple[str, str], list[str]]:
    """(name, type) -> values of every record set in the domain's zone."""
    r53 = deployment.emu.client("route53")
    zone = next(z for z in r53.list_hosted_zones()["HostedZones"] if z["Name"].rstrip(".") == domain)
    sets = r53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    return {(s["Name"].rstrip("."), s["Type"]): sorted(r["Value"] for r in s.get("ResourceRecords", [])) for s in sets}


def document(deployment: LocalDeployment, key: str) -> Any:
    body = deployment.emu.client("s3").get_object(Bucket=deployment.export_bucket, Key=key)["Body"].read()
    return json.loads(body) if key.endswith(".json") else body.decode()


__all__ = ["OPS"]
