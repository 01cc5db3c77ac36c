"""Which events reach which function: the one definition that CDK synthesizes into EventBridge
rules and that ``local.router`` installs into moto's EventBridge, so local routing is exactly
what AWS would do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .names import DEFAULT_BUS, SES_SOURCE, SesDetailType


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

ROUTES: tuple[Route, ...] = (SES_REPUTATION_SIGNALS,)


def routes_for(function: str) -> list[Route]:
    return [r for r in ROUTES if r.function == function]
