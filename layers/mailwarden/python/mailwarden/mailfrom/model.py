"""MAIL FROM requests, the seed-002 response body, and what Mailwarden tracks per identity."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..contracts.names import OperatorDetailType
from ..errors import MailwardenError, MalformedEvent, parsed

DNS_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"  # the policy's defaultSubdomain

# What the API accepts, documented as such in the OpenAPI document (docs/openapi/mail-from.json) and
# enforced with these very expressions: a domain is two or more DNS labels (letters, digits, inner
# hyphens; any case, an optional trailing dot; 253 characters at most); an email identity is a local
# part of RFC 5322 atoms and dots, '@', and such a domain.
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = rf"(?:{_HOST_LABEL}\.)+{_HOST_LABEL}\.?"
DOMAIN_PATTERN = rf"^{_DOMAIN}$"
# The domain part is 253 characters at most (the lookahead; ECMA-262 and Python read it alike).
IDENTITY_PATTERN = rf"^(?:[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~.-]{{1,64}}@)?(?=.{{1,253}}$){_DOMAIN}$"
_DOMAIN_RE = re.compile(DOMAIN_PATTERN)
_IDENTITY_RE = re.compile(IDENTITY_PATTERN)
IDENTITY_MAX = 64 + 1 + 253  # the longest the pattern admits: a 64-character local part, "@", a 253-character domain
Behavior = Literal["USE_DEFAULT_VALUE", "REJECT_MESSAGE"]  # SES's BehaviorOnMxFailure


class SesStatus(StrEnum):
    """GetEmailIdentity's MailFromDomainStatus."""

    PENDING = "PENDING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    TEMPORARY_FAILURE = "TEMPORARY_FAILURE"


# The seed's status enum is PENDING | SUCCESS | FAILED. SES keeps retrying a TEMPORARY_FAILURE for
# 72 h, so to a caller it is still pending (the exact SES status is in a response header).
SEED_STATUS = {
    SesStatus.PENDING: "PENDING",
    SesStatus.SUCCESS: "SUCCESS",
    SesStatus.FAILED: "FAILED",
    SesStatus.TEMPORARY_FAILURE: "PENDING",
}


class InvalidRequest(MailwardenError):
    """A request whose content is semantically invalid (seed 002's 400): ``causes`` say why."""

    def __init__(self, *causes: str) -> None:
        super().__init__("; ".join(causes))
        self.causes = causes


def domain_of(identity: str) -> str:
    return identity.rsplit("@", 1)[-1].rstrip(".").lower()


def check_domain_name(value: str) -> str:
    """``value`` in lower case without its trailing dot, or ValueError saying why it is no domain."""
    if not isinstance(value, str) or len(value) > 253 or not _DOMAIN_RE.fullmatch(value):
        raise ValueError(
            f"{str(value)[:80]!r} is not a valid domain name (labels of letters, digits and inner hyphens)"
        )
    return value.rstrip(".").lower()


def check_identity(value: str) -> str:
    """An SES identity as the API accepts it: a domain, or an email address at one (ValueError)."""
    if not isinstance(value, str) or not 3 <= len(value) <= IDENTITY_MAX or not _IDENTITY_RE.fullmatch(value):
        raise ValueError(
            f"{str(value)[:80]!r} is not a domain or an email address (local part of letters, digits and "
            "!#$%&'*+/=?^_`{|}~.- , then '@' and a domain)"
        )
    check_domain_name(value.rpartition("@")[2])  # the domain's own length
    return value


