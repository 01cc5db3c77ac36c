"""The demo's scenarios, end to end from their triggers, with their figures asserted."""

from __future__ import annotations

import io
import warnings
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Any

import pytest

from local import demo
from tests.cli_support import unreadable


@dataclass(frozen=True)
class DemoRun:
    figures: dict[str, Any]
    text: str
    stray: str  # printed outside the demo's lines (the functions' stdout and stderr)
    warnings: list[str]


@pytest.fixture(scope="module")
def run() -> DemoRun:
    """The demo runs once (about 20 s) and every test reads its own scenario's figures from that run."""
    lines: list[str] = []
    printed, complained = io.StringIO(), io.StringIO()  # what else reaches the terminal
    with redirect_stdout(printed), redirect_stderr(complained), warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        figures = demo.run(lines.append)
    return DemoRun(figures, "\n".join(lines), printed.getvalue() + complained.getvalue(), [str(w) for w in warned])


def test_the_demo_prints_sentences_and_tables_only(run: DemoRun) -> None:
    """No EMF metrics line, no Powertools warning, no dict/list repr: what `make demo` shows a person."""
    assert unreadable(run.text) == []
    assert run.stray == "" and run.warnings == []
    assert "decisions=1, acting=1" in run.text and "kept: administrator@hooli.example.com" in run.text


def test_demo_runs_the_plumbing_end_to_end(run: DemoRun) -> None:
    figures, text = run.figures, run.text
    assert figures["tenants"] == 8
    # BOUNCE open + SES disable, DMARC open + SES disable, resolve + SES re-enable = 6 emitted by "AWS",
    # plus the malformed one we injected.
    assert figures["aws_ses_events"] == 7
    assert figures["handler_runs"] == 7
    assert figures["observations_published"] == 6
    assert figures["dead_lettered"] == 1
    assert figures["virtual_hours"] >= 37
    assert figures["wall_seconds"] < 60
    # Seeding makes 24 SES + 8 WorkMail calls. Per valid event (6) Mailwarden reads the entity and its
    # findings once each and publishes one observation; the repository policy only plans (dry-run), so the
    # two BOUNCE events add a planned disable each (allowlist tag check, audit, event); one DLQ send.
    calls = figures["aws_calls"]["plumbing"]
    assert calls["sesv2"] == 24 + 6 + 6 + 2 and calls["eventbridge"] == 6 + 2
    assert calls["sqs"] == 1 and calls["workmail"] == 8
    assert "DLQ <- ses_events" in text and "aggregate DISABLED" in text and "aggregate ENABLED" in text


def test_demo_shows_an_approval_requested_granted_and_one_timing_out(run: DemoRun) -> None:
    figures, text = run.figures, run.text
    assert figures["approvals_requested"] == 2
    assert figures["approvals_granted"] == 1 and figures["approvals_expired"] == 1
    assert figures["approval_attempts_refused"] == 2  # the forged link and the replay
    assert figures["approval_http"] == {"scanner_get": 200, "forged": 403, "approve": 200, "replay": 409}
    # One decision resumes the workflow exactly once.
    assert figures["aws_calls"]["approvals"]["sfn"] == 1
    assert "What will happen:" in text and "the workflow resumes: SUCCEEDED" in text


def test_demo_disables_reinstates_after_approval_and_catches_a_lost_event(run: DemoRun) -> None:
    figures, text = run.figures, run.text
    assert figures["disabled_by_event"] == 1
    assert figures["updates_from_duplicates"] == 0  # 100 redeliveries of one event
    assert figures["reinstated_after_approval"] == 1 and figures["caught_by_reconcile"] == 1
    assert figures["reconcile_runs"]["first"]["approval-requested"] == 1
    assert figures["reconcile_runs"]["second"]["applied"] == 1
    # The repository's policy only plans: the plumbing scenario writes nothing to SES.
    assert "sesv2.Update" not in text and "plan (the default) to apply" in text
    assert "due at" in text and "aggregate ENABLED" in text


