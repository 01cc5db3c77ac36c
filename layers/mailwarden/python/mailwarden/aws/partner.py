"""Partner Central adapters: connection preferences (seed 003), the widening-approval record (guard
table) and the widening workflow's starter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ..clock import Clock, iso
from ..errors import AccessDenied, Conflict, Rejected
from ..partner.model import SOME, Access, Current
from ..partner.ports import ExecutionStatus, WideningRecord
from .errors import code_of, translate
from .stepfunctions import start_named


class PartnerCentralPreferences:
    """GetConnectionPreferences / UpdateConnectionPreferences. Note the names: the request's list is
    ``ExcludedParticipantIdentifiers``, the response's ``ExcludedParticipantIds``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, catalog: str) -> Current:
        return _current(self._call("GetConnectionPreferences", catalog, Catalog=catalog))

    def update(self, catalog: str, revision: int, target: Access) -> Current:
        kwargs: dict[str, Any] = {"Catalog": catalog, "Revision": revision, "AccessType": target.access_type}
        if target.access_type == SOME:
            kwargs["ExcludedParticipantIdentifiers"] = sorted(target.excluded)
        return _current(self._call("UpdateConnectionPreferences", catalog, **kwargs))

    def _call(self, action: str, catalog: str, **kwargs: Any) -> dict[str, Any]:
        method = getattr(
            self.client, "get_connection_preferences" if action.startswith("Get") else "update_connection_preferences"
        )
        try:
            return dict(method(**kwargs))
        except ClientError as err:
            code, message = code_of(err), err.response.get("Error", {}).get("Message", "")
            if code == "AccessDeniedException":
                raise AccessDenied(
                    f"partnercentral:{action} was denied for catalog {catalog}. Mailwarden's partner_connections role "
                    f"needs partnercentral:{action} on Resource '*' with the condition partnercentral:Catalog = "
                    f"{catalog}; the stack grants it for the catalogs the policy lists, so look for a catalog missing "
                    "from the deployed policy, a service control policy, a permissions boundary, or an account not "
                    f"linked to Partner Central. AWS said: {message}"
                ) from err
            if code == "ValidationException":
                raise Rejected(f"Partner Central refused {action} for catalog {catalog}: {message}") from err
            raise translate(err) from err


def _current(out: dict[str, Any]) -> Current:
    access_type = out["AccessType"]
    excluded = frozenset(out.get("ExcludedParticipantIds") or ()) if access_type == SOME else frozenset()
    updated = out.get("UpdatedAt")
    return Current(
        catalog=out["Catalog"],
        access=Access(access_type, excluded),
        revision=int(out["Revision"]),
        arn=str(out.get("Arn") or ""),
        updated_at=updated.isoformat() if isinstance(updated, datetime) else str(updated or ""),
    )


class DynamoWideningStore:
    """One item per catalog in the guard table: ``pk = partner#<catalog>``, ``sk = widening``."""

    def __init__(self, client: Any, table: str, clock: Clock) -> None:
        self.client = client
        self.table = table
        self.clock = clock

    @staticmethod
    def _key(catalog: str) -> dict[str, Any]:
        return {"pk": {"S": f"partner#{catalog}"}, "sk": {"S": "widening"}}

    def load(self, catalog: str) -> WideningRecord | None:
        try:
            item = self.client.get_item(TableName=self.table, Key=self._key(catalog), ConsistentRead=True).get("Item")
        except ClientError as err:
            raise translate(err) from err
        if not item:
            return None
        return WideningRecord(
            item["fingerprint"]["S"], item["state"]["S"], item["execution"]["S"], int(item["attempts"]["N"])
        )

    def save(self, catalog: str, record: WideningRecord, replaces: WideningRecord | None) -> bool:
        item = {
            **self._key(catalog),
            "fingerprint": {"S": record.fingerprint},
            "state": {"S": record.state},
            "execution": {"S": record.execution},
            "attempts": {"N": str(record.attempts)},
            "updated_at": {"S": iso(self.clock.time())},
        }
        if replaces is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#execution = :execution AND #state = :state",
                "ExpressionAttributeNames": {"#execution": "execution", "#state": "state"},
                "ExpressionAttributeValues": {
                    ":execution": {"S": replaces.execution},
                    ":state": {"S": replaces.state},
                },
            }
        try:
            self.client.put_item(TableName=self.table, Item=item, **condition)
        except ClientError as err:
            error = translate(err)
            if isinstance(error, Conflict):  # ConditionalCheckFailed: another run or step changed it first
                return False
            raise error from err
        return True


class WideningWorkflow:
    """The widening workflow's executions, under deterministic names (the record names the ARN
    before the execution starts; a second start of the same name finds the first)."""

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self.client = client
        self.arn = state_machine_arn

    def execution_arn(self, name: str) -> str:
        return self.arn.replace(":stateMachine:", ":execution:") + f":{name}"

    def start(self, name: str, payload: dict[str, Any]) -> tuple[str, bool]:
        return start_named(self.client, self.arn, name, payload)

    def describe(self, execution: str) -> ExecutionStatus | None:
        try:
            out = self.client.describe_execution(executionArn=execution)
        except ClientError as err:
            if code_of(err) == "ExecutionDoesNotExist":
                return None
            raise translate(err) from err
        return ExecutionStatus(str(out["status"]), str(out.get("error") or ""), str(out.get("cause") or ""))

    def stop(self, execution: str, cause: str) -> None:
        """Stop ``execution`` if it still runs (an execution that ended keeps the end it had)."""
        status = self.describe(execution)
        if status is None or not status.running:
            return
        # error and cause are plain text: the workflows are not encrypted with a customer key (with one,
        # StopExecution would need kms permissions for them)
        try:
            self.client.stop_execution(executionArn=execution, error="Mailwarden.Superseded", cause=cause[:32_768])
        except ClientError as err:
            raise translate(err) from err
