"""MAIL FROM end to end on the emulator: the API request, Route 53, SES's verification on the
virtual clock, and the watcher (its schedule and the Email Identity Created event) across 72 h+."""

from __future__ import annotations

import json

import pytest
from mailwarden.contracts.names import IDENTITY_SOURCE, MailwardenDetailType, OperatorDetailType

from local.deployment import LocalDeployment
from tests.mail_from_support import MX, dkim, identity, put, put_records, records, zone

HOUR = 3600
STATUS = MailwardenDetailType.MAIL_FROM_STATUS_CHANGED
SETUP = MailwardenDetailType.MAIL_FROM_SETUP


def _ticks(d: LocalDeployment, hours: float, every: float = 1.0) -> list[dict]:
    """Fire the watcher's schedule every ``every`` hours for ``hours`` of virtual time."""
    outs = []
    for _ in range(int(hours / every)):
        d.emu.clock.advance(every * HOUR)
        outs.append(d.tick("mail-from-watch"))
    return outs


def _transitions(d: LocalDeployment, ident: str = "example.com") -> list[tuple[str, str]]:
    return [(e["before"], e["after"]) for e in d.events_of(STATUS) if e["identity"] == ident]


@pytest.fixture
def d(deployment: LocalDeployment) -> LocalDeployment:
    identity(deployment)
    return deployment


def test_published_records_turn_success_and_the_watcher_reports_it_once(d):
    zone(d)
    assert put(d).json()["mailFromDomainStatus"] == "PENDING"
    outs = _ticks(d, 3, every=0.25)
    assert _transitions(d) == [("PENDING", "SUCCESS")]
    assert outs[0] == {"checked": 1, "outcomes": {"success": 1}}
    assert all(o["checked"] == 0 for o in outs[1:])  # SUCCESS is re-checked daily, not every 15 min
    assert d.emu.calls["sesv2.GetEmailIdentity"] == 2  # the PUT's read and one watcher check


def test_the_watcher_follows_a_slow_route53_change_to_insync_and_says_so_once(d):
    d.emu.control.route53_propagation(7 * 60)  # Route 53 takes 7 minutes this time
    zone(d)
    change = put(d).headers["Mailwarden-Dns-Change-Id"]
    outs = _ticks(d, 0.25, every=5 / 60)  # the watcher's schedule: every 5 minutes
    insync = [e for e in d.events_of(SETUP) if e.get("outcome") == "dns-insync"]
    assert [(e["change"], e["identity"]) for e in insync] == [(change, "example.com")]
    assert d.emu.calls["route-53.GetChange"] == 2  # PENDING at 5 minutes, INSYNC at 10
    assert [o["checked"] for o in outs] == [1, 1, 0]  # then back to SES's 15-minute rhythm


def test_an_unverified_identity_stays_pending_until_its_dkim_records_are_published_then_succeeds(d):
    zone(d, with_dkim=False)  # the DNS automation has not published the identity's DKIM CNAMEs yet
    ses = d.emu.client("sesv2")
    assert ses.get_email_identity(EmailIdentity="example.com")["VerificationStatus"] == "PENDING"
    assert put(d).json()["mailFromDomainStatus"] == "PENDING"  # MX and SPF published, identity unverified
    _ticks(d, 6)
    assert _transitions(d) == []
    assert set(dkim(d)) == {"example.com"}
    _ticks(d, 1, every=0.25)
    assert _transitions(d) == [("PENDING", "SUCCESS")]
    assert ses.get_email_identity(EmailIdentity="example.com")["VerifiedForSendingStatus"] is True


def test_records_published_by_hand_a_day_later_are_seen(d):
    zone_id = zone(d, "other-provider.example")  # the account has zones, none owns example.com
    resp = put(d)
    assert resp.headers["Mailwarden-Dns-Publication"] == "not-published"
    _ticks(d, 30)
    assert _transitions(d) == []
    apex = zone(d, "example.com")  # the customer moves the DNS in and publishes the records
    put_records(d, apex, "mail.example.com", "MX", [MX])
    put_records(d, apex, "mail.example.com", "TXT", ['"v=spf1 include:amazonses.com ~all"'])
    _ticks(d, 1, every=0.25)
    assert _transitions(d) == [("PENDING", "SUCCESS")]
    assert records(d, zone_id, "mail.example.com") == {}


