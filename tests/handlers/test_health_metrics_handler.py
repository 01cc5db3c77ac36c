"""The health census through its real trigger (the health-metrics schedule): the gauges behind the
dashboard and the alarms, as EMF metrics, and a malformed tick parked in the DLQ."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from mailwarden.contracts.metrics import MAIL_FROM_STATUSES, NAMESPACE, SERVICE, Metric

from local.deployment import LocalDeployment
from tests.approval_support import start_approval
from tests.mail_from_support import identity, put, zone


def emitted(out: str) -> dict[tuple[str, str], float]:
    """(metric, Status or "") -> value, from the EMF lines the handler printed."""
    found: dict[tuple[str, str], float] = {}
    for line in out.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == NAMESPACE
            assert blob["service"] == SERVICE
            for m in directive["Metrics"]:
                found[(m["Name"], blob.get("Status", ""))] = blob[m["Name"]][0]
    return found


def test_a_quiet_estate_reports_zeros(deployment: LocalDeployment, capsys: pytest.CaptureFixture[str]) -> None:
    before = Counter(deployment.emu.calls)
    out = deployment.tick("health-metrics")
    # the minimum: one Query (pending approvals, by-state index), one Scan page, one GetParameter
    assert dict(Counter(deployment.emu.calls) - before) == {
        "dynamodb.Query": 1,
        "dynamodb.Scan": 1,
        "ssm.GetParameter": 1,
    }
    assert out == {
        "approvalsPending": 0,
        "oldestPendingApprovalAgeSeconds": 0,
        "approvalsExpiringSoon": 0,
        "killSwitchEngaged": False,
        "mailFrom": dict.fromkeys(MAIL_FROM_STATUSES, 0),
    }
    metrics = emitted(capsys.readouterr().out)
    assert metrics[(Metric.KILL_SWITCH_ENGAGED, "")] == 0
    assert {s: metrics[(Metric.MAIL_FROM_IDENTITIES, s)] for s in MAIL_FROM_STATUSES} == dict.fromkeys(
        MAIL_FROM_STATUSES, 0
    )


def test_pending_approvals_their_age_expiry_the_switch_and_mail_from(
    deployment: LocalDeployment, capsys: pytest.CaptureFixture[str]
) -> None:
    timeout = deployment.approval_timeout_seconds
    clock = deployment.emu.clock
    asked = clock.time()
    start_approval(deployment)
    deployment.emu.clock.advance(timeout - 1800)  # the first is now 30 minutes from expiring
    start_approval(deployment, subject="second")
    deployment.emu.clock.advance(60)
    identity(deployment)
    zone(deployment)
    assert put(deployment).status == 200
    deployment.kill_switch(True)
    capsys.readouterr()

    out = deployment.tick("health-metrics")

    age = clock.time() - asked  # > timeout - 1740: the MAIL FROM setup also took (virtual) seconds
    assert out["approvalsPending"] == 2
    assert age - 2 <= out["oldestPendingApprovalAgeSeconds"] <= age
    assert out["approvalsExpiringSoon"] == 1
    assert out["killSwitchEngaged"] is True
    assert out["mailFrom"]["PENDING"] == 1 and sum(out["mailFrom"].values()) == 1
    metrics = emitted(capsys.readouterr().out)
    assert metrics[(Metric.APPROVALS_PENDING, "")] == 2
    assert metrics[(Metric.OLDEST_PENDING_APPROVAL_AGE, "")] == out["oldestPendingApprovalAgeSeconds"]
    assert metrics[(Metric.APPROVALS_EXPIRING_SOON, "")] == 1
    assert metrics[(Metric.KILL_SWITCH_ENGAGED, "")] == 1
    assert metrics[(Metric.MAIL_FROM_IDENTITIES, "PENDING")] == 1

    deployment.emu.clock.advance(1800)  # the first expired: no longer pending (and not counted)
    assert deployment.tick("health-metrics")["approvalsPending"] == 1


def test_a_malformed_tick_goes_to_the_dlq(deployment: LocalDeployment) -> None:
    out: Any = deployment.invoke("health_metrics", {"trigger": "schedule"})
    assert out["status"] == "rejected"
    (letter,) = deployment.dead_letters()
    assert "scheduledTime" in letter["reason"]
