"""IAM by execution on the local deployment: the roles are the synthesized stack's, so a missing or
never-matching statement fails a scenario with AccessDenied, as it would in AWS."""

from __future__ import annotations

from typing import Any

import pytest

from local import synthesized
from local.deployment import AsyncFailure, LocalDeployment
from tests.approval_support import approval_request
from tests.partner_support import policy, run
from tests.workmail_support import acme, offboard

ACTIONS = ["partnercentral:GetConnectionPreferences", "partnercentral:UpdateConnectionPreferences"]


def table_arn(d: LocalDeployment, name: str) -> str:
    return f"arn:aws:dynamodb:{d.emu.region}:{d.emu.account}:table/{d.tables[name]}"


@pytest.mark.access_denied
def test_removing_one_statement_makes_a_scenario_fail_with_access_denied(deployment: LocalDeployment) -> None:
    org = acme(deployment)
    # With the shipped role: a request for a protected user is refused, and the refusal recorded.
    (refused,) = offboard(deployment, org, "administrator")
    assert refused["status"] == "rejected" and "is protected" in refused["reason"]
    assert deployment.access.denials == []
    removed = deployment.access.remove_statement("workmail_trigger", "dynamodb:PutItem", table_arn(deployment, "audit"))
    assert removed["Resource"] == table_arn(deployment, "audit")
    # EventBridge invokes asynchronously: Lambda tries three times, then the on-failure record goes to the DLQ
    (failed,) = offboard(deployment, org, "administrator")
    assert isinstance(failed, AsyncFailure) and failed.error_type == "AccessDenied" and failed.attempts == 3
    assert "not authorized to perform: dynamodb:PutItem" in failed.error_message
    (record,) = [m for m in deployment.dead_letters() if "requestContext" in m]  # beside the first refusal's
    assert record["responsePayload"]["errorType"] == "AccessDenied"
    denials = deployment.access.denials
    assert len(denials) == 3 and len(set(denials)) == 1
    denial = denials[0]
    assert (denial.principal, denial.operation, denial.action) == (
        "workmail_trigger",
        "dynamodb.PutItem",
        "dynamodb:PutItem",
    )
    assert denial.resource == table_arn(deployment, "audit") and "implicit deny" in denial.reason


@pytest.fixture
def partner(emu: Any) -> LocalDeployment:
    return LocalDeployment(emu, policy=policy(sandbox="DENY_ALL"))


def partner_statement(d: LocalDeployment) -> dict[str, Any]:
    (statement,) = [s for s in d.access.statements("partner_connections") if s["Action"] == ACTIONS]
    return statement


@pytest.mark.access_denied
def test_partner_central_works_only_with_the_star_grant_and_the_catalog_condition(partner: LocalDeployment) -> None:
    # The shipped grant: '*', scoped by partnercentral:Catalog to the policy's catalogs.
    assert partner_statement(partner) == {
        "Action": ACTIONS,
        "Condition": {"StringEquals": {"partnercentral:Catalog": ["AWS", "Sandbox"]}},
        "Effect": "Allow",
        "Resource": "*",
    }
    assert run(partner)["outcome"] == "applied" and run(partner, "Sandbox")["outcome"] == "in-sync"
    assert partner.access.denials == []
    # The grant review found: catalog ARNs, which these actions (no resource types) never match.
    partner.access.remove_statement("partner_connections", ACTIONS[0])
    arn = f"arn:aws:partnercentral:{partner.emu.region}:{partner.emu.account}:catalog/{{}}/connection-preferences"
    partner.access.add_statement(
        "partner_connections",
        {"Effect": "Allow", "Action": ACTIONS, "Resource": [arn.format("AWS"), arn.format("Sandbox")]},
    )
    out = run(partner)
    assert out["outcome"] == "failed" and "partnercentral:GetConnectionPreferences" in out["reason"]
    assert {(d.action, d.resource) for d in partner.access.denials} == {
        ("partnercentral:GetConnectionPreferences", "*")
    }
    # '*' with the condition on one catalog: the other one is refused.
    partner.access.remove_statement("partner_connections", ACTIONS[0])
    condition = {"StringEquals": {"partnercentral:Catalog": ["AWS"]}}
    partner.access.add_statement(
        "partner_connections", {"Effect": "Allow", "Action": ACTIONS, "Resource": "*", "Condition": condition}
    )
    assert run(partner)["outcome"] in ("applied", "in-sync")
    assert run(partner, "Sandbox")["outcome"] == "failed"


