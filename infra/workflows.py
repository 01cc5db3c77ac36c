"""Step Functions state machines from ``mailwarden.contracts.workflows``: the ASL JSON is deployed
verbatim with the function ARNs substituted, so the local executor runs exactly this definition.

Logging at level ALL without execution data: task tokens and plans stay out of CloudWatch Logs.
"""

from __future__ import annotations

import json

from aws_cdk import Duration, Stack
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct
from mailwarden.contracts.workflows import WORKFLOWS, WorkflowSpec, substitution_key

from .approvals import Approvals
from .functions import MailwardenFunction, retained_log_group
from .nag import acknowledge


class Workflows(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: dict[str, MailwardenFunction],
        approvals: Approvals,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.state_machines: dict[str, sfn.StateMachine] = {}
        for spec in WORKFLOWS:
            self.state_machines[spec.name] = self._build(spec, functions, approvals, log_retention_days)

    def _build(
        self,
        spec: WorkflowSpec,
        functions: dict[str, MailwardenFunction],
        approvals: Approvals,
        log_retention_days: int,
    ) -> sfn.StateMachine:
        construct_id = "".join(p.title() for p in spec.name.split("-"))
        stack = Stack.of(self)
        log_group = retained_log_group(
            self,
            f"{construct_id}Logs",
            name=f"/aws/vendedlogs/states/{stack.stack_name}-{spec.name}",
            retention_days=log_retention_days,
        )
        definition = spec.definition(int(approvals.timeout.to_seconds()))
        machine = sfn.StateMachine(
            self,
            construct_id,
            state_machine_name=f"{stack.stack_name}-{spec.name}",
            comment=spec.description,
            definition_body=sfn.DefinitionBody.from_string(json.dumps(definition)),
            definition_substitutions={substitution_key(f): functions[f].function.function_arn for f in spec.functions},
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.days(365),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        for f in spec.functions:
            functions[f].function.grant_invoke(machine)
        acknowledge(
            machine,
            "IAM5",
            "Step Functions log delivery and X-Ray actions support no resource-level permissions; "
            "lambda:InvokeFunction is granted on this workflow's own functions and their versions (<arn>:*) "
            "only.",
            "Resource::*",
            {"regex": "/^Resource::<.*Function.*\\.Arn>:\\*$/g"},
            children=True,
        )
        return machine
