"""The operations view on the synthesized template: the dashboard's figures, the alarms (what they
watch, their thresholds, their actions to the operations-alerts topic), the census function behind
the gauges, and the outputs the CLI reads."""

from __future__ import annotations

import json
from typing import Any

from mailwarden.contracts.functions import FUNCTIONS, HEALTH_METRICS
from mailwarden.contracts.metrics import MAIL_FROM_STATUSES, NAMESPACE, SERVICE, Metric
from mailwarden.contracts.outputs import CLI_FUNCTIONS, Output, function_output, state_machine_output, table_output
from mailwarden.contracts.schedules import HEALTH, TICK
from mailwarden.contracts.tables import TABLES
from mailwarden.contracts.workflows import WORKFLOWS

from tests.infra.test_approvals_infra import statements


def dashboard_body(template: Any) -> dict[str, Any]:
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "mailwarden-dev"
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    text = "".join(p if isinstance(p, str) else "${TOKEN}" for p in parts)
    return json.loads(text)  # type: ignore[no-any-return]


def widget(body: dict[str, Any], title: str) -> dict[str, Any]:
    found = [w for w in body["widgets"] if w["properties"].get("title") == title]
    assert found, f"no widget {title!r} in {[w['properties'].get('title') for w in body['widgets']]}"
    return found[0]["properties"]  # type: ignore[no-any-return]


def metric_names(props: dict[str, Any]) -> list[str]:
    return [m[1] for m in props.get("metrics", []) if len(m) > 1 and isinstance(m[1], str)]


def dims(m: list[Any]) -> dict[str, str]:
    """The dimensions of a dashboard metric array ``[namespace, name, k1, v1, ..., {options}]``."""
    flat = [x for x in m[2:] if isinstance(x, str)]
    return dict(zip(flat[::2], flat[1::2], strict=True))


def alarms(stack: Any, template: Any) -> dict[str, dict[str, Any]]:
    """Alarms by name, without the ``<stack name>-`` prefix every one carries."""
    out = {}
    for a in template.find_resources("AWS::CloudWatch::Alarm").values():
        name = a["Properties"]["AlarmName"]
        assert name.startswith(f"{stack.stack_name}-")
        out[name.removeprefix(f"{stack.stack_name}-")] = a["Properties"]
    return out


def alerts_topic(template: Any) -> str:
    (logical,) = [k for k in template.find_resources("AWS::SNS::Topic") if k.startswith("ApprovalsOperationsAlerts")]
    return logical


def test_the_dashboard_shows_every_figure_with_the_metric_behind_it(synth: Any) -> None:
    _, t = synth
    body = dashboard_body(t)
    actions = widget(body, "Actions taken")
    assert metric_names(actions) == [
        Metric.REPUTATION_ACTIONS_APPLIED,
        Metric.OFFBOARDING_STEPS,
        Metric.EXIT_STEPS,
        Metric.MAIL_FROM_SETUPS,
        Metric.PARTNER_WRITES,
    ]
    assert all(m[0] == NAMESPACE and dims(m) == {"service": SERVICE} for m in actions["metrics"])
    assert metric_names(widget(body, "Entities disabled / reinstated")) == [
        Metric.ENTITIES_DISABLED,
        Metric.ENTITIES_REINSTATED,
    ]
    assert metric_names(widget(body, "Pending approvals")) == [
        Metric.APPROVALS_PENDING,
        Metric.APPROVALS_EXPIRING_SOON,
        Metric.OLDEST_PENDING_APPROVAL_AGE,
    ]
    dlq = widget(body, "Dead-letter queue depth")
    assert dlq["metrics"][0][:2] == ["AWS/SQS", "ApproximateNumberOfMessagesVisible"]
    throttles = widget(body, "Throttles")
    assert Metric.AWS_THROTTLES in metric_names(throttles) and Metric.API_REQUESTS_THROTTLED in metric_names(throttles)
    lambda_throttles = [m for m in throttles["metrics"] if m[:2] == ["AWS/Lambda", "Throttles"]]
    assert len(lambda_throttles) == len(FUNCTIONS)
    errors = widget(body, "Errors per function")["metrics"]
    assert [m[:2] for m in errors] == [["AWS/Lambda", "Errors"]] * len(FUNCTIONS)
    assert sorted(m[-1]["label"] for m in errors) == sorted(f.name for f in FUNCTIONS)
    statuses = widget(body, "MAIL FROM statuses")["metrics"]
    assert [(m[1], dims(m)) for m in statuses] == [
        (Metric.MAIL_FROM_IDENTITIES, {"service": SERVICE, "Status": s}) for s in MAIL_FROM_STATUSES
    ]
    assert metric_names(widget(body, "Kill switch (1 = on: no writes)")) == [Metric.KILL_SWITCH_ENGAGED]
    failed = widget(body, "Workflows failed / timed out")["metrics"]
    assert len(failed) == 2 * len(WORKFLOWS)


