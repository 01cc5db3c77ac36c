"""The request context of every AWS operation Mailwarden's functions make: the IAM action, the
resource ARN(s) built from the request's parameters with the Service Authorization Reference's ARN
templates, the condition keys, and the permissions AWS checks on the caller's behalf (the KMS key of
an encrypted topic or secret, ``iam:PassRole``).

Rules (``reference.py`` holds the data they are checked against):

- An action the reference lists without resource types is evaluated against ``*``: only a
  statement whose ``Resource`` matches the literal string ``*`` applies.
- An action whose resource types are all optional, called without naming one of them (e.g.
  ``ses:ListRecommendations``, optional ``identity``), is evaluated against ``*`` too.
- A List action that requires a resource type but names no instance (``ses:ListReputationEntities``
  requires ``tenant``): AWS does not document which ARN it evaluates. We evaluate the whole family
  in the caller's account and region, the ARN template with every name replaced by a literal ``*``
  (``arn:aws:ses:<region>:<account>:tenant/*/*``). Conservative: a grant on ``tenant/*`` (or ``*``)
  matches it; a grant on some tenants does not, since the listing returns them all.
- Several resources (BatchWriteItem's tables, PutEvents' buses, ...) are each checked; all must pass.
- An operation without a mapping here raises :class:`Unmapped`: it is never silently allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from . import reference
from .policy import Unsupported


class Unmapped(LookupError):
    """An AWS operation the IAM emulation has no request context for."""


@dataclass(frozen=True)
class Check:
    """One authorization AWS makes for a request: ``action`` on ``resource`` with ``context``."""

    action: str
    resource: str  # an ARN, a family ARN, or "*"
    context: tuple[tuple[str, Any], ...] = ()  # lower-case condition key -> value (sorted)
    implied: bool = False  # checked on the caller's behalf (a KMS key, a passed role)


@dataclass(frozen=True)
class Request:
    """One call: the operation, its parameters and where it is made."""

    service: str  # botocore client name, e.g. "sesv2"
    operation: str
    params: Mapping[str, Any]
    region: str
    account: str
    keys: Mapping[str, str] = field(default_factory=dict)  # resource ARN -> customer managed KMS key ARN

    def arn(self, prefix: str, resource_type: str, *values: str) -> str:
        """``values`` fill the reference's ARN template; a single value that is already an ARN is taken as is."""
        if len(values) == 1 and values[0].startswith("arn:"):
            return values[0]
        svc = reference.service(prefix)
        return svc.arn(resource_type, values, partition="aws", region=self.region, account=self.account)

    def family(self, prefix: str, resource_type: str) -> str:
        """Every resource of a type in the caller's account and region (see the module docstring)."""
        template = reference.service(prefix).arns[resource_type.lower()]
        names = len(re.findall(r"\$\{(?!Partition|Region|Account)[^}]+\}", template))
        return self.arn(prefix, resource_type, *(["*"] * names))


Mapper = Callable[[Request], Iterator[Check]]
_MAPPERS: dict[tuple[str, str], tuple[str, Mapper]] = {}  # (client, operation) -> (IAM prefix, mapper)

# The IAM service prefix where it differs from the botocore client name.
PREFIX = {"sesv2": "ses", "stepfunctions": "states", "partnercentral-account": "partnercentral"}


def maps(client: str, *operations: str) -> Callable[[Mapper], Mapper]:
    def register(fn: Mapper) -> Mapper:
        for op in operations:
            _MAPPERS[(client, op)] = (PREFIX.get(client, client), fn)
        return fn

    return register


def _ctx(**keys: Any) -> tuple[tuple[str, Any], ...]:
    """Condition keys as keyword arguments, ``__`` for the colon: ``kms__ViaService`` -> ``kms:viaservice``."""
    return tuple(sorted((k.replace("__", ":").lower(), v) for k, v in keys.items()))


