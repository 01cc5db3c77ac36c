"""Adapters of the reputation guard: its DynamoDB state, the SSM kill switch, the reinstate
workflow starter and the reporter (audit trail + outbound events).

The ``guard`` table (pk ``pk``, sk ``sk``) holds three kinds of item:

* ``pk=entity``, ``sk=<entity ARN>``: what Mailwarden did to an entity (disabled at, by which
  rule, the reinstatement's state and workflow execution);
* ``pk=run#<id>``: ``sk=#state`` the run's checkpoint; ``sk=findings#<page>`` each page of the OPEN
  findings the run listed once (so its later invocations read them here, not from SES again);
  ``sk=action#<entity>#<kind>`` each decision;
* ``pk=window``, ``sk=<hour>``: event-driven disables counted against the blast-radius cap.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ..clock import Clock
from ..contracts.metrics import Metric
from ..contracts.names import MailwardenDetailType
from ..contracts.tables import RETENTION_SECONDS
from ..errors import Conflict, NotFound
from ..observability import count
from ..reputation.engine import Decision, Finding, GuardRecord
from ..reputation.ports import PlannedAction
from .audit import DynamoAuditTrail
from .dynamo import batch_put, query_all
from .errors import translate
from .events import EventPublisher
from .killswitch import SsmKillSwitch
from .stepfunctions import start_named

APPLIED_METRIC = {"disable": Metric.ENTITIES_DISABLED, "reinstate": Metric.ENTITIES_REINSTATED}

ENTITY = "entity"


class DynamoGuardStore:
    def __init__(self, client: Any, table: str, clock: Clock) -> None:
        self.client = client
        self.table = table
        self.clock = clock
        self._findings: dict[str, dict[str, list[Finding]]] = {}  # per run; its pages never change

    def _call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return dict(getattr(self.client, op)(TableName=self.table, **kwargs))
        except ClientError as err:
            raise translate(err) from err

    def _query(self, pk: str, prefix: str | None = None) -> list[dict[str, Any]]:
        values = {":pk": {"S": pk}, **({":p": {"S": prefix}} if prefix else {})}
        return query_all(
            self.client,
            TableName=self.table,
            KeyConditionExpression="pk = :pk" + (" AND begins_with(sk, :p)" if prefix else ""),
            ExpressionAttributeValues=values,
            ConsistentRead=True,
        )

    # ------------------------------------------------------------------ entity records

    @staticmethod
    def _record(item: dict[str, Any]) -> GuardRecord:
        def s(name: str) -> str | None:
            return item[name]["S"] if name in item else None

        disabled = s("disabled_at")
        return GuardRecord(
            entity=item["sk"]["S"],
            disabled_at=datetime.fromisoformat(disabled) if disabled else None,
            rule=s("rule") or "",
            reinstatement=s("reinstatement"),
            execution=s("execution"),
        )

    def records(self) -> dict[str, GuardRecord]:
        return {r.entity: r for r in map(self._record, self._query(ENTITY))}

    def record(self, entity: str) -> GuardRecord | None:
        item = self._call("get_item", Key=self._key(ENTITY, entity), ConsistentRead=True).get("Item")
        return self._record(item) if item else None

    @staticmethod
    def _key(pk: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": pk}, "sk": {"S": sk}}

    def mark_disabled(self, entity: str, at: datetime, rule: str, by: str) -> None:
        self._call(
            "update_item",
            Key=self._key(ENTITY, entity),
            UpdateExpression="SET disabled_at = :at, #r = :rule, disabled_by = :by REMOVE reinstatement, execution",
            ExpressionAttributeNames={"#r": "rule"},
            ExpressionAttributeValues={":at": {"S": at.isoformat()}, ":rule": {"S": rule}, ":by": {"S": by}},
        )

    def mark_reinstatement(self, entity: str, state: str, execution: str | None) -> None:
        values: dict[str, Any] = {":s": {"S": state}, ":now": {"S": self.clock.now().isoformat()}}
        update = "SET reinstatement = :s, reinstatement_at = :now"
        if execution:
            update += ", execution = :x"
            values[":x"] = {"S": execution}
        if state == "DONE":
            update += " REMOVE disabled_at"
        self._call(
            "update_item", Key=self._key(ENTITY, entity), UpdateExpression=update, ExpressionAttributeValues=values
        )

    def take_disable_slot(self, window: str, cap: int) -> bool:
        try:
            self._call(
                "update_item",
                Key=self._key("window", window),
                UpdateExpression="ADD n :one SET purge_at = :purge",
                ConditionExpression="attribute_not_exists(n) OR n < :cap",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":cap": {"N": str(cap)},
                    ":purge": {"N": str(int(self.clock.time()) + 7 * 86400)},
                },
            )
        except Conflict:
            return False
        return True

    # ------------------------------------------------------------------ runs

    def load_run(self, run_id: str) -> dict[str, Any] | None:
        item = self._call("get_item", Key=self._key(f"run#{run_id}", "#state"), ConsistentRead=True).get("Item")
        return json.loads(item["state"]["S"]) if item else None

    def save_run(self, run_id: str, state: dict[str, Any]) -> None:
        self._call(
            "put_item",
            Item={
                **self._key(f"run#{run_id}", "#state"),
                "state": {"S": json.dumps(state, default=str)},
                "purge_at": {"N": str(int(self.clock.time()) + RETENTION_SECONDS)},
            },
        )

    def put_findings(self, run_id: str, page: int, findings: list[Finding]) -> None:
        """One page of the run's OPEN findings (a retried page rewrites the same item)."""
        rows = [
            {**f.__dict__, "updated": f.updated.isoformat()}  # Finding is a frozen dataclass of plain values
            for f in findings
        ]
        self._call(
            "put_item",
            Item={
                **self._key(f"run#{run_id}", f"findings#{page:06d}"),
                "findings": {"S": json.dumps(rows)},
                "purge_at": {"N": str(int(self.clock.time()) + RETENTION_SECONDS)},
            },
        )

    def findings(self, run_id: str) -> dict[str, list[Finding]]:
        """The run's OPEN findings by entity, read once per warm process (the pages are final)."""
        if run_id not in self._findings:
            by_entity: dict[str, list[Finding]] = {}
            for item in self._query(f"run#{run_id}", "findings#"):
                for row in json.loads(item["findings"]["S"]):
                    f = Finding(**{**row, "updated": datetime.fromisoformat(row["updated"])})
                    by_entity.setdefault(f.resource, []).append(f)
            self._findings = {run_id: by_entity}  # one run at a time: keep only the latest
        return self._findings[run_id]

    def put_actions(self, run_id: str, decisions: list[Decision]) -> None:
        purge = str(int(self.clock.time()) + RETENTION_SECONDS)
        items = [
            {
                **self._key(f"run#{run_id}", action_key(d)),
                "decision": {"S": json.dumps(d.as_dict())},
                "state": {"S": "PENDING"},
                "purge_at": {"N": purge},
            }
            for d in decisions
        ]
        batch_put(self.client, self.table, items, self.clock)

    def actions(self, run_id: str) -> list[PlannedAction]:
        return [
            PlannedAction(i["sk"]["S"], Decision.from_dict(json.loads(i["decision"]["S"])), i["state"]["S"])
            for i in self._query(f"run#{run_id}", "action#")
        ]

    def mark_action_done(self, run_id: str, key: str) -> None:
        self._call(
            "update_item",
            Key=self._key(f"run#{run_id}", key),
            UpdateExpression="SET #s = :done",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":done": {"S": "DONE"}},
        )


