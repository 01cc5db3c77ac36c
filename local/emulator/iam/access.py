"""Enforcement: who is calling (a thread's current principal), what their role's policies allow,
and the AccessDenied AWS would answer.

The local deployment installs each function's and state machine's role (policies from the
synthesized template, resolved to the local resources) and the resources' policies, then runs
every handler inside ``acting_as(function)``. The dispatcher asks :meth:`Access.deny` about every
request before it reaches our emulated services or moto; calls made outside any principal (test
code, seeding) and the harness's own (``Emulator.client``) are not evaluated.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.model import OperationModel

from ..protocol import ApiError, error_response
from . import reference
from .policy import Decision, Statement, Unsupported, decide, parse_document
from .requests import Check, Request, Unmapped, checks

PARAMS = "mailwarden.params"  # where the before-parameter-build hook leaves a call's parameters (request context)
# Global condition keys we set on every request, and those a role's own call never carries.
_ABSENT = frozenset({"aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:sourceorgid", "aws:calledvia"})


@dataclass(frozen=True)
class Denial:
    principal: str
    operation: str  # service.Operation
    action: str
    resource: str
    reason: str

    def __str__(self) -> str:
        return f"{self.principal}: {self.operation} -> {self.action} on {self.resource}: {self.reason}"


@dataclass
class Ledger:
    """Process-wide totals (every emulator): what the test guard and the bench read."""

    denials: list[Denial] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    evaluated: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


LEDGER = Ledger()


class _Context(Mapping[str, Any]):
    """The request context of one check: a key the action (or IAM globally) defines that we do not
    model raises instead of reading as absent, so a condition is never decided on a guess."""

    def __init__(self, values: dict[str, Any], action: str) -> None:
        self._values = values
        self.action = action

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        assert isinstance(key, str)
        if key in self._values:
            return True
        if key in _ABSENT:
            return False
        known = reference.action(self.action).condition_keys
        templated = {k.split("${", 1)[0] for k in known if "${" in k}
        if key.startswith("aws:") or key in known or any(key.startswith(t) for t in templated):
            raise Unsupported(f"condition key {key} is not modelled for {self.action}")
        return False  # not a key of this action: absent, as in AWS


@dataclass
class Role:
    """A principal: a function's or state machine's role and its identity-based policies."""

    name: str
    arn: str
    statements: list[dict[str, Any]]  # resolved policy statements (local ARNs), editable by tests
    compiled: list[Statement] = field(default_factory=list)
    decisions: dict[Any, Decision] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.recompile()

    def recompile(self) -> None:
        self.compiled = parse_document({"Statement": self.statements})
        self.decisions.clear()


class Access:
    """IAM for one emulator: roles, resource and key policies, the current principal per thread."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.enabled = True
        self.ledger = LEDGER  # process-wide totals (a test may give an emulator its own)
        self.denials: list[Denial] = []
        self.roles: dict[str, Role] = {}  # by name and by ARN
        self.resource_policies: dict[str, list[Statement]] = {}  # resource ARN -> statements
        self.key_policies: dict[str, list[Statement]] = {}  # KMS key ARN -> statements
        self.keys: dict[str, str] = {}  # resource ARN -> the customer managed key it is encrypted with
        self.encryption: dict[str, str] = {}  # queue ARN -> "SSE-SQS" | AWS managed key alias | key ARN | "none"
        self._local = threading.local()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ installing

    def install(
        self,
        roles: Iterable[tuple[str, str, list[dict[str, Any]]]],
        resource_policies: Mapping[str, dict[str, Any]],
        key_policies: Mapping[str, dict[str, Any]],
        keys: Mapping[str, str],
        encryption: Mapping[str, str] | None = None,
    ) -> None:
        """Replace everything: ``roles`` as (name, ARN, statements); policies by resource ARN;
        ``encryption``: how each queue is encrypted (for deliveries by service principals)."""
        with self._lock:
            self.roles.clear()
            for name, arn, statements in roles:
                role = Role(name, arn, statements)
                self.roles[name] = self.roles[arn] = role
            self.resource_policies = {a: parse_document(d, resource_policy=True) for a, d in resource_policies.items()}
            self.key_policies = {a: parse_document(d, resource_policy=True) for a, d in key_policies.items()}
            self.keys = dict(keys)
            self.encryption = dict(encryption or {})

    def role(self, principal: str) -> Role:
        try:
            return self.roles[principal]
        except KeyError:
            raise KeyError(f"no role installed for {principal} (known: {sorted(self.names())})") from None

    def names(self) -> list[str]:
        return [name for name, role in self.roles.items() if role.name == name]

    def statements(self, principal: str) -> list[dict[str, Any]]:
        """The principal's identity-based policy statements, as evaluated (local ARNs)."""
        return self.role(principal).statements

    def remove_statement(self, principal: str, action: str, resource: str | None = None) -> dict[str, Any]:
        """Remove the one statement of ``principal`` that names ``action`` (and ``resource``, when given)
        exactly; returns it. Zero or several candidates raise: say which one."""
        role = self.role(principal)

        def names(s: dict[str, Any]) -> bool:
            actions = s.get("Action", [])
            resources = s.get("Resource", [])
            in_actions = action in (actions if isinstance(actions, list) else [actions])
            return in_actions and (
                resource is None or resource in (resources if isinstance(resources, list) else [resources])
            )

        found = [s for s in role.statements if names(s)]
        if len(found) != 1:
            raise ValueError(f"{principal}: {len(found)} statements name {action} on {resource}: {found}")
        with self._lock:
            role.statements.remove(found[0])
            role.recompile()
        return found[0]

    def add_statement(self, principal: str, statement: dict[str, Any]) -> None:
        role = self.role(principal)
        with self._lock:
            role.statements.append(statement)
            role.recompile()

    # ------------------------------------------------------------------ principals

    @contextmanager
    def acting_as(self, principal: str) -> Iterator[Role]:
        """Calls made in this thread inside the block are ``principal``'s (a role name or ARN)."""
        role = self.role(principal)
        stack = self._stack()
        stack.append(role)
        try:
            yield role
        finally:
            stack.pop()

    def current(self) -> Role | None:
        stack = self._stack()
        return stack[-1] if stack else None

    def _stack(self) -> list[Role]:
        if not hasattr(self._local, "stack"):
            self._local.stack = []
        return self._local.stack  # type: ignore[no-any-return]

    @contextmanager
    def disabled(self) -> Iterator[None]:
        """No evaluation inside the block (for a test that needs it)."""
        before, self.enabled = self.enabled, False
        try:
            yield
        finally:
            self.enabled = before

    # ------------------------------------------------------------------ deciding

    def deny(self, service_id: str, op: OperationModel, request: Any) -> tuple[AWSResponse, str] | None:
        """The AccessDenied response (and its error code) for ``request`` if the current principal may
        not make it, else None."""
        role = self.current()
        if role is None or not self.enabled:
            return None
        context = getattr(request, "context", None) or {}
        if PARAMS not in context:
            raise Unsupported(f"{service_id}.{op.name}: the parameters were not captured (before-parameter-build)")
        call = Request(
            service=op.service_model.service_name,
            operation=op.name,
            params=context[PARAMS],
            region=context.get("client_region") or "us-east-1",
            account=self.account,
            keys=self.keys,
        )
        try:
            wanted = checks(call)
        except Unmapped as exc:
            with self.ledger.lock:
                self.ledger.unmapped.append(f"{role.name}: {exc}")
            raise
        secure = "true" if str(request.url).startswith("https://") else "false"
        with self.ledger.lock:
            self.ledger.evaluated += 1
        for check in wanted:
            decision = self._decide(role, check, call.region, secure)
            if not decision.allowed:
                return self._denied(role, service_id, op, request.url, check, decision.reason)
        return None

    def _decide(self, role: Role, check: Check, region: str, secure: str) -> Decision:
        key = (check, region, secure)
        cached = role.decisions.get(key)
        if cached is not None:
            return cached
        values = {
            "aws:securetransport": secure,
            "aws:principalarn": role.arn,
            "aws:principalaccount": self.account,
            "aws:principaltype": "AssumedRole",
            "aws:requestedregion": region,
            **dict(check.context),
        }
        is_key = check.action.startswith("kms:")
        decision = decide(
            principal_arn=role.arn,
            account=self.account,
            identity=role.compiled,
            action=check.action,
            resource=check.resource,
            context=_Context(values, check.action),
            resource_policy=None if is_key else self._resource_policy(check.resource),
            key_policy=self.key_policies.get(check.resource) or _default_key_policy(self.account) if is_key else None,
        )
        role.decisions[key] = decision
        return decision

    def service_delivery(self, service: str, queue: str, source_arn: str) -> Decision:
        """Whether ``service`` (``events.amazonaws.com``, ``sns.amazonaws.com``: a service principal,
        not a role of the account) may deliver a message from ``source_arn`` into ``queue``: the queue
        policy must allow it, and it must be able to use the queue's key. SSE-SQS always can; an AWS
        managed key (``alias/aws/sqs``) never can (no key policy can grant it to a service principal);
        a customer managed key only if its key policy allows the service both key actions."""
        context = {"aws:sourcearn": source_arn, "aws:sourceaccount": self.account, "aws:securetransport": "true"}

        def grants(statements: Iterable[Statement], action: str, resource: str) -> tuple[bool, bool]:
            hits = [s for s in statements if s.applies(action, resource, context)]
            named = [
                s for s in hits if s.principal is not None and (s.principal.everyone or service in s.principal.services)
            ]
            return any(s.effect == "Allow" for s in named), any(s.effect == "Deny" for s in named)

        allowed, denied = grants(self.resource_policies.get(queue, []), "sqs:SendMessage", queue)
        if denied or not allowed:
            return Decision(False, f"the queue policy of {queue} does not let {service} send from {source_arn}")
        key = self.encryption.get(queue, "none")
        if key.startswith("alias/aws/"):
            return Decision(False, f"{queue} is encrypted with the AWS managed key {key}, which {service} cannot use")
        if key.startswith("arn:aws:kms:"):
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                allowed, denied = grants(self.key_policies.get(key, []), action, key)
                if denied or not allowed:
                    return Decision(False, f"the key policy of {key} does not allow {service} {action}")
        return Decision(True, "allowed")

    def _resource_policy(self, resource: str) -> list[Statement] | None:
        if resource in self.resource_policies:
            return self.resource_policies[resource]
        if resource.startswith("arn:aws:s3:::") and "/" in resource:  # an object: its bucket's policy
            return self.resource_policies.get(resource.split("/", 1)[0])
        return None

    def _denied(
        self, role: Role, service_id: str, op: OperationModel, url: str, check: Check, reason: str
    ) -> tuple[AWSResponse, str]:
        denial = Denial(role.name, f"{service_id}.{op.name}", check.action, check.resource, reason)
        self.denials.append(denial)
        with self.ledger.lock:
            self.ledger.denials.append(denial)
        message = (
            f"User: arn:aws:sts::{self.account}:assumed-role/{role.arn.rsplit('/', 1)[-1]}/{role.name} is not "
            f"authorized to perform: {check.action} on resource: {check.resource} because {reason}"
        )
        code, status, fields = access_denied_error(op, kms=check.implied and check.action.startswith("kms:"))
        response = error_response(op, url, ApiError(code, message, status=status, **fields))
        if "awsQueryCompatible" in op.service_model.metadata:
            response.headers["x-amzn-query-error"] = f"{code};Sender"
        return response, code


