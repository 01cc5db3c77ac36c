"""Composition root: the one place where concrete adapters are chosen for each use case.

Built lazily on the first invocation and reused while the Lambda is warm; ``reset()`` drops
everything (tests and the emulator call it between runs).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from .aws import clients
from .clock import Clock, default_clock

# A function's dependencies are NamedTuples (immutable like a frozen dataclass, a tenth of its import cost).
# Each factory imports what its function uses, inside it: a function's cold start loads its own
# capability and adapters, never the others' (tests/unit/test_cold_imports.py checks this).
if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

    from .api.auth import JwtVerifier
    from .approvals.service import Approvals
    from .aws.dlq import DeadLetters
    from .aws.events import EventPublisher
    from .aws.report import ChangeReporter
    from .aws.stepfunctions import ReconcileRuns
    from .health import HealthCensus
    from .mailfrom.service import MailFromService
    from .mailfrom.watcher import Watcher
    from .partner.service import PartnerConnections
    from .reputation.guard import EventGuard, Guard, Reconciler, Reinstater
    from .reputation.signals import ObserveSignal
    from .settings import ApprovalSettings, GuardSettings, MailFromSettings, WorkmailSettings
    from .workmail.exit import OrganizationExit
    from .workmail.offboarding import Offboarding
    from .workmail.trigger import WorkmailTrigger

IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600  # EventBridge retries for 24 h; keep ids well beyond that

T = TypeVar("T")
_BUILT: list[Any] = []  # every function's cached dependencies, for reset()


def _deps(factory: Callable[[], T]) -> Callable[[], T]:
    """One function's dependencies: built on first use, kept while warm, forgotten by ``reset``."""
    cached = cache(factory)
    _BUILT.append(cached)
    return cached


def _dead_letters(queue_url: str, function: str) -> DeadLetters:
    from .aws.dlq import DeadLetters

    return DeadLetters(clients.client("sqs"), queue_url, function)


class GuardDeps(NamedTuple):
    guard: Guard
    dead_letters: DeadLetters
    settings: GuardSettings


def _guard(function: str) -> GuardDeps:
    from .aws.audit import DynamoAuditTrail
    from .aws.events import EventPublisher
    from .aws.guard import DynamoGuardStore, GuardReporter, ReinstateWorkflow, SsmKillSwitch
    from .aws.ses import SesReputation
    from .policy import load_policy
    from .reputation.guard import Guard
    from .settings import GuardSettings

    settings = GuardSettings.from_env()
    clock = default_clock()
    dynamodb = clients.client("dynamodb")
    events = EventPublisher(clients.client("events"), settings.event_bus_name)
    guard = Guard(
        policy=load_policy(settings.policy_file).reputation,
        api=SesReputation(clients.client("sesv2")),
        store=DynamoGuardStore(dynamodb, settings.guard_table, clock),
        switch=SsmKillSwitch(clients.client("ssm"), settings.kill_switch_parameter, clock),
        starter=ReinstateWorkflow(clients.client("stepfunctions"), settings.reinstate_state_machine_arn),
        reporter=GuardReporter(DynamoAuditTrail(dynamodb, settings.audit_table, clock), events),
        clock=clock,
    )
    return GuardDeps(guard, _dead_letters(settings.dlq_url, function), settings)


class SesEventsDeps(NamedTuple):
    observe: ObserveSignal
    react: EventGuard
    dead_letters: DeadLetters
    idempotency: DynamoDBPersistenceLayer
    idempotency_config: IdempotencyConfig


@_deps
def ses_events() -> SesEventsDeps:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

    from .aws.events import EventPublisher
    from .reputation.guard import EventGuard
    from .reputation.signals import ObserveSignal

    deps = _guard("ses_events")
    settings = deps.settings
    publisher = EventPublisher(clients.client("events"), settings.event_bus_name)
    return SesEventsDeps(
        observe=ObserveSignal(deps.guard.api, publisher, deps.guard.clock),
        react=EventGuard(deps.guard),
        dead_letters=deps.dead_letters,
        idempotency=DynamoDBPersistenceLayer(
            table_name=settings.idempotency_table, boto3_client=clients.client("dynamodb")
        ),
        idempotency_config=IdempotencyConfig(
            event_key_jmespath="id", expires_after_seconds=IDEMPOTENCY_TTL_SECONDS, raise_on_no_idempotency_key=True
        ),
    )


