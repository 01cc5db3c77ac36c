"""MAIL FROM adapters: SESv2 identities, Route 53, the tracking table, and the reporter
(audit trail + EventBridge + the operations alert topic)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from ..contracts.tables import MAIL_FROM, RETENTION_SECONDS
from ..mailfrom.model import IdentityMailFrom, InvalidRequest, SesStatus, Tracked, Zone
from ..mailfrom.records import RecordSet
from ..mailfrom.service import StaleRecords
from ..policy import MailFromPolicy
from .dynamo import query_all, scan_all
from .errors import code_of, translate

WATCHED = "1"  # the sparse index's partition value


def _call(fn: Any, **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except ClientError as err:
        raise translate(err) from err


class SesMailFrom:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.region: str = client.meta.region_name

    def mail_from(self, identity: str) -> IdentityMailFrom:
        out = _call(self.client.get_email_identity, EmailIdentity=identity)
        attrs = out.get("MailFromAttributes") or {}
        status = attrs.get("MailFromDomainStatus")
        return IdentityMailFrom(
            identity=identity,
            domain=(attrs.get("MailFromDomain") or "").rstrip(".").lower() or None,
            status=SesStatus(status) if status else None,
            behavior=attrs.get("BehaviorOnMxFailure"),
            verification=out.get("VerificationStatus"),
        )

    def set_mail_from(self, identity: str, domain: str, behavior: str) -> None:
        """NotFound (the identity was deleted meanwhile) and BadRequest (SES refuses the domain) are
        the caller's 400 (``InvalidRequest``); TooManyRequests is ``Throttled`` (all three modelled)."""
        try:
            self.client.put_email_identity_mail_from_attributes(
                EmailIdentity=identity, MailFromDomain=domain, BehaviorOnMxFailure=behavior
            )
        except ClientError as err:
            message = err.response.get("Error", {}).get("Message", "")
            if code_of(err) == "NotFoundException":
                raise InvalidRequest(f"SES has no email identity '{identity}' in this account and region.") from err
            if code_of(err) == "BadRequestException":
                raise InvalidRequest(f"SES refused MAIL FROM domain '{domain}' for '{identity}': {message}") from err
            raise translate(err) from err

    def clear_mail_from(self, identity: str) -> None:
        """No MailFromDomain: SES goes back to sending from a subdomain of amazonses.com."""
        _call(self.client.put_email_identity_mail_from_attributes, EmailIdentity=identity)


def _pages(pages: Any) -> Any:
    """A paginator's pages, with a ClientError on any page translated like :func:`_call`'s."""
    try:
        yield from pages
    except ClientError as err:
        raise translate(err) from err


def _name(value: str) -> str:
    return value.rstrip(".").lower()


class Route53Dns:
    """Hosted zones by longest suffix (public zones only; the policy's ``hostedZones`` wins), the
    record sets at one name, one atomic change batch, and its INSYNC status."""

    def __init__(self, client: Any, policy: MailFromPolicy) -> None:
        self.client = client
        self.policy = policy

    def zone_for(self, domain: str) -> Zone | None:
        configured = self.policy.zone_for(domain)
        if configured:
            zone = _call(self.client.get_hosted_zone, Id=configured)["HostedZone"]
            return Zone(zone["Id"].rsplit("/", 1)[-1], _name(zone["Name"]))
        best: Zone | None = None
        for page in _pages(self.client.get_paginator("list_hosted_zones").paginate()):
            for z in page["HostedZones"]:
                name = _name(z["Name"])
                if z.get("Config", {}).get("PrivateZone"):
                    continue
                if (domain == name or domain.endswith("." + name)) and (best is None or len(name) > len(best.name)):
                    best = Zone(z["Id"].rsplit("/", 1)[-1], name)
        return best

    def record_sets(self, zone: Zone, name: str) -> list[RecordSet]:
        out: list[RecordSet] = []
        kwargs: dict[str, Any] = {"HostedZoneId": zone.id, "StartRecordName": name, "MaxItems": "100"}
        while True:
            page = _call(self.client.list_resource_record_sets, **kwargs)
            here = [r for r in page["ResourceRecordSets"] if _name(r["Name"]) == name]
            out += [RecordSet.from_route53(r) for r in here if "SetIdentifier" not in r]
            if not page.get("IsTruncated") or _name(page.get("NextRecordName", "")) != name:
                return out
            kwargs.update(StartRecordName=page["NextRecordName"], StartRecordType=page["NextRecordType"])

    def change(self, zone: Zone, changes: Sequence[dict[str, Any]], comment: str) -> str:
        try:
            out = self.client.change_resource_record_sets(
                HostedZoneId=zone.id, ChangeBatch={"Comment": comment[:256], "Changes": list(changes)}
            )
        except ClientError as err:
            if code_of(err) == "InvalidChangeBatch":
                raise StaleRecords(str(err)) from err
            raise translate(err) from err
        return str(out["ChangeInfo"]["Id"])

    def insync(self, change_id: str) -> bool:
        return _call(self.client.get_change, Id=change_id)["ChangeInfo"]["Status"] == "INSYNC"


