"""Pure approval logic: signatures, links, messages and request validation."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from mailwarden.approvals.message import SUBJECT_MAX, compose, render_plan
from mailwarden.approvals.model import ApprovalRequest, Decision, RequestSpec, request_id, valid_request_id
from mailwarden.approvals.signing import Links, LinkSigner
from pydantic import ValidationError

KEY = b"k" * 32
OTHER = b"o" * 32
TOKEN = "AQCEAAAAKgAAAAMAAAAA+raw/task=token"


def request(**changes: object) -> ApprovalRequest:
    base = ApprovalRequest(
        id=request_id("arn:aws:states:us-east-1:1:execution:m:e", "Gate"),
        action="workmail.delete-user",
        subject="m-0123/alice",
        summary="Delete alice's WorkMail user",
        reason="Left the company",
        requester="hr-system",
        plan=["DeleteUser alice"],
        approvers=("ops@example.com",),
        created_at=1_700_000_000,
        expires_at=1_700_003_600,
        execution_arn="arn:aws:states:us-east-1:1:execution:m:e",
        gate="Gate",
        task_token=TOKEN,
    )
    return base.with_(**changes)


def test_signatures_bind_every_field() -> None:
    s = LinkSigner([KEY])
    sig = s.sign("apr-x", Decision.APPROVE, "ops@example.com", 100)
    assert s.verify("apr-x", Decision.APPROVE, "OPS@example.com", 100, sig)  # emails compare case-blind
    assert not s.verify("apr-y", Decision.APPROVE, "ops@example.com", 100, sig)
    assert not s.verify("apr-x", Decision.REJECT, "ops@example.com", 100, sig)
    assert not s.verify("apr-x", Decision.APPROVE, "eve@example.com", 100, sig)
    assert not s.verify("apr-x", Decision.APPROVE, "ops@example.com", 101, sig)
    assert not LinkSigner([OTHER]).verify("apr-x", Decision.APPROVE, "ops@example.com", 100, sig)


def test_rotation_keeps_links_in_flight_valid() -> None:
    old_link_sig = LinkSigner([OTHER]).sign("apr-x", Decision.APPROVE, "a@b.co", 5)
    rotated = LinkSigner([KEY, OTHER])  # AWSCURRENT, AWSPREVIOUS
    assert rotated.verify("apr-x", Decision.APPROVE, "a@b.co", 5, old_link_sig)
    assert rotated.sign("apr-x", Decision.APPROVE, "a@b.co", 5) != old_link_sig  # new links use the new key
    assert not LinkSigner([KEY]).verify("apr-x", Decision.APPROVE, "a@b.co", 5, old_link_sig)


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        LinkSigner([b"short"])


def test_links_carry_an_opaque_id_and_a_signature_not_the_token() -> None:
    links = Links("https://abc.execute-api.us-east-1.amazonaws.com/prod", LinkSigner([KEY]))
    r = request()
    url = links.link(r.id, Decision.APPROVE, "ops@example.com", r.expires_at)
    parts = urlsplit(url)
    assert parts.path == f"/prod/approvals/{r.id}"
    assert set(parse_qs(parts.query)) == {"decision", "approver", "expires", "sig"}
    assert TOKEN not in url and "token" not in url.lower()
    with pytest.raises(ValueError, match="https"):
        Links("http://example.com/", LinkSigner([KEY]))


def test_the_message_says_what_why_to_what_and_until_when() -> None:
    r = request(subject="x" * 200)
    m = compose(r, "ops@example.com", Links("https://a.example/prod/", LinkSigner([KEY])))
    for needle in (
        "What will happen: Delete alice",
        "Why:              Left the company",
        "To what:",
        "Decide before:    2023-11-14T23:13:20Z",
        "Approve: https://",
        "Reject:  https://",
        "  - DeleteUser alice",
    ):
        assert needle in m.text
    assert len(m.subject) <= SUBJECT_MAX
    body = json.loads(m.sns_message())
    assert set(body) == {"default", "email", "email-json", "sqs", "lambda", "https"}
    assert body["email"] == m.text and json.loads(body["sqs"])["signatures"]["approve"]
    assert TOKEN not in m.sns_message()


def test_plans_render_as_lines_or_json() -> None:
    assert render_plan(["a", "b"]) == "  - a\n  - b"
    assert '"before": "ALLOW_ALL"' in render_plan({"before": "ALLOW_ALL", "after": "DENY_ALL"})
    assert "no plan" in render_plan(None)


def test_request_ids_are_deterministic_and_opaque() -> None:
    a = request_id("arn:aws:states:us-east-1:1:execution:m:e", "Gate")
    assert a == request_id("arn:aws:states:us-east-1:1:execution:m:e", "Gate")
    assert a != request_id("arn:aws:states:us-east-1:1:execution:m:e", "Other")
    assert valid_request_id(a) and not valid_request_id("apr-../../etc") and "execution" not in a


@pytest.mark.parametrize(
    "bad",
    [
        {"action": ""},
        {"action": "Has Spaces"},
        {"approvers": []},
        {"approvers": ["not-an-email"]},
        {"plan": {"big": "x" * 20_000}},
        {"unexpected": 1},
    ],
)
def test_request_specs_are_validated(bad: dict[str, object]) -> None:
    base = {"action": "a.b", "subject": "s", "summary": "s", "reason": "r", "requester": "q"}
    with pytest.raises(ValidationError):
        RequestSpec.model_validate({**base, **bad})
