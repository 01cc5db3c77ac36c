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

SCHEDULES: tuple[ScheduleSpec, ...] = (RECONCILE,)
