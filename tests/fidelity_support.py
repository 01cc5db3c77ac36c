"""The fidelity suite's estate and tables: a realistic world built through real boto3 calls, one
realistic call per emulated operation, a seeder per paginated operation, and a real trigger for every
error code the emulator can answer (``local.emulator.fidelity.raise_sites``)."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError

from local.dns_automation import publish_dkim
from local.emulator import Emulator, fidelity

ACCOUNT = "123456789012"
REGION = "us-east-1"
DOMAIN = "acme.example.com"  # the WorkMail organization's mail domain (its default)
SPARE_DOMAIN = "acme.example.net"  # a second mail domain, verified and unused
PENDING_DOMAIN = "acme.example.org"  # registered, its records not published: not verified
IDENTITY = "acme.example"  # the SES domain identity
UNKNOWN_ORG = "m-" + "0" * 32
ROLE = f"arn:aws:iam::{ACCOUNT}:role/mailwarden-workmail-export"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET = "mailwarden-exports"
CLIENTS = {
    "sesv2": "sesv2",
    "workmail": "workmail",
    "partnercentral-account": "partnercentral-account",
    "lambda": "lambda",
}


_SESSIONS: list[boto3.session.Session] = []


def _session() -> boto3.session.Session:
    """One boto3 session for every world: the models it loaded are read once."""
    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


@functools.cache
def _client(service: str) -> Any:
    """One default client per service for every world (5-8 ms each to make): it keeps no state of a world
    (legacy retries keep no quota; its calls reach the active emulator through botocore's built-in
    handlers). A trigger that changes a client's handlers or configuration makes its own."""
    return _session().client(service, region_name=REGION)


@dataclass
class World:
    """One realistic estate per test (built fresh: writes may change it)."""

    emu: Emulator
    tenants: dict[str, str] = field(default_factory=dict)  # name -> ARN
    users: dict[str, str] = field(default_factory=dict)  # name -> id
    org: str = ""
    retired: str = ""  # an organization being deleted: OrganizationStateException
    group: str = ""
    resource: str = ""
    job: str = ""

    def client(self, service: str, **config: Any) -> Any:
        if config:
            return _session().client(service, region_name=REGION, config=Config(**config))
        return _client(service)

    @property
    def ses(self) -> Any:
        return self.client("sesv2")

    @property
    def wm(self) -> Any:
        return self.client("workmail")

    def identity_arn(self, name: str = IDENTITY) -> str:
        return f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{name}"

    def user(self, name: str, *, register: bool = True) -> str:
        uid = self.wm.create_user(OrganizationId=self.org, Name=name, DisplayName=name.title(), Password="Pa55w0rd!x")
        self.users[name] = uid["UserId"]
        if register:
            self.wm.register_to_work_mail(OrganizationId=self.org, EntityId=uid["UserId"], Email=f"{name}@{DOMAIN}")
        return str(uid["UserId"])

    def export(self, entity: str, token: str, org: str | None = None) -> str:
        return str(
            self.wm.start_mailbox_export_job(
                OrganizationId=org or self.org,
                EntityId=entity,
                ClientToken=token,
                Description=f"Mailwarden offboarding export {token}",
                RoleArn=ROLE,
                KmsKeyArn=KEY,
                S3BucketName=BUCKET,
                S3Prefix="workmail/exports",
            )["JobId"]
        )


def build_world(emu: Emulator) -> World:
    emu.control.rate_limit("sesv2", None)  # the fidelity suite checks answers, not SES's 1 request/s
    w = World(emu)
    ses, r53 = w.ses, w.client("route53")
    for name, team in (("acme-marketing", "growth"), ("globex-billing", "finance")):
        w.tenants[name] = ses.create_tenant(TenantName=name, Tags=[{"Key": "team", "Value": team}])["TenantArn"]
    ses.create_email_identity(EmailIdentity=IDENTITY, Tags=[{"Key": "owner", "Value": "acme"}])
    r53.create_hosted_zone(Name=IDENTITY, CallerReference="fidelity")
    publish_dkim(ses, r53, IDENTITY)
    ses.put_email_identity_mail_from_attributes(EmailIdentity=IDENTITY, MailFromDomain=f"mail.{IDENTITY}")
    ses.create_email_identity(EmailIdentity=f"ops@{IDENTITY}")
    emu.control.confirm_email_identity(f"ops@{IDENTITY}")
    ses.create_tenant_resource_association(TenantName="acme-marketing", ResourceArn=w.identity_arn())
    emu.control.raise_finding(
        w.tenants["acme-marketing"], "BOUNCE", "HIGH", "The bounce rate exceeded 10% in the last 24 hours."
    )

    w.org = w.wm.create_organization(Alias="acme-corp", Domains=[{"DomainName": DOMAIN}])["OrganizationId"]
    w.retired = emu.control.add_organization("retired-corp", "retired.example.com")
    emu.workmail.orgs[w.retired].state = "Deleting"
    for name in ("alice", "bob", "carol", "leaver", "gone"):
        w.user(name)
    w.user("newbie", register=False)
    for name in ("leaver", "gone"):
        w.wm.deregister_from_work_mail(OrganizationId=w.org, EntityId=w.users[name])
    w.wm.delete_user(OrganizationId=w.org, UserId=w.users["gone"])
    w.group = w.wm.create_group(OrganizationId=w.org, Name="sales")["GroupId"]
    w.wm.register_to_work_mail(OrganizationId=w.org, EntityId=w.group, Email=f"sales@{DOMAIN}")
    w.wm.associate_member_to_group(OrganizationId=w.org, GroupId=w.group, MemberId=w.users["alice"])
    w.resource = w.wm.create_resource(OrganizationId=w.org, Name="room-1", Type="ROOM")["ResourceId"]
    w.wm.create_group(OrganizationId=w.org, Name="alumni")  # never registered: DeleteGroup may take it
    emu.control.add_mail_domain(w.org, SPARE_DOMAIN)
    w.wm.register_mail_domain(OrganizationId=w.org, DomainName=PENDING_DOMAIN)
    w.wm.associate_delegate_to_resource(OrganizationId=w.org, ResourceId=w.resource, EntityId=w.users["alice"])
    w.wm.create_alias(OrganizationId=w.org, EntityId=w.users["alice"], Alias=f"alice.smith@{DOMAIN}")
    w.wm.put_mailbox_permissions(
        OrganizationId=w.org, EntityId=w.users["alice"], GranteeId=w.users["bob"], PermissionValues=["FULL_ACCESS"]
    )
    w.client("s3").create_bucket(Bucket=BUCKET)
    w.job = w.export(w.users["bob"], "export-bob")

    emu.lambdas.register("mailwarden-echo", lambda event: {"received": event})
    return w


