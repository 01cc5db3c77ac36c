"""Adapters of the organization exit: its state and per-user results in the offboarding table, the
organization's claim (one exit in flight per organization), and stopping its workflow on a rollback."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from ..clock import Clock
from ..contracts.tables import RETENTION_SECONDS
from ..workmail.ports import Claim
from .dynamo import query_all
from .errors import code_of, translate

ROLLED_BACK = "Mailwarden.ExitRolledBack"


class DynamoExitStore:
    """``EXIT#<id>``/``STATE``: the exit's state (JSON, versioned: a write based on a stale read
    is retried on the fresh one); ``EXIT#<id>``/``USER#<id>``: one result per mailbox;
    ``ORG#<org>``/``EXIT``: which exit holds the organization."""

    def __init__(self, client: Any, table: str, clock: Clock) -> None:
        self.client = client
        self.table = table
        self.clock = clock

    def _purge(self) -> dict[str, Any]:
        return {"N": str(int(self.clock.time()) + RETENTION_SECONDS)}

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        try:
            item = self.client.get_item(TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        except ClientError as err:
            raise translate(err) from err
        return dict(item) if item else None

    @staticmethod
    def _state_key(exit_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"EXIT#{exit_id}"}, "sk": {"S": "STATE"}}

    def exit_state(self, exit_id: str) -> dict[str, Any] | None:
        item = self._get(self._state_key(exit_id))
        return json.loads(item["state"]["S"]) if item else None

    def update_exit(self, exit_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into the state (a ``None`` value removes the key): read, write if the
        version is still the one read (a rollback and a workflow step may write at once)."""
        for _ in range(10):
            item = self._get(self._state_key(exit_id))
            version = int(item["version"]["N"]) if item else 0
            state = json.loads(item["state"]["S"]) if item else {}
            state = {k: v for k, v in {**state, **changes}.items() if v is not None}
            new = {
                **self._state_key(exit_id),
                "state": {"S": json.dumps(state, default=str)},
                "version": {"N": str(version + 1)},
                "purge_at": self._purge(),
            }
            condition = "version = :v" if item else "attribute_not_exists(pk)"
            values = {":v": {"N": str(version)}} if item else {}
            try:
                self.client.put_item(
                    TableName=self.table,
                    Item=new,
                    ConditionExpression=condition,
                    **({"ExpressionAttributeValues": values} if values else {}),
                )
            except ClientError as err:
                if code_of(err) == "ConditionalCheckFailedException":
                    continue
                raise translate(err) from err
            return state
        raise RuntimeError(f"exit {exit_id}: its state kept changing under ten consecutive writes")

    def record_exit_user(self, exit_id: str, user_id: str, result: dict[str, Any]) -> None:
        """Merge ``result`` into the mailbox's result (only its own step writes one user's item)."""
        key = {"pk": {"S": f"EXIT#{exit_id}"}, "sk": {"S": f"USER#{user_id}"}}
        item = self._get(key)
        merged = {**(json.loads(item["result"]["S"]) if item else {}), **result}
        try:
            self.client.put_item(
                TableName=self.table,
                Item={**key, "result": {"S": json.dumps(merged, default=str)}, "purge_at": self._purge()},
            )
        except ClientError as err:
            raise translate(err) from err

    def exit_user(self, exit_id: str, user_id: str) -> dict[str, Any]:
        """One mailbox's result (one GetItem: a per-mailbox step never reads the others')."""
        item = self._get({"pk": {"S": f"EXIT#{exit_id}"}, "sk": {"S": f"USER#{user_id}"}})
        return json.loads(item["result"]["S"]) if item else {}

    def exit_users(self, exit_id: str) -> dict[str, dict[str, Any]]:
        rows = query_all(
            self.client,
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :user)",
            ExpressionAttributeValues={":pk": {"S": f"EXIT#{exit_id}"}, ":user": {"S": "USER#"}},
            ConsistentRead=True,
        )
        return {r["sk"]["S"].removeprefix("USER#"): json.loads(r["result"]["S"]) for r in rows}

    def claim_organization(self, org: str, exit_id: str, *, replacing: str | None = None) -> Claim:
        """Make ``exit_id`` the organization's exit unless another holds it (``replacing``: only
        instead of that one); the holder after the call."""
        key = {"pk": {"S": f"ORG#{org}"}, "sk": {"S": "EXIT"}}
        now = self.clock.time()
        item = {**key, "request": {"S": exit_id}, "since": {"N": str(now)}, "purge_at": self._purge()}
        if replacing is None:
            condition, values = "attribute_not_exists(pk) OR #request = :request", {":request": {"S": exit_id}}
        else:
            condition, values = "#request = :holder", {":holder": {"S": replacing}}
        try:
            self.client.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#request": "request"},
                ExpressionAttributeValues=values,
            )
            return Claim(exit_id, now)
        except ClientError as err:
            if code_of(err) != "ConditionalCheckFailedException":
                raise translate(err) from err
        held = self._get(key)
        if held is None:
            return self.claim_organization(org, exit_id)
        return Claim(held["request"]["S"], float(held["since"]["N"]))


class StepFunctionsExecutions:
    def __init__(self, client: Any) -> None:
        self.client = client

    def stop(self, execution_arn: str, cause: str) -> bool:
        """Stop the exit's execution if it still runs; ``False`` when it had ended (or never ran)."""
        try:
            status = self.client.describe_execution(executionArn=execution_arn)["status"]
            if status != "RUNNING":
                return False
            self.client.stop_execution(executionArn=execution_arn, error=ROLLED_BACK, cause=cause[:32_768])
        except ClientError as err:
            if code_of(err) == "ExecutionDoesNotExist":
                return False
            raise translate(err) from err
        return True
