"""The approval_request task handler on the emulator: record, notify once, survive retries,
refuse what cannot be approved, and mark expiry."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mailwarden.approvals.model import request_id
from mailwarden.errors import MalformedEvent

from local.deployment import LocalDeployment
from tests.approval_support import OPS, SEC, approval_request

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:mailwarden-local-approval-check:run-1"


def task(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "request",
        "taskToken": "AQCEAAAAKgAAAAMAAAAA+token/with=specials",
        "executionArn": EXECUTION,
        "gate": "RequestApproval",
        "timeoutSeconds": 3600,
        "request": approval_request(),
        **overrides,
    }


def item(deployment: LocalDeployment, rid: str) -> dict[str, Any]:
    raw = deployment.emu.client("dynamodb").get_item(TableName=deployment.tables["approvals"], Key={"id": {"S": rid}})
    return {k: v.get("S", v.get("N", v.get("L"))) for k, v in raw["Item"].items()}


def test_records_the_request_and_sends_one_message_per_approver(deployment: LocalDeployment) -> None:
    result = deployment.invoke("approval_request", task())
    rid = request_id(EXECUTION, "RequestApproval")
    assert result == {"requestId": rid, "state": "PENDING", "expiresAt": "2026-11-21T10:00:00Z"}
    stored = item(deployment, rid)
    assert stored["task_token"] == task()["taskToken"] and stored["state"] == "PENDING"
    assert deployment.emu.calls["sns.PublishBatch"] == 1
    for approver in (OPS, SEC):
        (message,) = deployment.inbox(approver)
        assert message["approver"] == approver and message["requestId"] == rid
        assert set(message["links"]) == {"approve", "reject"}
        assert f"approver={approver.replace('@', '%40')}" in message["links"]["approve"]
    deployment.deliver()
    (requested,) = [e for e in deployment.published if e["detail-type"] == "Approval Requested"]
    assert requested["detail"]["requestId"] == rid and requested["resources"] == [EXECUTION]


def test_the_task_token_never_leaves_the_table(deployment: LocalDeployment) -> None:
    deployment.invoke("approval_request", task())
    deployment.deliver()
    token = task()["taskToken"]
    everything = json.dumps(deployment.mail) + json.dumps(deployment.published)
    assert token not in everything and "taskToken" not in everything and "task_token" not in everything


def test_a_redelivered_task_notifies_once(deployment: LocalDeployment) -> None:
    for _ in range(3):
        deployment.invoke("approval_request", task())
    assert deployment.emu.calls["sns.PublishBatch"] == 1 and len(deployment.inbox(OPS)) == 1


def test_a_retried_task_resumes_with_its_new_token(deployment: LocalDeployment) -> None:
    deployment.invoke("approval_request", task())
    deployment.invoke("approval_request", task(taskToken="second-attempt-token"))
    assert item(deployment, request_id(EXECUTION, "RequestApproval"))["task_token"] == "second-attempt-token"
    assert deployment.emu.calls["sns.PublishBatch"] == 1  # same links: nobody is mailed twice


def test_a_subset_of_approvers_gets_mail_only_for_them(deployment: LocalDeployment) -> None:
    deployment.invoke("approval_request", task(request=approval_request(approvers=[SEC.upper()])))
    assert deployment.inbox(SEC) and not deployment.inbox(OPS)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"request": approval_request(approvers=["stranger@example.org"])}, "not configured approvers"),
        ({"request": approval_request(approvers=[OPS], requester=OPS)}, "only approver is the requester"),
        ({"request": approval_request(action="Bad Action!")}, "request.action"),
        ({"request": approval_request(plan={"x": "y" * 20_000})}, "plan is larger"),
        ({"timeoutSeconds": 5}, "timeoutSeconds"),
        ({"executionArn": "not-an-arn"}, "executionArn"),
        ({"taskToken": ""}, "taskToken"),
    ],
)
def test_requests_that_cannot_be_approved_fail_the_task_clearly(
    deployment: LocalDeployment, change: dict[str, Any], problem: str
) -> None:
    with pytest.raises((MalformedEvent, ValueError), match=problem):
        deployment.invoke("approval_request", task(**change))
    assert deployment.emu.calls["sns.PublishBatch"] == 0
    assert deployment.emu.calls["dynamodb.PutItem"] == 0


def test_timed_out_marks_the_request_expired_once(deployment: LocalDeployment) -> None:
    deployment.invoke("approval_request", task())
    timed_out = {"kind": "timed_out", "executionArn": EXECUTION, "gate": "RequestApproval"}
    rid = request_id(EXECUTION, "RequestApproval")
    assert deployment.invoke("approval_request", timed_out) == {"requestId": rid, "state": "EXPIRED"}
    assert deployment.invoke("approval_request", timed_out) == {"requestId": rid, "state": "EXPIRED"}
    deployment.deliver()
    assert [e["detail-type"] for e in deployment.published].count("Approval Expired") == 1