def test_demo_moves_an_organization_out_phase_by_phase(run: DemoRun) -> None:
    figures, text = run.figures, run.text
    assert figures["exit_dry_run_writes"] == 0
    assert figures["exit_mailboxes_verified"] == 3 and figures["exit_mailboxes_unverified"] == 0
    assert figures["exit_dns_changebatches"] == 1  # one hosted zone, one change batch
    assert figures["exit_org_deleted"] == 1 and figures["exit_incomplete"] == 0
    assert figures["exit_cli_codes"] == {
        "dry run": 0,
        "run": 4,
        "approve cut-over": 0,
        "followed after the cut-over": 4,
        "approve deletion": 0,
        "followed to the end": 0,
    }
    # the phases in order: the plan, the exports, the diff, the approval, INSYNC, the soak, the deletion, the summary
    shown = [
        "(dry run: nothing changed). It would move out:",
        "3 users, 3 mailboxes (58.2 MB in all), 1 group, 0 resources, 1 mail domain",
        "export     3 mailboxes exported and verified",
        "- MX initrode.example.com 10 inbound-smtp.us-east-1.amazonaws.com (TTL 3600)",
        "+ MX initrode.example.com 10 mx1.newmail.example.net (TTL 300)",
        "APPROVED by ops-lead@example.com",
        "cut-over   INSYNC",
        "Permanently delete 3 users",
        "7.0 virtual days passed",
        "delete     groups=1 deleted, then the organization",
        "summary    completed: 3/3 mailboxes verified, 3 users deleted, 1 domain(s) cut over",
    ]
    at = [text.find(line) for line in shown]
    assert -1 not in at and at == sorted(at), dict(zip(shown, at, strict=True))


def test_demo_shows_a_mail_from_put_its_records_and_success(run: DemoRun) -> None:
    figures, text = run.figures, run.text
    assert figures["mail_from_status"] == "SUCCESS"
    assert figures["mail_from_writes_per_put"] == 2  # one SES write + one ChangeBatch
    assert figures["mail_from_conflict_http"] == 400 and figures["mail_from_unauthorized_http"] == 401
    assert '"v=spf1 include:_spf.google.com include:amazonses.com -all" | "site=42"' in text
    assert "watcher: initech.example PENDING -> SUCCESS" in text


def test_demo_shows_partner_drift_corrected_conflicts_retried_and_a_widening_approved(run: DemoRun) -> None:
    figures, text = run.figures, run.text
    assert figures["partner_drift_corrected"] == 2 and figures["partner_writes_when_in_sync"] == 0
    assert figures["partner_conflicts_retried"] == 2 and figures["partner_widening_after_approval"] == 1
    # 5 runs x 2 catalogs = 10 reads; 3 writes (2 narrowing corrections + 1 approved widening) + the approved
    # step's read = 14 at the least; the 2 lost races cost one read and one stale write each: 19.
    assert figures["aws_calls"]["partner"]["partnercentral-account"] == 19
    assert "approval-requested" in text and "corrected after 2 conflicts" in text
    # operations: the CLI against the demo's deployment, and the health census
    codes = figures["cli_exit_codes"]
    assert codes["kill-switch on"] == 0 and codes["apply partner (switch on)"] == 5 and codes["kill-switch off"] == 0
    assert codes["status (switch on)"] == 5 and "kill switch        ON: no writes" in text
    assert figures["census_saw_kill_switch"] is True and figures["cli_kill_switch_audit_records"] == 2
    assert "$ mailwarden apply partner --yes   (exit 5)" in text and "the kill switch is engaged" in text


def test_make_demo_checks_every_expected_figure_and_names_the_ones_it_misses(run: DemoRun) -> None:
    assert demo.unmet(run.figures) == []
    broken = {**run.figures, "dead_lettered": 0, "cli_exit_codes": {}}
    assert demo.unmet(broken) == [
        "dead_lettered: expected 1, measured 0",
        "cli_exit_codes/apply partner (switch on): expected 5, measured None",
        "cli_exit_codes/kill-switch on: expected 0, measured None",
    ]