def action_key(d: Decision) -> str:
    return f"action#{d.entity}#{d.kind}"


class ReinstateWorkflow:
    """Starts the reinstate workflow, one execution per entity and disable (deterministic name: a
    redelivered request finds the same execution instead of mailing approvers twice)."""

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self.client = client
        self.arn = state_machine_arn

    def start(self, decision: Decision, record: GuardRecord, request: dict[str, Any]) -> str:
        epoch = int(record.disabled_at.timestamp()) if record.disabled_at else 0
        name = f"reinstate-{hashlib.sha256(decision.entity.encode()).hexdigest()[:24]}-{epoch}"
        payload = {"entity": decision.entity, "decision": decision.as_dict(), "approvalRequest": request}
        return start_named(self.client, self.arn, name, payload)[0]


class GuardReporter:
    """Audit records (subject: the entity; or the run) and ``Reputation Action`` events, batched."""

    def __init__(self, audit: DynamoAuditTrail, events: EventPublisher) -> None:
        self.audit = audit
        self.events = events

    def decisions(self, items: list[tuple[Decision, str, str]], context: dict[str, Any]) -> None:
        if not items:
            return
        records = []
        events = []
        for d, outcome, note in items:
            reason = d.reason + (f"; {note}" if note else "")
            detail = {"schemaVersion": "1", "outcome": outcome, "note": note, "line": d.line(), **context}
            detail["action"] = d.as_dict()
            records.append(
                (d.entity, f"reputation.{d.kind}", outcome, context.get("actor", "mailwarden"), reason, detail)
            )
            events.append((MailwardenDetailType.REPUTATION_ACTION, detail, [d.entity]))
        self.audit.record_many(records)
        self.events.publish_many(events)
        applied = [d.kind for d, outcome, _ in items if outcome == "applied"]
        count(Metric.REPUTATION_ACTIONS_APPLIED, len(applied))
        for kind in ("disable", "reinstate"):
            count(APPLIED_METRIC[kind], applied.count(kind))

    def run(self, summary: dict[str, Any]) -> None:
        self.audit.record(
            f"run#{summary['runId']}",
            "reputation.run",
            summary.get("outcome", ""),
            summary.get("actor") or f"mailwarden:{summary.get('trigger', '')}",
            f"{summary.get('entities', 0)} entities, "
            + ", ".join(f"{k}={v}" for k, v in (summary.get("counts") or {}).items()),  # read by people (audit)
            summary,
        )
        self.events.publish(MailwardenDetailType.REPUTATION_RUN_COMPLETED, summary, [])


__all__ = ["DynamoGuardStore", "GuardReporter", "NotFound", "ReinstateWorkflow", "SsmKillSwitch", "action_key"]
