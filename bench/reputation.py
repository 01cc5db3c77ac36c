"""Reconcile at scale on the emulator's virtual clock: N entities, 2 % needing a change.

Measures, in one emulated account: the calls a Mailwarden run makes (through its real trigger,
the schedule, and its real workflow), the theoretical minimum, a naive boto3 script (list, then
GetReputationEntity per entity, then an update per change) run against the same estate, simulated
seconds at SES's 1 request/second vs calls / rate, and pure policy-evaluation throughput.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

from mailwarden.aws import clients
from mailwarden.aws.ses import SesReputation
from mailwarden.policy import parse_policy
from mailwarden.reputation.engine import Finding, decide
from mailwarden.reputation.guard import minimum_calls
from mailwarden.reputation.model import EntityState

from local.deployment import LocalDeployment
from local.emulator import emulated_aws

POLICY = """
version: 1
reputation:
  mode: apply
  maxDisablesPerRun: {cap}
  allowlist: [{{names: [vip]}}]
  rules:
    - name: pause-high
      disableWhen: {{types: [BOUNCE, COMPLAINT], impact: [HIGH]}}
    - name: reinstate-24h
      reinstateWhen: {{fixedForHours: 24}}
"""
RATE = 1.0  # SES: 1 request/second


def _estate(emu: Any, n: int, share: float) -> list[str]:
    arns = [emu.sesv2.add_tenant(f"tenant-{i:06d}").arn for i in range(n)]
    emu.control.emit_events = False  # the run must find them itself
    flagged = arns[:: int(1 / share)]
    for arn in flagged:
        emu.control.raise_finding(arn, "BOUNCE", "HIGH")
    for arn in flagged:  # reset SES's own reaction: the estate starts "customer ENABLED, finding OPEN"
        emu.control.entity(arn).ses.status = "ENABLED"
    return flagged


def _ses_calls(counter: Counter[str]) -> int:
    return sum(n for op, n in counter.items() if op.startswith("sesv2."))


def reconcile(n: int = 10_000, share: float = 0.02, *, naive: bool = True) -> dict[str, Any]:
    with emulated_aws(ses_rate=RATE) as emu:
        d = LocalDeployment(emu, policy=POLICY.format(cap=n))
        flagged = _estate(emu, n, share)
        before, t0 = Counter(emu.calls), emu.clock.time()
        started = d.tick()
        done = d.finished(started["execution"], timeout=600)
        result = json.loads(done["output"])["run"]["result"]
        calls = Counter(emu.calls) - before
        simulated = emu.clock.time() - t0
        disabled = sum(emu.control.entity(a).customer.status == "DISABLED" for a in flagged)
        throttled = sum(v for k, v in emu.dispatcher.outcomes.items() if k.startswith("sesv2.") and "TooMany" in k)
        scans = sum(1 for i in emu.lambdas.invocations if i["event"].get("step") == "scan")
        applies = sum(1 for i in emu.lambdas.invocations if i["event"].get("step") == "apply")
    ses = _ses_calls(calls)
    key = f"reconcile.n{n}"
    figures: dict[str, Any] = {
        f"{key}.entities": n,
        f"{key}.changes": len(flagged),
        f"{key}.changes_applied": disabled,
        f"{key}.ses_calls": ses,
        f"{key}.ses_calls_minimum": minimum_calls(n, len(flagged), len(flagged)),
        f"{key}.ses_calls_by_operation": {k: v for k, v in sorted(calls.items()) if k.startswith("sesv2.")},
        f"{key}.ses_throttling_errors": throttled,
        f"{key}.simulated_seconds": round(simulated, 1),
        f"{key}.calls_over_rate_seconds": round(ses / RATE, 1),
        f"{key}.scan_invocations": scans,
        f"{key}.apply_invocations": applies,
        f"{key}.pages": result["pages"],
    }
    if not naive:
        return figures
    with emulated_aws(ses_rate=RATE) as emu:
        LocalDeployment(emu)
        flagged = _estate(emu, n, share)
        before, t0 = Counter(emu.calls), emu.clock.time()
        _naive(clients.client("sesv2"))
        naive_calls = Counter(emu.calls) - before
        naive_seconds = emu.clock.time() - t0
    figures[f"{key}.naive_ses_calls"] = _ses_calls(naive_calls)
    figures[f"{key}.naive_vs_mailwarden_calls"] = round(_ses_calls(naive_calls) / ses, 1)
    figures[f"{key}.naive_simulated_seconds"] = round(naive_seconds, 1)
    return figures


def _naive(client: Any) -> None:
    """What a hand-written script does: list, Get each entity, list open findings, update."""
    ses = SesReputation(client)
    refs: list[str] = []
    token: str | None = None
    while True:
        page, token = ses.list_entities(token)
        refs += [e.reference for e in page]
        if token is None:
            break
    high = {ref for ref, found in ses.open_findings().items() if any(f.impact == "HIGH" for f in found)}
    for ref in refs:
        entity = client.get_reputation_entity(ReputationEntityType="RESOURCE", ReputationEntityReference=ref)
        if ref in high and entity["ReputationEntity"]["CustomerManagedStatus"]["Status"] != "DISABLED":
            client.update_reputation_entity_customer_managed_status(
                ReputationEntityType="RESOURCE", ReputationEntityReference=ref, SendingStatus="DISABLED"
            )


def evaluation_throughput(n: int = 100_000) -> dict[str, Any]:
    """Pure policy evaluation (no AWS): entities per CPU second."""
    policy = parse_policy(POLICY.format(cap=10)).reputation
    now = datetime(2026, 11, 21, tzinfo=UTC)
    base = "arn:aws:ses:us-east-1:123456789012:tenant/t-{i}/tn-{i}"
    entities = [
        EntityState(
            base.format(i=i), "arn:aws:ses:us-east-1:aws:reputation-policy/standard", "ENABLED", "ENABLED", "ENABLED"
        )
        for i in range(n)
    ]
    finding = [Finding("", "BOUNCE", "HIGH", "OPEN", now)]

    class NoLookups:
        def tags(self, reference: str) -> dict[str, str]:
            return {}

        def findings(self, reference: str) -> list[Finding]:
            return []

    lookups = NoLookups()
    cpu = time.process_time()
    acted = 0
    for i, e in enumerate(entities):
        acted += len(decide(policy, e, finding if i % 50 == 0 else [], None, now, lookups))
    spent = time.process_time() - cpu
    return {
        "policy_eval.entities": n,
        "policy_eval.decisions": acted,
        "policy_eval.cpu_seconds": round(spent, 3),
        "policy_eval.entities_per_cpu_second": int(n / spent) if spent else n,
    }


def all_figures() -> dict[str, Any]:
    return {**reconcile(), **reconcile(100_000, naive=False), **evaluation_throughput()}
