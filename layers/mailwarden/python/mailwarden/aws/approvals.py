"""DynamoDB store for approval requests. Single use is a conditional write: of any number of
concurrent decisions on one request, exactly one passes ``state = PENDING AND expires_at > now``.
Delivering the recorded decision is claimed the same way (``claim_id``, ``sending_until``), and its
end is written only while the delivery is still pending, with its audit record in one transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ..approvals.model import ApprovalRequest, Delivery, State
from ..approvals.ports import AuditEntry
from ..contracts.tables import APPROVALS
from ..errors import Conflict
from .audit import DynamoAuditTrail
from .dynamo import query_all
from .errors import code_of, translate

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
        sending_until=d.get("sending_until"),
    )


# DynamoDB reserved words among our attribute names, and their placeholders.
_RESERVED = {"#s": "state", "#c": "comment"}


def _conditional_failed(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _cancelled_by_condition(err: ClientError) -> bool:
    reasons = err.response.get("CancellationReasons", [])
    return code_of(err) == "TransactionCanceledException" and any(
        r.get("Code") == "ConditionalCheckFailed" for r in reasons
    )


# Delivery of a recorded decision: still pending, and no live claim on it.
_UNCLAIMED = "delivery = :dp AND (attribute_not_exists(sending_until) OR sending_until <= :now)"


class DynamoApprovalStore:
    def __init__(self, client: Any, table: str, audit: DynamoAuditTrail | None = None) -> None:
        """``audit``: where ``finish`` writes its audit record (needed only by the callback)."""
        self.client = client
        self.table = table
        self.audit = audit

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
        self,
        request_id: str,
        expression: str,
        values: dict[str, Any],
        condition: str = "attribute_exists(id)",
        *,
        returned: bool = False,
    ) -> dict[str, Any] | None:
        """One conditional UpdateItem: the item as updated (with ``returned``; else ``{}``), or None
        when the condition does not hold."""
        try:
            out = self.client.update_item(
                **self._update_args(request_id, expression, values, condition),
                **({"ReturnValues": "ALL_NEW"} if returned else {}),
            )
        except ClientError as err:
            if _conditional_failed(err):
                return None
            raise translate(err) from err
        return dict(out.get("Attributes", {}))

    def _update_args(self, request_id: str, expression: str, values: dict[str, Any], condition: str) -> dict[str, Any]:
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
        return kwargs

    def refresh_token(self, request_id: str, task_token: str) -> bool:
        """Also after a decision was recorded, while it has not reached the workflow: the retried
        task waits on the new token, and the delivery must use it."""
        values = {":t": task_token, ":p": State.PENDING.value, ":dp": Delivery.PENDING.value}
        return self._update(request_id, "SET task_token = :t", values, "#s = :p OR delivery = :dp") is not None

    def mark_notified(self, request_id: str, at: int) -> None:
        self._update(request_id, "SET notified_at = :n", {":n": at})

    def record_decision(
        self, request_id: str, state: State, approver: str, via: str, comment: str, at: int, claim: str, until: int
    ) -> None:
        decided = self._update(
            request_id,
            "SET #s = :s, delivery = :d, decided_by = :a, decided_at = :t, decided_via = :v, #c = :c, "
            "claim_id = :k, sending_until = :u",
            {
                ":s": state.value,
                ":d": Delivery.PENDING.value,
                ":a": approver,
                ":t": at,
                ":v": via,
                ":c": comment,
                ":k": claim,
                ":u": until,
                ":p": State.PENDING.value,
            },
            "#s = :p AND expires_at > :t",  # the single-use write
        )
        if decided is None:
            raise Conflict(f"approval {request_id} is no longer pending")

    def claim(self, request_id: str, claim: str, now: int, until: int) -> ApprovalRequest | None:
        values = {":k": claim, ":u": until, ":now": now, ":dp": Delivery.PENDING.value}
        item = self._update(request_id, "SET claim_id = :k, sending_until = :u", values, _UNCLAIMED, returned=True)
        return from_item(item) if item else None

    def release(self, request_id: str, claim: str) -> None:
        values = {":k": claim, ":dp": Delivery.PENDING.value}
        self._update(request_id, "REMOVE sending_until", values, "claim_id = :k AND delivery = :dp")

    def finish(
        self,
        request_id: str,
        task_token: str,
        delivery: Delivery,
        state: State | None = None,
        audit: AuditEntry | None = None,
    ) -> bool:
        expression = "SET delivery = :d" + (", #s = :s" if state else "") + " REMOVE sending_until"
        values = {":d": delivery.value, ":t": task_token, ":dp": Delivery.PENDING.value}
        if state:
            values[":s"] = state.value
        condition = "delivery = :dp AND task_token = :t"
        if audit is None:
            return self._update(request_id, expression, values, condition) is not None
        if self.audit is None:
            raise RuntimeError("this store writes no audit records (no audit trail)")
        update = self._update_args(request_id, expression, values, condition)
        put = {"TableName": self.audit.table, "Item": self.audit.item(*audit)}
        try:
            self.client.transact_write_items(TransactItems=[{"Update": update}, {"Put": put}])
        except ClientError as err:
            if _cancelled_by_condition(err):
                return False
            raise translate(err) from err
        return True

    def expire(self, request_id: str, at: int) -> bool:
        pending = {":e": State.EXPIRED.value, ":t": at, ":p": State.PENDING.value}
        if self._update(request_id, "SET #s = :e, expired_at = :t", pending, "#s = :p") is not None:
            return True
        undelivered = {
            ":e": State.EXPIRED.value,
            ":t": at,
            ":dp": Delivery.PENDING.value,
            ":l": Delivery.TOO_LATE.value,
        }
        expression = "SET #s = :e, expired_at = :t, delivery = :l REMOVE sending_until"
        return self._update(request_id, expression, undelivered, "delivery = :dp") is not None
