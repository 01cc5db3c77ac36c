"""The approval callback on the emulator: every accept and refuse path, through its real doors
(API Gateway proxy events for the links, SNS messages for bots), against a real waiting workflow."""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock

import pytest
from mailwarden import wiring
from mailwarden.approvals.model import Attempt, Decision
from mailwarden.approvals.signing import LinkSigner
from mailwarden.contracts.functions import APPROVAL_CALLBACK

from local.deployment import LocalDeployment
from tests.approval_support import (
    OPS,
    SEC,
    Pending,
    approval_request,
    audit,
    form,
    request_item,
    start_approval,
    tamper,
)


@pytest.fixture
def pending(deployment: LocalDeployment) -> Pending:
    return start_approval(deployment)


def refused_events(deployment: LocalDeployment) -> list[dict[str, Any]]:
    deployment.deliver()
    return [e["detail"] for e in deployment.published if e["detail-type"] == "Approval Attempt Refused"]


def resumed(deployment: LocalDeployment) -> int:
    return deployment.emu.calls["sfn.SendTaskSuccess"] + deployment.emu.calls["sfn.SendTaskFailure"]


def signer(deployment: LocalDeployment) -> LinkSigner:
    key = deployment.emu.client("secretsmanager").get_secret_value(SecretId=deployment.secret_arn)["SecretString"]
    return LinkSigner([key.encode()])


def post(deployment: LocalDeployment, link: str, **extra: str) -> Any:
    url, fields = form(link, **extra)
    return deployment.http("POST", url, fields)


# ---------------------------------------------------------------------------- GET never decides


def test_get_shows_a_confirmation_page_and_decides_nothing(deployment: LocalDeployment, pending: Pending) -> None:
    for _ in range(5):  # a mail scanner prefetching, a person opening it twice...
        page = deployment.http("GET", pending.link("approve"))
        assert page.status == 200
    assert '<form method=post action="">' in page.body and "Approve" in page.body
    assert "Nothing has been decided yet" in page.body
    assert (
        page.headers["Referrer-Policy"] == "no-referrer"
        and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    )
    assert resumed(deployment) == 0
    assert request_item(deployment, pending.request_id)["state"] == "PENDING"
    assert deployment.execution(pending.execution_arn)["status"] == "RUNNING"


def test_the_page_escapes_what_the_workflow_sent(deployment: LocalDeployment) -> None:
    p = start_approval(deployment, summary="<script>alert(1)</script>")
    page = deployment.http("GET", p.link())
    assert "<script>alert(1)" not in page.body and "&lt;script&gt;alert(1)" in page.body


# ---------------------------------------------------------------------------- accepted


def test_post_from_the_page_approves_and_resumes_the_workflow(deployment: LocalDeployment, pending: Pending) -> None:
    response = post(deployment, pending.link("approve"), comment="checked the bounce rate")
    assert response.status == 200 and "approved" in response.body
    done = deployment.finished(pending.execution_arn)
    assert done["status"] == "SUCCEEDED"
    output = json.loads(done["output"])["approval"]
    assert (
        output["decision"] == "APPROVED"
        and output["approver"] == OPS
        and output["comment"] == "checked the bounce rate"
    )
    item = request_item(deployment, pending.request_id)
    assert (item["state"], item["delivery"], item["decided_by"]) == ("APPROVED", "delivered", OPS)
    assert deployment.emu.calls["sfn.SendTaskSuccess"] == 1
    (entry,) = [e for e in audit(deployment, pending.request_id) if e["outcome"] == "accepted"]
    assert entry["actor"] == OPS and entry["detail"]["via"] == "link"
    deployment.deliver()
    decided = [e for e in deployment.published if e["detail-type"] == "Approval Decided"]
    assert decided[0]["detail"]["state"] == "APPROVED" and "taskToken" not in json.dumps(decided[0])


def test_post_reject_fails_the_task_with_the_rejection(deployment: LocalDeployment, pending: Pending) -> None:
    response = post(deployment, pending.link("reject", SEC), comment="not yet")
    assert response.status == 200
    done = deployment.finished(pending.execution_arn)
    assert done["status"] == "FAILED" and done["error"] == "Mailwarden.ApprovalRejected"
    assert request_item(deployment, pending.request_id)["state"] == "REJECTED"