class MailFromRequest(BaseModel):
    """``PUT /mail-from-attributes`` body."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    identity: str = Field(
        min_length=3,
        max_length=IDENTITY_MAX,
        description="The identity or domain address",
        json_schema_extra={"pattern": IDENTITY_PATTERN},
    )
    mail_from_domain: str = Field(
        alias="mailFromDomain",
        min_length=3,
        max_length=253,
        description="The new MAIL FROM domain of the identity. Must be a subdomain of the identity.",
        json_schema_extra={"pattern": DOMAIN_PATTERN},
    )
    behavior_on_mx_failure: Behavior | None = Field(
        None,
        alias="behaviorOnMxFailure",
        description="What SES does when it finds no MX record at the MAIL FROM domain: USE_DEFAULT_VALUE (send "
        "from a subdomain of amazonses.com) or REJECT_MESSAGE (refuse to send). Omitted or null: the policy's "
        "mailFrom.behaviorOnMxFailure.",
    )

    _identity = field_validator("identity")(check_identity)

    _domain = field_validator("mail_from_domain")(check_domain_name)

    def check_subdomain(self) -> None:
        parent = domain_of(self.identity)
        if not self.mail_from_domain.endswith("." + parent):
            raise InvalidRequest(
                f"mailFromDomain '{self.mail_from_domain}' must be a subdomain of the identity's domain '{parent}' "
                f"(for example 'mail.{parent}')."
            )


class MailFromAttributes(BaseModel):
    """The 200 body of both operations, exactly seed 002's example."""

    identity: str = Field(description="The email identity")
    mail_from_domain: str = Field(
        alias="mailFromDomain",
        description="The name of a domain that an email identity uses as a custom MAIL FROM domain",
    )
    mx_record: str = Field(
        alias="mxRecord",
        description="MX record that is required in customer's DNS to allow the domain to receive bounce and complaint "
        "notifications that email providers send you",
    )
    txt_record: str = Field(
        alias="txtRecord",
        description="TXT record that is required in customer's DNS in order to prove that Amazon SES is authorized "
        "to send email from your domain",
    )
    mail_from_domain_status: str = Field(
        alias="mailFromDomainStatus",
        description="The current status of the MAIL FROM verification",
        json_schema_extra={"enum": ["PENDING", "SUCCESS", "FAILED"]},
    )


@dataclass(frozen=True)
class IdentityMailFrom:
    """What SES says about an identity's MAIL FROM (domain None: none set)."""

    identity: str
    domain: str | None
    status: SesStatus | None
    behavior: str | None
    verification: str | None = None  # the identity's own VerificationStatus (SES: MAIL FROM needs it verified)


@dataclass(frozen=True)
class Zone:
    id: str
    name: str  # without the trailing dot


@dataclass(frozen=True)
class Publication:
    """Where the records went: ``published`` (changed now: ``change_id`` propagates, the watcher
    follows it to INSYNC), ``unchanged`` (already right) or ``not-published`` (no hosted zone in the
    account owns the domain: publish them yourself)."""

    outcome: str
    zone: Zone | None = None
    change_id: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tracked:
    """One identity whose MAIL FROM Mailwarden set up and watches (the MAIL FROM table's item)."""

    identity: str
    domain: str
    status: str
    attempts: int = 1
    published: bool = False
    zone_id: str | None = None
    change_id: str | None = None  # a Route 53 change not yet seen INSYNC
    next_check_at: datetime | None = None  # None: no longer watched
    updated_at: datetime | None = None
    requested_by: str = "-"
    behavior: str | None = None  # the BehaviorOnMxFailure the request asked for (None: the policy's)

    def but(self, **changes: Any) -> Tracked:
        return replace(self, **changes)


@dataclass(frozen=True)
class SetupResult:
    attributes: MailFromAttributes
    ses_status: SesStatus
    publication: Publication
    ses_written: bool


class IdentityCreated(BaseModel):
    """``Email Identity Created`` detail: set up ``mailFromDomain`` (or the policy's default subdomain)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    identity: str = Field(min_length=3, max_length=IDENTITY_MAX)
    mail_from_domain: str | None = Field(None, alias="mailFromDomain")
    requested_by: str = Field("-", alias="requestedBy", max_length=200)

    _identity = field_validator("identity")(check_identity)

    @field_validator("mail_from_domain")
    @classmethod
    def _domain(cls, v: str | None) -> str | None:
        return None if v is None else check_domain_name(v)


def parse_watch_event(event: Any) -> IdentityCreated | None:
    """None for a schedule tick; the detail of an ``Email Identity Created`` event; else MalformedEvent."""
    if not isinstance(event, dict):
        raise MalformedEvent("MAIL FROM watcher: input: expected a JSON object")
    if event.get("trigger") == "schedule":
        return None
    if event.get("detail-type") != OperatorDetailType.IDENTITY_CREATED.value:
        raise MalformedEvent(
            f"MAIL FROM watcher: detail-type: expected a schedule tick (trigger: schedule) or "
            f"'{OperatorDetailType.IDENTITY_CREATED.value}', got "
            f"{event.get('detail-type')!r}"
        )
    return parsed(IdentityCreated, event.get("detail"), "Email Identity Created", "detail.")
