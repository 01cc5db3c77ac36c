"""``mailwarden exit-org``: move a WorkMail organization out (docs/workmail-exit.md) from the CLI.

The target-records file is read and validated here (nothing is sent for a bad one); the request
goes to ``workmail_trigger`` like the other WorkMail commands, and the CLI follows the
``workmail-exit`` (or ``workmail-exit-rollback``) workflow through its execution history: the input
of the state it is in holds every step's result so far (the plan, the manifest's counts, the DNS
diff, the soak's end, the summary), so the operator's role needs nothing beyond the executions it
may already read. The documents themselves stay in the export bucket; the CLI names where.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, TextIO

from ..contracts.functions import WORKMAIL_TRIGGER
from ..contracts.names import OperatorDetailType
from ..contracts.workflows import EXIT_STOPPED, REJECTED_ERROR, TIMED_OUT_ERROR
from ..workmail.cutover import TargetRecordsError, load_target_records
from .commands import Ctx, aws, follow, operator_event, refused, unfinished, waiting_lines
from .render import CliError, ExitCode, Result, words

DIFF_SHOWN = 40  # diff lines printed (all of them are in the approval and dns-plan.json)
NAMED = 10  # users printed by name (the documents name all)


def exit_id_for(org: str) -> str:
    """The request id of an organization's exit when ``--request-id`` is not given: the same for every
    run of the command, so running it again follows (or resumes) that exit instead of starting another."""
    return "exit-" + re.sub(r"[^A-Za-z0-9_-]", "-", org)[:59]


def read_target_records(path: str, stdin: TextIO) -> dict[str, Any]:
    """The target-records file (``-``: stdin), validated as the exit request will be; a usage error
    (exit 2) with the loader's message otherwise."""
    try:
        text = stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(ExitCode.USAGE, f"--target-records {path}: cannot read it: {exc}") from None
    try:
        return load_target_records(text).as_dict()
    except TargetRecordsError as exc:
        raise CliError(ExitCode.USAGE, f"--target-records {path}: {exc}") from None


def size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover - the loop returns


def counted(plan: dict[str, Any], key: str, noun: str, plural: str = "") -> str:
    n = int(plan.get(key) or 0)
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def holds(plan: dict[str, Any], total: str) -> str:
    """What the organization holds, e.g. ``4 users, 5 mailboxes (3.9 MB), 2 groups, 1 resource, 2 mail domains``."""
    return (
        f"{counted(plan, 'users', 'user')}, {counted(plan, 'mailboxes', 'mailbox', 'mailboxes')} "
        f"({size(int(plan.get('mailboxBytes') or 0))}{total}), {counted(plan, 'groups', 'group')}, "
        f"{counted(plan, 'resources', 'resource')}, {counted(plan, 'domains', 'mail domain')}"
    )


def phase_of(state: str) -> str:
    """The exit's phase (docs/workmail-exit.md) a workflow state belongs to."""
    if state in ("Inventory", "DryRun", "Planned", "RequestRejected"):
        return "inventory"
    if state in ("ExportMailboxes", "Manifest"):
        return "export"
    if "Cutover" in state or "InSync" in state:
        return "cut-over"
    if state.startswith("Soak"):
        return "soak"
    if "Delete" in state or state in ("Deleting", "AnyUsers"):
        return "delete"
    if state.startswith("Rollback") or state == "RolledBack":
        return "rollback"
    return "summary"


def where_it_is(ctx: Ctx, arn: str) -> tuple[str, dict[str, Any]]:
    """The state the execution is in (the last one entered) and that state's input."""
    sfn = ctx.client("stepfunctions")
    kwargs: dict[str, Any] = {"executionArn": arn, "reverseOrder": True, "maxResults": 100}
    while True:
        page = aws("GetExecutionHistory", sfn.get_execution_history, **kwargs)
        for event in page["events"]:
            entered = event.get("stateEnteredEventDetails")
            if entered:
                return str(entered["name"]), json.loads(entered.get("input") or "{}")
        if not page.get("nextToken"):
            return "", {}
        kwargs["nextToken"] = page["nextToken"]


def _result(s: dict[str, Any], key: str) -> dict[str, Any]:
    value = s.get(key)
    return dict(value.get("result") or {}) if isinstance(value, dict) and isinstance(value.get("result"), dict) else {}


def _why(failure: Any) -> str:
    """A caught error's message (``$.failure``: Error and Cause, the Cause a Lambda error's JSON)."""
    if not isinstance(failure, dict):
        return ""
    cause = str(failure.get("Cause") or "")
    try:
        parsed = json.loads(cause)
        cause = str(parsed.get("errorMessage") or cause) if isinstance(parsed, dict) else cause
    except ValueError:
        pass
    return f"{failure.get('Error', '')}: {cause}".strip(": ")


