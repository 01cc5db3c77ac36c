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


SES_EVENTS = FunctionSpec(
    name="ses_events",
    description="Normalizes aws.ses reputation events, reads the entity's current state and publishes a "
    "Mailwarden signal; malformed events go to the DLQ with a reason.",
    env=("EVENT_BUS_NAME", "DLQ_URL"),
    clients=("sesv2", "events", "sqs"),
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

FUNCTIONS: tuple[FunctionSpec, ...] = (SES_EVENTS, APPROVAL_REQUEST, APPROVAL_CALLBACK)
