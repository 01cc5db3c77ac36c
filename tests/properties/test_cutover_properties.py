"""The DNS cut-over over generated zones and target files. For zones holding WorkMail's records (and
other MX, SPF, autodiscover, TXT and CNAME records, aliases) and generated targets for one or two
mail domains of one hosted zone: a domain conflicts exactly when the records there say it must; the
one batch applies with Route 53's semantics (tests/cutover_support.py); afterwards each domain that
did not conflict has one SPF record, the target's MX, autodiscover and records, and no WorkMail MX;
nothing else changed; re-planning changes nothing; the rollback gives back the zone exactly. The
target-records file: mutated or arbitrary text is a TargetRecords (which round-trips) or a
TargetRecordsError, never another exception; a file broken on purpose is always refused."""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from mailwarden.mailfrom.records import RecordSet, quote_txt, txt_text
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

from tests.cutover_support import WORKMAIL_MX, Zone, apply, mail_domain, read, workmail_zone
from tests.properties.mutations import TEXT, counted, mutated

ZONE = "example.com"
DOMAINS = ("example.com", "eu.example.com")
TTL = st.sampled_from([60, 300, 3600])
HOSTS = ["mx1.new.example.net", "mx2.new.example.net", "mx.backup.example.org"]
INCLUDES = ["spf.new.example.net", "_spf.relay.example.net", "amazonses.com"]
NEW_AUTODISCOVER = "autodiscover.new.example.net"
# (relative name, type, value) the target may give, and what may already be at that name
CANDIDATES = [
    ("selector1._domainkey", "CNAME", "s1.dkim.new.example.net"),
    ("selector2._domainkey", "CNAME", "s2.dkim.new.example.net"),
    ("@", "TXT", "new-verification=1"),
    ("verify", "TXT", "new-site=2"),
    ("bounce", "MX", "10 feedback.new.example.net"),
    ("_dmarc", "TXT", "v=DMARC1; p=none; rua=mailto:d@new.example.net"),
]
EXISTING = {
    "none": None,
    "txt": RecordSet("TXT", ('"keep=1"',), 300),
    "cname": RecordSet("CNAME", ("old.example.org",), 300),
    "mx": RecordSet("MX", ("10 old.example.org",), 300),
}
SPF10 = "v=spf1 " + " ".join(f"include:s{i}.example.org" for i in range(10)) + " -all"
APEX_TXT = {
    "workmail": None,  # as workmail_zone publishes it
    "rich": ('"google-site-verification=abc"', '"v=spf1 ip4:192.0.2.0/24 include:amazonses.com -all"'),
    "no spf": ('"google-site-verification=abc"',),
    "none": (),
    "two spf": ('"v=spf1 include:amazonses.com ~all"', '"v=spf1 mx -all"'),
    "lookup limit": (quote_txt(SPF10),),
}


def _name(relative: str, domain: str) -> str:
    return domain if relative == "@" else f"{relative}.{domain}"


@st.composite
def domain_case(draw: st.DrawFn, domain: str) -> tuple[Zone, dict[str, Any], list[str]]:
    """A zone holding WorkMail's records for ``domain`` and others, a target entry, and the conflicts
    the records must cause (each as the name it is at)."""
    zone = workmail_zone(domain, ttl=draw(TTL))
    expect: list[str] = []
    mx = draw(st.sampled_from(["workmail", "workmail", "other", "none"]))
    if mx == "other":
        zone[domain]["MX"] = RecordSet("MX", ("5 mx.old.example.org", "10 mx2.old.example.org"), 300)
    elif mx == "none":
        del zone[domain]["MX"]
    apex = draw(st.sampled_from([*sorted(APEX_TXT), *["workmail", "rich", "no spf"] * 3]))  # conflicts rarer
    if APEX_TXT[apex] == ():
        del zone[domain]["TXT"]
    elif APEX_TXT[apex] is not None:
        zone[domain]["TXT"] = RecordSet("TXT", APEX_TXT[apex], draw(TTL))
    if apex in ("two spf", "lookup limit"):
        expect.append(domain)
    if draw(st.booleans()):
        zone[domain]["A"] = RecordSet("A", (), None, alias=True)  # a web site at the apex: no conflict
    ad = f"autodiscover.{domain}"
    autodiscover = draw(st.sampled_from(["workmail", "other", "none", "a record"]))
    if autodiscover == "other":
        zone[ad] = {"CNAME": RecordSet("CNAME", ("autodiscover.outlook.com",), 300)}
    elif autodiscover in ("none", "a record"):
        del zone[ad]
        if autodiscover == "a record":
            zone[ad] = {"A": RecordSet("A", ("192.0.2.10",), 300)}
    target_ad = draw(st.booleans())
    if target_ad and autodiscover == "a record":
        expect.append(ad)
    zone[f"www.{domain}"] = {"CNAME": RecordSet("CNAME", ("d111.cloudfront.net",), 300)}
    records = draw(st.lists(st.sampled_from(CANDIDATES[:5] * 4 + CANDIDATES[5:]), unique=True, max_size=5))
    for rel, rtype, value in CANDIDATES:
        name = _name(rel, domain)
        if rel in ("@", "_dmarc"):
            continue  # the apex is drawn above; _dmarc holds WorkMail's DMARC record
        there = EXISTING[draw(st.sampled_from([*sorted(EXISTING), *["none"] * 9]))]
        if there is not None:
            zone[name] = {there.type: there}
        wanted = (rel, rtype, value) in records
        if wanted and there is not None and (there.type == "CNAME") != (rtype == "CNAME"):
            expect.append(name)
    if CANDIDATES[5] in records:  # a second DMARC record beside WorkMail's
        expect.append(_name("_dmarc", domain))
    hosts = draw(st.lists(st.sampled_from(HOSTS), min_size=1, max_size=3, unique=True))
    entry: dict[str, Any] = {
        "ttl": draw(TTL),
        "mx": [f"{10 * (i + 1)} {h}" for i, h in enumerate(hosts)],
        "spfInclude": draw(st.lists(st.sampled_from(INCLUDES), min_size=1, max_size=3, unique=True)),
        "records": [{"name": rel, "type": rtype, "value": value} for rel, rtype, value in records],
    }
    if target_ad:
        entry["autodiscover"] = NEW_AUTODISCOVER
    return zone, entry, expect


