"""Issue 19, the CLI's edges, driven against the emulator: the documented --behavior-on-mx-failure
works end to end, non-positive --limit values are usage errors, and ``approvals show oldest``."""

from __future__ import annotations

import pytest
from mailwarden.cli.render import ExitCode

from local.deployment import LocalDeployment
from local.sample import ORGANIZATION, seed_estate
from tests.cli_support import cli


@pytest.fixture
def estate(deployment: LocalDeployment) -> dict[str, str]:
    return seed_estate(deployment)


def test_mail_from_set_with_behavior_on_mx_failure_reaches_ses(deployment, estate):
    ident = estate["identity"]
    run = cli(deployment, "mail-from", "set", ident, f"bounce.{ident}", "--behavior-on-mx-failure", "REJECT_MESSAGE")
    assert run.code == ExitCode.OK, run.out + run.err
    attrs = deployment.emu.client("sesv2").get_email_identity(EmailIdentity=ident)["MailFromAttributes"]
    assert attrs["MailFromDomain"] == f"bounce.{ident}" and attrs["BehaviorOnMxFailure"] == "REJECT_MESSAGE"
    bad = cli(deployment, "mail-from", "set", ident, f"bounce.{ident}", "--behavior-on-mx-failure", "BOUNCE")
    assert bad.code == ExitCode.USAGE and "invalid choice" in bad.err


@pytest.mark.parametrize("limit", ["0", "-1", "-50", "two"])
def test_a_limit_that_is_not_positive_is_a_usage_error(deployment, estate, limit):
    cli(deployment, "kill-switch", "on", "--reason", "a record to find")
    run = cli(deployment, "audit", "--limit", limit)
    assert run.code == ExitCode.USAGE
    assert "--limit: expected a whole number of at least 1" in run.err
    assert run.out == ""  # not "No audit records match"


def test_a_positive_limit_shows_exactly_that_many_newest_first(deployment, estate):
    for reason in ("first", "second", "third"):
        cli(deployment, "kill-switch", "on" if reason != "second" else "off", "--reason", reason)
    every = cli(deployment, "--output", "json", "audit", "--prefix", "kill-switch").json()
    assert every["count"] == 3
    one = cli(deployment, "--output", "json", "audit", "--prefix", "kill-switch", "--limit", "1").json()
    assert one["entries"] == every["entries"][:1]
    two = cli(deployment, "--output", "json", "audit", "--prefix", "kill-switch", "--limit", "2").json()
    assert two["entries"] == every["entries"][:2]


def test_approvals_show_oldest_shows_the_oldest_pending_request_like_decide_oldest(deployment, estate):
    org = estate["organization"]
    assert cli(deployment, "approvals", "show", "oldest").code == ExitCode.NOT_FOUND  # none yet
    for name in ("bob", "alice"):
        run = cli(deployment, "offboard", f"{name}@{ORGANIZATION}.example.com", "--org", org, "--reason", "leaver")
        assert run.code == ExitCode.PENDING_APPROVAL, run.out + run.err
        deployment.emu.clock.advance(60)
    pending = cli(deployment, "--output", "json", "approvals", "list").json()["approvals"]
    assert len(pending) == 2
    oldest = cli(deployment, "--output", "json", "approvals", "show", "oldest")
    assert oldest.code == ExitCode.PENDING_APPROVAL
    assert oldest.json() == cli(deployment, "--output", "json", "approvals", "show", pending[0]["requestId"]).json()
    assert "bob" in oldest.json()["subject"] + oldest.json()["summary"]
    text = cli(deployment, "approvals", "show", "oldest")
    assert text.out.startswith(pending[0]["requestId"])


def test_what_other_threads_print_while_a_command_parses_never_lands_in_its_output():
    """A local deployment's function still running in another thread (an approval request finishing
    after the last command returned) prints its EMF line while the next command parses: it went into
    that command's output while argparse's streams were a process-wide redirect."""
    import io
    import threading

    from mailwarden.cli import main

    stop = threading.Event()

    def chatter() -> None:
        while not stop.is_set():
            print('{"_aws": "an EMF line from another thread"}')

    thread = threading.Thread(target=chatter, daemon=True)
    out, err = io.StringIO(), io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(io.StringIO()):  # where the functions' prints go in this test
        thread.start()
        try:
            for _ in range(20):
                main(["--help"], out=out, err=err)
        finally:
            stop.set()
            thread.join()
    assert "usage: mailwarden" in out.getvalue() and "_aws" not in out.getvalue() + err.getvalue()
