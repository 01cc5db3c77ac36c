"""EventBridge publisher. A PutEvents call can "succeed" and drop entries: check FailedEntryCount."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from ..contracts.names import MAILWARDEN_SOURCE
from ..errors import PublishFailed
from .errors import translate


class EventPublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name

    def publish(self, detail_type: str, detail: dict[str, Any], resources: list[str]) -> None:
        self.publish_many([(detail_type, detail, resources)])

    def publish_many(self, events: Sequence[tuple[str, dict[str, Any], list[str]]]) -> None:
        """10 entries per PutEvents (the API's maximum); any dropped entry raises."""
        for start in range(0, len(events), 10):
            try:
                out = self._put(events[start : start + 10])
            except ClientError as err:
                raise translate(err) from err
            if out.get("FailedEntryCount"):
                failed = [e for e in out.get("Entries", []) if e.get("ErrorCode")]
                raise PublishFailed(f"EventBridge dropped {len(failed)} event(s): {failed}")

    def _put(self, events: Sequence[tuple[str, dict[str, Any], list[str]]]) -> dict[str, Any]:
        return dict(
            self.client.put_events(
                Entries=[
                    {
                        "EventBusName": self.bus_name,
                        "Source": MAILWARDEN_SOURCE,
                        "DetailType": str(detail_type),
                        "Resources": resources,
                        "Detail": json.dumps(detail, default=str),
                    }
                    for detail_type, detail, resources in events
                ]
            )
        )
