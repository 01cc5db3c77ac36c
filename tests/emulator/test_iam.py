"""IAM by execution: the policy evaluator, the request context of each operation, and enforcement
in the emulator (real boto3 clients; the AccessDenied each protocol answers)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local.emulator import Emulator
from local.emulator.iam import Check, Ledger, Request, Unmapped, Unsupported, checks
from local.emulator.iam.policy import Decision, decide, parse_document
from local.emulator.iam.requests import mapped

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/fn"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t"


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def judge(
    statements: list[dict[str, Any]],
    action: str = "dynamodb:GetItem",
    resource: str = TABLE,
    context: dict[str, Any] | None = None,
    *,
    resource_policy: list[dict[str, Any]] | None = None,
    key_policy: list[dict[str, Any]] | None = None,
) -> Decision:
    return decide(
        principal_arn=ROLE,
        account=ACCOUNT,
        identity=parse_document({"Statement": statements}),
        action=action,
        resource=resource,
        context=context or {},
        resource_policy=None
        if resource_policy is None
        else parse_document({"Statement": resource_policy}, resource_policy=True),
        key_policy=None if key_policy is None else parse_document({"Statement": key_policy}, resource_policy=True),
    )


# ---------------------------------------------------------------------------- the evaluator


@pytest.mark.parametrize(
    ("pattern", "action", "allowed"),
    [
        ("dynamodb:GetItem", "dynamodb:GetItem", True),
        ("DynamoDB:getitem", "dynamodb:GetItem", True),  # actions are case-insensitive
        ("dynamodb:Get*", "dynamodb:GetItem", True),
        ("dynamodb:*Item", "dynamodb:PutItem", True),
        ("dynamodb:?etItem", "dynamodb:GetItem", True),
        ("dynamodb:?Item", "dynamodb:GetItem", False),
        ("dynamodb:Get*", "dynamodb:PutItem", False),
        ("*", "dynamodb:PutItem", True),
        ("dynamo*", "dynamodb:PutItem", True),
    ],
)
def test_action_wildcards(pattern: str, action: str, allowed: bool) -> None:
    assert judge([allow(pattern, TABLE)], action).allowed is allowed


@pytest.mark.parametrize(
    ("pattern", "resource", "allowed"),
    [
        (TABLE, TABLE, True),
        (f"arn:aws:dynamodb:*:{ACCOUNT}:table/t", TABLE, True),
        ("arn:aws:dynamodb:us-east-1:*:table/*", TABLE, True),
        (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/?", TABLE, True),
        (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/T", TABLE, False),  # ARNs are case-sensitive
        (TABLE, f"{TABLE}/index/i", False),  # a table grant does not cover its index
        (f"{TABLE}*", f"{TABLE}/index/i", True),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a:b/c", True),  # the resource part may hold colons
        ("arn:aws:dynamodb:*", TABLE, False),  # a wildcard never spans the ARN's first segments
        ("arn:aws:*:us-east-1:*:*", TABLE, True),
        ("*", "*", True),
        (TABLE, "*", False),  # an action without resource types is evaluated against '*': only '*' matches
        ("arn:*", "*", False),
    ],
)
def test_resource_wildcards(pattern: str, resource: str, allowed: bool) -> None:
    assert judge([allow("dynamodb:GetItem", pattern)], resource=resource).allowed is allowed


def test_implicit_deny_allow_and_explicit_deny_wins() -> None:
    assert judge([]) == Decision(False, "no identity-based policy allows it (implicit deny)")
    assert judge([allow("dynamodb:*", [f"{TABLE}-other", TABLE])]).allowed
    denied = judge([allow("dynamodb:*"), deny("dynamodb:GetItem", TABLE)])
    assert denied == Decision(False, "explicit deny in an identity-based policy")


def test_not_action_and_not_resource() -> None:
    everything_but_deletes = {"Effect": "Allow", "NotAction": "dynamodb:Delete*", "Resource": "*"}
    assert judge([everything_but_deletes]).allowed
    assert not judge([everything_but_deletes], "dynamodb:DeleteItem").allowed
    elsewhere = {"Effect": "Allow", "Action": "dynamodb:GetItem", "NotResource": f"{TABLE}-secret"}
    assert judge([elsewhere]).allowed and not judge([elsewhere], resource=f"{TABLE}-secret").allowed
    deny_outside = {"Effect": "Deny", "Action": "*", "NotResource": TABLE}
    assert judge([allow("*"), deny_outside]).allowed and not judge([allow("*"), deny_outside], resource="*").allowed


CATALOG = {"StringEquals": {"partnercentral:Catalog": ["AWS", "Sandbox"]}}


@pytest.mark.parametrize(
    ("condition", "context", "holds"),
    [
        (CATALOG, {"partnercentral:catalog": "AWS"}, True),  # several values: any
        (CATALOG, {"partnercentral:catalog": "Sandbox"}, True),
        (CATALOG, {"partnercentral:catalog": "aws"}, False),  # StringEquals is case-sensitive
        (CATALOG, {}, False),  # a missing key does not match
        ({"StringEqualsIgnoreCase": {"k:a": "AWS"}}, {"k:a": "aws"}, True),
        ({"StringNotEquals": {"k:a": ["x", "y"]}}, {"k:a": "z"}, True),
        ({"StringNotEquals": {"k:a": ["x", "y"]}}, {"k:a": "y"}, False),
        ({"StringNotEquals": {"k:a": "x"}}, {}, True),  # a negated operator holds when the key is absent
        ({"StringLike": {"k:a": "mail*-?"}}, {"k:a": "mailwarden-1"}, True),
        ({"StringNotLike": {"k:a": "mail*"}}, {"k:a": "mailwarden"}, False),
        ({"StringEqualsIfExists": {"k:a": "x"}}, {}, True),
        ({"StringEqualsIfExists": {"k:a": "x"}}, {"k:a": "y"}, False),
        ({"Null": {"k:a": "true"}}, {}, True),
        ({"Null": {"k:a": "true"}}, {"k:a": "v"}, False),
        ({"Null": {"k:a": "false"}}, {"k:a": "v"}, True),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:securetransport": "true"}, False),
        ({"Bool": {"aws:SecureTransport": False}}, {"aws:securetransport": "false"}, True),
        ({"NumericLessThan": {"k:n": "10"}}, {"k:n": "9"}, True),
        ({"NumericLessThanEquals": {"k:n": 10}}, {"k:n": "10"}, True),
        ({"NumericGreaterThan": {"k:n": "10"}}, {"k:n": "10"}, False),
        ({"NumericGreaterThanEquals": {"k:n": "10"}}, {"k:n": "11"}, True),
        ({"NumericEquals": {"k:n": "10"}}, {"k:n": "10.0"}, True),
        ({"NumericNotEquals": {"k:n": "10"}}, {"k:n": "11"}, True),
        ({"NumericEquals": {"k:n": "10"}}, {"k:n": "ten"}, False),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/r-*"}},
            {"aws:sourcearn": "arn:aws:events:us-east-1:1:rule/r-1"},
            True,
        ),
        (
            {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:1:t"}},
            {"aws:sourcearn": "arn:aws:sns:us-east-1:1:u"},
            False,
        ),
        ({"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:1:t"}}, {"aws:sourcearn": "arn:aws:sns:us-east-1:1:u"}, True),
        # several keys in one operator, several operators: all must hold
        ({"StringEquals": {"k:a": "x", "k:b": "y"}}, {"k:a": "x", "k:b": "y"}, True),
        ({"StringEquals": {"k:a": "x", "k:b": "y"}}, {"k:a": "x", "k:b": "z"}, False),
        ({"StringEquals": {"k:a": "x"}, "Null": {"k:b": "false"}}, {"k:a": "x"}, False),
        # multivalued keys
        ({"ForAnyValue:StringEquals": {"k:tags": ["a", "b"]}}, {"k:tags": ["c", "b"]}, True),
        ({"ForAnyValue:StringEquals": {"k:tags": ["a", "b"]}}, {"k:tags": ["c"]}, False),
        ({"ForAnyValue:StringEquals": {"k:tags": ["a"]}}, {}, False),
        ({"ForAllValues:StringEquals": {"k:tags": ["a", "b"]}}, {"k:tags": ["a", "b"]}, True),
        ({"ForAllValues:StringEquals": {"k:tags": ["a", "b"]}}, {"k:tags": ["a", "c"]}, False),
        ({"ForAllValues:StringEquals": {"k:tags": ["a"]}}, {}, True),  # all of nothing
        ({"ForAllValues:StringLike": {"k:tags": ["team-*"]}}, {"k:tags": ["team-a", "team-b"]}, True),
    ],
)
def test_conditions(condition: dict[str, Any], context: dict[str, Any], holds: bool) -> None:
    assert judge([allow("dynamodb:GetItem", Condition=condition)], context=context).allowed is holds


@pytest.mark.parametrize(
    "statement",
    [
        allow("dynamodb:GetItem", Condition={"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}),
        allow("dynamodb:GetItem", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        allow("dynamodb:GetItem", Condition={"ForAnyValue:Null": {"k:a": "true"}}),
        allow("dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/${{aws:username}}"),
        allow("dynamodb:GetItem", {"Fn::GetAtt": ["T", "Arn"]}),
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "NotAction": "s3:*", "Resource": "*"},
        {"Effect": "Maybe", "Action": "dynamodb:GetItem", "Resource": "*"},
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*", "Principal": "*"},
    ],
)
def test_what_the_evaluator_does_not_implement_raises_instead_of_guessing(statement: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        judge([statement])


def test_a_multivalued_key_needs_a_set_operator() -> None:
    with pytest.raises(Unsupported, match="ForAnyValue"):
        judge([allow("dynamodb:GetItem", Condition={"StringEquals": {"k:tags": "a"}})], context={"k:tags": ["a"]})


QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
TLS_ONLY = deny("sqs:*", QUEUE, Principal={"AWS": "*"}, Condition={"Bool": {"aws:SecureTransport": "false"}})


def test_a_resource_policys_explicit_deny_wins_and_its_allow_grants_in_one_account() -> None:
    send = {"aws:securetransport": "true"}
    assert judge([allow("sqs:SendMessage", QUEUE)], "sqs:SendMessage", QUEUE, send, resource_policy=[TLS_ONLY]).allowed
    plain = {"aws:securetransport": "false"}
    refused = judge([allow("sqs:SendMessage", QUEUE)], "sqs:SendMessage", QUEUE, plain, resource_policy=[TLS_ONLY])
    assert refused == Decision(False, "explicit deny in the resource policy")
    names_role = allow("sqs:SendMessage", QUEUE, Principal={"AWS": ROLE})
    assert judge([], "sqs:SendMessage", QUEUE, send, resource_policy=[names_role]).allowed
    names_account = allow("sqs:SendMessage", QUEUE, Principal={"AWS": ACCOUNT})  # delegates: not a grant
    assert not judge([], "sqs:SendMessage", QUEUE, send, resource_policy=[names_account]).allowed
    a_service = allow("sqs:SendMessage", QUEUE, Principal={"Service": "events.amazonaws.com"})
    assert not judge([], "sqs:SendMessage", QUEUE, send, resource_policy=[a_service]).allowed


KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
ROOT_KEY = allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
VIA_SECRETS = {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}


def test_a_key_policy_must_allow_the_principal_or_delegate_to_iam() -> None:
    decrypt = [allow("kms:Decrypt", KEY)]
    assert judge(decrypt, "kms:Decrypt", KEY, key_policy=[ROOT_KEY]).allowed
    assert not judge([], "kms:Decrypt", KEY, key_policy=[ROOT_KEY]).allowed
    no_delegation = [allow("kms:Decrypt", "*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"})]
    refused = judge(decrypt, "kms:Decrypt", KEY, key_policy=no_delegation)
    assert refused == Decision(False, "the key policy neither allows the principal nor delegates to IAM policies")
    direct = [allow("kms:Decrypt", "*", Principal={"AWS": ROLE}, Condition=VIA_SECRETS)]
    via = {"kms:viaservice": "secretsmanager.us-east-1.amazonaws.com"}
    assert judge([], "kms:Decrypt", KEY, via, key_policy=direct) == Decision(True, "allowed by the key policy")
    assert not judge(
        [], "kms:Decrypt", KEY, {"kms:viaservice": "sns.us-east-1.amazonaws.com"}, key_policy=direct
    ).allowed


# ---------------------------------------------------------------------------- request contexts

R = f"us-east-1:{ACCOUNT}"
ORG = "m-b96c2d0bd93fb76b33a35d66262a5841"
TENANT = f"arn:aws:ses:{R}:tenant/acme/tn-1"
SECRET = f"arn:aws:secretsmanager:{R}:secret:signing-AbCdEf"
TOPIC = f"arn:aws:sns:{R}:alerts"
MACHINE = f"arn:aws:states:{R}:stateMachine:m"
EXECUTION = f"arn:aws:states:{R}:execution:m:run-1"
QUEUE_URL = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/q"
BUCKET = "arn:aws:s3:::exports"
CUSTOMER_KEYS = {TOPIC: KEY, SECRET: KEY, BUCKET: KEY}
S3_KMS = (("kms:calleraccount", ACCOUNT), ("kms:viaservice", "s3.us-east-1.amazonaws.com"))
SNS_KMS = (("kms:calleraccount", ACCOUNT), ("kms:viaservice", "sns.us-east-1.amazonaws.com"))

CASES: list[tuple[str, str, dict[str, Any], list[Check]]] = [
    ("dynamodb", "GetItem", {"TableName": "t"}, [Check("dynamodb:GetItem", TABLE)]),
    ("dynamodb", "PutItem", {"TableName": "t"}, [Check("dynamodb:PutItem", TABLE)]),
    ("dynamodb", "UpdateItem", {"TableName": TABLE}, [Check("dynamodb:UpdateItem", TABLE)]),  # an ARN as the name
    ("dynamodb", "DeleteItem", {"TableName": "t"}, [Check("dynamodb:DeleteItem", TABLE)]),
    ("dynamodb", "DescribeTable", {"TableName": "t"}, [Check("dynamodb:DescribeTable", TABLE)]),
    ("dynamodb", "Query", {"TableName": "t"}, [Check("dynamodb:Query", TABLE)]),
    ("dynamodb", "Query", {"TableName": "t", "IndexName": "i"}, [Check("dynamodb:Query", f"{TABLE}/index/i")]),
    ("dynamodb", "Scan", {"TableName": "t", "IndexName": "i"}, [Check("dynamodb:Scan", f"{TABLE}/index/i")]),
    (
        "dynamodb",
        "BatchWriteItem",
        {"RequestItems": {"t": [], "u": []}},
        [Check("dynamodb:BatchWriteItem", TABLE), Check("dynamodb:BatchWriteItem", f"{TABLE[:-1]}u")],
    ),
    ("dynamodb", "BatchGetItem", {"RequestItems": {"t": {}}}, [Check("dynamodb:BatchGetItem", TABLE)]),
    (
        "dynamodb",
        "TransactWriteItems",
        {"TransactItems": [{"Put": {"TableName": "t"}}, {"ConditionCheck": {"TableName": "t"}}]},
        [Check("dynamodb:PutItem", TABLE), Check("dynamodb:ConditionCheckItem", TABLE)],
    ),
    (
        "dynamodb",
        "TransactGetItems",
        {"TransactItems": [{"Get": {"TableName": "t"}}]},
        [Check("dynamodb:GetItem", TABLE)],
    ),
    (
        "events",
        "PutEvents",
        {"Entries": [{"EventBusName": "b"}, {}, {"EventBusName": "b"}]},
        [
            Check("events:PutEvents", f"arn:aws:events:{R}:event-bus/b"),
            Check("events:PutEvents", f"arn:aws:events:{R}:event-bus/default"),
        ],
    ),
    ("lambda", "Invoke", {"FunctionName": "f"}, [Check("lambda:InvokeFunction", f"arn:aws:lambda:{R}:function:f")]),
    (
        "lambda",
        "Invoke",
        {"FunctionName": f"arn:aws:lambda:{R}:function:f", "Qualifier": "live"},
        [Check("lambda:InvokeFunction", f"arn:aws:lambda:{R}:function:f:live")],
    ),
    (
        "partnercentral-account",
        "GetConnectionPreferences",
        {"Catalog": "AWS"},
        [Check("partnercentral:GetConnectionPreferences", "*", (("partnercentral:catalog", "AWS"),))],
    ),
    (
        "partnercentral-account",
        "UpdateConnectionPreferences",
        {"Catalog": "Sandbox"},
        [Check("partnercentral:UpdateConnectionPreferences", "*", (("partnercentral:catalog", "Sandbox"),))],
    ),
    (
        "route53",
        "GetHostedZone",
        {"Id": "/hostedzone/Z1"},
        [Check("route53:GetHostedZone", "arn:aws:route53:::hostedzone/Z1")],
    ),
    (
        "route53",
        "ListResourceRecordSets",
        {"HostedZoneId": "Z1"},
        [Check("route53:ListResourceRecordSets", "arn:aws:route53:::hostedzone/Z1")],
    ),
    (
        "route53",
        "ChangeResourceRecordSets",
        {"HostedZoneId": "Z1"},
        [Check("route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z1")],
    ),
    ("route53", "GetChange", {"Id": "/change/C1"}, [Check("route53:GetChange", "arn:aws:route53:::change/C1")]),
    ("route53", "ListHostedZones", {}, [Check("route53:ListHostedZones", "*")]),
    ("route53", "ListHostedZonesByName", {}, [Check("route53:ListHostedZonesByName", "*")]),
    (
        "s3",
        "PutObject",
        {"Bucket": "exports", "Key": "decommissions/d1/users.json"},
        [
            Check("s3:PutObject", f"{BUCKET}/decommissions/d1/users.json"),
            Check("kms:GenerateDataKey", KEY, S3_KMS, implied=True),
        ],
    ),
    (
        "s3",
        "GetObject",
        {"Bucket": "exports", "Key": "decommissions/d1/users.json"},
        [
            Check("s3:GetObject", f"{BUCKET}/decommissions/d1/users.json"),
            Check("kms:Decrypt", KEY, S3_KMS, implied=True),
        ],
    ),
    (
        "s3",
        "HeadObject",
        {"Bucket": "exports", "Key": "k"},
        [Check("s3:GetObject", f"{BUCKET}/k"), Check("kms:Decrypt", KEY, S3_KMS, implied=True)],
    ),
    ("secretsmanager", "DescribeSecret", {"SecretId": SECRET}, [Check("secretsmanager:DescribeSecret", SECRET)]),
    (
        "secretsmanager",
        "GetSecretValue",
        {"SecretId": SECRET},
        [
            Check("secretsmanager:GetSecretValue", SECRET),
            Check(
                "kms:Decrypt",
                KEY,
                (("kms:calleraccount", ACCOUNT), ("kms:viaservice", "secretsmanager.us-east-1.amazonaws.com")),
                True,
            ),
        ],
    ),
    (
        "sesv2",
        "GetEmailIdentity",
        {"EmailIdentity": "acme.example"},
        [Check("ses:GetEmailIdentity", f"arn:aws:ses:{R}:identity/acme.example")],
    ),
    (
        "sesv2",
        "PutEmailIdentityMailFromAttributes",
        {"EmailIdentity": "acme.example"},
        [Check("ses:PutEmailIdentityMailFromAttributes", f"arn:aws:ses:{R}:identity/acme.example")],
    ),
    (
        "sesv2",
        "GetReputationEntity",
        {"ReputationEntityReference": TENANT},
        [Check("ses:GetReputationEntity", TENANT)],
    ),
    (
        "sesv2",
        "UpdateReputationEntityCustomerManagedStatus",
        {"ReputationEntityReference": TENANT},
        [Check("ses:UpdateReputationEntityCustomerManagedStatus", TENANT)],
    ),
    (
        "sesv2",
        "UpdateReputationEntityPolicy",
        {
            "ReputationEntityReference": TENANT,
            "ReputationEntityPolicy": "arn:aws:ses:us-east-1:aws:reputation-policy/strict",
        },
        [
            Check("ses:UpdateReputationEntityPolicy", TENANT),
            Check("ses:UpdateReputationEntityPolicy", "arn:aws:ses:us-east-1:aws:reputation-policy/strict"),
        ],
    ),
    # requires `tenant` but names none: the whole family of this account and region
    ("sesv2", "ListReputationEntities", {}, [Check("ses:ListReputationEntities", f"arn:aws:ses:{R}:tenant/*/*")]),
    (
        "sesv2",
        "ListRecommendations",
        {"Filter": {"RESOURCE_ARN": TENANT}},
        [Check("ses:ListRecommendations", "*")],
    ),
    ("sesv2", "ListTagsForResource", {"ResourceArn": TENANT}, [Check("ses:ListTagsForResource", TENANT)]),
    (
        "sns",
        "Publish",
        {"TopicArn": TOPIC},
        [
            Check("sns:Publish", TOPIC),
            Check("kms:GenerateDataKey", KEY, SNS_KMS, True),
            Check("kms:Decrypt", KEY, SNS_KMS, True),
        ],
    ),
    (
        "sns",
        "PublishBatch",
        {"TopicArn": f"{TOPIC}-plain"},  # not encrypted with a customer managed key: no KMS check
        [Check("sns:Publish", f"{TOPIC}-plain")],
    ),
    ("sqs", "SendMessage", {"QueueUrl": QUEUE_URL}, [Check("sqs:SendMessage", QUEUE)]),
    ("sqs", "SendMessageBatch", {"QueueUrl": QUEUE_URL}, [Check("sqs:SendMessage", QUEUE)]),
    ("sqs", "ReceiveMessage", {"QueueUrl": QUEUE_URL}, [Check("sqs:ReceiveMessage", QUEUE)]),
    ("sqs", "DeleteMessage", {"QueueUrl": QUEUE_URL}, [Check("sqs:DeleteMessage", QUEUE)]),
    ("sqs", "DeleteMessageBatch", {"QueueUrl": QUEUE_URL}, [Check("sqs:DeleteMessage", QUEUE)]),
    ("sqs", "GetQueueAttributes", {"QueueUrl": QUEUE_URL}, [Check("sqs:GetQueueAttributes", QUEUE)]),
    ("sqs", "ChangeMessageVisibility", {"QueueUrl": QUEUE_URL}, [Check("sqs:ChangeMessageVisibility", QUEUE)]),
    (
        "ssm",
        "GetParameter",
        {"Name": "/mw/kill-switch"},
        [Check("ssm:GetParameter", f"arn:aws:ssm:{R}:parameter/mw/kill-switch")],
    ),
    ("ssm", "PutParameter", {"Name": "plain"}, [Check("ssm:PutParameter", f"arn:aws:ssm:{R}:parameter/plain")]),
    (
        "ssm",
        "GetParameters",
        {"Names": ["/a", "/b"]},
        [
            Check("ssm:GetParameters", f"arn:aws:ssm:{R}:parameter/a"),
            Check("ssm:GetParameters", f"arn:aws:ssm:{R}:parameter/b"),
        ],
    ),
    ("stepfunctions", "StartExecution", {"stateMachineArn": MACHINE}, [Check("states:StartExecution", MACHINE)]),
    ("stepfunctions", "ListExecutions", {"stateMachineArn": MACHINE}, [Check("states:ListExecutions", MACHINE)]),
    (
        "stepfunctions",
        "DescribeStateMachine",
        {"stateMachineArn": MACHINE},
        [Check("states:DescribeStateMachine", MACHINE)],
    ),
    ("stepfunctions", "DescribeExecution", {"executionArn": EXECUTION}, [Check("states:DescribeExecution", EXECUTION)]),
    ("stepfunctions", "StopExecution", {"executionArn": EXECUTION}, [Check("states:StopExecution", EXECUTION)]),
    (
        "stepfunctions",
        "GetExecutionHistory",
        {"executionArn": EXECUTION},
        [Check("states:GetExecutionHistory", EXECUTION)],
    ),
    # no resource types in the reference: evaluated against '*'
    ("stepfunctions", "SendTaskSuccess", {"taskToken": "t"}, [Check("states:SendTaskSuccess", "*")]),
    ("stepfunctions", "SendTaskFailure", {"taskToken": "t"}, [Check("states:SendTaskFailure", "*")]),
    ("stepfunctions", "SendTaskHeartbeat", {"taskToken": "t"}, [Check("states:SendTaskHeartbeat", "*")]),
    (
        "workmail",
        "StartMailboxExportJob",
        {"OrganizationId": ORG, "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/export"},
        [
            Check("workmail:StartMailboxExportJob", f"arn:aws:workmail:{R}:organization/{ORG}"),
            Check(
                "iam:PassRole",
                f"arn:aws:iam::{ACCOUNT}:role/export",
                (("iam:passedtoservice", "export.workmail.amazonaws.com"),),
                True,
            ),
        ],
    ),
]
_SPECIAL = {(c, o) for c, o, _, _ in CASES}
CASES += [
    ("workmail", op, {"OrganizationId": ORG}, [Check(f"workmail:{op}", f"arn:aws:workmail:{R}:organization/{ORG}")])
    for client, op in mapped()
    if client == "workmail" and (client, op) not in _SPECIAL
]


@pytest.mark.parametrize(
    ("client", "operation", "params", "expected"), CASES, ids=lambda v: v if isinstance(v, str) else ""
)
def test_request_context(client: str, operation: str, params: dict[str, Any], expected: list[Check]) -> None:
    request = Request(client, operation, params, "us-east-1", ACCOUNT, CUSTOMER_KEYS)
    assert checks(request) == expected


def test_every_mapped_operation_is_covered_above() -> None:
    assert sorted({(c, o) for c, o, _, _ in CASES}) == mapped()


def test_an_operation_without_a_mapping_fails_loudly() -> None:
    with pytest.raises(Unmapped, match="dynamodb.CreateTable"):
        checks(Request("dynamodb", "CreateTable", {"TableName": "t"}, "us-east-1", ACCOUNT))
    with pytest.raises(Unmapped, match="by name"):
        checks(Request("secretsmanager", "GetSecretValue", {"SecretId": "signing"}, "us-east-1", ACCOUNT))


@pytest.mark.parametrize(
    ("check", "why"),
    [
        (Check("dynamodb:GetItem", "*"), "requires a resource type"),
        (Check("states:SendTaskSuccess", MACHINE), "has no resource types"),
        (Check("ses:GetReputationEntity", f"arn:aws:ses:{R}:identity/acme.example"), "none of"),
        (Check("dynamodb:GetItm", TABLE), "no action dynamodb:GetItm"),
    ],
)
def test_a_mapping_that_disagrees_with_the_reference_is_refused(check: Check, why: str) -> None:
    from local.emulator.iam.requests import _validate

    with pytest.raises((Unsupported, KeyError), match=why):
        _validate(check)


# ---------------------------------------------------------------------------- enforcement in the emulator


def install(emu: Emulator, *statements: dict[str, Any], **policies: Any) -> None:
    emu.access.install(
        [("fn", ROLE, list(statements))],
        policies.get("resources", {}),
        policies.get("keys", {}),
        policies.get("encrypted", {}),
    )


def table(emu: Emulator, name: str = "t") -> None:
    emu.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def code_and_status(err: ClientError) -> tuple[str, int]:
    return err.response["Error"]["Code"], err.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.mark.access_denied
def test_a_denied_call_never_reaches_the_service_and_is_not_retried(emu: Emulator) -> None:
    table(emu)
    table(emu, "u")
    install(emu, allow(["dynamodb:PutItem", "dynamodb:GetItem"], TABLE))
    ddb = boto3.client("dynamodb")
    with emu.acting_as("fn"):
        ddb.put_item(TableName="t", Item={"pk": {"S": "a"}})
        with pytest.raises(ClientError) as denied:
            ddb.put_item(TableName="u", Item={"pk": {"S": "a"}})
    assert code_and_status(denied.value) == ("AccessDeniedException", 400)
    assert "fn is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb" in str(denied.value)
    assert emu.calls["dynamodb.PutItem"] == 2  # one attempt each: AccessDenied is not retried
    assert emu.dispatcher.outcomes["dynamodb.PutItem:AccessDeniedException"] == 1
    assert "Item" not in emu.client("dynamodb").get_item(TableName="u", Key={"pk": {"S": "a"}})
    (denial,) = emu.access.denials
    assert (denial.principal, denial.operation, denial.action) == ("fn", "dynamodb.PutItem", "dynamodb:PutItem")
    assert denial.resource == f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/u"


def test_calls_outside_a_principal_and_the_harnesss_own_calls_are_not_evaluated(emu: Emulator) -> None:
    table(emu)
    install(emu)  # a role that may do nothing
    boto3.client("dynamodb").put_item(TableName="t", Item={"pk": {"S": "test code"}})
    with emu.acting_as("fn"):
        emu.client("dynamodb").put_item(TableName="t", Item={"pk": {"S": "harness"}})
        with emu.access.disabled():
            boto3.client("dynamodb").put_item(TableName="t", Item={"pk": {"S": "switched off"}})
    assert emu.access.denials == [] and emu.access.current() is None
    assert emu.client("dynamodb").scan(TableName="t")["Count"] == 3


@pytest.mark.access_denied
@pytest.mark.parametrize(
    ("client", "call", "code", "status"),
    [
        (
            "sesv2",
            lambda c: c.get_email_identity(EmailIdentity="acme.example"),
            "AccessDeniedException",
            403,
        ),  # rest-json
        ("sns", lambda c: c.publish(TopicArn=TOPIC, Message="m"), "AuthorizationError", 403),  # query, modelled
        ("route53", lambda c: c.list_hosted_zones(), "AccessDenied", 403),  # rest-xml
        (
            "sqs",
            lambda c: c.send_message(QueueUrl=QUEUE_URL, MessageBody="m"),
            "AccessDenied",
            403,
        ),  # JSON, query-compatible
        ("stepfunctions", lambda c: c.send_task_success(taskToken="t", output="{}"), "AccessDeniedException", 400),
        ("partnercentral-account", lambda c: c.get_connection_preferences(Catalog="AWS"), "AccessDeniedException", 403),
        ("workmail", lambda c: c.describe_user(OrganizationId=ORG, UserId="u"), "AccessDeniedException", 400),
    ],
)
def test_each_protocol_answers_its_own_access_denied(
    emu: Emulator, client: str, call: Any, code: str, status: int
) -> None:
    install(emu)
    c = boto3.client(client, region_name="us-east-1")
    with emu.acting_as("fn"), pytest.raises(ClientError) as denied:
        call(c)
    assert code_and_status(denied.value) == (code, status)
    assert len(emu.access.denials) == 1


@pytest.mark.access_denied
def test_publishing_to_a_topic_under_a_customer_key_needs_the_key(emu: Emulator) -> None:
    sns = emu.client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    key = emu.client("kms").create_key()["KeyMetadata"]["Arn"]
    install(emu, allow("sns:Publish", topic), encrypted={topic: key})
    with emu.acting_as("fn"), pytest.raises(ClientError) as denied:
        boto3.client("sns").publish(TopicArn=topic, Message="m")
    assert code_and_status(denied.value) == ("KMSAccessDenied", 400)
    assert emu.access.denials[0].action == "kms:GenerateDataKey" and emu.access.denials[0].resource == key
    install(
        emu, allow("sns:Publish", topic), allow(["kms:GenerateDataKey", "kms:Decrypt"], key), encrypted={topic: key}
    )
    with emu.acting_as("fn"):
        boto3.client("sns").publish(TopicArn=topic, Message="m")


def test_a_key_policy_may_grant_the_secret_read_on_its_own_through_secrets_manager(emu: Emulator) -> None:
    key = emu.client("kms").create_key()["KeyMetadata"]["Arn"]
    secret = emu.client("secretsmanager").create_secret(Name="s", SecretString="x")["ARN"]
    key_policy = {"Statement": [allow("kms:Decrypt", "*", Principal={"AWS": ROLE}, Condition=VIA_SECRETS)]}
    install(emu, allow("secretsmanager:GetSecretValue", secret), keys={key: key_policy}, encrypted={secret: key})
    with emu.acting_as("fn"):
        assert boto3.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"] == "x"


@pytest.mark.access_denied
def test_a_resource_policy_deny_applies_to_a_role_its_identity_policy_allows(emu: Emulator) -> None:
    url = emu.client("sqs").create_queue(QueueName="q")["QueueUrl"]
    refuse = {"Statement": [deny("sqs:SendMessage", QUEUE, Principal={"AWS": "*"})]}
    tls_only = {"Statement": [TLS_ONLY]}
    install(emu, allow("sqs:SendMessage", QUEUE), resources={QUEUE: tls_only})
    with emu.acting_as("fn"):
        boto3.client("sqs").send_message(QueueUrl=url, MessageBody="over https")  # aws:SecureTransport is true
    install(emu, allow("sqs:SendMessage", QUEUE), resources={QUEUE: refuse})
    with emu.acting_as("fn"), pytest.raises(ClientError) as denied:
        boto3.client("sqs").send_message(QueueUrl=url, MessageBody="m")
    assert emu.access.denials[-1].reason == "explicit deny in the resource policy"
    assert code_and_status(denied.value)[0] == "AccessDenied"


def test_an_operation_without_a_mapping_fails_the_call_and_is_recorded(emu: Emulator) -> None:
    emu.access.ledger = Ledger()  # this test's own: the suite's guard would fail it otherwise
    install(emu, allow("*"))
    with emu.acting_as("fn"), pytest.raises(Unmapped, match="dynamodb.ListTables"):
        boto3.client("dynamodb").list_tables()
    assert emu.access.ledger.unmapped == [
        "fn: dynamodb.ListTables: no IAM request context (local/emulator/iam/requests.py)"
    ]


def test_the_principal_is_per_thread_and_nests(emu: Emulator) -> None:
    import threading

    emu.access.install([("a", ROLE, []), ("b", f"{ROLE}-b", [])], {}, {}, {})
    seen: list[Any] = []
    with emu.acting_as("a"):
        with emu.acting_as("b"):
            assert emu.access.current().name == "b"
        assert emu.access.current().name == "a"
        worker = threading.Thread(target=lambda: seen.append(emu.access.current()))
        worker.start()
        worker.join()
    assert seen == [None] and emu.access.current() is None
    with pytest.raises(KeyError, match="no role installed for c"):
        emu.acting_as("c").__enter__()


# ---------------------------------------------------------------------------- the template side


def local_resources() -> Any:
    from mailwarden.contracts.functions import FUNCTIONS
    from mailwarden.contracts.tables import TABLES
    from mailwarden.contracts.topics import TOPICS
    from mailwarden.contracts.workflows import WORKFLOWS

    from local.stack_iam import LocalResources

    return LocalResources(
        region="eu-west-1",
        account=ACCOUNT,
        tables={t.name: f"local-{t.name}" for t in TABLES},
        topics={t.name: f"arn:aws:sns:eu-west-1:{ACCOUNT}:local-{t.name}" for t in TOPICS},
        dlq_url=f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/local-dlq",
        bus_name="local-bus",
        state_machines={w.name: f"arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:local-{w.name}" for w in WORKFLOWS},
        state_machine_roles={w.name: f"arn:aws:iam::{ACCOUNT}:role/local-{w.name}" for w in WORKFLOWS},
        functions={f.name: f"local-{f.name}" for f in FUNCTIONS},
        function_roles={f.name: f"arn:aws:iam::{ACCOUNT}:role/local-fn-{f.name}" for f in FUNCTIONS},
        kill_switch="/local/kill-switch",
        secret_arn=f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:local-AbCdEf",
        keys={"Approvals/Key": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/approvals"},
        export_bucket="local-exports",
        export_role_arn=f"arn:aws:iam::{ACCOUNT}:role/local-export",
    )


def mini_template(statements: list[Any], **extra: Any) -> dict[str, Any]:
    """Every function and state machine the contracts name, one function's policy, ``extra`` resources."""
    from mailwarden.contracts.functions import FUNCTIONS
    from mailwarden.contracts.workflows import WORKFLOWS

    def path(p: str) -> dict[str, Any]:
        return {"Metadata": {"aws:cdk:path": f"Mailwarden-dev/{p}/Resource"}}

    resources: dict[str, Any] = {
        "AuditTable": {"Type": "AWS::DynamoDB::GlobalTable", **path("Tables/Audit")},
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "mailwarden-dev"}, **path("Bus")},
        "Param": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Name": "/mailwarden/dev/kill-switch"},
            **path("KillSwitch/Parameter"),
        },
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": []}}, **path("Approvals/Key")},
        "AlertsTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
            **path("Approvals/OperationsAlertsTopic"),
        },
        "Elsewhere": {"Type": "AWS::SQS::Queue", **path("Somewhere/Else")},
        **extra,
    }
    for f in FUNCTIONS:
        name = "".join(p.title() for p in f.name.split("_"))
        resources[f"{name}Role"] = {"Type": "AWS::IAM::Role"}
        resources[f"{name}Fn"] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": f"Mailwarden-dev-{f.name.replace('_', '-')}",
                "Role": {"Fn::GetAtt": [f"{name}Role", "Arn"]},
            },
        }
    for w in WORKFLOWS:
        name = "".join(p.title() for p in w.name.split("-"))
        resources[f"{name}SmRole"] = {"Type": "AWS::IAM::Role"}
        resources[f"{name}Sm"] = {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": f"Mailwarden-dev-{w.name}",
                "RoleArn": {"Fn::GetAtt": [f"{name}SmRole", "Arn"]},
            },
        }
    resources["Policy"] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {"PolicyDocument": {"Statement": statements}, "Roles": [{"Ref": "WorkmailTriggerRole"}]},
    }
    return {"Resources": resources}


