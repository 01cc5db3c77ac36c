"""Helpers for reputation-guard tests: a policy, seeded tenants, run and audit lookups."""

from __future__ import annotations

import json
from typing import Any

from local.deployment import LocalDeployment

POLICY = """
version: 1
reputation:
  mode: apply
  maxDisablesPerRun: {cap}
  allowlist:
    - names: [vip]
  rules:
    - name: pause-high
      disableWhen: {{types: [BOUNCE, COMPLAINT], impact: [HIGH]}}
    - name: reinstate-24h
      reinstateWhen: {{fixedForHours: 24, to: ENABLED}}
"""


def policy(cap: int = 10, mode: str = "apply") -> str:
    return POLICY.format(cap=cap).replace("mode: apply", f"mode: {mode}")


def tenants(deployment: LocalDeployment, *names: str) -> dict[str, str]:
    return {n: deployment.emu.sesv2.add_tenant(n).arn for n in names}


def customer(deployment: LocalDeployment, arn: str) -> str:
    return str(deployment.emu.control.entity(arn).customer.status)


def run(deployment: LocalDeployment, timeout: float = 60) -> dict[str, Any]:
    """Fire the reconcile schedule and wait for the run to finish; returns its result."""
    started = deployment.tick()
    assert started["status"] == "started", started
    done = deployment.finished(started["execution"], timeout)
    assert done["status"] == "SUCCEEDED", done
    return dict(json.loads(done["output"])["run"]["result"])


def actions(deployment: LocalDeployment) -> list[dict[str, Any]]:
    """Every Reputation Action event Mailwarden published (detail), oldest first."""
    deployment.deliver()
    return [e["detail"] for e in deployment.published if e["detail-type"] == "Reputation Action"]


def reinstatements(deployment: LocalDeployment) -> list[dict[str, Any]]:
    sfn = deployment.emu.client("stepfunctions")
    arn = deployment.state_machines["reputation-reinstate"]
    return list(sfn.list_executions(stateMachineArn=arn)["executions"])
