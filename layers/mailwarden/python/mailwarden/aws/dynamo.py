"""DynamoDB helpers shared by the adapters: every page of a Query, BatchWriteItem in chunks of 25."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..clock import Clock
from .errors import translate


def batch_put(client: Any, table: str, items: list[dict[str, Any]], clock: Clock, attempts: int = 8) -> None:
    requests = [{"PutRequest": {"Item": item}} for item in items]
    for start in range(0, len(requests), 25):
        pending: dict[str, Any] = {table: requests[start : start + 25]}
        for attempt in range(attempts):
            try:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            except ClientError as err:
                raise translate(err) from err
            if not pending:
                break
            clock.sleep(min(0.05 * 2**attempt, 2.0))
        else:
            raise RuntimeError(f"{table}: {len(pending.get(table, []))} items unprocessed after {attempts} attempts")


def query_all(client: Any, limit: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item a Query returns (the first ``limit`` when given), following LastEvaluatedKey."""
    return _every(client.query, limit, kwargs)


def scan_all(client: Any, limit: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item a Scan returns (the first ``limit`` when given), following LastEvaluatedKey."""
    return _every(client.scan, limit, kwargs)


def _every(call: Any, limit: int | None, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        if limit is not None:
            kwargs["Limit"] = limit - len(items)
        try:
            page = call(**kwargs)
        except ClientError as err:
            raise translate(err) from err
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page or (limit is not None and len(items) >= limit):
            return items
        kwargs = {**kwargs, "ExclusiveStartKey": page["LastEvaluatedKey"]}
