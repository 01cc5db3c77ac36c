"""EventBridge Scheduler schedules: CDK creates them, ``local.deployment.tick`` fires them with the
same input (the ``<aws.scheduler.*>`` placeholders filled in as Scheduler does)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# What every schedule sends its target (mailwarden.requests.ScheduleTick parses it).
TICK: dict[str, Any] = {
    "trigger": "schedule",
    "scheduledTime": "<aws.scheduler.scheduled-time>",
    "scheduleExecutionId": "<aws.scheduler.execution-id>",
}


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    function: str
    input: dict[str, Any]
    description: str


RECONCILE = ScheduleSpec(
    name="reputation-reconcile",
    function="reputation_trigger",
    input=TICK,
    description="Scheduled reconcile: SES events are best effort, so the policy is re-applied to every entity.",
)

MAIL_FROM_WATCH = ScheduleSpec(
    name="mail-from-watch",
    function="mail_from_watch",
    input=TICK,
    description="MAIL FROM watcher: checks the identities that are due (policy mailFrom.checkEveryMinutes) with "
    "SES, reports status changes, sets FAILED ones up again.",
)

PARTNER_RECONCILE = ScheduleSpec(
    name="partner-reconcile",
    function="partner_connections",
    input=TICK,
    description="Partner Central connection preferences: drift from the policy's desired state is detected and "
    "corrected (widening only after approval).",
)

HEALTH = ScheduleSpec(
    name="health-metrics",
    function="health_metrics",
    input=TICK,
    description="Health census for the dashboard and alarms: pending approvals and their age, the kill switch, "
    "MAIL FROM statuses.",
)

SCHEDULES: tuple[ScheduleSpec, ...] = (RECONCILE, MAIL_FROM_WATCH, PARTNER_RECONCILE, HEALTH)
