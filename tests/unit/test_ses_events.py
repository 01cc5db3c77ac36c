"""Parsing the aws.ses events with their quirks; malformed input named precisely."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from mailwarden.contracts.ses_events import RecommendationEvent, SendingStatusEvent, parse_ses_event
from mailwarden.errors import MalformedEvent

from tests.conftest import sample


def test_recommendation_event_reads_type_and_impact_from_metadata_and_data_as_text():
    e = parse_ses_event(sample("ses-advisor-recommendation-open"))
    assert isinstance(e, RecommendationEvent) and e.is_open
    assert (e.detail.metadata.type, e.detail.metadata.impact) == ("BOUNCE", "HIGH")
    assert e.detail.data.startswith("The bounce rate exceeded")


def test_resolved_and_closed_are_both_recommendation_closures():
    resolved = parse_ses_event(sample("ses-advisor-recommendation-resolved"))
    closed_raw = sample("ses-advisor-recommendation-resolved")
    closed_raw["detail-type"] = "Advisor Recommendation Status Closed"
    closed = parse_ses_event(closed_raw)
    assert not resolved.is_open and not closed.is_open  # type: ignore[union-attr]


def test_status_event_timestamp_array_becomes_a_datetime():
    e = parse_ses_event(sample("ses-sending-status-disabled"))
    assert isinstance(e, SendingStatusEvent)
    assert e.detail.data.origin == "AWS_MANAGED"
    assert e.detail.data.record.lastUpdatedTimestamp == datetime(2025, 7, 24, 12, 44, 28, 995000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.pop("resources"), "resources: Field required"),
        (lambda e: e.update({"detail-type": "Email Bounced"}), "unknown detail-type 'Email Bounced'"),
        (lambda e: e.update({"source": "aws.sns"}), "unexpected source 'aws.sns'"),
        (lambda e: e["detail"]["data"]["record"].update({"lastUpdatedTimestamp": "yesterday"}), "lastUpdatedTimestamp"),
        (lambda e: e["detail"]["data"]["record"].update({"lastUpdatedTimestamp": [2025, 7]}), "[year, month, day"),
        (lambda e: e["detail"]["data"].update({"origin": "SOMEONE"}), "detail.data.origin"),
        (lambda e: e["detail"]["data"]["record"].update({"status": "PAUSED"}), "detail.data.record.status"),
    ],
)
def test_malformed_status_events_are_rejected_with_a_reason(mutate, reason):
    raw = copy.deepcopy(sample("ses-sending-status-disabled"))
    mutate(raw)
    with pytest.raises(MalformedEvent) as exc:
        parse_ses_event(raw)
    assert reason in str(exc.value)


def test_recommendation_with_unknown_finding_type_is_rejected():
    raw = sample("ses-advisor-recommendation-open")
    raw["detail"]["metadata"]["type"] = "SPAM"
    with pytest.raises(MalformedEvent, match="detail.metadata.type"):
        parse_ses_event(raw)


def test_non_object_is_rejected():
    with pytest.raises(MalformedEvent, match="not a JSON object"):
        parse_ses_event(["not", "an", "event"])


# ---------------------------------------------------------------- issue 19: either timestamp form, never a crash


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-07-24T12:44:28.995Z", datetime(2025, 7, 24, 12, 44, 28, 995000, tzinfo=UTC)),
        ("2025-07-24T12:44:28.995000000Z", datetime(2025, 7, 24, 12, 44, 28, 995000, tzinfo=UTC)),
        ("2025-07-24T14:44:28+02:00", datetime(2025, 7, 24, 12, 44, 28, tzinfo=UTC)),
        ([2025, 7, 24, 12, 44, 28], datetime(2025, 7, 24, 12, 44, 28, tzinfo=UTC)),
    ],
)
def test_status_timestamps_are_understood_as_an_array_or_an_iso_8601_string(value, expected):
    raw = copy.deepcopy(sample("ses-sending-status-enabled"))
    raw["detail"]["data"]["record"]["lastUpdatedTimestamp"] = value
    e = parse_ses_event(raw)
    assert isinstance(e, SendingStatusEvent)
    assert e.detail.data.record.lastUpdatedTimestamp == expected


@pytest.mark.parametrize(
    "value",
    [
        "2025-07-24",  # a date is not a point in time
        "2025-07-24T12:44:28",  # no offset: whose 12:44?
        "2025-13-24T12:44:28Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        1753361068995,  # epoch milliseconds: neither documented form
        [10**30, 7, 24, 12, 44, 28, 0],  # OverflowError in datetime()
        [99999, 7, 24, 12, 44, 28, 0],
        [2025, 7, 24, 12, 44, 28, 10**9],
        [2025, 7, 24, 12, 44, True, 0],
    ],
)
def test_a_timestamp_that_is_neither_form_is_refused_naming_the_field(value):
    raw = copy.deepcopy(sample("ses-sending-status-disabled"))
    raw["detail"]["data"]["record"]["lastUpdatedTimestamp"] = value
    with pytest.raises(MalformedEvent) as exc:
        parse_ses_event(raw)
    assert "detail.data.record.lastUpdatedTimestamp" in str(exc.value)


@pytest.mark.parametrize(
    "resources",
    [[""], ["tenant/acme"], ["arn:aws:sns:us-east-1:123456789012:topic"], ["arn:aws:ses:us-east-1:1:x"], ["a"] * 11],
)
def test_resources_must_be_ses_arns_so_nothing_odd_reaches_get_reputation_entity(resources):
    raw = copy.deepcopy(sample("ses-sending-status-disabled"))
    raw["resources"] = resources
    with pytest.raises(MalformedEvent) as exc:
        parse_ses_event(raw)
    assert "resources" in str(exc.value)
