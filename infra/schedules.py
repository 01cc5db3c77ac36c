"""EventBridge Scheduler schedules (specs in ``mailwarden.contracts.schedules``): each invokes its
function with the spec's input, through its own role, with retries and the dead-letter queue."""

from __future__ import annotations

import json

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from mailwarden.contracts.schedules import ScheduleSpec

from .functions import MailwardenFunction
from .nag import acknowledge


class Schedule(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: ScheduleSpec,
        expression: str,
        target: MailwardenFunction,
        dlq: sqs.IQueue,
        max_event_age_seconds: int = 3600,
    ) -> None:
        super().__init__(scope, construct_id)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
            description=f"EventBridge Scheduler invokes Mailwarden's {spec.function}",
        )
        target.function.grant_invoke(role)
        dlq.grant_send_messages(role)
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            name=f"{Stack.of(self).stack_name}-{spec.name}",
            description=spec.description,
            schedule_expression=expression,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=target.function.function_arn,
                role_arn=role.role_arn,
                input=json.dumps(spec.input),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=max_event_age_seconds, maximum_retry_attempts=10
                ),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dlq.queue_arn),
            ),
        )
        acknowledge(
            role,
            "IAM5",
            f"lambda:InvokeFunction on the {spec.function} function and its versions (<arn>:*) only.",
            children=True,
        )
