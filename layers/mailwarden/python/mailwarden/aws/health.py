"""The census's reads: pending approvals (the by-state index, live ones only) and the MAIL FROM
table's last-seen statuses (projected scan)."""

from __future__ import annotations

from typing import Any

from ..contracts.tables import APPROVALS
from .dynamo import query_all, scan_all


class DynamoPendingApprovals:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def pending(self, now: int) -> list[tuple[int, int]]:
        items = query_all(
            self.client,
            TableName=self.table,
            IndexName=APPROVALS.indexes[0].name,
            KeyConditionExpression="#s = :p AND expires_at > :now",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":p": {"S": "PENDING"}, ":now": {"N": str(now)}},
        )
        return [(int(i["created_at"]["N"]), int(i["expires_at"]["N"])) for i in items]


class DynamoMailFromStatuses:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def statuses(self) -> list[str]:
        items = scan_all(
            self.client, TableName=self.table, ProjectionExpression="#s", ExpressionAttributeNames={"#s": "status"}
        )
        return [i.get("status", {}).get("S", "") for i in items]