EXECUTIONS = "execution:Mailwarden-dev-workmail-offboard:*"


def test_intrinsics_resolve_to_the_local_resources_and_spelled_out_names_are_renamed() -> None:
    from local.stack_iam import bind

    arn = {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":states:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}],
        ]
    }
    statements = [
        allow("dynamodb:PutItem", {"Fn::GetAtt": ["AuditTable", "Arn"]}),
        allow("states:StartExecution", {"Fn::Join": ["", [arn, ":stateMachine:Mailwarden-dev-workmail-offboard"]]}),
        allow(
            "states:DescribeExecution",
            {"Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:" + EXECUTIONS},
        ),
        allow("lambda:InvokeFunction", {"Fn::Sub": ["${Fn}:*", {"Fn": {"Fn::GetAtt": ["WorkmailOffboardFn", "Arn"]}}]}),
        allow("ssm:GetParameter", {"Fn::Sub": "arn:aws:ssm:${AWS::Region}:${AWS::AccountId}:parameter${Param}"}),
        allow("events:PutEvents", {"Fn::Select": [1, {"Fn::Split": [",", {"Fn::Sub": "x,${Bus.Arn}"}]}]}),
        allow("sqs:SendMessage", {"Fn::GetAtt": ["Elsewhere", "Arn"]}),
        allow("sns:Publish", [{"Ref": "AlertsTopic"}, {"Ref": "AWS::NoValue"}]),
    ]
    iam = bind(mini_template(statements), local_resources())
    (resolved,) = [s for name, _, s in iam.roles if name == "workmail_trigger"]
    assert [s["Resource"] for s in resolved] == [
        f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/local-audit",
        f"arn:aws:states:eu-west-1:{ACCOUNT}:stateMachine:local-workmail-offboard",
        f"arn:aws:states:eu-west-1:{ACCOUNT}:execution:local-workmail-offboard:*",
        # the function shares the state machine's template name; lambda ARNs get the function's local name
        f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:local-workmail_offboard:*",
        f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/local/kill-switch",
        f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/local-bus",
        "unmapped:Elsewhere.Arn",  # nothing local: matches no request
        [f"arn:aws:sns:eu-west-1:{ACCOUNT}:local-operations-alerts"],
    ]
    roles = {name: arn for name, arn, _ in iam.roles}
    assert roles["workmail_trigger"] == f"arn:aws:iam::{ACCOUNT}:role/local-fn-workmail_trigger"
    assert roles["sfn:workmail-offboard"] == f"arn:aws:iam::{ACCOUNT}:role/local-workmail-offboard"
    assert iam.keys == {
        f"arn:aws:sns:eu-west-1:{ACCOUNT}:local-operations-alerts": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/approvals"
    }
    assert list(iam.key_policies) == [f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/approvals"]


@pytest.mark.parametrize(
    ("resource", "why"),
    [
        ({"Fn::If": ["C", "a", "b"]}, "Fn::If is not supported"),
        ({"Fn::GetAtt": ["Nowhere", "Arn"]}, "Nowhere, which is not in the template"),
        ({"Ref": "Nowhere"}, "Nowhere, which is not in the template"),
    ],
)
def test_what_the_binding_cannot_resolve_raises(resource: Any, why: str) -> None:
    from local.stack_iam import bind

    with pytest.raises(Unsupported, match=why):
        bind(mini_template([allow("s3:GetObject", resource)]), local_resources())


def test_a_managed_policy_outside_the_template_is_refused() -> None:
    from local.stack_iam import bind

    template = mini_template([])
    template["Resources"]["WorkmailTriggerRole"]["Properties"] = {
        "ManagedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]
    }
    with pytest.raises(Unsupported, match="AdministratorAccess is not in the template"):
        bind(template, local_resources())


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"ses:ApiVersion": "2"}},  # a key of the action that the request context does not model
        {"StringLike": {"aws:userid": "AROA*"}},
        {"StringEquals": {"aws:SourceIp": "10.0.0.1"}},  # a global key we do not model
    ],
)
def test_a_condition_on_a_key_the_request_does_not_model_fails_the_call(emu: Emulator, condition: Any) -> None:
    install(emu, allow("ses:GetEmailIdentity", "*", Condition=condition))
    with emu.acting_as("fn"), pytest.raises(Unsupported):
        boto3.client("sesv2").get_email_identity(EmailIdentity="acme.example")


def test_a_key_of_another_service_reads_as_absent() -> None:
    # dynamodb:GetItem has no kms:ViaService: the key is absent, so StringEquals does not hold.
    from local.emulator.iam.access import _Context

    context = _Context({"aws:securetransport": "true"}, "dynamodb:GetItem")
    assert "kms:viaservice" not in context and "aws:securetransport" in context
    with pytest.raises(Unsupported, match="dynamodb:leadingkeys"):
        _ = "dynamodb:leadingkeys" in context
