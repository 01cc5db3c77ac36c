"""MAIL FROM in the synthesized template: the API's routes and seed-shaped gateway responses, the
watcher's schedule and rule, and least-privilege SES / Route 53 grants."""

from __future__ import annotations

import json
from typing import Any

from mailwarden.contracts.names import OperatorDetailType
from mailwarden.contracts.schedules import MAIL_FROM_WATCH

from tests.infra.test_approvals_infra import statements


def test_the_api_routes_put_and_get_to_the_api_function_as_a_proxy(synth: Any) -> None:
    _, t = synth
    methods = {
        m["Properties"]["HttpMethod"]: m["Properties"]
        for k, m in t.find_resources("AWS::ApiGateway::Method").items()
        if k.startswith("MailFromRestApi")
    }
    assert set(methods) == {"PUT", "GET"}
    for m in methods.values():
        assert m["Integration"]["Type"] == "AWS_PROXY"
        assert "MailFromApiFunction" in json.dumps(m["Integration"]["Uri"])
    assert methods["GET"]["RequestParameters"] == {"method.request.path.identity": True}
    paths = {r["Properties"]["PathPart"] for r in t.find_resources("AWS::ApiGateway::Resource").values()}
    assert {"mail-from-attributes", "{identity}"} <= paths


def test_gateway_throttling_and_faults_answer_with_seed_002_shapes(synth: Any) -> None:
    _, t = synth
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in t.find_resources("AWS::ApiGateway::GatewayResponse").values()
    }
    throttled = responses["THROTTLED"]
    assert throttled["StatusCode"] == "429"
    assert json.loads(throttled["ResponseTemplates"]["application/json"]) == {"message": " Rate Limit Exceeded "}
    assert throttled["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'2'"
    fault = json.loads(responses["DEFAULT_5XX"]["ResponseTemplates"]["application/json"])
    assert fault["detailCode"] == "500.0 Internal Fault" and fault["trackingId"] == "$context.requestId"
    unknown = responses["MISSING_AUTHENTICATION_TOKEN"]  # an undefined method or path: seed 002's 403, not
    body = json.loads(unknown["ResponseTemplates"]["application/json"])  # {"message": "Missing Authentication Token"}
    assert unknown["StatusCode"] == "403" and body["detailCode"] == "403 Forbidden"
    assert "PUT /mail-from-attributes" in body["causes"][0]["text"]


def test_the_watcher_runs_on_its_schedule_and_on_identity_created_events(synth: Any) -> None:
    _, t = synth
    (schedule,) = [
        s["Properties"]
        for s in t.find_resources("AWS::Scheduler::Schedule").values()
        if s["Properties"]["Name"].endswith(MAIL_FROM_WATCH.name)
    ]
    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    assert json.loads(schedule["Target"]["Input"]) == MAIL_FROM_WATCH.input
    assert schedule["Target"]["Arn"]["Fn::GetAtt"][0].startswith("MailFromWatchFunction")
    rules = [r["Properties"] for r in t.find_resources("AWS::Events::Rule").values()]
    created = [r for r in rules if r["EventPattern"].get("detail-type") == [OperatorDetailType.IDENTITY_CREATED.value]]
    assert len(created) == 1
    assert "MailFromWatchFunction" in json.dumps(created[0]["Targets"])


def test_ses_and_route53_grants_are_per_action_and_scoped(synth: Any) -> None:
    _, t = synth
    for prefix in ("MailFromApiRole", "MailFromWatchRole"):
        stmts = statements(t, prefix)
        actions = {a for s in stmts for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
        assert not any("*" in a for a in actions), actions
        assert {"ses:GetEmailIdentity", "ses:PutEmailIdentityMailFromAttributes"} <= actions
        assert {"route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets", "route53:GetChange"} <= actions
        ses = next(s for s in stmts if "ses:PutEmailIdentityMailFromAttributes" in s["Action"])
        assert ":identity/*" in json.dumps(ses["Resource"])
        r53 = next(s for s in stmts if "route53:ChangeResourceRecordSets" in s["Action"])
        assert "hostedzone/" in json.dumps(r53["Resource"])
        star = [s for s in stmts if s["Resource"] == "*"]
        # only actions without resource-level permissions: ListHostedZones, and X-Ray tracing
        allowed = {"route53:ListHostedZones", "xray:PutTraceSegments", "xray:PutTelemetryRecords"}
        assert all(set([s["Action"]] if isinstance(s["Action"], str) else s["Action"]) <= allowed for s in star), star
    watch = statements(t, "MailFromWatchRole")
    assert any(s["Action"] == "sns:Publish" and "OperationsAlerts" in json.dumps(s["Resource"]) for s in watch)


def test_the_published_openapi_document_is_the_one_the_handler_generates() -> None:
    from functions.mail_from_api.openapi import DEFAULT, document

    assert DEFAULT.read_text() == document(), "run `make openapi` and commit docs/openapi/mail-from.json"
    doc = json.loads(document())
    put = doc["paths"]["/mail-from-attributes"]["put"]
    assert set(put["responses"]) == {"200", "400", "401", "403", "429", "500"}  # seed 002's, no more
    assert "/mail-from-attributes/{identity}" in doc["paths"]
