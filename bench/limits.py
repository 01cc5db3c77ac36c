"""Platform limits, measured on the emulator as AWS enforces them (issue 17): does each path fit?

* ``limits.mail_from_put``: a PUT /mail-from-attributes while Route 53 keeps the change PENDING for
  120 s, through API Gateway's 29-second integration timeout;
* ``limits.reconcile_100k_tags``: a reconcile of 100,000 tenants whose tier rule selects by tag (every
  tenant's tags are a paced SES call), every invocation inside reputation_reconcile's 900 s timeout;
* ``limits.iam``: the whole test suite with IAM by execution (every call a function or a workflow
  makes evaluated as the synthesized stack's roles allow): AccessDenied for the shipped roles;
* ``limits.decommission_1000`` is measured with the WorkMail figures (``bench/workmail.py``): one run;
  ``limits.exit_1000`` with the organization exit's (``bench/exit.py``).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

from mailwarden.contracts.apis import INTEGRATION_TIMEOUT_MS
from mailwarden.contracts.functions import REPUTATION_RECONCILE

from local.deployment import LocalDeployment
from local.emulator import emulated_aws

TAGGED_POLICY = """
version: 1
reputation:
  mode: apply
  maxDisablesPerRun: {cap}
  rules:
    - name: pause-high
      disableWhen: {{types: [BOUNCE, COMPLAINT], impact: [HIGH]}}
    - name: strict-for-marketing
      select: {{tags: {{team: marketing}}}}
      reputationPolicy: strict
"""


def mail_from_put(pending_seconds: float = 120) -> dict[str, Any]:
    with emulated_aws() as emu:
        d = LocalDeployment(emu)
        emu.control.route53_propagation(pending_seconds)
        emu.client("sesv2").create_email_identity(EmailIdentity="example.com")
        emu.client("route53").create_hosted_zone(Name="example.com", CallerReference="bench")
        emu.clock.advance(2)
        resp = d.api("PUT", "/mail-from-attributes", {"identity": "example.com", "mailFromDomain": "mail.example.com"})
        seconds = d.gateway_latencies[-1]
    return {
        "limits.mail_from_put.virtual_seconds": round(seconds, 2),
        "limits.mail_from_put.integration_timeout_seconds": INTEGRATION_TIMEOUT_MS / 1000,
        "limits.mail_from_put.route53_pending_seconds": pending_seconds,
        "limits.mail_from_put.http_status": resp.status,
        "limits.mail_from_put.dns_change": resp.headers.get("Mailwarden-Dns-Change"),
    }


def reconcile_tags(n: int = 100_000, tagged: float = 0.1, flagged: float = 0.02) -> dict[str, Any]:
    """Every tenant needs its tags (one paced call each): about n seconds of SES calls in one run."""
    key = f"limits.reconcile_{n // 1000}k_tags"
    with emulated_aws() as emu:
        d = LocalDeployment(emu, policy=TAGGED_POLICY.format(cap=n))
        arns = []
        for i in range(n):
            tags = [{"Key": "team", "Value": "marketing"}] if i % int(1 / tagged) == 0 else []
            arns.append(emu.sesv2.add_tenant(f"tenant-{i:06d}", tags=tags).arn)
        emu.control.emit_events = False
        for arn in arns[:: int(1 / flagged)]:
            emu.control.raise_finding(arn, "BOUNCE", "HIGH")
            emu.control.entity(arn).ses.status = "ENABLED"  # the estate starts "customer ENABLED, finding OPEN"
        before, t0 = Counter(emu.calls), emu.clock.time()
        started = d.tick()
        done = d.finished(started["execution"], timeout=7200)
        result = json.loads(done["output"])["run"]["result"]
        calls = Counter(emu.calls) - before
        steps = [i for i in d.invocations if i.function == REPUTATION_RECONCILE.name]
        simulated = emu.clock.time() - t0
        ses = {k: v for k, v in sorted(calls.items()) if k.startswith("sesv2.")}
        findings = len(arns[:: int(1 / flagged)])
        changes = result["counts"].get("applied", 0)
    minimum = math.ceil(n / 100) + math.ceil(findings / 100) + n + changes  # pages, finding pages, tags, writes
    return {
        f"{key}.status": done["status"],
        f"{key}.entities_decided": result["entities"],
        f"{key}.changes_applied": changes,
        f"{key}.max_invocation_seconds": round(max(i.seconds for i in steps), 1),
        f"{key}.function_timeout_seconds": REPUTATION_RECONCILE.timeout_seconds,
        f"{key}.invocations_stopped_by_timeout": sum(i.stopped for i in steps),
        f"{key}.invocations": len(steps),
        f"{key}.ses_calls": sum(ses.values()),
        f"{key}.ses_calls_minimum": minimum,
        f"{key}.ses_calls_ratio": round(sum(ses.values()) / minimum, 4),
        f"{key}.ses_calls_by_operation": ses,
        f"{key}.simulated_hours": round(simulated / 3600, 2),
    }


def iam_over_the_suite() -> dict[str, Any]:
    """Run ``make test``'s suite with MAILWARDEN_IAM_REPORT: the session's IAM totals."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "iam.json"
        env = {**os.environ, "MAILWARDEN_IAM_REPORT": str(report)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # as a developer's shell runs it
        workers = str(max(2, min(4, os.cpu_count() or 2)))  # as the Makefile's WORKERS
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", workers, "--dist", "worksteal"]
        started = time.monotonic()
        subprocess.run(command, cwd=root, env=env, check=True)
        seconds = time.monotonic() - started
        totals = json.loads(report.read_text())
    return {**{f"limits.iam.{k}": v for k, v in totals.items()}, "suite.make_test_seconds": round(seconds, 1)}


def all_figures() -> dict[str, Any]:
    return {**mail_from_put(), **reconcile_tags(), **iam_over_the_suite()}


if __name__ == "__main__":
    print(json.dumps({**mail_from_put(), **reconcile_tags(int(os.environ.get("N", "2000")))}, indent=1))
