"""Issue 19, the MAIL FROM API's edges through API Gateway proxy events on the emulator: what bodies
it accepts (JSON, with or without Content-Type), every throttled AWS call answered with the seed's
429, a DNS conflict found only after the SES write puts SES back, BehaviorOnMxFailure end to end,
and the identity patterns the OpenAPI document states."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from mailwarden.aws.errors import translate
from mailwarden.errors import Throttled

from local.deployment import LocalDeployment
from local.issuer import READ_SCOPE
from tests.mail_from_support import MX, SPF, identity, put, put_records, records, writes, zone

BODY = {"identity": "example.com", "mailFromDomain": "mail.example.com"}
OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi" / "mail-from.json").read_text())


@pytest.fixture
def d(deployment: LocalDeployment) -> LocalDeployment:
    identity(deployment, "example.com")
    return deployment


def _causes(resp: Any) -> list[str]:
    assert resp.status == 400, (resp.status, resp.body)
    body = resp.json()
    assert body["detailCode"] == "400.1 Bad Request Content" and len(body["trackingId"]) == 32
    return [c["text"] for c in body.get("causes", [])]


def _ses(d: LocalDeployment, ident: str = "example.com") -> dict[str, Any]:
    return dict(d.emu.client("sesv2").get_email_identity(EmailIdentity=ident).get("MailFromAttributes") or {})


def _tracked(d: LocalDeployment, ident: str = "example.com") -> dict[str, Any] | None:
    item = d.emu.client("dynamodb").get_item(TableName=d.tables["mail-from"], Key={"identity": {"S": ident}})
    return item.get("Item")


# ---------------------------------------------------------------- what a body may be


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"]
)
def test_json_is_accepted_with_or_without_its_content_type(d, content_type):
    zone(d)
    resp = d.api("PUT", "/mail-from-attributes", BODY, headers={"Content-Type": content_type})
    assert resp.status == 200, resp.body
    assert resp.json()["mailFromDomain"] == "mail.example.com"
    assert writes(d) == {"ses": 1, "route53": 1}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        # what `curl -d '{...}'` sends without -H 'Content-Type: application/json'
        ("application/x-www-form-urlencoded", json.dumps(BODY)),
        ("text/plain", json.dumps(BODY)),
        ("application/xml", "<MailFrom><identity>example.com</identity></MailFrom>"),
        ("multipart/form-data; boundary=x", "--x\r\n\r\n--x--"),
    ],
)
def test_any_other_content_type_is_the_seed_400_naming_it_never_a_500(d, content_type, body):
    zone(d)
    resp = d.api("PUT", "/mail-from-attributes", raw_body=body, headers={"Content-Type": content_type})
    causes = _causes(resp)
    assert any(f"Content-Type '{content_type}' is not accepted" in c for c in causes), causes
    assert "application/json" in causes[0]
    assert writes(d) == {"ses": 0, "route53": 0}


@pytest.mark.parametrize(
    ("raw", "cause"),
    [
        ("{not json", "the body is not valid JSON"),
        ("", "body: Field required (a JSON object with identity and mailFromDomain)"),
        ("[]", "body: Input should be a valid dictionary"),
        ('"example.com"', "body: Input should be a valid dictionary"),
        ("null", "body: Field required"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_a_400_with_a_reason(d, raw, cause):
    resp = d.api("PUT", "/mail-from-attributes", raw_body=raw)
    assert any(cause in c for c in _causes(resp)), resp.body
    assert writes(d) == {"ses": 0, "route53": 0}


# ---------------------------------------------------------------- every throttled call is a 429


@pytest.mark.parametrize(
    ("service", "operation"),
    [
        ("sesv2", "GetEmailIdentity"),
        ("route-53", "ListHostedZones"),
        ("route-53", "ListResourceRecordSets"),
        ("dynamodb", "PutItem"),
        ("sesv2", "PutEmailIdentityMailFromAttributes"),
        ("route-53", "ChangeResourceRecordSets"),
        ("eventbridge", "PutEvents"),
    ],
)
def test_every_aws_call_a_put_makes_answers_the_seed_429_when_throttled(d, service, operation):
    zone(d)
    d.emu.control.inject(service, operation, throttle_rate=1.0)
    resp = put(d)
    assert resp.status == 429, (resp.status, resp.body)
    assert resp.json() == {"message": " Rate Limit Exceeded "}
    assert int(resp.headers["Retry-After"]) >= 1
    assert 2 <= d.emu.calls[f"{service}.{operation}"] <= 4  # retried within the API's short budget, then answered
    assert d.gateway_latencies[-1] <= 29


def test_a_throttled_get_is_a_429_too(d):
    d.emu.control.inject("sesv2", "GetEmailIdentity", throttle_rate=1.0)
    resp = d.api("GET", "/mail-from-attributes/example.com", scopes=(READ_SCOPE,))
    assert resp.status == 429 and "Retry-After" in resp.headers


def test_route53s_prior_request_not_complete_is_throttling():
    err = ClientError({"Error": {"Code": "PriorRequestNotComplete", "Message": "wait"}}, "ChangeResourceRecordSets")
    assert isinstance(translate(err), Throttled)


# ---------------------------------------------------------------- a late DNS conflict changes nothing


def _another_mx(d: LocalDeployment, zone_id: str) -> None:
    d.emu.control.before_route53_change(
        lambda: put_records(d, zone_id, "mail.example.com", "MX", ["10 inbound.example.net"])
    )


def test_a_conflict_found_on_re_plan_puts_ses_back_on_the_previous_working_domain(d):
    zone_id = zone(d)
    assert put(d, domain="old.example.com").status == 200
    d.emu.clock.advance(60)
    d.tick("mail-from-watch")
    assert _ses(d)["MailFromDomainStatus"] == "SUCCESS"
    tracked_before = _tracked(d)
    _another_mx(d, zone_id)  # someone adds an MX at the new name between our read and our batch
    resp = put(d)
    causes = _causes(resp)
    assert any("already has an MX record" in c for c in causes), causes
    attrs = _ses(d)
    assert attrs["MailFromDomain"] == "old.example.com"  # the previous, working domain; not the new one
    assert attrs["BehaviorOnMxFailure"] == "USE_DEFAULT_VALUE"
    assert _tracked(d) == tracked_before  # the watcher goes on watching the old one, never publishes the new
    assert records(d, zone_id, "mail.example.com") == {"MX": ["10 inbound.example.net"]}  # theirs, none of ours
    d.emu.clock.advance(3600)
    d.tick("mail-from-watch")
    assert records(d, zone_id, "mail.example.com") == {"MX": ["10 inbound.example.net"]}
    assert _ses(d)["MailFromDomain"] == "old.example.com"


def test_a_late_conflict_on_an_identity_without_mail_from_leaves_it_without(d):
    zone_id = zone(d)
    _another_mx(d, zone_id)
    resp = put(d)
    assert resp.status == 400
    assert "MailFromDomain" not in _ses(d)  # SES sends from amazonses.com again, as before the request
    assert _tracked(d) is None
    assert d.emu.calls["sesv2.PutEmailIdentityMailFromAttributes"] == 2  # the write and its undo
    rejected = [e for e in d.events_of("MAIL FROM Setup") if e["outcome"] == "rejected"]
    assert rejected and rejected[-1]["restored"] == {"domain": None, "behavior": None}


def test_records_that_never_stop_changing_are_a_400_and_ses_is_put_back(d):
    zone_id = zone(d)
    edits = iter(range(100))

    def edit() -> None:  # another writer rewrites the TXT set before every one of our batches
        put_records(d, zone_id, "mail.example.com", "TXT", [f'"other-{next(edits)}"'])
        d.emu.control.before_route53_change(edit)

    put_records(d, zone_id, "mail.example.com", "TXT", ['"other"'])
    d.emu.control.before_route53_change(edit)
    resp = put(d)
    assert any("changed 4 times while Mailwarden wrote them" in c for c in _causes(resp))
    assert "MailFromDomain" not in _ses(d) and _tracked(d) is None
    assert "MX" not in records(d, zone_id, "mail.example.com")
    d.emu.route53.before_change.clear()


# ---------------------------------------------------------------- BehaviorOnMxFailure end to end


def test_behavior_on_mx_failure_from_the_body_reaches_ses_and_survives_a_watcher_restart(d):
    zone(d)
    resp = d.api("PUT", "/mail-from-attributes", {**BODY, "behaviorOnMxFailure": "REJECT_MESSAGE"})
    assert resp.status == 200, resp.body
    assert set(resp.json()) == {"identity", "mailFromDomain", "mxRecord", "txtRecord", "mailFromDomainStatus"}
    assert _ses(d)["BehaviorOnMxFailure"] == "REJECT_MESSAGE"
    d.emu.control.set_mail_from_status("example.com", "FAILED")  # SES gave up: the watcher sets it up again
    d.emu.clock.advance(16 * 60)
    d.tick("mail-from-watch")
    assert d.emu.calls["sesv2.PutEmailIdentityMailFromAttributes"] == 2  # set up again...
    assert _ses(d)["BehaviorOnMxFailure"] == "REJECT_MESSAGE"  # ...with what the caller asked for
    # omitted again: the policy's (USE_DEFAULT_VALUE), one SES write to change it
    d.emu.clock.advance(1)
    assert put(d).status == 200
    assert _ses(d)["BehaviorOnMxFailure"] == "USE_DEFAULT_VALUE"


def test_an_unknown_behavior_is_a_400_naming_the_field(d):
    resp = d.api("PUT", "/mail-from-attributes", {**BODY, "behaviorOnMxFailure": "BOUNCE"})
    assert any(c.startswith("behaviorOnMxFailure: ") for c in _causes(resp))
    assert writes(d) == {"ses": 0, "route53": 0}


# ---------------------------------------------------------------- the documented patterns are enforced


DOMAIN_253 = ".".join(["a" * 63] * 3 + ["b" * 61])


def _pattern(where: str) -> re.Pattern[str]:
    if where == "path":
        return re.compile(_path_schema()["pattern"])
    return re.compile(OPENAPI["components"]["schemas"]["MailFromRequest"]["properties"][where]["pattern"])


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("identity", "example.com", True),
        ("identity", "ops@example.com", True),
        ("identity", "Example.COM.", True),
        ("identity", "exa mple.com", False),
        ("identity", "ops@@example.com", False),
        ("identity", "名前.example", False),
        ("identity", "localhost", False),
        ("identity", "l" * 64 + "@" + DOMAIN_253, True),  # the documented maxLength, 318
        ("identity", "l" * 65 + "@" + DOMAIN_253, False),
        ("identity", "l" * 64 + "@b" + DOMAIN_253, False),  # a 254-character domain
        ("mailFromDomain", "mail.example.com", True),
        ("mailFromDomain", "-mail.example.com", False),
        ("mailFromDomain", "mail_1.example.com", False),
        ("mailFromDomain", "a" * 64 + ".example.com", False),
    ],
)
def test_the_documented_patterns_are_what_the_api_enforces(d, field, value, ok):
    assert bool(_pattern(field).fullmatch(value)) is ok
    if field == "identity":  # what the document says of the length agrees with its pattern
        schema = OPENAPI["components"]["schemas"]["MailFromRequest"]["properties"]["identity"]
        assert (schema["minLength"] <= len(value) <= schema["maxLength"]) or not ok
    body = {**BODY, field: value}
    if field == "identity" and ok:
        body["mailFromDomain"] = "mail." + value.rpartition("@")[2].rstrip(".").lower()
    resp = d.api("PUT", "/mail-from-attributes", body)
    if ok:
        assert resp.status != 500 and not any(c.startswith(f"{field}: ") for c in _causes_or_none(resp))
    else:
        assert any(c.startswith(f"{field}: ") for c in _causes(resp)), resp.body
        assert writes(d) == {"ses": 0, "route53": 0}


def test_the_documented_identity_length_is_the_longest_the_pattern_admits():
    longest = "l" * 64 + "@" + DOMAIN_253
    for schema in (OPENAPI["components"]["schemas"]["MailFromRequest"]["properties"]["identity"], _path_schema()):
        assert schema["maxLength"] == len(longest) == 318 and _pattern("identity").fullmatch(longest)


def _path_schema() -> dict[str, Any]:
    (param,) = OPENAPI["paths"]["/mail-from-attributes/{identity}"]["get"]["parameters"]
    return param["schema"]  # type: ignore[no-any-return]


def _causes_or_none(resp: Any) -> list[str]:
    return [c["text"] for c in resp.json().get("causes", [])] if resp.status == 400 else []


def test_the_path_identity_is_checked_decoded_against_the_same_pattern(d):
    assert _pattern("path").pattern == _pattern("identity").pattern
    resp = d.api("GET", "/mail-from-attributes/exa%20mple.com", scopes=(READ_SCOPE,))
    assert any(c.startswith("identity: ") for c in _causes(resp))
    assert d.emu.calls["sesv2.GetEmailIdentity"] == 0  # refused before SES is asked


def test_the_docs_curl_example_works_as_written_with_its_content_type(d):
    zone(d)
    resp = d.api(
        "PUT", "/mail-from-attributes", raw_body=json.dumps(BODY), headers={"Content-Type": "application/json"}
    )
    assert resp.json() == {**BODY, "mxRecord": MX, "txtRecord": SPF, "mailFromDomainStatus": "PENDING"}
