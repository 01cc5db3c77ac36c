"""Emulated SESv2: tenants, reputation entities, recommendations (findings), identities and MAIL FROM.

Semantics (seeds 000/001, shared/reference/FACTS.md):

* every tenant is a reputation entity of type ``RESOURCE`` whose reference is the tenant ARN;
* an entity has a customer-managed and an SES-managed status record; the aggregate is DISABLED
  when either is DISABLED, REINSTATED when the customer status is REINSTATED (and SES's is not
  DISABLED), else ENABLED; updating the customer status never touches the SES-managed one;
* the entity's managed policy decides what SES does on a finding: ``none`` records only,
  ``standard`` pauses on HIGH impact, ``strict`` pauses on any finding (see ``Control``);
* the two updates answer only the errors their models list: BadRequestException for an unknown
  entity, ConflictException while another writer's update of the entity is still being applied;
* a new identity is unverified: a domain turns SUCCESS once Route 53 holds its DKIM records, an email
  address once its owner follows the link; a MAIL FROM domain starts PENDING and turns SUCCESS once
  its identity is verified and Route 53 holds the MX and SPF records, FAILED after 72 hours without
  (``dns_checks``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .core import EmulatedService, operation
from .protocol import ApiError

POLICIES = ("none", "standard", "strict")


@dataclass
class StatusRecord:
    status: str
    cause: str | None
    updated: datetime

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Status": self.status, "LastUpdatedTimestamp": self.updated}
        if self.cause:
            out["Cause"] = self.cause
        return out


@dataclass
class Entity:
    reference: str
    policy: str
    customer: StatusRecord
    ses: StatusRecord
    busy_until: datetime | None = None  # another writer's update SES is still applying (ConflictException)

    @property
    def aggregate(self) -> str:
        if "DISABLED" in (self.customer.status, self.ses.status):
            return "DISABLED"
        if self.customer.status == "REINSTATED":
            return "REINSTATED"
        return "ENABLED"


@dataclass
class Tenant:
    name: str
    tenant_id: str
    arn: str
    created: datetime
    tags: list[dict[str, str]]
    resources: dict[str, str] = field(default_factory=dict)  # arn -> resource type


@dataclass
class Finding:
    resource_arn: str
    type: str
    impact: str
    description: str
    status: str
    created: datetime
    updated: datetime

    def wire(self) -> dict[str, Any]:
        return {
            "ResourceArn": self.resource_arn,
            "Type": self.type,
            "Description": self.description,
            "Status": self.status,
            "Impact": self.impact,
            "CreatedTimestamp": self.created,
            "LastUpdatedTimestamp": self.updated,
        }


@dataclass
class Identity:
    """An email identity; ``verification`` is its VerificationStatus (``dns_checks`` moves it)."""

    name: str
    kind: str  # EMAIL_ADDRESS | DOMAIN
    created: datetime
    tags: list[dict[str, str]]
    tokens: list[str] = field(default_factory=list)  # Easy DKIM tokens, or the BYODKIM selector
    dkim_origin: str = "AWS_SES"  # AWS_SES (Easy DKIM) | EXTERNAL (BYODKIM)
    key_length: str = "RSA_2048_BIT"
    configuration_set: str | None = None
    verification: str = "PENDING"
    verification_since: datetime = field(default=datetime.min)  # start of the PENDING / TEMPORARY_FAILURE window
    last_checked: datetime | None = None
    last_success: datetime | None = None
    error: str | None = None  # VerificationInfo.ErrorType while not verified
    confirmed: bool = False  # an email address: its owner followed the verification link
    mail_from_domain: str | None = None
    mail_from_status: str | None = None
    behavior_on_mx_failure: str = "USE_DEFAULT_VALUE"
    mail_from_set_at: datetime | None = None

    @property
    def domain(self) -> str:
        return self.name.split("@", 1)[1] if self.kind == "EMAIL_ADDRESS" else self.name

    @property
    def verified(self) -> bool:
        return self.verification == "SUCCESS"

    def dkim(self) -> dict[str, Any]:
        """``DkimAttributes``: an email address is not DKIM-signed on its own (NOT_STARTED)."""
        if self.kind == "EMAIL_ADDRESS":
            return {"SigningEnabled": False, "Status": "NOT_STARTED", "Tokens": []}
        out: dict[str, Any] = {
            "SigningEnabled": True,
            "Status": self.verification,
            "Tokens": list(self.tokens),
            "SigningAttributesOrigin": self.dkim_origin,
        }
        if self.dkim_origin == "AWS_SES":
            out |= {
                "CurrentSigningKeyLength": self.key_length,
                "NextSigningKeyLength": self.key_length,
                "LastKeyGenerationTimestamp": self.created,
            }
        return out


class SesV2(EmulatedService):
    service_name = "sesv2"
    validation_error = "BadRequestException"
    throttle_error = "TooManyRequestsException"
    internal_error = "InternalFailure"
    token_error = "BadRequestException"

    def __init__(self, emulator: Any) -> None:
        super().__init__(emulator)
        self.tenants: dict[str, Tenant] = {}
        self._by_arn: dict[str, Tenant] = {}  # the same tenants by ARN (tag lookups are per ARN)
        self.entities: dict[str, Entity] = {}
        self.findings: list[Finding] = []
        self.identities: dict[str, Identity] = {}
        self._sorted_refs: list[str] | None = None  # ListReputationEntities order, rebuilt on change

    # ------------------------------------------------------------------ helpers

    @property
    def region(self) -> str:
        return str(self.emulator.region)

    def policy_arn(self, tier: str) -> str:
        return f"arn:aws:ses:{self.region}:aws:reputation-policy/{tier}"

    def tier_of(self, policy_arn: str) -> str:
        return policy_arn.rsplit("/", 1)[-1]

    def entity(self, entity_type: str, reference: str) -> Entity:
        if entity_type != "RESOURCE" or reference not in self.entities:
            raise ApiError("NotFoundException", f"Reputation entity {reference} does not exist.", status=404)
        return self.entities[reference]

    def writable(self, p: dict[str, Any]) -> Entity:
        """The entity an Update* call names. Neither update models NotFoundException (only
        TooManyRequests, BadRequest, Conflict): what AWS answers for an unknown entity is not
        documented, so we follow the model and answer BadRequestException."""
        reference = p["ReputationEntityReference"]
        if p["ReputationEntityType"] != "RESOURCE" or reference not in self.entities:
            raise self.invalid(f"Reputation entity {reference} does not exist.")
        return self.entities[reference]

    def not_busy(self, e: Entity) -> None:
        """ConflictException while another update of the same entity is still being applied. The
        model lists ConflictException for both updates without saying when; this is the meaning of an
        AWS 409 (the request conflicts with an operation in progress on the resource), triggered by
        ``control.update_in_progress``."""
        if e.busy_until is not None and self.clock.now() < e.busy_until:
            raise ApiError(
                "ConflictException",
                f"Another update of reputation entity {e.reference} is in progress; try again later.",
                status=409,
            )

    def tenant(self, name: str) -> Tenant:
        if name not in self.tenants:
            raise ApiError("NotFoundException", f"Tenant {name} does not exist.", status=404)
        return self.tenants[name]

    def open_finding(self, reference: str, finding_type: str) -> Finding | None:
        return next(
            (f for f in self.findings if f.resource_arn == reference and f.type == finding_type and f.status == "OPEN"),
            None,
        )

    def impact_of(self, reference: str) -> str | None:
        return self.open_impacts().get(reference)

    def open_impacts(self) -> dict[str, str]:
        """Highest OPEN impact per resource (recomputed per call: findings change under tests)."""
        out: dict[str, str] = {}
        for f in self.findings:
            if f.status == "OPEN" and out.get(f.resource_arn) != "HIGH":
                out[f.resource_arn] = f.impact
        return out

    def sorted_refs(self) -> list[str]:
        if self._sorted_refs is None or len(self._sorted_refs) != len(self.entities):
            self._sorted_refs = sorted(self.entities)
        return self._sorted_refs

    def add_tenant(self, name: str, tags: list[dict[str, str]] | None = None) -> Tenant:
        now = self.clock.now()
        tid = "tn-" + hashlib.sha1(f"{name}{now.timestamp()}".encode()).hexdigest()[:10]
        arn = f"arn:aws:ses:{self.region}:{self.emulator.account}:tenant/{name}/{tid}"
        tenant = Tenant(name, tid, arn, now, list(tags or []))
        self.tenants[name] = tenant
        self._by_arn[arn] = tenant
        self.entities[arn] = Entity(
            arn, self.policy_arn("standard"), StatusRecord("ENABLED", None, now), StatusRecord("ENABLED", None, now)
        )
        self._sorted_refs = None
        return tenant

    def page_size_within(self, p: dict[str, Any], low: int, high: int) -> None:
        """The bounds an operation's documentation gives its PageSize where the model has none."""
        size = p.get("PageSize")
        if size is not None and not low <= size <= high:
            raise self.invalid(f"PageSize must be between {low} and {high}, got {size}.")

    def entity_wire(self, e: Entity, impacts: dict[str, str] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ReputationEntityReference": e.reference,
            "ReputationEntityType": "RESOURCE",
            "ReputationManagementPolicy": e.policy,
            "CustomerManagedStatus": e.customer.wire(),
            "AwsSesManagedStatus": e.ses.wire(),
            "SendingStatusAggregate": e.aggregate,
        }
        impact = (impacts if impacts is not None else self.open_impacts()).get(e.reference)
        if impact:
            out["ReputationImpact"] = impact
        return out

    def resource_arn_known(self, arn: str) -> bool:
        if ":identity/" in arn:
            return arn.rsplit("/", 1)[-1] in self.identities
        return ":configuration-set/" in arn or ":template/" in arn

    # ------------------------------------------------------------------ tenants

    @operation("CreateTenant")
    def create_tenant(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p["TenantName"]
        if name in self.tenants:
            raise ApiError("AlreadyExistsException", f"Tenant {name} already exists.")
        t = self.add_tenant(name, p.get("Tags", []))
        return {
            "TenantName": name,
            "TenantId": t.tenant_id,
            "TenantArn": t.arn,
            "CreatedTimestamp": t.created,
            "Tags": p.get("Tags", []),
            "SendingStatus": "ENABLED",
        }

    @operation("GetTenant")
    def get_tenant(self, p: dict[str, Any]) -> dict[str, Any]:
        t = self.tenant(p["TenantName"])
        return {
            "Tenant": {
                "TenantName": t.name,
                "TenantId": t.tenant_id,
                "TenantArn": t.arn,
                "CreatedTimestamp": t.created,
                "Tags": t.tags,
                "SendingStatus": self.entities[t.arn].aggregate,
            }
        }

    @operation("ListTenants")
    def list_tenants(self, p: dict[str, Any]) -> dict[str, Any]:
        rows = [
            {"TenantName": t.name, "TenantId": t.tenant_id, "TenantArn": t.arn, "CreatedTimestamp": t.created}
            for t in sorted(self.tenants.values(), key=lambda t: t.name)
        ]
        page, token = self.page(rows, p, size_key="PageSize", default=100, maximum=1000)
        return {"Tenants": page, "NextToken": token}

    @operation("DeleteTenant")
    def delete_tenant(self, p: dict[str, Any]) -> dict[str, Any]:
        t = self.tenant(p["TenantName"])
        del self.tenants[t.name]
        self._by_arn.pop(t.arn, None)
        self.entities.pop(t.arn, None)
        self._sorted_refs = None
        return {}

    @operation("CreateTenantResourceAssociation")
    def associate(self, p: dict[str, Any]) -> dict[str, Any]:
        t = self.tenant(p["TenantName"])
        arn = p["ResourceArn"]
        if not self.resource_arn_known(arn):
            raise ApiError("NotFoundException", f"Resource {arn} does not exist.", status=404)
        if arn in t.resources:
            raise ApiError("AlreadyExistsException", f"{arn} is already associated with {t.name}.")
        kind = (
            "EMAIL_IDENTITY"
            if ":identity/" in arn
            else ("CONFIGURATION_SET" if ":configuration-set/" in arn else "EMAIL_TEMPLATE")
        )
        t.resources[arn] = kind
        return {}

    @operation("DeleteTenantResourceAssociation")
    def disassociate(self, p: dict[str, Any]) -> dict[str, Any]:
        t = self.tenant(p["TenantName"])
        if t.resources.pop(p["ResourceArn"], None) is None:
            raise ApiError("NotFoundException", f"{p['ResourceArn']} is not associated with {t.name}.", status=404)
        return {}

    @operation("ListTenantResources")
    def list_tenant_resources(self, p: dict[str, Any]) -> dict[str, Any]:
        t = self.tenant(p["TenantName"])
        wanted = (p.get("Filter") or {}).get("RESOURCE_TYPE")
        rows = [
            {"ResourceType": kind, "ResourceArn": arn}
            for arn, kind in sorted(t.resources.items())
            if wanted is None or kind == wanted
        ]
        page, token = self.page(rows, p, size_key="PageSize", default=100, maximum=100)
        return {"TenantResources": page, "NextToken": token}

    @operation("ListResourceTenants")
    def list_resource_tenants(self, p: dict[str, Any]) -> dict[str, Any]:
        arn = p["ResourceArn"]
        rows = [
            {"TenantName": t.name, "TenantId": t.tenant_id, "ResourceArn": arn, "AssociatedTimestamp": t.created}
            for t in sorted(self.tenants.values(), key=lambda t: t.name)
            if arn in t.resources
        ]
        page, token = self.page(rows, p, size_key="PageSize", default=100, maximum=100)
        return {"ResourceTenants": page, "NextToken": token}

    # ------------------------------------------------------------------ reputation entities

    @operation("GetReputationEntity")
    def get_reputation_entity(self, p: dict[str, Any]) -> dict[str, Any]:
        e = self.entity(p["ReputationEntityType"], p["ReputationEntityReference"])
        return {"ReputationEntity": self.entity_wire(e)}

    @operation("ListReputationEntities")
    def list_reputation_entities(self, p: dict[str, Any]) -> dict[str, Any]:
        flt = p.get("Filter") or {}
        if "ENTITY_TYPE" in flt and flt["ENTITY_TYPE"] != "RESOURCE":
            raise self.invalid(f"Unsupported ENTITY_TYPE {flt['ENTITY_TYPE']}.")
        impacts = self.open_impacts()
        refs = [
            ref
            for ref in self.sorted_refs()
            if ref.startswith(flt.get("ENTITY_REFERENCE_PREFIX", ""))
            and ("SENDING_STATUS" not in flt or self.entities[ref].aggregate == flt["SENDING_STATUS"])
            and ("REPUTATION_IMPACT" not in flt or impacts.get(ref) == flt["REPUTATION_IMPACT"])
        ]
        page, token = self.page(refs, p, size_key="PageSize", default=100, maximum=100)
        return {"ReputationEntities": [self.entity_wire(self.entities[r], impacts) for r in page], "NextToken": token}

    @operation("UpdateReputationEntityCustomerManagedStatus")
    def update_customer_status(self, p: dict[str, Any]) -> dict[str, Any]:
        e = self.writable(p)
        self.not_busy(e)
        e.customer = StatusRecord(p["SendingStatus"], "Status manually updated.", self.clock.now())
        return {}

    @operation("UpdateReputationEntityPolicy")
    def update_policy(self, p: dict[str, Any]) -> dict[str, Any]:
        e = self.writable(p)
        policy = p["ReputationEntityPolicy"]
        if policy not in {self.policy_arn(t) for t in POLICIES}:
            raise self.invalid(f"{policy} is not a reputation policy ARN.")
        self.not_busy(e)
        e.policy = policy
        return {}

    # ------------------------------------------------------------------ tags (tenants, identities)

    def _tags_of(self, arn: str) -> list[dict[str, str]]:
        if arn in self._by_arn:
            return self._by_arn[arn].tags
        if ":identity/" in arn and arn.rsplit("/", 1)[-1] in self.identities:
            return self.identities[arn.rsplit("/", 1)[-1]].tags
        raise ApiError("NotFoundException", f"Resource {arn} does not exist.", status=404)

    @operation("ListTagsForResource")
    def list_tags(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"Tags": list(self._tags_of(p["ResourceArn"]))}

    @operation("TagResource")
    def tag(self, p: dict[str, Any]) -> dict[str, Any]:
        tags = self._tags_of(p["ResourceArn"])
        new = {t["Key"]: t["Value"] for t in p["Tags"]}
        tags[:] = [t for t in tags if t["Key"] not in new] + [{"Key": k, "Value": v} for k, v in new.items()]
        return {}

    @operation("UntagResource")
    def untag(self, p: dict[str, Any]) -> dict[str, Any]:
        tags = self._tags_of(p["ResourceArn"])
        tags[:] = [t for t in tags if t["Key"] not in set(p["TagKeys"])]
        return {}

    # ------------------------------------------------------------------ recommendations

    @operation("ListRecommendations")
    def list_recommendations(self, p: dict[str, Any]) -> dict[str, Any]:
        flt = p.get("Filter") or {}
        if len(flt) == 2 and set(flt) not in ({"STATUS", "IMPACT"}, {"STATUS", "TYPE"}):
            raise self.invalid("Filter supports at most two keys: STATUS with IMPACT, or STATUS with TYPE.")
        keys = {"TYPE": "type", "IMPACT": "impact", "STATUS": "status", "RESOURCE_ARN": "resource_arn"}
        rows = [f.wire() for f in self.findings if all(getattr(f, keys[k]) == v for k, v in flt.items())]
        self.page_size_within(p, 1, 100)  # documented ("at least 1, and can be no more than 100"), not modelled
        page, token = self.page(rows, p, size_key="PageSize", default=100, maximum=100)
        return {"Recommendations": page, "NextToken": token}

    # ------------------------------------------------------------------ identities and MAIL FROM

    def identity(self, name: str) -> Identity:
        if name not in self.identities:
            raise ApiError("NotFoundException", f"Email identity {name} does not exist.", status=404)
        return self.identities[name]

    @operation("CreateEmailIdentity")
    def create_identity(self, p: dict[str, Any]) -> dict[str, Any]:
        """A new identity is unverified (PENDING). A domain gets three Easy DKIM tokens to publish as
        CNAMEs (or, with DkimSigningAttributes' selector and private key, BYODKIM: a TXT at the
        selector); an email address waits for its owner to follow the link SES mails."""
        name = p["EmailIdentity"]
        if name in self.identities:
            raise ApiError("AlreadyExistsException", f"Email identity {name} already exists.")
        kind = "EMAIL_ADDRESS" if "@" in name else "DOMAIN"
        now = self.clock.now()
        i = Identity(name, kind, now, list(p.get("Tags", [])), verification_since=now)
        i.configuration_set = p.get("ConfigurationSetName")
        signing = p.get("DkimSigningAttributes") or {}
        if kind == "DOMAIN":
            if signing.get("DomainSigningSelector") and signing.get("DomainSigningPrivateKey"):
                i.dkim_origin, i.tokens = "EXTERNAL", [signing["DomainSigningSelector"]]
            else:
                i.key_length = signing.get("NextSigningKeyLength", "RSA_2048_BIT")
                seed = f"{name}{now.timestamp()}"
                i.tokens = [hashlib.sha1(f"{seed}/{n}".encode()).hexdigest()[:32] for n in range(3)]
        elif signing:
            raise self.invalid("DkimSigningAttributes apply to domain identities only.")
        self.identities[name] = i
        return {"IdentityType": kind, "VerifiedForSendingStatus": False, "DkimAttributes": i.dkim()}

    @operation("ListEmailIdentities")
    def list_identities(self, p: dict[str, Any]) -> dict[str, Any]:
        self.page_size_within(p, 0, 1000)  # documented ("at least 0, and can be no more than 1000"), not modelled
        names, token = self.page(sorted(self.identities), p, size_key="PageSize", default=100, maximum=1000)
        rows = []
        for name in names:  # SES's DNS check of the identities on this page only
            i = self.identities[name]
            self.emulator.control.check_identities(name)
            rows.append(
                {
                    "IdentityType": i.kind,
                    "IdentityName": i.name,
                    "SendingEnabled": i.verified,
                    "VerificationStatus": i.verification,
                }
            )
        return {"EmailIdentities": rows, "NextToken": token}

    @operation("DeleteEmailIdentity")
    def delete_identity(self, p: dict[str, Any]) -> dict[str, Any]:
        self.identity(p["EmailIdentity"])
        del self.identities[p["EmailIdentity"]]
        return {}

    @operation("GetEmailIdentity")
    def get_identity(self, p: dict[str, Any]) -> dict[str, Any]:
        i = self.identity(p["EmailIdentity"])
        self.emulator.control.check_mail_from(i.name)  # checks the identity first
        info: dict[str, Any] = {"LastCheckedTimestamp": i.last_checked, "LastSuccessTimestamp": i.last_success}
        if not i.verified and i.error:
            info["ErrorType"] = i.error
        if i.kind == "DOMAIN":
            info["SOARecord"] = self.emulator.control.dns.soa(i.domain)
        out: dict[str, Any] = {
            "IdentityType": i.kind,
            "VerifiedForSendingStatus": i.verified,
            "VerificationStatus": i.verification,
            "VerificationInfo": info,
            "DkimAttributes": i.dkim(),
            "FeedbackForwardingStatus": True,
            "Tags": i.tags,
            "Policies": {},
            "ConfigurationSetName": i.configuration_set,
        }
        if i.mail_from_domain:
            out["MailFromAttributes"] = {
                "MailFromDomain": i.mail_from_domain,
                "MailFromDomainStatus": i.mail_from_status,
                "BehaviorOnMxFailure": i.behavior_on_mx_failure,
            }
        return out

    @operation("PutEmailIdentityMailFromAttributes")
    def put_mail_from(self, p: dict[str, Any]) -> dict[str, Any]:
        i = self.identity(p["EmailIdentity"])
        domain = (p.get("MailFromDomain") or "").rstrip(".").lower()
        behavior = p.get("BehaviorOnMxFailure", "USE_DEFAULT_VALUE")
        if not domain:
            i.mail_from_domain = i.mail_from_status = i.mail_from_set_at = None
            return {}
        if not domain.endswith("." + i.domain.lower()):
            raise self.invalid(f"MAIL FROM domain {domain} must be a subdomain of {i.domain}.")
        if domain != i.mail_from_domain or i.mail_from_status == "FAILED":  # FAILED: setup restarts
            i.mail_from_domain, i.mail_from_status, i.mail_from_set_at = domain, "PENDING", self.clock.now()
        i.behavior_on_mx_failure = behavior
        return {}
