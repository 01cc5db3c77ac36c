"""What an operator's role needs to run the ``mailwarden`` CLI against this stack, as one managed
policy to attach (output ``OperatorPolicyArn``): reads of the stack's outputs, tables and
executions; invoking the three trigger functions; the kill switch; audit records. Nothing else,
and no wildcard action."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct
from mailwarden.contracts.tables import APPROVALS, AUDIT, GUARD, MAIL_FROM

from .nag import acknowledge
from .reputation import state_machine_arn


class OperatorPolicy(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tables: Mapping[str, dynamodb.ITableV2],
        functions: list[lambda_.IFunction],
        workflows: list[str],
        kill_switch: ssm.IStringParameter,
        dlq: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        executions = [state_machine_arn(self, w).replace(":stateMachine:", ":execution:") + ":*" for w in workflows]
        approvals = tables[APPROVALS.name].table_arn
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"Operate Mailwarden ({stack.stack_name}) with the mailwarden CLI",
            statements=[
                iam.PolicyStatement(actions=["cloudformation:DescribeStacks"], resources=[stack.stack_id]),
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[f.function_arn for f in functions]),
                iam.PolicyStatement(
                    actions=["states:DescribeExecution", "states:GetExecutionHistory"], resources=executions
                ),
                iam.PolicyStatement(
                    actions=["dynamodb:GetItem", "dynamodb:Query"],
                    resources=[approvals, f"{approvals}/index/{APPROVALS.indexes[0].name}"],
                ),
                iam.PolicyStatement(
                    actions=["dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem"],
                    resources=[tables[AUDIT.name].table_arn],
                ),
                iam.PolicyStatement(
                    actions=["dynamodb:GetItem", "dynamodb:Query"], resources=[tables[GUARD.name].table_arn]
                ),
                iam.PolicyStatement(
                    actions=["ssm:GetParameter", "ssm:PutParameter"], resources=[kill_switch.parameter_arn]
                ),
                iam.PolicyStatement(actions=["dynamodb:Scan"], resources=[tables[MAIL_FROM.name].table_arn]),
                iam.PolicyStatement(actions=["sqs:GetQueueAttributes"], resources=[dlq.queue_arn]),
            ],
        )
        acknowledge(
            self.policy,
            "IAM5",
            "Execution names are run and request ids, known only at run time: DescribeExecution and "
            "GetExecutionHistory are limited to the executions of Mailwarden's own workflows.",
            {"regex": "/^Resource::arn:<AWS::Partition>:states:.*:execution:.*:\\*$/g"},
        )