def test_json_clients_get_json(deployment: LocalDeployment, pending: Pending) -> None:
    url, fields = form(pending.link("approve"))
    response = deployment.http("POST", url, json_body=fields)
    body = response.json()
    assert response.status == 200 and body["accepted"] is True and body["request"]["state"] == "APPROVED"
    assert "task_token" not in response.body and "taskToken" not in response.body


# ---------------------------------------------------------------------------- refused, nothing resumed


def assert_refused(deployment: LocalDeployment, pending: Pending, response: Any, status: int, refusal: str) -> None:
    assert response.status == status, response.body
    assert resumed(deployment) == 0
    assert request_item(deployment, pending.request_id)["state"] == "PENDING"
    assert deployment.execution(pending.execution_arn)["status"] == "RUNNING"
    assert refusal in [e["refusal"] for e in refused_events(deployment)]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"sig": "A" * 43}, "forged signature"),
        ({"decision": "reject"}, "approve link turned into a reject"),
        ({"approver": SEC}, "someone else's name on my link"),
        ({"expires": "4102444800"}, "expiry pushed to 2100"),
    ],
)
def test_tampered_or_forged_links_are_refused(
    deployment: LocalDeployment, pending: Pending, change: dict[str, str], why: str
) -> None:
    link = tamper(pending.link("approve"), **change)
    assert deployment.http("GET", link).status == 403, why
    response = post(deployment, link)
    assert "signature does not match" in response.body
    assert_refused(deployment, pending, response, 403, "forged")
    entries = [e for e in audit(deployment, pending.request_id) if e["outcome"] == "refused"]
    assert len(entries) == 2  # the GET and the POST are both on the audit trail
    assert {e["detail"]["refusal"] for e in entries} == {"forged"}


def test_a_signature_for_one_request_does_not_open_another(deployment: LocalDeployment, pending: Pending) -> None:
    other = start_approval(deployment, subject="arn:aws:ses:us-east-1:123456789012:tenant/other/t-0002")
    url, fields = form(pending.link("approve"))
    response = deployment.http("POST", url.replace(pending.request_id, other.request_id), fields)
    assert response.status == 403 and resumed(deployment) == 0
    assert request_item(deployment, other.request_id)["state"] == "PENDING"


def test_malformed_links_get_400(deployment: LocalDeployment, pending: Pending) -> None:
    url, fields = form(pending.link("approve"))
    assert deployment.http("POST", url.replace(pending.request_id, "not-an-id"), fields).status == 400
    del fields["sig"]
    assert deployment.http("POST", url, fields).status == 400
    assert deployment.http("GET", url).status == 400
    assert resumed(deployment) == 0


def test_wrong_content_type_is_refused(deployment: LocalDeployment, pending: Pending) -> None:
    url, _ = form(pending.link())
    event_response = deployment.http("POST", url)  # no body, no content type
    assert event_response.status == 400 and resumed(deployment) == 0


def test_an_approver_not_on_the_allowlist_is_refused(deployment: LocalDeployment) -> None:
    p = start_approval(deployment, approvers=[OPS])
    assert not deployment.inbox(SEC) or all(m["requestId"] != p.request_id for m in deployment.inbox(SEC))
    # A correctly signed link (the key is ours) for someone the request does not allow:
    sig = signer(deployment)
    expires = p.message()["expires"]
    for outsider in (SEC, "mallory@example.net"):
        fields = {
            "decision": "approve",
            "approver": outsider,
            "expires": str(expires),
            "sig": sig.sign(p.request_id, Decision.APPROVE, outsider, expires),
        }
        url, _ = form(p.link())
        response = deployment.http("POST", url, fields)
        assert response.status == 403 and "not an approver" in response.body
    assert_refused(deployment, p, response, 403, "not_allowed")


def test_the_requester_cannot_approve_their_own_request(deployment: LocalDeployment) -> None:
    p = start_approval(deployment, requester=OPS)
    response = post(deployment, p.link("approve", OPS))
    assert_refused(deployment, p, response, 403, "self_approval")
    assert post(deployment, p.link("approve", SEC)).status == 200  # the other approver can


def test_replaying_a_used_link_is_refused(deployment: LocalDeployment, pending: Pending) -> None:
    assert post(deployment, pending.link("approve")).status == 200
    again = post(deployment, pending.link("approve"))
    assert again.status == 409 and "Already approved by ops-lead@example.com" in again.body
    late = post(deployment, pending.link("reject", SEC))
    assert late.status == 409
    assert deployment.emu.calls["sfn.SendTaskSuccess"] == 1 and deployment.emu.calls["sfn.SendTaskFailure"] == 0
    assert deployment.finished(pending.execution_arn)["status"] == "SUCCEEDED"
    assert [e["refusal"] for e in refused_events(deployment)] == ["already_decided", "already_decided"]