class DynamoMailFromStore:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def statuses(self) -> list[str]:
        """SES's MAIL FROM status last seen for every identity (a projected Scan: the health census)."""
        items = scan_all(
            self.client, TableName=self.table, ProjectionExpression="#s", ExpressionAttributeNames={"#s": "status"}
        )
        return [i.get("status", {}).get("S", "") for i in items]

    def get(self, identity: str) -> Tracked | None:
        item = _call(self.client.get_item, TableName=self.table, Key={"identity": {"S": identity}}, ConsistentRead=True)
        return _tracked(item["Item"]) if "Item" in item else None

    def put(self, item: Tracked) -> None:
        row: dict[str, Any] = {
            "identity": {"S": item.identity},
            "domain": {"S": item.domain},
            "status": {"S": item.status},
            "attempts": {"N": str(item.attempts)},
            "published": {"BOOL": item.published},
            "requested_by": {"S": item.requested_by},
        }
        if item.zone_id:
            row["zone_id"] = {"S": item.zone_id}
        if item.change_id:
            row["change_id"] = {"S": item.change_id}
        if item.behavior:
            row["behavior"] = {"S": item.behavior}
        if item.updated_at:
            row["updated_at"] = {"S": item.updated_at.isoformat()}
        if item.next_check_at:
            row["watch"] = {"S": WATCHED}
            row["next_check_at"] = {"N": str(int(item.next_check_at.timestamp()))}
        elif item.updated_at:  # no longer watched: kept for the record, then purged
            row["purge_at"] = {"N": str(int(item.updated_at.timestamp()) + RETENTION_SECONDS)}
        _call(self.client.put_item, TableName=self.table, Item=row)

    def delete(self, identity: str) -> None:
        _call(self.client.delete_item, TableName=self.table, Key={"identity": {"S": identity}})

    def due(self, now: datetime, limit: int) -> list[Tracked]:
        rows = query_all(
            self.client,
            TableName=self.table,
            IndexName=MAIL_FROM.indexes[0].name,
            KeyConditionExpression="#w = :w AND next_check_at <= :now",
            ExpressionAttributeNames={"#w": "watch"},
            ExpressionAttributeValues={":w": {"S": WATCHED}, ":now": {"N": str(int(now.timestamp()))}},
            limit=limit,
        )
        return [_tracked(r) for r in rows]


def _tracked(row: dict[str, Any]) -> Tracked:
    def s(key: str) -> str | None:
        return row[key]["S"] if key in row else None

    updated = s("updated_at")
    return Tracked(
        identity=row["identity"]["S"],
        domain=row["domain"]["S"],
        status=row["status"]["S"],
        attempts=int(row["attempts"]["N"]),
        published=row.get("published", {}).get("BOOL", False),
        zone_id=s("zone_id"),
        change_id=s("change_id"),
        next_check_at=datetime.fromtimestamp(int(row["next_check_at"]["N"]), UTC) if "next_check_at" in row else None,
        updated_at=datetime.fromisoformat(updated) if updated else None,
        requested_by=s("requested_by") or "-",
        behavior=s("behavior"),
    )
