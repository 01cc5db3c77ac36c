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

FUNCTIONS: tuple[FunctionSpec, ...] = (SES_EVENTS,)
