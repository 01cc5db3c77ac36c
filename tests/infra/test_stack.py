"""Properties of the synthesized template that matter (not a snapshot)."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk.assertions import Annotations, Match, Template
from mailwarden.contracts.functions import FUNCTIONS
from mailwarden.contracts.routes import ROUTES
from mailwarden.contracts.workflows import WORKFLOWS

ROOT = Path(__file__).resolve().parents[2]


def resources(template: Template, kind: str) -> dict:
    return template.find_resources(kind)


def test_every_function_has_the_lambda_defaults(synth):
    _, t = synth
    fns = {k: v for k, v in resources(t, "AWS::Lambda::Function").items() if "SingletonLambda" not in k}
    assert len(fns) == len(FUNCTIONS)
    for fn in fns.values():
        p = fn["Properties"]
        assert p["Runtime"] == "python3.13"
        assert p["Architectures"] == ["arm64"]
        assert p["TracingConfig"] == {"Mode": "Active"}
        assert p["LoggingConfig"]["LogFormat"] == "JSON"
        assert len(p["Layers"]) == 3  # SDK, the mailwarden package, the policy file
        assert p["Handler"] == "handler.handler"


def test_log_groups_are_explicit_with_retention(synth):
    _, t = synth
    groups = resources(t, "AWS::Logs::LogGroup")
    assert len(groups) == len(FUNCTIONS) + len(WORKFLOWS) + 2  # + the link and MAIL FROM APIs' access logs
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {90}


def test_async_failures_go_to_the_dlq(synth):
    _, t = synth
    configs = resources(t, "AWS::Lambda::EventInvokeConfig")
    assert len(configs) == len(FUNCTIONS)
    for c in configs.values():
        assert c["Properties"]["MaximumRetryAttempts"] == 2
        assert "OnFailure" in c["Properties"]["DestinationConfig"]


def test_rules_use_exactly_the_shared_patterns(synth):
    _, t = synth
    rules = list(resources(t, "AWS::Events::Rule").values())
    patterns = [r["Properties"]["EventPattern"] for r in rules]
    canon = lambda p: json.dumps(p, sort_keys=True)  # noqa: E731
    assert sorted(map(canon, patterns)) == sorted(canon(r.pattern) for r in ROUTES)
    for rule in rules:
        target = rule["Properties"]["Targets"][0]
        assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumEventAgeInSeconds"] == 86400


def test_iam_has_no_wildcard_actions_and_scopes_ses(synth):
    _, t = synth
    actions = []
    for policy in resources(t, "AWS::IAM::Policy").values():
        for st in policy["Properties"]["PolicyDocument"]["Statement"]:
            acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            actions += acts
            if "ses:GetReputationEntity" in acts:
                assert ":tenant/*" in json.dumps(st["Resource"])
    assert actions and not [a for a in actions if "*" in a]
    roles = resources(t, "AWS::IAM::Role")
    managed = [k for k, r in roles.items() if "ManagedPolicyArns" in r["Properties"] and "Custom" not in k]
    # Only API Gateway's account-level CloudWatch role, which AWS documents with its managed policy.
    assert managed == [k for k in roles if k.startswith("ApprovalsLinkApiCloudWatchRole")]
    assert len(managed) == 1


def test_queues_are_encrypted_and_tls_only(synth):
    _, t = synth
    queues = resources(t, "AWS::SQS::Queue")
    assert len(queues) == 2  # the DLQ, and SNS's redrive queue for undeliverable decisions
    # Service principals (EventBridge, Scheduler, SNS) must be able to write to them: SSE-SQS, or a
    # customer-managed key whose key policy allows them; never the AWS-managed alias/aws/sqs.
    for q in queues.values():
        props = q["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "Fn::GetAtt" in props.get("KmsMasterKeyId", {}), props
        assert props.get("KmsMasterKeyId") != "alias/aws/sqs"
    keys = {k: r for k, r in resources(t, "AWS::KMS::Key").items()}
    for q in queues.values():
        key_id = q["Properties"].get("KmsMasterKeyId", {}).get("Fn::GetAtt", [None])[0]
        if key_id:
            statements = keys[key_id]["Properties"]["KeyPolicy"]["Statement"]
            allowed = {s["Principal"].get("Service") for s in statements if isinstance(s.get("Principal"), dict)}
            assert "sns.amazonaws.com" in allowed  # the one service that writes to that queue
    for qp in resources(t, "AWS::SQS::QueuePolicy").values():
        deny = [s for s in qp["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_retained_log_groups_are_named_per_deployment_so_a_redeploy_after_a_deletion_works(synth):
    _, t = synth
    groups = resources(t, "AWS::Logs::LogGroup")
    assert groups
    for logical_id, group in groups.items():
        assert group["DeletionPolicy"] == "Retain", logical_id  # the logs outlive the stack
        name = group["Properties"].get("LogGroupName")
        # no explicit name (CloudFormation generates one), or one that ends with this stack id's suffix
        assert name is None or "AWS::StackId" in json.dumps(name), (logical_id, name)


def test_cdk_nag_reports_no_unacknowledged_findings_and_every_acknowledgement_has_a_reason(synth):
    stack, t = synth
    ann = Annotations.from_stack(stack)
    findings = ann.find_error("*", Match.string_like_regexp("AwsSolutions-.*")) + ann.find_warning(
        "*", Match.string_like_regexp("AwsSolutions-.*")
    )
    assert findings == [], [f.entry.data for f in findings]
    acks = [
        rule
        for res in t.to_json()["Resources"].values()
        for rule in res.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert acks and all(len(a["reason"]) >= 40 for a in acks)
