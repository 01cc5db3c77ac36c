"""SNS publisher for approval requests: one message per approver, routed by a message attribute."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from ..approvals.message import ApproverMessage
from ..contracts.topics import APPROVER_ATTRIBUTE
from ..errors import PublishFailed
from .errors import translate

BATCH = 10  # PublishBatch takes at most 10 entries


class SnsApprovalNotifier:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self.client = client
        self.topic_arn = topic_arn

    def publish(self, messages: Sequence[ApproverMessage]) -> None:
        for start in range(0, len(messages), BATCH):
            chunk = messages[start : start + BATCH]
            entries = [
                {
                    "Id": f"m{start + i}",
                    "Subject": m.subject,
                    "Message": m.sns_message(),
                    "MessageStructure": "json",
                    "MessageAttributes": {APPROVER_ATTRIBUTE: {"DataType": "String", "StringValue": m.approver}},
                }
                for i, m in enumerate(chunk)
            ]
            try:
                out = self.client.publish_batch(TopicArn=self.topic_arn, PublishBatchRequestEntries=entries)
            except ClientError as err:
                raise translate(err) from err
            if out.get("Failed"):
                raise PublishFailed(f"SNS refused approval messages: {out['Failed']}")
