"""The counters behind the dashboard's "actions taken", "entities disabled" and "throttles": emitted
(Powertools EMF) by the functions that do the work, through their real triggers."""

from __future__ import annotations

import json

import pytest
from mailwarden.aws.clients import THROTTLE_CODES
from mailwarden.contracts.metrics import Metric

from local.deployment import LocalDeployment
from tests.reputation_support import policy, run, tenants


def totals(out: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in out.splitlines():
        if '"_aws"' in line:
            blob = json.loads(line)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                for m in directive["Metrics"]:
                    found[m["Name"]] = found.get(m["Name"], 0) + sum(blob[m["Name"]])
    return found


def test_a_reconcile_that_disables_counts_actions_entities_and_throttles(
    deployment: LocalDeployment, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment.set_policy(policy())
    arns = tenants(deployment, "a", "b", "c")
    for name in ("a", "b"):
        deployment.emu.control.raise_finding(arns[name], "BOUNCE", "HIGH")
    deployment.emu.control.inject("sesv2", "ListReputationEntities", throttle_rate=0.5)
    capsys.readouterr()

    result = run(deployment)

    assert result["counts"]["applied"] == 2
    counted = totals(capsys.readouterr().out)
    assert counted[Metric.REPUTATION_ACTIONS_APPLIED] == 2
    assert counted[Metric.ENTITIES_DISABLED] == 2
    outcomes = deployment.emu.dispatcher.outcomes
    throttled = sum(n for key, n in outcomes.items() if key.split(":")[-1] in THROTTLE_CODES)
    assert throttled >= 1, outcomes  # the rate limit and the (seeded) injected throttles
    assert counted[Metric.AWS_THROTTLES] == throttled
