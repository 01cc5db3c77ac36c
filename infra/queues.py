"""Dead-letter queues: TLS only, encrypted, kept 14 days, acknowledged as having no DLQ of their own."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .nag import acknowledge


def dead_letter_queue(scope: Construct, construct_id: str, *, what: str, key: kms.IKey | None = None) -> sqs.Queue:
    """Encrypted so that the services that dead-letter into it can: ``key`` a customer-managed key
    whose key policy lets those service principals use it; otherwise SSE-SQS (SQS-owned keys), which
    EventBridge, Scheduler and SNS can write to. Never the AWS-managed key ``alias/aws/sqs``: no key
    policy can grant it to a service principal, so their deliveries would be dropped (FACTS.md)."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS if key else sqs.QueueEncryption.SQS_MANAGED,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge(queue, "SQS3", f"This queue is a dead-letter queue ({what}); it has none of its own.")
    return queue
