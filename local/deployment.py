"""Mailwarden "deployed" on the emulator: the same buses, queues and EventBridge rules the CDK
stack creates (rules from ``mailwarden.contracts.routes``, so moto matches the very patterns AWS
would), with each rule's target an SQS queue that ``deliver()`` drains into the in-repo handler.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import secrets
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from mailwarden.contracts.apis import (
    DEFAULT_FAULT_BODY,
    DEFAULT_TIMEOUT_BODY,
    INTEGRATION_TIMEOUT_MS,
    mail_from_fault,
)
from mailwarden.contracts.functions import FUNCTIONS, FunctionSpec
from mailwarden.contracts.names import DEFAULT_BUS, MAILWARDEN_SOURCE
from mailwarden.contracts.routes import ROUTES, Route
from mailwarden.contracts.schedules import SCHEDULES
from mailwarden.contracts.tables import TABLES, TableSpec
from mailwarden.contracts.topics import (
    APPROVAL_DECISIONS,
    APPROVAL_REQUESTS,
    APPROVER_ATTRIBUTE,
    OPERATIONS_ALERTS,
    SUBSCRIPTIONS,
    TOPICS,
)
from mailwarden.contracts.workflows import WORKFLOWS, substitute
from mailwarden.policy import parse_policy

from . import synthesized
from .emulator import Emulator, sandbox
from .emulator.iam import Access
from .emulator.lambda_context import FakeLambdaContext
from .issuer import READ_SCOPE, WRITE_SCOPE, LocalIssuer
from .stack_iam import LocalResources, bind

BUS_NAME = "mailwarden-local"
DLQ_NAME = "mailwarden-local-dlq"
TAP_QUEUE = "mailwarden-local-tap"  # local only: sees everything Mailwarden publishes
PREFIX = "mailwarden-local"
API_BASE_URL = "https://approvals.mailwarden.local/prod/"
APPROVERS = ("ops-lead@example.com", "security@example.com")
APPROVAL_TIMEOUT_SECONDS = 72 * 3600
KILL_SWITCH = f"/{PREFIX}/kill-switch"
REPO_POLICY = Path(__file__).resolve().parent.parent / "policy" / "mailwarden.yaml"

Handler = Callable[[dict[str, Any], Any], Any]


def _iam_default() -> bool:
    """IAM by execution is on unless ``MAILWARDEN_LOCAL_IAM=off`` (it needs the synthesized stack)."""
    return os.environ.get("MAILWARDEN_LOCAL_IAM", "on").lower() not in ("off", "0", "false")


class InjectedCrash(RuntimeError):
    """A step that crashed after its side effects (``LocalDeployment.crash_after``)."""


@dataclass
class Delivery:
    function: str
    rule: str
    event: dict[str, Any]
    result: Any


@dataclass(frozen=True)
class AsyncFailure:
    """An asynchronous invocation that failed every attempt: Lambda sent it to the on-failure
    destination (the DLQ) with this error."""

    error_type: str
    error_message: str
    attempts: int


# Lambda retries a failed asynchronous invocation twice, about 1 and 2 minutes apart (the stack sets
# retry_attempts=2), then sends it to the function's on-failure destination, the DLQ.
ASYNC_RETRY_DELAYS = (60.0, 120.0)


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LocalDeployment:
    emu: Emulator
    approvers: tuple[str, ...] = APPROVERS
    approval_timeout_seconds: int = APPROVAL_TIMEOUT_SECONDS
    policy: str | None = None  # policy file text (YAML or JSON); None: the repository's policy file
    deliveries: list[Delivery] = field(default_factory=list)
    published: list[dict[str, Any]] = field(default_factory=list)
    sent: list[tuple[str, str]] = field(default_factory=list)  # (source, detail-type) put by put_event
    queues: dict[str, str] = field(default_factory=dict)  # rule id -> queue url
    tables: dict[str, str] = field(default_factory=dict)  # logical name -> table name
    topics: dict[str, str] = field(default_factory=dict)  # topic name -> ARN
    state_machines: dict[str, str] = field(default_factory=dict)  # workflow name -> ARN
    mail: list[dict[str, Any]] = field(default_factory=list)  # approval-request messages received
    crashes: dict[str, int] = field(default_factory=dict)  # workflow step -> crashes still to inject
    async_failures: list[dict[str, Any]] = field(default_factory=list)  # on-failure records sent to the DLQ
    gateway_latencies: list[float] = field(default_factory=list)  # virtual seconds of each API request
    invocations: list[sandbox.Invocation] = field(default_factory=list)  # every function invocation
    rule_arns: dict[str, str] = field(default_factory=dict)  # route rule id -> its rule's ARN
    rule_dead_letters: dict[str, str] = field(default_factory=dict)  # rule ARN -> DLQ ARN (synthesized)
    failing_deliveries: dict[str, list[str]] = field(default_factory=dict)  # rule id -> deliveries to fail
    dropped_deliveries: list[dict[str, Any]] = field(default_factory=list)  # dead letters AWS would drop
    deployed_policy: str = field(default="", init=False)  # the policy text deployed last (set_policy)
    iam: bool = field(default_factory=_iam_default)  # authorize every call as the synthesized stack's roles
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.events = self.emu.client("events")
        self.sqs = self.emu.client("sqs")
        self.bus_arn = self.events.create_event_bus(Name=BUS_NAME)["EventBusArn"]
        self.dlq_url = self.sqs.create_queue(QueueName=DLQ_NAME)["QueueUrl"]
        self.dlq_arn = f"arn:aws:sqs:{self.emu.region}:{self.emu.account}:{DLQ_NAME}"
        for route in ROUTES:
            self.queues[route.rule_id] = self._rule(route.rule_id, self.bus_name(route), route.pattern)
        self.tap_url = self._rule("LocalTap", BUS_NAME, {"source": [MAILWARDEN_SOURCE]})
        for table in TABLES:
            self.tables[table.name] = self._table(table)
        self._build_messaging()
        self._build_workflows()
        self.emu.client("ssm").put_parameter(Name=KILL_SWITCH, Value="off", Type="String")
        self._build_export_target()
        # the deployed policy and the issuer's JWKS; removed with the deployment (quietly: a
        # TemporaryDirectory left to the garbage collector warns, which the demo's output must not)
        policy_dir = Path(tempfile.mkdtemp(prefix="mailwarden-policy-"))
        weakref.finalize(self, shutil.rmtree, policy_dir, ignore_errors=True)
        self.policy_file = str(policy_dir / "policy.json")
        self.issuer = LocalIssuer(policy_dir)
        self.set_policy(self.policy if self.policy is not None else REPO_POLICY.read_text())

    def set_policy(self, text: str) -> None:
        """Deploy a policy file (validated and normalized, as the stack does); warm functions reload.
        As a redeploy would, it also installs the IAM of the stack synthesized with this policy."""
        Path(self.policy_file).write_text(parse_policy(text, "policy").normalized())
        self.deployed_policy = text
        from mailwarden import wiring

        wiring.reset()
        if self.iam:
            self.install_iam(synthesized.template(text))

    def set_approvers(self, approvers: tuple[str, ...]) -> None:
        """Redeploy with another ``mailwarden:approverEmails`` list: every function's ``APPROVERS``
        changes and warm functions are replaced (as a configuration update does)."""
        self.approvers = tuple(a.lower() for a in approvers)
        from mailwarden import wiring

        wiring.reset()

    @property
    def access(self) -> Access:
        """IAM by execution: ``denials``, ``remove_statement``, ``disabled()`` (local/emulator/iam)."""
        return self.emu.access

    def install_iam(self, template: dict[str, Any]) -> None:
        """Every function's and state machine's role policies from ``template``, resolved to this
        deployment's resources, and the resources' policies (local/stack_iam.py)."""
        local = LocalResources(
            region=self.emu.region,
            account=self.emu.account,
            tables=self.tables,
            topics=self.topics,
            dlq_url=self.dlq_url,
            bus_name=BUS_NAME,
            state_machines=self.state_machines,
            state_machine_roles={w.name: self.state_machine_role(w.name) for w in WORKFLOWS},
            functions={f.name: self.function_name(f.name) for f in FUNCTIONS},
            function_roles={f.name: self.function_role(f.name) for f in FUNCTIONS},
            kill_switch=KILL_SWITCH,
            secret_arn=self.secret_arn,
            keys={"Approvals/Key": self.approvals_key_arn, "MailboxExports/Key": self.export_key_arn},
            export_bucket=self.export_bucket,
            export_role_arn=self.export_role_arn,
            rules=self.rule_arns,
        )
        iam = bind(template, local)
        self.emu.access.install(iam.roles, iam.resource_policies, iam.key_policies, iam.keys, iam.encryption)
        self.rule_dead_letters = iam.dead_letters

    def outputs(self) -> dict[str, str]:
        """What the stack's CloudFormation outputs would say for this deployment (the CLI reads them)."""
        from mailwarden.contracts.outputs import (
            CLI_FUNCTIONS,
            Output,
            function_output,
            state_machine_output,
            table_output,
        )

        return {
            Output.EVENT_BUS: BUS_NAME,
            Output.KILL_SWITCH: KILL_SWITCH,
            Output.DLQ_URL: self.dlq_url,
            Output.ALERTS_TOPIC: self.topics[OPERATIONS_ALERTS.name],
            Output.APPROVAL_DECISIONS_TOPIC: self.topics[APPROVAL_DECISIONS.name],
            Output.APPROVAL_LINK_API: API_BASE_URL,
            **{table_output(t.name): name for t in TABLES for name in [self.tables[t.name]]},
            **{state_machine_output(w): arn for w, arn in self.state_machines.items()},
            **{function_output(f): self.function_name(f) for f in CLI_FUNCTIONS},
        }

    def kill_switch(self, engaged: bool) -> None:
        from mailwarden.aws.guard import SsmKillSwitch

        SsmKillSwitch(self.emu.client("ssm"), KILL_SWITCH, self.emu.clock).set(engaged)

    def tick(self, schedule: str = "reputation-reconcile") -> Any:
        """Fire an EventBridge Scheduler schedule: its target gets the input with the
        ``<aws.scheduler.*>`` placeholders filled in, as Scheduler does."""
        spec = next(s for s in SCHEDULES if s.name == schedule)
        text = json.dumps(spec.input)
        text = text.replace("<aws.scheduler.scheduled-time>", self.emu.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
        text = text.replace("<aws.scheduler.execution-id>", str(uuid.uuid4()))
        return self.invoke_async(spec.function, json.loads(text))

    # ------------------------------------------------------------------ resources

    def _table(self, spec: TableSpec) -> str:
        name = f"{PREFIX}-{spec.name}"
        ddb = self.emu.client("dynamodb")
        keys = [(spec.partition_key, "HASH")] + ([(spec.sort_key, "RANGE")] if spec.sort_key else [])
        attributes = {k for k, _ in keys} | {i.partition_key for i in spec.indexes}
        attributes |= {i.sort_key for i in spec.indexes if i.sort_key}
        indexes = [
            {
                "IndexName": i.name,
                "KeySchema": [{"AttributeName": i.partition_key, "KeyType": "HASH"}]
                + ([{"AttributeName": i.sort_key, "KeyType": "RANGE"}] if i.sort_key else []),
                "Projection": {"ProjectionType": "ALL"},
            }
            for i in spec.indexes
        ]
        extra = {"GlobalSecondaryIndexes": indexes} if indexes else {}
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": k, "KeyType": t} for k, t in keys],
            AttributeDefinitions=[
                {"AttributeName": a, "AttributeType": spec.attribute_type(a)} for a in sorted(attributes)
            ],
            BillingMode="PAY_PER_REQUEST",
            **extra,
        )
        if spec.ttl_attribute:
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
            )
        return name

    def _build_messaging(self) -> None:
        # The stack's approvals key encrypts the topics and the signing secret; here it only decides
        # IAM (who may use it), locally nothing is encrypted.
        kms = self.emu.client("kms")
        self.approvals_key_arn = kms.create_key(Description="approvals")["KeyMetadata"]["Arn"]
        sns = self.emu.client("sns")
        for topic in TOPICS:
            self.topics[topic.name] = sns.create_topic(Name=f"{PREFIX}-{topic.name}")["TopicArn"]
        # The approvers' "mailboxes": CDK subscribes each approver's email with a filter policy on the
        # approver attribute; locally one queue receives them all and inbox() filters the same way.
        self.mail_url = self._subscribe_queue(APPROVAL_REQUESTS.name, "approver-mail")
        self.alerts_url = self._subscribe_queue(OPERATIONS_ALERTS.name, "operations-alerts")
        self.subscription_queues = {
            sub.function: self._subscribe_queue(sub.topic.name, f"sub-{sub.function}") for sub in SUBSCRIPTIONS
        }
        self.secret_arn = self.emu.client("secretsmanager").create_secret(
            Name=f"{PREFIX}/approval-signing-key", SecretString=secrets.token_urlsafe(48)
        )["ARN"]

    def _subscribe_queue(self, topic: str, queue: str) -> str:
        url = self.sqs.create_queue(QueueName=f"{PREFIX}-{queue}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.emu.client("sns").subscribe(TopicArn=self.topics[topic], Protocol="sqs", Endpoint=arn)
        return str(url)

    def _build_export_target(self) -> None:
        """What the stack creates for mailbox exports: a KMS key, a bucket, a role WorkMail assumes."""
        self.export_bucket = f"{PREFIX}-mailbox-exports"
        self.emu.client("s3").create_bucket(Bucket=self.export_bucket)
        self.export_key_arn = self.emu.client("kms").create_key(Description="mailbox exports")["KeyMetadata"]["Arn"]
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "export.workmail.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = self.emu.client("iam").create_role(
            RoleName=f"{PREFIX}-mailbox-export", AssumeRolePolicyDocument=json.dumps(trust)
        )
        self.export_role_arn = role["Role"]["Arn"]

    def function_name(self, function: str) -> str:
        return f"{PREFIX}-{function}"

    def function_role(self, function: str) -> str:
        return f"arn:aws:iam::{self.emu.account}:role/{PREFIX}-fn-{function}"

    def state_machine_role(self, workflow: str) -> str:
        return f"arn:aws:iam::{self.emu.account}:role/{PREFIX}-{workflow}"

    def crash_after(self, step: str, times: int = 1) -> None:
        """The next ``times`` runs of workflow step ``step`` die after doing their work (before they
        return), as a Lambda killed mid-flight would: Step Functions sees an unhandled error."""
        self.crashes[step] = times

    def _runner(self, function: str) -> Callable[[Any], Any]:
        def run(event: Any) -> Any:
            result = self.invoke(function, event)
            step = event.get("step") if isinstance(event, dict) else None
            if step and self.crashes.get(step, 0) > 0:
                self.crashes[step] -= 1
                raise InjectedCrash(f"injected crash after step {step}")
            return result

        return run

    def _build_workflows(self) -> None:
        arns = {
            spec.name: self.emu.lambdas.register(self.function_name(spec.name), self._runner(spec.name))
            for spec in FUNCTIONS
        }
        sfn = self.emu.client("stepfunctions")
        for wf in WORKFLOWS:
            definition = substitute(wf.definition(self.approval_timeout_seconds), arns)
            self.state_machines[wf.name] = sfn.create_state_machine(
                name=f"{PREFIX}-{wf.name}",
                definition=definition,
                roleArn=self.state_machine_role(wf.name),
            )["stateMachineArn"]

    def bus_name(self, route: Route) -> str:
        return "default" if route.bus == DEFAULT_BUS else BUS_NAME

    def _rule(self, rule_id: str, bus: str, pattern: dict[str, Any]) -> str:
        url = self.sqs.create_queue(QueueName=f"rule-{rule_id}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule = self.events.put_rule(Name=rule_id, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")
        self.rule_arns[rule_id] = str(rule["RuleArn"])
        self.events.put_targets(Rule=rule_id, EventBusName=bus, Targets=[{"Id": "fn", "Arn": arn}])
        return str(url)

    # ------------------------------------------------------------------ functions

    def env_for(self, spec: FunctionSpec) -> dict[str, str]:
        values = {
            "EVENT_BUS_NAME": BUS_NAME,
            "DLQ_URL": self.dlq_url,
            "SIGNING_SECRET_ARN": self.secret_arn,
            "APPROVERS": ",".join(self.approvers),
            "APPROVAL_BASE_URL": API_BASE_URL,
            **{t.env: self.tables[t.name] for t in TABLES},
            **{t.env: self.topics[t.name] for t in TOPICS},
            "KILL_SWITCH_PARAMETER": KILL_SWITCH,
            "POLICY_FILE": self.policy_file,
            "REINSTATE_STATE_MACHINE_ARN": self.state_machines["reputation-reinstate"],
            "RECONCILE_STATE_MACHINE_ARN": self.state_machines["reputation-reconcile"],
            "SES_API_RATE": "1",
            "EXPORT_BUCKET": self.export_bucket,
            "EXPORT_KMS_KEY_ARN": self.export_key_arn,
            "EXPORT_ROLE_ARN": self.export_role_arn,
            "OFFBOARD_STATE_MACHINE_ARN": self.state_machines["workmail-offboard"],
            "DECOMMISSION_STATE_MACHINE_ARN": self.state_machines["workmail-decommission"],
            "EXIT_STATE_MACHINE_ARN": self.state_machines["workmail-exit"],
            "EXIT_ROLLBACK_STATE_MACHINE_ARN": self.state_machines["workmail-exit-rollback"],
            "PARTNER_WIDENING_STATE_MACHINE_ARN": self.state_machines["partner-widening"],
            "PARTNER_CENTRAL_REGION": self.emu.region,
            "JWT_ISSUER": self.issuer.issuer,
            "JWT_JWKS_URL": self.issuer.jwks_url,
            "JWT_AUDIENCE": "",
            "MAIL_FROM_READ_SCOPE": READ_SCOPE,
            "MAIL_FROM_WRITE_SCOPE": WRITE_SCOPE,
        }
        env = {k: values[k] for k in spec.env}
        env.update(
            POWERTOOLS_SERVICE_NAME="mailwarden",
            POWERTOOLS_METRICS_NAMESPACE="Mailwarden",
            POWERTOOLS_TRACE_DISABLED="true",
        )
        return env

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Invoke ``functions/<function>/handler.py`` as Lambda would, with its environment, in a
        sandbox stopped at the function's timeout (``sandbox.LambdaTimedOut``)."""
        return self._invoke(function, event)

    def _invoke(self, function: str, event: dict[str, Any], seen: list[sandbox.Invocation] | None = None) -> Any:
        """``seen`` receives the invocation (its timeline), whether it returns or raises."""
        spec = next(s for s in FUNCTIONS if s.name == function)
        request_id = f"req-{next(self._ids):06d}"
        # One handler at a time (Step Functions runs its tasks from its own threads): the
        # environment is process-wide here, while each Lambda has its own.
        with (
            self.emu.lambdas.state_lock,
            sandbox.invocation(self.emu.clock, function, spec.timeout_seconds, request_id) as inv,
        ):
            if seen is not None:
                seen.append(inv)
            self.invocations.append(inv)
            context = FakeLambdaContext(
                function_name=f"mailwarden-{function}",
                aws_request_id=request_id,
                timeout_seconds=spec.timeout_seconds,
                clock=self.emu.clock,
            )
            # One process runs every function: each one's variables are set before it runs and left
            # in place (a key's value is the same for every function). Removing them afterwards races
            # with Step Functions' threads, which read the environment while creating clients.
            os.environ.update(self.env_for(spec))
            with self._as(function):
                return self.handler(function)(event, context)

    @contextmanager
    def _as(self, function: str) -> Iterator[None]:
        """The function's calls are made with its role (authorized, when IAM is installed)."""
        if not self.iam:
            yield
            return
        with self.emu.acting_as(function):
            yield

    def invoke_async(self, function: str, event: dict[str, Any]) -> Any:
        """An asynchronous invocation (what EventBridge rules, Scheduler and SNS make): the result, or
        after the first attempt and both retries failed (an exception or the timeout), an
        :class:`AsyncFailure` once the failure record is in the on-failure destination (the DLQ)."""
        too_large = sandbox.payload_too_large(len(json.dumps(event)), asynchronous=True)
        if too_large:
            raise ValueError(f"Lambda refused the invocation of {function}: {too_large}")
        attempts = 1 + len(ASYNC_RETRY_DELAYS)
        error: dict[str, str] = {}
        for attempt in range(attempts):
            try:
                return self.invoke(function, event)
            except sandbox.LambdaTimedOut as stopped:
                error = {"errorType": sandbox.TIMEOUT_ERROR, "errorMessage": stopped.message}
            except Exception as exc:  # noqa: BLE001 -- a function error: Lambda retries it
                error = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
            if attempt < len(ASYNC_RETRY_DELAYS):
                self.emu.clock.sleep(ASYNC_RETRY_DELAYS[attempt])
        self._on_failure(function, event, error, attempts)
        return AsyncFailure(error["errorType"], error["errorMessage"], attempts)

    def _on_failure(self, function: str, event: dict[str, Any], error: dict[str, str], attempts: int) -> None:
        """The record Lambda sends to an SQS on-failure destination (``condition: RetriesExhausted``)."""
        record = {
            "version": "1.0",
            "timestamp": self.emu.clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{self.emu.region}:{self.emu.account}:function:"
                f"{self.function_name(function)}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": error,
        }
        self.sqs.send_message(QueueUrl=self.dlq_url, MessageBody=json.dumps(record))
        self.async_failures.append(record)

    @staticmethod
    def handler(function: str) -> Handler:
        return importlib.import_module(f"functions.{function}.handler").handler  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ routing

    def _drain(self, url: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self._holds_nothing(url):
            return out
        while True:
            msgs = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def _holds_nothing(self, url: str) -> bool:
        """The queue holds no message at all (none visible, in flight or delayed): what the local router
        (EventBridge's and SNS's deliveries to their targets) sees without a ReceiveMessage per queue per
        round: ~3 ms each, a dozen queues per ``deliver()``. A queue with anything in it is received as before."""
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[self.emu.account][self.emu.region].queues.get(url.rsplit("/", 1)[-1])
        return queue is not None and not queue._messages

    def deliver(self, max_rounds: int = 10) -> list[Delivery]:
        """Run every handler whose rule matched an event, until no rule has anything pending."""
        delivered: list[Delivery] = []
        for _ in range(max_rounds):
            round_: list[Delivery] = []
            for route in ROUTES:
                for event in self._drain(self.queues[route.rule_id]):
                    # moto's SQS target omits the envelope's "account"; EventBridge always sets it.
                    event.setdefault("account", self.emu.account)
                    if self.failing_deliveries.get(route.rule_id):
                        self.failing_deliveries[route.rule_id].pop(0)
                        result = self._delivery_failed(route, event)
                        round_.append(Delivery(route.function, route.rule_id, event, result))
                        continue
                    result = self.invoke_async(route.function, event)
                    round_.append(Delivery(route.function, route.rule_id, event, result))
            for function, url in self.subscription_queues.items():
                for envelope in self._drain(url):
                    event = sns_lambda_event(envelope)
                    round_.append(Delivery(function, envelope["TopicArn"], event, self.invoke_async(function, event)))
            self.published.extend(self._drain(self.tap_url))
            if not round_:
                break
            delivered.extend(round_)
        self.deliveries.extend(delivered)
        return delivered

    def fail_deliveries(self, rule_id: str, times: int = 1, code: str = "Lambda.TooManyRequestsException") -> None:
        """EventBridge cannot deliver the next ``times`` events of rule ``rule_id`` to its function (the
        function throttled for the whole 24 h retry window, deleted, or its permission removed): it
        sends each to the target's dead-letter queue, if its principal may write to that queue."""
        self.failing_deliveries.setdefault(rule_id, []).extend([code] * times)

    def _delivery_failed(self, route: Route, event: dict[str, Any]) -> dict[str, Any]:
        """What EventBridge does with an event it could not deliver: into the target's dead-letter queue
        (the synthesized rule's DeadLetterConfig) with the reason as message attributes, or, when
        ``events.amazonaws.com`` may not write there (the queue policy, or a key it cannot use), dropped."""
        rule_arn = self.rule_arns[route.rule_id]
        dlq = self.rule_dead_letters.get(rule_arn, self.dlq_arn if not self.iam else None)
        if dlq is None:
            decision_reason = "the rule's target has no dead-letter queue"
        elif self.iam:
            decision = self.emu.access.service_delivery("events.amazonaws.com", dlq, rule_arn)
            decision_reason = "" if decision.allowed else decision.reason
        else:
            decision_reason = ""
        if decision_reason:
            self.dropped_deliveries.append({"rule": route.rule_id, "event": event.get("id"), "reason": decision_reason})
            self.emu.dispatcher.count("eventbridge.Delivery:dropped")
            return {"status": "dropped", "reason": decision_reason}
        assert dlq is not None
        attributes = {
            "RULE_ARN": rule_arn,
            "TARGET_ARN": f"arn:aws:lambda:{self.emu.region}:{self.emu.account}:function:"
            f"{self.function_name(route.function)}",
            "ERROR_CODE": "RETRY_ATTEMPTS_EXHAUSTED",
            "ERROR_MESSAGE": "Retry attempts exhausted: the function could not be invoked",
        }
        self.sqs.send_message(
            QueueUrl=self._queue_url(dlq),
            MessageBody=json.dumps(event),
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
        return {"status": "dead-lettered", "queue": dlq}

    def _queue_url(self, arn: str) -> str:
        *_, account, name = arn.split(":")
        return str(self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])

    def alerts(self) -> list[dict[str, Any]]:
        """Messages published to the operations-alert topic since the last call (SNS envelopes)."""
        return self._drain(self.alerts_url)

    def events_of(self, detail_type: str) -> list[dict[str, Any]]:
        """Details of the events Mailwarden emitted with ``detail_type`` (everything delivered so far)."""
        self.published.extend(self._drain(self.tap_url))
        return [e["detail"] for e in self.published if e.get("detail-type") == detail_type]

    def dead_letters(self) -> list[dict[str, Any]]:
        return self._drain(self.dlq_url)

    def put_event(
        self,
        source: str,
        detail_type: str,
        detail: dict[str, Any],
        *,
        resources: list[str] | None = None,
        bus: str = "default",
    ) -> str:
        out = self.events.put_events(
            Entries=[
                {
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                    "Resources": resources or [],
                    "EventBusName": bus,
                }
            ]
        )
        if out["FailedEntryCount"]:
            raise RuntimeError(out["Entries"])
        self.sent.append((source, detail_type))
        return str(out["Entries"][0]["EventId"])

    def request(self, source: str, detail_type: str, detail: dict[str, Any], function: str) -> list[Any]:
        """Put a request on the Mailwarden bus, deliver it; what ``function`` returned."""
        self.put_event(source, detail_type, detail, bus=BUS_NAME)
        return [d.result for d in self.deliver() if d.function == function]

    # ------------------------------------------------------------------ approvals

    def approve_by_link(self, arn: str, approver: str | None = None, timeout: float = 60.0) -> int:
        """Once execution ``arn`` waits for a decision: ``approver`` (default: the first) opens the
        mailed link and presses Approve on its page (the POST). Returns the HTTP status."""
        return self.decide_by_link(arn, "approve", approver, timeout)

    def decide_by_link(self, arn: str, decision: str, approver: str | None = None, timeout: float = 60.0) -> int:
        """``approve_by_link`` for either decision (``approve`` | ``reject``)."""
        approver = approver or self.approvers[0]
        mails = self.wait_until(
            lambda: [m for m in self.inbox(approver) if m["executionArn"] == arn], "the approval mail", timeout
        )
        self.wait_until(lambda: self.waiting(arn), "the workflow to wait for a decision", timeout)
        parts = urlsplit(mails[-1]["links"][decision])
        return self.http("POST", f"{parts.scheme}://{parts.netloc}{parts.path}", dict(parse_qsl(parts.query))).status

    def inbox(self, approver: str) -> list[dict[str, Any]]:
        """Approval-request messages delivered to ``approver`` (the JSON form; ``text`` is the email)."""
        for envelope in self._drain(self.mail_url):
            self.mail.append(envelope)
        out = []
        for envelope in self.mail:
            attrs = envelope.get("MessageAttributes", {})
            if attrs.get(APPROVER_ATTRIBUTE, {}).get("Value") == approver.lower():
                out.append({**json.loads(envelope["Message"]), "subject": envelope.get("Subject")})
        return out

    def publish_decision(self, message: dict[str, Any]) -> None:
        """What a ChatOps bot does: publish a signed decision to the approval-decisions topic."""
        self.emu.client("sns").publish(TopicArn=self.topics[APPROVAL_DECISIONS.name], Message=json.dumps(message))

    def http(
        self,
        method: str,
        url: str,
        form: dict[str, str] | None = None,
        *,
        json_body: Any = None,
        source_ip: str = "198.51.100.7",
        user_agent: str = "Mozilla/5.0",
    ) -> HttpResponse:
        """A request to the approval API, as API Gateway would hand it to the callback function."""
        parts = urlsplit(url)
        stage_prefix = urlsplit(API_BASE_URL).path.rstrip("/")
        path = parts.path[len(stage_prefix) :] if parts.path.startswith(stage_prefix) else parts.path
        headers = {"Host": parts.netloc, "User-Agent": user_agent}
        body = None
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(form)
        elif json_body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(json_body)
        segments = path.strip("/").split("/")
        event = rest_event(
            method,
            path,
            "/approvals/{id}",
            {"id": segments[-1]} if len(segments) == 2 else None,
            headers,
            body,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)) or None,
            source_ip=source_ip,
            account=self.emu.account,
        )
        return self._gateway(
            "approval_callback", event, timeout_body=DEFAULT_TIMEOUT_BODY, fault_body=DEFAULT_FAULT_BODY
        )

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = "issue",
        scopes: tuple[str, ...] = (WRITE_SCOPE,),
        raw_body: str | None = None,
        headers: dict[str, str | None] | None = None,
    ) -> HttpResponse:
        """A request to the MAIL FROM API through API Gateway (REST, Lambda proxy). ``token="issue"``
        signs a fresh access token with ``scopes``; None sends no Authorization header. ``headers``
        replace the defaults (a None value: that header is not sent, e.g. ``{"Content-Type": None}``)."""
        sent = {"Host": "api.mailwarden.local", "User-Agent": "curl/8.5.0", "Content-Type": "application/json"}
        for name, value in (headers or {}).items():
            sent = {k: v for k, v in sent.items() if k.lower() != name.lower()}
            if value is not None:
                sent[name] = value
        if token == "issue":
            token = self.issuer.token(scopes, now=self.emu.clock.time())
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        resource, params = "/mail-from-attributes", None
        if path.rstrip("/") != resource:
            resource, params = "/mail-from-attributes/{identity}", {"identity": unquote(path.rsplit("/", 1)[-1])}
        text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
        event = rest_event(method, path, resource, params, sent, text, account=self.emu.account)
        fault = mail_from_fault()
        return self._gateway("mail_from_api", event, timeout_body=fault, fault_body=fault)

    def _gateway(
        self, function: str, event: dict[str, Any], *, timeout_body: dict[str, Any], fault_body: dict[str, Any]
    ) -> HttpResponse:
        """A REST API's Lambda proxy integration, as API Gateway runs it: the function's answer, or
        504 when it took longer than the integration timeout (the function goes on, and what it
        wrote stays written), or 502 for a function error; those two with the API's DEFAULT_5XX
        gateway response (``$context.requestId`` filled in)."""
        request_id = event["requestContext"]["requestId"]
        seen: list[sandbox.Invocation] = []
        try:
            out = self._invoke(function, event, seen)
        except (Exception, sandbox.LambdaTimedOut):  # noqa: BLE001 -- a function error, or its own timeout
            out = None
        took = seen[0].seconds
        self.gateway_latencies.append(took)
        if took * 1000 > INTEGRATION_TIMEOUT_MS:
            status, body = 504, timeout_body  # the caller stopped waiting; the function went on
        elif out is None:
            status, body = 502, fault_body
        else:
            return _response(out)
        text = json.dumps(body).replace("$context.requestId", request_id)
        return HttpResponse(status, {"Content-Type": "application/json", "x-amzn-RequestId": request_id}, text)

    # ------------------------------------------------------------------ workflows

    def start(self, workflow: str, payload: dict[str, Any], name: str | None = None) -> str:
        sfn = self.emu.client("stepfunctions")
        return str(
            sfn.start_execution(
                stateMachineArn=self.state_machines[workflow],
                name=name or f"{workflow}-{next(self._ids):04d}",
                input=json.dumps(payload),
            )["executionArn"]
        )

    def install_synthesized(self, template: dict[str, Any]) -> list[str]:
        """Replace each workflow's definition with the one in a synthesized CloudFormation template
        (its ``DefinitionString`` with ``DefinitionSubstitutions`` resolved to the local functions),
        so what runs here is byte for byte what CDK deploys. Returns the workflows replaced."""
        resources = template["Resources"]
        sfn = self.emu.client("stepfunctions")
        replaced = []
        for resource in resources.values():
            if resource["Type"] != "AWS::StepFunctions::StateMachine":
                continue
            props = resource["Properties"]
            workflow = next(w for w in self.state_machines if props["StateMachineName"].endswith(f"-{w}"))
            definition = props["DefinitionString"]
            for key, value in props.get("DefinitionSubstitutions", {}).items():
                logical_id = value["Fn::GetAtt"][0]
                deployed_name = resources[logical_id]["Properties"]["FunctionName"]
                function = next(f.name for f in FUNCTIONS if deployed_name.endswith(f.name.replace("_", "-")))
                arn = f"arn:aws:lambda:{self.emu.region}:{self.emu.account}:function:{self.function_name(function)}"
                definition = definition.replace("${" + key + "}", arn)
            sfn.update_state_machine(stateMachineArn=self.state_machines[workflow], definition=definition)
            replaced.append(workflow)
        return replaced

    def execution(self, arn: str) -> dict[str, Any]:
        return dict(self.emu.client("stepfunctions").describe_execution(executionArn=arn))

    def wait_until(self, condition: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
        """``Emulator.wait_until``: until ``condition()`` is truthy, looked at again on progress."""
        return self.emu.wait_until(condition, what, timeout)

    def waiting(self, arn: str) -> bool:
        """The execution's approval task has been invoked and returned: it now waits for its token
        (mail goes out while the invocation is still running)."""
        return any(
            i["done"] and i["event"].get("kind") == "request" and i["event"].get("executionArn") == arn
            for i in self.emu.lambdas.invocations
        )

    def finished(self, arn: str, timeout: float = 15.0) -> dict[str, Any]:
        return dict(
            self.wait_until(
                lambda: (d := self.execution(arn))["status"] != "RUNNING" and d, f"execution {arn} to finish", timeout
            )
        )


def rest_event(
    method: str,
    path: str,
    resource: str,
    path_parameters: dict[str, str] | None,
    headers: dict[str, str],
    body: str | None,
    *,
    query: dict[str, str] | None = None,
    source_ip: str = "198.51.100.7",
    account: str = "123456789012",
) -> dict[str, Any]:
    """An API Gateway REST API (v1) Lambda proxy event."""
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "accountId": account,
            "apiId": "local",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent", "")},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def _response(out: dict[str, Any]) -> HttpResponse:
    # REST APIs accept both forms; Powertools answers with multiValueHeaders.
    headers = {k: v[-1] for k, v in (out.get("multiValueHeaders") or {}).items() if v}
    headers.update(out.get("headers") or {})
    return HttpResponse(out["statusCode"], headers, out.get("body") or "")


def sns_lambda_event(envelope: dict[str, Any]) -> dict[str, Any]:
    """The SNS notification an SQS subscription received, as SNS hands it to a Lambda."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{envelope['TopicArn']}:local",
                "Sns": {
                    "Type": envelope.get("Type", "Notification"),
                    "MessageId": envelope["MessageId"],
                    "TopicArn": envelope["TopicArn"],
                    "Subject": envelope.get("Subject"),
                    "Message": envelope["Message"],
                    "Timestamp": envelope.get("Timestamp"),
                    "MessageAttributes": envelope.get("MessageAttributes", {}),
                },
            }
        ]
    }
