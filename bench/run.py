"""Run every benchmark and write ``bench/results.json`` (a flat JSON object of named figures).

Figure names are stable; bench/README.md explains each one. Later capabilities add their own
``bench_*`` functions to ``BENCHES``.
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from mailwarden.contracts.functions import FUNCTIONS, FunctionSpec

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
REPEATS = 7

_BASELINE = """
import time
t = time.perf_counter()
import boto3
s = boto3.session.Session()
for name in {clients!r}:
    s.client(name, region_name="us-east-1")
print(time.perf_counter() - t)
"""

_HANDLER = """
import time
t = time.perf_counter()
import importlib
importlib.import_module("functions.{name}.handler")
from mailwarden import wiring
getattr(wiring, "{name}")()
print(time.perf_counter() - t)
"""


# What Lambda sets for a function with active tracing (infra/functions.py: Tracing.ACTIVE and the
# Powertools variables; POWERTOOLS_TRACE_DISABLED is not set). LAMBDA_TASK_ROOT is how Powertools
# and the X-Ray SDK know they run in Lambda: without it the Tracer disables itself and the SDK
# builds a centralized sampler (two X-Ray clients) that no function builds when deployed.
_LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "mailwarden-bench",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "POWERTOOLS_SERVICE_NAME": "mailwarden",
    "POWERTOOLS_METRICS_NAMESPACE": "Mailwarden",
}
# Set by a test run or a local shell, never by the deployed stack: they would change what is measured.
_NOT_DEPLOYED = ("POWERTOOLS_TRACE_DISABLED", "POWERTOOLS_METRICS_DISABLED", "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE")


@cache
def _deployed_policy() -> str:
    """The policy as the stack deploys it (infra/layers.py: the normalized JSON in a layer)."""
    from mailwarden.policy import load_policy

    path = Path(tempfile.mkdtemp(prefix="mailwarden-bench-policy-")) / "policy.json"
    path.write_text(load_policy(ROOT / "policy" / "mailwarden.yaml").normalized())
    return str(path)


def lambda_env(task_root: Path = ROOT) -> dict[str, str]:
    """The environment of a deployed function (every variable any function reads, plus what Lambda
    sets with active tracing), for a process started from this checkout."""
    return {
        **{k: v for k, v in os.environ.items() if k not in _NOT_DEPLOYED},
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "EVENT_BUS_NAME": "mailwarden-bench",
        "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/bench",
        "APPROVALS_TABLE": "bench-approvals",
        "AUDIT_TABLE": "bench-audit",
        "SIGNING_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench",
        "APPROVERS": "ops@example.com",
        "APPROVAL_REQUESTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench-requests",
        "APPROVAL_DECISIONS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench-decisions",
        "APPROVAL_BASE_URL": "https://bench.execute-api.us-east-1.amazonaws.com/prod/",
        "GUARD_TABLE": "bench-guard",
        "IDEMPOTENCY_TABLE": "bench-idempotency",
        "KILL_SWITCH_PARAMETER": "/bench/kill-switch",
        "POLICY_FILE": _deployed_policy(),
        "REINSTATE_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:bench-reinstate",
        "RECONCILE_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:bench-reconcile",
        "OFFBOARDING_TABLE": "bench-offboarding",
        "EXPORT_BUCKET": "bench-exports",
        "EXPORT_KMS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/bench",
        "EXPORT_ROLE_ARN": "arn:aws:iam::123456789012:role/bench-export",
        "OFFBOARD_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:bench-offboard",
        "DECOMMISSION_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:bench-decommission",
        "MAIL_FROM_TABLE": "bench-mail-from",
        "ALERTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench-alerts",
        "JWT_ISSUER": "https://issuer.example/bench",
        "PARTNER_WIDENING_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:bench-widening",
        **_LAMBDA_ENV,
        "LAMBDA_TASK_ROOT": str(task_root),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "mailwarden" / "python")]),
    }


def _measure(code: str, task_root: Path = ROOT) -> float:
    env = lambda_env(task_root)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def bench_cold_init(spec: FunctionSpec) -> dict[str, float]:
    """Whole-process import + init of a handler vs bare ``import boto3`` + the same clients.

    Measured in alternation in one run (median of REPEATS each) so machine noise hits both sides.
    """
    handler, baseline = [], []
    for _ in range(REPEATS):
        task_root = ROOT / "functions" / spec.name
        baseline.append(_measure(_BASELINE.format(clients=spec.clients), task_root))
        handler.append(_measure(_HANDLER.format(name=spec.name), task_root))
    h, b = statistics.median(handler), statistics.median(baseline)
    return {
        f"cold_init.{spec.name}.ratio": round(h / b, 3),
        f"cold_init.{spec.name}.handler_ms": round(h * 1000, 1),
        f"cold_init.{spec.name}.boto3_baseline_ms": round(b * 1000, 1),
    }


def bench_reconcile() -> dict[str, Any]:
    from bench.reputation import all_figures

    return all_figures()


def bench_workmail() -> dict[str, Any]:
    from bench.workmail import all_figures

    return all_figures()


def bench_exit() -> dict[str, Any]:
    from bench.exit import all_figures

    return all_figures()


def bench_limits() -> dict[str, Any]:
    from bench.limits import all_figures

    return all_figures()


def bench_partner() -> dict[str, Any]:
    from bench.partner import all_figures

    return all_figures()


def bench_mail_from() -> dict[str, Any]:
    from bench.mail_from import all_figures

    return all_figures()


# `mailwarden --local` commands a newcomer types (README "Quick start"), each a fresh process.
CLI_LOCAL = {
    "plan_reputation": ["plan", "reputation"],
    "approvals_list": ["approvals", "list"],
    "decommission_dry_run": ["decommission-org", "m-b96c2d0bd93fb76b33a35d66262a5841", "--reason", "x", "--dry-run"],
}


def bench_cli_local() -> dict[str, Any]:
    """Wall milliseconds of a whole ``python -m mailwarden --local ...`` process (median of 5 after
    one warm-up; the warm-up fills ``.cache/``: the synthesized template, the validated workflows)."""
    import time

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "mailwarden" / "python"), str(ROOT)])}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a newcomer's Python caches bytecode
    figures: dict[str, Any] = {}
    for name, argv in CLI_LOCAL.items():
        times = []
        for i in range(6):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "mailwarden", "--local", *argv], env=env, cwd=ROOT, capture_output=True
            )
            if i:
                times.append(time.perf_counter() - started)
            assert done.returncode in (0, 3, 4), done.stderr
        figures[f"cli.local_{name}_ms"] = round(statistics.median(times) * 1000)
    return figures


def _named(name: str, bench: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """``bench`` under ``name`` (``python -m bench.run cold_init`` selects by name)."""

    def named() -> dict[str, Any]:
        return bench()

    named.__name__ = name
    return named


BENCHES: list[Callable[[], dict[str, Any]]] = [
    bench_cli_local,
    bench_reconcile,
    bench_workmail,
    bench_exit,
    bench_mail_from,
    bench_partner,
    bench_limits,
    *(_named(f"bench_cold_init_{spec.name}", functools.partial(bench_cold_init, spec)) for spec in FUNCTIONS),
]


def main(only: str | None = None) -> None:
    """Every benchmark, or ``python -m bench.run workmail``: only those whose name contains it."""
    results: dict[str, Any] = {}
    if RESULTS.exists():
        results.update(json.loads(RESULTS.read_text()))
    for bench in BENCHES:
        if only and only not in getattr(bench, "__name__", ""):
            continue
        figures = bench()
        results.update(figures)
        for key, value in figures.items():
            print(f"{key:45s} {value}")
    RESULTS.write_text(json.dumps(dict(sorted(results.items())), indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