class ReconcileDeps(NamedTuple):
    reconciler: Reconciler
    reinstater: Reinstater


@_deps
def reputation_reconcile() -> ReconcileDeps:
    from .reputation.guard import Reconciler, Reinstater

    deps = _guard("reputation_reconcile")
    return ReconcileDeps(Reconciler(deps.guard), Reinstater(deps.guard))


class TriggerDeps(NamedTuple):
    runs: ReconcileRuns
    events: EventPublisher
    dead_letters: DeadLetters


@_deps
def reputation_trigger() -> TriggerDeps:
    from .aws.events import EventPublisher
    from .aws.stepfunctions import ReconcileRuns
    from .settings import TriggerSettings

    settings = TriggerSettings.from_env()
    return TriggerDeps(
        ReconcileRuns(clients.client("stepfunctions"), settings.reconcile_state_machine_arn),
        EventPublisher(clients.client("events"), settings.event_bus_name),
        _dead_letters(settings.dlq_url, "reputation_trigger"),
    )


class ApprovalDeps(NamedTuple):
    approvals: Approvals
    dead_letters: DeadLetters
    settings: ApprovalSettings


def _approvals(function: str, *, notify: bool, resume: bool) -> ApprovalDeps:
    from .approvals.service import Approvals
    from .aws.approvals import DynamoApprovalStore
    from .aws.audit import DynamoAuditTrail
    from .aws.events import EventPublisher
    from .aws.notify import SnsApprovalNotifier
    from .aws.secrets import SigningKeys
    from .aws.stepfunctions import StepFunctionsResumer
    from .settings import ApprovalSettings

    settings = ApprovalSettings.from_env()
    clock = default_clock()
    dynamodb = clients.client("dynamodb")
    audit = DynamoAuditTrail(dynamodb, settings.audit_table, clock)
    approvals = Approvals(
        store=DynamoApprovalStore(dynamodb, settings.approvals_table, audit),
        audit=audit,
        events=EventPublisher(clients.client("events"), settings.event_bus_name),
        clock=clock,
        signer=SigningKeys(clients.client("secretsmanager"), settings.signing_secret_arn, clock),
        approvers=settings.approvers,
        notifier=SnsApprovalNotifier(clients.client("sns"), settings.requests_topic_arn) if notify else None,
        resumer=StepFunctionsResumer(clients.client("stepfunctions")) if resume else None,
        base_url=settings.base_url,
    )
    return ApprovalDeps(approvals, _dead_letters(settings.dlq_url, function), settings)


@_deps
def approval_request() -> ApprovalDeps:
    return _approvals("approval_request", notify=True, resume=False)


@_deps
def approval_callback() -> ApprovalDeps:
    return _approvals("approval_callback", notify=False, resume=True)


class OffboardDeps(NamedTuple):
    offboarding: Offboarding
    settings: WorkmailSettings


def _offboarding(settings: WorkmailSettings, *, documents: bool = False) -> Offboarding:
    """``documents``: the workflow steps keep decommission plans and reports in the export bucket."""
    from .aws.audit import DynamoAuditTrail
    from .aws.documents import S3Documents
    from .aws.events import EventPublisher
    from .aws.workmail import DynamoOffboardingStore, WorkMailDirectory
    from .policy import load_policy
    from .workmail.offboarding import Offboarding

    clock = default_clock()
    dynamodb = clients.client("dynamodb")
    return Offboarding(
        directory=WorkMailDirectory(clients.client("workmail")),
        store=DynamoOffboardingStore(dynamodb, settings.offboarding_table, clock),
        audit=DynamoAuditTrail(dynamodb, settings.audit_table, clock),
        events=EventPublisher(clients.client("events"), settings.event_bus_name),
        policy=load_policy(settings.policy_file).workmail,
        export_target={
            "bucket": settings.export_bucket,
            "key": settings.export_kms_key_arn,
            "role": settings.export_role_arn,
            "prefix": "mailbox-exports",
        },
        clock=clock,
        documents=S3Documents(clients.client("s3"), settings.export_bucket) if documents else None,
    )


@_deps
def workmail_offboard() -> OffboardDeps:
    from .settings import WorkmailSettings

    settings = WorkmailSettings.from_env()
    return OffboardDeps(_offboarding(settings, documents=True), settings)


