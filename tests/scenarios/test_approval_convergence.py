"""Issue 18, approvals: decisions converge on one truthful state. Thirty clicks in parallel (thirty
Lambda instances: threads calling the callback's ``decide`` together, since the harness runs one
handler at a time) resume the workflow with exactly one SendTask call, and the record, the audit
trail and every approver's page say what happened; a sender that died after resuming is finished
by the next click, not reported expired; an approver removed from ``mailwarden:approverEmails``
after the request went out is refused when deciding (audited, nothing resumed)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock

from mailwarden import wiring
from mailwarden.approvals.model import Attempt, Decision, Outcome
from mailwarden.contracts.functions import APPROVAL_CALLBACK

from local.deployment import LocalDeployment
from tests.approval_support import OPS, SEC, Pending, audit, form, request_item, start_approval


def sends(deployment: LocalDeployment) -> int:
    return deployment.emu.calls["sfn.SendTaskSuccess"] + deployment.emu.calls["sfn.SendTaskFailure"]


def attempt(pending: Pending, decision: str, approver: str) -> Attempt:
    _, f = form(pending.link(decision, approver))
    return Attempt(pending.request_id, Decision(decision), approver, int(f["expires"]), f["sig"], "link")


def post(deployment: LocalDeployment, pending: Pending, decision: str = "approve", approver: str = OPS) -> Any:
    url, fields = form(pending.link(decision, approver))
    return deployment.http("POST", url, fields)


def test_thirty_parallel_clicks_resume_once_and_everything_says_approved(deployment: LocalDeployment) -> None:
    """The winner's SendTaskSuccess is held until the 29 others have answered: every one of them
    meets a decision recorded and not yet delivered (the window in which the old code sent the
    token again, got TaskTimedOut and marked the approved request EXPIRED / too_late)."""
    pending = start_approval(deployment)
    clicks = [("approve", OPS if i % 3 else SEC) for i in range(30)]  # double clicks and both approvers
    others_done = threading.Event()
    answered: list[Outcome] = []
    with mock.patch.dict(os.environ, deployment.env_for(APPROVAL_CALLBACK)):
        approvals = wiring.approval_callback().approvals
        resumer = approvals.resumer.client  # type: ignore[union-attr]

        def hold(**_: Any) -> None:
            others_done.wait(timeout=10)

        resumer.meta.events.register("before-call.sfn.SendTaskSuccess", hold)
        start = threading.Barrier(len(clicks), timeout=10)

        def click(decision_approver: tuple[str, str]) -> Outcome:
            start.wait()
            outcome = approvals.decide(attempt(pending, *decision_approver))
            answered.append(outcome)
            if sum(not o.accepted for o in answered) == len(clicks) - 1:
                others_done.set()
            return outcome

        try:
            with ThreadPoolExecutor(len(clicks)) as pool:
                outcomes = list(pool.map(click, clicks))
        finally:
            resumer.meta.events.unregister("before-call.sfn.SendTaskSuccess", hold)
    assert others_done.is_set(), "the 29 others did not all answer while the winner was sending"
    # One SendTaskSuccess, one resume
    assert sends(deployment) == 1
    assert deployment.finished(pending.execution_arn)["status"] == "SUCCEEDED"
    # The record tells the truth
    winner = next(o for o in outcomes if o.accepted)
    item = request_item(deployment, pending.request_id)
    assert (item["state"], item["delivery"]) == ("APPROVED", "delivered")
    assert item["decided_by"] == winner.request.decided_by  # type: ignore[union-attr]
    # The pages: one "Recorded", 29 "already approved", none says expired or too late
    assert sum(o.accepted for o in outcomes) == 1
    assert {o.refusal.value for o in outcomes if not o.accepted} == {"already_decided"}  # type: ignore[union-attr]
    assert all("Already approved by" in o.message for o in outcomes if not o.accepted)
    # The audit trail: one acceptance (by the recorded approver), 29 refusals, no expiry
    trail = audit(deployment, pending.request_id)
    accepted = [e for e in trail if e["outcome"] == "accepted"]
    assert len(accepted) == 1 and accepted[0]["actor"] == item["decided_by"]
    assert sum(e["outcome"] == "refused" for e in trail) == 29
    assert not [e for e in trail if e["what"] == "approval.expired" or "too_late" in str(e["detail"])]


def test_a_click_after_the_decision_was_delivered_sends_nothing(deployment: LocalDeployment) -> None:
    pending = start_approval(deployment)
    assert post(deployment, pending).status == 200
    again = post(deployment, pending)  # the double click, after the first one finished
    assert again.status == 409 and "Already approved by ops-lead@example.com" in again.body
    assert sends(deployment) == 1
    item = request_item(deployment, pending.request_id)
    assert (item["state"], item["delivery"]) == ("APPROVED", "delivered")


def test_a_sender_that_died_after_resuming_is_finished_as_delivered_by_the_next_click(
    deployment: LocalDeployment,
) -> None:
    """SendTaskSuccess reached the workflow, then the callback failed before recording it (its
    write failed). The next click's send is answered TaskTimedOut; the execution's history shows
    the gate was approved, so the record says delivered, not expired."""
    pending = start_approval(deployment)
    deployment.emu.control.inject("dynamodb", "TransactWriteItems", error_rate=1.0)
    first = post(deployment, pending)
    deployment.emu.control.clear_faults()
    assert first.status == 503
    assert deployment.finished(pending.execution_arn)["status"] == "SUCCEEDED"  # it was resumed
    item = request_item(deployment, pending.request_id)
    assert (item["state"], item["delivery"]) == ("APPROVED", "pending")
    second = post(deployment, pending)  # the approver submits again, as the 503 page asks
    assert second.status == 200 and "Recorded" in second.body
    item = request_item(deployment, pending.request_id)
    assert (item["state"], item["delivery"], item["decided_by"]) == ("APPROVED", "delivered", OPS)
    trail = audit(deployment, pending.request_id)
    assert [e["actor"] for e in trail if e["outcome"] == "accepted"] == [OPS]
    assert not [e for e in trail if e["what"] == "approval.expired"]


def test_an_approver_removed_after_the_request_went_out_is_refused_at_decision_time(
    deployment: LocalDeployment,
) -> None:
    pending = start_approval(deployment)  # mailed to both approvers
    deployment.set_approvers((SEC,))  # OPS is removed from mailwarden:approverEmails (a redeploy)
    page = deployment.http("GET", pending.link("approve", OPS))
    assert page.status == 403 and "no longer an approver" in page.body
    refused = post(deployment, pending, "approve", OPS)
    assert refused.status == 403 and "no longer an approver" in refused.body
    assert sends(deployment) == 0
    assert deployment.execution(pending.execution_arn)["status"] == "RUNNING"
    assert request_item(deployment, pending.request_id)["state"] == "PENDING"
    trail = audit(deployment, pending.request_id)
    revoked = [e for e in trail if e["outcome"] == "refused" and e["detail"]["refusal"] == "revoked"]
    assert revoked and {e["actor"] for e in revoked} == {OPS}
    deployment.deliver()
    assert "revoked" in [
        e["detail"]["refusal"] for e in deployment.published if e["detail-type"] == "Approval Attempt Refused"
    ]
    # the approver still configured decides
    assert post(deployment, pending, "reject", SEC).status == 200
    assert deployment.finished(pending.execution_arn)["error"] == "Mailwarden.ApprovalRejected"


def test_a_removed_approver_is_refused_through_the_sns_door_too(deployment: LocalDeployment) -> None:
    pending = start_approval(deployment)
    deployment.set_approvers((SEC,))
    doc = pending.message(OPS)
    deployment.publish_decision(
        {
            "requestId": doc["requestId"],
            "decision": "approve",
            "approver": OPS,
            "expires": doc["expires"],
            "signature": doc["signatures"]["approve"],
        }
    )
    (delivery,) = [d for d in deployment.deliver() if d.function == "approval_callback"]
    assert delivery.result["results"][0]["accepted"] is False
    assert "no longer an approver" in delivery.result["results"][0]["message"]
    assert sends(deployment) == 0 and request_item(deployment, pending.request_id)["state"] == "PENDING"


def test_a_stopped_workflows_request_ends_expired_once_its_deadline_passed(deployment: LocalDeployment) -> None:
    """Found by the lifecycle state machine: an operator stops the workflow, the deadline passes (no
    timeout branch runs: the execution is over), and a click was refused "expired" while the record
    stayed PENDING forever. The click now ends it: EXPIRED, audited once."""
    pending = start_approval(deployment)
    deployment.emu.client("stepfunctions").stop_execution(executionArn=pending.execution_arn, error="Operator")
    deployment.emu.clock.advance(deployment.approval_timeout_seconds + 1)
    response = post(deployment, pending, "approve", SEC)
    assert response.status == 410 and "expired" in response.body
    assert request_item(deployment, pending.request_id)["state"] == "EXPIRED" and sends(deployment) == 0
    assert post(deployment, pending).status == 410  # and stays so, audited once
    assert [e["what"] for e in audit(deployment, pending.request_id)].count("approval.expired") == 1
