"""Reports what a capability did: an audit record and a ``mailwarden`` event per change, and alerts
to the operations topic (SNS)."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from ..errors import NotFound
from .audit import DynamoAuditTrail
from .errors import translate
from .events import EventPublisher


class ChangeReporter:
    """Audit subject ``<kind>:<name>``, audit action ``<kind>.<outcome>``; the event's detail carries
    ``<key>: name``, the outcome and the given detail (before/after, reason...)."""

    def __init__(
        self, audit: DynamoAuditTrail, events: EventPublisher, sns: Any, alerts_topic_arn: str, *, kind: str, key: str
    ) -> None:
        self.audit = audit
        self.events = events
        self.sns = sns
        self.alerts_topic_arn = alerts_topic_arn
        self.kind = kind
        self.key = key

    def report(self, detail_type: str, name: str, outcome: str, actor: str, detail: dict[str, Any]) -> None:
        body = {self.key: name, "outcome": outcome, **detail}
        reason = str(detail.get("reason") or "-")
        self.audit.record(f"{self.kind}:{name}", f"{self.kind}.{outcome}", outcome, actor, reason, body)
        self.events.publish(detail_type, json.loads(json.dumps(body, default=str)), [])

    def alert(self, subject: str, message: str) -> None:
        if not self.alerts_topic_arn or self.sns is None:
            raise NotFound("no ALERTS_TOPIC_ARN configured: the alert cannot be sent")
        try:
            self.sns.publish(TopicArn=self.alerts_topic_arn, Subject=subject[:100], Message=message)
        except ClientError as err:
            raise translate(err) from err
