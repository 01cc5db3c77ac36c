"""Each function's cold start loads only its own capability (and the heavy libraries it uses), with
tracing active as deployed: checked in a fresh process per function, as ``bench_cold_init`` measures.

A capability is a package under ``mailwarden`` (approvals, mailfrom, partner, reputation, workmail,
api, health). The policy file is validated whole, so a function that loads the policy also loads the
model modules of the policy's other sections (``POLICY_MODELS``), and nothing else of theirs.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from mailwarden.contracts.functions import FUNCTIONS, FunctionSpec

from bench.run import ROOT, lambda_env

CAPABILITIES = ("approvals", "mailfrom", "partner", "reputation", "workmail", "api", "health", "cli")
POLICY_MODELS = {"mailwarden.mailfrom.model", "mailwarden.partner.model"}  # what mailwarden.policy imports

# function -> the capabilities it uses
USES: dict[str, set[str]] = {
    "ses_events": {"reputation"},
    "reputation_trigger": {"reputation"},
    "reputation_reconcile": {"reputation"},
    "approval_request": {"approvals"},
    "approval_callback": {"approvals"},
    # an exit's target records are checked with the MAIL FROM publisher's DNS rules (mailfrom.records),
    # and its steps write through the same Route 53 adapter (aws.mailfrom)
    "workmail_trigger": {"workmail", "mailfrom"},
    "workmail_offboard": {"workmail"},
    "workmail_exit": {"workmail", "mailfrom"},
    "mail_from_api": {"mailfrom", "api"},
    "mail_from_watch": {"mailfrom"},
    "partner_connections": {"partner"},
    "health_metrics": {"health", "approvals", "mailfrom"},  # counts pending approvals and MAIL FROM identities
}
# heavy module -> the only functions that may import it
HEAVY: dict[str, set[str]] = {
    "jwt": {"mail_from_api"},  # bearer tokens
    "cryptography": {"mail_from_api"},
    "aws_lambda_powertools.event_handler": {"mail_from_api", "approval_callback"},  # API Gateway routes
    "aws_lambda_powertools.utilities.idempotency": {"ses_events"},
    "yaml": set(),  # the deployed policy is one line of JSON: read without the YAML parser
    "requests": set(),  # X-Ray's patch_all would import it; no function uses it
}

_PROBE = """
import importlib, json, sys
importlib.import_module("functions.{name}.handler")
from mailwarden import wiring
getattr(wiring, "{name}")()
from aws_xray_sdk.core import patcher
from mailwarden.observability import tracer
print(json.dumps({{"modules": sorted(sys.modules), "tracing": not tracer.disabled,
                  "patched": sorted(patcher._PATCHED_MODULES)}}))
"""


def _cold_start(spec: FunctionSpec) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(name=spec.name)],
        capture_output=True,
        text=True,
        env=lambda_env(ROOT / "functions" / spec.name),
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_every_function_says_what_it_uses() -> None:
    assert set(USES) == {spec.name for spec in FUNCTIONS}


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.name)
def test_a_cold_start_loads_only_the_capabilities_the_function_uses(spec: FunctionSpec) -> None:
    probe = _cold_start(spec)
    modules = set(probe["modules"])  # type: ignore[call-overload]
    assert f"functions.{spec.name}.handler" in modules
    assert probe["tracing"] is True  # measured as deployed: active tracing, not disabled
    assert probe["patched"] == ["botocore"]  # every AWS call traced; nothing else imported to be patched

    allowed = POLICY_MODELS if "mailwarden.policy" in modules else set()
    foreign = sorted(
        m
        for m in modules
        if m.split(".")[0] == "mailwarden"
        and len(m.split(".")) > 1
        and m.split(".")[1] in CAPABILITIES
        and m.split(".")[1] not in USES[spec.name]
        and m not in allowed
        and m != f"mailwarden.{m.split('.')[1]}"  # a package's empty __init__ (a parent of an allowed model)
    )
    assert foreign == [], f"{spec.name} imports capabilities it does not use"
    heavy = sorted(h for h, users in HEAVY.items() if spec.name not in users and any(_within(m, h) for m in modules))
    assert heavy == [], f"{spec.name} imports libraries it does not use"


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


_UNTRACED_PROBE = """
import json, sys
from mailwarden.observability import tracer

@tracer.capture_lambda_handler
def handler(event, context):
    if event.get("fail"):
        raise ValueError("boom")
    return {"ok": event["n"] + 1}

@tracer.capture_method
def step(n):
    return n * 2

answers = [handler({"n": 1}, None), step(4)]
try:
    handler({"fail": True}, None)
except ValueError as e:
    answers.append(str(e))
print(json.dumps({"answers": answers, "disabled": tracer.disabled,
                  "recorder": "aws_xray_sdk.core" in sys.modules}))
"""


@pytest.mark.parametrize("where", ["outside Lambda", "POWERTOOLS_TRACE_DISABLED"])
def test_where_tracing_is_off_no_xray_recorder_is_built_and_traced_code_runs_as_written(where: str) -> None:
    """The CLI, the emulator and tests: Powertools would build X-Ray's recorder even disabled (~110 ms)."""
    env = lambda_env()
    if where == "outside Lambda":
        env = {k: v for k, v in env.items() if not k.startswith(("AWS_LAMBDA_", "_X_AMZN", "LAMBDA_"))}
        env.pop("POWERTOOLS_TRACE_DISABLED", None)
    else:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    out = subprocess.run(
        [sys.executable, "-c", _UNTRACED_PROBE],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe == {"answers": [{"ok": 2}, 8, "boom"], "disabled": True, "recorder": False}
