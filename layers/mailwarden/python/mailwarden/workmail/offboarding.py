"""Offboarding use cases, one method per workflow step. Pure: WorkMail, storage, audit, events and
the clock are injected (``wiring.workmail_offboard``).

Every step is idempotent and resumable: it reads the request's snapshot (written once, before the
first change), does what is still to do and treats "already done" as done. The order is fixed by
the workflow: snapshot -> export -> strip -> deregister -> DISABLED -> approval -> delete.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from ..clock import Clock, iso
from ..contracts.names import MailwardenDetailType
from ..errors import (
    Conflict,
    DeleteRefused,
    ExportCoolingDown,
    ExportSlotsBusy,
    NotFound,
    NotYetDisabled,
    Rejected,
    UnknownOrganization,
)
from ..policy import WorkmailPolicy
from .model import (
    RESTORE_WINDOW_DAYS,
    DecommissionRequest,
    OffboardRequest,
    RestoreRequest,
    Snapshot,
    User,
    client_token,
    subject,
)
from .ports import Audit, Directory, Documents, Events, Store

ACTOR = "mailwarden"
PLAN_PREVIEW = 50  # users named in a decommission approval (the rest are counted)
NAMED_IN_SUMMARY = 200  # users not deleted named in a decommission's summary record (the report names all)
# An export still RUNNING this long after it started is given up on (the workflow's poll loop ends):
# WorkMail allows one export per mailbox per 24 h, so waiting longer would not let a new one start.
EXPORT_MAX_SECONDS = 24 * 3600
# How long the workflow waits before looking at a running export again: every minute at first, then
# a fifth of its age (a big mailbox takes hours), at most every 15 minutes.
EXPORT_POLL_MIN, EXPORT_POLL_MAX = 60, 900
EXPORT_COOLDOWN = 24 * 3600  # WorkMail exports a mailbox at most once a day (FACTS.md)
EXPORT_ATTEMPTS = 5  # exports one request starts at most (each after the last one FAILED or was CANCELLED)


DECOMMISSIONS = "decommissions"  # documents' key prefix: <id>/users.json (the plan), <id>/report.json
# A user's outcome in a decommission that needs nothing more (a re-sent request resumes the others):
# deleted, or refused before any change (protected, deleted meanwhile...).
FINISHED = ("deleted", "rejected")


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def covers(job: dict[str, Any], requested_at: float) -> bool:
    """Whether an export job may stand for a request made at ``requested_at``: it COMPLETED and
    started after the request (an older archive misses the last mail)."""
    return job.get("state") == "COMPLETED" and float(job.get("startedAt") or 0) >= requested_at


def unknown_organization(org: str) -> str:
    return f"WorkMail organization {org} does not exist or is not active"


def member_request_id(decommission_id: str, user_id: str) -> str:
    """The offboarding request id of one user of a decommission (stable across re-runs)."""
    return "d" + hashlib.sha256(f"{decommission_id}/{user_id}".encode()).hexdigest()[:40]


def start_or_reuse_export(
    directory: Directory,
    clock: Clock,
    org: str,
    uid: str,
    *,
    token_base: str,
    requested_at: float,
    target: dict[str, str],
    description: str,
    rejected: Collection[str] = (),
) -> str:
    """Start a mailbox export; the job id. A retried start returns the same job (its ClientToken);
    after a FAILED or CANCELLED one, a new one starts (a new token), up to ``EXPORT_ATTEMPTS``. When
    WorkMail refuses a new one (all 10 slots busy, or this mailbox exported in the last 24 h), an
    export may stand in only if it COMPLETED and started after ``requested_at``: an older one misses
    the last mail. Otherwise ``ExportCoolingDown`` (a new one only a day later) or ``ExportSlotsBusy``
    (the workflow waits for a slot). ``rejected``: jobs that may never stand in again (an organization
    exit found their archive empty or missing)."""
    job = ""
    for attempt in range(EXPORT_ATTEMPTS):
        try:
            job = directory.start_export(
                org,
                uid,
                token=client_token(token_base if attempt == 0 else f"{token_base}#{attempt}", uid),
                target=target,
                description=description,
            )
        except ExportSlotsBusy as exc:
            jobs = directory.exports_of(org, uid)
            covering = [j for j in jobs if covers(j, requested_at) and j["jobId"] not in rejected]
            if not covering:
                now = clock.time()
                recent = [float(j["startedAt"]) for j in jobs if now - float(j["startedAt"]) < EXPORT_COOLDOWN]
                if recent:
                    until = iso(max(recent) + EXPORT_COOLDOWN)
                    raise ExportCoolingDown(f"{exc}; no export of it may stand in; a new one from {until}") from exc
                raise
            job = str(max(covering, key=lambda j: float(j["startedAt"]))["jobId"])
        if directory.export(org, job)["state"] not in ("FAILED", "CANCELLED") and job not in rejected:
            break
    return job


def export_progress(directory: Directory, clock: Clock, org: str, job_id: str) -> dict[str, Any]:
    """DescribeMailboxExportJob's answer with ``pollAfterSeconds`` (when to look again); ``TIMED_OUT``
    (with ``error``) once it has been RUNNING longer than ``EXPORT_MAX_SECONDS``."""
    status = directory.export(org, job_id)
    started = status.get("startedAt")
    running_for = clock.time() - (_epoch(started) if started else clock.time())
    if status["state"] == "RUNNING" and running_for > EXPORT_MAX_SECONDS:
        why = (
            f"mailbox export {job_id} still RUNNING {running_for / 3600:.0f} h after it started (the limit is "
            f"{EXPORT_MAX_SECONDS // 3600} h); nothing changed: send the request again to retry the export"
        )
        return {**status, "state": "TIMED_OUT", "error": why}
    status["pollAfterSeconds"] = int(min(EXPORT_POLL_MAX, max(EXPORT_POLL_MIN, running_for / 5)))
    return status


class Offboarding:
    def __init__(
        self,
        *,
        directory: Directory,
        store: Store,
        audit: Audit,
        events: Events,
        policy: WorkmailPolicy,
        export_target: dict[str, str],  # bucket, key (KMS ARN), role (ARN), prefix
        clock: Clock,
        documents: Documents | None = None,  # decommission plans and reports (the workflow steps)
    ) -> None:
        self.directory = directory
        self.store = store
        self.audit = audit
        self.events = events
        self.policy = policy
        self.target = export_target
        self.clock = clock
        self.documents = documents

    # ------------------------------------------------------------------ reporting

    def _report(self, snap: Snapshot | None, outcome: str, detail: dict[str, Any], actor: str = ACTOR) -> None:
        org = snap.organization_id if snap else str(detail.get("organizationId"))
        user = snap.user.id if snap else str(detail.get("user"))
        body = {
            "outcome": outcome,
            "organizationId": org,
            "userId": user,
            "email": snap.user.email if snap else None,
            "requestId": snap.request_id if snap else detail.get("requestId"),
            **detail,
        }
        reason = str(detail.get("why") or (snap.reason if snap else ""))
        self.audit.record(subject(org, user), f"workmail.{outcome}", outcome, actor, reason, body)
        self.events.publish(MailwardenDetailType.WORKMAIL_OFFBOARDING, body, [])

    def _decommission_report(self, org: str, outcome: str, actor: str, reason: str, detail: dict[str, Any]) -> None:
        """An audit record (subject ``workmail:<org>``) and a ``WorkMail Decommission`` event."""
        self.audit.record(f"workmail:{org}", "workmail.decommission", outcome, actor, reason, detail)
        self.events.publish(
            MailwardenDetailType.WORKMAIL_DECOMMISSION, {"outcome": outcome, "organizationId": org, **detail}, []
        )

    def reject(
        self, request: OffboardRequest | RestoreRequest | DecommissionRequest, why: str, request_id: str | None = None
    ) -> None:
        """Record a refused request (nothing was changed): the audit trail and an event, with the reason."""
        rid = request_id or request.request_id
        if isinstance(request, DecommissionRequest):
            self._decommission_report(
                request.organization_id, "rejected", request.requested_by, why, {"decommissionId": rid, "why": why}
            )
            return
        detail = {"organizationId": request.organization_id, "user": request.user, "why": why}
        self._report(None, "rejected", {**detail, "requestId": rid}, request.requested_by)

    def check_organization(self, org: str) -> None:
        """``Rejected`` unless the organization exists and is active (DescribeOrganization)."""
        try:
            state = self.directory.organization(org)
        except UnknownOrganization as exc:
            raise Rejected(unknown_organization(org)) from exc
        if state.lower() != "active":
            raise Rejected(f"WorkMail organization {org} is {state}, not Active")

    # ------------------------------------------------------------------ validation and snapshot

    def resolve(self, org: str, ident: str) -> tuple[User, list[tuple[str, str]], list[str]]:
        """The user to offboard, its groups (direct memberships) and aliases, or ``Rejected`` saying why not.

        Protection follows aliases (a person may name a user by any of them) and group nesting (a
        member of a group that is a member of a protected group is protected)."""
        try:
            user = self.directory.user(org, ident)
        except UnknownOrganization as exc:
            raise Rejected(unknown_organization(org)) from exc
        except NotFound as exc:
            kind = self.directory.kind_of(org, ident)
            if kind:
                raise Rejected(f"{ident} is a {kind}, not a user: only users are offboarded") from exc
            raise Rejected(f"no user {ident} in WorkMail organization {org}") from exc
        if user.state == "DELETED":
            raise Rejected(f"user {ident} is already deleted")
        if user.role != "USER":
            raise Rejected(f"{ident} has the role {user.role} (a resource or system account), not USER")
        aliases = self.directory.aliases(org, user.id)
        groups = self.directory.groups_of(org, user.id)
        why = self.protection(org, user, ident, aliases, groups)
        if why:
            raise Rejected(why)
        return user, groups, aliases

    def protection(
        self, org: str, user: User, ident: str, aliases: list[str], groups: list[tuple[str, str]]
    ) -> str | None:
        """Why the policy protects ``user`` (by id, name, email or alias, or as a member of a protected
        group, nested groups followed), or ``None``."""
        hit = self.policy.protects_user(user.id, user.name, user.email, ident, *aliases)
        if hit:
            return f"{ident} is protected (policy workmail.protectedUsers lists {hit})"
        for gid, (name, via) in self._enclosing(org, groups).items():
            if self.policy.protects_group(gid, name):
                through = f" through the group {via}" if via else ""
                return f"{ident} is a member of the protected group {name or gid}{through} (workmail.protectedGroups)"
        return None

    def _enclosing(self, org: str, groups: list[tuple[str, str]]) -> dict[str, tuple[str, str]]:
        """Every group the entity is in, directly or through nested groups: id -> (name, the direct
        group it is reached through, "" for a direct one). ListGroupsForEntity takes a group id too;
        whether it already follows nesting is not documented, so the walk goes up until nothing is new."""
        found: dict[str, tuple[str, str]] = {}
        todo = [(gid, name, "") for gid, name in groups]
        while todo:
            gid, name, via = todo.pop()
            if gid in found:
                continue
            found[gid] = (name, via)
            todo += [(g, n, via or name or gid) for g, n in self.directory.groups_of(org, gid) if g not in found]
        return found

    def capture(self, request_id: str, request: OffboardRequest, approved_by: str | None = None) -> Snapshot:
        """Read everything offboarding would remove (no writes)."""
        org = request.organization_id
        user, groups, aliases = self.resolve(org, request.user)
        return Snapshot(
            request_id=request_id,
            organization_id=org,
            user=user,
            aliases=tuple(aliases),
            groups=tuple(groups),
            grants=tuple(g for g in self.directory.grants_on(org, user.id) if g.grantee_id != user.id),
            delegations=tuple(self.directory.delegations_of(org, user.id)),
            taken_at=iso(self.clock.time()),
            export=self.policy.export_by_default if request.export is None else request.export,
            requested_by=request.requested_by,
            reason=request.reason,
            approved_by=approved_by,
        )

    def plan(self, request_id: str, request: OffboardRequest) -> dict[str, Any]:
        """Dry run: what would be removed, from where, in what order. Changes nothing."""
        snap = self.capture(request_id, request)
        out = {"dryRun": True, **self._summary(snap), "plan": snap.plan()}
        self._report(snap, "planned", {"plan": out["plan"]}, request.requested_by)
        return out

    def snapshot(self, request_id: str, request: OffboardRequest, approved_by: str | None = None) -> dict[str, Any]:
        """Step 1. A re-run finds the first snapshot (taken before any change) and keeps it."""
        snap = self.store.snapshot(request_id)
        if snap is not None:  # a re-run: nothing left to do if the user is gone already
            return {**self._summary(snap), "alreadyDeleted": self._state(snap) == "DELETED"}
        try:
            taken = self.capture(request_id, request, approved_by)
        except Rejected as exc:
            self.reject(request, str(exc))
            raise
        snap = self.store.keep(taken)
        self.audit.record(snap.subject, "workmail.snapshot", "recorded", snap.requested_by, snap.reason, snap.as_dict())
        return {**self._summary(snap), "alreadyDeleted": False}

    def _summary(self, snap: Snapshot) -> dict[str, Any]:
        who = snap.user.email or snap.user.name
        return {
            "userId": snap.user.id,
            "email": snap.user.email,
            "export": snap.export,
            "groups": len(snap.groups),
            "grants": len(snap.grants),
            "delegations": len(snap.delegations),
            "approvalRequest": {
                "action": "workmail.delete-user",
                "subject": f"{who} ({snap.organization_id})",
                "summary": f"Permanently delete the WorkMail user {who}. It is already deregistered and stripped of "
                f"{len(snap.groups)} group(s), {len(snap.grants)} mailbox grant(s) and "
                f"{len(snap.delegations)} delegation(s)" + ("; its mailbox was exported." if snap.export else "."),
                "reason": snap.reason,
                "requester": snap.requested_by,
                "plan": snap.plan(),
            },
        }

    def known(self, request_id: str) -> str | None:
        """The user id of a request that already has a snapshot (it ran before), else ``None``."""
        snap = self.store.snapshot(request_id)
        return snap.user.id if snap else None

    def answer_running(self, request: OffboardRequest, request_id: str, user_id: str, running: str) -> None:
        """Record a request for a user another offboarding is in flight for (answered with that one)."""
        why = f"an offboarding of this user is in flight already (request {running}); nothing new was started"
        detail = {"organizationId": request.organization_id, "user": user_id, "requestId": request_id}
        self._report(None, "already-running", {**detail, "runningRequestId": running, "why": why}, request.requested_by)

    def _snap(self, request_id: str) -> Snapshot:
        snap = self.store.snapshot(request_id)
        if snap is None:
            raise Rejected(f"no snapshot for offboarding request {request_id}: the snapshot step runs first")
        return snap

    # ------------------------------------------------------------------ export

    def start_export(self, request_id: str) -> dict[str, Any]:
        """Start the mailbox export (``start_or_reuse_export``; the request's snapshot time is when
        it was made)."""
        snap = self._snap(request_id)
        org, uid = snap.organization_id, snap.user.id
        job = start_or_reuse_export(
            self.directory,
            self.clock,
            org,
            uid,
            token_base=request_id,
            requested_at=_epoch(snap.taken_at),
            target={**self.target, "prefix": f"{self.target['prefix']}/{org}/{uid}"},
            description=f"Mailwarden offboarding {request_id}",
        )
        return {"jobId": job}

    def export_status(self, request_id: str, job_id: str) -> dict[str, Any]:
        snap = self._snap(request_id)
        status = export_progress(self.directory, self.clock, snap.organization_id, job_id)
        if status["state"] == "TIMED_OUT":
            self._report(snap, "export-failed", {"jobId": job_id, "why": status["error"]})
        elif status["state"] == "COMPLETED":
            self._report(snap, "exported", {"jobId": job_id, "location": status["location"]})
        elif status["state"] in ("FAILED", "CANCELLED"):
            error = status.get("error") or "no reason given"
            why = f"mailbox export {job_id} {status['state']}: {error}; nothing changed"
            self._report(snap, "export-failed", {"jobId": job_id, "why": why})
        return status

    # ------------------------------------------------------------------ strip, deregister, delete

    def strip(self, request_id: str) -> dict[str, int]:
        snap = self._snap(request_id)
        org, uid = snap.organization_id, snap.user.id
        # Before the first change: the user's restore point, unless an earlier request (not restored
        # since) changed the user first; its snapshot is the one taken before Mailwarden touched it.
        self.store.remember(snap)
        done = Counter[str]()
        for gid, _ in snap.groups:
            done["groups" if self.directory.remove_from_group(org, gid, uid) else "alreadyGone"] += 1
        for g in snap.grants:
            done["grants" if self.directory.revoke(org, uid, g.grantee_id) else "alreadyGone"] += 1
        for rid, _ in snap.delegations:
            done["delegations" if self.directory.undelegate(org, rid, uid) else "alreadyGone"] += 1
        counts = {k: done[k] for k in ("groups", "grants", "delegations", "alreadyGone")}
        self._report(snap, "stripped", counts)
        return counts

    def deregister(self, request_id: str) -> dict[str, Any]:
        snap = self._snap(request_id)
        changed = self.directory.deregister(snap.organization_id, snap.user.id)
        self._report(snap, "deregistered", {"changed": changed})
        return {"changed": changed}

    def _state(self, snap: Snapshot) -> str:
        try:
            return self.directory.user(snap.organization_id, snap.user.id).state
        except NotFound:
            return "DELETED"

    def confirm_disabled(self, request_id: str) -> dict[str, Any]:
        state = self._state(self._snap(request_id))
        if state == "ENABLED":
            raise NotYetDisabled(f"user of request {request_id} is still ENABLED")
        return {"state": state}

    def delete(self, request_id: str, approver: str) -> dict[str, Any]:
        """DeleteUser, only on a user DescribeUser says is DISABLED right now."""
        snap = self._snap(request_id)
        approver = approver or snap.approved_by or ""
        state = self._state(snap)
        if state == "ENABLED":
            why = "DeleteUser refused: the user is ENABLED (registered again since it was deregistered)"
            self._report(snap, "delete-refused", {"why": why, "approvedBy": approver})
            raise DeleteRefused(why)
        changed = state == "DISABLED" and self.directory.delete_user(snap.organization_id, snap.user.id)
        self._report(snap, "deleted", {"changed": changed, "approvedBy": approver}, approver or ACTOR)
        return {"deleted": True, "changed": changed}

    def kept(self, request_id: str, outcome: str) -> dict[str, Any]:
        """Approval rejected or expired: the user stays deregistered (recoverable for 30 days)."""
        snap = self._snap(request_id)
        user = self.directory.user(snap.organization_id, snap.user.id)
        since = datetime.fromisoformat((user.disabled_at or iso(self.clock.time())).replace("Z", "+00:00"))
        until = iso((since + timedelta(days=RESTORE_WINDOW_DAYS)).timestamp())
        why = f"deletion {outcome}: the user stays deregistered; restorable until {until}, then WorkMail removes it"
        self._report(snap, "kept-deregistered", {"approval": outcome, "restorableUntil": until, "why": why})
        return {"kept": True, "restorableUntil": until}

    # ------------------------------------------------------------------ restore

    def restore(self, request: RestoreRequest) -> dict[str, Any]:
        """Re-register a deregistered user (within 30 days) and re-apply the snapshot taken before
        Mailwarden first changed it (``Store.remember``); a repeated restore re-applies the same one."""
        org = request.organization_id
        try:
            user = self.directory.user(org, request.user)
        except UnknownOrganization as exc:
            raise Rejected(unknown_organization(org)) from exc
        except NotFound as exc:
            raise Rejected(f"no user {request.user} in WorkMail organization {org}") from exc
        if user.state == "DELETED":
            raise Rejected(f"{request.user} was deleted permanently: there is nothing to restore")
        snap = self.store.latest(org, user.id)
        if snap is None:
            raise Rejected(f"{request.user} was not offboarded by Mailwarden: no snapshot to restore")
        if user.state == "DISABLED" and user.disabled_at:
            since = datetime.fromisoformat(user.disabled_at.replace("Z", "+00:00"))
            if self.clock.now() > since + timedelta(days=RESTORE_WINDOW_DAYS):
                raise Rejected(f"{request.user} was deregistered on {user.disabled_at}: past the 30-day window")
        email = snap.user.email or user.email or ""
        if request.dry_run:
            would = {"register": email, "aliases": list(snap.aliases), "groups": [n or g for g, n in snap.groups]}
            would |= {
                "grants": [g.grantee_id for g in snap.grants],
                "delegations": [n or r for r, n in snap.delegations],
            }
            return {"dryRun": True, "fromRequest": snap.request_id, "wouldRestore": would}
        registered = self.directory.register(org, user.id, email)
        skipped: list[str] = []

        def attempt(what: str, call: Any, *args: Any) -> None:
            try:
                call(*args)
            except (NotFound, Conflict, Rejected) as exc:  # e.g. the alias is someone else's now
                skipped.append(f"{what}: {exc}")

        for alias in snap.aliases:
            attempt(f"alias {alias}", self.directory.add_alias, org, user.id, alias)
        for gid, name in snap.groups:
            attempt(f"group {name or gid}", self.directory.add_to_group, org, gid, user.id)
        for g in snap.grants:
            attempt(f"grant to {g.grantee_id}", self.directory.grant, org, user.id, g)
        for rid, name in snap.delegations:
            attempt(f"delegation on {name or rid}", self.directory.delegate, org, rid, user.id)
        detail = {"registered": registered, "email": email, "fromRequest": snap.request_id, "skipped": skipped}
        self.store.restored(snap)  # the next offboarding's snapshot is the user's restore point again
        self._report(replace(snap, reason=request.reason), "restored", detail, request.requested_by)
        return {"restored": True, **detail}

    # ------------------------------------------------------------------ organization decommission

    def protected_members(self, org: str) -> dict[str, str]:
        """Every entity in a protected group, directly or through nested groups -> that group's name."""
        groups = dict(self.directory.groups(org))
        out: dict[str, str] = {}
        for gid, name in groups.items():
            if not self.policy.protects_group(gid, name):
                continue
            todo, seen = [gid], set()
            while todo:
                group = todo.pop()
                if group in seen:
                    continue
                seen.add(group)
                for member in self.directory.members(org, group):
                    out.setdefault(member, name or gid)
                    if member in groups:
                        todo.append(member)
        return out

    def _decommission_users(
        self, decommission_id: str, request: DecommissionRequest
    ) -> tuple[list[dict[str, Any]], list[dict[str, str]], int]:
        """The users to offboard, the users kept (with why) and how many are deleted already."""
        org = request.organization_id
        try:
            users = list(self.directory.users(org))
            protected_members = self.protected_members(org)
        except UnknownOrganization as exc:
            self.reject(request, unknown_organization(org), decommission_id)
            raise Rejected(unknown_organization(org)) from exc
        items: list[dict[str, Any]] = []
        kept: list[dict[str, str]] = []
        already = 0
        for u in users:
            why = None
            if u.state == "DELETED":
                already += 1
                continue
            if u.role != "USER":
                why = f"role {u.role}"
            elif hit := self.policy.protects_user(u.id, u.name, u.email):
                why = f"protected user ({hit})"
            elif u.id in protected_members:
                why = f"member of protected group {protected_members[u.id]}"
            elif self.policy.protected_users and (hit := self.policy.protects_user(*self.directory.aliases(org, u.id))):
                why = f"protected user (alias {hit})"
            if why:
                kept.append({"user": u.email or u.name, "why": why})
            else:
                items.append({"requestId": member_request_id(decommission_id, u.id), "user": u.id, "email": u.email})
        return items, kept, already

    def _unfinished(self, decommission_id: str) -> tuple[list[dict[str, Any]], int] | None:
        """A decommission planned before (a re-sent request): its planned users not yet finished, and
        how many are; ``None`` when it was never planned."""
        if self.documents is None or self.store.decommission(decommission_id) is None:
            return None
        planned = list(self.documents.get(f"{DECOMMISSIONS}/{decommission_id}/users.json"))
        results = self.store.members(decommission_id)
        todo = [i for i in planned if results.get(i["user"], {}).get("outcome") not in FINISHED]
        return todo, len(planned) - len(todo)

    def decommission_plan(
        self, decommission_id: str, request: DecommissionRequest, *, keep_items: bool = False
    ) -> dict[str, Any]:
        """Every user to offboard (and every user kept, with why), for a dry run or the approval.

        ``keep_items`` (the workflow's step): the users go to a JSON document the workflow's
        Distributed Map reads (``items``: bucket and key), never into the execution's state, whose
        256 KiB would cap an organization at a few thousand users. A decommission planned before (the
        request sent again) resumes exactly its planned users not yet finished (``FINISHED``)."""
        org = request.organization_id
        resumed = self._unfinished(decommission_id) if keep_items else None
        if resumed is None:
            items, kept, already = self._decommission_users(decommission_id, request)
        else:
            items, kept, already = resumed[0], [], 0
        export = self.policy.export_by_default if request.export is None else request.export
        plan: dict[str, Any] = {
            "offboard": len(items),
            "firstUsers": [i.get("email") or i["user"] for i in items[:PLAN_PREVIEW]],
            "kept": kept[:PLAN_PREVIEW],
            "keptCount": len(kept),
            "alreadyDeleted": already,
            "export": export,
            "order": "per user: snapshot, export, strip groups/grants/delegations, deregister, DISABLED, delete; "
            "10 users at a time (WorkMail runs at most 10 exports per organization)",
        }
        if resumed is not None:
            plan["resumed"] = {"finished": resumed[1], "notFinished": len(items)}
        summary = (
            ("Resume: " if resumed is not None else "")
            + f"Offboard and permanently delete {len(items)} users of WorkMail organization {org}"
            + (" after exporting each mailbox" if export else "")
            + f"; {len(kept)} kept (protected)."
        )
        out: dict[str, Any] = {
            "export": export,
            "plan": plan,
            "approvalRequest": {
                "action": "workmail.decommission",
                "subject": f"WorkMail organization {org}",
                "summary": summary,
                "reason": request.reason,
                "requester": request.requested_by,
                "plan": plan,
            },
        }
        if keep_items:
            assert self.documents is not None, "the workflow step keeps its users in a document"
            # users.json: every planned user (written once; the summary names them all); a resume's
            # Distributed Map reads the users not finished from pending.json
            key = f"{DECOMMISSIONS}/{decommission_id}/{'pending' if resumed else 'users'}.json"
            self.documents.put(key, items)
            if resumed is None:
                self.store.set_decommission(decommission_id, {"planned": len(items)})
            out["items"] = {"bucket": self.documents.bucket, "key": key, "count": len(items)}
        detail = {"decommissionId": decommission_id, "dryRun": request.dry_run, **plan}
        self._decommission_report(org, "planned", request.requested_by, request.reason, detail)
        return out

    def decommission_member(self, decommission_id: str, user_id: str, result: dict[str, Any]) -> dict[str, str]:
        """One user's end in a decommission (its child execution's last step): kept per user."""
        cause = str(result.get("cause") or "")
        self.store.record_member(decommission_id, user_id, {**result, "cause": cause[:2000]})
        return {"outcome": str(result.get("outcome"))}

    def decommission_done(self, decommission_id: str, org: str, outcome: str) -> dict[str, Any]:
        """The summary: every planned user's outcome (``unknown`` when its run left none), counted; the
        full list in the report document, the users not deleted named in the audit record."""
        planned: list[dict[str, Any]] = []
        if outcome == "completed" and self.documents is not None:
            planned = list(self.documents.get(f"{DECOMMISSIONS}/{decommission_id}/users.json"))
        results = self.store.members(decommission_id) if planned else {}
        users = [
            {
                "user": item["user"],
                "email": item.get("email"),
                **results.get(item["user"], {"outcome": "unknown", "error": "no result recorded: see its execution"}),
            }
            for item in planned
        ]
        counts = dict(Counter(str(u.get("outcome")) for u in users))
        not_deleted = [u for u in users if u.get("outcome") != "deleted"]
        if planned:  # what a re-sent request resumes
            unfinished = sum(u.get("outcome") not in FINISHED for u in users)
            self.store.set_decommission(decommission_id, {"planned": len(users), "unfinished": unfinished})
        summary: dict[str, Any] = {
            "organizationId": org,
            "decommissionId": decommission_id,
            "users": len(users),
            "outcomes": counts,
        }
        if self.documents is not None and planned:
            key = f"{DECOMMISSIONS}/{decommission_id}/report.json"
            report = {**summary, "outcome": outcome, "finishedAt": iso(self.clock.time()), "results": users}
            self.documents.put(key, report)
            summary["report"] = f"s3://{self.documents.bucket}/{key}"
        self.audit.record(
            f"workmail:{org}",
            "workmail.decommission",
            outcome,
            ACTOR,
            ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) or "no users",
            {**summary, "notDeleted": not_deleted[:NAMED_IN_SUMMARY], "notDeletedCount": len(not_deleted)},
        )
        self.events.publish(MailwardenDetailType.WORKMAIL_DECOMMISSION, {"outcome": outcome, **summary}, [])
        return {**summary, "notDeleted": not_deleted[:PLAN_PREVIEW], "notDeletedCount": len(not_deleted)}
