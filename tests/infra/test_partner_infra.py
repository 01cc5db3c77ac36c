"""Partner Central in the synthesized template: the reconcile schedule and operator rule, the
widening workflow, and grants limited to the two actions for the catalogs the policy lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mailwarden.contracts.names import OperatorDetailType
from mailwarden.contracts.schedules import PARTNER_RECONCILE, TICK

from tests.infra.test_approvals_infra import statements

ROOT = Path(__file__).resolve().parents[2]


def partner_statements(template: Any) -> list[dict[str, Any]]:
    return [s for s in statements(template, "PartnerConnections") if "partnercentral" in json.dumps(s["Action"])]


@pytest.fixture(scope="module")
def managed() -> Any:
    """The stack synthesized with a policy that manages both catalogs, in another region."""
    from aws_cdk.assertions import Template

    from app import build_app

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context = {
        **context,
        "mailwarden:approverEmails": ["ops@example.com"],
        "mailwarden:policyFile": "tests/samples/partner-policy.yaml",
        "mailwarden:partnerCentralRegion": "eu-west-1",
        "aws:cdk:bundling-stacks": [],
    }
    app, stack = build_app(context)
    app.synth()
    return Template.from_stack(stack)


def test_the_function_may_read_and_update_only_the_listed_catalogs_preferences(managed: Any) -> None:
    """The actions have no resource types (only the partnercentral:Catalog key): '*' plus the condition."""
    (statement,) = partner_statements(managed)
    assert sorted(statement["Action"]) == [
        "partnercentral:GetConnectionPreferences",
        "partnercentral:UpdateConnectionPreferences",
    ]
    assert statement["Resource"] == "*"
    assert statement["Condition"] == {"StringEquals": {"partnercentral:Catalog": ["AWS", "Sandbox"]}}


def test_a_policy_without_catalogs_grants_no_partner_central_access(synth: Any) -> None:
    _, t = synth
    assert partner_statements(t) == []


def test_the_reconcile_runs_on_its_schedule_and_on_operator_events(synth: Any) -> None:
    _, t = synth
    (schedule,) = [
        s["Properties"]
        for s in t.find_resources("AWS::Scheduler::Schedule").values()
        if s["Properties"]["Name"].endswith(PARTNER_RECONCILE.name)
    ]
    assert schedule["ScheduleExpression"] == "rate(1 hour)"
    assert "PartnerConnectionsFunction" in json.dumps(schedule["Target"]["Arn"])
    assert json.loads(schedule["Target"]["Input"]) == TICK
    patterns = [
        json.loads(json.dumps(r["Properties"]["EventPattern"])) for r in t.find_resources("AWS::Events::Rule").values()
    ]
    assert {
        "source": ["mailwarden.operator"],
        "detail-type": [OperatorDetailType.PARTNER_RECONCILE_REQUESTED.value],
    } in patterns


def test_the_widening_workflow_asks_then_applies_with_the_partner_function(synth: Any) -> None:
    _, t = synth
    (machine,) = [
        m["Properties"]
        for m in t.find_resources("AWS::StepFunctions::StateMachine").values()
        if json.dumps(m["Properties"]["StateMachineName"]).endswith('partner-widening"')
        or "partner-widening" in json.dumps(m["Properties"]["StateMachineName"])
    ]
    definition = json.dumps(machine["DefinitionString"])
    assert "waitForTaskToken" in definition and "PartnerConnectionsFunction" in definition
    env = next(
        f["Properties"]["Environment"]["Variables"]
        for k, f in t.find_resources("AWS::Lambda::Function").items()
        if k.startswith("PartnerConnections")
    )
    assert env["PARTNER_CENTRAL_REGION"] == "us-east-1" and "partner-widening" in json.dumps(
        env["PARTNER_WIDENING_STATE_MACHINE_ARN"]
    )
    starts = [s for s in statements(t, "PartnerConnections") if s["Action"] == "states:StartExecution"]
    assert len(starts) == 1 and "partner-widening" in json.dumps(starts[0]["Resource"])