def plan_lines(plan: dict[str, Any]) -> list[str]:
    """The inventory's plan: what the organization holds, what is kept, and what happens in which order."""
    lines = [f"  {holds(plan, ' in all')}"]
    protected = plan.get("protectedUsers") or []
    if protected:
        shown = ", ".join(f"{p.get('email') or p.get('user')} ({p.get('why', '')})" for p in protected[:NAMED])
        more = int(plan.get("protected", len(protected))) - min(len(protected), NAMED)
        lines.append(
            f"  kept: {plan.get('protected', len(protected))} protected: {shown}"
            + (f" and {more} more" if more > 0 else "")
        )
    else:
        lines.append("  kept: no protected users")
    if plan.get("missingTargets"):
        lines.append(
            f"  ! no target records for {words(plan['missingTargets'])}: the cut-over stops until the file has them"
        )
    if plan.get("unknownTargets"):
        lines.append(f"  ! not mail domains of the organization: {words(plan['unknownTargets'])} (remove them)")
    lines.append("  in this order:")
    lines += [f"  ~ {step}" for step in plan.get("order") or []]
    if plan.get("kept"):
        lines.append(f"  ({plan['kept']})")
    lines.append(f"  documents: {plan.get('documents', '')} (inventory.json, users.csv, groups.csv, ...)")
    return lines


def progress_lines(s: dict[str, Any]) -> list[str]:
    """One line (or a few) per phase reached, from the results in the workflow's state ``s``."""
    lines: list[str] = []
    inventory = _result(s, "inventory")
    if inventory:
        plan = inventory.get("plan") or {}
        resumed = f" (resumed at {plan['resumedAt']})" if plan.get("resumedAt") else ""
        lines.append(
            f"inventory  {holds(plan, '')}, {plan.get('protected', 0)} protected{resumed}; "
            f"documents {plan.get('documents', '')}"
        )
    manifest = _result(s, "manifest")
    if manifest:
        line = f"export     {manifest.get('verified', 0)} mailboxes exported and verified"
        if manifest.get("unverified"):
            named = ", ".join(f"{n['user']} ({n['why']})" for n in (manifest.get("notVerified") or [])[:NAMED])
            line += f"; {manifest['unverified']} not verified, kept: {named}"
        lines.append(line)
    cutover_plan = _result(s, "cutoverPlan")
    if cutover_plan.get("alreadyCutOver"):
        lines.append("cut-over   already written")
    elif cutover_plan:
        plan = (cutover_plan.get("approvalRequest") or {}).get("plan") or {}
        diff = list(plan.get("diff") or [])
        lines.append(
            f"cut-over   {plan.get('diffLines', len(diff))} record value(s) change ({plan.get('dnsPlan', '')}):"
        )
        lines += [f"    {d}" for d in diff[:DIFF_SHOWN]]
        if int(plan.get("diffLines", len(diff))) > DIFF_SHOWN:
            lines.append(f"    ... and {int(plan['diffLines']) - DIFF_SHOWN} more (the approval and dns-plan.json)")
    cutover = _result(s, "cutover")
    if cutover:
        lines.append(f"cut-over   approved and written: {cutover.get('changes', 0)} change batch(es)")
    insync = _result(s, "insync")
    if insync:
        lines.append(
            "cut-over   INSYNC"
            if insync.get("insync")
            else f"cut-over   {insync.get('pending')} change(s) not INSYNC yet"
        )
    soak = _result(s, "soak")
    if soak.get("rolledBack"):
        lines.append("soak       ended: the exit was rolled back")
    elif soak:
        lines.append(f"soak       until {soak.get('until')}" + (" (over)" if not soak.get("waitSeconds") else ""))
    delete_plan = (_result(s, "deletePlan").get("approvalRequest") or {}).get("plan") or {}
    if delete_plan:
        kept = delete_plan.get("kept") or []
        line = f"delete     {delete_plan.get('delete', 0)} users to delete"
        if kept:
            line += f"; kept {delete_plan.get('keptCount', len(kept))}: " + ", ".join(
                f"{k['user']} ({k['why']})" for k in kept[:NAMED]
            )
        lines.append(line + ("" if delete_plan.get("organization") else "; the organization is kept"))
    deleting = _result(s, "deleting")
    if deleting:
        lines.append(f"delete     approved by {deleting.get('approvedBy')}")
    rest = _result(s, "deleteRest")
    if rest.get("organizationDeleted"):
        done = {k: rest[k] for k in ("groups", "resources", "domains") if rest.get(k)}
        lines.append(f"delete     {words(done) if done else 'nothing else'} deleted, then the organization")
    elif rest:
        lines.append(f"delete     the organization is kept: {rest.get('why')}")
    return lines


