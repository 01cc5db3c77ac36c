from __future__ import annotations

import json
from typing import Any

from mailwarden.contracts.schedules import RECONCILE
from mailwarden.contracts.workflows import REPUTATION_RECONCILE_WORKFLOW, REPUTATION_REINSTATE_WORKFLOW

from tests.infra.test_approvals_infra import statements


def test_the_reconcile_schedule_invokes_the_trigger_with_the_shared_input(synth: Any) -> None:
    _, t = synth
    (schedule,) = [
        s
        for s in t.find_resources("AWS::Scheduler::Schedule").values()
        if s["Properties"]["Name"].endswith(RECONCILE.name)
    ]
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "rate(1 hour)"
    assert json.loads(props["Target"]["Input"]) == RECONCILE.input
    assert props["Target"]["Arn"]["Fn::GetAtt"][0].startswith("ReputationTriggerFunction")
    assert "DeadLetterConfig" in props["Target"] and props["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 10


def test_the_kill_switch_is_one_parameter_that_starts_off(synth: Any) -> None:
    _, t = synth
    (param,) = t.find_resources("AWS::SSM::Parameter").values()
    assert param["Properties"]["Value"] == "off" and param["Properties"]["Name"].endswith("/kill-switch")


def test_guard_functions_get_only_what_they_use(synth: Any) -> None:
    _, t = synth
    for role in ("ReputationReconcileRole", "SesEventsRole"):
        text = json.dumps(statements(t, role))
        for action in (
            "ses:ListReputationEntities",
            "ses:UpdateReputationEntityCustomerManagedStatus",
            "ses:UpdateReputationEntityPolicy",
            "ssm:GetParameter",
            "states:StartExecution",
        ):
            assert action in text, (role, action)
        assert REPUTATION_REINSTATE_WORKFLOW.name in text
        assert "dynamodb:DeleteItem" not in json.dumps(statements(t, "ReputationReconcileRole"))
        (listing,) = [s for s in statements(t, role) if "ses:ListReputationEntities" in s["Action"]]
        assert "tenant/*" in json.dumps(listing["Resource"]), "ListReputationEntities requires the tenant type"
        (star,) = [s for s in statements(t, role) if s["Resource"] == "*" and "ses:ListRecommendations" in s["Action"]]
        assert star["Action"] == "ses:ListRecommendations"  # alone on '*' (it names no resource)
    trigger = json.dumps(statements(t, "ReputationTriggerRole"))
    assert "states:ListExecutions" in trigger and REPUTATION_RECONCILE_WORKFLOW.name in trigger
    assert "ses:" not in trigger


def test_every_function_reads_the_deployed_policy_layer(synth: Any) -> None:
    _, t = synth
    fns = t.find_resources("AWS::Lambda::Function")
    guard = [f for k, f in fns.items() if k.startswith(("ReputationReconcile", "SesEvents"))]
    assert guard and all(
        f["Properties"]["Environment"]["Variables"]["POLICY_FILE"] == "/opt/mailwarden-policy/policy.json"
        for f in guard
    )