# ------------------------------------------------------------------------------------- one call each

Call = Callable[[World], dict[str, Any]]  # the operation's realistic kwargs

CALLS: dict[str, Call] = {
    # SESv2
    "sesv2.CreateEmailIdentity": lambda w: {"EmailIdentity": "initech.example", "Tags": [{"Key": "k", "Value": "v"}]},
    "sesv2.CreateTenant": lambda w: {"TenantName": "initech-sales", "Tags": [{"Key": "team", "Value": "sales"}]},
    "sesv2.CreateTenantResourceAssociation": lambda w: {
        "TenantName": "globex-billing",
        "ResourceArn": w.identity_arn(),
    },
    "sesv2.DeleteEmailIdentity": lambda w: {"EmailIdentity": f"ops@{IDENTITY}"},
    "sesv2.DeleteTenant": lambda w: {"TenantName": "globex-billing"},
    "sesv2.DeleteTenantResourceAssociation": lambda w: {
        "TenantName": "acme-marketing",
        "ResourceArn": w.identity_arn(),
    },
    "sesv2.GetEmailIdentity": lambda w: {"EmailIdentity": IDENTITY},
    "sesv2.GetReputationEntity": lambda w: {
        "ReputationEntityType": "RESOURCE",
        "ReputationEntityReference": w.tenants["acme-marketing"],
    },
    "sesv2.GetTenant": lambda w: {"TenantName": "acme-marketing"},
    "sesv2.ListEmailIdentities": lambda w: {"PageSize": 100},
    "sesv2.ListRecommendations": lambda w: {"Filter": {"STATUS": "OPEN", "IMPACT": "HIGH"}, "PageSize": 100},
    "sesv2.ListReputationEntities": lambda w: {"Filter": {"ENTITY_TYPE": "RESOURCE"}, "PageSize": 100},
    "sesv2.ListResourceTenants": lambda w: {"ResourceArn": w.identity_arn(), "PageSize": 100},
    "sesv2.ListTagsForResource": lambda w: {"ResourceArn": w.tenants["acme-marketing"]},
    "sesv2.ListTenantResources": lambda w: {
        "TenantName": "acme-marketing",
        "Filter": {"RESOURCE_TYPE": "EMAIL_IDENTITY"},
    },
    "sesv2.ListTenants": lambda w: {"PageSize": 100},
    "sesv2.PutEmailIdentityMailFromAttributes": lambda w: {
        "EmailIdentity": IDENTITY,
        "MailFromDomain": f"bounce.{IDENTITY}",
        "BehaviorOnMxFailure": "REJECT_MESSAGE",
    },
    "sesv2.TagResource": lambda w: {
        "ResourceArn": w.tenants["globex-billing"],
        "Tags": [{"Key": "tier", "Value": "1"}],
    },
    "sesv2.UntagResource": lambda w: {"ResourceArn": w.tenants["globex-billing"], "TagKeys": ["team"]},
    "sesv2.UpdateReputationEntityCustomerManagedStatus": lambda w: {
        "ReputationEntityType": "RESOURCE",
        "ReputationEntityReference": w.tenants["acme-marketing"],
        "SendingStatus": "DISABLED",
    },
    "sesv2.UpdateReputationEntityPolicy": lambda w: {
        "ReputationEntityType": "RESOURCE",
        "ReputationEntityReference": w.tenants["globex-billing"],
        "ReputationEntityPolicy": f"arn:aws:ses:{REGION}:aws:reputation-policy/strict",
    },
    # WorkMail
    "workmail.AssociateDelegateToResource": lambda w: {
        "OrganizationId": w.org,
        "ResourceId": w.resource,
        "EntityId": w.users["bob"],
    },
    "workmail.AssociateMemberToGroup": lambda w: {
        "OrganizationId": w.org,
        "GroupId": w.group,
        "MemberId": w.users["bob"],
    },
    "workmail.CancelMailboxExportJob": lambda w: {"OrganizationId": w.org, "JobId": w.job, "ClientToken": "cancel-1"},
    "workmail.CreateAlias": lambda w: {
        "OrganizationId": w.org,
        "EntityId": w.users["bob"],
        "Alias": f"b.jones@{DOMAIN}",
    },
    "workmail.CreateGroup": lambda w: {"OrganizationId": w.org, "Name": "workmail-admins"},
    "workmail.CreateOrganization": lambda w: {"Alias": "initech", "Domains": [{"DomainName": "initech.example.com"}]},
    "workmail.CreateResource": lambda w: {"OrganizationId": w.org, "Name": "projector-2", "Type": "EQUIPMENT"},
    "workmail.CreateUser": lambda w: {
        "OrganizationId": w.org,
        "Name": "dave",
        "DisplayName": "Dave Example",
        "Password": "Corr3ct-Horse!",
        "Role": "USER",
    },
    "workmail.DeleteAlias": lambda w: {
        "OrganizationId": w.org,
        "EntityId": w.users["alice"],
        "Alias": f"alice.smith@{DOMAIN}",
    },
    "workmail.DeleteMailboxPermissions": lambda w: {
        "OrganizationId": w.org,
        "EntityId": w.users["alice"],
        "GranteeId": w.users["bob"],
    },
    "workmail.DeleteUser": lambda w: {"OrganizationId": w.org, "UserId": "leaver"},  # the user name, as modelled
    "workmail.DeleteGroup": lambda w: {"OrganizationId": w.org, "GroupId": "alumni"},  # by name, as modelled
    "workmail.DeleteResource": lambda w: {"OrganizationId": w.org, "ResourceId": w.resource},
    "workmail.DeleteOrganization": lambda w: {
        "OrganizationId": w.org,
        "ClientToken": "close-acme-corp",
        "DeleteDirectory": True,
        "ForceDelete": True,
    },
    "workmail.DeregisterMailDomain": lambda w: {"OrganizationId": w.org, "DomainName": SPARE_DOMAIN},
    "workmail.GetMailboxDetails": lambda w: {"OrganizationId": w.org, "UserId": w.users["alice"]},
    "workmail.GetMailDomain": lambda w: {"OrganizationId": w.org, "DomainName": DOMAIN},
    "workmail.ListMailDomains": lambda w: {"OrganizationId": w.org, "MaxResults": 100},
    "workmail.RegisterMailDomain": lambda w: {
        "OrganizationId": w.org,
        "DomainName": "acme-corp.example",
        "ClientToken": "register-acme-corp",
    },
    "workmail.UpdateDefaultMailDomain": lambda w: {"OrganizationId": w.org, "DomainName": SPARE_DOMAIN},
    "workmail.UpdateResource": lambda w: {
        "OrganizationId": w.org,
        "ResourceId": w.resource,
        "BookingOptions": {"AutoAcceptRequests": False, "AutoDeclineConflictingRequests": True},
        "Description": "Boardroom, third floor",
    },
    "workmail.DeregisterFromWorkMail": lambda w: {"OrganizationId": w.org, "EntityId": w.users["bob"]},
    "workmail.DescribeGroup": lambda w: {"OrganizationId": w.org, "GroupId": w.group},
    "workmail.DescribeMailboxExportJob": lambda w: {"OrganizationId": w.org, "JobId": w.job},
    "workmail.DescribeOrganization": lambda w: {"OrganizationId": w.org},
    "workmail.DescribeResource": lambda w: {"OrganizationId": w.org, "ResourceId": w.resource},
    "workmail.DescribeUser": lambda w: {"OrganizationId": w.org, "UserId": f"alice@{DOMAIN}"},
    "workmail.DisassociateDelegateFromResource": lambda w: {
        "OrganizationId": w.org,
        "ResourceId": w.resource,
        "EntityId": w.users["alice"],
    },
    "workmail.DisassociateMemberFromGroup": lambda w: {
        "OrganizationId": w.org,
        "GroupId": w.group,
        "MemberId": w.users["alice"],
    },
    "workmail.ListAliases": lambda w: {"OrganizationId": w.org, "EntityId": w.users["alice"], "MaxResults": 100},
    "workmail.ListGroupMembers": lambda w: {"OrganizationId": w.org, "GroupId": w.group, "MaxResults": 100},
    "workmail.ListGroups": lambda w: {"OrganizationId": w.org, "MaxResults": 100},
    "workmail.ListGroupsForEntity": lambda w: {
        "OrganizationId": w.org,
        "EntityId": w.users["alice"],
        "MaxResults": 100,
    },
    "workmail.ListMailboxExportJobs": lambda w: {"OrganizationId": w.org, "MaxResults": 25},
    "workmail.ListMailboxPermissions": lambda w: {"OrganizationId": w.org, "EntityId": w.users["alice"]},
    "workmail.ListOrganizations": lambda w: {"MaxResults": 100},
    "workmail.ListResourceDelegates": lambda w: {"OrganizationId": w.org, "ResourceId": w.resource},
    "workmail.ListResources": lambda w: {"OrganizationId": w.org, "MaxResults": 100},
    "workmail.ListUsers": lambda w: {"OrganizationId": w.org, "Filters": {"State": "ENABLED"}, "MaxResults": 100},
    "workmail.PutMailboxPermissions": lambda w: {
        "OrganizationId": w.org,
        "EntityId": w.users["alice"],
        "GranteeId": w.users["carol"],
        "PermissionValues": ["SEND_AS", "SEND_ON_BEHALF"],
    },
    "workmail.RegisterToWorkMail": lambda w: {
        "OrganizationId": w.org,
        "EntityId": w.users["newbie"],
        "Email": f"newbie@{DOMAIN}",
    },
    "workmail.StartMailboxExportJob": lambda w: {
        "OrganizationId": w.org,
        "EntityId": w.users["alice"],
        "ClientToken": "export-alice",
        "Description": "Mailwarden offboarding export",
        "RoleArn": ROLE,
        "KmsKeyArn": KEY,
        "S3BucketName": BUCKET,
        "S3Prefix": "workmail/exports",
    },
    # Partner Central Account
    "partnercentral-account.GetConnectionPreferences": lambda w: {"Catalog": "AWS"},
    "partnercentral-account.UpdateConnectionPreferences": lambda w: {
        "Catalog": "AWS",
        "Revision": 1,
        "AccessType": "ALLOW_BY_DEFAULT_DENY_SOME",
        "ExcludedParticipantIdentifiers": ["competitor-1"],
    },
    # Lambda
    "lambda.Invoke": lambda w: {
        "FunctionName": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:mailwarden-echo",
        "Payload": json.dumps({"step": "scan", "runId": "r-1"}).encode(),
    },
}


