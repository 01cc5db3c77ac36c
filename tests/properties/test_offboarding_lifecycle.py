"""Issue 18: the offboarding lifecycle as a hypothesis state machine, through the real triggers on
one local deployment (a fresh organization per example): leavers requested and re-sent (same or new
request id), approvals approved or rejected, expiries, crashes after a step, operator stops
(StopExecution), restores and a human registering a user again. After every step:

- at most one offboarding workflow in flight per user, and a request for a user with one in flight
  is answered with that one;
- nothing is deleted unless a human approved its deletion;
- a restore returns exactly what the user had before Mailwarden first changed it;
and at the end every user reaches its end (DELETED) by sending the request again and approving."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from mailwarden.contracts.names import OperatorDetailType

from tests.approval_support import awaiting, decide
from tests.properties import stateful
from tests.properties.mutations import CASES
from tests.workmail_support import Org, offboard, request

NAME = "workmail offboarding lifecycle (steps)"
USERS = ("alice", "bob")
STEPS = ("snapshot", "strip", "deregister", "confirm-disabled")
_ORGS = itertools.count()


pytestmark = pytest.mark.usefixtures("machine_deployment")


class Offboardings(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.d = stateful.deployment()
        n = next(_ORGS)
        self.org = Org(self.d, self.d.emu.control.add_organization(f"prop{n}", f"prop{n}.example.com"), "")
        self.org.domain = f"prop{n}.example.com"
        for name in (*USERS, "carol"):
            self.org.user(name)
        self.org.group("sales", "alice", "bob")
        self.org.grant("alice", "carol", "FULL_ACCESS")
        self.org.alias("bob", "robert")
        self.ids = itertools.count()
        self.prefix = f"p{n}"  # execution names are per state machine, not per organization
        self.last: dict[str, str] = {}  # user -> its last request id
        self.inflight: dict[str, tuple[str, str]] = {}  # user -> (request id, execution) waiting for approval
        self.approved: set[str] = set()  # users a human approved the deletion of
        self.before: dict[str, dict[str, Any]] = {}  # user -> its access before Mailwarden first changed it

    def _step(self) -> None:
        CASES[NAME] += 1

    def _settle(self, arn: str) -> bool:
        """Wait until the execution waits for its approval (True) or has ended (False)."""
        self.d.wait_until(lambda: self.d.waiting(arn) or self.d.execution(arn)["status"] != "RUNNING", arn)
        return self.d.execution(arn)["status"] == "RUNNING"

    # ------------------------------------------------------------------ rules

    @rule(user=st.sampled_from(USERS), fresh=st.booleans())
    def send(self, user: str, fresh: bool) -> None:
        self._step()
        if self.org.state(user) == "DELETED":
            return
        rid = self.last.get(user) if not fresh and user in self.last else f"{self.prefix}-hr-{next(self.ids)}"
        assert rid is not None
        self.before.setdefault(user, self.org.access(user))
        [out] = offboard(self.d, self.org, self.org.email(user), export=False, requestId=rid)
        running = self.inflight.get(user)
        if running and running[0] != rid:
            assert (out["status"], out["requestId"]) == ("already-running", running[0]), out
            return
        if running:
            assert out["status"] == "duplicate", out
            return
        self.last[user] = rid
        if out["status"] in ("started", "duplicate") and self._settle(out["execution"]):
            self.inflight[user] = (rid, out["execution"])

    @rule(user=st.sampled_from(USERS), approve=st.booleans())
    def decide(self, user: str, approve: bool) -> None:
        self._step()
        if user not in self.inflight:
            return
        _, arn = self.inflight.pop(user)
        assert decide(self.d, awaiting(self.d, arn), "approve" if approve else "reject") == 200
        if approve:
            self.approved.add(user)
        self.d.finished(arn)

    @rule(step=st.sampled_from(STEPS))
    def crash_next(self, step: str) -> None:
        self._step()
        self.d.crash_after(step)

    @precondition(lambda self: bool(self.inflight))
    @rule(user=st.sampled_from(USERS))
    def operator_stops(self, user: str) -> None:
        self._step()
        if user not in self.inflight:
            return
        _, arn = self.inflight.pop(user)
        self.d.emu.client("stepfunctions").stop_execution(executionArn=arn, cause="operator")
        self.d.finished(arn)

    @precondition(lambda self: bool(self.inflight))
    @rule()
    def expire(self) -> None:
        self._step()
        self.d.emu.control.advance(timedelta(seconds=self.d.approval_timeout_seconds + 1))
        for _, arn in self.inflight.values():
            self.d.finished(arn)
        self.inflight.clear()

    @rule(user=st.sampled_from(USERS))
    def restore(self, user: str) -> None:
        self._step()
        if user in self.inflight:
            return  # (a restore while its deletion awaits approval is another story: the delete is refused)
        detail = {"organizationId": self.org.id, "user": self.org.email(user), "requestedBy": "it", "reason": "back"}
        [out] = request(self.d, OperatorDetailType.RESTORE_REQUESTED, detail)
        if out["status"] == "restored":
            assert self.org.access(user) == self.before.pop(user), out  # exactly the pre-Mailwarden state
            assert self.org.state(user) == "ENABLED"

    @rule(user=st.sampled_from(USERS))
    def human_registers_again(self, user: str) -> None:
        self._step()
        if self.org.state(user) == "DISABLED":
            self.org.wm.register_to_work_mail(
                OrganizationId=self.org.id, EntityId=self.org.users[user], Email=self.org.email(user)
            )

    # ------------------------------------------------------------------ invariants

    @invariant()
    def one_workflow_per_user(self) -> None:
        sfn = self.d.emu.client("stepfunctions")
        arn = self.d.state_machines["workmail-offboard"]
        users = [
            json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])["user"]
            for e in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
        ]
        mine = [u for u in users if u in {self.org.users[n] for n in USERS}]
        assert len(mine) == len(set(mine)), mine

    @invariant()
    def nothing_deleted_unless_approved(self) -> None:
        for user in USERS:
            if self.org.state(user) == "DELETED":
                assert user in self.approved, user

    def teardown(self) -> None:
        """Every user reaches its end: the request sent again (a new id) and approved."""
        self.d.crashes.clear()  # (a crash armed by the last step would hit this request)
        try:
            for user in USERS:
                if self.org.state(user) == "DELETED":
                    continue
                if user not in self.inflight:
                    rid = f"{self.prefix}-final-{user}"
                    [out] = offboard(self.d, self.org, self.org.email(user), export=False, requestId=rid)
                    assert out["status"] in ("started", "already-running"), out
                    self.inflight[user] = (out["requestId"], out["execution"])
                _, arn = self.inflight.pop(user)
                decide(self.d, awaiting(self.d, arn))
                self.d.finished(arn)
                assert self.org.state(user) == "DELETED", user
        finally:
            self.d.crashes.clear()


Offboardings.TestCase.settings = settings(
    max_examples=2,
    stateful_step_count=12,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
TestOffboardings = Offboardings.TestCase
