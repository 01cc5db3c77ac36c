"""Partner Central: calls per catalog and run against the minimum, per case. Minimum: 1 read when in
sync; 1 read + 1 write for a drift; each race another writer wins costs 1 more read + the stale write;
an approved widening is read once more before its write (the approval is re-checked)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from local.deployment import LocalDeployment
from local.emulator import emulated_aws
from tests.partner_support import GET, UPDATE, policy

SOME = "ALLOW_BY_DEFAULT_DENY_SOME"


def _calls(d: LocalDeployment, action: Any) -> dict[str, Any]:
    before, slept = Counter(d.emu.calls), d.emu.clock.slept
    result = action()
    calls = Counter(d.emu.calls) - before
    return {
        "outcome": result["outcome"],
        "reads": calls[GET],
        "writes": calls[UPDATE],
        "backoff_seconds": round(d.emu.clock.slept - slept, 2),
    }


def _run(d: LocalDeployment) -> dict[str, Any]:
    return dict(d.tick("partner-reconcile")["catalogs"]["AWS"])


def all_figures() -> dict[str, Any]:
    out: dict[str, Any] = {}
    cases: dict[str, tuple[dict[str, Any], int]] = {}
    with emulated_aws() as emu:
        d = LocalDeployment(emu, policy=policy(SOME, ["competitor-1"]))
        cases["drift"] = (_calls(d, lambda: _run(d)), 2)
        cases["in_sync"] = (_calls(d, lambda: _run(d)), 1)
        for races in (1, 3, 5):
            emu.control.other_writer("AWS", "ALLOW_ALL")
            emu.control.race_partner_writer(times=races)
            cases[f"races_{races}"] = (_calls(d, lambda: _run(d)), 2 * (races + 1))
        hundred = [f"participant-{i:03d}" for i in range(100)]
        emu.control.other_writer("AWS", "ALLOW_ALL")
        d.set_policy(policy(SOME, hundred))
        cases["exclusions_100"] = (_calls(d, lambda: _run(d)), 2)
        d.set_policy(policy(SOME, ["competitor-1"], retries=5))
        emu.control.other_writer("AWS", "ALLOW_ALL")
        emu.control.race_partner_writer(times=50)
        cases["writer_always_wins"] = (_calls(d, lambda: _run(d)), 12)  # bounded: 6 attempts, then an alert
        emu.partnercentral.before_update.clear()
        emu.control.other_writer("AWS", "DENY_ALL")
        d.set_policy(policy("ALLOW_ALL"))

        def widen() -> dict[str, Any]:
            asked = _run(d)
            d.approve_by_link(asked["execution"])
            d.finished(asked["execution"])
            return {"outcome": emu.partnercentral.prefs["AWS"].access_type}

        cases["approved_widening"] = (_calls(d, widen), 3)
        for name, (figures, minimum) in cases.items():
            calls = figures["reads"] + figures["writes"]
            out[f"partner.{name}.outcome"] = figures["outcome"]
            out[f"partner.{name}.calls"] = calls
            out[f"partner.{name}.minimum"] = minimum
            out[f"partner.{name}.backoff_seconds"] = figures["backoff_seconds"]
    return out
