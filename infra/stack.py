"""The Mailwarden stack: composes the constructs; owns no resource logic of its own."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagSuppressions
from constructs import Construct
from mailwarden.contracts.functions import FUNCTIONS, SES_EVENTS

from .config import StackConfig
from .functions import MailwardenFunction
from .layers import Layers
from .routing import EventRouting


class MailwardenStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        config.load_policy()  # a bad policy file fails synth, naming the problem

        self.dlq = self._build_dlq()
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"mailwarden-{config.stage}")
        self.layers = Layers(self, "Layers")
        env = {"EVENT_BUS_NAME": self.bus.event_bus_name, "DLQ_URL": self.dlq.queue_url}
        self.functions = {
            spec.name: MailwardenFunction(
                self,
                "".join(p.title() for p in spec.name.split("_")),
                spec=spec,
                layers=self.layers.all,
                environment=env,
                dlq=self.dlq,
                log_retention_days=config.log_retention_days,
            )
            for spec in FUNCTIONS
        }
        for fn in self.functions.values():
            self.dlq.grant_send_messages(fn.function)
            self.bus.grant_put_events_to(fn.function)
        self._grant_ses_events(self.functions[SES_EVENTS.name])
        self.routing = EventRouting(
            self,
            "Routing",
            functions={name: f.function for name, f in self.functions.items()},
            bus=self.bus,
            dlq=self.dlq,
        )
        CfnOutput(self, "EventBusName", value=self.bus.event_bus_name)
        CfnOutput(self, "DeadLetterQueueUrl", value=self.dlq.queue_url)

    def _build_dlq(self) -> sqs.Queue:
        dlq = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        NagSuppressions.add_resource_suppressions(
            dlq,
            [{"id": "AwsSolutions-SQS3", "reason": "This queue is the dead-letter queue; it has none of its own."}],
        )
        return dlq

    def _grant_ses_events(self, fn: MailwardenFunction) -> None:
        tenants = self.format_arn(service="ses", resource="tenant", resource_name="*")
        fn.role.add_to_policy(iam.PolicyStatement(actions=["ses:GetReputationEntity"], resources=[tenants]))
        NagSuppressions.add_resource_suppressions(
            fn.role,
            [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": "Tenants (reputation entities) are created at run time; the grant is read-only and "
                    "limited to this account's and region's tenant ARNs.",
                    "appliesTo": [{"regex": "/^Resource::arn:<AWS::Partition>:ses:.*:tenant/\\*$/g"}],
                }
            ],
            apply_to_children=True,
        )