def call(w: World, key: str, **overrides: Any) -> dict[str, Any]:
    """The realistic call of ``key`` (``service.Operation``), with ``overrides``; its parsed response."""
    service, op = key.split(".", 1)
    client = w.client(CLIENTS[service])
    return dict(getattr(client, xform_name(op))(**{**CALLS[key](w), **overrides}))


def failure(fn: Callable[[], Any]) -> dict[str, Any]:
    """The parsed error response ``fn`` fails with (it must fail)."""
    try:
        fn()
    except ClientError as exc:
        return dict(exc.response)
    raise AssertionError("the call succeeded; an error was expected")


def code_of(fn: Callable[[], Any]) -> tuple[str, int]:
    """The error code and HTTP status ``fn`` fails with (it must fail)."""
    response = failure(fn)
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


# ------------------------------------------------------------------------------------- paginated listings

Seeder = Callable[[World, int], tuple[dict[str, Any], set[Any]]]  # (kwargs, every item's key)


def _tenants(w: World, n: int, prefix: str) -> list[str]:
    return [w.ses.create_tenant(TenantName=f"{prefix}-{i:02d}")["TenantArn"] for i in range(n)]


def _paged_org(w: World) -> str:
    return str(w.emu.control.add_organization("paged-corp", "paged.example.com"))


