"""The operations view: one CloudWatch dashboard and the alarms that page someone (through the
``operations-alerts`` topic). Every figure is a metric a function emits (``contracts.metrics``) or
one AWS publishes for a resource of this stack (DLQ depth, Lambda errors and throttles)."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from mailwarden.contracts.metrics import MAIL_FROM_STATUSES, NAMESPACE, SERVICE, STATUS_DIMENSION, Metric

from .functions import MailwardenFunction

PERIOD = Duration.minutes(5)
WIDTH = 8  # three widgets per row (the grid is 24 wide)


def metric(name: Metric, statistic: str = "Sum", label: str | None = None, **dimensions: str) -> cw.Metric:
    return cw.Metric(
        namespace=NAMESPACE,
        metric_name=name.value,
        dimensions_map={"service": SERVICE, **dimensions},
        statistic=statistic,
        period=PERIOD,
        label=label,
    )


class Operations(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        functions: dict[str, MailwardenFunction],
        state_machines: dict[str, sfn.StateMachine],
        dlq: sqs.IQueue,
        alerts: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.action = cw_actions.SnsAction(alerts)
        self.alarms: dict[str, cw.Alarm] = {}
        dlq_depth = dlq.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum")
        self._alarm(
            "DeadLetters",
            dlq_depth,
            "Something could not be processed and was parked in the dead-letter queue (malformed event, failed "
            "invocation). Read it: the message carries the reason. Then redrive or delete it.",
        )
        for name, fn in functions.items():
            self._alarm(
                f"Errors-{name}",
                fn.function.metric_errors(period=PERIOD, statistic="Sum"),
                f"The {name} function failed at least once in 5 minutes. Its log group "
                f"/aws/lambda/{Stack.of(self).stack_name}-{name.replace('_', '-')} says why; EventBridge and Step "
                "Functions retry, the DLQ keeps what still failed.",
            )
        self._alarm(
            "ApprovalsExpiring",
            metric(Metric.APPROVALS_EXPIRING_SOON, "Maximum"),
            "An approval request expires within the hour: nothing happens unless an approver decides. "
            "`mailwarden approvals list` shows it.",
        )
        self._alarm(
            "KillSwitchOn",
            metric(Metric.KILL_SWITCH_ENGAGED, "Maximum"),
            "The kill switch is on: Mailwarden plans but writes nothing. `mailwarden kill-switch off --reason ...` "
            "once it is safe.",
        )
        self.dashboard = cw.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"mailwarden-{stage}",
            default_interval=Duration.days(1),
            widgets=self._widgets(functions, state_machines, dlq_depth),
        )

    def _alarm(self, name: str, source: cw.IMetric, description: str) -> None:
        alarm = cw.Alarm(
            self,
            f"{name}Alarm",
            alarm_name=f"{Stack.of(self).stack_name}-{name}",
            alarm_description=description,
            metric=source,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(self.action)
        alarm.add_ok_action(self.action)
        self.alarms[name] = alarm

    def _widgets(
        self,
        functions: dict[str, MailwardenFunction],
        state_machines: dict[str, sfn.StateMachine],
        dlq_depth: cw.IMetric,
    ) -> list[list[cw.IWidget]]:
        def graph(title: str, left: list[cw.IMetric], right: list[cw.IMetric] | None = None) -> cw.GraphWidget:
            return cw.GraphWidget(title=title, left=left, right=right or [], width=WIDTH, height=6)

        fns = list(functions.values())
        return [
            [
                cw.TextWidget(
                    markdown="# Mailwarden\nActions, approvals, failures. Alarms go to the **operations-alerts** "
                    "topic. The CLI: `mailwarden approvals list`, `mailwarden audit`, `mailwarden kill-switch`.",
                    width=24,
                    height=2,
                )
            ],
            [
                graph(
                    "Actions taken",
                    [
                        metric(Metric.REPUTATION_ACTIONS_APPLIED, label="reputation writes"),
                        metric(Metric.OFFBOARDING_STEPS, label="offboarding steps"),
                        metric(Metric.EXIT_STEPS, label="organization exit steps"),
                        metric(Metric.MAIL_FROM_SETUPS, label="MAIL FROM setups"),
                        metric(Metric.PARTNER_WRITES, label="Partner Central writes"),
                    ],
                ),
                graph(
                    "Entities disabled / reinstated",
                    [
                        metric(Metric.ENTITIES_DISABLED, label="disabled"),
                        metric(Metric.ENTITIES_REINSTATED, label="reinstated"),
                    ],
                ),
                cw.SingleValueWidget(
                    title="Kill switch (1 = on: no writes)",
                    metrics=[metric(Metric.KILL_SWITCH_ENGAGED, "Maximum", "kill switch")],
                    width=WIDTH,
                    height=6,
                ),
            ],
            [
                graph(
                    "Pending approvals",
                    [
                        metric(Metric.APPROVALS_PENDING, "Maximum", "pending"),
                        metric(Metric.APPROVALS_EXPIRING_SOON, "Maximum", "expiring within 1 h"),
                    ],
                    [metric(Metric.OLDEST_PENDING_APPROVAL_AGE, "Maximum", "oldest age (s)")],
                ),
                graph(
                    "Dead-letter queue depth",
                    [dlq_depth],
                    [metric(Metric.EVENTS_REJECTED, label="events rejected")],
                ),
                graph(
                    "Throttles",
                    [
                        metric(Metric.AWS_THROTTLES, label="AWS API throttled (retried)"),
                        metric(Metric.API_REQUESTS_THROTTLED, label="MAIL FROM API 429s"),
                    ],
                    [
                        cw.MathExpression(
                            expression=" + ".join(f"t{i}" for i in range(len(fns))),
                            using_metrics={
                                f"t{i}": f.function.metric_throttles(period=PERIOD) for i, f in enumerate(fns)
                            },
                            label="Lambda throttles",
                            period=PERIOD,
                        )
                    ],
                ),
            ],
            [
                graph(
                    "Errors per function",
                    [f.function.metric_errors(period=PERIOD, label=name) for name, f in functions.items()],
                ),
                graph(
                    "MAIL FROM statuses",
                    [
                        metric(Metric.MAIL_FROM_IDENTITIES, "Maximum", status, **{STATUS_DIMENSION: status})
                        for status in MAIL_FROM_STATUSES
                    ],
                ),
                graph(
                    "Workflows failed / timed out",
                    [m.metric_failed(period=PERIOD, label=name) for name, m in state_machines.items()],
                    [
                        m.metric_timed_out(period=PERIOD, label=f"{name} timed out")
                        for name, m in state_machines.items()
                    ],
                ),
            ],
        ]
