"""The exit of a whole WorkMail organization (AWS ends WorkMail on 2027-03-31), one method per step
of the ``workmail-exit`` workflow. Pure: WorkMail, Route 53, S3, storage, audit, events, the kill
switch and the clock are injected (``wiring.workmail_exit``).

Phases, in order (docs/workmail-exit.md):

1. **inventory** (read only; a dry run stops here): users, groups (nested), resources, mailbox
   permissions, mail domains -> ``exits/<id>/inventory.json`` and CSV files, and a plan;
2. **export** every mailbox (a Distributed Map, 10 at a time) and **verify** it: COMPLETED, the
   object at its S3 path, a size consistent with the mailbox's -> ``manifest.json``;
3. **cut-over** of each mail domain's DNS after an approval showing the exact diff (one ChangeBatch
   per hosted zone, conflict-checked, waited for INSYNC; the previous records kept to roll back);
4. **soak** (default 7 days): nothing deleted; a rollback puts the previous DNS back;
5. **delete** after a second approval: users (deregister, DISABLED verified, delete), then groups,
   resources, mail domains and the organization, only once no user is left.

Every step is idempotent and reads the exit's state first, so the request sent again resumes where
it stopped; a user whose export is not verified is never touched after the export phase.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import Field, field_validator

from ..clock import Clock, iso
from ..contracts.names import MailwardenDetailType
from ..errors import Conflict, DeleteRefused, DnsNotCutOver, Halted, NotFound, NotYetDisabled, Rejected
from ..mailfrom.records import DnsConflict, RecordSet
from ..policy import WorkmailPolicy
from .cutover import (
    DomainPlan,
    TargetRecords,
    TargetRecordsError,
    is_applied,
    parse_target_records,
    plan_domain,
    plan_rollback,
    zone_change_batch,
)
from .model import _Request, client_token
from .offboarding import Offboarding, export_progress, start_or_reuse_export
from .ports import Audit, Dns, Documents, Events, Executions, ExitDirectory, ExitStore, MailDomain, Objects, Text

ACTOR = "mailwarden"
EXITS = "exits"  # documents' key prefix: exits/<exit id>/...
NAMED = 50  # users/domains named in an approval or an event (the documents name all)
# An export is verified when its object exists and is at least this share of the mailbox's size
# (GetMailboxDetails): WorkMail's archive is compressed, but an archive under 1 % of the mailbox, or
# an empty zip (22 bytes) of a non-empty mailbox, lost mail. An empty mailbox may export to anything.
MIN_EXPORT_RATIO = 0.01
EMPTY_ZIP_BYTES = 22
INSYNC_WITHIN = 3600  # a DNS change not INSYNC an hour after it was written fails the step
SOAK_DAYS_MAX = 90
# Phases in order; ``rolled-back`` is where a rollback leaves an exit (sent again, it cuts over anew).
PHASES = ("planned", "inventoried", "exported", "cut-over", "soaked", "deleting", "deleted")


class ExitRequest(_Request):
    """``WorkMail Organization Exit Requested``: the organization, the next provider's records."""

    target_records: dict[str, Any] = Field(alias="targetRecords")
    soak_days: int | None = Field(None, alias="soakDays", ge=1, le=SOAK_DAYS_MAX)

    @field_validator("target_records")
    @classmethod
    def _targets(cls, v: dict[str, Any]) -> dict[str, Any]:
        return parse_target_records(v).as_dict()  # TargetRecordsError is a ValueError: a clear 422-like refusal

    def targets(self) -> TargetRecords:
        return parse_target_records(self.target_records)


class ExitRollbackRequest(_Request):
    """``WorkMail Organization Exit Rollback Requested``: put the DNS back, leave WorkMail as it is."""

    exit_id: str = Field(alias="exitId", pattern=r"^[A-Za-z0-9_-]{1,64}$")


def dry_run_id(request_id: str) -> str:
    """The exit id of a dry run (its own execution and documents, never the real exit's)."""
    return (
        f"plan-{request_id}"
        if len(request_id) <= 59
        else "plan-" + hashlib.sha256(request_id.encode()).hexdigest()[:59]
    )


def verify_export(state: str, object_bytes: int | None, mailbox_bytes: int | None, location: str | None) -> str | None:
    """Why the export does not keep the mailbox (``None``: verified)."""
    if state != "COMPLETED":
        return f"the export job ended {state}"
    if not location:
        return "the export job COMPLETED without an S3 path"
    if object_bytes is None:
        return f"no object at {location}"
    if mailbox_bytes is None:  # a resource, or a mailbox WorkMail did not size: the archive must hold something
        return None if object_bytes > 0 else f"the export at {location} is empty (0 bytes)"
    if mailbox_bytes > 0 and object_bytes <= EMPTY_ZIP_BYTES:
        return f"the export at {location} is empty ({object_bytes} bytes) but the mailbox holds {mailbox_bytes} bytes"
    if mailbox_bytes > 0 and object_bytes < mailbox_bytes * MIN_EXPORT_RATIO:
        return (
            f"the export at {location} has {object_bytes} bytes, under {MIN_EXPORT_RATIO:.0%} of the mailbox's "
            f"{mailbox_bytes} bytes: mail is missing"
        )
    return None


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _split_location(location: str) -> tuple[str, str]:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    return bucket, key