def _org_users(w: World, org: str, n: int, *, register: bool = False) -> list[str]:
    ids = []
    for i in range(n):
        uid = w.wm.create_user(OrganizationId=org, Name=f"user{i:02d}", DisplayName=f"User {i}")["UserId"]
        if register:
            w.wm.register_to_work_mail(OrganizationId=org, EntityId=uid, Email=f"user{i:02d}@paged.example.com")
        ids.append(uid)
    return ids


def _seed_tenant_resources(w: World, n: int) -> tuple[dict[str, Any], set[Any]]:
    w.ses.create_tenant(TenantName="hub")
    arns = set()
    for i in range(n):
        w.ses.create_email_identity(EmailIdentity=f"brand{i:02d}.example")
        arns.add(w.identity_arn(f"brand{i:02d}.example"))
        w.ses.create_tenant_resource_association(TenantName="hub", ResourceArn=w.identity_arn(f"brand{i:02d}.example"))
    return {"TenantName": "hub"}, arns


def _seed_resource_tenants(w: World, n: int) -> tuple[dict[str, Any], set[Any]]:
    _tenants(w, n, "shared")
    for i in range(n):
        w.ses.create_tenant_resource_association(TenantName=f"shared-{i:02d}", ResourceArn=w.identity_arn())
    return {"ResourceArn": w.identity_arn()}, {f"shared-{i:02d}" for i in range(n)} | {"acme-marketing"}


def _seed_recommendations(w: World, n: int) -> tuple[dict[str, Any], set[Any]]:
    for arn in _tenants(w, n, "noisy"):
        w.emu.control.raise_finding(arn, "COMPLAINT", "LOW")
    return {}, {(f.resource_arn, f.type) for f in w.emu.sesv2.findings}


def _seed_org_members(w: World, n: int, what: str) -> tuple[dict[str, Any], set[Any]]:
    org = _paged_org(w)
    if what == "users":
        return {"OrganizationId": org}, set(_org_users(w, org, n))
    if what == "groups":
        return {"OrganizationId": org}, {
            w.wm.create_group(OrganizationId=org, Name=f"group{i:02d}")["GroupId"] for i in range(n)
        }
    return {"OrganizationId": org}, {
        w.wm.create_resource(OrganizationId=org, Name=f"room{i:02d}", Type="ROOM")["ResourceId"] for i in range(n)
    }


def _seed_aliases(w: World, n: int) -> tuple[dict[str, Any], set[Any]]:
    aliases = {f"alias{i:02d}@{DOMAIN}" for i in range(n)}
    for alias in sorted(aliases):
        w.wm.create_alias(OrganizationId=w.org, EntityId=w.users["carol"], Alias=alias)
    return {"OrganizationId": w.org, "EntityId": w.users["carol"]}, aliases


def _seed_group_members(w: World, n: int) -> tuple[dict[str, Any], set[Any]]:
    org = _paged_org(w)
    group = w.wm.create_group(OrganizationId=org, Name="everyone")["GroupId"]
    ids = _org_users(w, org, n)
    for uid in ids:
        w.wm.associate_member_to_group(OrganizationId=org, GroupId=group, MemberId=uid)
    return {"OrganizationId": org, "GroupId": group}, set(ids)


def _seed_groups_for_entity(w: World, n: int) -> tuple[dict[str, Any], set[Any]]:
    org = _paged_org(w)
    (uid,) = _org_users(w, org, 1)
    groups = set()
    for i in range(n):
        gid = w.wm.create_group(OrganizationId=org, Name=f"team{i:02d}")["GroupId"]
        w.wm.associate_member_to_group(OrganizationId=org, GroupId=gid, MemberId=uid)
        groups.add(gid)
    return {"OrganizationId": org, "EntityId": uid}, groups


def _seed_permissions(w: World, n: int) -> tuple[dict[str, Any], set[Any]]:
    org = _paged_org(w)
    mailbox, *grantees = _org_users(w, org, n + 1)
    for g in grantees:
        w.wm.put_mailbox_permissions(
            OrganizationId=org, EntityId=mailbox, GranteeId=g, PermissionValues=["SEND_ON_BEHALF"]
        )
    return {"OrganizationId": org, "EntityId": mailbox}, set(grantees)


