"""The MAIL FROM records and the one Route 53 change that publishes them (pure)."""

from __future__ import annotations

import pytest
from mailwarden.mailfrom.records import (
    SPF_RECORD,
    DnsConflict,
    RecordSet,
    merge_spf,
    plan_records,
    quote_txt,
    records_ok,
    txt_text,
)

NAME = "mail.example.com"
MX = "10 feedback-smtp.us-east-1.amazonses.com"


def _after(plan, kind):  # the record set the change batch leaves at NAME
    created = [c["ResourceRecordSet"] for c in plan.changes if c["Action"] == "CREATE"]
    return next((tuple(r["Value"] for r in s["ResourceRecords"]) for s in created if s["Type"] == kind), None)


def test_nothing_there_creates_one_mx_and_the_spf_record():
    plan = plan_records(NAME, [], "us-east-1")
    assert [c["Action"] for c in plan.changes] == ["CREATE", "CREATE"]
    assert _after(plan, "MX") == (MX,)
    assert _after(plan, "TXT") == (f'"{SPF_RECORD}"',)


def test_other_txt_values_are_kept_and_the_old_set_is_deleted_exactly():
    existing = RecordSet("TXT", ('"google-site-verification=abc"',), 600)
    plan = plan_records(NAME, [existing], "us-east-1")
    deleted = [c["ResourceRecordSet"] for c in plan.changes if c["Action"] == "DELETE"]
    assert deleted == [existing.to_route53(NAME)]
    assert _after(plan, "TXT") == ('"google-site-verification=abc"', f'"{SPF_RECORD}"')
    assert (
        next(c for c in plan.changes if c["Action"] == "CREATE" and c["ResourceRecordSet"]["Type"] == "TXT")[
            "ResourceRecordSet"
        ]["TTL"]
        == 600
    )  # the existing TTL is kept


def test_an_existing_spf_record_keeps_its_mechanisms_and_gains_the_ses_include_before_all():
    existing = RecordSet("TXT", ('"v=spf1 ip4:192.0.2.0/24 include:_spf.google.com -all"', '"other"'), 300)
    plan = plan_records(NAME, [existing], "us-east-1")
    assert _after(plan, "TXT") == (
        '"v=spf1 ip4:192.0.2.0/24 include:_spf.google.com include:amazonses.com -all"',
        '"other"',
    )
    assert len([v for v in _after(plan, "TXT") if txt_text(v).startswith("v=spf1")]) == 1  # never two SPF


def test_spf_without_all_gets_the_include_before_its_redirect_modifier():
    assert merge_spf("v=spf1 a redirect=_spf.example.com") == "v=spf1 a include:amazonses.com redirect=_spf.example.com"
    assert merge_spf("v=spf1 mx") == "v=spf1 mx include:amazonses.com"


def test_long_values_are_split_into_quoted_strings_of_at_most_255_characters():
    mechanisms = " ".join(f"ip4:198.51.100.{i}" for i in range(1, 30))
    existing = RecordSet("TXT", (quote_txt(f"v=spf1 {mechanisms} ~all"),), 300)
    plan = plan_records(NAME, [existing], "us-east-1")
    (value,) = _after(plan, "TXT")
    strings = value[1:-1].split('" "')
    merged = f"v=spf1 {mechanisms} include:amazonses.com ~all"
    assert len(merged) > 2 * 255
    assert [len(s) for s in strings] == [255, 255, len(merged) - 510]
    assert txt_text(value) == merged


def test_quotes_and_backslashes_are_escaped_and_read_back():
    text = 'say "hi" \\ bye'
    assert quote_txt(text) == '"say \\"hi\\" \\\\ bye"'
    assert txt_text(quote_txt(text)) == text


def test_records_already_right_need_no_change():
    existing = [RecordSet("MX", (MX + ".",), 300), RecordSet("TXT", ('"v=spf1 include:amazonses.com ~all"',), 300)]
    plan = plan_records(NAME, existing, "us-east-1")
    assert not plan.needed
    assert records_ok(existing, "us-east-1")


@pytest.mark.parametrize(
    ("existing", "words"),
    [
        ([RecordSet("CNAME", ("elsewhere.example.net",), 300)], "CNAME"),
        ([RecordSet("MX", ("10 inbound.example.net",), 300)], "already has an MX"),
        ([RecordSet("MX", (MX, "20 backup.example.net"), 300)], "already has an MX"),
        ([RecordSet("TXT", ('"v=spf1 a -all"', '"v=spf1 mx -all"'), 300)], "2 SPF records"),
        (
            [RecordSet("TXT", (quote_txt("v=spf1 " + " ".join(f"include:s{i}.example.net" for i in range(10))),), 300)],
            "10 DNS-lookup terms",
        ),
    ],
)
def test_conflicts_are_refused_with_what_to_fix(existing, words):
    with pytest.raises(DnsConflict, match=words):
        plan_records(NAME, existing, "us-east-1")
