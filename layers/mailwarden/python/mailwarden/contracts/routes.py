"""Which events reach which function: the one definition that CDK synthesizes into EventBridge
rules and that ``local.router`` installs into moto's EventBridge, so local routing is exactly
what AWS would do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .names import (
    DEFAULT_BUS,
    IDENTITY_SOURCE,
    MAILWARDEN_BUS,
    OPERATOR_SOURCE,
    SES_SOURCE,
    OperatorDetailType,
    SesDetailType,
)


@dataclass(frozen=True)
class Route:
    rule_id: str
    bus: str  # DEFAULT_BUS (AWS service events) or MAILWARDEN_BUS
    pattern: dict[str, Any]
    function: str  # folder name under functions/
    description: str


SES_REPUTATION_SIGNALS = Route(
    rule_id="SesReputationSignals",
    bus=DEFAULT_BUS,
    pattern={"source": [SES_SOURCE], "detail-type": [t.value for t in SesDetailType]},
    function="ses_events",
    description="SES advisor recommendations and sending-status changes for reputation entities",
)

RECONCILE_REQUESTS = Route(
    rule_id="ReconcileRequests",
    bus=MAILWARDEN_BUS,
    pattern={"source": [OPERATOR_SOURCE], "detail-type": [OperatorDetailType.RECONCILE_REQUESTED.value]},
    function="reputation_trigger",
    description="An operator asks for a reconcile run (plan or apply)",
)

WORKMAIL_REQUESTS = Route(
    rule_id="WorkmailRequests",
    bus=MAILWARDEN_BUS,
    pattern={
        "source": [OPERATOR_SOURCE, IDENTITY_SOURCE],
        "detail-type": [
            OperatorDetailType.OFFBOARD_REQUESTED.value,
            OperatorDetailType.RESTORE_REQUESTED.value,
            OperatorDetailType.DECOMMISSION_REQUESTED.value,
            OperatorDetailType.EXIT_REQUESTED.value,
            OperatorDetailType.EXIT_ROLLBACK_REQUESTED.value,
        ],
    },
    function="workmail_trigger",
    description="An HR/identity system or an operator asks to offboard a user, restore one, decommission an org, "
    "move an org out of WorkMail or roll that exit's DNS back",
)

IDENTITIES_CREATED = Route(
    rule_id="IdentitiesCreated",
    bus=MAILWARDEN_BUS,
    pattern={"source": [OPERATOR_SOURCE, IDENTITY_SOURCE], "detail-type": [OperatorDetailType.IDENTITY_CREATED.value]},
    function="mail_from_watch",
    description="A new SES identity: set up its MAIL FROM domain (given, or the policy's default) and watch it",
)

PARTNER_REQUESTS = Route(
    rule_id="PartnerRequests",
    bus=MAILWARDEN_BUS,
    pattern={"source": [OPERATOR_SOURCE], "detail-type": [OperatorDetailType.PARTNER_RECONCILE_REQUESTED.value]},
    function="partner_connections",
    description="An operator asks for a Partner Central connection-preferences run (plan or apply)",
)

ROUTES: tuple[Route, ...] = (
    SES_REPUTATION_SIGNALS,
    RECONCILE_REQUESTS,
    WORKMAIL_REQUESTS,
    IDENTITIES_CREATED,
    PARTNER_REQUESTS,
)


def routes_for(function: str) -> list[Route]:
    return [r for r in ROUTES if r.function == function]