def _seed_delegates(w: World, n: int) -> tuple[dict[str, Any], set[Any]]:
    org = _paged_org(w)
    room = w.wm.create_resource(OrganizationId=org, Name="boardroom", Type="ROOM")["ResourceId"]
    ids = _org_users(w, org, n)
    for uid in ids:
        w.wm.associate_delegate_to_resource(OrganizationId=org, ResourceId=room, EntityId=uid)
    return {"OrganizationId": org, "ResourceId": room}, set(ids)


def _seed_exports(w: World, n: int) -> tuple[dict[str, Any], set[Any]]:
    org = _paged_org(w)
    ids = _org_users(w, org, n, register=True)
    return {"OrganizationId": org}, {w.export(uid, f"paged-{i}", org) for i, uid in enumerate(ids)}


def _seed_mail_domains(w: World, n: int) -> tuple[dict[str, Any], set[Any]]:
    org = _paged_org(w)
    for i in range(n):
        w.wm.register_mail_domain(OrganizationId=org, DomainName=f"brand{i:02d}.example")
    return {"OrganizationId": org}, set(w.emu.workmail.orgs[org].domains)  # the test domain too


def _seed_organizations(w: World, n: int) -> tuple[dict[str, Any], set[Any]]:
    for i in range(n):
        w.wm.create_organization(Alias=f"subsidiary{i:02d}")
    return {}, set(w.emu.workmail.orgs)


def _seed_identities(w: World, n: int) -> tuple[dict[str, Any], set[Any]]:
    for i in range(n):
        w.ses.create_email_identity(EmailIdentity=f"brand{i:02d}.example")
    return {}, set(w.emu.sesv2.identities)


def _seed_all_tenants(w: World, n: int) -> tuple[dict[str, Any], set[Any]]:
    _tenants(w, n, "paged")
    return {}, {t.name for t in w.emu.sesv2.tenants.values()}


def _seed_entities(w: World, n: int) -> tuple[dict[str, Any], set[Any]]:
    _tenants(w, n, "paged")
    return {}, set(w.emu.sesv2.entities)


# operation -> (seeder, result key, the key of one item)
PAGED: dict[str, tuple[Seeder, str, Callable[[Any], Any]]] = {
    "sesv2.ListTenants": (_seed_all_tenants, "Tenants", lambda i: i["TenantName"]),
    "sesv2.ListReputationEntities": (_seed_entities, "ReputationEntities", lambda i: i["ReputationEntityReference"]),
    "sesv2.ListTenantResources": (_seed_tenant_resources, "TenantResources", lambda i: i["ResourceArn"]),
    "sesv2.ListResourceTenants": (_seed_resource_tenants, "ResourceTenants", lambda i: i["TenantName"]),
    "sesv2.ListEmailIdentities": (_seed_identities, "EmailIdentities", lambda i: i["IdentityName"]),
    "sesv2.ListRecommendations": (_seed_recommendations, "Recommendations", lambda i: (i["ResourceArn"], i["Type"])),
    "workmail.ListOrganizations": (_seed_organizations, "OrganizationSummaries", lambda i: i["OrganizationId"]),
    "workmail.ListUsers": (lambda w, n: _seed_org_members(w, n, "users"), "Users", lambda i: i["Id"]),
    "workmail.ListGroups": (lambda w, n: _seed_org_members(w, n, "groups"), "Groups", lambda i: i["Id"]),
    "workmail.ListResources": (lambda w, n: _seed_org_members(w, n, "resources"), "Resources", lambda i: i["Id"]),
    "workmail.ListAliases": (_seed_aliases, "Aliases", lambda i: i),
    "workmail.ListGroupMembers": (_seed_group_members, "Members", lambda i: i["Id"]),
    "workmail.ListGroupsForEntity": (_seed_groups_for_entity, "Groups", lambda i: i["GroupId"]),
    "workmail.ListMailboxPermissions": (_seed_permissions, "Permissions", lambda i: i["GranteeId"]),
    "workmail.ListResourceDelegates": (_seed_delegates, "Delegates", lambda i: i["Id"]),
    "workmail.ListMailboxExportJobs": (_seed_exports, "Jobs", lambda i: i["JobId"]),
    "workmail.ListMailDomains": (_seed_mail_domains, "MailDomains", lambda i: i["DomainName"]),
}


# ------------------------------------------------------------------------------------- error triggers

Trigger = Callable[[World], Any]  # makes the failing call


def _with(key: str, **overrides: Any) -> Trigger:
    return lambda w: call(w, key, **overrides)


def _args(key: str, make: Callable[[World], dict[str, Any]]) -> Trigger:
    return lambda w: call(w, key, **make(w))


def _busy(key: str) -> Trigger:
    def trigger(w: World) -> Any:
        w.emu.control.update_in_progress(CALLS[key](w)["ReputationEntityReference"], seconds=60)
        return call(w, key)

    return trigger


def _denied(key: str) -> Trigger:
    action = key.split(".", 1)[1]

    def trigger(w: World) -> Any:
        w.emu.control.deny(action)
        try:
            return call(w, key)
        finally:
            w.emu.control.deny(action, denied=False)

    return trigger


def _too_many_aliases(w: World) -> Any:
    w.emu.workmail.orgs[w.org].aliases[w.users["bob"]] = [f"b{i}@{DOMAIN}" for i in range(100)]
    try:
        return call(w, "workmail.CreateAlias")
    finally:
        w.emu.workmail.orgs[w.org].aliases.pop(w.users["bob"])


