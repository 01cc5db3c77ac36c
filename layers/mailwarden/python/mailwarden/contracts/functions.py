"""The Lambda functions and the environment each one needs. CDK fills the values from the
resources it creates; ``local.deployment`` fills them from the emulated ones."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FunctionSpec:
    name: str  # folder under functions/
    description: str
    env: tuple[str, ...]
    clients: tuple[str, ...]  # boto3 clients it creates (for IAM review and the cold-init benchmark)
    timeout_seconds: int = 60
    memory_mb: int = 256


# What every guarded writer reads (reputation and Partner Central): its events, dead letters, guard
# and audit tables, the kill switch and the policy.
_WRITER_ENV = ("EVENT_BUS_NAME", "DLQ_URL", "GUARD_TABLE", "AUDIT_TABLE", "KILL_SWITCH_PARAMETER", "POLICY_FILE")
_GUARD_ENV = (*_WRITER_ENV, "REINSTATE_STATE_MACHINE_ARN", "SES_API_RATE")
_GUARD_CLIENTS = ("sesv2", "dynamodb", "ssm", "stepfunctions", "events", "sqs")

SES_EVENTS = FunctionSpec(
    name="ses_events",
    description="aws.ses reputation events: publishes an explained signal, then applies the policy to that entity "
    "(disable, request a reinstatement) once per event id; malformed events go to the DLQ with a reason.",
    env=(*_GUARD_ENV, "IDEMPOTENCY_TABLE"),
    clients=_GUARD_CLIENTS,
)

REPUTATION_TRIGGER = FunctionSpec(
    name="reputation_trigger",
    description="Starts a reconcile run from the schedule or an operator's Reputation Reconcile Requested event "
    "(one execution per schedule tick or event id; skipped while a run is in progress).",
    env=("EVENT_BUS_NAME", "DLQ_URL", "RECONCILE_STATE_MACHINE_ARN"),
    clients=("stepfunctions", "events", "sqs"),
)

REPUTATION_RECONCILE = FunctionSpec(
    name="reputation_reconcile",
    description="Reconcile workflow steps (scan with NextToken checkpoints, apply, close) and the reinstate "
    "workflow's steps (re-check and write after approval).",
    env=_GUARD_ENV,
    clients=_GUARD_CLIENTS,
    timeout_seconds=900,
    memory_mb=512,
)

_APPROVAL_ENV = (
    "EVENT_BUS_NAME",
    "DLQ_URL",
    "APPROVALS_TABLE",
    "AUDIT_TABLE",
    "SIGNING_SECRET_ARN",
    "APPROVERS",
)

APPROVAL_REQUEST = FunctionSpec(
    name="approval_request",
    description="Step Functions waitForTaskToken task: records an approval request (DynamoDB), publishes one "
    "signed-link message per approver to SNS; also marks requests expired when the task times out.",
    env=(*_APPROVAL_ENV, "APPROVAL_REQUESTS_TOPIC_ARN", "APPROVAL_BASE_URL"),
    clients=("dynamodb", "sns", "secretsmanager", "events", "sqs"),
)

APPROVAL_CALLBACK = FunctionSpec(
    name="approval_callback",
    description="Approval decisions from the link API (GET confirms, POST decides) and the SNS decisions topic: "
    "verifies the signature, single-use conditional write, SendTaskSuccess/Failure, audit, event.",
    env=(*_APPROVAL_ENV, "APPROVAL_DECISIONS_TOPIC_ARN"),
    clients=("dynamodb", "stepfunctions", "secretsmanager", "events", "sqs"),
)

_WORKMAIL_ENV = (
    "EVENT_BUS_NAME",
    "DLQ_URL",
    "AUDIT_TABLE",
    "OFFBOARDING_TABLE",
    "POLICY_FILE",
    "EXPORT_BUCKET",
    "EXPORT_KMS_KEY_ARN",
    "EXPORT_ROLE_ARN",
)
_WORKMAIL_CLIENTS = ("workmail", "dynamodb", "events", "sqs")

WORKMAIL_TRIGGER = FunctionSpec(
    name="workmail_trigger",
    description="WorkMail requests (offboard, restore, decommission, organization exit and its rollback): "
    "validates (unknown, protected, not a user -> rejected with the reason, DLQ), answers dry runs with the plan, "
    "restores, or starts the workflow once per request.",
    env=(
        *_WORKMAIL_ENV,
        "OFFBOARD_STATE_MACHINE_ARN",
        "DECOMMISSION_STATE_MACHINE_ARN",
        "EXIT_STATE_MACHINE_ARN",
        "EXIT_ROLLBACK_STATE_MACHINE_ARN",
        "KILL_SWITCH_PARAMETER",
    ),
    clients=(*_WORKMAIL_CLIENTS, "stepfunctions", "ssm"),
)

WORKMAIL_OFFBOARD = FunctionSpec(
    name="workmail_offboard",
    description="Offboarding and decommission workflow steps: snapshot, export start/poll, strip, deregister, "
    "confirm DISABLED, delete, kept-deregistered, decommission plan, per-user result and summary; each "
    "idempotent.",
    env=_WORKMAIL_ENV,
    clients=(*_WORKMAIL_CLIENTS, "s3"),
    timeout_seconds=300,
)

WORKMAIL_EXIT = FunctionSpec(
    name="workmail_exit",
    description="Organization exit workflow steps: inventory (S3 JSON + CSV), export start/poll/verify, manifest, "
    "DNS cut-over plan/write/INSYNC, soak, rollback, deletion (users, groups, resources, domains, the "
    "organization) and the summary; each idempotent, halted by the kill switch.",
    env=(*_WORKMAIL_ENV, "KILL_SWITCH_PARAMETER"),
    clients=(*_WORKMAIL_CLIENTS, "s3", "route53", "ssm", "stepfunctions"),
    timeout_seconds=900,
    memory_mb=512,
)

_MAIL_FROM_ENV = ("EVENT_BUS_NAME", "DLQ_URL", "AUDIT_TABLE", "MAIL_FROM_TABLE", "POLICY_FILE", "SES_API_RATE")
_MAIL_FROM_CLIENTS = ("sesv2", "route53", "dynamodb", "events")

MAIL_FROM_API = FunctionSpec(
    name="mail_from_api",
    description="Seed 002's MAIL FROM API (API Gateway): bearer JWT and scope checks, PUT sets the MAIL FROM "
    "domain and publishes MX + SPF to Route 53 in one atomic batch, GET reads the status; seed-shaped errors.",
    env=(
        *_MAIL_FROM_ENV,
        "JWT_ISSUER",
        "JWT_JWKS_URL",
        "JWT_AUDIENCE",
        "MAIL_FROM_READ_SCOPE",
        "MAIL_FROM_WRITE_SCOPE",
    ),
    clients=_MAIL_FROM_CLIENTS,
    # API Gateway stops waiting after 29 s (contracts.apis): the function answers well within it
    # (bounded SDK retries, no wait for Route 53), and is stopped soon after it if it did not.
    timeout_seconds=30,
)

MAIL_FROM_WATCH = FunctionSpec(
    name="mail_from_watch",
    description="MAIL FROM watcher (schedule) and Email Identity Created events: polls due identities, emits "
    "status changes, sets FAILED setups up again (bounded), then alerts the operations topic.",
    env=(*_MAIL_FROM_ENV, "ALERTS_TOPIC_ARN"),
    clients=(*_MAIL_FROM_CLIENTS, "sns", "sqs"),
    timeout_seconds=900,
)

PARTNER_CONNECTIONS = FunctionSpec(
    name="partner_connections",
    description="Partner Central connection preferences: scheduled and on-demand reconcile runs (read, plan, write "
    "with the Revision, conflicts re-read and retried) and the widening workflow's apply and close steps.",
    env=(*_WRITER_ENV, "PARTNER_WIDENING_STATE_MACHINE_ARN", "PARTNER_CENTRAL_REGION", "ALERTS_TOPIC_ARN"),
    clients=("partnercentral-account", "dynamodb", "ssm", "stepfunctions", "events", "sns", "sqs"),
    timeout_seconds=300,
)

HEALTH_METRICS = FunctionSpec(
    name="health_metrics",
    description="Every 5 minutes: pending approvals (count, oldest age, expiring within the hour), the kill "
    "switch and MAIL FROM identities per SES status, as CloudWatch metrics for the dashboard and the alarms.",
    env=("EVENT_BUS_NAME", "DLQ_URL", "APPROVALS_TABLE", "MAIL_FROM_TABLE", "KILL_SWITCH_PARAMETER"),
    clients=("dynamodb", "ssm", "sqs"),
)

FUNCTIONS: tuple[FunctionSpec, ...] = (
    SES_EVENTS,
    APPROVAL_REQUEST,
    APPROVAL_CALLBACK,
    REPUTATION_TRIGGER,
    REPUTATION_RECONCILE,
    WORKMAIL_TRIGGER,
    WORKMAIL_OFFBOARD,
    WORKMAIL_EXIT,
    MAIL_FROM_API,
    MAIL_FROM_WATCH,
    PARTNER_CONNECTIONS,
    HEALTH_METRICS,
)