@lru_cache(maxsize=16)
def _default_key_policy(account: str) -> list[Statement]:
    """A key created without a policy gets the default one: the account may use it through IAM."""
    root = {"AWS": f"arn:aws:iam::{account}:root"}
    statement = {"Effect": "Allow", "Principal": root, "Action": "kms:*", "Resource": "*"}
    return parse_document({"Statement": [statement]}, resource_policy=True)


_ERRORS: dict[tuple[str, bool], tuple[str, int, dict[str, str]]] = {}
# Where the model carries no status and the service's API reference documents one other than the protocol's.
_DOCUMENTED_STATUS = {"partnercentral-account": 403}


def access_denied_error(op: OperationModel, *, kms: bool = False) -> tuple[str, int, dict[str, str]]:
    """The code, HTTP status and required fields the service answers a denied request with: its
    modelled error (SNS ``AuthorizationError`` 403, ``KMSAccessDenied`` for a key it may not use,
    Partner Central's ``AccessDeniedException`` with ``Reason``) or, where it models none, its
    protocol's: JSON ``AccessDeniedException`` 400, REST-JSON 403, query and REST-XML ``AccessDenied``
    403 (SQS, JSON but query-compatible, answers ``AccessDenied`` 403)."""
    model = op.service_model
    key = (model.service_name, kms)
    if key not in _ERRORS:
        _ERRORS[key] = _error_for(model, kms)
    return _ERRORS[key]


def _error_for(model: Any, kms: bool) -> tuple[str, int, dict[str, str]]:
    protocol = model.metadata["protocol"]
    wanted = {"kmsaccessdenied", "kmsaccessdeniedexception"} if kms else {"accessdeniedexception", "accessdenied"}
    if not kms:
        wanted.add("authorizationerrorexception")
    for name in model.shape_names:
        shape = model.shape_for(name)
        if name.lower() in wanted and shape.metadata.get("exception"):
            meta = shape.metadata.get("error", {})
            default = _DOCUMENTED_STATUS.get(model.service_name, 400 if protocol == "json" or kms else 403)
            reason = shape.members.get("Reason")
            fields = (
                {"Reason": "ACCESS_DENIED"} if reason is not None and "ACCESS_DENIED" in (reason.enum or []) else {}
            )
            return str(meta.get("code", name)), int(meta.get("httpStatusCode", default)), fields
    if kms:
        return _error_for(model, False)
    if protocol in ("query", "rest-xml", "ec2") or "awsQueryCompatible" in model.metadata:
        return "AccessDenied", 403, {}
    return "AccessDeniedException", 400 if protocol == "json" else 403, {}
