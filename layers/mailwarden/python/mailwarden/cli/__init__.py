"""``mailwarden``: the operator's command line (README "CLI").

    mailwarden [--local | --stack NAME --region R --profile P] [--output text|json] COMMAND ...

Exit codes are in :class:`mailwarden.cli.render.ExitCode`.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shlex
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, TextIO

from . import commands as c
from . import exit_org as x
from .render import CliError, Console, ExitCode, Result
from .target import AwsTarget, LocalTarget, Target, local_target

DEFAULT_STACK = "Mailwarden-dev"


def _version() -> str:
    """The installed distribution's version (``make install`` installs it); a bare checkout says so."""
    try:
        return importlib.metadata.version("mailwarden")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def positive(value: str) -> int:
    """An argparse type: a whole number of at least 1 (else a usage error, exit 2)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {number}")
    return number


# Where argparse writes help and usage errors: this command's streams. A redirect of sys.stdout would
# be process-wide, and a local deployment's functions still running in other threads (an approval
# request finishing after the command returned) would print their EMF lines into the command's output.
_STREAMS: ContextVar[tuple[TextIO, TextIO] | None] = ContextVar("mailwarden_cli_streams", default=None)


class _Parser(argparse.ArgumentParser):
    def _print_message(self, message: str, file: Any = None) -> None:
        streams = _STREAMS.get()
        if streams is None or not message:
            super()._print_message(message, file)
            return
        out, err = streams
        (err if file is sys.stderr else out).write(message)


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="mailwarden",
        description="Operate Mailwarden: plan and apply policies, offboard, exit an organization, MAIL FROM, "
        "approvals, audit, kill switch.",
        epilog="Exit codes: 0 ok, 1 failed, 2 usage, 3 changes planned (--detailed-exitcode), 4 waiting for "
        "approval, 5 halted or refused, 6 not found, 7 credentials or access, 8 timed out waiting.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    where = p.add_argument_group("where")
    where.add_argument("--local", action="store_true", help="run against the embedded emulator (a sample estate)")
    where.add_argument("--stack", default=os.environ.get("MAILWARDEN_STACK", DEFAULT_STACK), help="deployed stack")
    where.add_argument("--region", default=None, help="AWS region (default: the credential chain's)")
    where.add_argument("--profile", default=None, help="AWS named profile")
    p.add_argument("--output", "-o", choices=["text", "json"], default="text", help="json: one document on stdout")
    p.add_argument("--timeout", type=float, default=900, help="seconds to follow a workflow (default 900)")
    p.add_argument("--no-wait", action="store_true", help="start, report, and do not follow the workflow")
    p.add_argument("--verbose", "-v", action="store_true", help="--local: show the functions' logs on stderr")
    p.add_argument("--as", dest="actor", default="", help="requester recorded in the audit (default: your identity)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for verb, helptext in (("plan", "show what a policy would change (writes nothing)"), ("apply", "apply a policy")):
        cmd = sub.add_parser(verb, help=helptext)
        cmd.add_argument("capability", choices=["reputation", "partner"])
        cmd.add_argument("--reason", default=f"{verb} from the mailwarden CLI", help="recorded in the audit trail")
        cmd.add_argument("--catalog", action="append", choices=["AWS", "Sandbox"], help="partner: only this catalog")
        if verb == "plan":
            cmd.add_argument("--detailed-exitcode", action="store_true", help="exit 3 when changes are planned")
        else:
            cmd.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    off = sub.add_parser("offboard", help="offboard a WorkMail user (export, strip, deregister; delete after approval)")
    off.add_argument("user", help="user id or email address")
    off.add_argument("--org", required=True, help="WorkMail organization id (m-...)")
    off.add_argument("--reason", required=True)
    off.add_argument("--dry-run", action="store_true", help="show what would be removed; change nothing")
    off.add_argument("--export", dest="export", action="store_true", default=None, help="export the mailbox first")
    off.add_argument("--no-export", dest="export", action="store_false", help="skip the mailbox export")

    dec = sub.add_parser("decommission-org", help="offboard every user of a WorkMail organization (one approval)")
    dec.add_argument("org", help="WorkMail organization id (m-...)")
    dec.add_argument("--reason", required=True)
    dec.add_argument("--dry-run", action="store_true")
    dec.add_argument("--export", dest="export", action="store_true", default=None)
    dec.add_argument("--no-export", dest="export", action="store_false")

    ex = sub.add_parser(
        "exit-org",
        help="move a WorkMail organization out: inventory, verified exports, DNS cut-over, soak, deletion "
        "(two approvals); or roll its DNS back",
    )
    ex.add_argument("org", help="WorkMail organization id (m-...)")
    ex.add_argument("--target-records", metavar="FILE", help="the next provider's records (YAML or JSON; - is stdin)")
    ex.add_argument("--reason", required=True)
    ex.add_argument("--dry-run", action="store_true", help="inventory and plan only; change nothing")
    ex.add_argument("--detailed-exitcode", action="store_true", help="--dry-run: exit 3 (an exit changes everything)")
    ex.add_argument("--soak-days", type=positive, help="days between the cut-over and the deletion (default 7)")
    ex.add_argument("--request-id", help="the exit to start or follow (default: exit-<org>; sent again, it resumes)")
    ex.add_argument("--rollback", metavar="EXIT_ID", help="put this exit's DNS back as it was and stop the exit")

    mf = sub.add_parser("mail-from", help="an SES identity's MAIL FROM domain (through the MAIL FROM API)")
    mfs = mf.add_subparsers(dest="action", required=True, metavar="ACTION")
    get = mfs.add_parser("get", help="the MAIL FROM domain, its status and records")
    get.add_argument("identity")
    put = mfs.add_parser("set", help="set the MAIL FROM domain and publish its MX and SPF records")
    put.add_argument("identity")
    put.add_argument("domain")
    put.add_argument("--behavior-on-mx-failure", choices=["USE_DEFAULT_VALUE", "REJECT_MESSAGE"])

    ap = sub.add_parser("approvals", help="approval requests")
    aps = ap.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = aps.add_parser("list", help="pending approvals (or --state)")
    ls.add_argument("--state", default="PENDING", choices=["PENDING", "APPROVED", "REJECTED", "EXPIRED", "all"])
    show = aps.add_parser("show", help="one request: what, why, plan, who may decide, until when")
    show.add_argument("id", help="an approval id, or 'oldest' (the oldest pending)")

    au = sub.add_parser("audit", help="search the audit trail (newest first)")
    au.add_argument("subject", nargs="?", help="exact subject: an entity ARN, partner:AWS, run#..., kill-switch")
    au.add_argument("--prefix", help="subjects starting with this (e.g. partner:, workmail:)")
    au.add_argument("--since", help="30m, 24h, 7d or an ISO time")
    au.add_argument("--outcome", help="applied, planned, skipped, rejected, ...")
    au.add_argument("--actor", help="actor contains this")
    au.add_argument("--grep", help="subject, action or reason contains this")
    au.add_argument("--limit", type=positive, default=50, help="at most this many records (default 50)")

    sub.add_parser(
        "status", help="kill switch, pending approvals, dead letters, MAIL FROM (exit 5: something needs you)"
    )

    de = sub.add_parser("decide", help="--local only: press Approve or Reject in an approval email")
    de.add_argument("id", help="an approval id, or 'oldest' (the oldest pending)")
    de.add_argument("decision", choices=["approve", "reject"])
    de.add_argument("--approver", default="", help="which approver (default: the first allowed)")

    sub.add_parser(
        "shell",
        help="read commands from stdin, one per line, against one target (with --local: one emulator for all)",
    )

    ks = sub.add_parser("kill-switch", help="stop (on) or allow (off) every write; no argument shows it")
    ks.add_argument("state", nargs="?", choices=["on", "off"])
    ks.add_argument("--reason", help="required to change it; recorded in the audit trail")
    return p


def confirm(console: Console, what: str, assume_yes: bool, stdin: TextIO) -> None:
    if assume_yes:
        return
    if not stdin.isatty():
        raise CliError(ExitCode.USAGE, f"{what}: pass --yes to apply without a terminal to confirm on.")
    console.note(f"{what}? Type 'yes' to go on:")
    if stdin.readline().strip() != "yes":
        raise CliError(ExitCode.HALTED, "Not applied: confirmation declined.")


def run(args: argparse.Namespace, ctx: c.Ctx, stdin: TextIO) -> Result:
    match args.command:
        case "plan" | "apply":
            mode = args.command
            if mode == "apply":
                confirm(ctx.console, f"Apply the {args.capability} policy to {ctx.target.description}", args.yes, stdin)
            detailed = getattr(args, "detailed_exitcode", False)
            if args.capability == "reputation":
                return c.reputation(ctx, mode, args.reason, detailed)
            return c.partner(ctx, mode, args.reason, args.catalog, detailed)
        case "offboard":
            return c.offboard(ctx, args.user, args.org, args.reason, args.dry_run, args.export)
        case "decommission-org":
            return c.decommission(ctx, args.org, args.reason, args.dry_run, args.export)
        case "exit-org":
            return exit_org(args, ctx, stdin)
        case "mail-from":
            if args.action == "get":
                return c.mail_from_get(ctx, args.identity)
            return c.mail_from_set(ctx, args.identity, args.domain, args.behavior_on_mx_failure)
        case "approvals":
            if args.action == "list":
                return c.approvals_list(ctx, args.state)
            return c.approvals_show(ctx, args.id)
        case "audit":
            return c.audit(ctx, args.subject, args.prefix, args.since, args.outcome, args.actor, args.grep, args.limit)
        case "kill-switch":
            return c.kill_switch(ctx, args.state, args.reason)
        case "status":
            return c.status(ctx)
        case "decide":
            return c.decide(ctx, args.id, args.decision, args.approver)
        case "shell":
            return Result(shell(args, ctx, stdin), {}, [])
    raise CliError(ExitCode.USAGE, f"unknown command {args.command}")


def exit_org(args: argparse.Namespace, ctx: c.Ctx, stdin: TextIO) -> Result:
    if args.rollback:
        given = [
            o
            for o, v in (
                ("--target-records", args.target_records),
                ("--dry-run", args.dry_run),
                ("--soak-days", args.soak_days),
                ("--request-id", args.request_id),
            )
            if v
        ]
        if given:
            raise CliError(ExitCode.USAGE, f"exit-org --rollback takes only ORG and --reason, not {', '.join(given)}.")
        return x.rollback(ctx, args.org, args.rollback, args.reason)
    if not args.target_records:
        raise CliError(ExitCode.USAGE, "exit-org needs --target-records FILE (or --rollback EXIT_ID).")
    return x.exit_org(
        ctx,
        args.org,
        args.target_records,
        args.reason,
        stdin,
        dry_run=args.dry_run,
        soak_days=args.soak_days,
        request_id=args.request_id,
        detailed=args.detailed_exitcode,
    )


def shell(outer: argparse.Namespace, ctx: c.Ctx, stdin: TextIO) -> int:
    """One command per line (``#`` comments, blank lines skipped), each with the outer options;
    every command's output and exit code are shown. Returns the last command's exit code."""
    interactive = stdin.isatty()
    code = ExitCode.OK
    while True:
        if interactive:
            ctx.console.note("mailwarden> ")
        line = stdin.readline()
        if not line:
            return code
        words = shlex.split(line, comments=True)
        if not words or words[0] in ("exit", "quit"):
            if words:
                return code
            continue
        try:
            args = parser().parse_args(["--output", outer.output, *words])
        except SystemExit as exc:
            code = int(exc.code or 0)
            continue
        if args.command == "shell":
            ctx.console.note("mailwarden: already in the shell")
            continue
        try:
            code = ctx.console.emit(run(args, ctx, stdin))
        except CliError as exc:
            ctx.console.note(f"mailwarden: {exc}")
            code = exc.code
        if not interactive:
            ctx.console.note(f"[exit {code}] {line.strip()}")


@contextmanager
def _target(args: argparse.Namespace) -> Iterator[Target]:
    if args.local:
        with local_target(verbose=args.verbose) as t:
            yield t
    else:
        yield AwsTarget(args.stack, args.region, args.profile)


def main(
    argv: Sequence[str] | None = None,
    *,
    target: Target | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run one command; returns its exit code. ``target`` (tests, the demo) replaces --local/--stack."""
    err = err or sys.stderr
    token = _STREAMS.set((out or sys.stdout, err))
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return int(exc.code or 0)
    finally:
        _STREAMS.reset(token)
    console = Console(args.output, out, err)
    given: Any = nullcontext(target) if target is not None else _target(args)
    try:
        with given as t:
            if args.local and target is None and isinstance(t, LocalTarget):
                estate = ", ".join(f"{k} {v}" for k, v in t.estate.items() if k in ("organization", "identity"))
                lasts = "this shell session" if args.command == "shell" else "this command (use `shell` for more)"
                console.note(f"Local emulator, fresh sample estate ({estate}); its state lasts for {lasts}.")
            ctx = c.Ctx(t, console, args.timeout, wait=not args.no_wait, actor=args.actor)
            return console.emit(run(args, ctx, stdin or sys.stdin))
    except CliError as exc:
        if args.output == "json":
            console.out.write(json.dumps({"error": exc.code, "message": str(exc)}) + "\n")
        err.write(f"mailwarden: {exc}\n")
        return exc.code
    except KeyboardInterrupt:
        err.write("mailwarden: interrupted; anything already started goes on in AWS.\n")
        return ExitCode.FAILED


__all__ = ["ExitCode", "main", "parser"]
