"""ses_events driven by its real trigger: aws.ses events on the default bus, routed by the rule
patterns the stack synthesizes, handled with real boto3 against the emulator."""

from __future__ import annotations

import json

import pytest
from mailwarden.aws import clients

from tests.conftest import sample


@pytest.fixture
def tenant_arn(emu):
    return clients.client("sesv2").create_tenant(TenantName="acme-marketing")["TenantArn"]


def test_a_finding_is_observed_with_the_entity_state_and_published(emu, deployment, tenant_arn):
    emu.control.raise_finding(tenant_arn, "BOUNCE", "HIGH", "The bounce rate exceeded 15.0%.")
    delivered = deployment.deliver()
    assert [d.result["status"] for d in delivered] == ["observed", "observed"]
    published = [p for p in deployment.published if p["detail-type"] == "Reputation Signal Observed"]
    assert len(published) == 2
    first = published[0]["detail"]
    assert first["signal"] == "finding-opened:BOUNCE:HIGH"
    assert first["state"] == {
        "customerManagedStatus": "ENABLED",
        "awsSesManagedStatus": "DISABLED",
        "aggregate": "DISABLED",
        "impact": "HIGH",
        "policy": "standard",
    }
    assert published[0]["source"] == "mailwarden" and published[0]["resources"] == [tenant_arn]


def test_reinstated_is_never_presented_as_overriding_ses_disabled(emu, deployment, tenant_arn):
    ses = clients.client("sesv2")
    emu.control.raise_finding(tenant_arn, "COMPLAINT", "HIGH")
    deployment.deliver()
    emu.clock.advance(1)
    ses.update_reputation_entity_customer_managed_status(
        ReputationEntityType="RESOURCE", ReputationEntityReference=tenant_arn, SendingStatus="REINSTATED"
    )
    event = sample("ses-sending-status-enabled")
    event["resources"] = [tenant_arn]
    deployment.put_event("aws.ses", event["detail-type"], event["detail"], resources=[tenant_arn])
    emu.clock.advance(1)
    (d,) = deployment.deliver()
    text = d.result["observations"][0]
    assert "aggregate DISABLED" in text and "does not override SES's DISABLED" in text


def test_an_event_for_a_deleted_tenant_is_observed_as_gone(emu, deployment, tenant_arn):
    clients.client("sesv2").delete_tenant(TenantName="acme-marketing")
    emu.clock.advance(1)
    deployment.put_event(
        "aws.ses",
        "Advisor Recommendation Status Open",
        sample("ses-advisor-recommendation-open")["detail"],
        resources=[tenant_arn],
    )
    (d,) = deployment.deliver()
    assert d.result["observations"][0].endswith("The entity no longer exists.")


def test_malformed_events_go_to_the_dlq_with_a_reason_and_change_nothing(emu, deployment, tenant_arn):
    bad = sample("ses-sending-status-disabled")["detail"]
    bad["data"]["record"]["lastUpdatedTimestamp"] = "2025-07-24"
    deployment.put_event("aws.ses", "Sending Status Disabled", bad, resources=[tenant_arn])
    (d,) = deployment.deliver()
    assert d.result["status"] == "rejected"
    (dead,) = deployment.dead_letters()
    assert dead["function"] == "ses_events" and "lastUpdatedTimestamp" in dead["reason"]
    assert dead["event"]["detail"]["data"]["record"]["lastUpdatedTimestamp"] == "2025-07-24"
    assert deployment.published == []  # nothing was emitted
    calls = [k for k in emu.calls if k.startswith("sesv2.") and k != "sesv2.CreateTenant"]
    assert calls == []  # and SES was not touched


def test_handler_invoked_directly_with_each_reference_sample(emu, deployment, tenant_arn, lambda_context):
    for name in (
        "ses-advisor-recommendation-open",
        "ses-advisor-recommendation-resolved",
        "ses-sending-status-disabled",
        "ses-sending-status-enabled",
    ):
        event = sample(name)
        event["resources"] = [tenant_arn]
        emu.clock.advance(1)
        out = deployment.invoke("ses_events", json.loads(json.dumps(event)))
        assert out["status"] == "observed", name
    assert deployment.dead_letters() == []


# ---------------------------------------------------------------- issue 19 through the real trigger


def test_a_status_event_with_an_iso_8601_timestamp_is_observed_not_dead_lettered(emu, deployment, tenant_arn):
    detail = sample("ses-sending-status-disabled")["detail"]
    detail["data"]["record"]["lastUpdatedTimestamp"] = "2025-07-24T12:44:28.995Z"
    deployment.put_event("aws.ses", "Sending Status Disabled", detail, resources=[tenant_arn])
    (d,) = deployment.deliver()
    assert d.result["status"] == "observed", d.result
    assert deployment.dead_letters() == []
    (observed,) = deployment.events_of("Reputation Signal Observed")
    assert observed["signal"] == "status:AWS_MANAGED:DISABLED"


@pytest.mark.parametrize(
    ("resources", "timestamp", "field"),
    [
        ([""], [2025, 7, 24, 12, 44, 28, 0], "resources.0"),
        (["tenant/acme"], [2025, 7, 24, 12, 44, 28, 0], "resources.0"),
        (None, [10**30, 7, 24, 12, 44, 28, 0], "detail.data.record.lastUpdatedTimestamp"),
    ],
)
def test_events_that_used_to_raise_are_dead_lettered_with_the_field_and_touch_nothing(
    emu, deployment, tenant_arn, resources, timestamp, field
):
    detail = sample("ses-sending-status-disabled")["detail"]
    detail["data"]["record"]["lastUpdatedTimestamp"] = timestamp
    deployment.put_event("aws.ses", "Sending Status Disabled", detail, resources=resources or [tenant_arn])
    (d,) = deployment.deliver()
    assert d.result["status"] == "rejected"
    (dead,) = deployment.dead_letters()
    assert dead["reason"].startswith(f"Sending Status Disabled: {field}: "), dead["reason"]
    assert [k for k in emu.calls if k.startswith("sesv2.") and k != "sesv2.CreateTenant"] == []
    assert deployment.published == []
