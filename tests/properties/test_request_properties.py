"""Operator and HR request events, generated from the request models and mutated: WorkMail
offboarding / restore / decommission, reputation and Partner Central reconcile requests (and their
schedule ticks), Email Identity Created. Each parser answers a request or MalformedEvent naming a
field, never another exception; whatever it accepts WorkMail's own model accepts too. Through the
WorkMail trigger on the emulator a refused request is dead-lettered and writes nothing."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator

import botocore.session
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mailwarden.contracts.names import OperatorDetailType
from mailwarden.errors import MalformedEvent
from mailwarden.mailfrom.model import IdentityCreated, parse_watch_event
from mailwarden.partner import requests as partner
from mailwarden.partner.model import Catalog
from mailwarden.reputation import trigger as reputation
from mailwarden.workmail import model as workmail
from mailwarden.workmail.trigger import parse

from local.deployment import LocalDeployment
from tests.properties.mutations import DIGITS, HEX, LOWER, chars, counted, joined, mutated, names_a_field, schema_fields

WORKMAIL = botocore.session.get_session().get_service_model("workmail")
ENTITY = WORKMAIL.operation_model("DescribeUser").input_shape.members["UserId"].metadata
ORG = WORKMAIL.operation_model("DescribeUser").input_shape.members["OrganizationId"].metadata
SOURCES = st.sampled_from(["mailwarden.identity", "mailwarden.operator"])
ORG_IDS = joined("m-", chars(HEX, 32, 32))  # m-[0-9a-f]{32}
# [a-z][a-z0-9._-]{0,20}(@acme\.example\.com)?
USERS = joined(chars(LOWER, 1, 1), chars(LOWER + DIGITS + "._-", 0, 20), st.sampled_from(["", "@acme.example.com"]))
TEXT = st.text(min_size=1, max_size=60).filter(str.strip)
IDS = chars(LOWER + LOWER.upper() + DIGITS + "_-", 1, 64)  # [A-Za-z0-9_-]{1,64}


def _event(source: str, detail_type: str, detail: dict[str, typing.Any]) -> dict[str, typing.Any]:
    return {
        "version": "0",
        "id": "5d9a1c2e-0000-4000-8000-00000000000a",
        "source": source,
        "detail-type": detail_type,
        "account": "123456789012",
        "region": "us-east-1",
        "time": "2026-01-01T00:00:00Z",
        "resources": [],
        "detail": detail,
    }


def _optional(**fields: st.SearchStrategy[typing.Any]) -> st.SearchStrategy[dict[str, typing.Any]]:
    return st.fixed_dictionaries({}, optional=fields)


WORKMAIL_REQUESTS = st.one_of(
    st.builds(
        lambda src, base, extra: _event(src, OperatorDetailType.OFFBOARD_REQUESTED.value, {**base, **extra}),
        SOURCES,
        st.fixed_dictionaries({"organizationId": ORG_IDS, "user": USERS, "requestedBy": TEXT, "reason": TEXT}),
        _optional(export=st.booleans(), dryRun=st.booleans(), requestId=IDS),
    ),
    st.builds(
        lambda src, base, extra: _event(src, OperatorDetailType.RESTORE_REQUESTED.value, {**base, **extra}),
        SOURCES,
        st.fixed_dictionaries({"organizationId": ORG_IDS, "user": USERS, "requestedBy": TEXT, "reason": TEXT}),
        _optional(dryRun=st.booleans()),
    ),
    st.builds(
        lambda src, base, extra: _event(src, OperatorDetailType.DECOMMISSION_REQUESTED.value, {**base, **extra}),
        SOURCES,
        st.fixed_dictionaries({"organizationId": ORG_IDS, "requestedBy": TEXT, "reason": TEXT}),
        _optional(export=st.booleans(), dryRun=st.booleans(), requestId=IDS),
    ),
)
WORKMAIL_FIELDS = schema_fields(workmail.OffboardRequest, workmail.RestoreRequest, workmail.DecommissionRequest)
RUN_FIELDS = {"source", "detail-type", "detail", "id", "trigger", "scheduledTime", "scheduleExecutionId", "input"}
TICKS = st.fixed_dictionaries(
    {"trigger": st.just("schedule"), "scheduledTime": st.just("2026-01-01T00:00:00Z"), "scheduleExecutionId": IDS}
)
RECONCILE = TICKS | st.builds(
    lambda detail: _event("mailwarden.operator", OperatorDetailType.RECONCILE_REQUESTED.value, detail),
    st.fixed_dictionaries({"mode": st.sampled_from(["plan", "apply"]), "reason": TEXT, "requestedBy": TEXT}),
)
PARTNER = TICKS | st.builds(
    lambda base, extra: _event(
        "mailwarden.operator", OperatorDetailType.PARTNER_RECONCILE_REQUESTED.value, {**base, **extra}
    ),
    st.fixed_dictionaries({"reason": TEXT, "requestedBy": TEXT}),
    _optional(
        mode=st.sampled_from(["plan", "apply"]),
        catalogs=st.lists(st.sampled_from(typing.get_args(Catalog)), min_size=1, max_size=2),
    ),
)
# [a-z][a-z0-9-]{0,10}\.example\.(com|org)
DOMAINS = joined(chars(LOWER, 1, 1), chars(LOWER + DIGITS + "-", 0, 10), ".example.", st.sampled_from(["com", "org"]))
WATCH = st.just({"trigger": "schedule"}) | st.builds(
    lambda src, ident, extra: _event(src, OperatorDetailType.IDENTITY_CREATED.value, {"identity": ident, **extra}),
    SOURCES,
    DOMAINS,
    _optional(mailFromDomain=DOMAINS.map(lambda d: "mail." + d), requestedBy=TEXT),
)


def _refused(name: str, reason: str, fields: set[str]) -> None:
    counted(name, refused=True)
    assert names_a_field(reason, fields | RUN_FIELDS), reason


@settings(max_examples=2000)
@given(mutated(WORKMAIL_REQUESTS))
def test_workmail_requests_are_parsed_or_refused_naming_a_field_and_what_is_accepted_workmail_accepts(event):
    try:
        request = parse(event).request
    except MalformedEvent as exc:
        return _refused("requests: WorkMail, parser", str(exc), WORKMAIL_FIELDS)
    counted("requests: WorkMail, parser")
    assert re.search(ORG["pattern"], request.organization_id) and len(request.organization_id) == ORG["max"]
    user = getattr(request, "user", None)
    if user is not None:  # WorkMail's pattern matches it whole, within its length
        assert re.fullmatch(ENTITY["pattern"], user) and ENTITY["min"] <= len(user) <= ENTITY["max"]


@settings(max_examples=700)
@given(mutated(RECONCILE))
def test_reconcile_requests_and_ticks_are_parsed_or_refused_naming_a_field(event):
    try:
        request = reputation.run_request(event)
    except MalformedEvent as exc:
        return _refused("requests: reputation reconcile, parser", str(exc), schema_fields(reputation._Detail))
    counted("requests: reputation reconcile, parser")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", request.run_id), request.run_id  # a valid execution name


@settings(max_examples=700)
@given(mutated(PARTNER))
def test_partner_requests_and_ticks_are_parsed_or_refused_naming_a_field(event):
    try:
        request = partner.run_request(event)
    except MalformedEvent as exc:
        return _refused("requests: partner reconcile, parser", str(exc), schema_fields(partner._Detail))
    counted("requests: partner reconcile, parser")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", request.run_id)
    assert request.catalogs is None or set(request.catalogs) <= set(typing.get_args(Catalog))


@settings(max_examples=700)
@given(mutated(WATCH))
def test_identity_created_events_are_parsed_or_refused_naming_a_field(event):
    try:
        created = parse_watch_event(event)
    except MalformedEvent as exc:
        return _refused("requests: Email Identity Created, parser", str(exc), schema_fields(IdentityCreated))
    counted("requests: Email Identity Created, parser")
    if created is not None:  # what SES and Route 53 will be asked about is a well-formed name
        assert re.fullmatch(r"([a-z0-9-]+\.)+[a-z0-9-]+", created.identity.lower().rstrip(".").rpartition("@")[2])


# ---------------------------------------------------------------- through the trigger, on the emulator


@pytest.fixture(scope="module")
def org(shared: LocalDeployment) -> Iterator[str]:
    """An organization whose only user is protected: no generated request can start an offboarding."""
    org_id = shared.emu.control.add_organization("props", "props.example.com")
    wm = shared.emu.client("workmail")
    uid = wm.create_user(OrganizationId=org_id, Name="administrator", DisplayName="Admin", Password="Pa55w0rd!x")
    wm.register_to_work_mail(OrganizationId=org_id, EntityId=uid["UserId"], Email="administrator@props.example.com")
    yield org_id


@settings(max_examples=400)
@given(data=st.data())
def test_through_the_trigger_a_refused_request_is_dead_lettered_and_writes_nothing(shared: LocalDeployment, org, data):
    d = shared
    event = _no_decommission(data.draw(mutated(WORKMAIL_REQUESTS.map(lambda e: _in(e, org)))), org)
    before = d.emu.calls.copy()
    out = d.invoke("workmail_trigger", event)  # raising here is the failure this property looks for
    made = d.emu.calls - before
    writes = {k: n for k, n in made.items() if not k.split(".")[1].startswith(("Describe", "List", "Get", "Query"))}
    if out["status"] == "rejected":
        counted("requests: WorkMail, trigger", refused=True)
        assert set(writes) <= {"sqs.SendMessage", "dynamodb.PutItem", "eventbridge.PutEvents"}, writes
        assert writes.get("sqs.SendMessage") == 1  # the dead letter (and the audit record, the event)
        assert not any(k.startswith(("workmail.", "sfn.")) for k in writes), writes
        (letter,) = d.dead_letters()
        assert letter["reason"] == out["reason"]
    else:
        counted("requests: WorkMail, trigger")
        assert out["status"] in ("planned", "restored", "started", "duplicate"), out
        assert not any(k.startswith("workmail.") for k in writes) or out["status"] == "restored", writes


def _no_decommission(event: typing.Any, org: str) -> typing.Any:
    """A decommission of the real organization that would start is made a dry run: its workflow would
    run on in the background and its calls would land in the next cases' counts."""
    detail = event.get("detail") if isinstance(event, dict) else None
    ours = isinstance(detail, dict) and str(detail.get("organizationId")).strip() == org
    if ours and "Decommission" in str(event.get("detail-type")):
        return {**event, "detail": {**detail, "dryRun": True}}
    return event


def _in(event: dict[str, typing.Any], org: str) -> dict[str, typing.Any]:
    """Most generated requests aim at the organization that exists."""
    detail = dict(event["detail"])
    if detail["organizationId"] < "m-8":
        detail["organizationId"] = org
    return {**event, "detail": detail}
