"""Environment settings, parsed at the edge so a missing variable fails loudly at init."""

from __future__ import annotations

import os
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    event_bus_name: str = Field(min_length=1, alias="EVENT_BUS_NAME")
    dlq_url: str = Field(min_length=1, alias="DLQ_URL")

    @classmethod
    def from_env(cls) -> Self:
        try:
            return cls.model_validate(dict(os.environ))
        except ValidationError as exc:
            missing = ", ".join(str(e["loc"][0]) for e in exc.errors())
            raise RuntimeError(f"Mailwarden is misconfigured: check environment variables {missing}") from exc


class ApprovalSettings(Settings):
    approvals_table: str = Field(min_length=1, alias="APPROVALS_TABLE")
    audit_table: str = Field(min_length=1, alias="AUDIT_TABLE")
    signing_secret_arn: str = Field(min_length=1, alias="SIGNING_SECRET_ARN")
    approvers: list[str] = Field(alias="APPROVERS")  # comma-separated in the environment
    requests_topic_arn: str = Field("", alias="APPROVAL_REQUESTS_TOPIC_ARN")
    decisions_topic_arn: str = Field("", alias="APPROVAL_DECISIONS_TOPIC_ARN")
    base_url: str = Field("", alias="APPROVAL_BASE_URL")

    @field_validator("approvers", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        if isinstance(v, str):
            return [a.strip() for a in v.split(",") if a.strip()]
        return v


class GuardSettings(Settings):
    guard_table: str = Field(min_length=1, alias="GUARD_TABLE")
    audit_table: str = Field(min_length=1, alias="AUDIT_TABLE")
    kill_switch_parameter: str = Field(min_length=1, alias="KILL_SWITCH_PARAMETER")
    policy_file: str = Field(min_length=1, alias="POLICY_FILE")
    reinstate_state_machine_arn: str = Field(min_length=1, alias="REINSTATE_STATE_MACHINE_ARN")
    idempotency_table: str = Field("", alias="IDEMPOTENCY_TABLE")


class TriggerSettings(Settings):
    reconcile_state_machine_arn: str = Field(min_length=1, alias="RECONCILE_STATE_MACHINE_ARN")


class WorkmailSettings(Settings):
    audit_table: str = Field(min_length=1, alias="AUDIT_TABLE")
    offboarding_table: str = Field(min_length=1, alias="OFFBOARDING_TABLE")
    policy_file: str = Field(min_length=1, alias="POLICY_FILE")
    export_bucket: str = Field(min_length=1, alias="EXPORT_BUCKET")
    export_kms_key_arn: str = Field(min_length=1, alias="EXPORT_KMS_KEY_ARN")
    export_role_arn: str = Field(min_length=1, alias="EXPORT_ROLE_ARN")
    offboard_state_machine_arn: str = Field("", alias="OFFBOARD_STATE_MACHINE_ARN")
    decommission_state_machine_arn: str = Field("", alias="DECOMMISSION_STATE_MACHINE_ARN")
    exit_state_machine_arn: str = Field("", alias="EXIT_STATE_MACHINE_ARN")
    exit_rollback_state_machine_arn: str = Field("", alias="EXIT_ROLLBACK_STATE_MACHINE_ARN")
    kill_switch_parameter: str = Field("", alias="KILL_SWITCH_PARAMETER")  # the trigger: no new change while on


class PartnerSettings(Settings):
    guard_table: str = Field(min_length=1, alias="GUARD_TABLE")
    audit_table: str = Field(min_length=1, alias="AUDIT_TABLE")
    kill_switch_parameter: str = Field(min_length=1, alias="KILL_SWITCH_PARAMETER")
    policy_file: str = Field(min_length=1, alias="POLICY_FILE")
    widening_state_machine_arn: str = Field(min_length=1, alias="PARTNER_WIDENING_STATE_MACHINE_ARN")
    alerts_topic_arn: str = Field(min_length=1, alias="ALERTS_TOPIC_ARN")
    # Partner Central's endpoint region (the stack's region by default; the API is served from us-east-1).
    region: str = Field("us-east-1", alias="PARTNER_CENTRAL_REGION")


class MailFromSettings(Settings):
    audit_table: str = Field(min_length=1, alias="AUDIT_TABLE")
    mail_from_table: str = Field(min_length=1, alias="MAIL_FROM_TABLE")
    policy_file: str = Field(min_length=1, alias="POLICY_FILE")
    alerts_topic_arn: str = Field("", alias="ALERTS_TOPIC_ARN")
    # The API only: who issues the bearer JWTs, where their keys are, what they must carry.
    jwt_issuer: str = Field("", alias="JWT_ISSUER")
    jwt_jwks_url: str = Field("", alias="JWT_JWKS_URL")  # default: <issuer>/.well-known/jwks.json
    jwt_audience: str = Field("", alias="JWT_AUDIENCE")  # empty: not checked (Cognito access tokens have none)
    read_scope: str = Field("mailwarden/mail-from.read", alias="MAIL_FROM_READ_SCOPE")
    write_scope: str = Field("mailwarden/mail-from.write", alias="MAIL_FROM_WRITE_SCOPE")


class HealthSettings(Settings):
    approvals_table: str = Field(min_length=1, alias="APPROVALS_TABLE")
    mail_from_table: str = Field(min_length=1, alias="MAIL_FROM_TABLE")
    kill_switch_parameter: str = Field(min_length=1, alias="KILL_SWITCH_PARAMETER")