def checks(request: Request) -> list[Check]:
    """Every authorization AWS makes for ``request``, validated against the reference."""
    try:
        _, mapper = _MAPPERS[(request.service, request.operation)]
    except KeyError:
        raise Unmapped(
            f"{request.service}.{request.operation}: no IAM request context (local/emulator/iam/requests.py)"
        ) from None
    out = list(mapper(request))
    for c in out:
        _validate(c)
    return out


def _validate(check: Check) -> None:
    """The mapping agrees with the reference: the action exists; ``*`` exactly when the action has
    no required resource type; otherwise an ARN of one of the resource types the action lists."""
    prefix = check.action.split(":", 1)[0]
    act = reference.action(check.action)
    if check.resource == "*":
        if any(act.resource_types.values()):
            raise Unsupported(f"{check.action} requires a resource type {sorted(act.resource_types)}, mapped to '*'")
        return
    if not act.has_resource_types:
        raise Unsupported(f"{check.action} has no resource types: only '*' may be evaluated, got {check.resource}")
    if not reference.service(prefix).types_of(check.resource) & set(act.resource_types):
        raise Unsupported(f"{check.resource} is none of {check.action}'s resource types {sorted(act.resource_types)}")


def _on(r: Request, action: str, *resources: str, **context: Any) -> Iterator[Check]:
    prefix = PREFIX.get(r.service, r.service)
    for resource in resources:
        yield Check(f"{prefix}:{action}", resource, _ctx(**context))


def _kms(r: Request, resource: str, via: str, *actions: str) -> Iterator[Check]:
    """What a service does with the caller's permissions on a customer managed key (AWS managed
    keys, ``alias/aws/*``, allow every principal of the account through that service)."""
    key = r.keys.get(resource)
    if key:
        context = _ctx(kms__ViaService=f"{via}.{r.region}.amazonaws.com", kms__CallerAccount=r.account)
        for action in actions:
            yield Check(f"kms:{action}", key, context, implied=True)


# ---------------------------------------------------------------------------- DynamoDB


def _table(r: Request, name: str, index: str | None = None) -> str:
    return r.arn("dynamodb", "index", name, index) if index else r.arn("dynamodb", "table", name)


@maps("dynamodb", "GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable")
def _dynamodb_item(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, _table(r, r.params["TableName"]))


@maps("dynamodb", "Query", "Scan")
def _dynamodb_read(r: Request) -> Iterator[Check]:
    # On an index, AWS authorizes the index ARN (table/<t>/index/<i>): a grant on the table does not cover it.
    yield from _on(r, r.operation, _table(r, r.params["TableName"], r.params.get("IndexName")))


@maps("dynamodb", "BatchWriteItem", "BatchGetItem")
def _dynamodb_batch(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, *(_table(r, t) for t in r.params["RequestItems"]))


_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


@maps("dynamodb", "TransactWriteItems", "TransactGetItems")
def _dynamodb_transact(r: Request) -> Iterator[Check]:
    for item in r.params["TransactItems"]:
        ((kind, body),) = item.items()
        yield from _on(r, _TRANSACT.get(kind, "GetItem"), _table(r, body["TableName"]))


# ---------------------------------------------------------------------------- SQS, SNS


def _queue(r: Request, url: str) -> str:
    _, account, name = urlsplit(url).path.split("/")
    return f"arn:aws:sqs:{r.region}:{account}:{name}"


@maps("sqs", "SendMessage", "SendMessageBatch")
def _sqs_send(r: Request) -> Iterator[Check]:
    queue = _queue(r, r.params["QueueUrl"])
    yield from _on(r, "SendMessage", queue)
    yield from _kms(r, queue, "sqs", "GenerateDataKey", "Decrypt")


@maps("sqs", "ReceiveMessage")
def _sqs_receive(r: Request) -> Iterator[Check]:
    queue = _queue(r, r.params["QueueUrl"])
    yield from _on(r, "ReceiveMessage", queue)
    yield from _kms(r, queue, "sqs", "Decrypt")


