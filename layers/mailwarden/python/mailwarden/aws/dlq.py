"""Dead letters: an input that can never be processed is parked with the reason, not retried."""

from __future__ import annotations

import json
from typing import Any


class DeadLetters:
    def __init__(self, client: Any, queue_url: str, function: str) -> None:
        self.client = client
        self.queue_url = queue_url
        self.function = function

    def reject(self, event: Any, reason: str) -> dict[str, Any]:
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps({"function": self.function, "reason": reason, "event": event}, default=str),
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": reason[:1024]},
                "function": {"DataType": "String", "StringValue": self.function},
            },
        )
        return {"status": "rejected", "reason": reason}
