"""Append-only audit trail in DynamoDB: one item per action, skipped action, decision or refusal."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from botocore.exceptions import ClientError

from ..clock import Clock, iso
from ..contracts.tables import RETENTION_SECONDS
from .dynamo import batch_put, query_all
from .errors import translate


class DynamoAuditTrail:
    def __init__(self, client: Any, table: str, clock: Clock) -> None:
        self.client = client
        self.table = table
        self.clock = clock

    def _item(
        self, subject: str, what: str, outcome: str, actor: str, reason: str, detail: dict[str, Any]
    ) -> dict[str, Any]:
        now = self.clock.time()
        return {
            "subject": {"S": subject},
            # sortable; records within the same second keep their order (wall-clock ns), and unique
            "at": {"S": f"{iso(now)}#{time.time_ns():020d}#{uuid.uuid4().hex[:8]}"},
            "what": {"S": what},
            "outcome": {"S": outcome},
            "actor": {"S": actor or "-"},
            "reason": {"S": (reason or "-")[:2000]},
            "detail": {"S": json.dumps(detail, default=str)[:20_000]},
            "purge_at": {"N": str(int(now) + RETENTION_SECONDS)},
        }

    def record(self, subject: str, what: str, outcome: str, actor: str, reason: str, detail: dict[str, Any]) -> None:
        try:
            self.client.put_item(TableName=self.table, Item=self._item(subject, what, outcome, actor, reason, detail))
        except ClientError as err:
            raise translate(err) from err

    def record_many(self, records: list[tuple[str, str, str, str, str, dict[str, Any]]]) -> None:
        """Several records, 25 per BatchWriteItem."""
        batch_put(self.client, self.table, [self._item(*r) for r in records], self.clock)

    def entries(self, subject: str) -> list[dict[str, Any]]:
        """Every record for ``subject``, oldest first (used by tests, the demo and the CLI)."""
        out: list[dict[str, Any]] = []
        for item in query_all(
            self.client,
            TableName=self.table,
            KeyConditionExpression="subject = :s",
            ExpressionAttributeValues={":s": {"S": subject}},
        ):
            entry = {k: v.get("S", v.get("N")) for k, v in item.items()}
            entry["detail"] = json.loads(entry.get("detail") or "{}")
            out.append(entry)
        return out
