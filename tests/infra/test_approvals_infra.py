"""The approval mechanism in the synthesized template: what protects it, and what it may do."""

from __future__ import annotations

import json
from typing import Any

from mailwarden.contracts.workflows import APPROVAL_CHECK

from tests.conftest import TEST_APPROVERS


def only(template: Any, kind: str) -> dict[str, Any]:
    (resource,) = template.find_resources(kind).values()
    return resource["Properties"]  # type: ignore[no-any-return]


def statements(template: Any, role_prefix: str) -> list[dict[str, Any]]:
    out = []
    for key, policy in template.find_resources("AWS::IAM::Policy").items():
        if key.startswith(role_prefix):
            out += policy["Properties"]["PolicyDocument"]["Statement"]
    return out


def test_topics_are_kms_encrypted_and_tls_only(synth: Any) -> None:
    _, t = synth
    topics = t.find_resources("AWS::SNS::Topic")
    assert len(topics) == 3  # approval requests, approval decisions, operations alerts
    assert all("Fn::GetAtt" in json.dumps(x["Properties"]["KmsMasterKeyId"]) for x in topics.values())
    policies = t.find_resources("AWS::SNS::TopicPolicy").values()
    denies = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert len(denies) == 3 and all(d["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for d in denies)
    keys = t.find_resources("AWS::KMS::Key").values()
    assert len(keys) == 2 and all(k["Properties"]["EnableKeyRotation"] is True for k in keys)  # + mailbox exports


def test_each_approver_gets_only_their_own_messages(synth: Any) -> None:
    _, t = synth
    emails = [
        s["Properties"]
        for s in t.find_resources("AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "email"
    ]
    assert sorted(e["Endpoint"] for e in emails) == sorted(TEST_APPROVERS)
    for e in emails:
        assert e["FilterPolicy"] == {"approver": [e["Endpoint"].lower()]}
    (lambda_sub,) = [
        s["Properties"]
        for s in t.find_resources("AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "lambda"
    ]
    assert "RedrivePolicy" in lambda_sub


def test_the_link_api_is_throttled_and_never_logs_query_strings(synth: Any) -> None:
    _, t = synth
    stages = t.find_resources("AWS::ApiGateway::Stage")
    stage = next(v["Properties"] for k, v in stages.items() if k.startswith("ApprovalsLinkApi"))
    (settings,) = stage["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == 5 and settings["ThrottlingBurstLimit"] == 10
    assert settings["DataTraceEnabled"] is False and settings["LoggingLevel"] == "ERROR"
    assert "AccessLogSetting" in stage and stage["TracingEnabled"] is True
    methods = {
        m["Properties"]["HttpMethod"]: m["Properties"]
        for k, m in t.find_resources("AWS::ApiGateway::Method").items()
        if k.startswith("ApprovalsLinkApi")
    }
    assert set(methods) == {"GET", "POST"}
    get_params = methods["GET"]["RequestParameters"]
    assert all(get_params[f"method.request.querystring.{q}"] for q in ("decision", "approver", "expires", "sig"))
    assert all(m["Integration"]["Type"] == "AWS_PROXY" for m in methods.values())


def test_only_the_callback_may_resume_tasks_and_on_star_as_the_actions_have_no_resource_types(synth: Any) -> None:
    _, t = synth
    resume = [s for s in statements(t, "ApprovalCallbackRole") if "states:SendTask" in json.dumps(s["Action"])]
    assert resume == [
        {"Action": ["states:SendTaskSuccess", "states:SendTaskFailure"], "Effect": "Allow", "Resource": "*"}
    ]
    for role in (
        "ApprovalRequestRole",
        "SesEventsRole",
        "ReputationReconcileRole",
        "ReputationTriggerRole",
        "WorkmailTriggerRole",
        "WorkmailOffboardRole",
        "PartnerConnectionsRole",
        "MailFromWatchRole",
        "MailFromApiRole",
        "HealthMetricsRole",
    ):
        assert "states:SendTask" not in json.dumps(statements(t, role))


def test_dynamodb_grants_are_per_action_and_per_table(synth: Any) -> None:
    _, t = synth
    callback = [s for s in statements(t, "ApprovalCallbackRole") if "dynamodb" in json.dumps(s["Action"])]
    actions = sorted(a for s in callback for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    assert actions == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert "dynamodb:DeleteItem" not in json.dumps(statements(t, "ApprovalRequestRole"))
    for table in t.find_resources("AWS::DynamoDB::GlobalTable").values():
        props = table["Properties"]
        assert props["TimeToLiveSpecification"]["Enabled"] is True
        assert props["Replicas"][0]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["Replicas"][0]["DeletionProtectionEnabled"] is True


def test_the_state_machine_is_the_shared_definition(synth: Any) -> None:
    _, t = synth
    props = next(
        m["Properties"]
        for m in t.find_resources("AWS::StepFunctions::StateMachine").values()
        if m["Properties"]["StateMachineName"].endswith(APPROVAL_CHECK.name)
    )
    assert json.loads(props["DefinitionString"]) == APPROVAL_CHECK.definition(72 * 3600)
    (sub,) = props["DefinitionSubstitutions"].values()
    assert sub["Fn::GetAtt"][0].startswith("ApprovalRequestFunction")
    gate = json.loads(props["DefinitionString"])["States"]["RequestApproval"]
    assert gate["Resource"].endswith("waitForTaskToken") and gate["TimeoutSeconds"] == 72 * 3600
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False  # tokens stay out of logs
    assert props["TracingConfiguration"] == {"Enabled": True}


def test_link_urls_do_not_make_the_functions_depend_on_the_deployment(synth: Any) -> None:
    _, t = synth
    fns = t.find_resources("AWS::Lambda::Function")
    (request_fn,) = [f for k, f in fns.items() if k.startswith("ApprovalRequestFunction")]
    base_url = json.dumps(request_fn["Properties"]["Environment"]["Variables"]["APPROVAL_BASE_URL"])
    assert "LinkApi" in base_url and "Deployment" not in base_url and "/prod/" in base_url
