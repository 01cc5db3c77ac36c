"""WorkMail adapter: reads at the largest page size, writes that treat "already done" as done.

Every write returns whether it changed anything (``False``: it was already so) so a re-run after
a crash or a duplicate request is a success, not a failure. WorkMail error codes become domain
errors here: ``NotFound`` (organization/entity), ``Conflict`` (entity state), ``ExportSlotsBusy``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ..clock import Clock, iso
from ..contracts.tables import RETENTION_SECONDS
from ..errors import (
    AccessDenied,
    Conflict,
    DeleteRefused,
    ExportSlotsBusy,
    NotFound,
    Rejected,
    Unavailable,
    UnknownOrganization,
)
from ..workmail.model import Grant, Snapshot, User
from ..workmail.ports import Claim, MailDomain, Resource
from .dynamo import query_all
from .errors import code_of, translate

PAGE = 100
MEGABYTE = 1024 * 1024  # GetMailboxDetails' MailboxSize is in megabytes (AWS does not say 10^6 or 2^20)
_NOT_FOUND = {"EntityNotFoundException", "OrganizationNotFoundException", "ResourceNotFoundException"}
_STATE = {
    "EntityStateException",
    "OrganizationStateException",
    "EntityAlreadyRegisteredException",
    "MailDomainInUseException",  # DeregisterMailDomain: the default domain, or an address still uses it
}
# What WorkMail refuses for good (nothing is changed): the reason is the message.
_REFUSED = {
    "UnsupportedOperationException",  # a write to a read-only directory
    "EmailAddressInUseException",
    "MailDomainNotFoundException",
    "MailDomainStateException",
    "NameAvailabilityException",
    "ReservedNameException",
    "LimitExceededException",  # StartMailboxExportJob reads it first (ExportSlotsBusy / the recent export)
    "InvalidCustomSesConfigurationException",  # DeregisterMailDomain: the domain's SES setup is not WorkMail's
}


def _error(err: ClientError) -> Exception:
    """The domain error for every error the called operations model (InvalidParameterException, a bad
    request of ours, stays a ClientError: DeleteUser reads it, anything else is a bug to see)."""
    code = code_of(err)
    message = err.response.get("Error", {}).get("Message", code)
    if code in ("OrganizationNotFoundException", "OrganizationStateException"):
        return UnknownOrganization(f"{code}: {message}")
    if code in _NOT_FOUND:
        return NotFound(f"{code}: {message}")
    if code in _STATE:
        return Conflict(f"{code}: {message}")
    if code in _REFUSED:
        return Rejected(f"WorkMail refused it ({code}): {message}")
    if code == "DirectoryUnavailableException":
        return Unavailable(f"{code}: {message}")  # transient: the workflow step retries
    if code == "DirectoryServiceAuthenticationFailedException":
        return AccessDenied(f"{code}: {message}")
    return translate(err)


def _ts(value: Any) -> str | None:
    return iso(value.timestamp()) if isinstance(value, datetime) else None


def user_from_wire(d: dict[str, Any]) -> User:
    return User(
        id=d.get("UserId") or d["Id"],
        name=d.get("Name", ""),
        email=d.get("Email"),
        display_name=d.get("DisplayName", ""),
        state=d.get("State", "DISABLED"),
        role=d.get("UserRole", "USER"),
        disabled_at=_ts(d.get("DisabledDate")),
    )


class WorkMailDirectory:
    def __init__(self, client: Any) -> None:
        self.client = client

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return dict(getattr(self.client, operation)(**kwargs))
        except ClientError as err:
            raise _error(err) from err

    def _pages(self, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
        token = None
        while True:
            page = self._call(operation, MaxResults=PAGE, **kwargs, **({"NextToken": token} if token else {}))
            yield from page.get(key, [])
            token = page.get("NextToken")
            if not token or token == "null":
                return

    def _idempotent(self, operation: str, **kwargs: Any) -> bool:
        """A write; ``False`` when WorkMail says it is already so (not found / wrong state)."""
        try:
            self._call(operation, **kwargs)
        except UnknownOrganization:
            raise
        except (NotFound, Conflict):
            return False
        return True

    # ------------------------------------------------------------------ reads

    def organization(self, org: str) -> str:
        """The organization's state (``Active`` when it can be used); ``UnknownOrganization`` when it
        does not exist."""
        return str(self._call("describe_organization", OrganizationId=org).get("State", ""))

    def user(self, org: str, ident: str) -> User:
        """DescribeUser by id, email or user name (WorkMail accepts all three)."""
        return user_from_wire(self._call("describe_user", OrganizationId=org, UserId=ident))

    def kind_of(self, org: str, ident: str) -> str | None:
        """What ``ident`` is when it is not a user: ``group``, ``resource`` or ``None`` (nothing)."""
        for kind, operation, key in (
            ("group", "describe_group", "GroupId"),
            ("resource", "describe_resource", "ResourceId"),
        ):
            try:
                self._call(operation, OrganizationId=org, **{key: ident})
            except NotFound:
                continue
            return kind
        return None

    def users(self, org: str) -> Iterator[User]:
        return (user_from_wire(u) for u in self._pages("list_users", "Users", OrganizationId=org))

    def groups(self, org: str) -> list[tuple[str, str]]:
        return [(g["Id"], g.get("Name", "")) for g in self._pages("list_groups", "Groups", OrganizationId=org)]

    def members(self, org: str, group: str) -> list[str]:
        return [m["Id"] for m in self._pages("list_group_members", "Members", OrganizationId=org, GroupId=group)]

    def groups_of(self, org: str, entity: str) -> list[tuple[str, str]]:
        rows = self._pages("list_groups_for_entity", "Groups", OrganizationId=org, EntityId=entity)
        return [(g["GroupId"], g.get("GroupName", "")) for g in rows]

    def grants_on(self, org: str, mailbox: str) -> list[Grant]:
        rows = self._pages("list_mailbox_permissions", "Permissions", OrganizationId=org, EntityId=mailbox)
        return [Grant(p["GranteeId"], p["GranteeType"], tuple(p["PermissionValues"])) for p in rows]

    def aliases(self, org: str, entity: str) -> list[str]:
        return [str(a) for a in self._pages("list_aliases", "Aliases", OrganizationId=org, EntityId=entity)]

    def delegations_of(self, org: str, entity: str) -> list[tuple[str, str]]:
        """Resources ``entity`` is a delegate of (no reverse API: every live resource's delegates)."""
        out = []
        for r in self._pages("list_resources", "Resources", OrganizationId=org):
            if r.get("State") == "DELETED":
                continue
            delegates = self._pages("list_resource_delegates", "Delegates", OrganizationId=org, ResourceId=r["Id"])
            if any(d["Id"] == entity for d in delegates):
                out.append((r["Id"], r.get("Name", "")))
        return out

    # ------------------------------------------------------------------ writes (True: changed)

    def remove_from_group(self, org: str, group: str, member: str) -> bool:
        return self._idempotent("disassociate_member_from_group", OrganizationId=org, GroupId=group, MemberId=member)

    def revoke(self, org: str, mailbox: str, grantee: str) -> bool:
        return self._idempotent("delete_mailbox_permissions", OrganizationId=org, EntityId=mailbox, GranteeId=grantee)

    def undelegate(self, org: str, resource: str, entity: str) -> bool:
        return self._idempotent(
            "disassociate_delegate_from_resource", OrganizationId=org, ResourceId=resource, EntityId=entity
        )

    def deregister(self, org: str, entity: str) -> bool:
        return self._idempotent("deregister_from_work_mail", OrganizationId=org, EntityId=entity)

    def delete_user(self, org: str, user: str) -> bool:
        """Only ever called after DescribeUser said DISABLED (``Offboarding.delete``); ``False``: the
        user was already deleted (or no longer exists).

        DeleteUser's model lists EntityState, InvalidParameter, OrganizationNotFound/State,
        UnsupportedOperation and the directory errors, but no EntityNotFound. Which one AWS sends for a
        user deleted meanwhile is not documented, so whichever of EntityState, InvalidParameter or
        EntityNotFound comes back, DescribeUser decides: DELETED or unknown -> already done; ENABLED
        (registered again meanwhile) -> ``DeleteRefused``; anything else is raised as it is."""
        try:
            self._call("delete_user", OrganizationId=org, UserId=user)
        except UnknownOrganization:
            raise
        except (NotFound, Conflict) as exc:
            return self._not_deletable(org, user, exc)
        except ClientError as exc:
            if code_of(exc) != "InvalidParameterException":
                raise
            return self._not_deletable(org, user, exc)
        return True

    def _not_deletable(self, org: str, user: str, exc: Exception) -> bool:
        try:
            state = self.user(org, user).state
        except NotFound:
            return False
        if state == "DELETED":
            return False
        if state == "ENABLED":
            raise DeleteRefused(f"DeleteUser refused: the user is ENABLED again ({exc})") from exc
        raise exc

    def register(self, org: str, entity: str, email: str) -> bool:
        return self._idempotent("register_to_work_mail", OrganizationId=org, EntityId=entity, Email=email)

    def add_alias(self, org: str, entity: str, alias: str) -> None:
        self._call("create_alias", OrganizationId=org, EntityId=entity, Alias=alias)

    def add_to_group(self, org: str, group: str, member: str) -> None:
        self._call("associate_member_to_group", OrganizationId=org, GroupId=group, MemberId=member)

    def grant(self, org: str, mailbox: str, grant: Grant) -> None:
        self._call(
            "put_mailbox_permissions",
            OrganizationId=org,
            EntityId=mailbox,
            GranteeId=grant.grantee_id,
            PermissionValues=list(grant.permissions),
        )

    def delegate(self, org: str, resource: str, entity: str) -> None:
        self._call("associate_delegate_to_resource", OrganizationId=org, ResourceId=resource, EntityId=entity)

    # ------------------------------------------------------------------ mailbox export

    def start_export(self, org: str, entity: str, *, token: str, target: dict[str, str], description: str) -> str:
        """The job id. A retried start (same token) returns the same job. ``LimitExceededException``
        (the organization's 10 concurrent exports, or this mailbox exported in the last 24 h: WorkMail
        answers both with it) -> ``ExportSlotsBusy``; which export may stand in is the caller's call."""
        try:
            out = self.client.start_mailbox_export_job(
                OrganizationId=org,
                EntityId=entity,
                ClientToken=token,
                Description=description[:1023],
                RoleArn=target["role"],
                KmsKeyArn=target["key"],
                S3BucketName=target["bucket"],
                S3Prefix=target["prefix"],
            )
        except ClientError as err:
            if code_of(err) != "LimitExceededException":
                raise _error(err) from err
            raise ExportSlotsBusy(f"{org}: {err.response['Error'].get('Message', 'export limit')}") from err
        return str(out["JobId"])

    def exports_of(self, org: str, entity: str) -> list[dict[str, Any]]:
        """The export jobs of ``entity`` started in the last seven days (what ListMailboxExportJobs
        lists): ``jobId``, ``state``, ``startedAt`` (epoch seconds)."""
        return [
            {"jobId": str(j["JobId"]), "state": j["State"], "startedAt": j["StartTime"].timestamp()}
            for j in self._pages("list_mailbox_export_jobs", "Jobs", OrganizationId=org)
            if j["EntityId"] == entity
        ]

    def export(self, org: str, job_id: str) -> dict[str, Any]:
        d = self._call("describe_mailbox_export_job", OrganizationId=org, JobId=job_id)
        return {
            "jobId": job_id,
            "state": d["State"],
            "progress": d.get("EstimatedProgress", 0),
            "location": f"s3://{d['S3BucketName']}/{d['S3Path']}" if d.get("S3Path") else None,
            "error": d.get("ErrorInfo"),
            "startedAt": _ts(d.get("StartTime")),
            "endedAt": _ts(d.get("EndTime")),
        }

    # ------------------------------------------------------------------ organization exit (ExitDirectory)

    def mailbox_bytes(self, org: str, user: str) -> int | None:
        """GetMailboxDetails' MailboxSize in bytes; ``None`` when the user has no mailbox (never
        registered, deleted: EntityNotFoundException)."""
        try:
            d = self._call("get_mailbox_details", OrganizationId=org, UserId=user)
        except UnknownOrganization:
            raise
        except NotFound:
            return None
        return round(float(d.get("MailboxSize", 0.0)) * MEGABYTE)

    def _mail_domain(self, org: str, domain: str) -> dict[str, Any] | None:
        """GetMailDomain; ``None`` when the domain is not registered (MailDomainNotFoundException)."""
        try:
            return dict(self.client.get_mail_domain(OrganizationId=org, DomainName=domain))
        except ClientError as err:
            if code_of(err) == "MailDomainNotFoundException":
                return None
            raise _error(err) from err

    def mail_domains(self, org: str) -> list[MailDomain]:
        """ListMailDomains, then GetMailDomain for each (one deregistered in between is left out)."""
        out = []
        for listed in self._pages("list_mail_domains", "MailDomains", OrganizationId=org):
            d = self._mail_domain(org, listed["DomainName"])
            if d is None:
                continue
            out.append(
                MailDomain(
                    name=listed["DomainName"],
                    default=bool(d.get("IsDefault", listed.get("DefaultDomain", False))),
                    test=bool(d.get("IsTestDomain", False)),
                    records=tuple((r["Type"], r["Hostname"], r["Value"]) for r in d.get("Records", [])),
                    ownership=d.get("OwnershipVerificationStatus", ""),
                    dkim=d.get("DkimVerificationStatus", ""),
                )
            )
        return out

    def resources(self, org: str) -> list[Resource]:
        """Every resource (DELETED ones too, without delegates): DescribeResource for its booking
        options, ListResourceDelegates for its delegates."""
        out = []
        for r in self._pages("list_resources", "Resources", OrganizationId=org):
            d = self._call("describe_resource", OrganizationId=org, ResourceId=r["Id"])
            state = d.get("State", r.get("State", ""))
            delegates: list[Any] = []
            if state != "DELETED":
                delegates = list(
                    self._pages("list_resource_delegates", "Delegates", OrganizationId=org, ResourceId=r["Id"])
                )
            out.append(
                Resource(
                    id=r["Id"],
                    name=d.get("Name", r.get("Name", "")),
                    email=d.get("Email"),
                    type=d.get("Type", r.get("Type", "")),
                    state=state,
                    booking=dict(d.get("BookingOptions") or {}),
                    delegates=tuple((x["Id"], x["Type"]) for x in delegates),
                )
            )
        return out

    def _entity_state(self, org: str, describe: str, key: str, entity: str) -> str | None:
        """The entity's State, ``None`` when WorkMail does not know it."""
        try:
            return str(self._call(describe, OrganizationId=org, **{key: entity}).get("State", ""))
        except UnknownOrganization:
            raise
        except NotFound:
            return None

    def _delete(self, org: str, entity: str, describe: str, delete: str, key: str) -> bool:
        """Deregister when ENABLED, then delete; ``False`` when it was deleted (or unknown) already.
        DeleteGroup / DeleteResource model no EntityNotFound: an EntityState or InvalidParameter
        answer is read by describing the entity again (as ``delete_user`` does)."""
        state = self._entity_state(org, describe, key, entity)
        if state in (None, "DELETED"):
            return False
        if state == "ENABLED":
            self.deregister(org, entity)
        try:
            self._call(delete, OrganizationId=org, **{key: entity})
        except UnknownOrganization:
            raise
        except (Conflict, ClientError) as exc:
            if isinstance(exc, ClientError) and code_of(exc) != "InvalidParameterException":
                raise
            if self._entity_state(org, describe, key, entity) in (None, "DELETED"):
                return False
            raise
        return True

    def delete_group(self, org: str, group: str) -> bool:
        return self._delete(org, group, "describe_group", "delete_group", "GroupId")

    def delete_resource(self, org: str, resource: str) -> bool:
        return self._delete(org, resource, "describe_resource", "delete_resource", "ResourceId")

    def deregister_domain(self, org: str, domain: str) -> bool:
        """``False`` when the domain is not registered (any more); ``Conflict`` when WorkMail refuses
        (MailDomainInUseException: the default domain, or an email address or alias still in it)."""
        if self._mail_domain(org, domain) is None:
            return False
        self._call("deregister_mail_domain", OrganizationId=org, DomainName=domain)
        return True

    def delete_organization(self, org: str, *, token: str) -> bool:
        """DeleteOrganization(DeleteDirectory=True, ForceDelete=False). ``False`` when the organization
        is Deleted / Deleting already; ``Conflict`` when WorkMail refuses it while Active (a user is
        still ENABLED); ``UnknownOrganization`` when it does not exist."""
        if self.organization(org) in ("Deleted", "Deleting"):
            return False
        try:
            self.client.delete_organization(
                OrganizationId=org, ClientToken=token, DeleteDirectory=True, ForceDelete=False
            )
        except ClientError as err:
            if code_of(err) != "OrganizationStateException":
                raise _error(err) from err
            if self.organization(org) in ("Deleted", "Deleting"):
                return False
            message = err.response.get("Error", {}).get("Message", "")
            raise Conflict(f"DeleteOrganization refused: {message}") from err
        return True


class DynamoOffboardingStore:
    """One item per offboarding request: the snapshot (written once) and the export job."""

    def __init__(self, client: Any, table: str, clock: Clock) -> None:
        self.client = client
        self.table = table
        self.clock = clock

    def _key(self, request_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"OFFBOARD#{request_id}"}, "sk": {"S": "REQUEST"}}

    def snapshot(self, request_id: str) -> Snapshot | None:
        try:
            item = self.client.get_item(TableName=self.table, Key=self._key(request_id), ConsistentRead=True).get(
                "Item"
            )
        except ClientError as err:
            raise translate(err) from err
        return Snapshot.from_dict(json.loads(item["snapshot"]["S"])) if item else None

    def keep(self, snapshot: Snapshot) -> Snapshot:
        """Store the snapshot unless one exists for the request; returns the one stored (first wins)."""
        item = {
            **self._key(snapshot.request_id),
            "snapshot": {"S": json.dumps(snapshot.as_dict())},
            "purge_at": {"N": str(int(self.clock.time()) + RETENTION_SECONDS)},
        }
        try:
            self.client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as err:
            if code_of(err) != "ConditionalCheckFailedException":
                raise translate(err) from err
            stored = self.snapshot(snapshot.request_id)
            assert stored is not None
            return stored
        return snapshot

    def _user_key(self, organization_id: str, user_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"USER#{organization_id}/{user_id}"}, "sk": {"S": "LATEST"}}

    def _put(self, item: dict[str, Any], condition: str | None = None, **values: Any) -> bool:
        """PutItem (kept for the retention period); ``False`` when ``condition`` does not hold."""
        item = {**item, "purge_at": {"N": str(int(self.clock.time()) + RETENTION_SECONDS)}}
        extra: dict[str, Any] = {}
        if condition:
            extra = {"ConditionExpression": condition, "ExpressionAttributeNames": {"#request": "request"}}
            if values:
                extra["ExpressionAttributeValues"] = values
        try:
            self.client.put_item(TableName=self.table, Item=item, **extra)
        except ClientError as err:
            if condition and code_of(err) == "ConditionalCheckFailedException":
                return False
            raise translate(err) from err
        return True

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        try:
            item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        except ClientError as err:
            raise translate(err) from err
        return dict(item) if item else None

    def remember(self, snapshot: Snapshot) -> None:
        """Point the user at this request's snapshot (what a restore re-applies), unless it points at
        another request's not restored since: that one was taken before Mailwarden first changed it."""
        key = self._user_key(snapshot.organization_id, snapshot.user.id)
        self._put(
            {**key, "request": {"S": snapshot.request_id}},
            "attribute_not_exists(pk) OR #request = :request OR restored = :yes",
            **{":request": {"S": snapshot.request_id}, ":yes": {"BOOL": True}},
        )

    def restored(self, snapshot: Snapshot) -> None:
        """The user was restored from ``snapshot``: the next offboarding's snapshot may replace it."""
        key = self._user_key(snapshot.organization_id, snapshot.user.id)
        self._put({**key, "request": {"S": snapshot.request_id}, "restored": {"BOOL": True}})

    def claim(self, organization_id: str, user_id: str, request_id: str, *, replacing: str | None = None) -> Claim:
        """Make ``request_id`` the user's offboarding unless another request holds it (``replacing``:
        only instead of that one); the holder after the call."""
        key = {"pk": {"S": f"USER#{organization_id}/{user_id}"}, "sk": {"S": "OFFBOARD"}}
        now = self.clock.time()
        item = {**key, "request": {"S": request_id}, "since": {"N": str(now)}}
        if replacing is None:
            won = self._put(item, "attribute_not_exists(pk) OR #request = :request", **{":request": {"S": request_id}})
        else:
            won = self._put(item, "#request = :holder", **{":holder": {"S": replacing}})
        if won:
            return Claim(request_id, now)
        held = self._get(key)
        if held is None:  # released between the two calls (never done today): try once more
            return self.claim(organization_id, user_id, request_id)
        return Claim(held["request"]["S"], float(held["since"]["N"]))

    def _decommission_key(self, decommission_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"DECOMMISSION#{decommission_id}"}, "sk": {"S": "STATE"}}

    def decommission(self, decommission_id: str) -> dict[str, Any] | None:
        """What a decommission's runs left: ``planned`` users, ``unfinished`` (after a summary)."""
        item = self._get(self._decommission_key(decommission_id))
        return json.loads(item["state"]["S"]) if item else None

    def set_decommission(self, decommission_id: str, state: dict[str, Any]) -> None:
        self._put({**self._decommission_key(decommission_id), "state": {"S": json.dumps(state)}})

    def _member_key(self, decommission_id: str, user_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"DECOMMISSION#{decommission_id}"}, "sk": {"S": f"USER#{user_id}"}}

    def record_member(self, decommission_id: str, user_id: str, result: dict[str, Any]) -> None:
        """One user's end in a decommission (a re-run's result replaces the earlier one)."""
        item = {
            **self._member_key(decommission_id, user_id),
            "result": {"S": json.dumps(result, default=str)},
            "purge_at": {"N": str(int(self.clock.time()) + RETENTION_SECONDS)},
        }
        try:
            self.client.put_item(TableName=self.table, Item=item)
        except ClientError as err:
            raise translate(err) from err

    def members(self, decommission_id: str) -> dict[str, dict[str, Any]]:
        """user id -> its recorded result, for every user of the decommission that has one."""
        rows = query_all(
            self.client,
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :user)",
            ExpressionAttributeValues={":pk": {"S": f"DECOMMISSION#{decommission_id}"}, ":user": {"S": "USER#"}},
            ConsistentRead=True,
        )
        return {r["sk"]["S"].removeprefix("USER#"): json.loads(r["result"]["S"]) for r in rows}

    def latest(self, organization_id: str, user_id: str) -> Snapshot | None:
        try:
            key = self._user_key(organization_id, user_id)
            item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        except ClientError as err:
            raise translate(err) from err
        return self.snapshot(item["request"]["S"]) if item else None