def test_alarms_watch_the_dlq_errors_expiring_approvals_and_the_kill_switch(synth: Any) -> None:
    stack, t = synth
    found = alarms(stack, t)
    assert set(found) == {"DeadLetters", "ApprovalsExpiring", "KillSwitchOn"} | {f"Errors-{f.name}" for f in FUNCTIONS}
    topic = alerts_topic(t)
    for name, alarm in found.items():
        assert alarm["Threshold"] == 1, name
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold", name
        assert alarm["EvaluationPeriods"] == 1 and alarm["Period"] == 300, name
        assert alarm["AlarmActions"] == [{"Ref": topic}] and alarm["OKActions"] == [{"Ref": topic}], name
        assert alarm["TreatMissingData"] == "notBreaching", name
        assert len(alarm["AlarmDescription"]) > 40, name  # says what happened and what to do
    dlq = found["DeadLetters"]
    assert (dlq["Namespace"], dlq["MetricName"], dlq["Statistic"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
    )
    for name in ("ApprovalsExpiring", "KillSwitchOn"):
        a = found[name]
        assert a["Namespace"] == NAMESPACE and a["Dimensions"] == [{"Name": "service", "Value": SERVICE}]
        assert a["Statistic"] == "Maximum"
    assert found["ApprovalsExpiring"]["MetricName"] == Metric.APPROVALS_EXPIRING_SOON
    assert found["KillSwitchOn"]["MetricName"] == Metric.KILL_SWITCH_ENGAGED
    errors = found["Errors-partner_connections"]
    assert (errors["Namespace"], errors["MetricName"], errors["Statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    assert "partner_connections" in errors["AlarmDescription"]


def test_cloudwatch_may_publish_to_the_encrypted_alerts_topic(synth: Any) -> None:
    _, t = synth
    keys = t.find_resources("AWS::KMS::Key").values()
    allowed = [
        s
        for k in keys
        for s in k["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert len(allowed) == 1 and sorted(allowed[0]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]


def test_the_census_runs_every_five_minutes_and_reads_only_what_it_counts(synth: Any) -> None:
    _, t = synth
    (schedule,) = [
        s
        for s in t.find_resources("AWS::Scheduler::Schedule").values()
        if s["Properties"]["Name"].endswith(HEALTH.name)
    ]
    assert schedule["Properties"]["ScheduleExpression"] == "rate(5 minutes)"
    assert json.loads(schedule["Properties"]["Target"]["Input"]) == TICK
    granted = statements(t, "HealthMetrics")
    dynamo = sorted(a for s in granted for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    assert [a for a in dynamo if a.startswith("dynamodb:")] == ["dynamodb:Query", "dynamodb:Scan"]
    assert not any(a.endswith("*") for a in dynamo)
    query = next(s for s in granted if s["Action"] == "dynamodb:Query")
    assert "/index/by-state" in json.dumps(query["Resource"])


def test_outputs_name_every_resource_the_cli_reads(synth: Any) -> None:
    _, t = synth
    outputs = t.to_json()["Outputs"]
    expected = {str(o) for o in Output}
    expected |= {table_output(x.name) for x in TABLES}
    expected |= {state_machine_output(w.name) for w in WORKFLOWS}
    expected |= {function_output(f) for f in CLI_FUNCTIONS}
    assert expected <= set(outputs)
    assert HEALTH_METRICS in FUNCTIONS


def test_the_operator_policy_grants_exactly_what_the_cli_uses(synth: Any) -> None:
    _, t = synth
    (policy,) = t.find_resources("AWS::IAM::ManagedPolicy").values()
    granted = policy["Properties"]["PolicyDocument"]["Statement"]
    actions = sorted(a for s in granted for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    assert actions == sorted(
        [
            "cloudformation:DescribeStacks",
            "lambda:InvokeFunction",
            "states:DescribeExecution",
            "states:GetExecutionHistory",
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:PutItem",
            "dynamodb:GetItem",
            "dynamodb:Query",
            "ssm:GetParameter",
            "ssm:PutParameter",
            "dynamodb:Scan",
            "sqs:GetQueueAttributes",
        ]
    )
    invoke = next(s for s in granted if s["Action"] == "lambda:InvokeFunction")
    assert len(invoke["Resource"]) == len(CLI_FUNCTIONS)
    text = json.dumps(granted)
    assert '"Resource": "*"' not in text
    writes = [s for s in granted if "dynamodb:PutItem" in s["Action"]]
    assert len(writes) == 1 and "TablesAudit" in json.dumps(writes[0]["Resource"])  # the only table it writes
    assert "OperatorPolicyArn" in t.to_json()["Outputs"]
