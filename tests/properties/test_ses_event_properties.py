"""SES events, generated from the contract models (every detail type, origin, status, finding type
and impact they allow; timestamps in both forms) and mutated: the parser never raises anything but
MalformedEvent naming a field; through the handler on the emulator, a refused event is dead-lettered
with its reason and makes no other AWS call, and nothing raises."""

from __future__ import annotations

import typing
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from mailwarden.contracts import ses_events as contract
from mailwarden.contracts.names import SesDetailType
from mailwarden.contracts.ses_events import SendingStatusEvent, parse_ses_event
from mailwarden.errors import MalformedEvent

from local.deployment import LocalDeployment
from tests.properties.mutations import DIGITS, HEX, LOWER, chars, counted, joined, mutated, names_a_field, schema_fields

FIELDS = schema_fields(contract.RecommendationEvent, contract.SendingStatusEvent) | {"event", "source", "detail-type"}
STATUS_TYPES = [SesDetailType.SENDING_ENABLED.value, SesDetailType.SENDING_DISABLED.value]
RECOMMENDATION_TYPES = [
    SesDetailType.RECOMMENDATION_OPEN.value,
    SesDetailType.RECOMMENDATION_RESOLVED.value,
    SesDetailType.RECOMMENDATION_CLOSED.value,
]
INSTANTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC))
# arn:aws:ses:us-east-1:123456789012:tenant/[a-z][a-z0-9-]{0,20}/tn-[0-9a-f]{10}
ARNS = joined(
    "arn:aws:ses:us-east-1:123456789012:tenant/",
    chars(LOWER, 1, 1),
    chars(LOWER + DIGITS + "-", 0, 20),
    "/tn-",
    chars(HEX, 10, 10),
)


def _array(t: datetime) -> list[int]:
    return [t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond * 1000]


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


TIMESTAMPS = INSTANTS.flatmap(lambda t: st.sampled_from([_array(t), _iso(t)]))


def _envelope(detail_type: str, resources: list[str], detail: dict[str, typing.Any]) -> dict[str, typing.Any]:
    return {
        "version": "0",
        "id": "0b9e7c4a-1f2d-4c3b-a5e6-9d8f7a6b5c4d",
        "detail-type": detail_type,
        "source": "aws.ses",
        "account": "123456789012",
        "time": "2025-07-24T12:44:29Z",
        "region": "us-east-1",
        "resources": resources,
        "detail": detail,
    }


STATUS_EVENTS = st.builds(
    lambda dt, res, origin, status, cause, ts: _envelope(
        dt,
        res,
        {
            "version": "1.0.0",
            "data": {"origin": origin, "record": {"status": status, "cause": cause, "lastUpdatedTimestamp": ts}},
        },
    ),
    st.sampled_from(STATUS_TYPES),
    st.lists(ARNS, min_size=1, max_size=3),
    st.sampled_from(typing.get_args(contract.StatusData.model_fields["origin"].annotation)),
    st.sampled_from(typing.get_args(contract.SendingStatus)),
    st.none() | st.text(max_size=60),
    TIMESTAMPS,
)
RECOMMENDATION_EVENTS = st.builds(
    lambda dt, res, kind, impact, text: _envelope(
        dt, res, {"version": "1.0.0", "data": text, "metadata": {"impact": impact, "type": kind}}
    ),
    st.sampled_from(RECOMMENDATION_TYPES),
    st.lists(ARNS, min_size=1, max_size=3),
    st.sampled_from(typing.get_args(contract.FindingType)),
    st.sampled_from(typing.get_args(contract.Impact)),
    st.text(max_size=200),
)
VALID = STATUS_EVENTS | RECOMMENDATION_EVENTS


@settings(max_examples=500)
@given(VALID)
def test_every_event_the_contract_allows_is_understood(event):
    counted("ses-events: valid, parsed")
    parsed = parse_ses_event(event)
    assert parsed.resources == event["resources"]
    if isinstance(parsed, SendingStatusEvent):
        ts = event["detail"]["data"]["record"]["lastUpdatedTimestamp"]
        got = parsed.detail.data.record.lastUpdatedTimestamp
        assert _array(got)[:6] == (ts[:6] if isinstance(ts, list) else _array(datetime.fromisoformat(ts))[:6])


@settings(max_examples=3000)
@given(mutated(VALID))
def test_a_mutated_event_is_understood_or_refused_naming_a_field_never_raises(event):
    try:
        parse_ses_event(event)
    except MalformedEvent as exc:
        counted("ses-events: mutated, parser", refused=True)
        assert names_a_field(str(exc), FIELDS), str(exc)
    else:
        counted("ses-events: mutated, parser")


@settings(max_examples=300)
@given(mutated(VALID))
def test_through_the_handler_a_refused_event_is_dead_lettered_and_changes_nothing(shared: LocalDeployment, event):
    d = shared
    d.emu.clock.advance(2)  # SES allows one call a second: every case starts with a fresh token
    before = d.emu.calls.copy()
    out = d.invoke("ses_events", event)  # raising here is the failure this property looks for
    made = d.emu.calls - before
    if out.get("status") == "rejected":
        counted("ses-events: mutated, handler", refused=True)
        assert made == {"sqs.SendMessage": 1}, made  # the dead letter, nothing else
        (letter,) = d.dead_letters()
        assert letter["reason"] == out["reason"] and names_a_field(out["reason"], FIELDS)
    else:
        counted("ses-events: mutated, handler")
        assert out["status"] == "observed", out
        assert not any(k.startswith("sesv2.Update") for k in made)  # the shipped policy only plans