class ExitDeps(NamedTuple):
    exit: OrganizationExit
    settings: WorkmailSettings


def _exit(settings: WorkmailSettings) -> OrganizationExit:
    from .aws.audit import DynamoAuditTrail
    from .aws.documents import S3Documents, S3Objects
    from .aws.events import EventPublisher
    from .aws.exit import DynamoExitStore, StepFunctionsExecutions
    from .aws.killswitch import SsmKillSwitch
    from .aws.mailfrom import Route53Dns
    from .aws.workmail import WorkMailDirectory
    from .policy import load_policy
    from .workmail.exit import OrganizationExit
    from .workmail.ports import ExitDirectory

    offboarding = _offboarding(settings, documents=True)
    policy = load_policy(settings.policy_file)
    clock = offboarding.clock
    directory: ExitDirectory = WorkMailDirectory(clients.client("workmail"))
    s3 = clients.client("s3")
    documents = S3Documents(s3, settings.export_bucket)
    dynamodb = clients.client("dynamodb")
    return OrganizationExit(
        offboarding=offboarding,
        directory=directory,
        store=DynamoExitStore(dynamodb, settings.offboarding_table, clock),
        documents=documents,
        text=documents,
        objects=S3Objects(s3),
        dns=Route53Dns(clients.client("route53"), policy.mail_from),
        executions=StepFunctionsExecutions(clients.client("stepfunctions")),
        audit=DynamoAuditTrail(dynamodb, settings.audit_table, clock),
        events=EventPublisher(clients.client("events"), settings.event_bus_name),
        policy=policy.workmail,
        export_target=offboarding.target,
        clock=clock,
        switch=SsmKillSwitch(clients.client("ssm"), settings.kill_switch_parameter, clock, ttl=0),
    )


@_deps
def workmail_exit() -> ExitDeps:
    from .settings import WorkmailSettings

    settings = WorkmailSettings.from_env()
    return ExitDeps(_exit(settings), settings)


class WorkmailTriggerDeps(NamedTuple):
    trigger: WorkmailTrigger
    dead_letters: DeadLetters


@_deps
def workmail_trigger() -> WorkmailTriggerDeps:
    from .aws.exit import DynamoExitStore
    from .aws.killswitch import SsmKillSwitch
    from .aws.stepfunctions import NamedWorkflows
    from .settings import WorkmailSettings
    from .workmail.trigger import WorkmailTrigger

    s = WorkmailSettings.from_env()
    arns = {
        "offboard": s.offboard_state_machine_arn,
        "decommission": s.decommission_state_machine_arn,
        "exit": s.exit_state_machine_arn,
        "exit-rollback": s.exit_rollback_state_machine_arn,
    }
    switch = SsmKillSwitch(clients.client("ssm"), s.kill_switch_parameter, default_clock())
    return WorkmailTriggerDeps(
        WorkmailTrigger(
            _offboarding(s),
            NamedWorkflows(clients.client("stepfunctions"), arns),
            switch,
            DynamoExitStore(clients.client("dynamodb"), s.offboarding_table, default_clock()),
        ),
        _dead_letters(s.dlq_url, "workmail_trigger"),
    )


def _reporter(
    audit_table: str,
    bus: str,
    alerts_topic_arn: str,
    clock: Clock,
    *,
    kind: str,
    key: str,
    interactive: bool = False,
) -> ChangeReporter:
    """Audit trail + Mailwarden bus + (when configured) the operations alert topic; ``interactive``:
    with the short retry budget (a caller waits for the answer)."""
    from .aws.audit import DynamoAuditTrail
    from .aws.events import EventPublisher
    from .aws.report import ChangeReporter

    return ChangeReporter(
        DynamoAuditTrail(clients.client("dynamodb", interactive=interactive), audit_table, clock),
        EventPublisher(clients.client("events", interactive=interactive), bus),
        clients.client("sns") if alerts_topic_arn else None,
        alerts_topic_arn,
        kind=kind,
        key=key,
    )


