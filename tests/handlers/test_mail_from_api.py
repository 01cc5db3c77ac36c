"""The MAIL FROM API through API Gateway proxy events: every status code seed 002 lists, with its
exact body shape, and Route 53 publishing on moto (behind the emulator's Route 53 checks)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from local.deployment import LocalDeployment
from local.issuer import READ_SCOPE, WRITE_SCOPE
from tests.mail_from_support import MX, SPF, identity, put, put_records, records, spf_records, writes, zone

SEED_400 = "The request was syntactically correct but its content is semantically invalid."


@pytest.fixture
def d(deployment: LocalDeployment) -> LocalDeployment:
    identity(deployment, "example.com")
    return deployment


def _problem(resp, status: int, code: str) -> list[str]:
    assert resp.status == status, resp.body
    body = resp.json()
    assert body["detailCode"] == code
    assert len(body["trackingId"]) == 32
    assert all(m["locale"] == "en-US" and m["localeOrigin"] == "DEFAULT" for m in body["messages"])
    assert "Traceback" not in resp.body
    return [c["text"] for c in body.get("causes", [])]


# ---------------------------------------------------------------- 200


def test_put_sets_mail_from_publishes_the_records_and_answers_exactly_the_seed_body(d):
    zone_id = zone(d)
    resp = put(d)
    assert resp.status == 200, resp.body
    assert resp.json() == {
        "identity": "example.com",
        "mailFromDomain": "mail.example.com",
        "mxRecord": MX,
        "txtRecord": SPF,
        "mailFromDomainStatus": "PENDING",
    }
    assert resp.headers["Mailwarden-Dns-Publication"] == "published"
    assert resp.headers["Mailwarden-Hosted-Zone"] == zone_id
    assert resp.headers["Mailwarden-Dns-Change"] == "PENDING"  # Route 53 propagates; the watcher follows it
    assert resp.headers["Mailwarden-Dns-Change-Id"].startswith("/change/")
    assert records(d, zone_id, "mail.example.com") == {"MX": [MX], "TXT": [f'"{SPF}"']}
    attrs = d.emu.client("sesv2").get_email_identity(EmailIdentity="example.com")["MailFromAttributes"]
    assert attrs["MailFromDomain"] == "mail.example.com"
    assert attrs["BehaviorOnMxFailure"] == "USE_DEFAULT_VALUE"
    assert writes(d) == {"ses": 1, "route53": 1}  # the minimum: one SES write, one ChangeBatch


def test_a_put_answers_within_the_integration_timeout_while_route53_stays_pending_for_minutes(d):
    d.emu.control.route53_propagation(120)
    zone(d)
    resp = put(d)
    assert resp.status == 200, resp.body
    assert resp.json()["mailFromDomainStatus"] == "PENDING"
    assert resp.headers["Mailwarden-Dns-Change"] == "PENDING"
    assert d.gateway_latencies[-1] <= 29  # virtual seconds inside the function (API Gateway gives up at 29)
    assert d.emu.calls["route-53.GetChange"] == 0  # nothing waits for the change


def test_a_function_slower_than_the_integration_timeout_gets_the_stacks_504_and_the_watcher_finishes(d):
    zone_id = zone(d)
    d.emu.control.inject("route-53", "ChangeResourceRecordSets", latency=40)  # a ChangeBatch that hangs for 40 s
    resp = put(d)
    assert resp.status == 504  # API Gateway gave up at 29 s, with the stack's DEFAULT_5XX body
    body = resp.json()
    assert body["detailCode"] == "500.0 Internal Fault" and body["trackingId"] == resp.headers["x-amzn-RequestId"]
    assert d.gateway_latencies[-1] == 30  # the function ran on until its own 30 s timeout stopped it
    # what it wrote before it was stopped stays written (SES); what came after never happened (Route 53)
    attrs = d.emu.client("sesv2").get_email_identity(EmailIdentity="example.com")["MailFromAttributes"]
    assert attrs["MailFromDomain"] == "mail.example.com"
    assert records(d, zone_id, "mail.example.com") == {}
    d.emu.control.clear_faults()
    d.tick("mail-from-watch")  # the tracking item says "not published": the watcher publishes
    assert records(d, zone_id, "mail.example.com") == {"MX": [MX], "TXT": [f'"{SPF}"']}


def test_get_returns_the_same_body_with_the_current_status(d):
    zone(d)
    put(d)
    d.emu.clock.advance(60)
    resp = d.api("GET", "/mail-from-attributes/example.com", scopes=(READ_SCOPE,))
    assert resp.status == 200
    assert resp.json()["mailFromDomainStatus"] == "SUCCESS"  # SES found the records in Route 53
    assert set(resp.json()) == {"identity", "mailFromDomain", "mxRecord", "txtRecord", "mailFromDomainStatus"}


def test_an_email_address_identity_uses_its_domain_and_is_url_encoded_in_the_path(d):
    identity(d, "ops@example.com")
    zone(d)
    assert put(d, "ops@example.com", "bounce.example.com").status == 200
    d.emu.clock.advance(60)
    resp = d.api("GET", "/mail-from-attributes/ops%40example.com", scopes=(READ_SCOPE,))
    assert resp.status == 200 and resp.json()["identity"] == "ops@example.com"


def test_re_put_is_idempotent_no_write_and_no_duplicate_records(d):
    zone_id = zone(d)
    put(d)
    d.emu.clock.advance(5)
    again = put(d)
    assert again.status == 200
    assert again.headers["Mailwarden-Dns-Publication"] == "unchanged"
    assert writes(d) == {"ses": 1, "route53": 1}
    assert records(d, zone_id, "mail.example.com") == {"MX": [MX], "TXT": [f'"{SPF}"']}


def test_no_hosted_zone_still_returns_the_records_and_says_they_were_not_published(d):
    zone(d, "example.com", private=True)  # a private zone does not serve the internet: never used
    resp = put(d)
    assert resp.status == 200
    assert resp.json()["mxRecord"] == MX and resp.json()["txtRecord"] == SPF
    assert resp.headers["Mailwarden-Dns-Publication"] == "not-published"
    assert "publish the MX and TXT records in your DNS" in resp.headers["Mailwarden-Dns-Note"]
    assert writes(d) == {"ses": 1, "route53": 0}


def test_the_longest_suffix_zone_owns_the_domain(d):
    parent = zone(d, "example.com")
    child = zone(d, "mail.example.com")
    assert put(d).headers["Mailwarden-Hosted-Zone"] == child
    assert records(d, parent, "mail.example.com") == {}
    assert records(d, child, "mail.example.com")["MX"] == [MX]


# ---------------------------------------------------------------- SPF merge cases


def test_other_txt_values_are_kept(d):
    zone_id = zone(d)
    put_records(d, zone_id, "mail.example.com", "TXT", ['"google-site-verification=abc"'])
    assert put(d).status == 200
    assert records(d, zone_id, "mail.example.com")["TXT"] == ['"google-site-verification=abc"', f'"{SPF}"']


def test_an_existing_spf_record_is_merged_never_duplicated(d):
    zone_id = zone(d)
    put_records(d, zone_id, "mail.example.com", "TXT", ['"v=spf1 ip4:192.0.2.1 include:_spf.google.com -all"'])
    assert put(d).status == 200
    assert spf_records(d, zone_id, "mail.example.com") == [
        "v=spf1 ip4:192.0.2.1 include:_spf.google.com include:amazonses.com -all"
    ]


def test_a_long_spf_record_is_written_as_strings_of_at_most_255_characters(d):
    zone_id = zone(d)
    long_spf = "v=spf1 " + " ".join(f"ip4:203.0.113.{i}" for i in range(1, 20)) + " ~all"
    chunks = [long_spf[:255], long_spf[255:]]
    put_records(d, zone_id, "mail.example.com", "TXT", [" ".join(f'"{c}"' for c in chunks)])
    assert put(d).status == 200  # Route 53 (the emulator) refuses any string over 255 characters
    (value,) = records(d, zone_id, "mail.example.com")["TXT"]
    assert all(len(s) <= 255 for s in value[1:-1].split('" "'))
    assert spf_records(d, zone_id, "mail.example.com") == [long_spf.replace(" ~all", " include:amazonses.com ~all")]


def test_a_concurrent_edit_between_read_and_write_is_re_read_and_kept(d):
    zone_id = zone(d)
    put_records(d, zone_id, "mail.example.com", "TXT", ['"v=spf1 a -all"'])
    d.emu.control.before_route53_change(
        lambda: put_records(d, zone_id, "mail.example.com", "TXT", ['"v=spf1 a mx -all"', '"keep-me"'])
    )
    assert put(d).status == 200
    assert records(d, zone_id, "mail.example.com")["TXT"] == ['"v=spf1 a mx include:amazonses.com -all"', '"keep-me"']
    assert d.emu.dispatcher.outcomes["route-53.ChangeResourceRecordSets:InvalidChangeBatch"] == 1


# ---------------------------------------------------------------- 400


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        ({"identity": "example.com"}, "mailFromDomain: Field required"),
        ({"identity": "example.com", "mailFromDomain": "not a domain"}, "is not a valid domain name"),
        ({"identity": "example.com", "mailFromDomain": "mail.example.com", "extra": 1}, "extra"),
        ({"identity": "example.com", "mailFromDomain": "mail.other.org"}, "must be a subdomain"),
        ({"identity": "example.com", "mailFromDomain": "example.com"}, "must be a subdomain"),
        ({"identity": "unknown.org", "mailFromDomain": "mail.unknown.org"}, "SES has no email identity"),
    ],
)
def test_invalid_requests_get_the_seed_400_and_change_nothing(d, body, cause):
    zone_id = zone(d)
    resp = d.api("PUT", "/mail-from-attributes", body)
    causes = _problem(resp, 400, "400.1 Bad Request Content")
    assert resp.json()["messages"][0]["text"] == SEED_400
    assert any(cause in c for c in causes), causes
    assert writes(d) == {"ses": 0, "route53": 0}
    assert records(d, zone_id, "mail.example.com") == {}


def test_a_body_that_is_not_json_is_a_400(d):
    resp = d.api("PUT", "/mail-from-attributes", raw_body="{not json")
    _problem(resp, 400, "400.1 Bad Request Content")


@pytest.mark.parametrize(
    ("kind", "values", "words"),
    [
        ("CNAME", ["elsewhere.example.net"], "is a CNAME"),
        ("MX", ["10 inbound.example.net"], "already has an MX"),
        ("TXT", ['"v=spf1 a -all"', '"v=spf1 mx -all"'], "SPF permerror"),
    ],
)
def test_a_dns_conflict_is_a_clear_400_and_nothing_is_written(d, kind, values, words):
    zone_id = zone(d)
    put_records(d, zone_id, "mail.example.com", kind, values)
    before = records(d, zone_id, "mail.example.com")
    causes = _problem(put(d), 400, "400.1 Bad Request Content")
    assert any(words in c for c in causes), causes
    assert writes(d) == {"ses": 0, "route53": 0}  # not even SES: the conflict is found first
    assert records(d, zone_id, "mail.example.com") == before


def test_get_of_an_identity_without_mail_from_is_a_400(d):
    resp = d.api("GET", "/mail-from-attributes/example.com", scopes=(READ_SCOPE,))
    causes = _problem(resp, 400, "400.1 Bad Request Content")
    assert "no custom MAIL FROM domain" in causes[0]


# ---------------------------------------------------------------- 401 / 403


def _unauthorized(resp, reason: str) -> None:
    assert resp.status == 401
    assert resp.json() == {"error": f"JWT validation failed: {reason}"}


def test_missing_malformed_forged_expired_and_foreign_tokens_are_401_before_anything_runs(d):
    zone(d)
    issuer = d.issuer
    now = d.emu.clock.time()
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _unauthorized(put(d, token=None), "no Authorization header")
    _unauthorized(put(d, token="not-a-jwt"), "JWT is malformed")
    _unauthorized(put(d, token=issuer.token(key=other_key, now=now)), "JWT signature is invalid")
    _unauthorized(put(d, token=issuer.token(kid="unknown", now=now)), "JWT key id is not one of the issuer's keys")
    _unauthorized(put(d, token=issuer.token(now=now - 7200)), "JWT is expired")
    _unauthorized(put(d, token=issuer.token(now=now, iss="https://evil.example")), "JWT issuer is not trusted")
    # an invalid body does not reveal anything to an unauthenticated caller: 401 first
    _unauthorized(d.api("PUT", "/mail-from-attributes", {"bad": 1}, token=None), "no Authorization header")
    assert writes(d) == {"ses": 0, "route53": 0}


def test_a_token_without_the_write_scope_is_a_seed_403(d):
    zone(d)
    resp = put(d, scopes=(READ_SCOPE,))
    _problem(resp, 403, "403 Forbidden")
    assert resp.json()["messages"][0]["text"] == "The server understood the request but refuses to authorize it."
    assert writes(d) == {"ses": 0, "route53": 0}
    assert d.api("GET", "/mail-from-attributes/example.com", scopes=("other/scope",)).status == 403
    # the write scope also reads
    put(d, scopes=(WRITE_SCOPE,))
    assert d.api("GET", "/mail-from-attributes/example.com", scopes=(WRITE_SCOPE,)).status == 200


# ---------------------------------------------------------------- 429 / 500


def test_throttling_that_outlasts_the_retries_is_a_seed_429_with_retry_after(d):
    zone(d)
    d.emu.control.inject("sesv2", "GetEmailIdentity", throttle_rate=1.0)
    resp = put(d)
    assert resp.status == 429
    assert resp.json() == {"message": " Rate Limit Exceeded "}
    assert int(resp.headers["Retry-After"]) >= 1
    assert writes(d) == {"ses": 0, "route53": 0}


def test_an_unexpected_failure_is_a_seed_500_with_a_tracking_id_and_no_stack_trace(d):
    zone(d)
    d.emu.control.inject("route-53", "ListResourceRecordSets", error_rate=1.0)
    resp = put(d)
    _problem(resp, 500, "500.0 Internal Fault")
    assert resp.json()["messages"][0]["text"] == "An internal fault occurred."
    assert writes(d) == {"ses": 0, "route53": 0}