def _too_many_domains(w: World) -> Any:
    org = w.emu.workmail.orgs[w.org]
    extra = {f"d{i}.example": w.emu.workmail.new_domain(w.org, f"d{i}.example") for i in range(100)}
    org.domains.update(extra)
    try:
        return call(w, "workmail.RegisterMailDomain")
    finally:
        for name in extra:
            org.domains.pop(name)


def _deleted_resource(w: World) -> dict[str, Any]:
    rid = w.wm.create_resource(OrganizationId=w.org, Name="old-room", Type="ROOM")["ResourceId"]
    w.wm.delete_resource(OrganizationId=w.org, ResourceId=rid)
    return {"ResourceId": rid}


def _after(first: str, key: str, **overrides: Any) -> Trigger:
    """``key`` called after the realistic call of ``first`` (which changes the world)."""

    def trigger(w: World) -> Any:
        call(w, first)
        return call(w, key, **overrides)

    return trigger


NOBODY = "nobody-at-all"  # no such entity (12+ characters: some EntityIds have a minimum)
UNKNOWN_ARN = f"arn:aws:ses:{REGION}:{ACCOUNT}:tenant/unknown/tn-0000000000"

# (operation, code) -> a real trigger, for what the generic triggers (``generic_trigger``) do not cover
TRIGGERS: dict[tuple[str, str], Trigger] = {
    ("sesv2.CreateEmailIdentity", "AlreadyExistsException"): _with("sesv2.CreateEmailIdentity", EmailIdentity=IDENTITY),
    ("sesv2.CreateTenant", "AlreadyExistsException"): _with("sesv2.CreateTenant", TenantName="acme-marketing"),
    ("sesv2.CreateTenantResourceAssociation", "AlreadyExistsException"): _with(
        "sesv2.CreateTenantResourceAssociation", TenantName="acme-marketing"
    ),
    ("sesv2.CreateTenantResourceAssociation", "NotFoundException"): _args(
        "sesv2.CreateTenantResourceAssociation", lambda w: {"ResourceArn": w.identity_arn("unknown.example")}
    ),
    ("sesv2.DeleteEmailIdentity", "NotFoundException"): _with("sesv2.DeleteEmailIdentity", EmailIdentity="x.example"),
    ("sesv2.DeleteTenant", "NotFoundException"): _with("sesv2.DeleteTenant", TenantName="unknown"),
    ("sesv2.DeleteTenantResourceAssociation", "NotFoundException"): _with(
        "sesv2.DeleteTenantResourceAssociation", TenantName="globex-billing"
    ),
    ("sesv2.GetEmailIdentity", "NotFoundException"): _with("sesv2.GetEmailIdentity", EmailIdentity="x.example"),
    ("sesv2.GetReputationEntity", "NotFoundException"): _with(
        "sesv2.GetReputationEntity", ReputationEntityReference=UNKNOWN_ARN
    ),
    ("sesv2.GetTenant", "NotFoundException"): _with("sesv2.GetTenant", TenantName="unknown"),
    ("sesv2.ListTagsForResource", "NotFoundException"): _with("sesv2.ListTagsForResource", ResourceArn=UNKNOWN_ARN),
    ("sesv2.ListTenantResources", "NotFoundException"): _with("sesv2.ListTenantResources", TenantName="unknown"),
    ("sesv2.PutEmailIdentityMailFromAttributes", "NotFoundException"): _with(
        "sesv2.PutEmailIdentityMailFromAttributes", EmailIdentity="x.example", MailFromDomain="mail.x.example"
    ),
    ("sesv2.TagResource", "NotFoundException"): _with("sesv2.TagResource", ResourceArn=UNKNOWN_ARN),
    ("sesv2.UntagResource", "NotFoundException"): _with("sesv2.UntagResource", ResourceArn=UNKNOWN_ARN),
    ("sesv2.UpdateReputationEntityCustomerManagedStatus", "ConflictException"): _busy(
        "sesv2.UpdateReputationEntityCustomerManagedStatus"
    ),
    ("sesv2.UpdateReputationEntityPolicy", "ConflictException"): _busy("sesv2.UpdateReputationEntityPolicy"),
    ("workmail.AssociateDelegateToResource", "EntityNotFoundException"): _with(
        "workmail.AssociateDelegateToResource", EntityId=NOBODY
    ),
    ("workmail.AssociateDelegateToResource", "EntityStateException"): _args(
        "workmail.AssociateDelegateToResource", lambda w: {"EntityId": w.users["gone"]}
    ),
    ("workmail.AssociateMemberToGroup", "EntityNotFoundException"): _with(
        "workmail.AssociateMemberToGroup", MemberId=NOBODY
    ),
    ("workmail.AssociateMemberToGroup", "EntityStateException"): _args(
        "workmail.AssociateMemberToGroup", lambda w: {"MemberId": w.users["gone"]}
    ),
    ("workmail.CancelMailboxExportJob", "EntityNotFoundException"): _with(
        "workmail.CancelMailboxExportJob", JobId="0" * 32
    ),
    ("workmail.CreateAlias", "EmailAddressInUseException"): _with("workmail.CreateAlias", Alias=f"alice@{DOMAIN}"),
    ("workmail.CreateAlias", "EntityNotFoundException"): _with("workmail.CreateAlias", EntityId=NOBODY),
    ("workmail.CreateAlias", "EntityStateException"): _args(
        "workmail.CreateAlias", lambda w: {"EntityId": w.users["gone"]}
    ),
    ("workmail.CreateAlias", "LimitExceededException"): _too_many_aliases,
    ("workmail.CreateAlias", "MailDomainNotFoundException"): _with(
        "workmail.CreateAlias", Alias="b.jones@elsewhere.org"
    ),
    ("workmail.CreateGroup", "NameAvailabilityException"): _with("workmail.CreateGroup", Name="sales"),
    ("workmail.CreateOrganization", "NameAvailabilityException"): _with(
        "workmail.CreateOrganization", Alias="acme-corp"
    ),
    ("workmail.CreateResource", "NameAvailabilityException"): _with("workmail.CreateResource", Name="room-1"),
    ("workmail.CreateUser", "NameAvailabilityException"): _with("workmail.CreateUser", Name="alice"),
    ("workmail.DeleteAlias", "EntityNotFoundException"): _with("workmail.DeleteAlias", EntityId=NOBODY),
    ("workmail.DeleteMailboxPermissions", "EntityNotFoundException"): _with(
        "workmail.DeleteMailboxPermissions", GranteeId=NOBODY
    ),
    ("workmail.CreateAlias", "MailDomainStateException"): _with("workmail.CreateAlias", Alias=f"bob@{PENDING_DOMAIN}"),
    ("workmail.DeleteGroup", "EntityStateException"): _args("workmail.DeleteGroup", lambda w: {"GroupId": w.group}),
    ("workmail.DeleteResource", "EntityStateException"): _after("workmail.DeleteResource", "workmail.DeleteResource"),
    ("workmail.DeregisterMailDomain", "MailDomainInUseException"): _with(
        "workmail.DeregisterMailDomain",
        DomainName=DOMAIN,  # the default domain
    ),
    ("workmail.GetMailboxDetails", "EntityNotFoundException"): _args(
        "workmail.GetMailboxDetails",
        lambda w: {"UserId": w.users["newbie"]},  # never registered: no mailbox
    ),
    ("workmail.GetMailDomain", "MailDomainNotFoundException"): _with(
        "workmail.GetMailDomain", DomainName="initech.example"
    ),
    ("workmail.RegisterMailDomain", "LimitExceededException"): _too_many_domains,
    ("workmail.RegisterMailDomain", "MailDomainInUseException"): _with(
        "workmail.RegisterMailDomain", DomainName=DOMAIN
    ),
    ("workmail.RegisterToWorkMail", "MailDomainStateException"): _with(
        "workmail.RegisterToWorkMail", Email=f"newbie@{PENDING_DOMAIN}"
    ),
    ("workmail.UpdateDefaultMailDomain", "MailDomainNotFoundException"): _with(
        "workmail.UpdateDefaultMailDomain", DomainName="initech.example"
    ),
    ("workmail.UpdateDefaultMailDomain", "MailDomainStateException"): _with(
        "workmail.UpdateDefaultMailDomain", DomainName=PENDING_DOMAIN
    ),
    ("workmail.UpdateResource", "EntityNotFoundException"): _with("workmail.UpdateResource", ResourceId=NOBODY),
    ("workmail.UpdateResource", "EntityStateException"): _args("workmail.UpdateResource", _deleted_resource),
    ("workmail.UpdateResource", "NameAvailabilityException"): _with("workmail.UpdateResource", Name="sales"),
    ("workmail.DeleteUser", "EntityStateException"): _args(
        "workmail.DeleteUser", lambda w: {"UserId": w.users["gone"]}
    ),
    ("workmail.DeregisterFromWorkMail", "EntityNotFoundException"): _with(
        "workmail.DeregisterFromWorkMail", EntityId=NOBODY
    ),
    ("workmail.DeregisterFromWorkMail", "EntityStateException"): _args(
        "workmail.DeregisterFromWorkMail", lambda w: {"EntityId": w.users["leaver"]}
    ),
    ("workmail.DescribeGroup", "EntityNotFoundException"): _with("workmail.DescribeGroup", GroupId=NOBODY),
    ("workmail.DescribeMailboxExportJob", "EntityNotFoundException"): _with(
        "workmail.DescribeMailboxExportJob", JobId="0" * 32
    ),
    ("workmail.DescribeResource", "EntityNotFoundException"): _with("workmail.DescribeResource", ResourceId=NOBODY),
    ("workmail.DescribeUser", "EntityNotFoundException"): _with("workmail.DescribeUser", UserId=NOBODY),
    ("workmail.DisassociateDelegateFromResource", "EntityNotFoundException"): _args(
        "workmail.DisassociateDelegateFromResource",
        lambda w: {"EntityId": w.users["bob"]},  # not a delegate
    ),
    ("workmail.DisassociateMemberFromGroup", "EntityNotFoundException"): _args(
        "workmail.DisassociateMemberFromGroup",
        lambda w: {"MemberId": w.users["bob"]},  # not a member
    ),
    ("workmail.ListAliases", "EntityNotFoundException"): _with("workmail.ListAliases", EntityId=NOBODY),
    ("workmail.ListGroupMembers", "EntityNotFoundException"): _with("workmail.ListGroupMembers", GroupId=NOBODY),
    ("workmail.ListGroupsForEntity", "EntityNotFoundException"): _with("workmail.ListGroupsForEntity", EntityId=NOBODY),
    ("workmail.ListMailboxPermissions", "EntityNotFoundException"): _with(
        "workmail.ListMailboxPermissions", EntityId=NOBODY
    ),
    ("workmail.ListResourceDelegates", "EntityNotFoundException"): _with(
        "workmail.ListResourceDelegates", ResourceId=NOBODY
    ),
    ("workmail.PutMailboxPermissions", "EntityNotFoundException"): _with(
        "workmail.PutMailboxPermissions", GranteeId=NOBODY
    ),
    ("workmail.PutMailboxPermissions", "EntityStateException"): _args(
        "workmail.PutMailboxPermissions", lambda w: {"GranteeId": w.users["gone"]}
    ),
    ("workmail.RegisterToWorkMail", "EmailAddressInUseException"): _with(
        "workmail.RegisterToWorkMail",
        Email=f"alice.smith@{DOMAIN}",  # alice's alias
    ),
    ("workmail.RegisterToWorkMail", "EntityAlreadyRegisteredException"): _args(
        "workmail.RegisterToWorkMail", lambda w: {"EntityId": w.users["alice"], "Email": f"alice@{DOMAIN}"}
    ),
    ("workmail.RegisterToWorkMail", "EntityNotFoundException"): _with("workmail.RegisterToWorkMail", EntityId=NOBODY),
    ("workmail.RegisterToWorkMail", "EntityStateException"): _args(
        "workmail.RegisterToWorkMail", lambda w: {"EntityId": w.users["gone"], "Email": f"gone2@{DOMAIN}"}
    ),
    ("workmail.RegisterToWorkMail", "MailDomainNotFoundException"): _with(
        "workmail.RegisterToWorkMail", Email="newbie@elsewhere.org"
    ),
    ("workmail.StartMailboxExportJob", "EntityNotFoundException"): _args(
        "workmail.StartMailboxExportJob",
        lambda w: {"EntityId": w.users["gone"]},  # deleted: nothing to export
    ),
    ("workmail.StartMailboxExportJob", "LimitExceededException"): _args(
        "workmail.StartMailboxExportJob",
        lambda w: {"EntityId": w.users["bob"], "ClientToken": "again"},  # < 24 h
    ),
    ("partnercentral-account.GetConnectionPreferences", "AccessDeniedException"): _denied(
        "partnercentral-account.GetConnectionPreferences"
    ),
    ("partnercentral-account.UpdateConnectionPreferences", "AccessDeniedException"): _denied(
        "partnercentral-account.UpdateConnectionPreferences"
    ),
    ("partnercentral-account.UpdateConnectionPreferences", "ConflictException"): _with(
        "partnercentral-account.UpdateConnectionPreferences", Revision=99
    ),
    ("lambda.Invoke", "ResourceNotFoundException"): _with("lambda.Invoke", FunctionName="mailwarden-unknown"),
    ("lambda.Invoke", "RequestTooLargeException"): _with(
        "lambda.Invoke", Payload=json.dumps({"blob": "x" * (6 * 1024 * 1024)}).encode()
    ),
    ("lambda.Invoke", "InvalidRequestContentException"): _with("lambda.Invoke", Payload=b"{not json"),
}