@maps("sqs", "DeleteMessage", "DeleteMessageBatch", "GetQueueAttributes", "ChangeMessageVisibility")
def _sqs_queue(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation.removesuffix("Batch"), _queue(r, r.params["QueueUrl"]))


@maps("sns", "Publish", "PublishBatch")
def _sns_publish(r: Request) -> Iterator[Check]:
    if "TopicArn" not in r.params:
        raise Unmapped("sns.Publish to a TargetArn or PhoneNumber has no mapping")
    topic = r.params["TopicArn"]
    yield from _on(r, "Publish", topic)  # PublishBatch is authorized as sns:Publish
    yield from _kms(r, topic, "sns", "GenerateDataKey", "Decrypt")


# ---------------------------------------------------------------------------- S3


@maps("s3", "PutObject", "GetObject", "HeadObject")
def _s3_object(r: Request) -> Iterator[Check]:
    """An object; HeadObject is authorized as s3:GetObject. A bucket whose default encryption is
    SSE-KMS with a customer managed key makes S3 use the key for the caller."""
    bucket = r.params["Bucket"]
    yield from _on(
        r, "GetObject" if r.operation == "HeadObject" else r.operation, r.arn("s3", "object", bucket, r.params["Key"])
    )
    yield from _kms(r, f"arn:aws:s3:::{bucket}", "s3", "GenerateDataKey" if r.operation == "PutObject" else "Decrypt")


# ---------------------------------------------------------------------------- SSM, Secrets Manager


def _parameter(r: Request, name: str) -> str:
    return name if name.startswith("arn:") else r.arn("ssm", "parameter", name.lstrip("/"))


@maps("ssm", "GetParameter", "PutParameter")
def _ssm_parameter(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, _parameter(r, r.params["Name"]))


@maps("ssm", "GetParameters")
def _ssm_parameters(r: Request) -> Iterator[Check]:
    yield from _on(r, "GetParameters", *(_parameter(r, n) for n in r.params["Names"]))


def _secret(r: Request) -> str:
    secret = str(r.params["SecretId"])
    if not secret.startswith("arn:"):
        # AWS authorizes the full ARN (name plus a random suffix); pass the ARN, as Mailwarden does.
        raise Unmapped(f"secretsmanager.{r.operation} by name ({secret}): only secret ARNs are mapped")
    return secret


@maps("secretsmanager", "GetSecretValue")
def _secret_value(r: Request) -> Iterator[Check]:
    secret = _secret(r)
    yield from _on(r, "GetSecretValue", secret)
    yield from _kms(r, secret, "secretsmanager", "Decrypt")


@maps("secretsmanager", "DescribeSecret")
def _secret_describe(r: Request) -> Iterator[Check]:
    yield from _on(r, "DescribeSecret", _secret(r))


# ---------------------------------------------------------------------------- Step Functions


@maps("stepfunctions", "StartExecution", "ListExecutions", "DescribeStateMachine")
def _states_machine(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, r.params["stateMachineArn"])


@maps("stepfunctions", "DescribeExecution", "StopExecution", "GetExecutionHistory")
def _states_execution(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, r.params["executionArn"])


@maps("stepfunctions", "SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat")
def _states_task(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, "*")  # no resource types in the reference: the token is the capability


# ---------------------------------------------------------------------------- EventBridge, Lambda


@maps("events", "PutEvents")
def _events_put(r: Request) -> Iterator[Check]:
    buses = dict.fromkeys(e.get("EventBusName") or "default" for e in r.params["Entries"])
    yield from _on(r, "PutEvents", *(r.arn("events", "event-bus", b) for b in buses))


@maps("lambda", "Invoke")
def _lambda_invoke(r: Request) -> Iterator[Check]:
    name = str(r.params["FunctionName"])
    arn = name if name.startswith("arn:") else r.arn("lambda", "function", name)
    if r.params.get("Qualifier"):
        arn = f"{arn}:{r.params['Qualifier']}"
    yield from _on(r, "InvokeFunction", arn)


