"""Append-only audit trail in DynamoDB: one item per action, skipped action, decision or refusal."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from botocore.exceptions import ClientError

from ..clock import Clock, iso
from ..contracts.tables import RETENTION_SECONDS
from .dynamo import batch_put, query_all, scan_all
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

    def item(
        self, subject: str, what: str, outcome: str, actor: str, reason: str, detail: dict[str, Any]
    ) -> dict[str, Any]:
        """The item ``record`` writes, for a caller that writes it in a transaction of its own."""
        return self._item(subject, what, outcome, actor, reason, detail)

    def record(self, subject: str, what: str, outcome: str, actor: str, reason: str, detail: dict[str, Any]) -> None:
        try:
            self.client.put_item(TableName=self.table, Item=self._item(subject, what, outcome, actor, reason, detail))
        except ClientError as err:
            raise translate(err) from err

    def record_many(self, records: list[tuple[str, str, str, str, str, dict[str, Any]]]) -> None:
        """Several records, 25 per BatchWriteItem."""
        batch_put(self.client, self.table, [self._item(*r) for r in records], self.clock)

    def entries(self, subject: str) -> list[dict[str, Any]]:
        """Every record for ``subject``, oldest first (used by tests and the demo)."""
        items = query_all(
            self.client,
            TableName=self.table,
            KeyConditionExpression="subject = :s",
            ExpressionAttributeValues={":s": {"S": subject}},
        )
        return [_entry(i) for i in items]

    def search(
        self,
        *,
        subject: str | None = None,
        prefix: str | None = None,
        since: str | None = None,
        outcome: str | None = None,
        actor: str | None = None,
        text: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Records newest first: one ``subject`` is a Query; anything else a filtered Scan (the
        table has no other index). ``since``: an ISO time; ``actor``/``text``: contained in it."""
        filters: list[str] = []
        names: dict[str, str] = {}
        values: dict[str, Any] = {}

        def where(condition: str, **bound: str) -> None:
            filters.append(condition)
            values.update({f":{k}": {"S": v} for k, v in bound.items()})

        if outcome:
            where("outcome = :o", o=outcome)
        if actor:
            where("contains(actor, :a)", a=actor)
        if text:
            names["#w"] = "what"
            where("(contains(reason, :t) OR contains(#w, :t) OR contains(subject, :t))", t=text)
        kwargs: dict[str, Any] = {"TableName": self.table}
        if subject:
            key = "subject = :s"
            values[":s"] = {"S": subject}
            if since:
                names["#at"], values[":since"] = "at", {"S": since}
                key += " AND #at >= :since"
            kwargs.update(KeyConditionExpression=key, ScanIndexForward=False)
        else:
            if prefix:
                where("begins_with(subject, :p)", p=prefix)
            if since:
                names["#at"] = "at"
                where("#at >= :since", since=since)
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if values:
            kwargs["ExpressionAttributeValues"] = values
        items = query_all(self.client, **kwargs) if subject else scan_all(self.client, **kwargs)
        return sorted((_entry(i) for i in items), key=lambda e: e.get("at", ""), reverse=True)[:limit]


def _entry(item: dict[str, Any]) -> dict[str, Any]:
    entry = {k: v.get("S", v.get("N")) for k, v in item.items() if k != "purge_at"}
    entry["detail"] = json.loads(entry.get("detail") or "{}")
    entry["when"] = str(entry.get("at", "")).split("#")[0]
    return entry
