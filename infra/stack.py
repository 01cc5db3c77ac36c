"""The Mailwarden stack: composes the constructs; owns no resource logic of its own."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns_subscriptions as subs
from constructs import Construct
from mailwarden.contracts import schedules as sched
from mailwarden.contracts.functions import (
    APPROVAL_CALLBACK,
    APPROVAL_REQUEST,
    FUNCTIONS,
    HEALTH_METRICS,
    MAIL_FROM_API,
    MAIL_FROM_WATCH,
    PARTNER_CONNECTIONS,
    REPUTATION_RECONCILE,
    REPUTATION_TRIGGER,
    SES_EVENTS,
    WORKMAIL_EXIT,
    WORKMAIL_OFFBOARD,
    WORKMAIL_TRIGGER,
)
from mailwarden.contracts.outputs import CLI_FUNCTIONS, Output, function_output, state_machine_output, table_output
from mailwarden.contracts.tables import APPROVALS, AUDIT, GUARD, IDEMPOTENCY, MAIL_FROM, OFFBOARDING, TABLES
from mailwarden.contracts.topics import OPERATIONS_ALERTS, TOPICS
from mailwarden.contracts.workflows import (
    PARTNER_WIDENING_WORKFLOW,
    REPUTATION_RECONCILE_WORKFLOW,
    REPUTATION_REINSTATE_WORKFLOW,
    WORKFLOWS,
    WORKMAIL_DECOMMISSION_WORKFLOW,
    WORKMAIL_EXIT_ROLLBACK_WORKFLOW,
    WORKMAIL_EXIT_WORKFLOW,
    WORKMAIL_OFFBOARD_WORKFLOW,
)

from .approvals import Approvals
from .config import StackConfig
from .functions import MailwardenFunction
from .layers import POLICY_FILE, Layers
from .mailfrom import MailFromApi, grant_mail_from, grant_route53
from .nag import acknowledge
from .observability import Operations
from .operators import OperatorPolicy
from .partner import grant_partner
from .queues import dead_letter_queue
from .reputation import KillSwitch, grant_reputation, state_machine_arn
from .routing import EventRouting
from .schedules import Schedule
from .storage import Tables
from .workflows import Workflows
from .workmail import (
    EXIT_PREFIX,
    EXIT_READS,
    EXIT_WRITES,
    EXPORT_PREFIX,
    OFFBOARD_WRITES,
    READS,
    RESTORE_WRITES,
    MailboxExports,
    grant_documents,
    grant_workmail,
)


class MailwardenStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        policy = config.load_policy()  # a bad policy file fails synth, naming the line and the problem

        self.dlq = dead_letter_queue(self, "DeadLetters", what="malformed events and failed invocations")
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"mailwarden-{config.stage}")
        self.layers = Layers(self, "Layers", policy_json=policy.normalized())
        self.kill_switch = KillSwitch(self, "KillSwitch", stage=config.stage)
        self.tables = Tables(self, "Tables")
        self.exports = MailboxExports(self, "MailboxExports", retention_days=config.log_retention_days)
        self.approvals = Approvals(self, "Approvals", config=config)
        if not config.approver_emails:
            Annotations.of(self).add_warning_v2(
                "mailwarden:noApprovers",
                "mailwarden:approverEmails is empty: approval requests will fail until approvers are configured.",
            )
        if not config.jwt_issuer:
            Annotations.of(self).add_warning_v2(
                "mailwarden:noJwtIssuer",
                "mailwarden:jwtIssuer is empty: the MAIL FROM API refuses every request until an issuer is configured.",
            )
        env = {
            "EVENT_BUS_NAME": self.bus.event_bus_name,
            "DLQ_URL": self.dlq.queue_url,
            "SIGNING_SECRET_ARN": self.approvals.secret.secret_arn,
            "APPROVERS": ",".join(e.lower() for e in config.approver_emails),
            "APPROVAL_BASE_URL": self.approvals.base_url,
            **{t.env: self.tables[t.name].table_name for t in TABLES},
            **{t.env: self.approvals.topics[t.name].topic_arn for t in TOPICS},
            "KILL_SWITCH_PARAMETER": self.kill_switch.parameter.parameter_name,
            "POLICY_FILE": POLICY_FILE,
            "REINSTATE_STATE_MACHINE_ARN": state_machine_arn(self, REPUTATION_REINSTATE_WORKFLOW.name),
            "RECONCILE_STATE_MACHINE_ARN": state_machine_arn(self, REPUTATION_RECONCILE_WORKFLOW.name),
            "SES_API_RATE": "1",
            "EXPORT_BUCKET": self.exports.bucket.bucket_name,
            "EXPORT_KMS_KEY_ARN": self.exports.key.key_arn,
            "EXPORT_ROLE_ARN": self.exports.role.role_arn,
            "OFFBOARD_STATE_MACHINE_ARN": state_machine_arn(self, WORKMAIL_OFFBOARD_WORKFLOW.name),
            "DECOMMISSION_STATE_MACHINE_ARN": state_machine_arn(self, WORKMAIL_DECOMMISSION_WORKFLOW.name),
            "EXIT_STATE_MACHINE_ARN": state_machine_arn(self, WORKMAIL_EXIT_WORKFLOW.name),
            "EXIT_ROLLBACK_STATE_MACHINE_ARN": state_machine_arn(self, WORKMAIL_EXIT_ROLLBACK_WORKFLOW.name),
            "PARTNER_WIDENING_STATE_MACHINE_ARN": state_machine_arn(self, PARTNER_WIDENING_WORKFLOW.name),
            "PARTNER_CENTRAL_REGION": config.partner_central_region,
            "JWT_ISSUER": config.jwt_issuer,
            "JWT_JWKS_URL": config.jwt_jwks_url,
            "JWT_AUDIENCE": ",".join(config.jwt_audiences),
            "MAIL_FROM_READ_SCOPE": config.mail_from_read_scope,
            "MAIL_FROM_WRITE_SCOPE": config.mail_from_write_scope,
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
        self._grant_approvals()
        self._grant_reputation()
        self._grant_workmail()
        self._grant_exit()
        self._grant_mail_from()
        self._grant_partner(sorted(policy.partner.catalogs))
        self._grant_health()
        self.workflows = Workflows(
            self,
            "Workflows",
            functions=self.functions,
            approvals=self.approvals,
            log_retention_days=config.log_retention_days,
        )
        self._grant_distributed(WORKMAIL_DECOMMISSION_WORKFLOW.name)
        self._grant_distributed(WORKMAIL_EXIT_WORKFLOW.name, prefix=EXIT_PREFIX)
        self.routing = EventRouting(
            self,
            "Routing",
            functions={name: f.function for name, f in self.functions.items()},
            bus=self.bus,
            dlq=self.dlq,
        )
        self.schedules = self._schedules(config)
        self.mail_from_api = MailFromApi(self, "MailFromRestApi", config=config, fn=self.functions[MAIL_FROM_API.name])
        alerts = self.approvals.topics[OPERATIONS_ALERTS.name]
        self.approvals.allow_alarms()
        for email in config.alert_emails:
            alerts.add_subscription(subs.EmailSubscription(email))
        self.operations = Operations(
            self,
            "Operations",
            stage=config.stage,
            functions=self.functions,
            state_machines=self.workflows.state_machines,
            dlq=self.dlq,
            alerts=alerts,
        )
        self.operators = OperatorPolicy(
            self,
            "Operators",
            tables=self.tables.tables,
            functions=[self.functions[f].function for f in CLI_FUNCTIONS],
            workflows=list(self.workflows.state_machines),
            kill_switch=self.kill_switch.parameter,
            dlq=self.dlq,
        )
        self._outputs()

    def _schedules(self, config: StackConfig) -> dict[str, Schedule]:
        """Every contract schedule, invoking the function its spec names: its construct id, its cdk.json
        expression, and how old a tick may still be delivered."""
        settings = {
            sched.RECONCILE.name: ("ReconcileSchedule", config.reconcile_schedule, 3600),
            # the next tick comes soon; a stale one is worth nothing
            sched.MAIL_FROM_WATCH.name: ("MailFromWatchSchedule", config.mail_from_watch_schedule, 600),
            sched.PARTNER_RECONCILE.name: ("PartnerReconcileSchedule", config.partner_reconcile_schedule, 3600),
            # a census is only worth its own 5 minutes
            sched.HEALTH.name: ("HealthSchedule", config.health_schedule, 300),
        }
        schedules = {}
        for spec in sched.SCHEDULES:
            construct_id, expression, max_age = settings[spec.name]
            schedules[spec.name] = Schedule(
                self,
                construct_id,
                spec=spec,
                expression=expression,
                target=self.functions[spec.function],
                dlq=self.dlq,
                max_event_age_seconds=max_age,
            )
        return schedules

    def _outputs(self) -> None:
        """What the CLI reads to find this deployment (``contracts.outputs``)."""
        outputs = {
            Output.EVENT_BUS: self.bus.event_bus_name,
            Output.KILL_SWITCH: self.kill_switch.parameter.parameter_name,
            Output.DLQ_URL: self.dlq.queue_url,
            Output.APPROVAL_LINK_API: self.approvals.base_url,
            Output.MAIL_FROM_API: self.mail_from_api.url,
            Output.APPROVAL_DECISIONS_TOPIC: self.approvals.decisions_topic.topic_arn,
            Output.ALERTS_TOPIC: self.approvals.topics[OPERATIONS_ALERTS.name].topic_arn,
            Output.DASHBOARD: self.operations.dashboard.dashboard_name,
            Output.OPERATOR_POLICY: self.operators.policy.managed_policy_arn,
            **{table_output(t.name): self.tables[t.name].table_name for t in TABLES},
            **{function_output(f): self.functions[f].function.function_name for f in CLI_FUNCTIONS},
            **{state_machine_output(n): m.state_machine_arn for n, m in self.workflows.state_machines.items()},
        }
        for key, value in outputs.items():
            CfnOutput(self, str(key), value=value)

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
        # A send answered TaskTimedOut may have been an earlier send's success: the gate's history says.
        gated = [state_machine_arn(self, w.name) for w in WORKFLOWS if w.uses_approvals]
        executions = [m.replace(":stateMachine:", ":execution:") + ":*" for m in gated]
        callback_fn.role.add_to_policy(
            iam.PolicyStatement(actions=["states:GetExecutionHistory"], resources=executions)
        )
        acknowledge(
            callback_fn.role,
            "IAM5",
            "Execution names are request ids, known only at run time: GetExecutionHistory is limited to the "
            "executions of the workflows that have an approval gate.",
            {"regex": "/^Resource::arn:<AWS::Partition>:states:.*:execution:.*:\\*$/g"},
            children=True,
        )
        self.approvals.connect(request_fn=request_fn.function, callback_fn=callback_fn.function)

    def _grant_reputation(self) -> None:
        reinstate = state_machine_arn(self, REPUTATION_REINSTATE_WORKFLOW.name)
        for spec in (SES_EVENTS, REPUTATION_RECONCILE):
            fn = self.functions[spec.name]
            grant_reputation(fn, writes=True)
            self.kill_switch.allow_read(fn)
            self._grant_table(fn, GUARD.name, ["GetItem", "PutItem", "UpdateItem", "Query", "BatchWriteItem"])
            self._grant_table(fn, AUDIT.name, ["PutItem", "BatchWriteItem"])
            fn.role.add_to_policy(iam.PolicyStatement(actions=["states:StartExecution"], resources=[reinstate]))
        self._grant_table(
            self.functions[SES_EVENTS.name], IDEMPOTENCY.name, ["GetItem", "PutItem", "UpdateItem", "DeleteItem"]
        )
        trigger = self.functions[REPUTATION_TRIGGER.name]
        trigger.role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:StartExecution", "states:ListExecutions"],
                resources=[state_machine_arn(self, REPUTATION_RECONCILE_WORKFLOW.name)],
            )
        )

    def _grant_mail_from(self) -> None:
        api = self.functions[MAIL_FROM_API.name]
        watch = self.functions[MAIL_FROM_WATCH.name]
        for fn in (api, watch):
            grant_mail_from(fn, self.config.hosted_zone_ids)
            self._grant_table(fn, MAIL_FROM.name, ["GetItem", "PutItem", "Query"])
            self._grant_table(fn, AUDIT.name, ["PutItem"])
        # a refused first setup removes the tracking item it wrote (nothing changed, nothing to watch)
        self._grant_table(api, MAIL_FROM.name, ["DeleteItem"])
        index = f"{self.tables[MAIL_FROM.name].table_arn}/index/{MAIL_FROM.indexes[0].name}"
        watch.role.add_to_policy(iam.PolicyStatement(actions=["dynamodb:Query"], resources=[index]))
        self.approvals.grant_publish(watch.role, self.approvals.topics[OPERATIONS_ALERTS.name])

    def _grant_partner(self, catalogs: list[str]) -> None:
        fn = self.functions[PARTNER_CONNECTIONS.name]
        grant_partner(fn, catalogs)
        self.kill_switch.allow_read(fn)
        self._grant_table(fn, GUARD.name, ["GetItem", "PutItem"])
        self._grant_table(fn, AUDIT.name, ["PutItem"])
        machine = state_machine_arn(self, PARTNER_WIDENING_WORKFLOW.name)
        fn.role.add_to_policy(iam.PolicyStatement(actions=["states:StartExecution"], resources=[machine]))
        # the widening record follows its execution: each run reads how it ended, and stops one superseded
        executions = machine.replace(":stateMachine:", ":execution:") + ":*"
        fn.role.add_to_policy(
            iam.PolicyStatement(actions=["states:DescribeExecution", "states:StopExecution"], resources=[executions])
        )
        acknowledge(
            fn.role,
            "IAM5",
            "Execution names carry the change and a sequence number, known only at run time: Describe/Stop are "
            "limited to the executions of the partner-widening workflow.",
            {"regex": "/^Resource::arn:<AWS::Partition>:states:.*:execution:.*partner-widening:\\*$/g"},
            children=True,
        )
        self.approvals.grant_publish(fn.role, self.approvals.topics[OPERATIONS_ALERTS.name])

    def _grant_health(self) -> None:
        fn = self.functions[HEALTH_METRICS.name]
        index = f"{self.tables[APPROVALS.name].table_arn}/index/{APPROVALS.indexes[0].name}"
        fn.role.add_to_policy(iam.PolicyStatement(actions=["dynamodb:Query"], resources=[index]))
        self._grant_table(fn, MAIL_FROM.name, ["Scan"])
        self.kill_switch.allow_read(fn)

    def _grant_distributed(self, workflow: str, prefix: str | None = None) -> None:
        """A workflow with Distributed Maps reads its items from S3 (its documents' prefix) and runs one
        child execution per item (StartExecution on itself; Describe/Stop on its executions), as Step
        Functions documents."""
        machine = self.workflows.state_machines[workflow]
        grant_documents(
            self.exports, machine.role, ["GetObject"], ["kms:Decrypt"], **({"prefix": prefix} if prefix else {})
        )
        arn = state_machine_arn(self, workflow)
        machine.add_to_role_policy(iam.PolicyStatement(actions=["states:StartExecution"], resources=[arn]))
        executions = arn.replace(":stateMachine:", ":execution:")
        machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"],
                resources=[f"{executions}/*", f"{executions}:*"],
            )
        )
        acknowledge(
            machine.role,
            "IAM5",
            "The Distributed Map's child executions are named by Step Functions at run time: Describe/Stop are "
            "limited to this workflow's own executions (<execution ARN prefix>/* and :*).",
            {"regex": f"/^Resource::arn:<AWS::Partition>:states:.*:execution:.*{workflow}[/:]\\*$/g"},
            children=True,
        )

    def _grant_workmail(self) -> None:
        trigger = self.functions[WORKMAIL_TRIGGER.name]
        steps = self.functions[WORKMAIL_OFFBOARD.name]
        grant_workmail(trigger, READS + RESTORE_WRITES)
        self.kill_switch.allow_read(trigger)
        grant_workmail(steps, READS + OFFBOARD_WRITES)
        for fn in (trigger, steps):
            self._grant_table(fn, OFFBOARDING.name, ["GetItem", "PutItem"])
            self._grant_table(fn, AUDIT.name, ["PutItem"])
        self._grant_table(steps, OFFBOARDING.name, ["Query"])  # a decommission's per-user results
        self.exports.role.grant_pass_role(steps.role)
        grant_documents(self.exports, steps.role, ["PutObject", "GetObject"], ["kms:GenerateDataKey", "kms:Decrypt"])
        workflows = (
            WORKMAIL_OFFBOARD_WORKFLOW,
            WORKMAIL_DECOMMISSION_WORKFLOW,
            WORKMAIL_EXIT_WORKFLOW,
            WORKMAIL_EXIT_ROLLBACK_WORKFLOW,
        )
        machines = [state_machine_arn(self, w.name) for w in workflows]
        trigger.role.add_to_policy(iam.PolicyStatement(actions=["states:StartExecution"], resources=machines))
        executions = [m.replace(":stateMachine:", ":execution:") + ":*" for m in machines]
        trigger.role.add_to_policy(iam.PolicyStatement(actions=["states:DescribeExecution"], resources=executions))
        acknowledge(
            trigger.role,
            "IAM5",
            "Execution names are request ids, known only at run time: DescribeExecution is limited to the "
            "executions of the offboard, decommission and exit workflows.",
            {"regex": "/^Resource::arn:<AWS::Partition>:states:.*:execution:.*workmail-.*:\\*$/g"},
            children=True,
        )

    def _grant_exit(self) -> None:
        """The organization exit's steps: WorkMail reads and the exit's deletes, the exit's documents,
        the size of each export archive (HeadObject is allowed by s3:GetObject), Route 53 on the
        configured zones, stopping its own executions on a rollback."""
        fn = self.functions[WORKMAIL_EXIT.name]
        grant_workmail(fn, READS + EXIT_READS + EXIT_WRITES)
        self.kill_switch.allow_read(fn)
        self._grant_table(fn, OFFBOARDING.name, ["GetItem", "PutItem", "Query"])
        self._grant_table(fn, AUDIT.name, ["PutItem"])
        self.exports.role.grant_pass_role(fn.role)
        grant_documents(
            self.exports,
            fn.role,
            ["PutObject", "GetObject"],
            ["kms:GenerateDataKey", "kms:Decrypt"],
            prefix=EXIT_PREFIX,
        )
        grant_documents(self.exports, fn.role, ["GetObject"], [], prefix=EXPORT_PREFIX)
        grant_route53(fn, self.config.hosted_zone_ids)
        executions = state_machine_arn(self, WORKMAIL_EXIT_WORKFLOW.name).replace(":stateMachine:", ":execution:")
        fn.role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"], resources=[f"{executions}:*"]
            )
        )
        acknowledge(
            fn.role,
            "IAM5",
            "Exit executions are named by request id at run time: Describe/Stop are limited to the executions of "
            "the workmail-exit workflow.",
            {"regex": "/^Resource::arn:<AWS::Partition>:states:.*:execution:.*workmail-exit:\\*$/g"},
            children=True,
        )