def summary_lines(ctx: Ctx, org: str, exit_id: str, summary: dict[str, Any]) -> list[str]:
    lines = [
        f"summary    {summary.get('outcome')}: {summary.get('verified', 0)}/{summary.get('mailboxes', 0)} mailboxes "
        f"verified, {summary.get('deleted', 0)} users deleted, {summary.get('domainsCutOver', 0)} domain(s) cut "
        f"over; report {summary.get('report', '')}"
    ]
    if summary.get("incompleteCount") or summary.get("outcome") != "completed":  # named in its audit record
        found = aws(
            "reading the audit trail",
            ctx.audit_trail().search,
            subject=f"workmail:{org}",
            text="workmail.exit.summary",
            limit=20,
        )
        detail = next((e.get("detail") or {} for e in found if (e.get("detail") or {}).get("exitId") == exit_id), {})
        for item in (detail.get("incomplete") or [])[:NAMED]:
            lines.append(f"  ! not completed: {item.get('entity')}: {item.get('why')}")
        for item in (detail.get("domainsNotCutOver") or [])[:NAMED]:
            lines.append(f"  ! not cut over: {item.get('domain')}: {item.get('why')}")
    return lines


OUTCOME_CODES = {"completed": ExitCode.OK, "kept": ExitCode.HALTED, "halted": ExitCode.HALTED}


def exit_org(
    ctx: Ctx,
    org: str,
    records: str,
    reason: str,
    stdin: TextIO,
    *,
    dry_run: bool,
    soak_days: int | None,
    request_id: str | None,
    detailed: bool,
) -> Result:
    targets = read_target_records(records, stdin)  # before anything is sent
    detail: dict[str, Any] = {
        "organizationId": org,
        "requestedBy": ctx.requested_by,
        "reason": reason,
        "targetRecords": targets,
        "dryRun": dry_run,
    }
    if not dry_run or request_id:  # a dry run is a fresh plan each time (its own execution)
        detail["requestId"] = request_id or exit_id_for(org)
    if soak_days is not None:
        detail["soakDays"] = soak_days
    out = ctx.target.invoke(WORKMAIL_TRIGGER.name, operator_event(OperatorDetailType.EXIT_REQUESTED, detail))
    if out.get("status") == "rejected":
        return refused(out, "The exit request")
    if out.get("status") == "already-running":
        return Result(
            ExitCode.HALTED,
            out,
            [
                f"! An exit of {org} is in flight already: request {out.get('requestId')} ({out.get('execution')}).",
                f"  Follow it with --request-id {out.get('requestId')}, or roll it back with "
                f"--rollback {out.get('requestId')}.",
            ],
        )
    exit_id, arn = str(out["requestId"]), str(out["execution"])
    label = f"Exit of {org}" + (" (dry run)" if dry_run else "")
    bar = ctx.console.progress(label)
    seen: dict[str, Any] = {"state": "", "input": {}}

    def progress() -> None:
        seen["state"], seen["input"] = where_it_is(ctx, arn)
        phase = phase_of(seen["state"]) if seen["state"] else "starting"
        bar.update(0, None, phase)

    state, waiting = follow(ctx, arn, progress)
    progress()  # where it stopped
    bar.close()
    s, at = seen["input"], seen["state"]
    data: dict[str, Any] = {
        "exitId": exit_id,
        "organizationId": org,
        "status": out.get("status"),
        "execution": arn,
        "state": state,
        "phase": phase_of(at) if at else None,
        "step": at,
        **{k: _result(s, k) for k in ("inventory", "manifest", "cutoverPlan", "cutover", "insync", "soak")},
        **{k: _result(s, k) for k in ("deletePlan", "deleting", "deleteRest", "summary")},
    }
    if dry_run:
        return _dry_run_result(ctx, data, state, arn, detailed)
    lines = [f"Exit {exit_id} of {org}: {out.get('status')} {arn}", *progress_lines(s)]
    if waiting is not None:
        data["approval"] = waiting.id
        after = "the exit goes on by itself; run this command again to follow it"
        return Result(
            ExitCode.PENDING_APPROVAL, data, [*lines, "", *waiting_lines(waiting), f"After the decision {after}."]
        )
    summary = _result(s, "summary")
    if summary:
        lines += summary_lines(ctx, org, exit_id, summary)
    if state == "SUCCEEDED":
        if at == "RolledBack":
            return Result(ExitCode.HALTED, data, [*lines, "! Rolled back: the DNS is as it was, WorkMail untouched."])
        outcome = str(summary.get("outcome", "completed"))
        code = OUTCOME_CODES.get(outcome, ExitCode.FAILED)
        end = "Done: every mailbox exported and verified, the DNS cut over, the organization deleted."
        return Result(code, data, [*lines, end if code == ExitCode.OK else f"! The exit ended {outcome}."])
    if state == "FAILED":
        described = aws("DescribeExecution", ctx.client("stepfunctions").describe_execution, executionArn=arn)
        error = described.get("error")
        data["error"], data["cause"] = error, _why(s.get("failure")) or described.get("cause")
        if error in (REJECTED_ERROR, TIMED_OUT_ERROR, "Rejected"):
            what = {REJECTED_ERROR: "an approver rejected it", TIMED_OUT_ERROR: "nobody decided in time"}
            why = what.get(str(error), data["cause"])
            return Result(ExitCode.HALTED, data, [*lines, f"! The exit stopped: {why}. Nothing more was changed."])
        outcome = str(summary.get("outcome", "failed"))
        code = ExitCode.HALTED if error == EXIT_STOPPED and outcome == "halted" else ExitCode.FAILED
        resume = "fix it and run this command again: the exit resumes where it stopped"
        return Result(code, data, [*lines, f"! The exit stopped ({outcome}): {data['cause']}", f"  {resume}."])
    if state == "ABORTED":
        return Result(ExitCode.HALTED, data, [*lines, "! The exit's workflow was stopped (a rollback stops it)."])
    code, more = unfinished(state, arn)
    soak = _result(s, "soak")
    if state == "TIMED_OUT" and phase_of(at) == "soak" and soak.get("until"):
        more = [
            f"Soaking until {soak['until']}: nothing is deleted; the second approval is asked then.",
            f"To put the DNS back meanwhile: mailwarden exit-org {org} --rollback {exit_id} --reason R",
        ]
    return Result(code, data, lines + more)