def test_after_the_timeout_links_are_expired(deployment: LocalDeployment, pending: Pending) -> None:
    deployment.emu.clock.advance(72 * 3600 + 1)
    done = deployment.finished(pending.execution_arn)
    assert done["status"] == "FAILED" and done["error"] == "Mailwarden.ApprovalTimedOut"
    assert deployment.http("GET", pending.link()).status == 410
    response = post(deployment, pending.link())
    assert response.status == 410 and "expired" in response.body
    assert resumed(deployment) == 0
    assert request_item(deployment, pending.request_id)["state"] == "EXPIRED"


def test_a_decision_for_a_stopped_workflow_is_too_late(deployment: LocalDeployment, pending: Pending) -> None:
    """The record still says PENDING but Step Functions no longer waits: TaskTimedOut."""
    deployment.emu.client("stepfunctions").stop_execution(executionArn=pending.execution_arn, error="Operator")
    deployment.wait_until(lambda: deployment.execution(pending.execution_arn)["status"] == "ABORTED", "abort")
    response = post(deployment, pending.link())
    assert response.status == 410 and "Too late" in response.body
    item = request_item(deployment, pending.request_id)
    assert (item["state"], item["delivery"]) == ("EXPIRED", "too_late")
    assert "too_late" in [e["refusal"] for e in refused_events(deployment)]


def test_an_invalid_task_token_is_reported_not_hidden(deployment: LocalDeployment) -> None:
    result = deployment.invoke(
        "approval_request",
        {
            "kind": "request",
            "taskToken": "not-a-token-step-functions-issued",
            "executionArn": "arn:aws:states:us-east-1:123456789012:execution:elsewhere:x",
            "gate": "Approve",
            "timeoutSeconds": 3600,
            "request": approval_request(),
        },
    )
    (message,) = [m for m in deployment.inbox(OPS) if m["requestId"] == result["requestId"]]
    response = post(deployment, message["links"]["approve"])
    assert response.status == 502 and "task token" in response.body
    assert request_item(deployment, result["requestId"])["delivery"] == "invalid_token"


# ---------------------------------------------------------------------------- resumable


def test_a_decision_that_could_not_resume_is_finished_by_submitting_again(
    deployment: LocalDeployment, pending: Pending
) -> None:
    deployment.emu.control.inject("sfn", "SendTaskSuccess", error_rate=1.0)
    first = post(deployment, pending.link())
    assert first.status == 503 and first.headers["Retry-After"] == "5"
    item = request_item(deployment, pending.request_id)
    assert (item["state"], item["delivery"]) == ("APPROVED", "pending")  # recorded, not yet delivered
    assert deployment.execution(pending.execution_arn)["status"] == "RUNNING"
    deployment.emu.control.clear_faults()
    second = post(deployment, pending.link())
    assert second.status == 200
    assert deployment.finished(pending.execution_arn)["status"] == "SUCCEEDED"
    assert request_item(deployment, pending.request_id)["delivery"] == "delivered"


def test_throttling_is_absorbed_by_retries(deployment: LocalDeployment, pending: Pending) -> None:
    deployment.emu.control.inject("dynamodb", throttle_rate=0.3)
    deployment.emu.control.inject("sfn", throttle_rate=0.3)
    assert post(deployment, pending.link()).status == 200
    assert deployment.finished(pending.execution_arn)["status"] == "SUCCEEDED"


# ---------------------------------------------------------------------------- single use under concurrency


