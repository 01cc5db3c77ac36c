"""The DNS cut-over of an organization exit (pure): the target-records file, the per-domain plan, its
rollback, the re-plan after a crash, and one change batch per hosted zone. The plans are applied to
an in-memory zone with Route 53's semantics (tests/cutover_support.py) and, once, to the emulator's
Route 53 through the MAIL FROM adapter."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from mailwarden.aws.mailfrom import Route53Dns
from mailwarden.mailfrom.model import Zone
from mailwarden.mailfrom.records import DnsConflict, RecordSet, quote_txt, txt_text
from mailwarden.mailfrom.service import StaleRecords
from mailwarden.policy import parse_policy
from mailwarden.workmail.cutover import (
    DomainPlan,
    TargetRecords,
    TargetRecordsError,
    is_applied,
    load_target_records,
    parse_target_records,
    plan_domain,
    plan_rollback,
    zone_change_batch,
)
from mailwarden.workmail.ports import MailDomain

from local.emulator import emulated_aws
from tests.cutover_support import (
    WORKMAIL_AUTODISCOVER,
    WORKMAIL_MX,
    apply,
    mail_domain,
    read,
    workmail_zone,
)

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "workmail-exit.md").read_text()
SECTION = PAGE.split("## The target-records file", 1)[1]
DOC_YAML = re.search(r"```yaml\n(.*?)```", SECTION, re.S).group(1)  # type: ignore[union-attr]
DOC_DIFF = re.search(r"```text\n(.*?)```", SECTION, re.S).group(1).splitlines()  # type: ignore[union-attr]
D = "example.com"
AD = f"autodiscover.{D}"
NEW_MX = ("10 mx1.newmail.example.net", "20 mx2.newmail.example.net")


def target(domain: str = D, **fields: object) -> TargetRecords:
    entry = {"mx": list(NEW_MX), "spfInclude": ["spf.newmail.example.net"], **fields}
    return parse_target_records({"version": 1, "domains": {domain: entry}})


def two_domains(*domains: str) -> TargetRecords:
    entry = {"mx": ["10 mx.new.example.net"], "spfInclude": ["spf.new.example.net"]}
    return parse_target_records({"version": 1, "domains": dict.fromkeys(domains, entry)})


def plan(zone, targets: TargetRecords, domain: str = D) -> DomainPlan:
    t = targets.domains[domain]
    return plan_domain(domain, t, mail_domain(domain), read(zone, t.names(domain)))


def cut_over(zone, targets: TargetRecords, domain: str = D):
    p = plan(zone, targets, domain)
    assert not p.conflicts, p.conflicts
    return p, apply(zone, zone_change_batch(D, [p], "cut-over"))


def values(zone, name: str, rtype: str) -> tuple[str, ...] | None:
    rs = zone.get(name, {}).get(rtype)
    return rs.values if rs else None


def spf_records(zone, name: str = D) -> list[str]:
    return [txt_text(v) for v in values(zone, name, "TXT") or () if txt_text(v).startswith("v=spf1")]


# ---------------------------------------------------------------- the documented example


def test_the_documented_example_loads_and_plans_the_diff_the_page_shows():
    targets = load_target_records(DOC_YAML)
    zone = workmail_zone(D)
    p, after = cut_over(zone, targets)
    assert list(p.diff) == DOC_DIFF
    assert values(after, D, "MX") == NEW_MX
    assert spf_records(after) == ["v=spf1 include:amazonses.com include:spf.newmail.example.net ~all"]
    assert values(after, AD, "CNAME") == ("autodiscover.newmail.example.net",)
    assert values(after, f"selector1._domainkey.{D}", "CNAME") == ("selector1.dkim.newmail.example.net",)
    assert load_target_records(json.dumps(targets.as_dict())) == targets  # JSON, as the event carries it


def test_the_page_example_is_not_a_policy_file():  # test_doc_examples routes it to the target-records loader
    with pytest.raises(ValueError):
        parse_policy(DOC_YAML, "example")


# ---------------------------------------------------------------- MX and autodiscover


def test_workmails_mx_is_replaced_and_the_exact_previous_set_kept_for_the_rollback():
    zone = workmail_zone(D, ttl=3600)
    p, after = cut_over(zone, target())
    assert {"Name": D, "Type": "MX", "TTL": 3600, "ResourceRecords": [{"Value": WORKMAIL_MX}]} in p.previous
    assert p.changes[0] == {"Action": "DELETE", "ResourceRecordSet": zone[D]["MX"].to_route53(D)}
    assert after[D]["MX"] == RecordSet("MX", NEW_MX, 300)
    assert not any("not WorkMail's" in n for n in p.notes)


def test_an_mx_set_that_is_not_workmails_is_replaced_too_and_the_plan_says_so():
    zone = workmail_zone(D)
    zone[D]["MX"] = RecordSet("MX", ("5 mx.oldhost.example.org",), 300)
    p, after = cut_over(zone, target())
    assert "- MX example.com 5 mx.oldhost.example.org" in p.diff
    assert any("5 mx.oldhost.example.org" in n and "not WorkMail's" in n for n in p.notes), p.notes
    assert values(after, D, "MX") == NEW_MX


def test_a_domain_without_mx_gets_the_targets():
    zone = workmail_zone(D)
    del zone[D]["MX"]
    p, after = cut_over(zone, target())
    assert [c["Action"] for c in p.changes if c["ResourceRecordSet"]["Type"] == "MX"] == ["CREATE"]
    assert values(after, D, "MX") == NEW_MX


def test_workmails_autodiscover_is_deleted_when_the_target_gives_none():
    p, after = cut_over(workmail_zone(D), target())
    assert [c["Action"] for c in p.changes if c["ResourceRecordSet"]["Name"] == AD] == ["DELETE"]
    assert AD not in after
    assert f"- CNAME {AD} {WORKMAIL_AUTODISCOVER}" in p.diff
    assert any("deleted" in n for n in p.notes)


def test_an_autodiscover_cname_that_is_not_workmails_is_kept_without_a_target_and_replaced_with_one():
    zone = workmail_zone(D)
    zone[AD]["CNAME"] = RecordSet("CNAME", ("autodiscover.outlook.com",), 300)
    p, after = cut_over(zone, target())
    assert values(after, AD, "CNAME") == ("autodiscover.outlook.com",)
    assert any("not WorkMail's" in n and "left" in n for n in p.notes)
    p, after = cut_over(zone, target(autodiscover="autodiscover.newmail.example.net"))
    assert values(after, AD, "CNAME") == ("autodiscover.newmail.example.net",)
    assert any("not WorkMail's" in n and "replaced" in n for n in p.notes)


def test_workmails_autodiscover_is_recognised_by_its_pattern_when_getmaildomain_does_not_list_it():
    zone = workmail_zone(D)
    bare = MailDomain(D, default=True, test=False, records=())
    t = target().domains[D]
    p = plan_domain(D, t, bare, read(zone, t.names(D)))
    assert AD not in apply(zone, zone_change_batch(D, [p], "c"))
    assert not any("not WorkMail's" in n for n in p.notes)


# ---------------------------------------------------------------- SPF


def test_the_includes_are_merged_into_the_one_spf_record_keeping_its_mechanisms_and_the_other_txt_values():
    zone = workmail_zone(D)
    zone[D]["TXT"] = RecordSet(
        "TXT", ('"google-site-verification=xyz"', '"v=spf1 ip4:192.0.2.0/24 include:amazonses.com -all"'), 900
    )
    t = target(spfInclude=["spf.newmail.example.net", "_spf.relay.example.net"])
    p, after = cut_over(zone, t)
    assert values(after, D, "TXT") == (
        '"google-site-verification=xyz"',
        '"v=spf1 ip4:192.0.2.0/24 include:amazonses.com include:spf.newmail.example.net '
        'include:_spf.relay.example.net -all"',
    )
    assert after[D]["TXT"].ttl == 900  # a TXT set that is there keeps its TTL
    assert any("include:amazonses.com is kept" in n for n in p.notes)


def test_without_an_spf_record_one_is_created_with_the_includes():
    zone = workmail_zone(D)
    zone[D]["TXT"] = RecordSet("TXT", ('"other=1"',), 300)
    _, after = cut_over(zone, target(spfInclude=["a.example.net", "b.example.net"]))
    assert spf_records(after) == ["v=spf1 include:a.example.net include:b.example.net ~all"]
    assert '"other=1"' in values(after, D, "TXT")
    del zone[D]["TXT"]
    _, after = cut_over(zone, target())
    assert values(after, D, "TXT") == ('"v=spf1 include:spf.newmail.example.net ~all"',)


def test_a_long_spf_record_is_split_into_quoted_strings_of_255():
    zone = workmail_zone(D)
    includes = [f"{'s' * 60}{i}.example.net" for i in range(5)]
    _, after = cut_over(zone, target(spfInclude=includes))
    (value,) = values(after, D, "TXT")
    assert value.count('" "') >= 1 and all(len(s) <= 255 for s in re.findall(r'"([^"]*)"', value))
    assert txt_text(value) == "v=spf1 include:amazonses.com " + " ".join(f"include:{i}" for i in includes) + " ~all"


# ---------------------------------------------------------------- the target's other records


def test_target_txt_is_merged_into_the_txt_set_there_and_a_cname_replaces_the_cname_there():
    zone = workmail_zone(D)
    zone[f"verify.{D}"] = {"TXT": RecordSet("TXT", ('"keep=me"',), 60)}
    zone[f"selector1._domainkey.{D}"] = {"CNAME": RecordSet("CNAME", ("old.dkim.example.org",), 300)}
    t = target(
        records=[
            {"name": "verify", "type": "TXT", "value": "newmail=1"},
            {"name": "selector1._domainkey.example.com", "type": "CNAME", "value": "s1.dkim.newmail.example.net"},
            {"name": "bounce", "type": "MX", "value": "10 feedback.newmail.example.net"},
        ]
    )
    p, after = cut_over(zone, t)
    assert values(after, f"verify.{D}", "TXT") == ('"keep=me"', '"newmail=1"')
    assert values(after, f"selector1._domainkey.{D}", "CNAME") == ("s1.dkim.newmail.example.net",)
    assert values(after, f"bounce.{D}", "MX") == ("10 feedback.newmail.example.net",)
    assert f"- CNAME selector1._domainkey.{D} old.dkim.example.org" in p.diff


def test_workmails_dkim_amazonses_dmarc_and_unrelated_records_are_untouched():
    zone = workmail_zone(D)
    zone[D]["A"] = RecordSet("A", (), None, alias=True)  # the web site at the apex: an alias beside MX/TXT
    zone[f"www.{D}"] = {"CNAME": RecordSet("CNAME", ("d111.cloudfront.net",), 300)}
    p, after = cut_over(zone, load_target_records(DOC_YAML))
    touched = {(r["Name"], r["Type"]) for r in (*p.previous, *p.after)}
    for name, sets in zone.items():
        for rtype, rs in sets.items():
            if (name, rtype) not in touched:
                assert after[name][rtype] == rs, (name, rtype)
    assert {n for n, _ in touched} == {D, AD, f"selector1._domainkey.{D}"}


# ---------------------------------------------------------------- conflicts


def _with(zone, name: str, *sets: RecordSet):
    zone.setdefault(name, {}).update({s.type: s for s in sets})
    return zone


SPF10 = "v=spf1 " + " ".join(f"include:s{i}.example.org" for i in range(10)) + " -all"
CONFLICTS = {
    "a CNAME where the MX and TXT must go": (
        lambda z: {D: {"CNAME": RecordSet("CNAME", ("elsewhere.example.org",), 300)}},
        {},
        rf"^{D} is a CNAME \(elsewhere\.example\.org\).*Remove the CNAME",
    ),
    "another record where the autodiscover CNAME must go": (
        lambda z: {**z, AD: {"A": RecordSet("A", ("192.0.2.1",), 300)}},
        {"autodiscover": "autodiscover.newmail.example.net"},
        rf"^{AD} has A records where the new provider's CNAME must go",
    ),
    "another record where a target CNAME must go": (
        lambda z: _with(z, f"selector1._domainkey.{D}", RecordSet("TXT", ('"v=DKIM1; p=abc"',), 300)),
        {"records": [{"name": "selector1._domainkey", "type": "CNAME", "value": "s1.dkim.newmail.example.net"}]},
        r"^selector1\._domainkey\.example\.com has TXT records where the new provider's CNAME must go",
    ),
    "a CNAME where a target TXT must go": (
        lambda z: _with(z, f"verify.{D}", RecordSet("CNAME", ("x.example.org",), 300)),
        {"records": [{"name": "verify", "type": "TXT", "value": "newmail=1"}]},
        r"^verify\.example\.com is a CNAME",
    ),
    "two SPF records at the domain": (
        lambda z: _with(z, D, RecordSet("TXT", ('"v=spf1 include:amazonses.com ~all"', '"v=spf1 mx -all"'), 300)),
        {},
        rf"^{D} already has 2 SPF records.*permerror",
    ),
    "an alias TXT record at the domain": (
        lambda z: _with(z, D, RecordSet("TXT", (), None, alias=True)),
        {},
        rf"^{D} has an alias TXT record",
    ),
    "an alias where the autodiscover CNAME must go": (
        lambda z: {**z, AD: {"CNAME": RecordSet("CNAME", (), None, alias=True)}},
        {"autodiscover": "autodiscover.newmail.example.net"},
        rf"^{AD} has an alias CNAME record",
    ),
    "an SPF record at its lookup limit": (
        lambda z: _with(z, D, RecordSet("TXT", (quote_txt(SPF10),), 300)),
        {},
        rf"^{D}: the SPF record already has 10 DNS-lookup terms; adding include:spf\.newmail\.example\.net",
    ),
    "a second DMARC record": (
        lambda z: z,
        {"records": [{"name": "_dmarc", "type": "TXT", "value": "v=DMARC1; p=none"}]},
        r"^_dmarc\.example\.com already has a DMARC record",
    ),
}


@pytest.mark.parametrize("case", CONFLICTS, ids=list(CONFLICTS))
def test_a_conflict_plans_nothing_for_the_domain_and_says_what_to_fix(case):
    make, fields, sentence = CONFLICTS[case]
    zone = make(workmail_zone(D))
    p = plan(zone, target(**fields))
    assert p.changes == () and p.previous == () and p.after == () and p.diff == ()
    assert any(re.search(sentence, c) for c in p.conflicts), p.conflicts
    assert zone_change_batch(D, [p], "c") is None


def test_the_conflicts_of_one_domain_do_not_stop_another_in_the_same_zone():
    sub = f"eu.{D}"
    zone = {**workmail_zone(D), **workmail_zone(sub)}
    zone[sub]["TXT"] = RecordSet("TXT", ('"v=spf1 a -all"', '"v=spf1 mx -all"'), 300)
    targets = two_domains(D, sub)
    plans = [plan(zone, targets, d) for d in (D, sub)]
    assert not plans[0].conflicts and plans[1].conflicts
    after = apply(zone, zone_change_batch(D, plans, "c"))
    assert values(after, D, "MX") == ("10 mx.new.example.net",)
    assert after[sub] == zone[sub]


def test_workmails_test_domain_is_a_conflict():
    t = target().domains[D]
    p = plan_domain(D, t, mail_domain(D, test=True), read(workmail_zone(D), t.names(D)))
    assert p.changes == () and "test domain" in p.conflicts[0]


def test_a_name_that_was_not_read_is_an_error_not_an_empty_name():
    t = target().domains[D]
    with pytest.raises(ValueError, match=r"autodiscover\.example\.com were not read"):
        plan_domain(D, t, mail_domain(D), {D: []})


# ---------------------------------------------------------------- re-plan, rollback, JSON


def test_replanning_after_the_cut_over_changes_nothing_and_the_plan_is_seen_applied():
    zone = workmail_zone(D)
    t = load_target_records(DOC_YAML)
    p, after = cut_over(zone, t)
    assert not is_applied(p, read(zone, p.names))
    assert is_applied(p, read(after, p.names))
    again = plan(after, t)
    assert again.changes == () and again.conflicts == ()
    assert any("already cut over" in n for n in again.notes)


def test_the_rollback_restores_the_previous_records_exactly_and_is_safe_to_repeat():
    zone = workmail_zone(D)
    zone[D]["TXT"] = RecordSet("TXT", ('"v=spf1 include:amazonses.com ~all"', '"google=1"'), 3600)
    p, after = cut_over(zone, load_target_records(DOC_YAML))
    back = plan_rollback(p, read(after, p.names))
    assert not back.conflicts
    assert [c["Action"] for c in back.changes].count("DELETE") == len(p.after)
    restored = apply(after, zone_change_batch(D, [back], "rollback"))
    assert restored == zone
    assert plan_rollback(p, read(restored, p.names)).changes == ()  # already rolled back: nothing to do


def test_the_rollback_refuses_names_changed_since_the_cut_over_and_names_them():
    zone = workmail_zone(D)
    p, after = cut_over(zone, load_target_records(DOC_YAML))
    after[D]["MX"] = RecordSet("MX", ("10 someone.else.example.org",), 300)
    back = plan_rollback(p, read(after, p.names))
    assert back.changes == ()
    (conflict,) = back.conflicts
    assert "example.com MX (now 10 someone.else.example.org)" in conflict and "changed them since" in conflict
    assert "autodiscover" not in conflict  # only the name that changed


def test_a_plan_is_json_and_reads_back_the_same():
    zone = workmail_zone(D)
    p = plan(zone, load_target_records(DOC_YAML))
    text = json.dumps(p.as_dict())
    assert DomainPlan.from_dict(json.loads(text)) == p
    assert set(json.loads(text)) == {"domain", "changes", "previous", "after", "diff", "conflicts", "notes"}


# ---------------------------------------------------------------- one change batch per zone


def test_the_domains_of_one_zone_go_in_one_batch_and_one_domain_twice_is_refused():
    sub = f"eu.{D}"
    zone = {**workmail_zone(D), **workmail_zone(sub)}
    targets = two_domains(D, sub)
    plans = [plan(zone, targets, d) for d in (D, sub)]
    batch = zone_change_batch(D, plans, "exit m-1: DNS cut-over")
    assert batch is not None and len(batch["Changes"]) == sum(len(p.changes) for p in plans)
    after = apply(zone, batch)
    assert values(after, sub, "MX") == values(after, D, "MX") == ("10 mx.new.example.net",)
    with pytest.raises(DnsConflict, match=r"is changed for both example\.com and example\.com|in the batch twice"):
        zone_change_batch(D, [plans[0], plans[0]], "c")
    with pytest.raises(DnsConflict, match=r"is not in hosted zone eu\.example\.com"):
        zone_change_batch(sub, plans, "c")


def _synthetic(n: int, value: str, prefix: str = "n") -> DomainPlan:
    changes = tuple(
        {"Action": "CREATE", "ResourceRecordSet": RecordSet("TXT", (value,), 300).to_route53(f"{prefix}{i}.{D}")}
        for i in range(n)
    )
    return DomainPlan(D, changes)


def test_the_batch_keeps_to_route_53s_limits():
    assert zone_change_batch(D, [_synthetic(1000, '"x"')], "c") is not None
    with pytest.raises(DnsConflict, match=r"1001 records .* takes 1000 and 32,000"):
        zone_change_batch(D, [_synthetic(1001, '"x"')], "c")
    big = '"' + "y" * 3998 + '"'  # 4000 characters, Route 53's most for one value
    assert zone_change_batch(D, [_synthetic(8, big)], "c") is not None  # 32,000 characters
    with pytest.raises(DnsConflict, match=r"9 records and 32003 characters"):
        zone_change_batch(D, [_synthetic(8, big), _synthetic(1, '"z"', prefix="z")], "c")
    assert zone_change_batch(D, [DomainPlan(D)], "c") is None  # nothing to change: no batch (Route 53 needs one)


# ---------------------------------------------------------------- the file


def test_the_file_normalises_domains_and_names():
    t = parse_target_records(
        {
            "version": 1,
            "domains": {
                "Example.COM.": {
                    "mx": ["10 MX1.NewMail.example.net."],
                    "spfInclude": ["SPF.newmail.example.net"],
                    "autodiscover": "AutoDiscover.newmail.example.net.",
                    "records": [
                        {"name": "@", "type": "TXT", "value": "a"},
                        {"name": "S1._domainkey", "type": "CNAME", "value": "s1.dkim.example.net"},
                        {"name": "verify.example.com.", "type": "TXT", "value": "b"},
                    ],
                }
            },
        }
    )
    (d,) = t.domains
    e = t.domains[d]
    assert d == D and e.mx == ("10 mx1.newmail.example.net",) and e.spf_include == ("spf.newmail.example.net",)
    assert e.autodiscover == "autodiscover.newmail.example.net" and e.ttl == 300
    assert [r.name for r in e.records] == [D, f"s1._domainkey.{D}", f"verify.{D}"]
    assert e.names(D) == [D, AD, f"s1._domainkey.{D}", f"verify.{D}"]
    assert parse_target_records(t.as_dict()) == t


OK = {"mx": ["10 mx.new.example.net"], "spfInclude": ["spf.new.example.net"]}
INVALID = {
    "an unknown field": ({D: {**OK, "mxx": []}}, r"domain example\.com: unknown field 'mxx' \(the fields are ttl, mx"),
    "an unknown top-level field": ("top", r"unknown field 'domain' \(the fields are version, domains\)"),
    "an unknown record field": (
        {D: {**OK, "records": [{"name": "a", "type": "TXT", "value": "v", "ttl": 5}]}},
        r"domain example\.com: records\[0\]: unknown field 'ttl' \(the fields are name, type, value\)",
    ),
    "no MX": ({D: {**OK, "mx": []}}, r"domain example\.com: mx: .*at least 1"),
    "an MX preference over 65535": (
        {D: {**OK, "mx": ["10 a.example.net", "65536 b.example.net"]}},
        r"domain example\.com: mx\[1\]: MX value '65536 b\.example\.net' is not '<preference 0-65535> <host>'",
    ),
    "an MX without a preference": ({D: {**OK, "mx": ["mx.example.net"]}}, r"mx\[0\]: MX value"),
    "an MX host twice": ({D: {**OK, "mx": ["10 a.example.net", "20 A.example.net."]}}, r"mx lists a\.example\.net"),
    "a label over 63": ({D: {**OK, "autodiscover": "a" * 64 + ".example.net"}}, r"autodiscover: the autodiscover"),
    "a name over 253": (
        {D: {**OK, "spfInclude": [".".join(["a" * 60] * 4) + ".example.com"]}},
        r"spfInclude\[0\]: the SPF include .* 253 characters",
    ),
    "an underscore in a host": ({D: {**OK, "mx": ["10 mx_1.example.net"]}}, r"mx\[0\]: the host of MX value"),
    "a single-label host": ({D: {**OK, "autodiscover": "localhost"}}, r"not a fully qualified DNS name"),
    "a bad mail domain": ({"exa mple.com": OK}, r"the mail domain 'exa mple\.com' is not a fully qualified"),
    "the same domain twice": ({D: OK, "Example.com.": OK}, r"domain Example\.com\.: the same domain as another"),
    "two domains writing one name": (
        {D: {**OK, "records": [{"name": "eu", "type": "TXT", "value": "x"}]}, f"eu.{D}": OK},
        r"domain eu\.example\.com: eu\.example\.com is also written for domain example\.com",
    ),
    "a record type the file does not take": (
        {D: {**OK, "records": [{"name": "www", "type": "A", "value": "192.0.2.1"}]}},
        r"records\[0\]\.type: Input should be 'CNAME', 'TXT' or 'MX'",
    ),
    "a CNAME at the domain": (
        {D: {**OK, "records": [{"name": "@", "type": "CNAME", "value": "x.example.net"}]}},
        r"domain example\.com: records\[0\] \(@ CNAME\): a CNAME cannot be at the domain itself",
    ),
    "two CNAMEs at one name": (
        {
            D: {
                **OK,
                "records": [
                    {"name": "s1._domainkey", "type": "CNAME", "value": "a.example.net"},
                    {"name": "s1._domainkey.example.com", "type": "CNAME", "value": "b.example.net"},
                ],
            }
        },
        r"records\[1\] \(s1\._domainkey\.example\.com CNAME\): a CNAME at s1\._domainkey\.example\.com cannot share",
    ),
    "a CNAME beside a TXT": (
        {
            D: {
                **OK,
                "records": [
                    {"name": "x", "type": "TXT", "value": "a"},
                    {"name": "x", "type": "CNAME", "value": "b.example.net"},
                ],
            }
        },
        r"records\[1\] \(x CNAME\): a CNAME at x\.example\.com cannot share",
    ),
    "one record twice": (
        {
            D: {
                **OK,
                "records": [{"name": "x", "type": "TXT", "value": "a"}, {"name": "x", "type": "TXT", "value": "a"}],
            }
        },
        r"records\[1\] \(x TXT\): listed twice",
    ),
    "an MX record at the domain": (
        {D: {**OK, "records": [{"name": "@", "type": "MX", "value": "10 x.example.net"}]}},
        r"records\[0\] \(@ MX\): the MX records at the domain are 'mx'",
    ),
    "an SPF record at the domain": (
        {D: {**OK, "records": [{"name": "@", "type": "TXT", "value": "v=spf1 -all"}]}},
        r"records\[0\] \(@ TXT\): the SPF record at the domain is merged from 'spfInclude'",
    ),
    "a record at the autodiscover name": (
        {D: {**OK, "records": [{"name": "autodiscover", "type": "CNAME", "value": "x.example.net"}]}},
        r"autodiscover\.example\.com is the autodiscover name; give its target as 'autodiscover'",
    ),
    "a name outside the domain": (
        {D: {**OK, "records": [{"name": "x.example.org.", "type": "TXT", "value": "a"}]}},
        r"records\[0\] \(x\.example\.org\. TXT\): name 'x\.example\.org\.' is not inside example\.com",
    ),
    "two SPF records at one name": (
        {
            D: {
                **OK,
                "records": [
                    {"name": "b", "type": "TXT", "value": "v=spf1 a -all"},
                    {"name": "b", "type": "TXT", "value": "v=spf1 mx -all"},
                ],
            }
        },
        r"records\[1\] \(b TXT\): a second SPF record at b\.example\.com",
    ),
    "a TXT value that is not printable ASCII": (
        {D: {**OK, "records": [{"name": "x", "type": "TXT", "value": "caf\u00e9"}]}},
        r"records\[0\]\.value: a TXT value is printable ASCII",
    ),
    "a TXT value over Route 53's 4000 characters": (
        {D: {**OK, "records": [{"name": "x", "type": "TXT", "value": "a" * 3980}]}},
        r"longer than Route 53's 4000 characters once quoted",
    ),
    "eleven SPF includes": ({D: {**OK, "spfInclude": [f"s{i}.example.net" for i in range(11)]}}, r"at most 10"),
    "a TTL that is a string": ({D: {**OK, "ttl": "300"}}, r"domain example\.com: ttl: Input should be a valid integer"),
    "a negative TTL": ({D: {**OK, "ttl": -1}}, r"ttl: Input should be greater than or equal to 0"),
    "no domains": ({}, r"domains: .*at least 1"),
    "version 2": ("v2", r"version: version 2 is not 1"),
}


@pytest.mark.parametrize("case", INVALID, ids=list(INVALID))
def test_an_invalid_file_is_refused_naming_the_domain_the_entry_and_the_problem(case):
    domains, message = INVALID[case]
    doc = {"version": 1, "domains": domains}
    if domains == "top":
        doc = {"version": 1, "domains": {D: OK}, "domain": {}}
    if domains == "v2":
        doc = {"version": 2, "domains": {D: OK}}
    for text in (json.dumps(doc), json.dumps(doc, indent=2)):  # JSON, and YAML's superset read as such
        with pytest.raises(TargetRecordsError, match=message):
            load_target_records(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\ndomains: [example.com]\n", r"domains: Input should be a valid dictionary"),
        ("- version: 1\n", r"expected a mapping with 'version: 1' and 'domains'"),
        ("version: 1\ndomains:\n  example.com: {mx: [\n", r"line \d+: not YAML"),
        ("", r"expected a mapping"),
        (
            "version: true\ndomains: {example.com: {mx: ['10 a.example.net'], spfInclude: [b.example.net]}}\n",
            r"version",
        ),
    ],
)
def test_text_that_is_not_a_target_records_file_is_refused(text, message):
    with pytest.raises(TargetRecordsError, match=message):
        load_target_records(text)


# ---------------------------------------------------------------- on the emulator's Route 53


def test_on_route_53_the_batch_applies_a_concurrent_edit_is_refused_and_the_rollback_plans_from_what_is_read():
    """The exact-DELETE/CREATE batch against the emulator's Route 53 (which enforces AWS's checks), the
    records read back through ``Route53Dns.record_sets`` as the workflow reads them.

    The rollback batch is planned from the records read there and applied to the in-memory zone, not
    sent: moto (under the emulator) refuses a CREATE identical to one in its change journal while
    the set exists before the same batch's DELETE, which Route 53 accepts (a DELETE and a CREATE of
    one name and type in one batch are applied together: ChangeResourceRecordSets, botocore model)."""
    t = load_target_records(DOC_YAML).domains[D]
    before = workmail_zone(D)
    with emulated_aws() as emu:
        client = emu.client("route53")
        zone_id = client.create_hosted_zone(Name=D, CallerReference="exit")["HostedZone"]["Id"].rsplit("/", 1)[-1]
        seeded = [
            {"Action": "CREATE", "ResourceRecordSet": rs.to_route53(n)} for n, x in before.items() for rs in x.values()
        ]
        client.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": seeded})
        dns = Route53Dns(client, parse_policy("version: 1\n").mail_from)
        zone = Zone(zone_id, D)

        def current(names):
            return {n: dns.record_sets(zone, n) for n in names}

        stale = plan_domain(D, t, mail_domain(D), current(t.names(D)))
        edit = RecordSet("TXT", (*before[D]["TXT"].values, '"added=meanwhile"'), 300)
        client.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={
                "Changes": [
                    {"Action": "DELETE", "ResourceRecordSet": before[D]["TXT"].to_route53(D)},
                    {"Action": "CREATE", "ResourceRecordSet": edit.to_route53(D)},
                ]
            },
        )
        batch = zone_change_batch(D, [stale], "exit: DNS cut-over")
        with pytest.raises(StaleRecords):  # the edit is not overwritten: the exact DELETE no longer matches
            dns.change(zone, batch["Changes"], batch["Comment"])
        p = plan_domain(D, t, mail_domain(D), current(t.names(D)))
        batch = zone_change_batch(D, [p], "exit: DNS cut-over")
        dns.change(zone, batch["Changes"], batch["Comment"])
        assert is_applied(p, current(p.names))
        assert plan_domain(D, t, mail_domain(D), current(t.names(D))).changes == ()
        assert [rs.values for rs in dns.record_sets(zone, D) if rs.type == "MX"] == [NEW_MX]
        assert [txt_text(v) for v in next(rs for rs in dns.record_sets(zone, D) if rs.type == "TXT").values] == [
            "v=spf1 include:amazonses.com include:spf.newmail.example.net ~all",
            "added=meanwhile",
            "newmail-verification=abc123",
        ]
        read_back = {
            n: {rs.type: rs for rs in sets if rs.type not in ("NS", "SOA")} for n, sets in current(p.names).items()
        }
        back = plan_rollback(p, current(p.names))
    restored = apply({n: x for n, x in read_back.items() if x}, zone_change_batch(D, [back], "exit: DNS rollback"))
    assert restored == {n: before[n] for n in p.names if n in before} | {D: {**before[D], "TXT": edit}}
