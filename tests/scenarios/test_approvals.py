"""Approvals end to end, on the state machine CDK synthesizes: moto's Step Functions executor runs
the template's definition; its Lambda tasks run the in-repo handlers; people act through the link
API and bots through the SNS decisions topic; time passes on the virtual clock."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mailwarden.contracts.workflows import WORKFLOWS

from local.deployment import LocalDeployment
from tests.approval_support import OPS, SEC, form, start_approval


@pytest.fixture
def synthesized(deployment: LocalDeployment, synth: Any) -> LocalDeployment:
    _, template = synth
    installed = deployment.install_synthesized(template.to_json())
    assert sorted(installed) == sorted(w.name for w in WORKFLOWS)
    return deployment


def steps(deployment: LocalDeployment, arn: str) -> list[str]:
    history = deployment.emu.client("stepfunctions").get_execution_history(executionArn=arn)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def test_approve_through_the_link_and_the_workflow_resumes(synthesized: LocalDeployment) -> None:
    # Given a workflow waiting at its approval gate, and the approver's email
    pending = start_approval(synthesized)
    assert synthesized.execution(pending.execution_arn)["status"] == "RUNNING"
    email = pending.message(OPS)["text"]
    assert "What will happen:" in email and "Decide before:" in email
    # When the approver opens the link (a page, nothing decided) and presses Approve
    link = pending.link("approve", OPS)
    assert synthesized.http("GET", link).status == 200
    assert synthesized.execution(pending.execution_arn)["status"] == "RUNNING"
    url, fields = form(link, comment="looks right")
    assert synthesized.http("POST", url, fields).status == 200
    # Then the very execution resumes and succeeds with the decision as its output
    done = synthesized.finished(pending.execution_arn)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["approval"]["approver"] == OPS
    assert steps(synthesized, pending.execution_arn) == ["RequestApproval", "Approved"]


def test_reject_through_the_sns_decisions_topic(synthesized: LocalDeployment) -> None:
    pending = start_approval(synthesized)
    doc = pending.message(SEC)
    synthesized.publish_decision(
        {
            "requestId": doc["requestId"],
            "decision": "reject",
            "approver": SEC,
            "expires": doc["expires"],
            "signature": doc["signatures"]["reject"],
            "comment": "not during the launch",
        }
    )
    synthesized.deliver()
    done = synthesized.finished(pending.execution_arn)
    assert done["status"] == "FAILED" and done["error"] == "Mailwarden.ApprovalRejected"
    assert steps(synthesized, pending.execution_arn) == ["RequestApproval", "Rejected"]
    decided = [e["detail"] for e in synthesized.published if e["detail-type"] == "Approval Decided"]
    assert decided[0]["state"] == "REJECTED" and decided[0]["decidedVia"] == "sns"


def test_nobody_decides_and_the_request_times_out(synthesized: LocalDeployment) -> None:
    pending = start_approval(synthesized)
    synthesized.emu.clock.advance(72 * 3600 - 60)  # a minute before the deadline: still waiting
    assert synthesized.execution(pending.execution_arn)["status"] == "RUNNING"
    synthesized.emu.clock.advance(61)
    done = synthesized.finished(pending.execution_arn)
    assert done["status"] == "FAILED" and done["error"] == "Mailwarden.ApprovalTimedOut"
    assert steps(synthesized, pending.execution_arn) == ["RequestApproval", "RequestApprovalTimedOut", "TimedOut"]
    synthesized.deliver()
    assert "Approval Expired" in [e["detail-type"] for e in synthesized.published]
    # a late click changes nothing
    url, fields = form(pending.link("approve"))
    assert synthesized.http("POST", url, fields).status == 410
    assert synthesized.emu.calls["sfn.SendTaskSuccess"] == 0