def _dry_run_result(ctx: Ctx, data: dict[str, Any], state: str, arn: str, detailed: bool) -> Result:
    inventory = data["inventory"]
    if state != "SUCCEEDED" or not inventory:
        code, more = unfinished(state, arn)
        return Result(code, data, [f"Exit of {data['organizationId']} (dry run): no plan.", *more])
    lines = [f"Exit of {data['organizationId']} (dry run: nothing changed). It would move out:"]
    lines += plan_lines(inventory.get("plan") or {})
    return Result(ExitCode.CHANGES if detailed else ExitCode.OK, {**data, "plan": inventory.get("plan")}, lines)


def rollback(ctx: Ctx, org: str, exit_id: str, reason: str) -> Result:
    """Put an exit's DNS back as it was before its cut-over and stop the exit (refused once deleting)."""
    detail = {"organizationId": org, "exitId": exit_id, "requestedBy": ctx.requested_by, "reason": reason}
    out = ctx.target.invoke(WORKMAIL_TRIGGER.name, operator_event(OperatorDetailType.EXIT_ROLLBACK_REQUESTED, detail))
    if out.get("status") == "rejected":
        return refused(out, "The rollback request")
    arn = str(out["execution"])
    bar = ctx.console.progress(f"Rollback of exit {exit_id}")
    seen: dict[str, Any] = {"state": "", "input": {}}

    def progress() -> None:
        seen["state"], seen["input"] = where_it_is(ctx, arn)
        bar.update(0, None, "INSYNC" if "InSync" in seen["state"] else (seen["state"] or "starting"))

    state, _ = follow(ctx, arn, progress)
    progress()
    bar.close()
    s, at = seen["input"], seen["state"]
    done = _result(s, "rollback")
    data = {"exitId": exit_id, "organizationId": org, "execution": arn, "state": state, "rollback": done}
    lines = [f"Rollback of exit {exit_id} of {org}: {out.get('status')} {arn}"]
    if at == "Refused":
        data["reason"] = _why(s.get("failure"))
        return Result(ExitCode.HALTED, data, [*lines, f"! Refused: {data['reason']}"])
    if done:
        stopped = "stopped" if done.get("workflowStopped") else "not running"
        lines.append(
            f"  DNS restored in {done.get('changeBatches', 0)} change batch(es); the exit's workflow {stopped}"
        )
    if _result(s, "insync").get("insync"):
        lines.append("  INSYNC")
    if state == "SUCCEEDED":
        again = "Running exit-org again (without --rollback) plans and asks to approve a new cut-over."
        return Result(ExitCode.OK, data, [*lines, "Rolled back: WorkMail is as it was.", again])
    code, more = unfinished(state, arn)
    return Result(code, data, lines + more)