class OrganizationExit:
    def __init__(
        self,
        *,
        offboarding: Offboarding,  # protection rules and the directory's offboarding calls
        directory: ExitDirectory,
        store: ExitStore,
        documents: Documents,
        text: Text,
        objects: Objects,
        dns: Dns,
        executions: Executions,
        audit: Audit,
        events: Events,
        policy: WorkmailPolicy,
        export_target: dict[str, str],
        clock: Clock,
        switch: Any | None = None,  # .engaged() -> bool
    ) -> None:
        self.offboarding = offboarding
        self.directory = directory
        self.store = store
        self.documents = documents
        self.text = text
        self.objects = objects
        self.dns = dns
        self.executions = executions
        self.audit = audit
        self.events = events
        self.policy = policy
        self.target = export_target
        self.clock = clock
        self.switch = switch

    # ------------------------------------------------------------------ reporting and state

    def _report(self, org: str, exit_id: str, phase: str, outcome: str, detail: dict[str, Any], **kw: str) -> None:
        """An audit record (subject ``workmail:<org>``) and a ``WorkMail Organization Exit`` event."""
        body = {"exitId": exit_id, "organizationId": org, "phase": phase, "outcome": outcome, **detail}
        actor, reason = kw.get("actor", ACTOR), kw.get("reason", "")
        self.audit.record(f"workmail:{org}", f"workmail.exit.{phase}", outcome, actor, reason or outcome, body)
        self.events.publish(MailwardenDetailType.WORKMAIL_EXIT, body, [])

    def _state(self, exit_id: str) -> dict[str, Any]:
        state = self.store.exit_state(exit_id)
        if state is None:
            raise Rejected(f"no organization exit {exit_id}: its inventory step runs first")
        return state

    def _key(self, exit_id: str, name: str) -> str:
        return f"{EXITS}/{exit_id}/{name}"

    def _uri(self, key: str) -> str:
        return f"s3://{self.documents.bucket}/{key}"

    def _halt_if_engaged(self, exit_id: str, phase: str) -> None:
        if self.switch is not None and self.switch.engaged():
            raise Halted(
                f"the kill switch is on: exit {exit_id} stopped before its {phase} step; turn it off and send the "
                "request again to resume"
            )

    @staticmethod
    def _past(state: dict[str, Any], phase: str) -> bool:
        """Whether the exit reached ``phase`` (or a later one)."""
        now = state.get("phase")
        return now in PHASES and PHASES.index(str(now)) >= PHASES.index(phase)

    # ------------------------------------------------------------------ 1. inventory

    def inventory(self, exit_id: str, request: ExitRequest, execution: str = "") -> dict[str, Any]:
        """Read the organization (no writes to WorkMail), keep the inventory in S3, return the plan.
        A re-sent request resumes from the inventory taken the first time (taking it again after
        users were deleted would forget them)."""
        org = request.organization_id
        state = self.store.exit_state(exit_id)
        if state is not None and state.get("inventory") and not request.dry_run:
            changes: dict[str, Any] = {"execution": execution, "rolledBack": False}
            if not state.get("dns", {}).get("applied") and request.target_records != state.get("targets"):
                # sent again with the target-records file fixed: the next cut-over plans from the new file,
                # and an approval given for the old one no longer stands
                domains = [d["name"] for d in self.documents.get(state["inventory"])["domains"] if not d["test"]]
                changes |= {
                    **self._target_check(request.targets(), domains),
                    "targets": request.target_records,
                    "cutoverApprovedBy": None,
                }
            state = self.store.update_exit(exit_id, changes)
            return self._plan_answer(exit_id, state, resumed=True)
        self.offboarding.check_organization(org)
        inv = self._read(org)
        soak_days = request.soak_days or self.policy.exit_soak_days
        targets = request.targets()
        self.documents.put(self._key(exit_id, "inventory.json"), inv)
        for name, text in self._csv_files(inv).items():
            self.text.put_text(self._key(exit_id, name), text, "text/csv")
        items = [
            {"user": e["id"], "kind": e["kind"], "email": e["email"], "mailboxBytes": e.get("mailboxBytes")}
            for e in (*inv["users"], *inv["resources"])
            if e["state"] != "DELETED" and (e["kind"] == "RESOURCE" or e["role"] == "USER")
        ]
        self.documents.put(self._key(exit_id, "mailboxes.json"), items)
        counts = {
            "users": len(inv["users"]),
            "mailboxes": len(items),
            "groups": len(inv["groups"]),
            "resources": len(inv["resources"]),
            "domains": len([d for d in inv["domains"] if not d["test"]]),
            "protected": len(inv["protected"]),
            "mailboxBytes": sum(int(e.get("mailboxBytes") or 0) for e in items),
        }
        state = self.store.update_exit(
            exit_id,
            {
                "organizationId": org,
                "phase": "planned" if request.dry_run else "inventoried",
                "requestedBy": request.requested_by,
                "reason": request.reason,
                "execution": execution,
                "inventory": self._key(exit_id, "inventory.json"),
                "counts": counts,
                "protected": inv["protected"],
                "targets": targets.as_dict(),
                **self._target_check(targets, [d["name"] for d in inv["domains"] if not d["test"]]),
                "soakSeconds": soak_days * 86400,
                "takenAt": iso(self.clock.time()),
                "rolledBack": False,
            },
        )
        answer = self._plan_answer(exit_id, state, resumed=False)
        detail = {"dryRun": request.dry_run, **counts, "inventory": self._uri(self._key(exit_id, "inventory.json"))}
        self._report(
            org,
            exit_id,
            "inventory",
            "planned" if request.dry_run else "inventoried",
            detail,
            actor=request.requested_by,
            reason=request.reason,
        )
        return answer

    @staticmethod
    def _target_check(targets: TargetRecords, domains: list[str]) -> dict[str, list[str]]:
        """The organization's mail domains the target-records file misses, and the ones it names that
        are not the organization's (each stops the cut-over, named)."""
        return {
            "missingTargets": [d for d in domains if d not in targets.domains],
            "unknownTargets": sorted(set(targets.domains) - set(domains)),
        }

    def _read(self, org: str) -> dict[str, Any]:
        d = self.directory
        protected_members = self.offboarding.protected_members(org)
        groups = d.groups(org)
        group_ids = {g for g, _ in groups}
        users: list[dict[str, Any]] = []
        protected: list[dict[str, str]] = []
        for u in d.users(org):
            aliases = d.aliases(org, u.id) if u.state != "DELETED" else []
            alive = u.state != "DELETED" and u.role == "USER"
            size = d.mailbox_bytes(org, u.id) if alive else None
            grants = d.grants_on(org, u.id) if alive else []
            row = {
                "id": u.id,
                "kind": "USER",
                "name": u.name,
                "email": u.email,
                "displayName": u.display_name,
                "state": u.state,
                "role": u.role,
                "aliases": aliases,
                "mailboxBytes": size,
                "permissions": [
                    {"grantee": g.grantee_id, "type": g.grantee_type, "permissions": list(g.permissions)}
                    for g in grants
                    if g.grantee_id != u.id
                ],
            }
            hit = self.policy.protects_user(u.id, u.name, u.email, *aliases)
            why = f"protected user ({hit})" if hit else None
            if not why and u.id in protected_members:
                why = f"member of protected group {protected_members[u.id]}"
            if why and u.state != "DELETED":
                protected.append({"user": u.id, "email": u.email or u.name, "why": why})
            row["protected"] = why
            users.append(row)
        group_rows = []
        for gid, name in groups:
            members = d.members(org, gid)
            group_rows.append(
                {
                    "id": gid,
                    "name": name,
                    "members": [{"id": m, "type": "GROUP" if m in group_ids else "USER"} for m in members],
                    "aliases": d.aliases(org, gid),
                }
            )
        resources = [
            {
                "id": r.id,
                "kind": "RESOURCE",
                "name": r.name,
                "email": r.email,
                "type": r.type,
                "state": r.state,
                "role": "RESOURCE",
                "booking": r.booking,
                "delegates": [{"id": e, "type": t} for e, t in r.delegates],
                "mailboxBytes": None,
            }
            for r in d.resources(org)
        ]
        domains = [
            {
                "name": m.name.lower(),
                "default": m.default,
                "test": m.test,
                "ownership": m.ownership,
                "dkim": m.dkim,
                "records": [{"type": t, "hostname": h, "value": v} for t, h, v in m.records],
            }
            for m in d.mail_domains(org)
        ]
        return {
            "organizationId": org,
            "takenAt": iso(self.clock.time()),
            "users": users,
            "groups": group_rows,
            "resources": resources,
            "domains": domains,
            "protected": protected,
        }

    @staticmethod
    def _csv_files(inv: dict[str, Any]) -> dict[str, str]:
        """The inventory as CSV files a person or the next provider's import can use."""
        users = inv["users"]
        return {
            "users.csv": _csv(
                ("id", "name", "email", "display_name", "state", "role", "aliases", "mailbox_bytes", "protected"),
                (
                    (
                        u["id"],
                        u["name"],
                        u["email"] or "",
                        u["displayName"],
                        u["state"],
                        u["role"],
                        ";".join(u["aliases"]),
                        "" if u["mailboxBytes"] is None else u["mailboxBytes"],
                        u["protected"] or "",
                    )
                    for u in users
                ),
            ),
            "groups.csv": _csv(
                ("id", "name", "aliases"), ((g["id"], g["name"], ";".join(g["aliases"])) for g in inv["groups"])
            ),
            "group-members.csv": _csv(
                ("group_id", "group_name", "member_id", "member_type"),
                ((g["id"], g["name"], m["id"], m["type"]) for g in inv["groups"] for m in g["members"]),
            ),
            "resources.csv": _csv(
                ("id", "name", "email", "type", "state", "booking"),
                (
                    (
                        r["id"],
                        r["name"],
                        r["email"] or "",
                        r["type"],
                        r["state"],
                        ";".join(f"{k}={v}" for k, v in sorted(r["booking"].items())),
                    )
                    for r in inv["resources"]
                ),
            ),
            "resource-delegates.csv": _csv(
                ("resource_id", "resource_name", "delegate_id", "delegate_type"),
                ((r["id"], r["name"], e["id"], e["type"]) for r in inv["resources"] for e in r["delegates"]),
            ),
            "mailbox-permissions.csv": _csv(
                ("mailbox_id", "mailbox_email", "grantee_id", "grantee_type", "permissions"),
                (
                    (u["id"], u["email"] or "", p["grantee"], p["type"], ";".join(p["permissions"]))
                    for u in users
                    for p in u["permissions"]
                ),
            ),
            "domains.csv": _csv(
                ("domain", "default", "test", "record_type", "hostname", "value"),
                (
                    (m["name"], m["default"], m["test"], r["type"], r["hostname"], r["value"])
                    for m in inv["domains"]
                    for r in (m["records"] or [{"type": "", "hostname": "", "value": ""}])
                ),
            ),
        }

    def _plan_answer(self, exit_id: str, state: dict[str, Any], *, resumed: bool) -> dict[str, Any]:
        counts = state["counts"]
        protected = state.get("protected", [])
        size_gb = counts["mailboxBytes"] / 1e9
        plan = {
            **counts,
            "mailboxGigabytes": round(size_gb, 3),
            "protectedUsers": protected[:NAMED],
            "missingTargets": state.get("missingTargets", []),
            "unknownTargets": state.get("unknownTargets", []),
            "soakDays": state["soakSeconds"] // 86400,
            "order": [
                f"export and verify {counts['mailboxes']} mailboxes, 10 at a time (manifest in S3)",
                f"after approval 1: cut the DNS of {counts['domains']} mail domain(s) over, one change per zone",
                f"soak {state['soakSeconds'] // 86400} day(s): nothing deleted, a rollback restores the DNS",
                "after approval 2: delete users (deregister, DISABLED, delete), groups, resources, mail domains, "
                "then the organization",
            ],
            "kept": "protected users and users whose export is not verified are kept, and the organization with them",
            "documents": self._uri(f"{EXITS}/{exit_id}/"),
        }
        if resumed:
            plan["resumedAt"] = state.get("phase")
        return {
            "exitId": exit_id,
            "phase": state.get("phase"),
            "plan": plan,
            "mailboxes": {"bucket": self.documents.bucket, "key": self._key(exit_id, "mailboxes.json")},
            "cutOver": bool(state.get("dns", {}).get("applied")),
            "cutoverApproved": bool(state.get("cutoverApprovedBy")),
            "deleteApproved": bool(state.get("deleteApprovedBy")),
        }

    # ------------------------------------------------------------------ 2. export and verify

    def export_start(self, exit_id: str, entity: str) -> dict[str, Any]:
        """Start (or find) the export of one mailbox; ``skip`` when it is verified already."""
        state = self._state(exit_id)
        done = self.store.exit_user(exit_id, entity)
        if done.get("export") == "verified":
            return {"skip": True, "jobId": done.get("jobId")}
        self._halt_if_engaged(exit_id, "export")
        org = state["organizationId"]
        # an archive found empty or missing never stands in again: a new export (a new ClientToken;
        # WorkMail starts it once its 24 h per mailbox have passed, ExportCoolingDown until then)
        bad = list(done.get("badJobs", []))
        if done.get("jobId") and done.get("export") == "unverified" and done["jobId"] not in bad:
            bad.append(str(done["jobId"]))
            self.store.record_exit_user(exit_id, entity, {"badJobs": bad})
        job = start_or_reuse_export(
            self.directory,
            self.clock,
            org,
            entity,
            token_base=f"exit-{exit_id}" + (f"#again{len(bad)}" if bad else ""),
            rejected=bad,
            requested_at=_epoch(state["takenAt"]),
            target={**self.target, "prefix": f"{self.target['prefix']}/{org}/{entity}"},
            description=f"Mailwarden organization exit {exit_id}",
        )
        return {"skip": False, "jobId": job}

    def export_status(self, exit_id: str, entity: str, job_id: str, mailbox_bytes: int | None) -> dict[str, Any]:
        """Poll the export; once it ended, verify it and record the user's export result."""
        state = self._state(exit_id)
        org = state["organizationId"]
        status = export_progress(self.directory, self.clock, org, job_id)
        if status["state"] == "RUNNING":
            return {"done": False, "pollAfterSeconds": status["pollAfterSeconds"]}
        location = status.get("location")
        size = None
        if status["state"] == "COMPLETED" and location:
            size = self.objects.size(*_split_location(location))
        why = verify_export(status["state"], size, mailbox_bytes, location)
        if status["state"] in ("FAILED", "CANCELLED", "TIMED_OUT"):
            why = f"{why}: {status.get('error') or 'no reason given'}"
        result = {
            "export": "verified" if why is None else "unverified",
            "jobId": job_id,
            "s3Object": location,
            "objectBytes": size,
            "mailboxBytes": mailbox_bytes,
            "startedAt": status.get("startedAt"),
            "endedAt": status.get("endedAt"),
            "why": why,
        }
        self.store.record_exit_user(exit_id, entity, result)
        return {"done": True, "verified": why is None}

    def export_failed(self, exit_id: str, entity: str, error: str, cause: str) -> dict[str, Any]:
        """A mailbox's export child failed before it could verify (recorded, named in the manifest)."""
        done = self.store.exit_user(exit_id, entity)
        if done.get("export") != "verified":
            why = f"{error}: {cause[:500]}" if cause else error
            self.store.record_exit_user(exit_id, entity, {"export": "unverified", "why": why})
        return {"recorded": True}

    def manifest(self, exit_id: str) -> dict[str, Any]:
        """``manifest.json``: per mailbox the job, the S3 object, its size, the mailbox size, times
        and whether it is verified; the exit goes on only with what is verified."""
        state = self._state(exit_id)
        self._halt_if_engaged(exit_id, "manifest")
        org = state["organizationId"]
        items = list(self.documents.get(self._key(exit_id, "mailboxes.json")))
        results = self.store.exit_users(exit_id)
        entries = []
        for item in items:
            r = results.get(item["user"], {})
            entry = {
                "user": item["user"],
                "kind": item["kind"],
                "email": item.get("email"),
                "verified": r.get("export") == "verified",
                **{k: r.get(k) for k in ("jobId", "s3Object", "objectBytes", "startedAt", "endedAt")},
                "mailboxBytes": item.get("mailboxBytes"),
            }
            if not entry["verified"]:
                entry["why"] = r.get("why") or "no export result recorded (see its execution)"
            entries.append(entry)
        unverified = [e for e in entries if not e["verified"]]
        manifest = {
            "exitId": exit_id,
            "organizationId": org,
            "writtenAt": iso(self.clock.time()),
            "mailboxes": entries,
            "verified": len(entries) - len(unverified),
            "unverified": len(unverified),
            "dns": state.get("dns", {}),
        }
        self.documents.put(self._key(exit_id, "manifest.json"), manifest)
        if not self._past(state, "exported"):
            state = self.store.update_exit(exit_id, {"phase": "exported"})
        counts = {"verified": manifest["verified"], "unverified": manifest["unverified"]}
        named = [{"user": e["email"] or e["user"], "why": e["why"]} for e in unverified[:NAMED]]
        self._report(
            org,
            exit_id,
            "export",
            "exported",
            {**counts, "notVerified": named, "manifest": self._uri(self._key(exit_id, "manifest.json"))},
        )
        return {**counts, "notVerified": named}

    # ------------------------------------------------------------------ 3. DNS cut-over

    def _domains(self, state: dict[str, Any]) -> list[MailDomain]:
        inv = self.documents.get(state["inventory"])
        return [
            MailDomain(
                m["name"],
                m["default"],
                m["test"],
                tuple((r["type"], r["hostname"], r["value"]) for r in m["records"]),
                m.get("ownership", ""),
                m.get("dkim", ""),
            )
            for m in inv["domains"]
            if not m["test"]
        ]

    def _current(self, zone: Any, names: Iterable[str]) -> dict[str, list[RecordSet]]:
        return {n: self.dns.record_sets(zone, n) for n in dict.fromkeys(names)}

    def cutover_plan(self, exit_id: str) -> dict[str, Any]:
        """The exact DNS diff per zone (for the approval), or ``DnsNotCutOver`` naming every conflict.
        Already written (a re-run): says so and the approval is not asked again."""
        state = self._state(exit_id)
        org = state["organizationId"]
        if state.get("dns", {}).get("applied"):
            return {"alreadyCutOver": True, "approved": True}
        self._halt_if_engaged(exit_id, "cut-over")
        targets = parse_target_records(state["targets"])
        conflicts: list[str] = [
            f"{d}: WorkMail's mail domain has no entry in the target-records file; add the next provider's records"
            for d in state.get("missingTargets", [])
        ] + [
            f"{d}: not a mail domain of {org}; remove it from the target-records file"
            for d in state.get("unknownTargets", [])
        ]
        zones: dict[str, dict[str, Any]] = {}
        for domain in self._domains(state):
            target = targets.domains.get(domain.name)
            if target is None:
                continue
            zone = self.dns.zone_for(domain.name)
            if zone is None:
                conflicts.append(f"{domain.name}: no Route 53 hosted zone of this account holds it")
                continue
            plan = plan_domain(domain.name, target, domain, self._current(zone, target.names(domain.name)))
            conflicts += plan.conflicts
            z = zones.setdefault(zone.id, {"zone": zone.id, "zoneName": zone.name, "domains": []})
            z["domains"].append(plan.as_dict())
        for z in zones.values():
            try:
                zone_change_batch(z["zoneName"], [DomainPlan.from_dict(p) for p in z["domains"]], "check")
            except DnsConflict as exc:
                conflicts.append(str(exc))
        key = self._key(exit_id, "dns-plan.json")
        self.documents.put(key, {"zones": list(zones.values()), "conflicts": conflicts})
        if conflicts:
            why = "; ".join(conflicts)
            self._report(org, exit_id, "cutover", "conflict", {"conflicts": conflicts[:NAMED]}, reason=why[:1000])
            raise DnsNotCutOver(f"the DNS cut-over of {org} cannot be written: {why}")
        self.store.update_exit(exit_id, {"dnsPlan": key})
        diff = [line for z in zones.values() for p in z["domains"] for line in p["diff"]]
        summary = (
            f"Point the mail of {len(self._domains(state))} domain(s) of WorkMail organization {org} at the next "
            f"provider: {len(diff)} record value(s) change in {len(zones)} hosted zone(s). "
            f"{state.get('counts', {}).get('mailboxes', 0)} mailboxes exported; nothing is deleted before the soak "
            "and a second approval."
        )
        request = {
            "action": "workmail.exit-cutover",
            "subject": f"WorkMail organization {org}",
            "summary": summary,
            "reason": state.get("reason", ""),
            "requester": state.get("requestedBy", ""),
            "plan": {"diff": diff[:200], "diffLines": len(diff), "dnsPlan": self._uri(key)},
        }
        approved = bool(state.get("cutoverApprovedBy"))
        return {"alreadyCutOver": False, "approved": approved, "approvalRequest": request, "diffLines": len(diff)}

    def cutover_apply(self, exit_id: str, approver: str) -> dict[str, Any]:
        """Write the approved changes, one ChangeBatch per zone, only if the records are still what
        was approved (re-planned now: a different diff is refused, never written)."""
        state = self._state(exit_id)
        org = state["organizationId"]
        if approver and not state.get("cutoverApprovedBy"):
            state = self.store.update_exit(exit_id, {"cutoverApprovedBy": approver})
        if state.get("dns", {}).get("applied"):
            return {"changes": len(state["dns"].get("changeIds", [])), "alreadyCutOver": True}
        self._halt_if_engaged(exit_id, "cut-over")
        approved = self.documents.get(state["dnsPlan"])
        targets = parse_target_records(state["targets"])
        domains = {d.name: d for d in self._domains(state)}
        applied_zones, change_ids, changed, why = [], [], [], ""
        for z in approved["zones"]:
            zone = self.dns.zone_for(z["zoneName"])
            plans, done = [], []
            for p in z["domains"]:
                was = DomainPlan.from_dict(p)
                current = self._current(zone, targets.domains[was.domain].names(was.domain))
                if was.needed and is_applied(was, current):
                    done.append(was)  # written by an earlier attempt of this step
                    continue
                now = plan_domain(was.domain, targets.domains[was.domain], domains[was.domain], current)
                if now.changes != was.changes:
                    changed.append(was.domain)
                plans.append(now)
            if changed:
                break
            batch = zone_change_batch(zone.name, plans, f"Mailwarden exit {exit_id}")
            if batch is not None:
                try:
                    change_ids.append(self.dns.change(zone, batch["Changes"], batch["Comment"]))
                except Conflict as exc:  # StaleRecords: edited between the read and the write
                    changed += [p.domain for p in plans]
                    why = str(exc)
                    break
            applied_zones.append(
                {"zone": zone.id, "zoneName": zone.name, "domains": [p.as_dict() for p in (*done, *plans)]}
            )
        if changed:
            why = (
                f"the records of {', '.join(changed)} changed since the cut-over was approved; nothing more was "
                f"written{f' ({why})' if why else ''}: send the request again to plan and approve the new diff"
            )
            self.store.update_exit(exit_id, {"cutoverApprovedBy": None, "dnsPartial": applied_zones})
            self._report(org, exit_id, "cutover", "stale", {"domains": changed}, reason=why)
            raise DnsNotCutOver(why)
        dns = {"applied": True, "zones": applied_zones, "changeIds": change_ids, "appliedAt": iso(self.clock.time())}
        self.store.update_exit(exit_id, {"dns": dns, "phase": "cut-over", "rolledBack": False})
        self._keep_dns_in_manifest(exit_id, dns)
        diff = sum(len(p["diff"]) for z in applied_zones for p in z["domains"])
        self._report(
            org,
            exit_id,
            "cutover",
            "written",
            {"zones": len(applied_zones), "changeBatches": len(change_ids), "diffLines": diff, "approvedBy": approver},
            actor=approver or ACTOR,
        )
        return {"changes": len(change_ids), "alreadyCutOver": False}

    def _keep_dns_in_manifest(self, exit_id: str, dns: dict[str, Any]) -> None:
        """The previous records go into the manifest (what a rollback restores)."""
        key = self._key(exit_id, "manifest.json")
        try:
            manifest = dict(self.documents.get(key))
        except NotFound:
            manifest = {"exitId": exit_id}
        manifest["dns"] = dns
        self.documents.put(key, manifest)

    def cutover_status(self, exit_id: str) -> dict[str, Any]:
        """Whether every change of the cut-over (or its rollback) is INSYNC."""
        state = self._state(exit_id)
        dns = state.get("rollback") if state.get("rolledBack") else state.get("dns")
        ids = list((dns or {}).get("changeIds", []))
        pending = [c for c in ids if not self.dns.insync(c)]
        if pending and self.clock.time() - _epoch(str((dns or {}).get("appliedAt") or iso(self.clock.time()))) > (
            INSYNC_WITHIN
        ):
            raise DnsNotCutOver(f"Route 53 changes {', '.join(pending)} are not INSYNC an hour after they were written")
        return {"insync": not pending, "pending": len(pending)}

    # ------------------------------------------------------------------ 4. soak and rollback

    def soak(self, exit_id: str) -> dict[str, Any]:
        """How long the soak still runs (0: over). Its end is fixed at the first call after the cut-over."""
        state = self._state(exit_id)
        if state.get("rolledBack"):
            return {"rolledBack": True, "waitSeconds": 0}
        until = state.get("soakUntil")
        if until is None:
            until = iso(self.clock.time() + int(state["soakSeconds"]))
            state = self.store.update_exit(exit_id, {"soakUntil": until})
            self._report(state["organizationId"], exit_id, "soak", "started", {"until": until})
        left = max(0, math.ceil(_epoch(until) - self.clock.time()))
        if left == 0 and not self._past(state, "soaked"):
            self.store.update_exit(exit_id, {"phase": "soaked"})
        return {"rolledBack": False, "waitSeconds": left, "until": until}

    def rollback(self, exit_id: str, request: ExitRollbackRequest) -> dict[str, Any]:
        """Put back the DNS as it was before the cut-over (one ChangeBatch per zone), leave WorkMail as
        it is, and stop the exit's workflow. Refused once the deletion has started."""
        state = self.store.exit_state(exit_id)
        org = request.organization_id
        why = None
        if state is None or state.get("organizationId") != org:
            why = f"no organization exit {exit_id} of {org}"
        elif self._past(state, "deleting"):
            why = f"exit {exit_id} has started deleting: its DNS can no longer be rolled back"
        if why or state is None:
            self._report(
                org, exit_id, "rollback", "rejected", {"why": why}, actor=request.requested_by, reason=str(why)
            )
            raise Rejected(str(why))
        dns = state.get("dns") or {}
        change_ids: list[str] = []
        if dns.get("applied"):
            restored = []
            for z in dns["zones"]:
                zone = self.dns.zone_for(z["zoneName"])
                plans = []
                for p in z["domains"]:
                    applied = DomainPlan.from_dict(p)
                    back = plan_rollback(applied, self._current(zone, applied.names))
                    if back.conflicts:
                        why = "; ".join(back.conflicts)
                        self._report(
                            org,
                            exit_id,
                            "rollback",
                            "conflict",
                            {"conflicts": list(back.conflicts)},
                            actor=request.requested_by,
                            reason=why[:1000],
                        )
                        raise DnsNotCutOver(why)
                    plans.append(back)
                batch = zone_change_batch(zone.name, plans, f"Mailwarden exit {exit_id} rollback")
                if batch is not None:
                    change_ids.append(self.dns.change(zone, batch["Changes"], batch["Comment"]))
                restored.append(z["zoneName"])
        stopped = bool(state.get("execution")) and self.executions.stop(
            str(state["execution"]), f"rolled back by {request.requested_by}: {request.reason}"[:1000]
        )
        self.store.update_exit(
            exit_id,
            {
                "rolledBack": True,
                "phase": "exported" if self._past(state, "exported") else state.get("phase"),
                "dns": {**dns, "applied": False},
                "rollback": {"changeIds": change_ids, "appliedAt": iso(self.clock.time())},
                "cutoverApprovedBy": None,
                "soakUntil": None,
            },
        )
        detail = {"changeBatches": len(change_ids), "workflowStopped": stopped, "requestedBy": request.requested_by}
        self._report(org, exit_id, "rollback", "rolled-back", detail, actor=request.requested_by, reason=request.reason)
        return {"rolledBack": True, **detail}

    # ------------------------------------------------------------------ 5. delete

    def delete_plan(self, exit_id: str) -> dict[str, Any]:
        """Who will be deleted (verified, not protected) and what is kept, for the second approval;
        the users go to ``deletions.json`` for the workflow's Distributed Map."""
        state = self._state(exit_id)
        org = state["organizationId"]
        self._halt_if_engaged(exit_id, "delete")
        self._check_still_cut_over(state)
        items = list(self.documents.get(self._key(exit_id, "mailboxes.json")))
        results = self.store.exit_users(exit_id)
        protected = {p["user"]: p["why"] for p in state.get("protected", [])}
        users, kept = [], []
        for i in items:
            if i["kind"] != "USER":
                continue
            r = results.get(i["user"], {})
            if i["user"] in protected:
                kept.append({"user": i.get("email") or i["user"], "why": protected[i["user"]]})
            elif r.get("export") != "verified":
                kept.append({"user": i.get("email") or i["user"], "why": r.get("why") or "export not verified"})
            else:
                users.append({"user": i["user"], "email": i.get("email")})
        key = self._key(exit_id, "deletions.json")
        self.documents.put(key, users)
        counts = state["counts"]
        org_deleted = not kept
        summary = (
            f"Permanently delete {len(users)} users of WorkMail organization {org} (each mailbox exported and "
            f"verified), then {counts['groups']} group(s), {counts['resources']} resource(s), {counts['domains']} mail "
            "domain(s) and the organization"
            + ("." if org_deleted else f"; {len(kept)} user(s) are kept, so the organization is kept with them.")
        )
        request = {
            "action": "workmail.exit-delete",
            "subject": f"WorkMail organization {org}",
            "summary": summary,
            "reason": state.get("reason", ""),
            "requester": state.get("requestedBy", ""),
            "plan": {"delete": len(users), "kept": kept[:NAMED], "keptCount": len(kept), "organization": org_deleted},
        }
        return {
            "approved": bool(state.get("deleteApprovedBy")),
            "approvalRequest": request,
            "deletions": {"bucket": self.documents.bucket, "key": key, "count": len(users)},
        }

    def _check_still_cut_over(self, state: dict[str, Any]) -> None:
        """Nothing is deleted unless the DNS still points where the cut-over put it."""
        dns = state.get("dns") or {}
        if not dns.get("applied"):
            raise DnsNotCutOver("the DNS is not cut over (rolled back?): nothing is deleted")
        moved = []
        for z in dns["zones"]:
            zone = self.dns.zone_for(z["zoneName"])
            for p in z["domains"]:
                plan = DomainPlan.from_dict(p)
                if plan.needed and not is_applied(plan, self._current(zone, plan.names)):
                    moved.append(plan.domain)
        if moved:
            raise DnsNotCutOver(
                f"the DNS of {', '.join(moved)} is no longer what the cut-over wrote: nothing is deleted; fix it or "
                "roll back"
            )

    def delete_approved(self, exit_id: str, approver: str) -> dict[str, Any]:
        state = self._state(exit_id)
        self._check_still_cut_over(state)  # again: the DNS may have changed while the approval waited
        if approver and not state.get("deleteApprovedBy"):
            state = self.store.update_exit(exit_id, {"deleteApprovedBy": approver})
        # halted before the phase says deleting: nothing deleted, rollbacks still allowed, the approval kept
        self._halt_if_engaged(exit_id, "delete")
        if not self._past(state, "deleting"):
            self.store.update_exit(exit_id, {"phase": "deleting"})
        self._report(
            state["organizationId"], exit_id, "delete", "approved", {"approvedBy": approver}, actor=approver or ACTOR
        )
        return {"approvedBy": state.get("deleteApprovedBy")}

    def _deletable(self, exit_id: str, state: dict[str, Any], user: str) -> None:
        """Refused (``Rejected``) unless the deletion was approved, the user's export is verified and
        the user is not protected: checked again by every destructive step."""
        if not state.get("deleteApprovedBy"):
            raise Rejected(f"exit {exit_id}: the deletion is not approved")
        if user in {p["user"] for p in state.get("protected", [])}:
            raise Rejected(f"{user} is protected: never deleted by an exit")
        if self.store.exit_user(exit_id, user).get("export") != "verified":
            raise Rejected(f"{user}: its export is not verified; not touched")

    def user_deregister(self, exit_id: str, user: str) -> dict[str, Any]:
        state = self._state(exit_id)
        if self.store.exit_user(exit_id, user).get("deleted"):
            return {"changed": False}  # a re-run after this user was deleted
        self._halt_if_engaged(exit_id, "delete")
        self._deletable(exit_id, state, user)
        # protection as it is now (a human may have made the user an admin since the inventory):
        # its aliases and its groups, nested ones included, as offboarding checks them
        org, d = state["organizationId"], self.directory
        try:
            who = d.user(org, user)
        except NotFound:
            return {"changed": False}  # gone already
        why = self.offboarding.protection(org, who, user, d.aliases(org, user), d.groups_of(org, user))
        if why:
            raise Rejected(f"{why}: never deleted by an exit")
        return {"changed": d.deregister(org, user)}

    def user_disabled(self, exit_id: str, user: str) -> dict[str, Any]:
        state = self._state(exit_id)
        try:
            now = self.directory.user(state["organizationId"], user).state
        except NotFound:
            now = "DELETED"
        if now == "ENABLED":
            raise NotYetDisabled(f"{user} is still ENABLED")
        return {"state": now}

    def user_delete(self, exit_id: str, user: str) -> dict[str, Any]:
        state = self._state(exit_id)
        org = state["organizationId"]
        self._halt_if_engaged(exit_id, "delete")
        self._deletable(exit_id, state, user)
        try:
            now = self.directory.user(org, user).state
        except NotFound:
            now = "DELETED"
        if now == "ENABLED":
            raise DeleteRefused(f"{user} is ENABLED (registered again since it was deregistered): not deleted")
        changed = now == "DISABLED" and self.directory.delete_user(org, user)
        self.store.record_exit_user(exit_id, user, {"deleted": True, "deletedAt": iso(self.clock.time())})
        return {"deleted": True, "changed": changed}

    def user_failed(self, exit_id: str, user: str, error: str, cause: str) -> dict[str, Any]:
        if self.store.exit_user(exit_id, user).get("deleted"):
            return {"recorded": False}  # the step died after deleting it: deleted stays what it is
        try:  # died (or timed out) between DeleteUser and its record: WorkMail says what happened
            gone = self.directory.user(self._state(exit_id)["organizationId"], user).state == "DELETED"
        except NotFound:
            gone = True
        if gone:
            self.store.record_exit_user(exit_id, user, {"deleted": True, "deletedAt": iso(self.clock.time())})
            return {"recorded": True}
        self.store.record_exit_user(exit_id, user, {"deleted": False, "deleteError": f"{error}: {cause[:500]}"})
        return {"recorded": True}

    def delete_rest(self, exit_id: str) -> dict[str, Any]:
        """Groups, resources (exports verified), mail domains, then the organization: only when every
        user of the inventory is gone. Otherwise everything stays and the users left are named."""
        state = self._state(exit_id)
        org = state["organizationId"]
        self._halt_if_engaged(exit_id, "delete")
        if not state.get("deleteApprovedBy"):
            raise Rejected(f"exit {exit_id}: the deletion is not approved")
        if state.get("phase") == "deleted":
            return {"organizationDeleted": True, "changed": False}  # a re-run after the organization went
        left = [u.email or u.name for u in self.directory.users(org) if u.state != "DELETED" and u.role == "USER"]
        if left:
            why = (
                f"{len(left)} user(s) remain ({', '.join(left[:NAMED])}): the organization and its groups, "
                "resources and domains are kept"
            )
            self.store.update_exit(exit_id, {"organizationKept": why})
            return {"organizationDeleted": False, "why": why, "left": left[:NAMED]}
        results = self.store.exit_users(exit_id)
        done = Counter[str]()
        kept: list[str] = []
        for gid, _ in self.directory.groups(org):
            done["groups" if self.directory.delete_group(org, gid) else "alreadyGone"] += 1
        for r in self.directory.resources(org):
            if r.state == "DELETED":
                continue
            if results.get(r.id, {}).get("export") != "verified":
                kept.append(f"resource {r.email or r.name}: its export is not verified")
                continue
            done["resources" if self.directory.delete_resource(org, r.id) else "alreadyGone"] += 1
        if kept:
            why = "; ".join(kept) + ": the organization is kept"
            self.store.update_exit(exit_id, {"organizationKept": why})
            return {"organizationDeleted": False, "why": why, **done}
        for m in self.directory.mail_domains(org):
            if m.test or m.default:
                continue  # the default domain goes with the organization (DeregisterMailDomain refuses it)
            done["domains" if self.directory.deregister_domain(org, m.name) else "alreadyGone"] += 1
        deleted = self.directory.delete_organization(org, token=client_token(f"exit-{exit_id}", org))
        self.store.update_exit(exit_id, {"phase": "deleted", "organizationKept": None})
        return {"organizationDeleted": True, "changed": deleted, **done}

    # ------------------------------------------------------------------ summary

    def summary(self, exit_id: str, outcome: str, error: str = "", cause: str = "") -> dict[str, Any]:
        """``report.json`` naming every user, domain and record that did not complete, and why."""
        state = self._state(exit_id)
        org = state["organizationId"]
        if outcome == "stopped":
            outcome = {"Halted": "halted", "DnsNotCutOver": "dns-conflict"}.get(error, "failed")
        elif outcome == "completed" and state.get("phase") != "deleted":
            outcome = "kept"  # everything that may be deleted was; the organization stays with what may not
        results = self.store.exit_users(exit_id)
        try:
            items = list(self.documents.get(self._key(exit_id, "mailboxes.json")))
        except NotFound:
            items = []
        deleting = self._past(state, "deleting")
        incomplete = []
        for i in items:
            r = results.get(i["user"], {})
            if r.get("export") != "verified":
                incomplete.append({"entity": i.get("email") or i["user"], "why": r.get("why") or "not exported"})
            elif deleting and i["kind"] == "USER" and not r.get("deleted"):
                why = r.get("deleteError") or next(
                    (p["why"] for p in state.get("protected", []) if p["user"] == i["user"]), "not deleted"
                )
                incomplete.append({"entity": i.get("email") or i["user"], "why": why})
        dns = state.get("dns") or {}
        domains_done = [p["domain"] for z in dns.get("zones", []) for p in z["domains"]] if dns.get("applied") else []
        domains_left = [
            {"domain": m.name, "why": "DNS not cut over" + (" (rolled back)" if state.get("rolledBack") else "")}
            for m in (self._domains(state) if state.get("inventory") else [])
            if m.name not in domains_done
        ]
        counts = {
            "mailboxes": len(items),
            "verified": sum(1 for i in items if results.get(i["user"], {}).get("export") == "verified"),
            "deleted": sum(1 for r in results.values() if r.get("deleted")),
            "domainsCutOver": len(domains_done),
        }
        report = {
            "exitId": exit_id,
            "organizationId": org,
            "outcome": outcome,
            "phase": state.get("phase"),
            "error": error,
            "cause": cause[:2000],
            "finishedAt": iso(self.clock.time()),
            **counts,
            "organizationDeleted": state.get("phase") == "deleted",
            "organizationKept": state.get("organizationKept"),
            "incomplete": incomplete,
            "domainsNotCutOver": domains_left,
        }
        key = self._key(exit_id, "report.json")
        self.documents.put(key, report)
        detail = {
            **counts,
            "error": error,
            "incompleteCount": len(incomplete),
            "incomplete": incomplete[:NAMED],
            "domainsNotCutOver": domains_left[:NAMED],
            "organizationDeleted": report["organizationDeleted"],
            "report": self._uri(key),
        }
        self._report(org, exit_id, "summary", outcome, detail, reason=(cause or error or outcome)[:1000])
        return {"outcome": outcome, **counts, "incompleteCount": len(incomplete), "report": self._uri(key)}


def _epoch(timestamp: str) -> float:
    from .offboarding import _epoch as parse

    return parse(timestamp)


__all__ = ["ExitRequest", "ExitRollbackRequest", "OrganizationExit", "TargetRecordsError", "verify_export"]