def test_fifty_concurrent_decisions_resolve_to_exactly_one(deployment: LocalDeployment, pending: Pending) -> None:
    """50 decisions race: all pass the checks, then meet at the conditional write; one wins."""
    racers = 50
    barrier = threading.Barrier(racers, timeout=20)
    with mock.patch.dict(os.environ, deployment.env_for(APPROVAL_CALLBACK)):
        approvals = wiring.approval_callback().approvals
        store_client = approvals.store.client  # type: ignore[attr-defined]

        def hold(params: dict[str, Any], **_: Any) -> None:
            if "expires_at >" in params.get("ConditionExpression", ""):
                barrier.wait()  # everyone has read PENDING and is about to make the single-use write

        store_client.meta.events.register("before-call.dynamodb.UpdateItem", hold)
        links = [pending.link("approve" if i % 2 else "reject", OPS if i % 3 else SEC) for i in range(racers)]

        def decide(link: str) -> Any:
            _, f = form(link)
            return approvals.decide(
                Attempt(pending.request_id, Decision(f["decision"]), f["approver"], int(f["expires"]), f["sig"], "link")
            )

        try:
            with ThreadPoolExecutor(racers) as pool:
                outcomes = list(pool.map(decide, links))
        finally:
            store_client.meta.events.unregister("before-call.dynamodb.UpdateItem", hold)
    accepted = [o for o in outcomes if o.accepted]
    assert len(accepted) == 1
    assert {o.refusal.value for o in outcomes if not o.accepted} == {"already_decided"}
    assert resumed(deployment) == 1
    assert deployment.finished(pending.execution_arn)["status"] in ("SUCCEEDED", "FAILED")
    trail = audit(deployment, pending.request_id)
    assert sum(e["outcome"] == "accepted" for e in trail) == 1 and sum(e["outcome"] == "refused" for e in trail) == 49


def test_fifty_decisions_through_the_handler_resolve_to_one(deployment: LocalDeployment, pending: Pending) -> None:
    statuses = [post(deployment, pending.link("approve" if i % 2 else "reject", OPS)).status for i in range(50)]
    assert statuses.count(200) == 1 and statuses.count(409) == 49
    assert resumed(deployment) == 1


# ---------------------------------------------------------------------------- the SNS door


def bot_message(p: Pending, decision: str = "approve", approver: str = OPS, **changes: Any) -> dict[str, Any]:
    doc = p.message(approver)
    return {
        "requestId": doc["requestId"],
        "decision": decision,
        "approver": approver,
        "expires": doc["expires"],
        "signature": doc["signatures"][decision],
        "comment": "via chatops",
        **changes,
    }


def test_a_signed_sns_decision_resumes_the_workflow(deployment: LocalDeployment, pending: Pending) -> None:
    deployment.publish_decision(bot_message(pending, "reject", SEC))
    (delivery,) = [d for d in deployment.deliver() if d.function == "approval_callback"]
    assert delivery.result["results"][0]["accepted"] is True
    assert deployment.finished(pending.execution_arn)["error"] == "Mailwarden.ApprovalRejected"
    assert request_item(deployment, pending.request_id)["decided_via"] == "sns"


def test_a_forged_sns_decision_is_refused_and_audited(deployment: LocalDeployment, pending: Pending) -> None:
    forged = {**bot_message(pending, "approve", OPS), "approver": SEC}  # OPS's signature, SEC's name
    deployment.publish_decision(forged)
    (delivery,) = [d for d in deployment.deliver() if d.function == "approval_callback"]
    assert delivery.result["results"][0]["accepted"] is False
    assert resumed(deployment) == 0
    assert "forged" in [e["refusal"] for e in refused_events(deployment)]
    (refusal,) = [e for e in audit(deployment, pending.request_id) if e["outcome"] == "refused"]
    assert refusal["detail"]["via"] == "sns" and refusal["actor"] == SEC


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("not json", "not JSON"),
        (json.dumps({"requestId": "apr-x", "decision": "maybe"}), "invalid decision message"),
        (json.dumps({"hello": "world"}), "invalid decision message"),
    ],
)
def test_malformed_sns_decisions_go_to_the_dlq_with_a_reason(
    deployment: LocalDeployment, pending: Pending, message: str, reason: str
) -> None:
    deployment.emu.client("sns").publish(TopicArn=deployment.topics["approval-decisions"], Message=message)
    deployment.deliver()
    (dead,) = deployment.dead_letters()
    assert dead["function"] == "approval_callback" and reason in dead["reason"]
    assert resumed(deployment) == 0


def test_sns_messages_from_another_topic_are_not_decisions(deployment: LocalDeployment, pending: Pending) -> None:
    event = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:someone-else",
                    "MessageId": "m-1",
                    "Message": json.dumps(bot_message(pending)),
                },
            }
        ]
    }
    result = deployment.invoke("approval_callback", event)
    assert result["status"] == "rejected" and "not the approval-decisions topic" in result["reason"]
    assert resumed(deployment) == 0
