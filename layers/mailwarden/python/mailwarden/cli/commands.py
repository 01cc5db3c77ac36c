"""The CLI's commands. Each reads or asks the deployed stack (never around it: requests go to the
same trigger functions EventBridge invokes, writes go through the same guards) and returns a
:class:`Result` with the JSON document, the text lines and the exit code."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from ..approvals.model import ApprovalRequest, State, valid_request_id
from ..aws.approvals import DynamoApprovalStore
from ..aws.audit import DynamoAuditTrail
from ..aws.guard import DynamoGuardStore, SsmKillSwitch
from ..aws.mailfrom import DynamoMailFromStore
from ..clock import default_clock, iso
from ..contracts.functions import PARTNER_CONNECTIONS, REPUTATION_TRIGGER, WORKMAIL_TRIGGER
from ..contracts.names import OPERATOR_SOURCE, OperatorDetailType
from ..contracts.outputs import Output, table_output
from ..contracts.tables import APPROVALS, AUDIT, GUARD, MAIL_FROM
from ..errors import MailwardenError
from ..health import HealthCensus
from ..mailfrom.model import check_identity
from .render import CliError, Console, ExitCode, Result, ago, table
from .target import Target, access_error


@dataclass
class Ctx:
    target: Target
    console: Console
    timeout: float  # seconds to follow a workflow before giving up (the work goes on)
    wait: bool = True
    actor: str = ""

    @property
    def requested_by(self) -> str:
        if not self.actor:
            self.actor = f"cli:{self.target.caller()}"[:200]
        return self.actor

    def client(self, service: str) -> Any:
        return self.target.client(service)

    def table(self, name: str) -> str:
        return self.target.output(table_output(name))

    # the adapters the functions use, on the operator's clients
    def approvals(self) -> DynamoApprovalStore:
        return DynamoApprovalStore(self.client("dynamodb"), self.table(APPROVALS.name))

    def audit_trail(self) -> DynamoAuditTrail:
        return DynamoAuditTrail(self.client("dynamodb"), self.table(AUDIT.name), default_clock())

    def kill_switch(self) -> SsmKillSwitch:
        return SsmKillSwitch(self.client("ssm"), self.target.output(Output.KILL_SWITCH), default_clock(), ttl=0)


def aws(what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call`` (a boto3 call, or an adapter's), its failure as an error that says what to do."""
    try:
        return call(*args, **kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise access_error(exc, what) from exc
    except MailwardenError as exc:  # an adapter's translation; its cause is the ClientError
        cause = exc.__cause__ if isinstance(exc.__cause__, ClientError | BotoCoreError) else exc
        raise access_error(cause, what) from exc


def operator_event(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """The event EventBridge would deliver for an operator's request on the Mailwarden bus."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": OPERATOR_SOURCE,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": [],
        "detail": detail,
    }


def refused(out: dict[str, Any], what: str) -> Result:
    """A trigger's ``rejected`` answer (also parked in the DLQ with the reason): an invalid request
    is a usage error, anything else (protected, kill switch, unknown user...) a refusal."""
    reason = str(out.get("reason", out))
    if "detail." in reason:
        return Result(ExitCode.USAGE, {"status": "rejected", "reason": reason}, [f"! {what} is invalid: {reason}"])
    return Result(ExitCode.HALTED, {"status": "rejected", "reason": reason}, [f"! {what} refused: {reason}"])


# ------------------------------------------------------------------ approvals


def pending_approvals(ctx: Ctx, state: str = "PENDING") -> list[ApprovalRequest]:
    store = ctx.approvals()
    if state == "PENDING":
        return list(aws("reading the approvals table", store.pending, _now()))
    return list(aws("reading the approvals table", store.in_state, State(state)))


def _now() -> float:
    return default_clock().time()


def approval_row(r: ApprovalRequest, now: float) -> dict[str, Any]:
    expires = "expired" if r.expires_at <= now else "in " + ago(r.expires_at - now)
    return {
        "id": r.id,
        "action": r.action,
        "subject": r.subject,
        "state": r.state.value,
        "age": ago(now - r.created_at),
        "expires": expires if r.state.value == "PENDING" else "-",
        "approvers": ", ".join(r.approvers),
    }


def how_to_decide(r: ApprovalRequest) -> list[str]:
    return [
        f"To decide: an approver ({', '.join(r.approvers)}) opens the link in the approval email and confirms;",
        "or a bot publishes a signed decision to the approval-decisions topic (docs/approvals.md).",
    ]


def approvals_list(ctx: Ctx, state: str) -> Result:
    now = _now()
    states = ["PENDING", "APPROVED", "REJECTED", "EXPIRED"] if state == "all" else [state]
    found = sorted((r for s in states for r in pending_approvals(ctx, s)), key=lambda r: r.created_at)
    rows = [approval_row(r, now) for r in found]
    columns = [("id", "id"), ("action", "action"), ("subject", "subject"), ("age", "age"), ("expires", "expires")]
    if state == "all":
        columns.insert(3, ("state", "state"))
    lines = table(rows, columns, empty=f"No {state.lower()} approvals.")
    return Result(ExitCode.OK, {"approvals": [{**r.public(), "state": r.state.value} for r in found]}, lines)


OLDEST = "oldest"  # in place of an approval id: the oldest pending request


def oldest_pending(ctx: Ctx) -> str:
    waiting = sorted(pending_approvals(ctx), key=lambda r: r.created_at)
    if not waiting:
        raise CliError(ExitCode.NOT_FOUND, "No pending approvals.")
    return waiting[0].id


def approvals_show(ctx: Ctx, request_id: str) -> Result:
    if request_id == OLDEST:
        request_id = oldest_pending(ctx)
    if not valid_request_id(request_id):
        # an id that cannot exist is not found (as an unknown one is), without asking DynamoDB about it
        raise CliError(ExitCode.NOT_FOUND, f"No approval {request_id[:80]!r}: ids are apr- and 26 letters or digits.")
    r = aws("reading the approvals table", ctx.approvals().get, request_id)
    if r is None:
        raise CliError(
            ExitCode.NOT_FOUND, f"No approval {request_id}. `mailwarden approvals list --state all` lists them."
        )
    now = _now()
    row = approval_row(r, now)
    lines = [
        f"{r.id}  {r.action}  {r.state.value}",
        f"subject:    {r.subject}",
        f"summary:    {r.summary}",
        f"reason:     {r.reason}",
        f"requester:  {r.requester}",
        f"approvers:  {row['approvers']}",
        f"created:    {iso(r.created_at)} ({row['age']} ago)",
        f"expires:    {iso(r.expires_at)} ({row['expires']})",
        f"workflow:   {r.execution_arn}",
    ]
    plan = r.plan if isinstance(r.plan, list) else ([r.plan] if r.plan else [])
    if plan:
        lines += ["plan:"] + [f"  ~ {p if isinstance(p, str) else json.dumps(p, default=str)}" for p in plan]
    if r.decided_by:
        lines.append(f"decided:    {r.state.value} by {r.decided_by} via {r.decided_via} at {iso(r.decided_at or 0)}")
        if r.comment:
            lines.append(f"comment:    {r.comment}")
    elif r.state.value == "PENDING" and r.expires_at > now:
        lines += ["", *how_to_decide(r)]
    code = ExitCode.PENDING_APPROVAL if r.state.value == "PENDING" and r.expires_at > now else ExitCode.OK
    return Result(code, {**r.public(), "state": r.state.value, "decidedBy": r.decided_by}, lines)


def decide(ctx: Ctx, request_id: str, decision: str, approver: str) -> Result:
    """The emulator's stand-in for an approver pressing the button in the emailed link."""
    from .target import LocalTarget

    if not isinstance(ctx.target, LocalTarget):
        raise CliError(
            ExitCode.USAGE,
            "decide works on the emulator only: in AWS an approver decides with the emailed link "
            "(or a bot publishes a signed decision), never with operator credentials.",
        )
    if request_id == OLDEST:
        request_id = oldest_pending(ctx)
    shown = approvals_show(ctx, request_id)
    if shown.code != ExitCode.PENDING_APPROVAL:
        return Result(ExitCode.HALTED, shown.data, [f"! {request_id} is {shown.data['state']}: nothing to decide."])
    status = ctx.target.decide(shown.data["executionArn"], decision, approver)
    after = approvals_show(ctx, request_id)
    lines = [f"HTTP {status}: {request_id} {after.data['state']} by {after.data.get('decidedBy')}"]
    return Result(ExitCode.OK if status == 200 else ExitCode.FAILED, {"http": status, **after.data}, lines)


# ------------------------------------------------------------------ following a workflow


def follow(ctx: Ctx, arn: str, progress: Callable[[], None]) -> tuple[str, ApprovalRequest | None]:
    """Poll execution ``arn`` until it ends (its status), waits for an approval (``WAITING`` and the
    request) or ``--timeout`` passes (``TIMED_OUT``)."""
    sfn = ctx.client("stepfunctions")
    deadline = time.monotonic() + ctx.timeout
    while True:
        ctx.target.settle()
        progress()
        status = aws("DescribeExecution", sfn.describe_execution, executionArn=arn)["status"]
        if status != "RUNNING":
            return status, None
        waiting = [r for r in pending_approvals(ctx) if r.execution_arn == arn]
        if waiting:
            return "WAITING", waiting[0]
        if not ctx.wait or time.monotonic() > deadline:
            return "TIMED_OUT", None
        ctx.target.pause()


def waiting_lines(r: ApprovalRequest) -> list[str]:
    return [f"Waiting for approval {r.id}: {r.summary}", *how_to_decide(r), f"Then: mailwarden approvals show {r.id}"]


def unfinished(state: str, arn: str) -> tuple[int, list[str]]:
    if state == "TIMED_OUT":
        return ExitCode.TIMED_OUT, [f"Still running: {arn}. It goes on; follow it in the Step Functions console."]
    return ExitCode.FAILED, [f"! The workflow ended {state}: {arn}. Its execution history says which step and why."]


# ------------------------------------------------------------------ reputation


def reputation(ctx: Ctx, mode: str, reason: str, detailed: bool) -> Result:
    detail = {"mode": mode, "reason": reason, "requestedBy": ctx.requested_by}
    out = ctx.target.invoke(REPUTATION_TRIGGER.name, operator_event(OperatorDetailType.RECONCILE_REQUESTED, detail))
    if out.get("status") == "rejected":
        return refused(out, "The reconcile request")
    if out.get("status") == "skipped":
        return Result(
            ExitCode.HALTED,
            out,
            [
                f"! {out['reason']}.",
                "One run at a time: wait for it to finish (`mailwarden audit run#...`), then retry.",
            ],
        )
    run_id, arn = out["runId"], out["execution"]
    store = DynamoGuardStore(ctx.client("dynamodb"), ctx.table(GUARD.name), default_clock())
    bar = ctx.console.progress(f"{mode} reputation")

    def progress() -> None:
        run = store.load_run(run_id) or {}
        counts = run.get("counts", {})
        if not run.get("scan_complete"):
            bar.update(int(run.get("entities", 0)), None, f"scanning: {run.get('entities', 0)} entities")
        else:
            done = int(counts.get("applied", 0)) + int(counts.get("approval-requested", 0))
            bar.update(done, int(counts.get("acting", 0)), "applying" if mode == "apply" else "planned")

    state, waiting = follow(ctx, arn, progress)
    bar.close()
    run = store.load_run(run_id) or {}
    decisions = [a.decision for a in store.actions(run_id)]
    acting = [d for d in decisions if d.acts]
    skipped = [d for d in decisions if not d.acts]
    data = {"runId": run_id, "execution": arn, "status": state, **{k: run.get(k) for k in ("outcome", "entities")}}
    data["counts"] = run.get("counts", {})
    data["actions"] = [d.as_dict() for d in decisions]
    lines = [f"Reputation {mode} run {run_id}: {run.get('entities', 0)} entities checked, {len(acting)} to change."]
    lines += [f"  ~ {d.line()}" for d in acting] + [f"    {d.line()}" for d in skipped]
    outcome = run.get("outcome", "")
    if waiting is not None:
        data["approval"] = waiting.id
        return Result(ExitCode.PENDING_APPROVAL, data, [*lines, "", *waiting_lines(waiting)])
    if state != "SUCCEEDED":
        code, more = unfinished(state, arn)
        return Result(code, data, lines + more)
    if outcome == "halted":
        return Result(ExitCode.HALTED, data, [*lines, "! The kill switch is on: nothing was written."])
    if outcome in ("rejected", "expired"):
        return Result(ExitCode.HALTED, data, [*lines, f"! The batch approval was {outcome}: nothing was applied."])
    counts = run.get("counts", {})
    if mode == "apply":
        lines.append(f"Applied {counts.get('applied', 0)}; approvals requested {counts.get('approval-requested', 0)}.")
    elif not acting:
        lines.append("In sync: nothing to change.")
    code = ExitCode.CHANGES if detailed and mode == "plan" and acting else ExitCode.OK
    return Result(code, data, lines)


# ------------------------------------------------------------------ partner


PARTNER_CODES = {
    "failed": ExitCode.FAILED,
    "conflicted": ExitCode.FAILED,
    "approval-requested": ExitCode.PENDING_APPROVAL,
    "approval-pending": ExitCode.PENDING_APPROVAL,
    "halted": ExitCode.HALTED,
    "rejected-before": ExitCode.HALTED,
}


def partner(ctx: Ctx, mode: str, reason: str, catalogs: list[str] | None, detailed: bool) -> Result:
    detail: dict[str, Any] = {"mode": mode, "reason": reason, "requestedBy": ctx.requested_by}
    if catalogs:
        detail["catalogs"] = catalogs
    event = operator_event(OperatorDetailType.PARTNER_RECONCILE_REQUESTED, detail)
    bar = ctx.console.progress(f"{mode} partner")
    bar.update(0, None, "reading connection preferences")
    out = ctx.target.invoke(PARTNER_CONNECTIONS.name, event)
    bar.close()
    if out.get("status") == "rejected":
        return refused(out, "The partner request")
    lines = [f"Partner Central {out.get('mode', mode)} run {out.get('runId', '')}:"]
    if out.get("note"):
        lines.append(f"! {out['note']}")
    codes = [ExitCode.HALTED] if mode == "apply" and out.get("mode") == "plan" else []
    for catalog, r in sorted(out.get("catalogs", {}).items()):
        outcome = r.get("outcome", "")
        plan_lines = (r.get("plan") or {}).get("lines") or []
        lines.append(f"  {catalog}: {outcome}" + (f" ({r['reason']})" if r.get("reason") else ""))
        lines += [f"    ~ {line}" for line in plan_lines]
        approval = r.get("approval") or {}
        if approval:
            lines.append(f"    then: {approval.get('outcome')} (the widening waits for a human)")
            outcome = approval.get("outcome", outcome)
        execution = approval.get("execution") or r.get("execution")
        if outcome in ("approval-requested", "approval-pending") and execution:
            _, waiting = follow(ctx, execution, lambda: None)  # until its approval is recorded
            if waiting is not None:
                r["approvalId"] = waiting.id
                lines += [f"    {line}" for line in waiting_lines(waiting)]
        codes.append(PARTNER_CODES.get(outcome, ExitCode.OK))
        if detailed and mode == "plan" and outcome == "planned":
            codes.append(ExitCode.CHANGES)
    order = [ExitCode.FAILED, ExitCode.HALTED, ExitCode.PENDING_APPROVAL, ExitCode.CHANGES]
    code = next((c for c in order if c in codes), ExitCode.OK)
    return Result(code, out, lines)


# ------------------------------------------------------------------ WorkMail


def _workmail_request(ctx: Ctx, detail_type: str, detail: dict[str, Any], label: str) -> Result:
    out = ctx.target.invoke(WORKMAIL_TRIGGER.name, operator_event(detail_type, detail))
    status = out.get("status")
    if status == "rejected":
        return refused(out, label)
    if status == "planned":
        steps = out.get("plan") or []
        lines = [f"{label} (dry run: nothing changed). It would:"]
        if isinstance(steps, dict):  # a decommission: who is offboarded, who is kept, in what order
            steps = [f"{k}: {json.dumps(v) if isinstance(v, dict | list) else v}" for k, v in steps.items()]
        for s in steps:
            lines.append(f"  ~ {s['action']}  [{s.get('where', '')}]" if isinstance(s, dict) else f"  ~ {s}")
        return Result(ExitCode.OK, out, lines)
    arn = out["execution"]
    workflow = arn.split(":")[-2] if arn.count(":") >= 7 else "workflow"
    bar = ctx.console.progress(label)
    history: list[str] = []

    def progress() -> None:
        events = aws("GetExecutionHistory", ctx.client("stepfunctions").get_execution_history, executionArn=arn)
        entered = [e["stateEnteredEventDetails"]["name"] for e in events["events"] if "stateEnteredEventDetails" in e]
        history[:] = entered
        bar.update(len(entered), None, entered[-1] if entered else "starting")

    state, waiting = follow(ctx, arn, progress)
    bar.close()
    data = {**out, "workflow": workflow, "state": state, "steps": list(dict.fromkeys(history))}
    lines = [f"{label}: {status} {arn}", "Steps: " + " -> ".join(dict.fromkeys(history))]
    if waiting is not None:
        data["approval"] = waiting.id
        return Result(ExitCode.PENDING_APPROVAL, data, [*lines, "", *waiting_lines(waiting)])
    if state == "SUCCEEDED":
        return Result(ExitCode.OK, data, [*lines, "Done."])
    if state == "FAILED":
        detail = aws("DescribeExecution", ctx.client("stepfunctions").describe_execution, executionArn=arn)
        data["error"], data["cause"] = detail.get("error"), detail.get("cause")
        code = ExitCode.HALTED if detail.get("error") == "Mailwarden.ApprovalRejected" else ExitCode.FAILED
        return Result(code, data, [*lines, f"! {detail.get('error')}: {detail.get('cause')}"])
    code, more = unfinished(state, arn)
    return Result(code, data, lines + more)


def offboard(ctx: Ctx, user: str, org: str, reason: str, dry_run: bool, export: bool | None) -> Result:
    detail: dict[str, Any] = {
        "organizationId": org,
        "user": user,
        "reason": reason,
        "requestedBy": ctx.requested_by,
        "dryRun": dry_run,
    }
    if export is not None:
        detail["export"] = export
    return _workmail_request(ctx, OperatorDetailType.OFFBOARD_REQUESTED, detail, f"Offboarding {user}")


def decommission(ctx: Ctx, org: str, reason: str, dry_run: bool, export: bool | None) -> Result:
    detail: dict[str, Any] = {"organizationId": org, "reason": reason, "requestedBy": ctx.requested_by}
    detail["dryRun"] = dry_run
    if export is not None:
        detail["export"] = export
    return _workmail_request(ctx, OperatorDetailType.DECOMMISSION_REQUESTED, detail, f"Decommissioning {org}")


# ------------------------------------------------------------------ MAIL FROM

API_CODES = {
    400: ExitCode.USAGE,
    401: ExitCode.ACCESS,
    403: ExitCode.ACCESS,
    404: ExitCode.NOT_FOUND,
    409: ExitCode.HALTED,
}


def _api_result(status: int, body: Any) -> Result:
    """Seed 002's responses: the attributes, or ``messages``/``causes`` (each with a ``text``)."""
    body = body if isinstance(body, dict) else {"messages": [{"text": str(body)}]}
    if status >= 300:
        texts = [m.get("text", "") for key in ("messages", "causes") for m in body.get(key) or []]
        code = API_CODES.get(status, ExitCode.FAILED)
        lines = [f"! HTTP {status} ({body.get('detailCode', '')}): {texts[0] if texts else body}"]
        lines += [f"  {t}" for t in texts[1:]]
        return Result(code, {"status": status, **body}, lines)
    lines = [f"{k}: {json.dumps(v) if isinstance(v, dict | list) else v}" for k, v in body.items()]
    return Result(ExitCode.OK, body, lines)


def _identity(identity: str) -> str:
    try:
        return check_identity(identity)
    except ValueError as exc:
        raise CliError(ExitCode.USAGE, f"identity: {exc}") from None


def mail_from_get(ctx: Ctx, identity: str) -> Result:
    identity = _identity(identity)
    return _api_result(*ctx.target.api("GET", f"/mail-from-attributes/{quote(identity, safe='')}"))


def mail_from_set(ctx: Ctx, identity: str, domain: str, behavior: str | None) -> Result:
    body: dict[str, Any] = {"identity": identity, "mailFromDomain": domain}
    if behavior:
        body["behaviorOnMxFailure"] = behavior
    return _api_result(*ctx.target.api("PUT", "/mail-from-attributes", body))


# ------------------------------------------------------------------ audit

DURATION = re.compile(r"^(\d+)([smhd])$")


def since_epoch(value: str, now: float) -> float:
    """``30m``, ``24h``, ``7d`` or an ISO time."""
    m = DURATION.match(value)
    if m:
        return now - int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise CliError(ExitCode.USAGE, f"--since {value!r}: use 30m, 24h, 7d or an ISO time") from exc


def audit(
    ctx: Ctx,
    subject: str | None,
    prefix: str | None,
    since: str | None,
    outcome: str | None,
    actor: str | None,
    text: str | None,
    limit: int,
) -> Result:
    start = iso(since_epoch(since, _now())) if since else None
    query = {"subject": subject, "prefix": prefix, "since": start, "outcome": outcome, "actor": actor, "text": text}
    entries = aws("reading the audit table", ctx.audit_trail().search, limit=limit, **query)
    columns = [("when", "when"), ("subject", "subject"), ("what", "what"), ("outcome", "outcome"), ("actor", "actor")]
    lines = table(entries, [*columns, ("reason", "reason")], empty="No audit records match.")
    code = ExitCode.OK if entries or not subject else ExitCode.NOT_FOUND
    return Result(code, {"entries": entries, "count": len(entries)}, lines)


# ------------------------------------------------------------------ status


def status(ctx: Ctx) -> Result:
    """One look: the same census the dashboard shows (``health_metrics``), plus the DLQ depth."""
    census = HealthCensus(
        approvals=ctx.approvals(),
        mail_from=DynamoMailFromStore(ctx.client("dynamodb"), ctx.table(MAIL_FROM.name)),
        switch=ctx.kill_switch(),
        clock=default_clock(),
    )
    c = aws("reading the census (approvals, MAIL FROM, kill switch)", census.take)
    attrs = aws(
        "GetQueueAttributes",
        ctx.client("sqs").get_queue_attributes,
        QueueUrl=ctx.target.output(Output.DLQ_URL),
        AttributeNames=["ApproximateNumberOfMessages"],
    )["Attributes"]
    dlq = int(attrs.get("ApproximateNumberOfMessages", 0))
    data = {**c.as_dict(), "deadLetters": dlq, "target": ctx.target.description}
    mail_from = ", ".join(f"{k} {v}" for k, v in c.mail_from.items() if v) or "none watched"
    lines = [
        f"Mailwarden on {ctx.target.description}",
        f"  kill switch        {'ON: no writes' if c.kill_switch_engaged else 'off'}",
        f"  pending approvals  {c.approvals_pending}"
        + (
            f" (oldest {ago(c.oldest_pending_age_seconds)}, {c.approvals_expiring_soon} expiring within 1 h)"
            if c.approvals_pending
            else ""
        ),
        f"  dead letters       {dlq}" + ("  <- read them: each says why it could not be processed" if dlq else ""),
        f"  MAIL FROM          {mail_from}",
    ]
    attention = c.kill_switch_engaged or dlq or c.approvals_expiring_soon
    return Result(ExitCode.HALTED if attention else ExitCode.OK, data, lines)


# ------------------------------------------------------------------ kill switch


def kill_switch(ctx: Ctx, state: str | None, reason: str | None) -> Result:
    switch = ctx.kill_switch()
    was = "on" if aws("GetParameter", switch.read) else "off"  # anything but "off" stops writes (fail safe)
    if state is None:
        lines = [f"Kill switch: {was} ({'writes allowed' if was == 'off' else 'no writes: plans only'})."]
        return Result(
            ExitCode.HALTED if was == "on" else ExitCode.OK, {"killSwitch": was, "parameter": switch.name}, lines
        )
    if not reason:
        raise CliError(ExitCode.USAGE, f"kill-switch {state} needs --reason (it goes in the audit trail).")
    aws("PutParameter", switch.set, state == "on")
    detail = {"before": was, "after": state, "parameter": switch.name}
    outcome = "changed" if state != was else "unchanged"
    aws(
        "writing the audit record (the switch itself is set)",
        ctx.audit_trail().record,
        "kill-switch",
        f"kill-switch.{state}",
        outcome,
        ctx.requested_by,
        reason,
        detail,
    )
    effect = (
        "writes allowed again"
        if state == "off"
        else "reputation and Partner Central writes stop within 10 seconds, no new WorkMail change starts; plans go on"
    )
    lines = [f"Kill switch: {was} -> {state} ({effect}).", "Recorded in the audit trail (subject kill-switch)."]
    return Result(ExitCode.OK, {"killSwitch": state, "before": was, "parameter": switch.name}, lines)
