"""Set up an identity's MAIL FROM domain (seed 002's PUT) and read it back (its GET).

Setup, in order, so that a conflict or a bad request changes nothing and a crash anywhere is
resumed by repeating the request (or by the watcher):

1. GetEmailIdentity: the identity exists; what SES has now.
2. Route 53: the hosted zone owning the MAIL FROM domain, the record sets at that name, and the
   change that would publish SES's MX and SPF there (:func:`records.plan_records`). A CNAME, another
   MX or a broken SPF is a conflict: refused before anything is written.
3. The tracking item (status PENDING, not yet published), so the watcher knows the identity.
4. PutEmailIdentityMailFromAttributes (the request's BehaviorOnMxFailure, else the policy's), only
   when SES does not already have this domain and behaviour (or FAILED).
5. One ChangeResourceRecordSets batch, only when the records are not already right; a concurrent
   edit (``StaleRecords``) re-reads and re-plans, at most three times. A conflict found only then
   (someone else's CNAME, MX or SPF appeared between the checks and the batch), or edits that never
   stop, puts SES and the tracking item back as they were before step 3: the 400 changes nothing.
6. The tracking item marked published, with the change id; an audit record and a ``MAIL FROM
   Setup`` event.

The request never waits for Route 53 to propagate the change (about 60 s, sometimes minutes):
behind API Gateway's 29-second integration timeout the caller would get a 504 although the change
succeeded. It answers ``PENDING`` at once, and the watcher follows the change until ``INSYNC``
(``GetChange``) as it follows SES's verification.

Minimum writes per request: one SES write and one ChangeBatch, none when everything is in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..clock import Clock
from ..contracts.names import MailwardenDetailType
from ..errors import Conflict, NotFound
from ..policy import MailFromPolicy
from .model import (
    SEED_STATUS,
    IdentityMailFrom,
    InvalidRequest,
    MailFromAttributes,
    MailFromRequest,
    Publication,
    SesStatus,
    SetupResult,
    Tracked,
    Zone,
)
from .ports import Dns, Reporter, Ses, Store
from .records import SPF_RECORD, DnsConflict, RecordPlan, mx_value, plan_records

STALE_RETRIES = 3


class StaleRecords(Conflict):
    """Route 53 rejected the batch: the records changed between read and write."""


@dataclass
class MailFromService:
    ses: Ses
    dns: Dns
    store: Store
    reporter: Reporter
    policy: MailFromPolicy
    clock: Clock

    # ------------------------------------------------------------------ read

    def identity(self, identity: str) -> IdentityMailFrom:
        try:
            return self.ses.mail_from(identity)
        except NotFound:
            raise InvalidRequest(f"SES has no email identity '{identity}' in this account and region.") from None

    def attributes(self, identity: str, domain: str, status: SesStatus) -> MailFromAttributes:
        return MailFromAttributes.model_validate(
            {
                "identity": identity,
                "mailFromDomain": domain,
                "mxRecord": mx_value(self.ses.region),
                "txtRecord": SPF_RECORD,
                "mailFromDomainStatus": SEED_STATUS[status],
            }
        )

    def get(self, identity: str) -> tuple[MailFromAttributes, SesStatus]:
        current = self.identity(identity)
        if not current.domain or current.status is None:
            raise InvalidRequest(f"The identity '{identity}' has no custom MAIL FROM domain; PUT one first.")
        return self.attributes(identity, current.domain, current.status), current.status

    # ------------------------------------------------------------------ setup

    def setup(self, request: MailFromRequest, actor: str, attempt: int | None = None) -> SetupResult:
        request.check_subdomain()
        identity, domain = request.identity, request.mail_from_domain
        current = self.identity(identity)
        zone = self.dns.zone_for(domain)
        try:
            plan = self._plan(zone, domain) if zone else None
        except DnsConflict as exc:
            self.reporter.report(
                MailwardenDetailType.MAIL_FROM_SETUP,
                identity,
                "rejected",
                actor,
                {"domain": domain, "reason": str(exc)},
            )
            raise InvalidRequest(str(exc)) from None
        attempts = attempt or 1  # a person asking again starts a new round of attempts
        before = self.store.get(identity)
        behavior = request.behavior_on_mx_failure or self.policy.behavior_on_mx_failure
        tracked = Tracked(
            identity=identity,
            domain=domain,
            status=(current.status or SesStatus.PENDING).value,
            attempts=attempts,
            published=False,
            zone_id=zone.id if zone else None,
            change_id=None,
            next_check_at=self.clock.now(),
            updated_at=self.clock.now(),
            requested_by=actor,
            behavior=request.behavior_on_mx_failure,
        )
        self.store.put(tracked)
        ses_written = (
            current.domain != domain or current.behavior != behavior or current.status in (None, SesStatus.FAILED)
        )
        if ses_written:
            self.ses.set_mail_from(identity, domain, behavior)
        status = SesStatus.PENDING if ses_written else (current.status or SesStatus.PENDING)
        try:
            publication = self._publish(zone, domain, plan, identity) if zone and plan else Publication("not-published")
        except (InvalidRequest, StaleRecords) as exc:
            self._put_back(current, before, domain, behavior)
            reason = str(exc) if isinstance(exc, InvalidRequest) else _still_changing(domain)
            self.reporter.report(
                MailwardenDetailType.MAIL_FROM_SETUP,
                identity,
                "rejected",
                actor,
                {
                    "domain": domain,
                    "reason": reason,
                    "restored": {"domain": current.domain, "behavior": current.behavior},
                },
            )
            raise InvalidRequest(reason) from None
        propagating = publication.change_id if publication.outcome == "published" else None
        self.store.put(
            tracked.but(
                status=status.value,
                published=publication.outcome != "not-published",
                change_id=propagating,
                # a change still propagating is looked at on the watcher's next run
                next_check_at=self.clock.now() if propagating else self.next_check(status),
                updated_at=self.clock.now(),
            )
        )
        outcome = "set-up" if ses_written or publication.outcome == "published" else "unchanged"
        self.reporter.report(
            MailwardenDetailType.MAIL_FROM_SETUP,
            identity,
            outcome,
            actor,
            {
                "before": {"domain": current.domain, "status": current.status, "behavior": current.behavior},
                "after": {"domain": domain, "status": status.value, "behavior": behavior},
                "dns": publication.outcome,
                "zone": publication.zone.id if publication.zone else None,
                "change": publication.change_id,
                "notes": list(publication.notes),
                "attempt": attempts,
            },
        )
        # seed 002's status is PENDING while either SES or Route 53 is not done
        shown = SesStatus.PENDING if propagating else status
        return SetupResult(self.attributes(identity, domain, shown), status, publication, ses_written)

    def _put_back(self, current: IdentityMailFrom, before: Tracked | None, domain: str, behavior: str) -> None:
        """Undo steps 3 and 4 after a late conflict: SES back to the domain and behaviour it had (a
        FAILED setup of the same domain restarted is left restarted: that changes nothing SES sends
        with), and the tracking item back to what it was (none: removed, so no watcher publishes)."""
        if current.domain != domain or (current.behavior or behavior) != behavior:
            if current.domain:
                self.ses.set_mail_from(current.identity, current.domain, current.behavior or behavior)
            else:
                self.ses.clear_mail_from(current.identity)
        if before is not None:
            self.store.put(before)
        else:
            self.store.delete(current.identity)

    def next_check(self, status: SesStatus) -> datetime:
        if status == SesStatus.SUCCESS:
            return self.clock.now() + timedelta(hours=self.policy.recheck_succeeded_hours)
        return self.clock.now() + timedelta(minutes=self.policy.check_every_minutes)

    def _plan(self, zone: Zone, domain: str) -> RecordPlan:
        return plan_records(domain, self.dns.record_sets(zone, domain), self.ses.region, self.policy.record_ttl)

    def _publish(self, zone: Zone, domain: str, plan: RecordPlan, identity: str) -> Publication:
        """The change batch; when someone edited the records in between, re-read and re-plan."""
        stale = 0
        while plan.needed:
            try:
                change = self.dns.change(zone, plan.changes, f"Mailwarden: MAIL FROM {domain} for {identity}")
                return Publication("published", zone, change, plan.notes)
            except StaleRecords:
                stale += 1
                if stale > STALE_RETRIES:
                    raise
            try:
                plan = self._plan(zone, domain)
            except DnsConflict as exc:
                raise InvalidRequest(str(exc)) from None
        return Publication("unchanged", zone)


def _still_changing(domain: str) -> str:
    return (
        f"the records at {domain} changed {STALE_RETRIES + 1} times while Mailwarden wrote them (another writer is "
        "editing them); nothing was changed. Try again when the other change is done."
    )
