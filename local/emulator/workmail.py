"""Emulated Amazon WorkMail (seed 004, FACTS.md).

State transitions that matter to offboarding:

* a user is created DISABLED; ``RegisterToWorkMail`` makes it ENABLED with a primary email;
* ``DeregisterFromWorkMail`` makes it DISABLED (mailbox kept 30 days, aliases kept);
* ``DeleteUser`` on an ENABLED user raises ``EntityStateException``; afterwards the user is DELETED
  and further changes (a second DeleteUser too) raise ``EntityStateException``;
* mailbox export jobs: at most 10 RUNNING per organization and one per mailbox per 24 hours
  (``LimitExceededException``); a job completes ``export_seconds`` of virtual time after it starts
  and writes its archive to the S3 bucket (which must exist), or fails if it does not;
  ``ListMailboxExportJobs`` lists the jobs started in the last seven days (``DescribeMailboxExportJob``
  still finds older ones).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .core import EmulatedService, operation
from .protocol import ApiError

EXPORT_CONCURRENCY = 10
EXPORT_COOLDOWN = timedelta(hours=24)
EXPORT_LISTED_FOR = timedelta(days=7)  # ListMailboxExportJobs: "started ... within the last seven days"
MAILBOX_RETENTION = timedelta(days=30)


@dataclass
class Member:
    id: str
    kind: str  # USER | GROUP | RESOURCE
    name: str
    display_name: str = ""
    state: str = "DISABLED"
    email: str | None = None
    role: str = "USER"
    resource_type: str | None = None
    enabled: datetime | None = None
    disabled: datetime | None = None


@dataclass
class ExportJob:
    job_id: str
    entity_id: str
    client_token: str
    role_arn: str
    kms_key_arn: str
    bucket: str
    prefix: str
    description: str
    start: datetime
    state: str = "RUNNING"
    end: datetime | None = None
    error: str | None = None
    doomed: str | None = None  # fails with this reason when it would complete (control.fail_next_export)


@dataclass
class Organization:
    org_id: str
    alias: str
    domain: str
    created: datetime
    state: str = "Active"
    members: dict[str, Member] = field(default_factory=dict)
    groups: dict[str, set[str]] = field(default_factory=dict)  # group id -> member ids
    delegates: dict[str, set[str]] = field(default_factory=dict)  # resource id -> entity ids
    aliases: dict[str, list[str]] = field(default_factory=dict)  # entity id -> aliases
    permissions: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # mailbox -> grantee -> perms
    exports: dict[str, ExportJob] = field(default_factory=dict)


class WorkMail(EmulatedService):
    service_name = "workmail"
    validation_error = "InvalidParameterException"
    throttle_error = "ThrottlingException"
    throttle_status = 400
    internal_error = "InternalFailure"  # a common error; WorkMail models no 5xx of its own
    token_error = "InvalidParameterException"

    def __init__(self, emulator: Any) -> None:
        super().__init__(emulator)
        self.orgs: dict[str, Organization] = {}
        self.export_seconds = 300.0
        self.failing_exports: dict[str, str] = {}  # org id -> reason the next export fails
        self._ids = itertools.count(1)

    def _id(self, prefix: str, seed: str) -> str:
        digest = hashlib.sha1(f"{seed}{next(self._ids)}".encode()).hexdigest()
        return f"{prefix}{digest[:32]}"

    # ------------------------------------------------------------------ lookups

    def org(self, org_id: str) -> Organization:
        if org_id not in self.orgs:
            raise ApiError("OrganizationNotFoundException", f"Organization {org_id} not found.")
        org = self.orgs[org_id]
        if org.state != "Active":
            raise ApiError("OrganizationStateException", f"Organization {org_id} is {org.state}.")
        return org

    def member(self, org: Organization, entity_id: str, *kinds: str) -> Member:
        m = org.members.get(entity_id)
        if m is None:
            # WorkMail also accepts an email address or a user name as an identifier.
            m = self.named(org, entity_id, by_email=True)
        if m is None or (kinds and m.kind not in kinds):
            raise ApiError("EntityNotFoundException", f"Entity {entity_id} not found in {org.org_id}.")
        return m

    def named(self, org: Organization, name: str, *, by_email: bool = False) -> Member | None:
        """The entity called ``name`` (or with that email): a live one first, else a deleted one."""
        found = [x for x in org.members.values() if name == x.name or (by_email and name == x.email)]
        return min(found, key=lambda x: x.state == "DELETED", default=None)

    def live(self, m: Member) -> Member:
        if m.state == "DELETED":
            raise ApiError("EntityStateException", f"Entity {m.id} is deleted.")
        return m

    def email_taken(self, org: Organization, email: str, except_id: str | None = None) -> bool:
        email = email.lower()
        for m in org.members.values():
            if m.id == except_id or m.state == "DELETED":
                continue
            if (m.email or "").lower() == email or email in [a.lower() for a in org.aliases.get(m.id, [])]:
                return True
        return False

    def check_domain(self, org: Organization, email: str) -> None:
        if "@" not in email:
            raise self.invalid(f"{email} is not an email address.")
        if email.split("@", 1)[1].lower() != org.domain.lower():
            raise ApiError("MailDomainNotFoundException", f"Mail domain of {email} is not in {org.org_id}.")

    # ------------------------------------------------------------------ organizations

    def add_organization(self, alias: str, domain: str | None = None) -> str:
        org_id = self._id("m-", alias)
        self.orgs[org_id] = Organization(org_id, alias, domain or f"{alias}.awsapps.com", self.clock.now())
        return org_id

    @operation("CreateOrganization")
    def create_organization(self, p: dict[str, Any]) -> dict[str, Any]:
        if any(o.alias == p["Alias"] for o in self.orgs.values()):
            raise ApiError("NameAvailabilityException", f"Alias {p['Alias']} is taken.")
        domains = p.get("Domains") or []
        domain = domains[0]["DomainName"] if domains else None
        return {"OrganizationId": self.add_organization(p["Alias"], domain)}

    @operation("DescribeOrganization")
    def describe_organization(self, p: dict[str, Any]) -> dict[str, Any]:
        if p["OrganizationId"] not in self.orgs:
            raise ApiError("OrganizationNotFoundException", f"Organization {p['OrganizationId']} not found.")
        o = self.orgs[p["OrganizationId"]]
        return {
            "OrganizationId": o.org_id,
            "Alias": o.alias,
            "State": o.state,
            "DirectoryType": "WorkMailDirectory",
            "DefaultMailDomain": o.domain,
            "CompletedDate": o.created,
            "ARN": f"arn:aws:workmail:{self.emulator.region}:{self.emulator.account}:organization/{o.org_id}",
        }

    @operation("ListOrganizations")
    def list_organizations(self, p: dict[str, Any]) -> dict[str, Any]:
        rows = [
            {"OrganizationId": o.org_id, "Alias": o.alias, "DefaultMailDomain": o.domain, "State": o.state}
            for o in self.orgs.values()
        ]
        page, token = self.page(rows, p, size_key="MaxResults", default=100, maximum=100)
        return {"OrganizationSummaries": page, "NextToken": token}

    # ------------------------------------------------------------------ users, groups, resources

    def _create(self, p: dict[str, Any], kind: str, **extra: Any) -> Member:
        org = self.org(p["OrganizationId"])
        if any(m.name == p["Name"] and m.state != "DELETED" for m in org.members.values()):
            raise ApiError("NameAvailabilityException", f"Name {p['Name']} is already in use.")
        h = self._id("", p["Name"])  # 32 hex digits, shaped like WorkMail's ids per kind
        entity_id = {
            "USER": f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}",
            "GROUP": f"S-1-1-11-{int(h[:8], 16)}",
            "RESOURCE": f"r-{h}",
        }[kind]
        m = Member(entity_id, kind, p["Name"], **extra)
        if kind == "GROUP":
            org.groups[m.id] = set()
        elif kind == "RESOURCE":
            org.delegates[m.id] = set()
        org.members[m.id] = m
        return m

    @operation("CreateUser")
    def create_user(self, p: dict[str, Any]) -> dict[str, Any]:
        m = self._create(p, "USER", display_name=p["DisplayName"], role=p.get("Role", "USER"))
        return {"UserId": m.id}

    @operation("CreateGroup")
    def create_group(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"GroupId": self._create(p, "GROUP").id}

    @operation("CreateResource")
    def create_resource(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ResourceId": self._create(p, "RESOURCE", resource_type=p["Type"]).id}

    @operation("DescribeUser")
    def describe_user(self, p: dict[str, Any]) -> dict[str, Any]:
        m = self.member(self.org(p["OrganizationId"]), p["UserId"], "USER")
        return {
            "UserId": m.id,
            "Name": m.name,
            "Email": m.email,
            "DisplayName": m.display_name,
            "State": m.state,
            "UserRole": m.role,
            "EnabledDate": m.enabled,
            "DisabledDate": m.disabled,
        }

    @operation("DescribeGroup")
    def describe_group(self, p: dict[str, Any]) -> dict[str, Any]:
        m = self.member(self.org(p["OrganizationId"]), p["GroupId"], "GROUP")
        return {
            "GroupId": m.id,
            "Name": m.name,
            "Email": m.email,
            "State": m.state,
            "EnabledDate": m.enabled,
            "DisabledDate": m.disabled,
        }

    @operation("DescribeResource")
    def describe_resource(self, p: dict[str, Any]) -> dict[str, Any]:
        m = self.member(self.org(p["OrganizationId"]), p["ResourceId"], "RESOURCE")
        return {
            "ResourceId": m.id,
            "Name": m.name,
            "Email": m.email,
            "Type": m.resource_type,
            "State": m.state,
            "EnabledDate": m.enabled,
            "DisabledDate": m.disabled,
        }

    def _list(self, p: dict[str, Any], kind: str, row: Any, key: str) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        flt = p.get("Filters") or {}
        rows = []
        for m in org.members.values():
            if m.kind != kind:
                continue
            if "State" in flt and m.state != flt["State"]:
                continue
            if "PrimaryEmailPrefix" in flt and not (m.email or "").startswith(flt["PrimaryEmailPrefix"]):
                continue
            for name_key in ("UsernamePrefix", "NamePrefix"):
                if name_key in flt and not m.name.startswith(flt[name_key]):
                    break
            else:
                rows.append(row(m))
        page, token = self.page(rows, p, size_key="MaxResults", default=100, maximum=100)
        return {key: page, "NextToken": token}

    @operation("ListUsers")
    def list_users(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list(
            p,
            "USER",
            lambda m: {
                "Id": m.id,
                "Email": m.email,
                "Name": m.name,
                "DisplayName": m.display_name,
                "State": m.state,
                "UserRole": m.role,
                "EnabledDate": m.enabled,
                "DisabledDate": m.disabled,
            },
            "Users",
        )

    @operation("ListGroups")
    def list_groups(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list(
            p,
            "GROUP",
            lambda m: {
                "Id": m.id,
                "Email": m.email,
                "Name": m.name,
                "State": m.state,
                "EnabledDate": m.enabled,
                "DisabledDate": m.disabled,
            },
            "Groups",
        )

    @operation("ListResources")
    def list_resources(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._list(
            p,
            "RESOURCE",
            lambda m: {
                "Id": m.id,
                "Email": m.email,
                "Name": m.name,
                "Type": m.resource_type,
                "State": m.state,
                "EnabledDate": m.enabled,
                "DisabledDate": m.disabled,
            },
            "Resources",
        )

    # ------------------------------------------------------------------ registration lifecycle

    @operation("RegisterToWorkMail")
    def register(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        m = self.live(self.member(org, p["EntityId"]))
        if m.state == "ENABLED":
            raise ApiError("EntityAlreadyRegisteredException", f"Entity {m.id} is already registered.")
        email = p["Email"]
        self.check_domain(org, email)
        if self.email_taken(org, email, except_id=m.id):
            raise ApiError("EmailAddressInUseException", f"{email} is already in use.")
        m.state, m.email, m.enabled, m.disabled = "ENABLED", email, self.clock.now(), None
        return {}

    @operation("DeregisterFromWorkMail")
    def deregister(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        m = self.live(self.member(org, p["EntityId"]))
        if m.state != "ENABLED":
            raise ApiError("EntityStateException", f"Entity {m.id} is not registered to WorkMail.")
        m.state, m.disabled = "DISABLED", self.clock.now()
        return {}

    @operation("DeleteUser")
    def delete_user(self, p: dict[str, Any]) -> dict[str, Any]:
        """``UserId`` is the user id or the user name (the model says so; not the email). The model
        lists no EntityNotFoundException for DeleteUser: what AWS answers for an unknown user is not
        documented, so we follow the model and answer the closest error it lists,
        InvalidParameterException; a deleted user is in the wrong state (EntityStateException)."""
        org = self.org(p["OrganizationId"])
        ident = p["UserId"]
        m = org.members.get(ident) or self.named(org, ident)
        if m is None or m.kind != "USER":
            raise self.invalid(f"UserId {ident} is not a user of {org.org_id}.")
        if m.state == "DELETED":
            raise ApiError("EntityStateException", f"User {m.id} is already deleted.")
        if m.state != "DISABLED":
            raise ApiError("EntityStateException", f"User {m.id} must be DISABLED (deregistered) before deletion.")
        m.state = "DELETED"
        for members in org.groups.values():
            members.discard(m.id)
        for delegates in org.delegates.values():
            delegates.discard(m.id)
        org.aliases.pop(m.id, None)
        org.permissions.pop(m.id, None)
        for grants in org.permissions.values():
            grants.pop(m.id, None)
        return {}

    # ------------------------------------------------------------------ groups and delegates

    @operation("AssociateMemberToGroup")
    def associate_member(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        group = self.live(self.member(org, p["GroupId"], "GROUP"))
        member = self.live(self.member(org, p["MemberId"], "USER", "GROUP"))
        org.groups[group.id].add(member.id)
        return {}

    @operation("DisassociateMemberFromGroup")
    def disassociate_member(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        group = self.member(org, p["GroupId"], "GROUP")
        member = self.member(org, p["MemberId"], "USER", "GROUP")
        if member.id not in org.groups[group.id]:
            raise ApiError("EntityNotFoundException", f"{member.id} is not a member of {group.id}.")
        org.groups[group.id].discard(member.id)
        return {}

    @operation("ListGroupMembers")
    def list_group_members(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        group = self.member(org, p["GroupId"], "GROUP")
        rows = [
            {"Id": mid, "Name": org.members[mid].name, "Type": org.members[mid].kind, "State": org.members[mid].state}
            for mid in sorted(org.groups[group.id])
        ]
        page, token = self.page(rows, p, size_key="MaxResults", default=100, maximum=100)
        return {"Members": page, "NextToken": token}

    @operation("ListGroupsForEntity")
    def list_groups_for_entity(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        m = self.member(org, p["EntityId"], "USER", "GROUP")
        rows = [
            {"GroupId": gid, "GroupName": org.members[gid].name}
            for gid, members in sorted(org.groups.items())
            if m.id in members
        ]
        page, token = self.page(rows, p, size_key="MaxResults", default=100, maximum=100)
        return {"Groups": page, "NextToken": token}

    @operation("AssociateDelegateToResource")
    def associate_delegate(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        res = self.live(self.member(org, p["ResourceId"], "RESOURCE"))
        ent = self.live(self.member(org, p["EntityId"], "USER", "GROUP"))
        org.delegates[res.id].add(ent.id)
        return {}

    @operation("DisassociateDelegateFromResource")
    def disassociate_delegate(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        res = self.member(org, p["ResourceId"], "RESOURCE")
        ent = self.member(org, p["EntityId"], "USER", "GROUP")
        if ent.id not in org.delegates[res.id]:
            raise ApiError("EntityNotFoundException", f"{ent.id} is not a delegate of {res.id}.")
        org.delegates[res.id].discard(ent.id)
        return {}

    @operation("ListResourceDelegates")
    def list_delegates(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        res = self.member(org, p["ResourceId"], "RESOURCE")
        rows = [{"Id": eid, "Type": org.members[eid].kind} for eid in sorted(org.delegates[res.id])]
        page, token = self.page(rows, p, size_key="MaxResults", default=100, maximum=100)
        return {"Delegates": page, "NextToken": token}

    # ------------------------------------------------------------------ aliases

    @operation("CreateAlias")
    def create_alias(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        m = self.live(self.member(org, p["EntityId"]))
        self.check_domain(org, p["Alias"])
        if p["Alias"].lower() in [a.lower() for a in org.aliases.get(m.id, [])]:
            return {}
        if self.email_taken(org, p["Alias"]):
            raise ApiError("EmailAddressInUseException", f"{p['Alias']} is already in use.")
        if len(org.aliases.get(m.id, [])) >= 100:
            raise ApiError("LimitExceededException", "At most 100 aliases per entity.")
        org.aliases.setdefault(m.id, []).append(p["Alias"])
        return {}

    @operation("DeleteAlias")
    def delete_alias(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        m = self.member(org, p["EntityId"])
        aliases = org.aliases.get(m.id, [])
        org.aliases[m.id] = [a for a in aliases if a.lower() != p["Alias"].lower()]
        return {}

    @operation("ListAliases")
    def list_aliases(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        m = self.member(org, p["EntityId"])
        page, token = self.page(list(org.aliases.get(m.id, [])), p, size_key="MaxResults", default=100, maximum=100)
        return {"Aliases": page, "NextToken": token}

    # ------------------------------------------------------------------ mailbox permissions

    @operation("PutMailboxPermissions")
    def put_permissions(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        mailbox = self.live(self.member(org, p["EntityId"], "USER", "RESOURCE", "GROUP"))
        grantee = self.live(self.member(org, p["GranteeId"], "USER", "GROUP"))
        org.permissions.setdefault(mailbox.id, {})[grantee.id] = sorted(set(p["PermissionValues"]))
        return {}

    @operation("DeleteMailboxPermissions")
    def delete_permissions(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        mailbox = self.member(org, p["EntityId"], "USER", "RESOURCE", "GROUP")
        grantee = self.member(org, p["GranteeId"], "USER", "GROUP")
        org.permissions.get(mailbox.id, {}).pop(grantee.id, None)
        return {}

    @operation("ListMailboxPermissions")
    def list_permissions(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        mailbox = self.member(org, p["EntityId"], "USER", "RESOURCE", "GROUP")
        rows = [
            {"GranteeId": gid, "GranteeType": org.members[gid].kind, "PermissionValues": perms}
            for gid, perms in sorted(org.permissions.get(mailbox.id, {}).items())
        ]
        page, token = self.page(rows, p, size_key="MaxResults", default=100, maximum=100)
        return {"Permissions": page, "NextToken": token}

    # ------------------------------------------------------------------ mailbox export jobs

    def settle_exports(self, org: Organization) -> None:
        """Advance export jobs on the virtual clock (AWS does this in the background)."""
        now = self.clock.now()
        for job in org.exports.values():
            deadline = job.start + timedelta(seconds=self.export_seconds)
            if job.state == "RUNNING" and now >= deadline:
                self.emulator.control.finish_export(org.org_id, job.job_id, fail=job.doomed, at=deadline)

    def state_at(self, job: ExportJob, now: datetime) -> str:
        """The job's state as seen at ``now``: a Map iteration whose timeline is behind another's
        still sees a job running that the other already saw finish (``VirtualClock.fork``)."""
        return "RUNNING" if job.end is not None and now < job.end else job.state

    def running_at(self, org: Organization, now: datetime) -> list[ExportJob]:
        return [j for j in org.exports.values() if j.start <= now and self.state_at(j, now) == "RUNNING"]

    @operation("StartMailboxExportJob")
    def start_export(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        self.settle_exports(org)
        for job in org.exports.values():
            if job.client_token == p["ClientToken"]:
                return {"JobId": job.job_id}  # idempotent retry
        m = self.member(org, p["EntityId"], "USER", "RESOURCE")
        if m.state == "DELETED":  # the model lists no EntityStateException here: nothing left to export
            raise ApiError("EntityNotFoundException", f"Entity {m.id} is deleted; it has no mailbox to export.")
        if len(self.running_at(org, self.clock.now())) >= EXPORT_CONCURRENCY:
            raise ApiError("LimitExceededException", f"At most {EXPORT_CONCURRENCY} concurrent export jobs.")
        now = self.clock.now()
        recent = [j for j in org.exports.values() if j.entity_id == m.id and now - j.start < EXPORT_COOLDOWN]
        if recent:
            raise ApiError("LimitExceededException", f"Mailbox {m.id} was exported in the last 24 hours.")
        job = ExportJob(
            self._id("", p["ClientToken"]),
            m.id,
            p["ClientToken"],
            p["RoleArn"],
            p["KmsKeyArn"],
            p["S3BucketName"],
            p["S3Prefix"],
            p.get("Description", ""),
            now,
        )
        job.doomed = self.failing_exports.pop(org.org_id, None)
        org.exports[job.job_id] = job
        return {"JobId": job.job_id}

    def job(self, org: Organization, job_id: str) -> ExportJob:
        if job_id not in org.exports:
            raise ApiError("EntityNotFoundException", f"Export job {job_id} not found.")
        return org.exports[job_id]

    @operation("DescribeMailboxExportJob")
    def describe_export(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        self.settle_exports(org)
        j = self.job(org, p["JobId"])
        now = self.clock.now()
        state = self.state_at(j, now)
        elapsed = (now - j.start).total_seconds()
        progress = 100 if state == "COMPLETED" else min(99, int(100 * elapsed / self.export_seconds))
        return {
            "EntityId": j.entity_id,
            "Description": j.description,
            "RoleArn": j.role_arn,
            "KmsKeyArn": j.kms_key_arn,
            "S3BucketName": j.bucket,
            "S3Prefix": j.prefix,
            "S3Path": f"{j.prefix}/{j.job_id}.zip" if state == "COMPLETED" else None,
            "EstimatedProgress": progress,
            "State": state,
            "ErrorInfo": j.error if state == "FAILED" else None,
            "StartTime": j.start,
            "EndTime": j.end if state != "RUNNING" else None,
        }

    @operation("ListMailboxExportJobs")
    def list_exports(self, p: dict[str, Any]) -> dict[str, Any]:
        """Jobs started in the last seven days only (the operation's documentation)."""
        org = self.org(p["OrganizationId"])
        self.settle_exports(org)
        since = self.clock.now() - EXPORT_LISTED_FOR
        rows = [
            {
                "JobId": j.job_id,
                "EntityId": j.entity_id,
                "Description": j.description,
                "S3BucketName": j.bucket,
                "S3Path": f"{j.prefix}/{j.job_id}.zip",
                "State": j.state,
                "StartTime": j.start,
                "EndTime": j.end,
            }
            for j in org.exports.values()
            if j.start >= since
        ]
        page, token = self.page(rows, p, size_key="MaxResults", default=25, maximum=25)
        return {"Jobs": page, "NextToken": token}

    @operation("CancelMailboxExportJob")
    def cancel_export(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        j = self.job(org, p["JobId"])
        if j.state == "RUNNING":
            j.state, j.end = "CANCELLED", self.clock.now()
        return {}