def _fault(key: str, kind: str) -> Trigger:
    service, op = key.split(".", 1)

    def trigger(w: World) -> Any:
        w.emu.control.inject(service, op, **{kind: 1.0})
        try:
            return call(w, key)
        finally:
            w.emu.control.clear_faults()

    return trigger


def _malformed_body(key: str) -> Trigger:
    """A request whose body is not JSON (what a client other than botocore could send)."""
    service, op = key.split(".", 1)

    def corrupt(request: Any, **_: Any) -> None:
        request.data = b"{"

    def trigger(w: World) -> Any:
        client = w.client(CLIENTS[service], parameter_validation=False)
        client.meta.events.register(f"before-sign.*.{op}", corrupt)
        return getattr(client, xform_name(op))(**CALLS[key](w))

    return trigger


def invalid_request(w: World, key: str) -> Trigger:
    """A request that breaks the operation's model (checked by the server, not by botocore): an enum
    value it does not list, a string its pattern refuses, a required member left out, a NextToken it
    never issued; or, when none applies, a body that is not JSON."""
    service, op = key.split(".", 1)
    shape = w.client(CLIENTS[service]).meta.service_model.operation_model(op).input_shape
    members = shape.members
    for name, m in members.items():
        if m.type_name == "string" and m.enum:
            return _with(key, **{name: "NOT_A_VALUE"})
    for name, m in members.items():
        pattern = m.metadata.get("pattern")
        bad = "~" * max(1, m.metadata.get("min", 1))
        if m.type_name == "string" and pattern and len(bad) <= m.metadata.get("max", len(bad)):
            if m.serialization.get("location") is None and re.search(pattern, bad) is None:
                return _with(key, **{name: bad})
    for name in shape.required_members:
        if members[name].serialization.get("location") is None:

            def missing(w: World, name: str = name) -> Any:
                kwargs = {k: v for k, v in CALLS[key](w).items() if k != name}
                return getattr(w.client(CLIENTS[service], parameter_validation=False), xform_name(op))(**kwargs)

            return missing
    if "NextToken" in members:
        return _with(key, NextToken="not-a-token-it-issued!")
    return _malformed_body(key)


def _iam_denied(key: str) -> Trigger:
    """The call made by a principal whose role grants nothing (IAM by execution denies it)."""

    def trigger(w: World) -> Any:
        w.emu.access.install([("nobody", f"arn:aws:iam::{ACCOUNT}:role/nobody", [])], {}, {}, {})
        with w.emu.access.acting_as("nobody"):
            return call(w, key)

    return trigger


def generic_trigger(w: World, key: str, code: str, service: Any) -> Trigger | None:
    """The trigger of a code every operation of ``service`` (an EmulatedService) can answer."""
    service_id, op = service.model.service_id.hyphenize(), key.split(".", 1)[1]
    if code in fidelity.iam_denials().get((service_id, op), set()):
        return _iam_denied(key)
    if code == service.throttle_error:
        return _fault(key, "throttle_rate")
    if code == service.internal_error:
        return _fault(key, "error_rate")
    if code == service.validation_error:
        return invalid_request(w, key)
    if code == "OrganizationNotFoundException":
        return _with(key, OrganizationId=UNKNOWN_ORG)
    if code == "OrganizationStateException":
        return _args(key, lambda w: {"OrganizationId": w.retired})
    return None