def test_failed_is_set_up_again_bounded_then_one_alert_and_no_more_polling(d):
    zone(d, "elsewhere.example")
    put(d)
    _ticks(d, 3 * 72 + 12, every=6)
    assert _transitions(d) == [("PENDING", "FAILED")] * 3  # each retry restarts at PENDING (a Setup event)
    setups = [e for e in d.events_of(SETUP) if e["identity"] == "example.com"]
    assert [e["outcome"] for e in setups] == ["set-up", "set-up", "retried", "set-up", "retried", "abandoned"]
    assert [e["attempt"] for e in setups if e["outcome"] == "retried"] == [2, 3]
    alerts = d.alerts()
    assert len(alerts) == 1
    assert "still FAILED after 3 setup attempt(s)" in alerts[0]["Message"]
    assert "identity itself is not verified (VerificationStatus FAILED)" in alerts[0]["Message"]  # no DKIM either
    assert d.emu.calls["sesv2.PutEmailIdentityMailFromAttributes"] == 3  # bounded: 3 attempts, no more
    before = d.emu.calls["sesv2.GetEmailIdentity"]
    _ticks(d, 48, every=6)
    assert d.emu.calls["sesv2.GetEmailIdentity"] == before  # abandoned: no longer polled


def test_records_that_vanish_after_success_are_temporary_failure_until_restored(d):
    zone_id = zone(d)
    put(d)
    _ticks(d, 1, every=0.25)
    saved = records(d, zone_id, "mail.example.com")
    put_records(d, zone_id, "mail.example.com", "MX", saved["MX"], action="DELETE")
    _ticks(d, 24)  # the daily re-check of a SUCCESS
    put_records(d, zone_id, "mail.example.com", "MX", saved["MX"])
    _ticks(d, 1, every=0.25)
    assert _transitions(d) == [
        ("PENDING", "SUCCESS"),
        ("SUCCESS", "TEMPORARY_FAILURE"),
        ("TEMPORARY_FAILURE", "SUCCESS"),
    ]


def test_a_crash_between_the_ses_write_and_the_change_batch_is_republished_by_the_watcher(d):
    zone_id = zone(d)
    d.emu.control.inject("route-53", "ChangeResourceRecordSets", error_rate=1.0)
    assert put(d).status == 500
    assert records(d, zone_id, "mail.example.com") == {}
    d.emu.dispatcher.faults.clear()
    outs = _ticks(d, 1, every=0.25)
    assert outs[0]["outcomes"] == {"republished": 1}
    assert records(d, zone_id, "mail.example.com")["MX"] == [MX]
    assert ("PENDING", "SUCCESS") in _transitions(d)


def test_identity_created_event_sets_up_the_policy_default_and_watches_it(d):
    policy = json.loads(open(d.policy_file).read())
    policy["mailFrom"]["defaultSubdomain"] = "bounce"
    d.set_policy(json.dumps(policy))
    zone_id = zone(d, "new.example")
    identity(d, "new.example")
    out = d.request(
        IDENTITY_SOURCE, OperatorDetailType.IDENTITY_CREATED, {"identity": "new.example"}, "mail_from_watch"
    )
    assert out == [{"status": "set-up", "domain": "bounce.new.example", "dns": "published"}]
    assert records(d, zone_id, "bounce.new.example")["MX"] == [MX]
    _ticks(d, 1, every=0.25)
    assert _transitions(d, "new.example") == [("PENDING", "SUCCESS")]


def test_malformed_or_refused_identity_events_go_to_the_dlq_with_the_reason(d):
    d.request(IDENTITY_SOURCE, OperatorDetailType.IDENTITY_CREATED, {"identity": 42}, "mail_from_watch")
    d.request(
        IDENTITY_SOURCE,
        OperatorDetailType.IDENTITY_CREATED,
        {"identity": "example.com", "mailFromDomain": "mail.elsewhere.org"},
        "mail_from_watch",
    )
    reasons = [m["reason"] for m in d.dead_letters()]
    assert any("detail.identity" in r for r in reasons), reasons
    assert any("must be a subdomain" in r for r in reasons), reasons
    assert d.emu.calls["sesv2.PutEmailIdentityMailFromAttributes"] == 0
