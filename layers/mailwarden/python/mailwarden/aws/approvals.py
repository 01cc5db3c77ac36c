"""DynamoDB store for approval requests. Single use is a conditional write: of any number of
concurrent decisions on one request, exactly one passes ``state = PENDING AND expires_at > now``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ..approvals.model import ApprovalRequest, Delivery, State
from ..contracts.tables import APPROVALS
from ..errors import Conflict
from .dynamo import query_all
from .errors import translate

_ser = TypeSerializer()
_de = TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _dynamo_safe(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_dynamo_safe(v) for v in value]
    return value


def to_item(r: ApprovalRequest) -> dict[str, Any]:
    item = {
        "id": r.id,
        "action": r.action,
        "subject": r.subject,
        "summary": r.summary,
        "reason": r.reason,
        "requester": r.requester,
        "plan": _dynamo_safe(r.plan),
        "approvers": list(r.approvers),
        "created_at": r.created_at,
        "expires_at": r.expires_at,
        "purge_at": r.purge_at,
        "execution_arn": r.execution_arn,
        "gate": r.gate,
        "task_token": r.task_token,
        "state": r.state.value,
        "delivery": r.delivery.value,
    }
    return {k: _ser.serialize(v) for k, v in item.items()}


def from_item(item: dict[str, Any]) -> ApprovalRequest:
    d = {k: _plain(_de.deserialize(v)) for k, v in item.items()}
    return ApprovalRequest(
        id=d["id"],
        action=d["action"],
        subject=d["subject"],
        summary=d["summary"],
        reason=d["reason"],
        requester=d["requester"],
        plan=d.get("plan"),
        approvers=tuple(d["approvers"]),
        created_at=d["created_at"],
        expires_at=d["expires_at"],
        execution_arn=d["execution_arn"],
        gate=d["gate"],
        task_token=d["task_token"],
        state=State(d["state"]),
        delivery=Delivery(d.get("delivery", "none")),
        notified_at=d.get("notified_at"),
        decided_by=d.get("decided_by"),
        decided_at=d.get("decided_at"),
        decided_via=d.get("decided_via"),
        comment=d.get("comment"),
    )


# DynamoDB reserved words among our attribute names, and their placeholders.
_RESERVED = {"#s": "state", "#c": "comment"}


def _conditional_failed(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoApprovalStore:
    def __init__(self, client: Any, table: str) -> None:
        self.client = client
        self.table = table

    def put_new(self, request: ApprovalRequest) -> bool:
        try:
            self.client.put_item(
                TableName=self.table, Item=to_item(request), ConditionExpression="attribute_not_exists(id)"
            )
            return True
        except ClientError as err:
            if _conditional_failed(err):
                return False
            raise translate(err) from err

    def in_state(self, state: State, live_at: float | None = None) -> list[ApprovalRequest]:
        """Every request in ``state`` (the by-state index, soonest to expire first); with ``live_at``,
        only those not expired then (an expired request stays PENDING until its workflow notices)."""
        key, values = "#s = :s", {":s": {"S": state.value}}
        if live_at is not None:
            key += " AND expires_at > :now"
            values[":now"] = {"N": str(int(live_at))}
        items = query_all(
            self.client,
            TableName=self.table,
            IndexName=APPROVALS.indexes[0].name,
            KeyConditionExpression=key,
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues=values,
        )
        return [from_item(i) for i in items]

    def pending(self, now: float) -> list[ApprovalRequest]:
        """The requests still waiting for a decision at ``now``."""
        return self.in_state(State.PENDING, live_at=now)

    def get(self, request_id: str) -> ApprovalRequest | None:
        try:
            out = self.client.get_item(TableName=self.table, Key={"id": {"S": request_id}}, ConsistentRead=True)
        except ClientError as err:
            raise translate(err) from err
        return from_item(out["Item"]) if "Item" in out else None

    def _update(
        self, request_id: str, expression: str, values: dict[str, Any], condition: str = "attribute_exists(id)"
    ) -> bool:
        """One conditional UpdateItem; False when the condition does not hold."""
        used = expression + condition
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "Key": {"id": {"S": request_id}},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {k: _ser.serialize(v) for k, v in values.items()},
        }
        names = {k: v for k, v in _RESERVED.items() if k in used}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            self.client.update_item(**kwargs)
            return True
        except ClientError as err:
            if _conditional_failed(err):
                return False
            raise translate(err) from err

    def refresh_token(self, request_id: str, task_token: str) -> bool:
        return self._update(request_id, "SET task_token = :t", {":t": task_token, ":p": State.PENDING.value}, "#s = :p")

    def mark_notified(self, request_id: str, at: int) -> None:
        self._update(request_id, "SET notified_at = :n", {":n": at})

    def record_decision(self, request_id: str, state: State, approver: str, via: str, comment: str, at: int) -> None:
        decided = self._update(
            request_id,
            "SET #s = :s, delivery = :d, decided_by = :a, decided_at = :t, decided_via = :v, #c = :c",
            {
                ":s": state.value,
                ":d": Delivery.PENDING.value,
                ":a": approver,
                ":t": at,
                ":v": via,
                ":c": comment,
                ":p": State.PENDING.value,
            },
            "#s = :p AND expires_at > :t",  # the single-use write
        )
        if not decided:
            raise Conflict(f"approval {request_id} is no longer pending")

    def set_delivery(self, request_id: str, delivery: Delivery, state: State | None = None) -> None:
        if state is None:
            self._update(request_id, "SET delivery = :d", {":d": delivery.value})
        else:
            self._update(request_id, "SET delivery = :d, #s = :s", {":d": delivery.value, ":s": state.value})

    def expire(self, request_id: str, at: int) -> bool:
        return self._update(
            request_id,
            "SET #s = :e, expired_at = :t",
            {":e": State.EXPIRED.value, ":t": at, ":p": State.PENDING.value},
            "#s = :p",
        )
