"""The reputation guard's own resources and grants: the kill switch and
least-privilege access to SES reputation entities, its tables and its workflows."""

from __future__ import annotations

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .functions import MailwardenFunction
from .nag import acknowledge

KILL_SWITCH_HELP = (
    "Mailwarden kill switch: 'off' lets the reputation guard and the Partner Central reconcile write; any other "
    "value (e.g. 'on') stops every write at once (runs and events still plan and report)."
)


def state_machine_arn(scope: Construct, workflow: str) -> str:
    """A workflow's ARN from its fixed name (no reference to the resource: functions it invokes
    can carry it in their environment without a dependency cycle)."""
    stack = Stack.of(scope)
    return stack.format_arn(
        service="states",
        resource="stateMachine",
        resource_name=f"{stack.stack_name}-{workflow}",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


class KillSwitch(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        self.parameter = ssm.StringParameter(
            self,
            "Parameter",
            parameter_name=f"/mailwarden/{stage}/kill-switch",
            string_value="off",
            description=KILL_SWITCH_HELP,
        )

    def allow_read(self, fn: MailwardenFunction) -> None:
        fn.role.add_to_policy(
            iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[self.parameter.parameter_arn])
        )


def grant_reputation(fn: MailwardenFunction, *, writes: bool) -> None:
    """Read (and optionally write) SES reputation entities: per-tenant actions, and the listing of
    reputation entities (it requires the ``tenant`` resource type), on this account's and region's
    tenant ARNs. ListRecommendations takes only an optional ``identity`` resource type and the calls
    name none: it must be granted on '*'."""
    stack = Stack.of(fn)
    tenants = stack.format_arn(service="ses", resource="tenant", resource_name="*")
    policies = stack.format_arn(service="ses", account="aws", resource="reputation-policy", resource_name="*")
    fn.role.add_to_policy(
        iam.PolicyStatement(
            actions=["ses:GetReputationEntity", "ses:ListTagsForResource", "ses:ListReputationEntities"],
            resources=[tenants],
        )
    )
    fn.role.add_to_policy(iam.PolicyStatement(actions=["ses:ListRecommendations"], resources=["*"]))
    if writes:
        fn.role.add_to_policy(
            iam.PolicyStatement(
                actions=["ses:UpdateReputationEntityCustomerManagedStatus", "ses:UpdateReputationEntityPolicy"],
                resources=[tenants, policies],
            )
        )
    acknowledge(
        fn.role,
        "IAM5",
        "Tenants (reputation entities) are created at run time: per-entity actions and ListReputationEntities "
        "are limited to this account's and region's tenant ARNs and SES's managed reputation policies; "
        "ListRecommendations names no resource (its only resource type, identity, is optional) so it takes '*'.",
        {"regex": "/^Resource::arn:<AWS::Partition>:ses:.*:tenant/\\*$/g"},
        {"regex": "/^Resource::arn:<AWS::Partition>:ses:.*:aws:reputation-policy/\\*$/g"},
        "Resource::*",
        children=True,
    )
