"""Decision attempts as they arrive: link query strings and form posts, and SNS decision messages.
Anything malformed raises ``MalformedEvent`` with a reason a person can act on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import MalformedEvent
from .model import Attempt, Decision, normalize_email

MAX_COMMENT = 1000


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in exc.errors())


class LinkFields(BaseModel):
    model_config = ConfigDict(extra="ignore", defer_build=True)

    decision: Decision
    approver: str = Field(min_length=3, max_length=254)
    expires: int = Field(gt=0)
    sig: str = Field(min_length=20, max_length=100)
    comment: str = Field("", max_length=MAX_COMMENT)


def attempt_from_fields(request_id: str, fields: Mapping[str, Any], *, via: str, source: str) -> Attempt:
    try:
        f = LinkFields.model_validate(dict(fields))
    except ValidationError as exc:
        raise MalformedEvent(f"incomplete approval link: {_problems(exc)}") from None
    return Attempt(
        request_id=request_id,
        decision=f.decision,
        approver=normalize_email(f.approver),
        expires=f.expires,
        signature=f.sig,
        via=via,
        comment=f.comment.strip(),
        source=source,
    )


class DecisionMessage(BaseModel):
    """What a bot publishes to the approval-decisions topic (signature from the request's JSON form)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    version: Literal[1] = 1
    request_id: str = Field(alias="requestId", min_length=1, max_length=64)
    decision: Decision
    approver: str = Field(min_length=3, max_length=254)
    expires: int = Field(gt=0)
    signature: str = Field(min_length=20, max_length=100)
    comment: str = Field("", max_length=MAX_COMMENT)


def attempts_from_sns(event: Mapping[str, Any], topic_arn: str) -> list[Attempt]:
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        raise MalformedEvent("not an SNS event: no Records")
    attempts = []
    for record in records:
        sns = record.get("Sns") if isinstance(record, dict) else None
        if not isinstance(sns, dict) or record.get("EventSource") != "aws:sns":
            raise MalformedEvent("not an SNS record")
        if topic_arn and sns.get("TopicArn") != topic_arn:
            raise MalformedEvent(f"message from {sns.get('TopicArn')!r}, not the approval-decisions topic")
        try:
            body = json.loads(sns.get("Message") or "")
        except ValueError:
            raise MalformedEvent("the decision message is not JSON") from None
        try:
            message = DecisionMessage.model_validate(body)
        except ValidationError as exc:
            raise MalformedEvent(f"invalid decision message: {_problems(exc)}") from None
        attempts.append(
            Attempt(
                request_id=message.request_id,
                decision=message.decision,
                approver=normalize_email(message.approver),
                expires=message.expires,
                signature=message.signature,
                via="sns",
                comment=message.comment.strip(),
                source=f"sns:{sns.get('MessageId', '?')}",
            )
        )
    return attempts


def is_sns_event(event: Any) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        bool(records)
        and isinstance(records, list)
        and isinstance(records[0], dict)
        and (records[0].get("EventSource") == "aws:sns")
    )
