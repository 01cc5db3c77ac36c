"""Helpers for Partner Central tests: a policy, the emulated preferences, runs and what was reported."""

from __future__ import annotations

from typing import Any

from mailwarden.aws.partner import DynamoWideningStore
from mailwarden.clock import default_clock
from mailwarden.partner.ports import WideningRecord

from local.deployment import LocalDeployment

GET = "partnercentral-account.GetConnectionPreferences"
UPDATE = "partnercentral-account.UpdateConnectionPreferences"
EVENT = "Partner Connection Preferences"


def policy(
    access_type: str = "ALLOW_BY_DEFAULT_DENY_SOME",
    excluded: list[str] | None = None,
    *,
    mode: str = "apply",
    approval: str = "widening",
    retries: int = 5,
    sandbox: str | None = None,
) -> str:
    catalogs = f"    AWS: {{accessType: {access_type}, excludedParticipantIds: [{', '.join(excluded or [])}]}}\n"
    if access_type != "ALLOW_BY_DEFAULT_DENY_SOME":
        catalogs = f"    AWS: {{accessType: {access_type}}}\n"
    if sandbox:
        catalogs += f"    Sandbox: {{accessType: {sandbox}}}\n"
    return (
        f"version: 1\npartner:\n  mode: {mode}\n  requireApproval: {approval}\n  maxConflictRetries: {retries}\n"
        f"  catalogs:\n{catalogs}"
    )


def state(deployment: LocalDeployment, catalog: str = "AWS") -> tuple[str, list[str], int]:
    p = deployment.emu.partnercentral.prefs[catalog]
    return p.access_type, sorted(p.excluded), p.revision


def run(deployment: LocalDeployment, catalog: str = "AWS") -> dict[str, Any]:
    """Fire the partner reconcile schedule; the catalog's result."""
    out = deployment.tick("partner-reconcile")
    return dict(out["catalogs"][catalog])


def reported(deployment: LocalDeployment) -> list[dict[str, Any]]:
    """Every Partner Connection Preferences event so far (detail), oldest first."""
    deployment.deliver()
    return deployment.events_of(EVENT)


def widenings(deployment: LocalDeployment) -> list[dict[str, Any]]:
    sfn = deployment.emu.client("stepfunctions")
    arn = deployment.state_machines["partner-widening"]
    return list(sfn.list_executions(stateMachineArn=arn)["executions"])


def running(deployment: LocalDeployment) -> list[str]:
    """The widening executions still running (waiting for a human)."""
    return [e["executionArn"] for e in widenings(deployment) if e["status"] == "RUNNING"]


def record(deployment: LocalDeployment, catalog: str = "AWS") -> WideningRecord:
    """The catalog's widening record, as the guard table holds it."""
    store = DynamoWideningStore(deployment.emu.client("dynamodb"), deployment.tables["guard"], default_clock())
    found = store.load(catalog)
    assert found is not None, f"no widening record for {catalog}"
    return found