def test_a_new_policy_deploys_the_iam_of_a_stack_synthesized_with_it(deployment: LocalDeployment) -> None:
    # The repository's policy lists no catalog: the stack grants no Partner Central access at all.
    assert not [s for s in deployment.access.statements("partner_connections") if "partnercentral" in str(s)]
    deployment.set_policy(policy())  # the AWS catalog
    assert partner_statement(deployment)["Condition"] == {"StringEquals": {"partnercentral:Catalog": ["AWS"]}}
    assert run(deployment)["outcome"] == "applied" and deployment.access.denials == []
    assert synthesized.key(policy()) == synthesized.key(policy(mode="plan", retries=2))  # same catalogs, same stack
    assert synthesized.key(policy()) != synthesized.key(policy(sandbox="DENY_ALL"))
    assert synthesized.template(policy()) is synthesized.template(policy(mode="plan"))  # memoized


@pytest.mark.access_denied
def test_listing_reputation_entities_needs_every_tenant_not_some(emu: Any) -> None:
    from tests.reputation_support import policy as reputation_policy
    from tests.reputation_support import tenants

    d = LocalDeployment(emu, policy=reputation_policy())
    arns = tenants(d, "acme", "beta")
    (listing,) = [s for s in d.access.statements("reputation_reconcile") if "ses:ListReputationEntities" in s["Action"]]
    d.access.remove_statement("reputation_reconcile", "ses:ListReputationEntities")
    d.access.add_statement("reputation_reconcile", {**listing, "Resource": sorted(arns.values())})  # each tenant
    started = d.tick()
    assert d.finished(started["execution"], 60)["status"] == "FAILED"
    assert {(x.principal, x.action, x.resource) for x in d.access.denials} == {
        ("reputation_reconcile", "ses:ListReputationEntities", f"arn:aws:ses:{emu.region}:{emu.account}:tenant/*/*")
    }


@pytest.mark.access_denied
def test_a_state_machine_invokes_its_functions_with_its_own_role(deployment: LocalDeployment) -> None:
    function = f"arn:aws:lambda:{deployment.emu.region}:{deployment.emu.account}:function:"
    function += deployment.function_name("approval_request")
    deployment.access.remove_statement("sfn:approval-check", "lambda:InvokeFunction", function)
    arn = deployment.start("approval-check", {"approvalRequest": approval_request()})
    assert deployment.finished(arn)["status"] == "FAILED"
    (denial,) = deployment.access.denials
    assert (denial.principal, denial.action, denial.resource) == (
        "sfn:approval-check",
        "lambda:InvokeFunction",
        function,
    )


@pytest.mark.access_denied
def test_the_shared_task_client_still_calls_as_each_executions_role(deployment: LocalDeployment) -> None:
    """moto's Step Functions reuses one Lambda client per region (local.emulator.stepfunctions): a later
    execution is still authorized as its state machine's role, not as whoever made the client."""
    from tests.approval_support import awaiting

    first = deployment.start("approval-check", {"approvalRequest": approval_request()})
    awaiting(deployment, first)  # its approval task ran through the client, which is now shared
    function = f"arn:aws:lambda:{deployment.emu.region}:{deployment.emu.account}:function:"
    function += deployment.function_name("approval_request")
    deployment.access.remove_statement("sfn:approval-check", "lambda:InvokeFunction", function)
    second = deployment.start(
        "approval-check",
        {"approvalRequest": approval_request(subject="arn:aws:ses:us-east-1:123456789012:tenant/acme/t-0002")},
    )
    assert deployment.finished(second)["status"] == "FAILED"
    assert [(d.principal, d.action) for d in deployment.access.denials] == [
        ("sfn:approval-check", "lambda:InvokeFunction")
    ]
