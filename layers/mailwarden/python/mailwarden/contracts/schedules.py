"""EventBridge Scheduler schedules: CDK creates them, ``local.deployment.tick`` fires them with the
same input (the ``<aws.scheduler.*>`` placeholders filled in as Scheduler does)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    function: str
    input: dict[str, Any]
    description: str


RECONCILE = ScheduleSpec(
    name="reputation-reconcile",
    function="reputation_trigger",
    input={
        "trigger": "schedule",
        "scheduledTime": "<aws.scheduler.scheduled-time>",
        "scheduleExecutionId": "<aws.scheduler.execution-id>",
    },
    description="Scheduled reconcile: SES events are best effort, so the policy is re-applied to every entity.",
)

MAIL_FROM_WATCH = ScheduleSpec(
    name="mail-from-watch",
    function="mail_from_watch",
    input={
        "trigger": "schedule",
        "scheduledTime": "<aws.scheduler.scheduled-time>",
        "scheduleExecutionId": "<aws.scheduler.execution-id>",
    },
    description="MAIL FROM watcher: checks the identities that are due (policy mailFrom.checkEveryMinutes) with "
    "SES, reports status changes, sets FAILED ones up again.",
)

SCHEDULES: tuple[ScheduleSpec, ...] = (RECONCILE, MAIL_FROM_WATCH)
