"""Issue 19, WorkMail requests through their real trigger (an EventBridge request on the Mailwarden
bus): a user name WorkMail would refuse is refused here with the reason and no WorkMail call, and a
restore for an unknown organization names the organization."""

from __future__ import annotations

import pytest
from mailwarden.contracts.names import OperatorDetailType

from local.deployment import LocalDeployment
from tests.workmail_support import REQUESTER, Org, acme, executions, offboard, outcomes, request


@pytest.fixture
def org(deployment: LocalDeployment) -> Org:
    return acme(deployment)


def _workmail_calls(d: LocalDeployment) -> list[str]:
    return [k for k, n in d.emu.calls.items() if k.startswith("workmail.") and n]


@pytest.mark.parametrize("user", ["名前", "alice smith@acme.example.com", "alice\u00a0@acme.example.com", "a/b"])
def test_a_user_outside_workmails_pattern_is_refused_with_the_reason_and_no_call(deployment, org, user):
    before = deployment.emu.calls.copy()
    [result] = offboard(deployment, org, user)
    assert result["status"] == "rejected"
    assert result["reason"].startswith("WorkMail Offboarding Requested: detail.user: a WorkMail user id")
    [letter] = deployment.dead_letters()
    assert letter["function"] == "workmail_trigger" and "EntityIdentifier" in letter["reason"]
    assert deployment.emu.calls - before == {"sqs.SendMessage": 1}  # the dead letter; not even a WorkMail read
    assert _workmail_calls(deployment) == [] and executions(deployment) == []


def test_a_restore_with_a_user_outside_the_pattern_is_refused_too(deployment, org):
    detail = {"organizationId": org.id, "user": "名前", "requestedBy": REQUESTER, "reason": "back"}
    [result] = request(deployment, OperatorDetailType.RESTORE_REQUESTED, detail)
    assert result["status"] == "rejected" and "detail.user" in result["reason"]
    assert _workmail_calls(deployment) == []


def test_a_restore_for_an_unknown_organization_names_the_organization(deployment, org):
    unknown = "m-" + "f" * 32
    detail = {"organizationId": unknown, "user": "alice@acme.example.com", "requestedBy": REQUESTER, "reason": "back"}
    [result] = request(deployment, OperatorDetailType.RESTORE_REQUESTED, detail)
    assert result["status"] == "rejected"
    assert result["reason"] == f"WorkMail organization {unknown} does not exist or is not active"
    [letter] = deployment.dead_letters()
    assert letter["reason"] == result["reason"]
    writes = [k for k in _workmail_calls(deployment) if not k.split(".")[1].startswith(("Describe", "List"))]
    assert writes == []
    assert outcomes(deployment) == ["rejected"]


def test_a_decommission_of_an_unknown_organization_is_refused_at_once_not_in_a_workflow(deployment, org):
    unknown = "m-" + "d" * 32
    detail = {"organizationId": unknown, "requestedBy": REQUESTER, "reason": "closing"}
    [result] = request(deployment, OperatorDetailType.DECOMMISSION_REQUESTED, detail)
    why = f"WorkMail organization {unknown} does not exist or is not active"
    assert result == {"status": "rejected", "reason": why}
    assert deployment.emu.calls["sfn.StartExecution"] == 0
    assert executions(deployment, "workmail-decommission") == []
