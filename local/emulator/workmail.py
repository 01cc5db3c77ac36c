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
  still finds older ones). The archive's size follows the mailbox's: ``ceil(bytes * EXPORT_RATIO)``
  (an empty mailbox: an empty zip, 22 bytes); ``control.empty_next_export`` / ``lose_next_export``
  make the next one write an empty archive / none at all although the job COMPLETES;
* mailbox sizes (``GetMailboxDetails``) are emulated state (``control.set_mailbox_size``); a mailbox
  exists while its user is ENABLED and for 30 days after ``DeregisterFromWorkMail``;
* mail domains: every organization keeps its test domain ``<alias>.awsapps.com`` (the initial
  default); ``RegisterMailDomain`` adds one PENDING until WorkMail's records are in Route 53 (checked
  on use), ``DeregisterMailDomain`` refuses the default domain and a domain an entity still uses;
* groups and resources are deleted like users: DISABLED first (``EntityStateException`` otherwise);
* ``DeleteOrganization`` refuses (``OrganizationStateException``) while a user is ENABLED unless
  ``ForceDelete``; the organization is then ``Deleted``: every call on it but DescribeOrganization /
  ListOrganizations answers ``OrganizationStateException``.
"""

from __future__ import annotations

import base64
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
MAILBOX_RETENTION = timedelta(days=30)  # a deregistered user's mailbox is kept this long (DeregisterFromWorkMail)
MEGABYTE = 1024 * 1024  # GetMailboxDetails' unit ("megabytes"; AWS does not say 10^6 or 2^20: we take 2^20)
DEFAULT_MAILBOX_MB = 0.1  # a fresh mailbox is not empty (control.set_mailbox_size changes it)
DEFAULT_QUOTA_MB = 51_200  # WorkMail's default mailbox quota, 50 GB
EXPORT_RATIO = 0.6  # an export archive's size per mailbox byte (compressed; our figure, not AWS's)
EMPTY_ZIP = b"PK\x05\x06" + b"\0" * 18  # a zip with no entries: its end-of-central-directory record
MAIL_DOMAIN_LIMIT = 100  # Administrator Guide, "Adding a domain": up to 100 domains per organization
SPF = "v=spf1 include:amazonses.com ~all"
# The DMARC value WorkMail suggests; not confirmed from AWS documentation (the Administrator Guide's
# table of records could not be read here): a policy of quarantine is what its console proposes.
DMARC = "v=DMARC1;p=quarantine;pct=100;fo=1"


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
    mailbox_mb: float = DEFAULT_MAILBOX_MB
    quota_mb: int = DEFAULT_QUOTA_MB
    booking: dict[str, bool] = field(default_factory=dict)  # resources: DescribeResource BookingOptions
    description: str | None = None
    hidden: bool = False


# A new resource's booking options: accept, decline conflicts, allow recurring (our reading of the console's
# defaults; not confirmed from the documentation).
DEFAULT_BOOKING = {
    "AutoAcceptRequests": True,
    "AutoDeclineRecurringRequests": False,
    "AutoDeclineConflictingRequests": True,
}


@dataclass
class MailDomain:
    name: str  # lower case
    token: str  # the _amazonses TXT verification token
    dkim_tokens: tuple[str, ...]  # the three Easy DKIM tokens
    test: bool = False  # <alias>.awsapps.com, managed by WorkMail itself
    ownership: str = "PENDING"  # OwnershipVerificationStatus
    dkim: str = "PENDING"  # DkimVerificationStatus
    client_token: str | None = None  # RegisterMailDomain's


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
    sabotage: str | None = None  # "empty" | "lost": completes with an empty archive / none (control)


@dataclass
class Organization:
    org_id: str
    alias: str
    domain: str  # the default mail domain
    created: datetime
    state: str = "Active"
    domains: dict[str, MailDomain] = field(default_factory=dict)  # lower-case name -> domain
    deleted_by: str | None = None  # DeleteOrganization's ClientToken
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
        self.sabotaged_exports: dict[str, str] = {}  # org id -> "empty" | "lost" (the next export)
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
            raise ApiError("OrganizationStateException", f"Organization {org_id} is not Active, state: {org.state}")
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
        d = org.domains.get(email.split("@", 1)[1].lower())
        if d is None:
            raise ApiError("MailDomainNotFoundException", f"Mail domain of {email} is not in {org.org_id}.")
        self.verify(d)
        if d.ownership != "VERIFIED":
            raise ApiError("MailDomainStateException", f"Mail domain {d.name} is not verified yet.")

    # ------------------------------------------------------------------ organizations

    def add_organization(self, alias: str, domain: str | None = None) -> str:
        """An active organization with its test domain and, if given, ``domain`` verified and default
        (as an administrator leaves it once its records are published)."""
        org_id = self._id("m-", alias)
        test = f"{alias}.awsapps.com".lower()
        org = Organization(org_id, alias, domain or test, self.clock.now())
        org.domains[test] = self.new_domain(org_id, test, test=True)
        if domain and domain.lower() != test:
            org.domains[domain.lower()] = self.new_domain(org_id, domain, verified=True)
        self.orgs[org_id] = org
        return org_id

    @operation("CreateOrganization")
    def create_organization(self, p: dict[str, Any]) -> dict[str, Any]:
        if any(o.alias == p["Alias"] for o in self.orgs.values()):
            raise ApiError("NameAvailabilityException", f"Alias {p['Alias']} is taken.")
        domains = p.get("Domains") or []
        domain = domains[0]["DomainName"] if domains else None
        org_id = self.add_organization(p["Alias"], domain)
        for d in domains[1:]:  # verified at once (the emulator does not act on their HostedZoneId)
            name = d["DomainName"].lower()
            self.orgs[org_id].domains.setdefault(name, self.new_domain(org_id, name, verified=True))
        return {"OrganizationId": org_id}

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

    @operation("DeleteOrganization")
    def delete_organization(self, p: dict[str, Any]) -> dict[str, Any]:
        """Refused while a user is ENABLED unless ``ForceDelete`` (its documentation: "Deletes a WorkMail
        organization even if the organization has enabled users"). Which error AWS answers then is not
        documented: the model lists only InvalidParameter, OrganizationNotFound and OrganizationState;
        we answer OrganizationStateException (the organization is not in a state to be deleted).
        Afterwards the organization is ``Deleted`` at once (AWS may show ``Deleting`` for a while) and
        every other call on it answers OrganizationStateException ("... is not Active, state: Deleted",
        as quoted in terraform-provider-aws#47893). A retry with the same ClientToken succeeds again."""
        org_id = p["OrganizationId"]
        if org_id not in self.orgs:
            raise ApiError("OrganizationNotFoundException", f"Organization {org_id} not found.")
        o = self.orgs[org_id]
        token = p.get("ClientToken")
        if o.state == "Deleted" and token and token == o.deleted_by:
            return {"OrganizationId": o.org_id, "State": o.state}
        if o.state != "Active":
            raise ApiError("OrganizationStateException", f"Organization {org_id} is not Active, state: {o.state}")
        enabled = sorted(m.name for m in o.members.values() if m.kind == "USER" and m.state == "ENABLED")
        if enabled and not p.get("ForceDelete"):
            raise ApiError(
                "OrganizationStateException",
                f"Organization {org_id} has {len(enabled)} enabled user(s) ({', '.join(enabled[:5])}); "
                "deregister them or set ForceDelete.",
            )
        o.state, o.deleted_by = "Deleted", token
        return {"OrganizationId": o.org_id, "State": o.state}

    # ------------------------------------------------------------------ mail domains

    def new_domain(self, org_id: str, name: str, *, test: bool = False, verified: bool = False) -> MailDomain:
        seed = hashlib.sha256(f"{org_id}/{name.lower()}".encode()).digest()
        dkim = tuple(hashlib.sha1(seed + bytes([i])).hexdigest()[:32] for i in range(3))
        status = "VERIFIED" if verified or test else "PENDING"
        return MailDomain(name.lower(), base64.b64encode(seed).decode(), dkim, test, status, status)

    def records(self, d: MailDomain) -> list[dict[str, str]]:
        """What GetMailDomain lists for WorkMail's DNS (Administrator Guide "Adding a domain"): the
        SES verification TXT, the inbound MX, the autodiscover CNAME, three Easy DKIM CNAMEs, SPF and
        DMARC. Hostnames without a trailing dot and TXT values unquoted (the DnsRecord shape's example
        has neither; not confirmed against a real response). The test domain needs none: WorkMail
        publishes it itself (not confirmed either: AWS may list its records too)."""
        if d.test:
            return []
        region, n = self.emulator.region, d.name
        return [
            {"Type": "TXT", "Hostname": f"_amazonses.{n}", "Value": d.token},
            {"Type": "MX", "Hostname": n, "Value": f"10 inbound-smtp.{region}.amazonaws.com"},
            {"Type": "CNAME", "Hostname": f"autodiscover.{n}", "Value": f"autodiscover.mail.{region}.awsapps.com"},
            *(
                {"Type": "CNAME", "Hostname": f"{t}._domainkey.{n}", "Value": f"{t}.dkim.amazonses.com"}
                for t in d.dkim_tokens
            ),
            {"Type": "TXT", "Hostname": n, "Value": SPF},
            {"Type": "TXT", "Hostname": f"_dmarc.{n}", "Value": DMARC},
        ]

    def verify(self, d: MailDomain) -> None:
        """SES's check of a PENDING domain against Route 53's public zones, now: ownership once the
        ``_amazonses`` TXT holds the token, DKIM once the three CNAMEs are there. (AWS retries for 72
        hours and then says FAILED; the emulator keeps it PENDING.)"""
        dns = self.emulator.control.dns
        if d.ownership == "PENDING":
            texts = [v.replace('" "', "").strip('"') for v in dns.records(f"_amazonses.{d.name}").get("TXT", [])]
            d.ownership = "VERIFIED" if d.token in texts else d.ownership
        if d.dkim == "PENDING":
            want = [f"{t}.dkim.amazonses.com." for t in d.dkim_tokens]
            got = [
                [v.rstrip(".").lower() + "." for v in dns.records(f"{t}._domainkey.{d.name}").get("CNAME", [])]
                for t in d.dkim_tokens
            ]
            d.dkim = "VERIFIED" if got == [[w] for w in want] else d.dkim

    def mail_domain(self, org: Organization, name: str) -> MailDomain:
        d = org.domains.get(name.lower())
        if d is None:
            raise ApiError("MailDomainNotFoundException", f"Mail domain {name} is not registered in {org.org_id}.")
        return d

    def domain_user(self, org: Organization, name: str) -> Member | None:
        """A live entity whose email address or an alias is in the domain ``name``."""
        suffix = "@" + name.lower()
        for m in org.members.values():
            addresses = [m.email or "", *org.aliases.get(m.id, [])]
            if m.state != "DELETED" and any(a.lower().endswith(suffix) for a in addresses):
                return m
        return None

    @operation("RegisterMailDomain")
    def register_mail_domain(self, p: dict[str, Any]) -> dict[str, Any]:
        """PENDING until its records are published (``verify``). A retry with the same ClientToken is
        a success; the domain in this or another active organization of the account otherwise answers
        MailDomainInUseException."""
        org = self.org(p["OrganizationId"])
        name, token = p["DomainName"].lower(), p.get("ClientToken")
        mine = org.domains.get(name)
        if mine is not None and token and mine.client_token == token:
            return {}
        if any(name in o.domains for o in self.orgs.values() if o.state == "Active"):
            raise ApiError("MailDomainInUseException", f"Mail domain {name} is already registered.")
        if sum(not d.test for d in org.domains.values()) >= MAIL_DOMAIN_LIMIT:
            raise ApiError("LimitExceededException", f"At most {MAIL_DOMAIN_LIMIT} mail domains per organization.")
        org.domains[name] = self.new_domain(org.org_id, name)
        org.domains[name].client_token = token
        return {}

    @operation("ListMailDomains")
    def list_mail_domains(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        rows = [{"DomainName": d.name, "DefaultDomain": d.name == org.domain.lower()} for d in org.domains.values()]
        page, token = self.page(rows, p, size_key="MaxResults", default=100, maximum=100)
        return {"MailDomains": page, "NextToken": token}

    @operation("GetMailDomain")
    def get_mail_domain(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        d = self.mail_domain(org, p["DomainName"])
        self.verify(d)
        return {
            "Records": self.records(d),
            "IsTestDomain": d.test,
            "IsDefault": d.name == org.domain.lower(),
            "OwnershipVerificationStatus": d.ownership,
            "DkimVerificationStatus": d.dkim,
        }

    @operation("UpdateDefaultMailDomain")
    def update_default_mail_domain(self, p: dict[str, Any]) -> dict[str, Any]:
        org = self.org(p["OrganizationId"])
        d = self.mail_domain(org, p["DomainName"])
        self.verify(d)
        if d.ownership != "VERIFIED":
            raise ApiError("MailDomainStateException", f"Mail domain {d.name} is not verified yet.")
        org.domain = d.name
        return {}

    @operation("DeregisterMailDomain")
    def deregister_mail_domain(self, p: dict[str, Any]) -> dict[str, Any]:
        """Refused (MailDomainInUseException) for the default domain and for a domain a live entity's
        email or alias uses ("You must first remove any email address used by WorkMail entities").
        The model lists no MailDomainNotFoundException: a domain not registered (any more) is a
        success, as for a retried call. The test domain cannot be removed: InvalidParameterException
        (what AWS answers is not documented)."""
        org = self.org(p["OrganizationId"])
        d = org.domains.get(p["DomainName"].lower())
        if d is None:
            return {}
        if d.test:
            raise self.invalid(f"{d.name} is the organization's test domain; it cannot be deregistered.")
        if d.name == org.domain.lower():
            raise ApiError("MailDomainInUseException", f"{d.name} is the default mail domain of {org.org_id}.")
        user = self.domain_user(org, d.name)
        if user is not None:
            raise ApiError("MailDomainInUseException", f"{d.name} is used by {user.kind.lower()} {user.name}.")
        del org.domains[d.name]
        return {}

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
        m = self._create(p, "RESOURCE", resource_type=p["Type"], booking=dict(DEFAULT_BOOKING))
        m.description, m.hidden = p.get("Description"), bool(p.get("HiddenFromGlobalAddressList"))
        return {"ResourceId": m.id}

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
            "BookingOptions": dict(m.booking),
            "State": m.state,
            "EnabledDate": m.enabled,
            "DisabledDate": m.disabled,
            "Description": m.description,
            "HiddenFromGlobalAddressList": m.hidden,
        }

    @operation("UpdateResource")
    def update_resource(self, p: dict[str, Any]) -> dict[str, Any]:
        """Booking options (merged: the members given change), type, description, visibility, name."""
        org = self.org(p["OrganizationId"])
        m = self.live(self.member(org, p["ResourceId"], "RESOURCE"))
        name = p.get("Name")
        if name and name != m.name and any(x.name == name and x.state != "DELETED" for x in org.members.values()):
            raise ApiError("NameAvailabilityException", f"Name {name} is already in use.")
        m.name = name or m.name
        m.booking.update(p.get("BookingOptions") or {})
        m.resource_type = p.get("Type", m.resource_type)
        m.description = p.get("Description", m.description)
        m.hidden = p.get("HiddenFromGlobalAddressList", m.hidden)
        return {}

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
        self.delete_entity(p, "USER", p["UserId"])
        return {}

    @operation("DeleteGroup")
    def delete_group(self, p: dict[str, Any]) -> dict[str, Any]:
        """As DeleteUser: the group id or name; DISABLED first (an ENABLED group answers
        EntityStateException: Terraform's aws_workmail_group deregisters it before DeleteGroup and
        retries on that error); unknown -> InvalidParameterException (no EntityNotFound modelled)."""
        self.delete_entity(p, "GROUP", p["GroupId"])
        return {}

    @operation("DeleteResource")
    def delete_resource(self, p: dict[str, Any]) -> dict[str, Any]:
        """As DeleteGroup (the API reference does not say a resource must be DISABLED first; we
        require it as for users and groups, which is what DeregisterFromWorkMail-then-delete does)."""
        self.delete_entity(p, "RESOURCE", p["ResourceId"])
        return {}

    def delete_entity(self, p: dict[str, Any], kind: str, ident: str) -> None:
        org = self.org(p["OrganizationId"])
        m = org.members.get(ident) or self.named(org, ident)
        if m is None or m.kind != kind:
            raise self.invalid(f"{ident} is not a {kind.lower()} of {org.org_id}.")
        if m.state == "DELETED":
            raise ApiError("EntityStateException", f"{kind.title()} {m.id} is already deleted.")
        if m.state != "DISABLED":
            raise ApiError(
                "EntityStateException", f"{kind.title()} {m.id} must be DISABLED (deregistered) before deletion."
            )
        m.state = "DELETED"
        for members in org.groups.values():
            members.discard(m.id)
        for delegates in org.delegates.values():
            delegates.discard(m.id)
        org.groups.get(m.id, set()).clear()
        org.delegates.get(m.id, set()).clear()
        org.aliases.pop(m.id, None)
        org.permissions.pop(m.id, None)
        for grants in org.permissions.values():
            grants.pop(m.id, None)

    # ------------------------------------------------------------------ mailboxes

    def has_mailbox(self, m: Member) -> bool:
        """ENABLED, or deregistered less than 30 days ago (WorkMail keeps the mailbox that long)."""
        if m.state == "ENABLED":
            return True
        return m.state == "DISABLED" and m.disabled is not None and self.clock.now() - m.disabled < MAILBOX_RETENTION

    @operation("GetMailboxDetails")
    def mailbox_details(self, p: dict[str, Any]) -> dict[str, Any]:
        """A user never registered, deleted, or deregistered over 30 days ago has no mailbox: the model
        lists EntityNotFoundException (no EntityStateException) for it."""
        org = self.org(p["OrganizationId"])
        m = self.member(org, p["UserId"], "USER")
        if not self.has_mailbox(m):
            raise ApiError("EntityNotFoundException", f"User {m.id} has no mailbox.")
        return {"MailboxQuota": m.quota_mb, "MailboxSize": m.mailbox_mb}

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
        job.sabotage = self.sabotaged_exports.pop(org.org_id, None)
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