# ---------------------------------------------------------------------------- Route 53


def _zone_id(value: str) -> str:
    return value.rsplit("/", 1)[-1]


@maps("route53", "GetHostedZone")
def _route53_zone(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, r.arn("route53", "hostedzone", _zone_id(r.params["Id"])))


@maps("route53", "ListResourceRecordSets", "ChangeResourceRecordSets")
def _route53_records(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, r.arn("route53", "hostedzone", _zone_id(r.params["HostedZoneId"])))


@maps("route53", "GetChange")
def _route53_change(r: Request) -> Iterator[Check]:
    yield from _on(r, "GetChange", r.arn("route53", "change", _zone_id(r.params["Id"])))


@maps("route53", "ListHostedZones", "ListHostedZonesByName")
def _route53_list(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, "*")


# ---------------------------------------------------------------------------- SES (v2)

# ses:ApiVersion is not set: its values are not documented in the reference, so a policy conditioned on
# it raises (policy.Unsupported via the request context) rather than being decided on a guess.


@maps("sesv2", "GetEmailIdentity", "PutEmailIdentityMailFromAttributes")
def _ses_identity(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, r.arn("ses", "identity", r.params["EmailIdentity"]))


@maps("sesv2", "GetReputationEntity", "UpdateReputationEntityCustomerManagedStatus")
def _ses_entity(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, r.params["ReputationEntityReference"])


@maps("sesv2", "UpdateReputationEntityPolicy")
def _ses_entity_policy(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, r.params["ReputationEntityReference"], r.params["ReputationEntityPolicy"])


@maps("sesv2", "ListReputationEntities")
def _ses_entities(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, r.family("ses", "tenant"))


@maps("sesv2", "ListRecommendations")
def _ses_recommendations(r: Request) -> Iterator[Check]:
    # Only `identity` is listed, optionally; the requests name none (a tenant ARN filter is not an identity).
    yield from _on(r, r.operation, "*")


@maps("sesv2", "ListTagsForResource")
def _ses_tags(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, r.params["ResourceArn"])


# ---------------------------------------------------------------------------- WorkMail, Partner Central

_WORKMAIL = (
    "DescribeUser DescribeGroup DescribeResource ListUsers ListGroups ListGroupMembers ListGroupsForEntity "
    "ListMailboxPermissions ListAliases ListResources ListResourceDelegates ListMailboxExportJobs "
    "DescribeMailboxExportJob DisassociateMemberFromGroup DeleteMailboxPermissions DisassociateDelegateFromResource "
    "DeregisterFromWorkMail DeleteUser RegisterToWorkMail CreateAlias AssociateMemberToGroup PutMailboxPermissions "
    "AssociateDelegateToResource DescribeOrganization GetMailboxDetails ListMailDomains GetMailDomain "
    "RegisterMailDomain DeregisterMailDomain UpdateDefaultMailDomain DeleteGroup DeleteResource UpdateResource "
    "DeleteOrganization"
).split()


@maps("workmail", *_WORKMAIL)
def _workmail(r: Request) -> Iterator[Check]:
    yield from _on(r, r.operation, r.arn("workmail", "organization", r.params["OrganizationId"]))


@maps("workmail", "StartMailboxExportJob")
def _workmail_export(r: Request) -> Iterator[Check]:
    yield from _workmail(r)
    context = _ctx(iam__PassedToService="export.workmail.amazonaws.com")
    yield Check("iam:PassRole", r.params["RoleArn"], context, implied=True)


@maps("partnercentral-account", "GetConnectionPreferences", "UpdateConnectionPreferences")
def _partner(r: Request) -> Iterator[Check]:
    # No resource types in the reference: '*', scoped by the partnercentral:Catalog condition key.
    yield from _on(r, r.operation, "*", partnercentral__Catalog=r.params["Catalog"])


def mapped() -> list[tuple[str, str]]:
    """Every (client, operation) with a request context."""
    return sorted(_MAPPERS)
