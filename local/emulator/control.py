"""The emulator's control API: what only AWS itself does, made drivable from tests and the demo.

Reached as ``emu.control`` inside ``emulated_aws()``. Every method changes emulated state the way
the real service would, and emits the EventBridge events AWS would emit (``source: aws.ses``) to
moto's default bus, where the rules synthesized from ``mailwarden.contracts.routes`` route them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from mailwarden.mailfrom.records import is_spf, merge_spf, quote_txt, txt_text

from .dns_checks import PublicDns, SesDnsChecks
from .protocol import ApiError
from .sesv2 import POLICIES, Entity, Finding, StatusRecord
from .workmail import EMPTY_ZIP, EXPORT_RATIO, MEGABYTE

if TYPE_CHECKING:
    from . import Emulator

FINDING_TYPES = ("DKIM", "DMARC", "SPF", "BIMI", "COMPLAINT", "BOUNCE", "FEEDBACK_3P", "IP_LISTING")


@dataclass
class EmittedEvent:
    detail_type: str
    resources: list[str]
    detail: dict[str, Any]
    at: datetime


def _ts_array(at: datetime) -> list[int]:
    """The integer-array timestamp quirk of SES status events."""
    return [at.year, at.month, at.day, at.hour, at.minute, at.second, at.microsecond * 1000]


class Control:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.emitted: list[EmittedEvent] = []
        self.emit_events = True
        self.checks = SesDnsChecks(emulator)

    @property
    def dns(self) -> PublicDns:
        """Public DNS as SES resolves it: Route 53's public hosted zones."""
        return self.checks.dns

    @property
    def _ses(self) -> Any:
        return self.emu.sesv2

    # ------------------------------------------------------------------ events

    def emit(self, detail_type: str, resources: list[str], detail: dict[str, Any]) -> None:
        """Send an ``aws.ses`` event to the default bus, as SES does (best effort)."""
        now = self.emu.clock.now()
        self.emitted.append(EmittedEvent(detail_type, resources, detail, now))
        if not self.emit_events:
            return  # simulate a lost event
        events = self.emu.client("events")
        out = events.put_events(
            Entries=[
                {
                    "Source": "aws.ses",
                    "DetailType": detail_type,
                    "Resources": resources,
                    "Detail": json.dumps(detail),
                    "Time": now,
                }
            ]
        )
        if out.get("FailedEntryCount"):
            raise RuntimeError(f"emulated AWS failed to emit {detail_type}: {out['Entries']}")

    def _status_event(self, e: Entity, origin: str, record: StatusRecord) -> None:
        self.emit(
            f"Sending Status {'Disabled' if record.status == 'DISABLED' else 'Enabled'}",
            [e.reference],
            {
                "version": "1.0.0",
                "data": {
                    "origin": origin,
                    "record": {
                        "status": record.status,
                        "cause": record.cause,
                        "lastUpdatedTimestamp": _ts_array(record.updated),
                    },
                },
            },
        )

    # ------------------------------------------------------------------ SES findings and status

    def entity(self, reference: str) -> Entity:
        return self._ses.entity("RESOURCE", reference)  # type: ignore[no-any-return]

    def raise_finding(
        self, resource_arn: str, type: str = "BOUNCE", impact: str = "HIGH", description: str | None = None
    ) -> Finding:
        """Open a reputation finding and let the entity's managed policy react (may pause SES)."""
        if type not in FINDING_TYPES or impact not in ("LOW", "HIGH"):
            raise ValueError(f"unknown finding {type}/{impact}")
        with self._ses.state_lock:
            e = self.entity(resource_arn)
            now = self.emu.clock.now()
            description = description or f"{type.title()} finding raised on {resource_arn.rsplit('/', 2)[-2]}."
            existing = self._ses.open_finding(resource_arn, type)
            if existing:
                existing.impact, existing.description, existing.updated = impact, description, now
                finding = existing
            else:
                finding = Finding(resource_arn, type, impact, description, "OPEN", now, now)
                self._ses.findings.append(finding)
        self.emit(
            "Advisor Recommendation Status Open",
            [resource_arn],
            {"version": "1.0.0", "data": description, "metadata": {"impact": impact, "type": type}},
        )
        self._apply_policy(e)
        return finding

    def resolve_finding(self, resource_arn: str, type: str, detail_type: str = "Resolved") -> Finding:
        """Mark the OPEN finding FIXED; SES re-enables the entity once no finding warrants a pause."""
        with self._ses.state_lock:
            finding = self._ses.open_finding(resource_arn, type)
            if finding is None:
                raise KeyError(f"no OPEN {type} finding on {resource_arn}")
            finding.status, finding.updated = "FIXED", self.emu.clock.now()
        self.emit(
            f"Advisor Recommendation Status {detail_type}",
            [resource_arn],
            {"version": "1.0.0", "data": finding.description, "metadata": {"impact": finding.impact, "type": type}},
        )
        self._apply_policy(self.entity(resource_arn))
        return finding

    def _apply_policy(self, e: Entity) -> None:
        tier = self._ses.tier_of(e.policy)
        impact = self._ses.impact_of(e.reference)
        pause = (tier == "standard" and impact == "HIGH") or (tier == "strict" and impact is not None)
        if pause and e.ses.status != "DISABLED":
            self.set_ses_managed_status(
                e.reference,
                "DISABLED",
                f"Sending paused by the {tier} reputation policy after a {impact}-impact finding.",
            )
        elif not pause and e.ses.status == "DISABLED" and e.ses.cause and "reputation policy" in e.ses.cause:
            self.set_ses_managed_status(e.reference, "ENABLED", "Findings resolved.")

    def set_ses_managed_status(self, reference: str, status: str, cause: str | None = None) -> None:
        """Change the SES-managed status record (as SES would) and emit its status event."""
        if status not in ("ENABLED", "DISABLED", "REINSTATED"):
            raise ValueError(status)
        with self._ses.state_lock:
            e = self.entity(reference)
            e.ses = StatusRecord(status, cause, self.emu.clock.now())
        self._status_event(e, "AWS_MANAGED", e.ses)

    def update_in_progress(self, reference: str, seconds: float = 60.0) -> None:
        """Another writer (the console, another tool) has updated the entity and SES is still applying
        it: for ``seconds`` of virtual time both Update* calls on it answer ConflictException."""
        with self._ses.state_lock:
            self.entity(reference).busy_until = self.emu.clock.now() + timedelta(seconds=seconds)

    def set_policy(self, reference: str, tier: str) -> None:
        if tier not in POLICIES:
            raise ValueError(tier)
        self.entity(reference).policy = self._ses.policy_arn(tier)

    # ------------------------------------------------------------------ identity and MAIL FROM verification

    def check_identities(self, identity: str | None = None) -> dict[str, str]:
        """Run SES's verification check for one identity (or all): their VerificationStatus
        (domains: the DKIM records in Route 53; email addresses: the link followed; ``dns_checks``)."""
        names = [identity] if identity else list(self._ses.identities)
        return {n: self.checks.identity(self._ses.identities[n]) for n in names if n in self._ses.identities}

    def confirm_email_identity(self, address: str) -> None:
        """The owner of ``address`` follows the verification link SES mailed (within 24 h it counts)."""
        self._ses.identity(address).confirmed = True

    def check_mail_from(self, identity: str | None = None) -> dict[str, str]:
        """Run SES's MAIL FROM check for one identity (or all): SUCCESS once the identity is verified
        and Route 53 holds the records, TEMPORARY_FAILURE when they vanish after SUCCESS, FAILED after
        72 h without them."""
        out = {}
        for name in [identity] if identity else list(self._ses.identities):
            i = self._ses.identities.get(name)
            if i is None:
                continue
            if not i.mail_from_domain:
                self.checks.identity(i)
                continue
            out[name] = str(self.checks.mail_from(i))
        return out

    def before_route53_change(self, edit: Callable[[], None]) -> None:
        """Run ``edit`` (another writer) just before the next ChangeResourceRecordSets is checked."""
        self.emu.route53.before_change.append(edit)

    def route53_propagation(self, seconds: float) -> None:
        """How long a Route 53 change stays PENDING before GetChange says INSYNC (virtual seconds)."""
        self.emu.route53.propagation_seconds = seconds

    def set_mail_from_status(self, identity: str, status: str) -> None:
        i = self._ses.identity(identity)
        i.mail_from_status, i.mail_from_set_at = status, self.emu.clock.now()

    # ------------------------------------------------------------------ WorkMail

    def add_organization(self, alias: str, domain: str | None = None) -> str:
        return self.emu.workmail.add_organization(alias, domain)  # type: ignore[no-any-return]

    def finish_export(self, org_id: str, job_id: str, *, fail: str | None = None, at: datetime | None = None) -> str:
        """Complete a running export job now (or ``at``): writes the archive to S3, or fails it. The
        archive is ``ceil(mailbox bytes * EXPORT_RATIO)`` bytes (an empty mailbox: an empty zip), empty
        or absent after ``empty_next_export`` / ``lose_next_export``."""
        wm = self.emu.workmail
        org = wm.orgs[org_id]
        job = wm.job(org, job_id)
        if job.state != "RUNNING":
            return str(job.state)
        job.end = at or self.emu.clock.now()
        if fail:
            job.state, job.error = "FAILED", fail
            return "FAILED"
        if job.sabotage != "lost":
            try:
                self.emu.client("s3").put_object(
                    Bucket=job.bucket, Key=f"{job.prefix}/{job.job_id}.zip", Body=self._archive(org, job)
                )
            except Exception as exc:  # noqa: BLE001 - any S3 failure fails the job, as in AWS
                job.state, job.error = "FAILED", f"Could not write to s3://{job.bucket}: {exc}"
                return "FAILED"
        job.state = "COMPLETED"
        return "COMPLETED"

    def _archive(self, org: Any, job: Any) -> bytes:
        mailbox = org.members[job.entity_id].mailbox_mb * MEGABYTE
        size = 0 if job.sabotage == "empty" else math.ceil(mailbox * EXPORT_RATIO)
        if size == 0:
            return EMPTY_ZIP
        return (f"mailbox export {job.entity_id}".encode() + b"\0" * size)[:size]

    def set_mailbox_size(self, org_id: str, user_id: str, megabytes: float) -> None:
        """The mailbox of ``user_id`` (id, name or email) holds ``megabytes`` (0: empty): what
        GetMailboxDetails says and what its next export's archive size follows."""
        wm = self.emu.workmail
        if megabytes < 0:
            raise ValueError("a mailbox size is not negative")
        wm.member(wm.orgs[org_id], user_id, "USER", "RESOURCE").mailbox_mb = float(megabytes)

    def empty_next_export(self, org_id: str) -> None:
        """The next export job started in the organization COMPLETES with an empty archive (22 bytes),
        whatever the mailbox holds."""
        self.emu.workmail.sabotaged_exports[org_id] = "empty"

    def lose_next_export(self, org_id: str) -> None:
        """The next export job started in the organization COMPLETES without writing any object."""
        self.emu.workmail.sabotaged_exports[org_id] = "lost"

    def add_mail_domain(self, org_id: str, domain: str, *, default: bool = False) -> list[dict[str, str]]:
        """Register ``domain`` in the organization (``RegisterMailDomain``) and verify it (as if its
        records were published; ``publish_mail_domain`` writes them for real); ``default``: make it the
        default domain. Returns the records GetMailDomain lists for it."""
        wm = self.emu.client("workmail")
        wm.register_mail_domain(OrganizationId=org_id, DomainName=domain)
        d = self.emu.workmail.orgs[org_id].domains[domain.lower()]
        d.ownership = d.dkim = "VERIFIED"
        if default:
            wm.update_default_mail_domain(OrganizationId=org_id, DomainName=domain)
        return list(wm.get_mail_domain(OrganizationId=org_id, DomainName=domain)["Records"])

    def publish_mail_domain(self, org_id: str, domain: str, zone_id: str) -> str:
        """Write WorkMail's records for ``domain`` (GetMailDomain's) into the Route 53 zone ``zone_id``,
        as the customer did when adding the domain: one UPSERT per name and type, TXT values quoted,
        other TXT values at a name kept and an existing SPF record merged (never a second one).
        Returns the change id."""
        r53 = self.emu.client("route53")
        records = self.emu.client("workmail").get_mail_domain(OrganizationId=org_id, DomainName=domain)["Records"]
        wanted: dict[tuple[str, str], list[str]] = {}
        for r in records:
            wanted.setdefault((r["Hostname"].rstrip(".").lower() + ".", r["Type"]), []).append(r["Value"])
        changes = []
        for (name, kind), values in wanted.items():
            if kind == "TXT":
                existing = [txt_text(v) for v in self._values(r53, zone_id, name, "TXT")]
                spf = [v for v in existing if is_spf(v)]
                if spf and any(is_spf(v) for v in values):
                    values = [v for v in values if not is_spf(v)] + [merge_spf(spf[0])]
                values = [quote_txt(v) for v in [*(v for v in existing if not is_spf(v) and v not in values), *values]]
            rrset = {"Name": name, "Type": kind, "TTL": 3600, "ResourceRecords": [{"Value": v} for v in values]}
            changes.append({"Action": "UPSERT", "ResourceRecordSet": rrset})
        out = r53.change_resource_record_sets(
            HostedZoneId=zone_id, ChangeBatch={"Comment": f"WorkMail records for {domain}", "Changes": changes}
        )
        return str(out["ChangeInfo"]["Id"])

    @staticmethod
    def _values(r53: Any, zone_id: str, name: str, kind: str) -> list[str]:
        sets = r53.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=name, StartRecordType=kind)
        return [
            r["Value"]
            for s in sets["ResourceRecordSets"]
            if s["Name"].lower() == name and s["Type"] == kind
            for r in s.get("ResourceRecords", [])
        ]

    def add_users(self, org_id: str, *names: str) -> dict[str, str]:
        """Create and register users ``<name>@<the organization's domain>``; returns name -> user id."""
        wm = self.emu.client("workmail")
        domain = self.emu.workmail.orgs[org_id].domain
        ids = {}
        for name in names:
            uid = wm.create_user(OrganizationId=org_id, Name=name, DisplayName=name.title(), Password="Pa55w0rd!x")
            ids[name] = str(uid["UserId"])
            wm.register_to_work_mail(OrganizationId=org_id, EntityId=ids[name], Email=f"{name}@{domain}")
        return ids

    def max_concurrent_exports(self, org_id: str) -> int:
        """The most export jobs that ran at the same moment in the organization (from their intervals)."""
        jobs = list(self.emu.workmail.orgs[org_id].exports.values())
        return max(
            (sum(1 for j in jobs if j.start <= s.start and (j.end is None or j.end > s.start)) for s in jobs), default=0
        )

    def fail_next_export(self, org_id: str, reason: str = "Access denied to the S3 bucket") -> None:
        """The next export job started in the organization fails instead of completing."""
        self.emu.workmail.failing_exports[org_id] = reason

    # ------------------------------------------------------------------ Partner Central

    def other_writer(self, catalog: str, access_type: str, excluded: list[str] | None = None) -> int:
        """Someone else updates the connection preferences (bumps the Revision)."""
        pc = self.emu.partnercentral
        pc.write(pc.prefs[catalog], access_type, excluded or [])
        return int(pc.prefs[catalog].revision)

    def race_partner_writer(
        self, times: int = 1, access_type: str | None = None, excluded: list[str] | None = None
    ) -> None:
        """Before each of the next ``times`` UpdateConnectionPreferences calls, another writer updates
        the same catalog first (to ``access_type``/``excluded``; by default the state stays as it is and
        only the Revision moves), so the caller's Revision is stale: ConflictException."""
        pc = self.emu.partnercentral

        def write(catalog: str) -> None:
            prefs = pc.prefs[catalog]
            pc.write(prefs, access_type or prefs.access_type, prefs.excluded if access_type is None else excluded or [])

        pc.before_update.extend([write] * times)

    def deny(self, action: str, denied: bool = True) -> None:
        """Make ``partnercentral:<action>`` fail with AccessDeniedException (or allow it again)."""
        (self.emu.partnercentral.denied_actions.add if denied else self.emu.partnercentral.denied_actions.discard)(
            action
        )

    # ------------------------------------------------------------------ time and faults

    def advance(self, delta: timedelta | float) -> datetime:
        return self.emu.clock.advance(delta)

    def inject(self, service: str, operation: str = "*", **spec: float) -> None:
        self.emu.dispatcher.faults.inject(service, operation, **spec)

    def stall(self, service: str, operation: str, seconds: float, *, after: int = 0) -> None:
        """One call hangs: the call to ``service.operation`` after the next ``after`` ones takes
        ``seconds`` more of virtual time (e.g. long enough to outlast a Lambda's timeout)."""
        self.emu.dispatcher.faults.stall(service, operation, seconds, after)

    def clear_faults(self) -> None:
        self.emu.dispatcher.faults.clear()

    def rate_limit(self, service: str, rate: float | None, burst: float = 1.0) -> None:
        self.emu.dispatcher.set_rate_limit(service, rate, burst)


__all__ = ["FINDING_TYPES", "ApiError", "Control", "EmittedEvent"]
