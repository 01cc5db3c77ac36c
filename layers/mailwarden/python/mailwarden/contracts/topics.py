"""SNS topics and which function subscribes to which: CDK subscribes the Lambda; the local
deployment subscribes an SQS queue and delivers its messages to the same handler in the SNS
envelope Lambda would receive."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicSpec:
    name: str
    env: str  # environment variable carrying the topic ARN
    description: str


@dataclass(frozen=True)
class Subscription:
    topic: TopicSpec
    function: str


APPROVAL_REQUESTS = TopicSpec(
    name="approval-requests",
    env="APPROVAL_REQUESTS_TOPIC_ARN",
    description="One message per allowed approver (message attribute 'approver'): a readable email "
    "with approve/reject confirmation links, and a JSON form for bots.",
)
APPROVAL_DECISIONS = TopicSpec(
    name="approval-decisions",
    env="APPROVAL_DECISIONS_TOPIC_ARN",
    description="Signed decisions from ChatOps bots and other systems.",
)

OPERATIONS_ALERTS = TopicSpec(
    name="operations-alerts",
    env="ALERTS_TOPIC_ARN",
    description="Alerts that need a person: a MAIL FROM setup that still failed after its last attempt.",
)

TOPICS: tuple[TopicSpec, ...] = (APPROVAL_REQUESTS, APPROVAL_DECISIONS, OPERATIONS_ALERTS)
SUBSCRIPTIONS: tuple[Subscription, ...] = (Subscription(APPROVAL_DECISIONS, "approval_callback"),)

# The SNS message attribute that routes a request to one approver's email subscription.
APPROVER_ATTRIBUTE = "approver"
