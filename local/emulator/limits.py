"""Message and item sizes AWS enforces where moto does not (FACTS.md "Platform limits").

* EventBridge ``PutEvents``: the entries of one request at most 256 KB in all, each entry's size
  counted as AWS documents it (``Time`` 14 bytes when given, ``Source``, ``DetailType``, ``Detail``
  and each ``Resources`` string in UTF-8 bytes); over it the request fails with
  ``ValidationException`` ("Total size of the entries in the request is over the limit.").
* SQS: 256 KiB per message (moto allows 1 MiB): the queues' default ``MaximumMessageSize``
  (``moto.sqs.models.MAXIMUM_MESSAGE_LENGTH``, patched by ``emulated_aws``).

moto already enforces SNS's 256 KiB per message (``InvalidParameter``) and DynamoDB's 400 KB per
item (``ValidationException``); Lambda's payload limits are in ``sandbox``, Step Functions' in
``sfn_limits``.
"""

from __future__ import annotations

import json
from typing import Any

from .protocol import ApiError

EVENTBRIDGE_REQUEST_LIMIT = 256 * 1024
SQS_MESSAGE_LIMIT = 256 * 1024


def entry_size(entry: dict[str, Any]) -> int:
    """A PutEvents entry's size, as AWS's "Calculating PutEvents event entry size" counts it."""
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(key) or "").encode())
    return size + sum(len(str(r).encode()) for r in entry.get("Resources") or [])


def check(service_id: str, op_name: str, request: Any) -> ApiError | None:
    """The size error AWS would answer this moto-bound request with, if any."""
    if (service_id, op_name) != ("eventbridge", "PutEvents"):
        return None
    body = request.body or b"{}"
    entries = json.loads(body.decode() if isinstance(body, bytes) else body).get("Entries", [])
    if sum(entry_size(e) for e in entries) > EVENTBRIDGE_REQUEST_LIMIT:
        return ApiError("ValidationException", "Total size of the entries in the request is over the limit.")
    return None
