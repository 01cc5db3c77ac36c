"""EventBridge publisher. A PutEvents call can "succeed" and drop entries: check FailedEntryCount."""

from __future__ import annotations

import json
from typing import Any

from ..contracts.names import MAILWARDEN_SOURCE
from ..errors import PublishFailed


class EventPublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name

    def publish(self, detail_type: str, detail: dict[str, Any], resources: list[str]) -> None:
        out = self.client.put_events(
            Entries=[
                {
                    "EventBusName": self.bus_name,
                    "Source": MAILWARDEN_SOURCE,
                    "DetailType": str(detail_type),
                    "Resources": resources,
                    "Detail": json.dumps(detail, default=str),
                }
            ]
        )
        if out.get("FailedEntryCount"):
            failed = [e for e in out.get("Entries", []) if e.get("ErrorCode")]
            raise PublishFailed(f"EventBridge dropped {detail_type}: {failed}")
