"""Stack configuration from ``cdk.json`` context (``mailwarden:*`` keys), with documented defaults."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mailwarden.policy import Policy, PolicyError, load_policy
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "mailwarden:"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class StackConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    stage: str = Field("dev", pattern=r"^[a-z][a-z0-9-]{0,15}$")
    approver_emails: list[str] = Field(default_factory=list, alias="approverEmails")
    # subscribed (email) to the operations-alerts topic: alarms and alerts that need a person
    alert_emails: list[str] = Field(default_factory=list, alias="alertEmails")
    workmail_organization_id: str = Field("", alias="workmailOrganizationId", pattern=r"^(m-[0-9a-f]{32})?$")
    hosted_zone_ids: list[str] = Field(default_factory=list, alias="hostedZoneIds")
    policy_file: str = Field("policy/mailwarden.yaml", alias="policyFile")
    log_retention_days: int = Field(90, alias="logRetentionDays")
    reconcile_schedule: str = Field("rate(1 hour)", alias="reconcileSchedule")
    mail_from_watch_schedule: str = Field("rate(5 minutes)", alias="mailFromWatchSchedule")
    partner_reconcile_schedule: str = Field("rate(1 hour)", alias="partnerReconcileSchedule")
    health_schedule: str = Field("rate(5 minutes)", alias="healthSchedule")  # the census behind the alarms
    # Where the Partner Central API is called.
    partner_central_region: str = Field("us-east-1", alias="partnerCentralRegion", pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    # The MAIL FROM API's token issuer (OIDC / OAuth 2.0: Cognito, Okta, Entra ID, ...). Without one, every
    # request is refused (500, logged) until it is configured.
    jwt_issuer: str = Field("", alias="jwtIssuer", pattern=r"^(https://\S+)?$")
    # default: <issuer>/.well-known/jwks.json
    jwt_jwks_url: str = Field("", alias="jwtJwksUrl", pattern=r"^(https://\S+)?$")
    jwt_audiences: list[str] = Field(default_factory=list, alias="jwtAudiences")  # aud or client_id; empty: any
    mail_from_read_scope: str = Field("mailwarden/mail-from.read", alias="mailFromReadScope")
    mail_from_write_scope: str = Field("mailwarden/mail-from.write", alias="mailFromWriteScope")
    approval_timeout_hours: int = Field(72, ge=1, le=8760, alias="approvalTimeoutHours")
    api_throttle_rate: float = Field(5.0, gt=0, le=1000, alias="apiThrottleRate")
    api_throttle_burst: int = Field(10, ge=1, le=5000, alias="apiThrottleBurst")

    @field_validator("approver_emails", "alert_emails")
    @classmethod
    def _emails(cls, v: list[str]) -> list[str]:
        bad = [e for e in v if not _EMAIL.match(e)]
        if bad:
            raise ValueError(f"not email addresses: {bad}")
        return v

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, v: int) -> int:
        allowed = {
            1,
            3,
            5,
            7,
            14,
            30,
            60,
            90,
            120,
            150,
            180,
            365,
            400,
            545,
            731,
            1096,
            1827,
            2192,
            2557,
            2922,
            3288,
            3653,
        }
        if v not in allowed:
            raise ValueError(f"CloudWatch Logs accepts only {sorted(allowed)}")
        return v

    @field_validator("reconcile_schedule", "mail_from_watch_schedule", "partner_reconcile_schedule", "health_schedule")
    @classmethod
    def _schedule(cls, v: str) -> str:
        if not re.match(r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$", v):
            raise ValueError("expected rate(N unit) or cron(...)")
        return v

    @property
    def policy_path(self) -> Path:
        return ROOT / self.policy_file

    def load_policy(self) -> Policy:
        """The validated policy file; a bad one raises naming the file, the line and the problem."""
        try:
            return load_policy(self.policy_path)
        except PolicyError as exc:
            raise ValueError(f"mailwarden:policyFile: {exc}") from exc


def from_context(get: Any) -> StackConfig:
    """Build the config from a ``node.try_get_context``-like getter; errors name the context key."""
    raw = {}
    for name, field in StackConfig.model_fields.items():
        key = field.alias or name
        value = get(PREFIX + key)
        if value is not None:
            raw[key] = value
    try:
        return StackConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{PREFIX}{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"invalid cdk.json context: {problems}") from exc
