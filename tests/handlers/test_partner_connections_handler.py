"""The partner_connections handler: a bad workflow step fails the task with the reason; a bad run
request goes to the DLQ; neither reaches Partner Central."""

from __future__ import annotations

import pytest
from mailwarden.errors import MalformedEvent

from local.deployment import LocalDeployment
from tests.partner_support import policy


@pytest.fixture
def partner(emu) -> LocalDeployment:
    return LocalDeployment(emu, policy=policy("DENY_ALL"))


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        ({"step": "apply", "catalog": "Moon", "fingerprint": "f", "gained": {}, "approval": {}}, "catalog"),
        ({"step": "closed", "catalog": "AWS", "fingerprint": "f", "outcome": "maybe"}, "outcome"),
        ({"step": "explode"}, "step"),
    ],
)
def test_a_malformed_workflow_step_fails_the_task_naming_the_field(partner, step, problem):
    with pytest.raises(MalformedEvent, match=f"partner_connections step: .*{problem}"):
        partner.invoke("partner_connections", step)
    assert not [k for k in partner.emu.calls if k.startswith("partnercentral")]


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        ({"trigger": "schedule"}, "scheduledTime: Field required"),
        ({"source": "someone.else", "detail-type": "x"}, "expected a schedule tick or a mailwarden.operator event"),
    ],
)
def test_a_malformed_run_request_goes_to_the_dlq(partner, event, problem):
    out = partner.invoke("partner_connections", event)
    assert out["status"] == "rejected"
    (letter,) = partner.dead_letters()
    assert problem in letter["reason"]
    assert not [k for k in partner.emu.calls if k.startswith("partnercentral")]


def test_a_closed_step_for_a_change_never_asked_changes_no_record(partner):
    out = partner.invoke(
        "partner_connections", {"step": "closed", "catalog": "AWS", "fingerprint": "f", "outcome": "expired"}
    )
    assert out == {"outcome": "expired"}
    assert partner.emu.client("dynamodb").scan(TableName=partner.tables["guard"])["Items"] == []
