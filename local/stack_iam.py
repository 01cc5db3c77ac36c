"""The synthesized stack's IAM, bound to the local deployment's physical resources.

Each template resource the local deployment has is mapped to its local counterpart (by its
``aws:cdk:path`` or its name: tables and topics by contract name, the DLQ, state machines and
functions by name suffix, the bus, the kill-switch parameter, the signing secret, the KMS keys,
the export bucket and role), then the CloudFormation intrinsics (``Ref``, ``Fn::GetAtt``,
``Fn::Join``, ``Fn::Sub``, ``Fn::Select``, ``Fn::Split``, pseudo parameters) are resolved against
them. Physical names the template spells out (``Mailwarden-dev-reputation-reinstate`` in a
hand-built state machine ARN) are renamed to the local ones within ARNs of the same service. A
resource with no local counterpart resolves to ``unmapped:<LogicalId>``, which no request matches.

The result: every function's and state machine's role statements, the resource policies (queues,
topics, buckets), the key policies, and which resource is encrypted with which customer managed key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mailwarden.contracts.functions import FUNCTIONS
from mailwarden.contracts.tables import TABLES
from mailwarden.contracts.topics import TOPICS
from mailwarden.contracts.workflows import WORKFLOWS

from .emulator.iam.policy import Unsupported


@dataclass(frozen=True)
class LocalResources:
    """What the local deployment created, by contract name."""

    region: str
    account: str
    tables: dict[str, str]  # contract table name -> table name
    topics: dict[str, str]  # contract topic name -> topic ARN
    dlq_url: str
    bus_name: str
    state_machines: dict[str, str]  # workflow -> ARN
    state_machine_roles: dict[str, str]  # workflow -> role ARN
    functions: dict[str, str]  # function -> function name
    function_roles: dict[str, str]  # function -> role ARN
    kill_switch: str  # SSM parameter name
    secret_arn: str
    keys: dict[str, str]  # construct path of the key ("Approvals/Key") -> key ARN
    export_bucket: str
    export_role_arn: str
    rules: dict[str, str] = field(default_factory=dict)  # route rule id -> rule ARN


@dataclass
class StackIam:
    roles: list[tuple[str, str, list[dict[str, Any]]]] = field(default_factory=list)  # (principal, ARN, statements)
    resource_policies: dict[str, dict[str, Any]] = field(default_factory=dict)  # resource ARN -> document
    key_policies: dict[str, dict[str, Any]] = field(default_factory=dict)  # key ARN -> document
    keys: dict[str, str] = field(default_factory=dict)  # resource ARN -> customer managed key ARN
    # queue ARN -> how it is encrypted: "SSE-SQS", an AWS managed key's alias, a key ARN, or "none"
    encryption: dict[str, str] = field(default_factory=dict)
    dead_letters: dict[str, str] = field(default_factory=dict)  # rule ARN -> its target's dead-letter queue ARN


def state_machine_principal(workflow: str) -> str:
    return f"sfn:{workflow}"


def _rule_id(resource: dict[str, Any]) -> str:
    """``Routing/<rule id>/Resource`` (infra/routing.py) -> the route's rule id."""
    return _path(resource).removeprefix("Routing/")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _suffix(name: str, candidates: list[str], *, dashes: bool = False) -> str:
    """The candidate the physical ``name`` ends with (``<stack>-<candidate>``), the longest one."""
    fits = [c for c in candidates if name.endswith("-" + (c.replace("_", "-") if dashes else c))]
    if not fits:
        raise Unsupported(f"{name} is none of {candidates}")
    return max(fits, key=len)


def _path(resource: dict[str, Any]) -> str:
    """The construct path without the stack and the trailing ``Resource`` (``Tables/Audit``)."""
    path = str(resource.get("Metadata", {}).get("aws:cdk:path", ""))
    return path.split("/", 1)[-1].removesuffix("/Resource")


