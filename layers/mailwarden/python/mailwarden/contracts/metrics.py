"""CloudWatch metric names (Powertools EMF, namespace ``Mailwarden``, dimension ``service``): the
handlers emit them, the dashboard and the alarms in ``infra.observability`` read them."""

from __future__ import annotations

from enum import StrEnum

NAMESPACE = "Mailwarden"
SERVICE = "mailwarden"  # POWERTOOLS_SERVICE_NAME of every function: the metrics' one dimension
STATUS_DIMENSION = "Status"  # MailFromIdentities is also published per MAIL FROM status


class Metric(StrEnum):
    # actions taken
    REPUTATION_ACTIONS_APPLIED = "ReputationActionsApplied"
    ENTITIES_DISABLED = "EntitiesDisabled"
    ENTITIES_REINSTATED = "EntitiesReinstated"
    OFFBOARDING_STEPS = "OffboardingSteps"
    EXIT_STEPS = "OrganizationExitSteps"
    MAIL_FROM_SETUPS = "MailFromSetups"
    PARTNER_WRITES = "PartnerWrites"
    # inputs and runs
    SIGNALS_OBSERVED = "SignalsObserved"
    EVENTS_REJECTED = "EventsRejected"
    RECONCILE_RUNS_STARTED = "ReconcileRunsStarted"
    RECONCILE_RUNS_SKIPPED = "ReconcileRunsSkipped"
    RECONCILE_STEPS = "ReconcileSteps"
    WORKMAIL_REQUESTS = "WorkmailRequests"
    MAIL_FROM_CHECKS = "MailFromChecks"
    PARTNER_CATALOGS_CHECKED = "PartnerCatalogsChecked"
    PARTNER_DRIFT_DETECTED = "PartnerDriftDetected"
    PARTNER_APPROVALS_REQUESTED = "PartnerApprovalsRequested"
    PARTNER_CONFLICTS = "PartnerConflicts"
    PARTNER_CONFLICTS_EXHAUSTED = "PartnerConflictsExhausted"
    PARTNER_FAILURES = "PartnerFailures"
    # approvals
    APPROVALS_REQUESTED = "ApprovalsRequested"
    APPROVALS_EXPIRED = "ApprovalsExpired"
    APPROVAL_ATTEMPTS_REFUSED = "ApprovalAttemptsRefused"
    APPROVAL_PAGES_VIEWED = "ApprovalPagesViewed"
    APPROVAL_TASKS_INVALID = "ApprovalTasksInvalid"
    # MAIL FROM API
    API_REQUESTS_UNAUTHORIZED = "ApiRequestsUnauthorized"
    API_REQUESTS_FORBIDDEN = "ApiRequestsForbidden"
    API_REQUESTS_THROTTLED = "ApiRequestsThrottled"
    API_FAULTS = "ApiFaults"
    # AWS API throttling Mailwarden's SDK calls met (each one retried with back-off)
    AWS_THROTTLES = "AwsThrottles"
    # the health census (every 5 minutes; gauges)
    APPROVALS_PENDING = "ApprovalsPending"
    OLDEST_PENDING_APPROVAL_AGE = "OldestPendingApprovalAgeSeconds"
    APPROVALS_EXPIRING_SOON = "ApprovalsExpiringSoon"
    KILL_SWITCH_ENGAGED = "KillSwitchEngaged"
    MAIL_FROM_IDENTITIES = "MailFromIdentities"  # per Status


MAIL_FROM_STATUSES = ("SUCCESS", "PENDING", "FAILED", "TEMPORARY_FAILURE")
EXPIRING_SOON_SECONDS = 3600  # an approval that expires within this is "about to expire"
