"""The Mailwarden stack: composes the constructs; owns no resource logic of its own."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from cdk_nag import NagSuppressions
from constructs import Construct
from mailwarden.contracts.functions import APPROVAL_CALLBACK, APPROVAL_REQUEST, FUNCTIONS, SES_EVENTS
from mailwarden.contracts.tables import APPROVALS, AUDIT, TABLES
from mailwarden.contracts.topics import TOPICS

from .approvals import Approvals
from .config import StackConfig
from .functions import MailwardenFunction
from .layers import Layers
from .queues import dead_letter_queue
from .routing import EventRouting
from .storage import Tables
from .workflows import Workflows


class MailwardenStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        config.load_policy()  # a bad policy file fails synth, naming the problem

        self.dlq = dead_letter_queue(self, "DeadLetters", what="malformed events and failed invocations")
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"mailwarden-{config.stage}")
        self.layers = Layers(self, "Layers")
        self.tables = Tables(self, "Tables")
        self.approvals = Approvals(self, "Approvals", config=config)
        if not config.approver_emails:
            Annotations.of(self).add_warning_v2(
                "mailwarden:noApprovers",
                "mailwarden:approverEmails is empty: approval requests will fail until approvers are configured.",
            )
        env = {
            "EVENT_BUS_NAME": self.bus.event_bus_name,
            "DLQ_URL": self.dlq.queue_url,
            "SIGNING_SECRET_ARN": self.approvals.secret.secret_arn,
            "APPROVERS": ",".join(e.lower() for e in config.approver_emails),
            "APPROVAL_BASE_URL": self.approvals.base_url,
            **{t.env: self.tables[t.name].table_name for t in TABLES},
            **{t.env: self.approvals.topics[t.name].topic_arn for t in TOPICS},
        }
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
        self._grant_approvals()
        self.workflows = Workflows(
            self,
            "Workflows",
            functions=self.functions,
            approvals=self.approvals,
            callback=APPROVAL_CALLBACK.name,
            log_retention_days=config.log_retention_days,
        )
        self.routing = EventRouting(
            self,
            "Routing",
            functions={name: f.function for name, f in self.functions.items()},
            bus=self.bus,
            dlq=self.dlq,
        )
        CfnOutput(self, "EventBusName", value=self.bus.event_bus_name)
        CfnOutput(self, "DeadLetterQueueUrl", value=self.dlq.queue_url)
        CfnOutput(self, "ApprovalLinkApiUrl", value=self.approvals.base_url)
        CfnOutput(self, "ApprovalDecisionsTopicArn", value=self.approvals.decisions_topic.topic_arn)
        for name, machine in self.workflows.state_machines.items():
            CfnOutput(
                self, "".join(p.title() for p in name.split("-")) + "StateMachineArn", value=machine.state_machine_arn
            )

    def _grant_table(self, fn: MailwardenFunction, table: str, actions: list[str]) -> None:
        target = self.tables[table]
        fn.role.add_to_policy(
            iam.PolicyStatement(actions=[f"dynamodb:{a}" for a in actions], resources=[target.table_arn])
        )

    def _grant_approvals(self) -> None:
        request_fn = self.functions[APPROVAL_REQUEST.name]
        callback_fn = self.functions[APPROVAL_CALLBACK.name]
        self._grant_table(request_fn, APPROVALS.name, ["PutItem", "GetItem", "UpdateItem"])
        self._grant_table(callback_fn, APPROVALS.name, ["GetItem", "UpdateItem"])
        for fn in (request_fn, callback_fn):
            self._grant_table(fn, AUDIT.name, ["PutItem"])
        self.approvals.connect(request_fn=request_fn.function, callback_fn=callback_fn.function)

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
