"""Composition root: the one place where concrete adapters are chosen for each use case.

Built lazily on the first invocation and reused while the Lambda is warm; ``reset()`` drops
everything (tests and the emulator call it between runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .approvals.service import Approvals
from .aws import clients
from .aws.approvals import DynamoApprovalStore
from .aws.audit import DynamoAuditTrail
from .aws.dlq import DeadLetters
from .aws.events import EventPublisher
from .aws.notify import SnsApprovalNotifier
from .aws.secrets import SigningKeys
from .aws.ses import SesReputation
from .aws.stepfunctions import StepFunctionsResumer
from .clock import default_clock
from .reputation.signals import ObserveSignal
from .settings import ApprovalSettings, Settings


@dataclass(frozen=True)
class SesEventsDeps:
    observe: ObserveSignal
    dead_letters: DeadLetters


@cache
def ses_events() -> SesEventsDeps:
    settings = Settings.from_env()
    publisher = EventPublisher(clients.client("events"), settings.event_bus_name)
    return SesEventsDeps(
        observe=ObserveSignal(SesReputation(clients.client("sesv2")), publisher, default_clock()),
        dead_letters=DeadLetters(clients.client("sqs"), settings.dlq_url, "ses_events"),
    )


@dataclass(frozen=True)
class ApprovalDeps:
    approvals: Approvals
    dead_letters: DeadLetters
    settings: ApprovalSettings


def _approvals(function: str, *, notify: bool, resume: bool) -> ApprovalDeps:
    settings = ApprovalSettings.from_env()
    clock = default_clock()
    dynamodb = clients.client("dynamodb")
    approvals = Approvals(
        store=DynamoApprovalStore(dynamodb, settings.approvals_table),
        audit=DynamoAuditTrail(dynamodb, settings.audit_table, clock),
        events=EventPublisher(clients.client("events"), settings.event_bus_name),
        clock=clock,
        signer=SigningKeys(clients.client("secretsmanager"), settings.signing_secret_arn, clock),
        approvers=settings.approvers,
        notifier=SnsApprovalNotifier(clients.client("sns"), settings.requests_topic_arn) if notify else None,
        resumer=StepFunctionsResumer(clients.client("stepfunctions")) if resume else None,
        base_url=settings.base_url,
    )
    return ApprovalDeps(approvals, DeadLetters(clients.client("sqs"), settings.dlq_url, function), settings)


@cache
def approval_request() -> ApprovalDeps:
    return _approvals("approval_request", notify=True, resume=False)


@cache
def approval_callback() -> ApprovalDeps:
    return _approvals("approval_callback", notify=False, resume=True)


def reset() -> None:
    ses_events.cache_clear()
    approval_request.cache_clear()
    approval_callback.cache_clear()
    clients.clear()
