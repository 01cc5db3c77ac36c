"""The approval lifecycle as a hypothesis state machine (issue 18): one waiting workflow per example,
on one shared local deployment, driven by clicks through the link API, parallel clicks (threads
calling the callback's ``decide`` together, as concurrent Lambda instances would), a page view,
Step Functions refusing the send, a callback dying after its send resumed the workflow, approvers
removed from and put back on ``mailwarden:approverEmails``, the timeout and an operator's
StopExecution. After every step:

* the workflow was resumed at most once, and Step Functions was sent at most one token per
  failure the example injected plus one (no double send);
* the record tells the truth: PENDING or EXPIRED only if the gate was not resumed; APPROVED or
  REJECTED as the gate was resumed; ``delivered`` only with the gate resumed by that decision;
* the audit trail holds one ``accepted`` record exactly when the decision was delivered, naming the
  recorded approver; at most one page ever said "Recorded", to that approver;
* a removed approver is refused (403 ``revoked``) and changes nothing; a page view changes nothing.

At the end of each example (teardown) every state must reach its end by one more click (or the
timeout): the record is terminal and matches the execution's history.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from mailwarden import wiring
from mailwarden.approvals.model import Attempt, Decision, GateOutcome
from mailwarden.aws.audit import DynamoAuditTrail
from mailwarden.aws.stepfunctions import StepFunctionsResumer
from mailwarden.contracts.functions import APPROVAL_CALLBACK

from local.deployment import APPROVERS, LocalDeployment
from tests.approval_support import Pending, form, start_approval
from tests.properties.mutations import CASES

STEPS = "approval lifecycle (state machine steps)"
RULES: Counter[str] = Counter()  # steps per rule, printed with the total
EXAMPLES = int(os.environ.get("LIFECYCLE_EXAMPLES", "5"))
STEPS_PER_EXAMPLE = 8

approvers = st.sampled_from(APPROVERS)
decisions = st.sampled_from(["approve", "reject"])
RESUMED = {GateOutcome.APPROVED: "APPROVED", GateOutcome.REJECTED: "REJECTED"}


def lifecycle(d: LocalDeployment) -> type[RuleBasedStateMachine]:
    class ApprovalLifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            d.emu.control.clear_faults()
            d.set_approvers(APPROVERS)
            self.pending: Pending = start_approval(d)
            self.sends_before = self._sends()
            self.failures = 0  # sends that may have to be repeated (a failure injected)
            self.recorded_pages: list[str] = []  # approvers whose page said "Recorded"
            self.revoked: set[str] = set()

        # ------------------------------------------------------------------ helpers

        def _sends(self) -> int:
            """SendTask calls that reached Step Functions (not those the emulator failed on purpose)."""
            ops = ("sfn.SendTaskSuccess", "sfn.SendTaskFailure")
            injected = sum(d.emu.dispatcher.outcomes[f"{op}:InternalFailure"] for op in ops)
            return sum(d.emu.calls[op] for op in ops) - injected

        def _record(self) -> dict[str, Any]:
            item = d.emu.client("dynamodb").get_item(
                TableName=d.tables["approvals"], Key={"id": {"S": self.pending.request_id}}
            )["Item"]
            return {k: v.get("S", v.get("N")) for k, v in item.items()}

        def _gate(self) -> GateOutcome:
            resumer = StepFunctionsResumer(d.emu.client("stepfunctions"))
            return resumer.gate_outcome(self.pending.execution_arn, self._record()["gate"])

        def _running(self) -> bool:
            return str(d.execution(self.pending.execution_arn)["status"]) == "RUNNING"

        def _post(self, approver: str, decision: str) -> Any:
            url, fields = form(self.pending.link(decision, approver))
            response = d.http("POST", url, fields)
            if response.status == 200:
                self.recorded_pages.append(approver)
            return response

        def _step(self) -> None:
            CASES[STEPS] += 1
            RULES[inspect.stack()[1].function] += 1

        # ------------------------------------------------------------------ rules

        @rule(approver=approvers, decision=decisions)
        def click(self, approver: str, decision: str) -> None:
            self._step()
            before = self._record()
            response = self._post(approver, decision)
            if approver in self.revoked:
                assert response.status == 403 and "no longer an approver" in response.body
                assert self._record() == before
            elif before["state"] == "PENDING" and self._running():
                assert response.status == 200, response.body  # it waits, nothing fails: the decision lands
                assert self._record()["decided_by"] == approver

        @rule(n=st.integers(min_value=2, max_value=6), data=st.data())
        def parallel_clicks(self, n: int, data: st.DataObject) -> None:
            self._step()
            clicks = [(data.draw(approvers), data.draw(decisions)) for _ in range(n)]
            with mock.patch.dict(os.environ, d.env_for(APPROVAL_CALLBACK)):
                approvals = wiring.approval_callback().approvals
                barrier = threading.Barrier(n, timeout=10)

                def click(approver_decision: tuple[str, str]) -> Any:
                    approver, decision = approver_decision
                    _, f = form(self.pending.link(decision, approver))
                    barrier.wait()
                    attempt = Attempt(
                        self.pending.request_id, Decision(decision), approver, int(f["expires"]), f["sig"], "link"
                    )
                    return approvals.decide(attempt)

                with ThreadPoolExecutor(n) as pool:
                    outcomes = list(pool.map(click, clicks))
            accepted = [o for o in outcomes if o.accepted]
            assert len(accepted) <= 1
            self.recorded_pages += [o.request.decided_by for o in accepted]
            for (approver, _), outcome in zip(clicks, outcomes, strict=True):
                if approver in self.revoked:
                    assert outcome.refusal is not None and outcome.refusal.value == "revoked"

        @rule()
        def view(self) -> None:
            self._step()
            before, sends = self._record(), self._sends()
            d.http("GET", self.pending.link("approve", APPROVERS[0]))
            assert self._record() == before and self._sends() == sends

        @rule(approver=approvers, decision=decisions)
        def click_while_step_functions_fails(self, approver: str, decision: str) -> None:
            self._step()
            d.emu.control.inject("sfn", "SendTaskSuccess", error_rate=1.0)
            d.emu.control.inject("sfn", "SendTaskFailure", error_rate=1.0)
            try:
                self._post(approver, decision)
            finally:
                d.emu.control.clear_faults()
            self.failures += 1

        @rule(approver=approvers, decision=decisions)
        def click_that_dies_after_sending(self, approver: str, decision: str) -> None:
            """The send resumes the workflow; recording its end (and its audit record) fails."""
            self._step()
            d.emu.control.inject("dynamodb", "TransactWriteItems", error_rate=1.0)
            try:
                self._post(approver, decision)
            finally:
                d.emu.control.clear_faults()
            self.failures += 1

        @precondition(lambda self: len(self.revoked) < len(APPROVERS) - 1)
        @rule(approver=approvers)
        def remove_approver(self, approver: str) -> None:
            self._step()
            self.revoked.add(approver)
            d.set_approvers(tuple(a for a in APPROVERS if a not in self.revoked))

        @precondition(lambda self: bool(self.revoked))
        @rule()
        def restore_approvers(self) -> None:
            self._step()
            self.revoked.clear()
            d.set_approvers(APPROVERS)

        @rule()
        def time_passes_beyond_the_timeout(self) -> None:
            self._step()
            d.emu.clock.advance(d.approval_timeout_seconds + 1)
            d.finished(self.pending.execution_arn)
            d.wait_until(lambda: self._record()["state"] != "PENDING" or self._gate() is not GateOutcome.WAITING, "")

        @precondition(lambda self: self._running())
        @rule()
        def operator_stops_the_workflow(self) -> None:
            self._step()
            d.emu.client("stepfunctions").stop_execution(executionArn=self.pending.execution_arn, error="Operator")

        # ------------------------------------------------------------------ invariants

        @invariant()
        def sent_at_most_once_per_failure(self) -> None:
            assert self._sends() - self.sends_before <= 1 + self.failures

        @invariant()
        def the_record_tells_the_truth(self) -> None:
            item, gate = self._record(), self._gate()
            if gate in RESUMED:
                assert item["state"] == RESUMED[gate], (item, gate)
                assert item["delivery"] in ("delivered", "pending")
            else:
                assert item["state"] != "EXPIRED" or item.get("delivery") in ("too_late", "none", None)
                assert item.get("delivery") != "delivered", (item, gate)
            trail = DynamoAuditTrail(d.emu.client("dynamodb"), d.tables["audit"], d.emu.clock)
            accepted = [e for e in trail.entries(f"approval#{item['id']}") if e["outcome"] == "accepted"]
            if item.get("delivery") == "delivered":
                assert [e["actor"] for e in accepted] == [item["decided_by"]]
            else:
                assert accepted == []
            assert len(self.recorded_pages) <= 1 and set(self.recorded_pages) <= {item.get("decided_by")}

        def teardown(self) -> None:
            """Every state reaches its end: one more click by a configured approver (or the timeout)."""
            d.emu.control.clear_faults()
            d.set_approvers(APPROVERS)
            self.revoked.clear()
            if self._record()["delivery"] in ("pending", "none"):
                self._post(APPROVERS[1], "approve")
            if self._running() and self._record()["state"] == "PENDING":
                self.time_passes_beyond_the_timeout()
            item, gate = self._record(), self._gate()
            assert not self._running()
            assert (item["state"], item["delivery"]) in {
                ("APPROVED", "delivered"),
                ("REJECTED", "delivered"),
                ("EXPIRED", "too_late"),
                ("EXPIRED", "none"),
            }, item
            assert item["state"] == RESUMED.get(gate, "EXPIRED")
            self.the_record_tells_the_truth()

    return ApprovalLifecycle


@pytest.fixture(scope="module")
def lifecycle_deployment(shared: LocalDeployment) -> Iterator[LocalDeployment]:
    yield shared
    shared.set_approvers(APPROVERS)


def test_the_approval_lifecycle_converges(lifecycle_deployment: LocalDeployment) -> None:
    before = CASES[STEPS]
    run_state_machine_as_test(
        lifecycle(lifecycle_deployment),
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS_PER_EXAMPLE,
            derandomize=True,
            database=None,
            phases=(Phase.explicit, Phase.generate),  # no shrinking: a failure is reported as found, in bounded time
        ),
    )
    assert CASES[STEPS] > before
    print(f"\n{STEPS}: {CASES[STEPS] - before} steps in {EXAMPLES} examples: {dict(sorted(RULES.items()))}")