class _Resolver:
    def __init__(self, template: dict[str, Any], local: LocalResources) -> None:
        self.resources: dict[str, dict[str, Any]] = template["Resources"]
        self.local = local
        r, a = local.region, local.account
        self.pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": r,
            "AWS::AccountId": a,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        self.refs: dict[str, str] = {}
        self.attrs: dict[tuple[str, str], str] = {}
        self.arns: dict[str, str] = {}  # logical id -> the local resource's ARN
        self.renames: dict[str, dict[str, str]] = {}  # ARN service -> template name -> local name
        self.principals: dict[str, str] = {}  # role logical id -> principal name
        for logical_id, resource in self.resources.items():
            self._bind(logical_id, resource)

    # ------------------------------------------------------------------ binding

    def _set(self, logical_id: str, ref: str, arn: str, **attrs: str) -> None:
        """``ref``: what ``Ref`` gives; ``arn``: the resource's ARN; ``attrs``: ``Fn::GetAtt`` values."""
        self.refs[logical_id] = ref
        self.arns[logical_id] = arn
        for name, value in attrs.items():
            self.attrs[(logical_id, name)] = value

    def _role(self, logical_id: str, arn: str, principal: str | None = None) -> None:
        self._set(logical_id, arn.rsplit("/", 1)[-1], arn, Arn=arn)
        if principal:
            self.principals[logical_id] = principal

    def _rename(self, service: str, template_name: str, local_name: str) -> None:
        self.renames.setdefault(service, {})[template_name] = local_name

    def _bind(self, logical_id: str, resource: dict[str, Any]) -> None:
        local, kind, props = self.local, resource["Type"], resource.get("Properties", {})
        r, a = local.region, local.account
        if kind in ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table"):
            spec = next((t for t in TABLES if _norm(_path(resource)) == _norm(f"Tables{t.name}")), None)
            if spec:
                name = local.tables[spec.name]
                arn = f"arn:aws:dynamodb:{r}:{a}:table/{name}"
                self._set(logical_id, name, arn, Arn=arn)
        elif kind == "AWS::SNS::Topic":
            topic = next((t for t in TOPICS if _norm(_path(resource)) == _norm(f"Approvals{t.name}Topic")), None)
            if topic:
                arn = local.topics[topic.name]
                self._set(logical_id, arn, arn, TopicArn=arn, TopicName=arn.rsplit(":", 1)[-1])
        elif kind == "AWS::SQS::Queue" and _path(resource) == "DeadLetters":
            name = local.dlq_url.rsplit("/", 1)[-1]
            arn = f"arn:aws:sqs:{r}:{a}:{name}"
            self._set(logical_id, local.dlq_url, arn, Arn=arn, QueueName=name, QueueUrl=local.dlq_url)
        elif kind == "AWS::StepFunctions::StateMachine":
            name = str(props["StateMachineName"])
            workflow = _suffix(name, [w.name for w in WORKFLOWS])
            arn = local.state_machines[workflow]
            self._set(logical_id, arn, arn, Arn=arn, Name=arn.rsplit(":", 1)[-1])
            self._rename("states", name, arn.rsplit(":", 1)[-1])
            role = props["RoleArn"]["Fn::GetAtt"][0]
            self._role(role, local.state_machine_roles[workflow], state_machine_principal(workflow))
        elif kind == "AWS::Lambda::Function":
            name = str(props["FunctionName"])
            fn = _suffix(name, [f.name for f in FUNCTIONS], dashes=True)
            local_name = local.functions[fn]
            arn = f"arn:aws:lambda:{r}:{a}:function:{local_name}"
            self._set(logical_id, local_name, arn, Arn=arn)
            self._rename("lambda", name, local_name)
            self._role(props["Role"]["Fn::GetAtt"][0], local.function_roles[fn], fn)
        elif kind == "AWS::IAM::Role" and _path(resource) == "MailboxExports/Role":
            self._role(logical_id, local.export_role_arn)
        elif kind == "AWS::Events::EventBus":
            arn = f"arn:aws:events:{r}:{a}:event-bus/{local.bus_name}"
            self._set(logical_id, local.bus_name, arn, Arn=arn, Name=local.bus_name)
            self._rename("events", str(props["Name"]), local.bus_name)
        elif kind == "AWS::SSM::Parameter" and _path(resource) == "KillSwitch/Parameter":
            arn = f"arn:aws:ssm:{r}:{a}:parameter/{local.kill_switch.lstrip('/')}"
            self._set(logical_id, local.kill_switch, arn)
            self._rename("ssm", str(props["Name"]).lstrip("/"), local.kill_switch.lstrip("/"))
        elif kind == "AWS::SecretsManager::Secret" and _path(resource) == "Approvals/SigningKey":
            self._set(logical_id, local.secret_arn, local.secret_arn, Id=local.secret_arn)
        elif kind == "AWS::KMS::Key" and _path(resource) in local.keys:
            arn = local.keys[_path(resource)]
            self._set(logical_id, arn.rsplit("/", 1)[-1], arn, Arn=arn, KeyId=arn.rsplit("/", 1)[-1])
        elif kind == "AWS::Events::Rule" and _rule_id(resource) in local.rules:
            arn = local.rules[_rule_id(resource)]
            self._set(logical_id, arn.rsplit("/", 1)[-1], arn, Arn=arn)
        elif kind == "AWS::S3::Bucket" and _path(resource) == "MailboxExports/Bucket":
            arn = f"arn:aws:s3:::{local.export_bucket}"
            self._set(logical_id, local.export_bucket, arn, Arn=arn)

    # ------------------------------------------------------------------ resolving

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name.startswith("AWS::"):
            return f"unmapped:{name}"  # AWS::StackId, AWS::StackName: nothing local has them
        if name not in self.resources:
            raise Unsupported(f"Ref to {name}, which is not in the template")
        return self.refs.get(name, f"unmapped:{name}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.resources:
            raise Unsupported(f"Fn::GetAtt of {logical_id}, which is not in the template")
        return self.attrs.get((logical_id, attribute), f"unmapped:{logical_id}.{attribute}")

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def one(m: re.Match[str]) -> str:
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not None]
        if not isinstance(value, dict):
            return self._renamed(value) if isinstance(value, str) else value
        if len(value) == 1:
            ((fn, arg),) = value.items()
            handler: Callable[[Any], Any] | None = getattr(self, "_" + fn.replace("::", "_").lower(), None)
            if fn == "Ref" or fn.startswith("Fn::"):
                if handler is None:
                    raise Unsupported(f"intrinsic function {fn} is not supported")
                out = handler(arg)
                return self._renamed(out) if isinstance(out, str) else out
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, arg: str) -> Any:
        return self.ref(arg)

    def _fn_getatt(self, arg: Any) -> str:
        logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
        return self.get_att(logical_id, self.resolve(attribute))

    def _fn_join(self, arg: list[Any]) -> str:
        delimiter, items = arg
        return str(delimiter).join(str(v) for v in self.resolve(items))

    def _fn_sub(self, arg: Any) -> str:
        if isinstance(arg, str):
            return self._sub(arg, {})
        text, variables = arg
        return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})

    def _fn_select(self, arg: list[Any]) -> Any:
        index, items = arg
        return self.resolve(items)[int(self.resolve(index))]

    def _fn_split(self, arg: list[Any]) -> list[str]:
        delimiter, text = arg
        return str(self.resolve(text)).split(delimiter)

    def _renamed(self, text: str) -> str:
        """A template physical name inside an ARN of its service -> the local name."""
        if not text.startswith("arn:"):
            return text
        parts = text.split(":", 5)
        names = self.renames.get(parts[2]) if len(parts) == 6 else None
        if not names:
            return text
        resource = parts[5]
        for old in sorted(names, key=len, reverse=True):
            resource = re.sub(rf"(?<=[:/]){re.escape(old)}(?=$|[:/])", names[old], resource)
        return ":".join([*parts[:5], resource])


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document.get("Statement", [])
    return list(found) if isinstance(found, list) else [found]


