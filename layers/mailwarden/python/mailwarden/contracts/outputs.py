"""CloudFormation outputs of the Mailwarden stack: the stack writes them, the CLI reads them to find
the deployed resources (``mailwarden --stack <name>``)."""

from __future__ import annotations

from enum import StrEnum


class Output(StrEnum):
    EVENT_BUS = "EventBusName"
    KILL_SWITCH = "KillSwitchParameter"
    DLQ_URL = "DeadLetterQueueUrl"
    APPROVAL_LINK_API = "ApprovalLinkApiUrl"
    MAIL_FROM_API = "MailFromApiUrl"
    APPROVAL_DECISIONS_TOPIC = "ApprovalDecisionsTopicArn"
    ALERTS_TOPIC = "OperationsAlertsTopicArn"
    DASHBOARD = "DashboardName"
    OPERATOR_POLICY = "OperatorPolicyArn"  # attach to the roles that run the CLI


# Functions the CLI invokes with the operator event EventBridge would deliver (it gets their answer).
CLI_FUNCTIONS = ("reputation_trigger", "workmail_trigger", "partner_connections")


def table_output(table: str) -> str:
    """``audit`` -> ``AuditTableName``."""
    return "".join(p.title() for p in table.split("-")) + "TableName"


def function_output(function: str) -> str:
    """``partner_connections`` -> ``PartnerConnectionsFunctionName``."""
    return "".join(p.title() for p in function.split("_")) + "FunctionName"


def state_machine_output(workflow: str) -> str:
    """``reputation-reconcile`` -> ``ReputationReconcileStateMachineArn``."""
    return "".join(p.title() for p in workflow.split("-")) + "StateMachineArn"
