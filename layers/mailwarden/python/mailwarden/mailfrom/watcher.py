"""The MAIL FROM watcher: follows every identity Mailwarden set up until SES says SUCCESS.

Run by a schedule (and by an ``Email Identity Created`` event). Each run reads the tracked
identities that are due (PENDING / TEMPORARY_FAILURE every ``checkEveryMinutes``; SUCCESS every
``recheckSucceededHours``, since records can vanish; a Route 53 change still propagating on the next
run) with one GetEmailIdentity each, and:

* follows the Route 53 change a setup made (``GetChange``) until it is ``INSYNC``, then records
  that (audit + ``MAIL FROM Setup`` event, outcome ``dns-insync``);

* emits ``MAIL FROM Status Changed`` (before/after) whenever SES's status changed;
* sets up again an identity whose DNS was never published (a crash between the SES write and the
  ChangeBatch) or whose status is FAILED (terminal in SES: the setup must be restarted), up to
  ``maxSetupAttempts``; after that it raises an alert once and stops watching the identity;
* stops watching an identity SES no longer has, or whose MAIL FROM was changed outside Mailwarden.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..contracts.names import MailwardenDetailType
from ..errors import NotFound, Rejected
from .model import IdentityCreated, InvalidRequest, MailFromRequest, SesStatus, Tracked, domain_of
from .service import MailFromService

ACTOR = "mailwarden:mail-from-watcher"


@dataclass
class Watcher:
    service: MailFromService

    def __post_init__(self) -> None:  # the service's own ports, policy and clock
        s = self.service
        self.ses, self.store, self.reporter, self.policy, self.clock = s.ses, s.store, s.reporter, s.policy, s.clock

    def run(self) -> dict[str, Any]:
        due = self.store.due(self.clock.now(), self.policy.max_checks_per_run)
        counts: dict[str, int] = {}
        for item in due:
            outcome = self.check(item)
            counts[outcome] = counts.get(outcome, 0) + 1
        return {"checked": len(due), "outcomes": counts}

    def identity_created(self, event: IdentityCreated) -> dict[str, Any]:
        """Set up the new identity's MAIL FROM (the event's domain, else the policy's default subdomain)
        and watch it; with neither, watch the MAIL FROM SES already has, if any."""
        actor = event.requested_by if event.requested_by != "-" else ACTOR
        sub = self.policy.default_subdomain
        domain = event.mail_from_domain or (f"{sub}.{domain_of(event.identity)}" if sub else None)
        try:
            if domain:
                request = MailFromRequest.model_validate({"identity": event.identity, "mailFromDomain": domain})
                result = self.service.setup(request, actor)
                return {"status": "set-up", "domain": domain, "dns": result.publication.outcome}
            current = self.service.identity(event.identity)
        except (InvalidRequest, ValueError) as exc:
            raise Rejected(f"Email Identity Created for {event.identity}: {exc}") from None
        if not current.domain:
            return {"status": "nothing-to-watch", "reason": "no mailFromDomain given, no policy default, none in SES"}
        status = current.status or SesStatus.PENDING
        self.store.put(
            Tracked(
                identity=event.identity,
                domain=current.domain,
                status=status.value,
                published=True,  # published by whoever set it up; the watcher only follows SES
                next_check_at=self.clock.now(),
                updated_at=self.clock.now(),
                requested_by=actor,
            )
        )
        return {"status": "watching", "domain": current.domain}

    def check(self, item: Tracked) -> str:
        try:
            now = self.ses.mail_from(item.identity)
        except NotFound:
            self._stop(item, "identity-deleted", f"SES no longer has the identity {item.identity}")
            return "identity-deleted"
        if now.domain != item.domain:
            self._stop(item, "changed-elsewhere", f"SES now has MAIL FROM {now.domain!r}, not {item.domain!r}")
            return "changed-elsewhere"
        status = now.status or SesStatus.PENDING
        if item.change_id:
            item = self._follow_change(item)
        if status.value != item.status:
            self.reporter.report(
                MailwardenDetailType.MAIL_FROM_STATUS_CHANGED,
                item.identity,
                status.value.lower(),
                ACTOR,
                {"domain": item.domain, "before": item.status, "after": status.value, "attempt": item.attempts},
            )
        if status == SesStatus.FAILED or (not item.published and item.zone_id):
            return self._set_up_again(item, status, now.verification)
        self._reschedule(item, status)
        return status.value.lower()

    def _follow_change(self, item: Tracked) -> Tracked:
        """The setup's Route 53 change: once INSYNC, say so and forget it (else look again next run)."""
        assert item.change_id is not None
        if not self.service.dns.insync(item.change_id):
            return item
        self.reporter.report(
            MailwardenDetailType.MAIL_FROM_SETUP,
            item.identity,
            "dns-insync",
            ACTOR,
            {"domain": item.domain, "zone": item.zone_id, "change": item.change_id},
        )
        return item.but(change_id=None)

    def _set_up_again(self, item: Tracked, status: SesStatus, verification: str | None = None) -> str:
        restart = status == SesStatus.FAILED
        if restart and item.attempts >= self.policy.max_setup_attempts:
            message = (
                f"MAIL FROM {item.domain} for {item.identity} is still FAILED after {item.attempts} setup attempt(s) "
                "of 72 h each: SES could not find the MX and SPF records. Check the DNS (docs/mail-from.md), then "
                "PUT /mail-from-attributes again."
            )
            if verification and verification != "SUCCESS":
                message += (
                    f" The identity itself is not verified (VerificationStatus {verification}): SES needs its DKIM "
                    "records (a domain) or the owner's confirmation (an address) first; a FAILED identity must be "
                    "created again."
                )
            self._stop(item.but(status=status.value), "abandoned", message)
            self.reporter.alert(f"Mailwarden: MAIL FROM {item.domain} failed", message)
            return "abandoned"
        asked = {"identity": item.identity, "mailFromDomain": item.domain, "behaviorOnMxFailure": item.behavior}
        request = MailFromRequest.model_validate(asked)
        try:
            self.service.setup(request, ACTOR, attempt=item.attempts + 1 if restart else item.attempts)
        except InvalidRequest as exc:  # a DNS conflict appeared meanwhile: say so, keep watching
            self._reschedule(item, status)
            self.reporter.report(
                MailwardenDetailType.MAIL_FROM_SETUP, item.identity, "rejected", ACTOR, {"reason": str(exc)}
            )
            return "conflict"
        if restart:
            self.reporter.report(
                MailwardenDetailType.MAIL_FROM_SETUP,
                item.identity,
                "retried",
                ACTOR,
                {"domain": item.domain, "attempt": item.attempts + 1, "of": self.policy.max_setup_attempts},
            )
            return "retried"
        return "republished"

    def _reschedule(self, item: Tracked, status: SesStatus) -> None:
        when = self.clock.now() if item.change_id else self.service.next_check(status)
        self.store.put(item.but(status=status.value, next_check_at=when, updated_at=self.clock.now()))

    def _stop(self, item: Tracked, outcome: str, reason: str) -> None:
        self.store.put(item.but(next_check_at=None, updated_at=self.clock.now()))
        self.reporter.report(
            MailwardenDetailType.MAIL_FROM_SETUP,
            item.identity,
            outcome,
            ACTOR,
            {"domain": item.domain, "reason": reason},
        )
