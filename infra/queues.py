"""Dead-letter queues: TLS only, encrypted, kept 14 days, acknowledged as having no DLQ of their own."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .nag import acknowledge


def dead_letter_queue(scope: Construct, construct_id: str, *, what: str, key: kms.IKey | None = None) -> sqs.Queue:
    """``key``: a customer-managed key, needed when a service such as SNS writes to the queue (it
    cannot use the AWS-managed SQS key); otherwise the AWS-managed key."""
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS if key else sqs.QueueEncryption.KMS_MANAGED,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge(queue, "SQS3", f"This queue is a dead-letter queue ({what}); it has none of its own.")
    return queue