def bind(template: dict[str, Any], local: LocalResources) -> StackIam:
    """The template's IAM, resolved to ``local``: see the module docstring."""
    if not any("aws:cdk:path" in r.get("Metadata", {}) for r in template["Resources"].values()):
        raise Unsupported("the template has no aws:cdk:path metadata (synthesize with aws:cdk:enable-path-metadata)")
    resolver = _Resolver(template, local)
    resources = resolver.resources
    missing = {f.name for f in FUNCTIONS} - set(resolver.principals.values())
    if missing:
        raise Unsupported(f"functions without a role in the template: {sorted(missing)}")
    out = StackIam()
    attached: dict[str, list[dict[str, Any]]] = {role: [] for role in resolver.principals}

    def attach(roles: Any, document: Any) -> None:
        for role in roles or []:
            logical_id = role["Ref"] if isinstance(role, dict) else None
            if logical_id in attached:
                attached[logical_id] += _statements(resolver.resolve(document))

    for resource in resources.values():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            attach(props.get("Roles"), props["PolicyDocument"])
    for logical_id in attached:
        props = resources[logical_id].get("Properties", {})
        for inline in props.get("Policies", []):
            attached[logical_id] += _statements(resolver.resolve(inline["PolicyDocument"]))
        for managed in props.get("ManagedPolicyArns", []):
            target = managed.get("Ref") if isinstance(managed, dict) else None
            if target not in resources or resources[target]["Type"] != "AWS::IAM::ManagedPolicy":
                raise Unsupported(f"{logical_id}: managed policy {managed} is not in the template")
            attached[logical_id] += _statements(resolver.resolve(resources[target]["Properties"]["PolicyDocument"]))
    out.roles = [(resolver.principals[r], resolver.attrs[(r, "Arn")], s) for r, s in attached.items()]

    def arn_of(ref: Any) -> str | None:
        return resolver.arns.get(str(ref.get("Ref"))) if isinstance(ref, dict) else None

    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties", {})
        targets = {
            "AWS::SQS::QueuePolicy": props.get("Queues", []),
            "AWS::SNS::TopicPolicy": props.get("Topics", []),
            "AWS::S3::BucketPolicy": [props.get("Bucket")],
        }.get(kind, [])
        for target in targets:
            arn = arn_of(target)
            if arn:
                out.resource_policies[arn] = resolver.resolve(props["PolicyDocument"])
        own = resolver.arns.get(logical_id)
        if kind == "AWS::KMS::Key" and own:
            out.key_policies[own] = resolver.resolve(props["KeyPolicy"])
        key = props.get("KmsMasterKeyId") or props.get("KmsKeyId")
        if kind == "AWS::S3::Bucket":  # the bucket's default encryption (SSE-KMS): S3 uses it for the caller
            rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [{}])
            key = rules[0].get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID")
        if own and kind == "AWS::SQS::Queue":
            if props.get("SqsManagedSseEnabled"):
                out.encryption[own] = "SSE-SQS"
            else:
                out.encryption[own] = str(resolver.resolve(key)) if key else "none"
        if own and kind == "AWS::Events::Rule":
            for target in props.get("Targets", []):
                dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
                if dead_letter:
                    out.dead_letters[own] = str(resolver.resolve(dead_letter))
        if (
            own
            and key
            and kind in ("AWS::SNS::Topic", "AWS::SQS::Queue", "AWS::SecretsManager::Secret", "AWS::S3::Bucket")
        ):
            key_arn = str(resolver.resolve(key))
            if key_arn.startswith("arn:aws:kms:"):  # not alias/aws/<service>, an AWS managed key
                out.keys[own] = key_arn
    return out