@st.composite
def cases(draw: st.DrawFn) -> tuple[Zone, TargetRecords, dict[str, list[str]]]:
    domains = draw(st.sampled_from([DOMAINS[:1], DOMAINS[1:], DOMAINS]))
    zone: Zone = {}
    entries, expect = {}, {}
    for d in domains:
        z, entries[d], expect[d] = draw(domain_case(d))
        zone.update(z)
    zone = {n: sets for n, sets in zone.items() if sets}  # Route 53 has no name without records
    return zone, parse_target_records({"version": 1, "domains": entries}), expect


def _spf(zone: Zone, name: str) -> list[str]:
    rs = zone.get(name, {}).get("TXT")
    return [t for t in (txt_text(v) for v in (rs.values if rs else ())) if t.lower().startswith("v=spf1")]


@settings(max_examples=300)
@given(case=cases())
def test_the_cut_over_applies_leaves_one_spf_replans_to_nothing_and_rolls_back_exactly(case):
    zone, targets, expect = case
    original = copy.deepcopy(zone)
    plans = {d: plan_domain(d, t, mail_domain(d), read(zone, t.names(d))) for d, t in targets.domains.items()}
    for d, p in plans.items():
        assert DomainPlan.from_dict(json.loads(json.dumps(p.as_dict()))) == p
        assert bool(p.conflicts) == bool(expect[d]), (d, p.conflicts, expect[d])
        assert all(any(name in c for c in p.conflicts) for name in expect[d]), (p.conflicts, expect[d])
        if p.conflicts:
            assert p.changes == p.previous == p.after == ()
        counted("dns cut-over: generated domains", refused=bool(p.conflicts))
    assert parse_target_records(targets.as_dict()) == targets

    after = apply(zone, zone_change_batch(ZONE, list(plans.values()), "exit: DNS cut-over"))  # never refused

    written = {n for p in plans.values() for n in p.names}
    for name in set(original) | set(after):
        if name not in written:
            assert after.get(name) == original.get(name), name
    for d, p in plans.items():
        t = targets.domains[d]
        if p.conflicts:
            assert all(after.get(n) == original.get(n) for n in t.names(d))
            continue
        assert len(_spf(after, d)) == 1 and all(f"include:{i}" in _spf(after, d)[0].split() for i in t.spf_include)
        assert set(after[d]["MX"].values) == set(t.mx) and WORKMAIL_MX not in after[d]["MX"].values
        ad = after.get(f"autodiscover.{d}", {})
        was = original.get(f"autodiscover.{d}", {})
        if t.autodiscover:
            assert ad == {"CNAME": RecordSet("CNAME", (t.autodiscover,), t.ttl)}
        elif "CNAME" in was and was["CNAME"].values[0].startswith("autodiscover.mail."):
            assert ad == {}  # WorkMail's is gone
        else:
            assert ad == was
        for r in t.records:
            got = after[r.name][r.type].values
            assert (r.value,) == got if r.type == "CNAME" else r.value in {txt_text(v) for v in got} | set(got)
        assert is_applied(p, read(after, p.names))
        assert plan_domain(d, t, mail_domain(d), read(after, t.names(d))).changes == ()  # re-run after a crash

    backs = [plan_rollback(p, read(after, p.names)) for p in plans.values()]
    assert not any(b.conflicts for b in backs)
    assert apply(after, zone_change_batch(ZONE, backs, "exit: DNS rollback")) == original


# ---------------------------------------------------------------- the file


