"""The Lambda factory: every function gets the same defaults, in one place.

python3.13 on arm64, JSON structured logs, active X-Ray tracing, an explicit log group with
retention, its own role (no managed policies), and an on-failure destination (the DLQ) with
bounded retries for asynchronous invocations.
"""

from __future__ import annotations

from aws_cdk import Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from mailwarden.contracts.functions import FunctionSpec

from .config import ROOT
from .layers import ARCHITECTURE, RUNTIME
from .nag import acknowledge


def deployment_suffix(scope: Construct) -> str:
    """Eight hex digits unique to this deployment of the stack (the start of its stack id's UUID)."""
    stack_uuid = Fn.select(2, Fn.split("/", Stack.of(scope).stack_id))
    return Fn.select(0, Fn.split("-", stack_uuid))


def retained_log_group(scope: Construct, construct_id: str, *, name: str | None, retention_days: int) -> logs.LogGroup:
    """A log group kept when the stack is deleted (the logs outlive it), with the configured retention.

    Its name (``name``, when given) ends with :func:`deployment_suffix`: a group kept from a deleted
    stack never collides with the one a new deployment of the stack creates ("already exists")."""
    full_name = f"{name}-{deployment_suffix(scope)}" if name else None
    group = logs.LogGroup(scope, construct_id, log_group_name=full_name, removal_policy=RemovalPolicy.RETAIN)
    # RetentionDays is an enum of names in Python; the config already validated the number.
    cfn: logs.CfnLogGroup = group.node.default_child  # type: ignore[assignment]
    cfn.retention_in_days = retention_days
    return group


class MailwardenFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        layers: list[lambda_.ILayerVersion],
        environment: dict[str, str],
        dlq: sqs.IQueue,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        missing = set(spec.env) - set(environment)
        if missing:
            raise ValueError(f"function {spec.name} needs environment {sorted(missing)}")
        stack = Stack.of(self)
        name = f"{stack.stack_name}-{spec.name.replace('_', '-')}"
        self.log_group = retained_log_group(self, "Logs", name=f"/aws/lambda/{name}", retention_days=log_retention_days)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Mailwarden {spec.name}: least privilege, no managed policies",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self.log_group.log_group_arn}"],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=name,
            description=spec.description[:256],
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(ROOT / "functions" / spec.name), exclude=["**/__pycache__"]),
            layers=layers,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            tracing=lambda_.Tracing.ACTIVE,
            timeout=Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_mb,
            environment={
                **{k: environment[k] for k in spec.env},
                "POWERTOOLS_SERVICE_NAME": "mailwarden",
                "POWERTOOLS_METRICS_NAMESPACE": "Mailwarden",
            },
            on_failure=destinations.SqsDestination(dlq),
            retry_attempts=2,
            max_event_age=Duration.hours(6),
        )
        acknowledge(
            self.function,
            "L1",
            "python3.13 is Mailwarden's supported runtime: the SDK layer is built for cp313/arm64 and tested "
            "there. Moving to a newer runtime is a deliberate, tested upgrade.",
        )
        acknowledge(
            self.role,
            "IAM5",
            "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (AWS service "
            "authorization reference), so they must be granted on '*'.",
            "Resource::*",
            children=True,
        )
        acknowledge(
            self.role,
            "IAM5",
            "Lambda names its log streams at run time; the grant is scoped to this function's own log group and"
            " its streams (log-group:<name>:*).",
            {"regex": "/^Resource::<.*Logs.*\\.Arn>:\\*$/g"},
            children=True,
        )