def _mail_from(s: MailFromSettings, *, interactive: bool) -> MailFromService:
    """``interactive``: for the API (a caller waits behind API Gateway's timeout), short SDK retries."""
    from .aws.mailfrom import DynamoMailFromStore, Route53Dns, SesMailFrom
    from .mailfrom.service import MailFromService
    from .policy import load_policy

    clock = default_clock()
    policy = load_policy(s.policy_file).mail_from
    dynamodb = clients.client("dynamodb", interactive=interactive)
    reporter = _reporter(
        s.audit_table,
        s.event_bus_name,
        s.alerts_topic_arn,
        clock,
        kind="mail-from",
        key="identity",
        interactive=interactive,
    )
    return MailFromService(
        ses=SesMailFrom(clients.client("sesv2", interactive=interactive)),
        dns=Route53Dns(clients.client("route53", interactive=interactive), policy),
        store=DynamoMailFromStore(dynamodb, s.mail_from_table),
        reporter=reporter,
        policy=policy,
        clock=clock,
    )


class MailFromApiDeps(NamedTuple):
    service: MailFromService
    verifier: JwtVerifier
    settings: MailFromSettings

    def scopes_for(self, method: str) -> tuple[str, ...]:
        """PUT needs the write scope; GET accepts the read or the write scope."""
        s = self.settings
        return (s.write_scope,) if method.upper() != "GET" else (s.read_scope, s.write_scope)


@_deps
def mail_from_api() -> MailFromApiDeps:
    from .api.auth import JwtVerifier
    from .settings import MailFromSettings

    s = MailFromSettings.from_env()
    verifier = JwtVerifier(s.jwt_issuer, s.jwt_jwks_url, s.jwt_audience)
    return MailFromApiDeps(_mail_from(s, interactive=True), verifier, s)


class MailFromWatchDeps(NamedTuple):
    watcher: Watcher
    dead_letters: DeadLetters


@_deps
def mail_from_watch() -> MailFromWatchDeps:
    from .mailfrom.watcher import Watcher
    from .settings import MailFromSettings

    s = MailFromSettings.from_env()
    return MailFromWatchDeps(Watcher(_mail_from(s, interactive=False)), _dead_letters(s.dlq_url, "mail_from_watch"))


class PartnerDeps(NamedTuple):
    service: PartnerConnections
    dead_letters: DeadLetters


@_deps
def partner_connections() -> PartnerDeps:
    from .aws.killswitch import SsmKillSwitch
    from .aws.partner import DynamoWideningStore, PartnerCentralPreferences, WideningWorkflow
    from .partner.service import PartnerConnections
    from .policy import load_policy
    from .settings import PartnerSettings

    s = PartnerSettings.from_env()
    clock = default_clock()
    dynamodb = clients.client("dynamodb")
    reporter = _reporter(s.audit_table, s.event_bus_name, s.alerts_topic_arn, clock, kind="partner", key="catalog")
    service = PartnerConnections(
        api=PartnerCentralPreferences(clients.client("partnercentral-account", s.region)),
        store=DynamoWideningStore(dynamodb, s.guard_table, clock),
        switch=SsmKillSwitch(clients.client("ssm"), s.kill_switch_parameter, clock),
        workflows=WideningWorkflow(clients.client("stepfunctions"), s.widening_state_machine_arn),
        reporter=reporter,
        policy=load_policy(s.policy_file).partner,
        clock=clock,
    )
    return PartnerDeps(service, _dead_letters(s.dlq_url, "partner_connections"))


class HealthDeps(NamedTuple):
    census: HealthCensus
    dead_letters: DeadLetters


@_deps
def health_metrics() -> HealthDeps:
    from .aws.approvals import DynamoApprovalStore
    from .aws.killswitch import SsmKillSwitch
    from .aws.mailfrom import DynamoMailFromStore
    from .health import HealthCensus
    from .settings import HealthSettings

    s = HealthSettings.from_env()
    clock = default_clock()
    dynamodb = clients.client("dynamodb")
    census = HealthCensus(
        approvals=DynamoApprovalStore(dynamodb, s.approvals_table),
        mail_from=DynamoMailFromStore(dynamodb, s.mail_from_table),
        switch=SsmKillSwitch(clients.client("ssm"), s.kill_switch_parameter, clock, ttl=0),
        clock=clock,
    )
    return HealthDeps(census, _dead_letters(s.dlq_url, "health_metrics"))


def reset() -> None:
    """Forget every function's dependencies and every client (with its rate limiter)."""
    for cached in _BUILT:
        cached.cache_clear()
    clients.clear()