VALID = [
    yaml.safe_load(
        """
version: 1
domains:
  example.com:
    ttl: 300
    mx: ["10 mx1.newmail.example.net", "20 mx2.newmail.example.net"]
    spfInclude: ["spf.newmail.example.net"]
    autodiscover: autodiscover.newmail.example.net
    records:
      - {name: selector1._domainkey, type: CNAME, value: selector1.dkim.newmail.example.net}
      - {name: "@", type: TXT, value: "newmail-verification=abc123"}
      - {name: bounce, type: MX, value: "10 fb.newmail.example.net"}
  eu.example.com:
    mx: ["0 mx.newmail.example.net"]
    spfInclude: ["_spf.newmail.example.net", "spf2.newmail.example.net"]
"""
    )
]


def _text(doc: Any, as_json: bool) -> str:
    return json.dumps(doc) if as_json else yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def _loaded_or_refused(text: str, property_name: str) -> TargetRecords | None:
    try:
        targets = load_target_records(text)
    except TargetRecordsError as exc:
        counted(property_name, refused=True)
        assert str(exc).startswith("target records: ") and len(str(exc)) > len("target records: "), str(exc)
        return None
    counted(property_name)
    for as_json in (True, False):
        assert load_target_records(_text(targets.as_dict(), as_json)) == targets
    return targets


@settings(max_examples=400)
@given(doc=mutated(st.sampled_from(VALID)), as_json=st.booleans())
def test_a_mutated_file_is_valid_and_round_trips_or_is_refused_with_a_reason(doc, as_json):
    _loaded_or_refused(_text(doc, as_json), "target records: mutated files")


@settings(max_examples=300)
@given(text=TEXT | st.sampled_from(["{", "- 1", "version: 1\ndomains:\n  a.com: [", "version: 1\n" + "x: [" * 40]))
def test_arbitrary_text_is_a_file_or_refused_never_another_exception(text):
    _loaded_or_refused(text, "target records: arbitrary text")


def _entry(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["domains"]["example.com"]


def _record(doc: dict[str, Any], **fields: Any) -> None:
    _entry(doc)["records"].append({"name": "x", "type": "TXT", "value": "v", **fields})


BREAK = {
    "unknown top-level field": lambda doc, s: doc.__setitem__(s or "extra", 1) if s not in doc else None,
    "unknown domain field": lambda doc, s: _entry(doc).__setitem__("z" + s, 1),
    "unknown record field": lambda doc, s: _entry(doc)["records"][0].__setitem__("z" + s, 1),
    "MX preference over 65535": lambda doc, s: _entry(doc)["mx"].append(f"{65536 + len(s)} mx9.example.net"),
    "no MX": lambda doc, s: _entry(doc).__setitem__("mx", []),
    "no spfInclude": lambda doc, s: _entry(doc).pop("spfInclude"),
    "label over 63": lambda doc, s: _entry(doc).__setitem__("autodiscover", "a" * (64 + len(s)) + ".example.net"),
    "record type A": lambda doc, s: _record(doc, type="A", value="192.0.2.1"),
    "CNAME at the domain": lambda doc, s: _record(doc, name="@", type="CNAME", value="x.example.net"),
    "second CNAME": lambda doc, s: _record(doc, name="selector1._domainkey", type="CNAME", value="y.example.net"),
    "record at autodiscover": lambda doc, s: _record(doc, name="autodiscover"),
    "MX at the domain": lambda doc, s: _record(doc, name="@", type="MX", value="10 a.example.net"),
    "SPF at the domain": lambda doc, s: _record(doc, name="@", value="v=spf1 -all"),
    "name outside": lambda doc, s: _record(doc, name="x.example.org."),
    "version 2": lambda doc, s: doc.__setitem__("version", 2),
    "TTL negative": lambda doc, s: _entry(doc).__setitem__("ttl", -1 - len(s)),
    "TTL as text": lambda doc, s: _entry(doc).__setitem__("ttl", "300"),
    "space in a domain": lambda doc, s: doc["domains"].__setitem__("bad domain.com", _entry(doc)),
    "same domain twice": lambda doc, s: doc["domains"].__setitem__("EXAMPLE.com.", _entry(doc)),
}


@settings(max_examples=200)
@given(
    breaks=st.lists(st.sampled_from(sorted(BREAK)), min_size=1, max_size=3, unique=True),
    s=st.text(alphabet="abc", max_size=3),
    as_json=st.booleans(),
)
def test_a_file_broken_on_purpose_is_always_refused(breaks, s, as_json):
    doc = copy.deepcopy(VALID[0])
    for b in breaks:
        BREAK[b](doc, s)
    try:
        load_target_records(_text(doc, as_json))
    except TargetRecordsError as exc:
        counted("target records: broken on purpose", refused=True)
        assert any(w in str(exc) for w in ("example.com", "bad domain.com", "version", "unknown field")), str(exc)
    else:
        raise AssertionError(f"accepted a file with {breaks}")
