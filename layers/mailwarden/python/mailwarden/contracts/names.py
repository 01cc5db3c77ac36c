"""Event sources and detail types, in one place."""

from __future__ import annotations

from enum import StrEnum

SES_SOURCE = "aws.ses"
MAILWARDEN_SOURCE = "mailwarden"
DEFAULT_BUS = "default"
OPERATOR_SOURCE = "mailwarden.operator"  # what operators (the CLI, runbooks) put on the Mailwarden bus
IDENTITY_SOURCE = "mailwarden.identity"  # what HR / identity systems put on the Mailwarden bus (leavers)
MAILWARDEN_BUS = "mailwarden"  # logical name; the deployed bus name comes from EVENT_BUS_NAME


class SesDetailType(StrEnum):
    RECOMMENDATION_OPEN = "Advisor Recommendation Status Open"
    RECOMMENDATION_RESOLVED = "Advisor Recommendation Status Resolved"
    # The tenants guide calls the close event "... Status Closed": match both (FACTS.md).
    RECOMMENDATION_CLOSED = "Advisor Recommendation Status Closed"
    SENDING_ENABLED = "Sending Status Enabled"
    SENDING_DISABLED = "Sending Status Disabled"


class MailwardenDetailType(StrEnum):
    """What Mailwarden itself emits on its bus (source ``mailwarden``)."""

    REPUTATION_SIGNAL_OBSERVED = "Reputation Signal Observed"
    EVENT_REJECTED = "Event Rejected"
    APPROVAL_REQUESTED = "Approval Requested"
    APPROVAL_DECIDED = "Approval Decided"  # detail.decision: APPROVED | REJECTED
    APPROVAL_EXPIRED = "Approval Expired"  # the workflow's task timed out before anyone decided
    APPROVAL_REFUSED = "Approval Attempt Refused"  # forged, expired, replayed, not allowed, too late
    REPUTATION_ACTION = "Reputation Action"  # detail.outcome: applied | approval-requested | planned | skipped
    REPUTATION_RUN_COMPLETED = "Reputation Run Completed"
    REPUTATION_RUN_SKIPPED = "Reputation Run Skipped"  # a run is already in progress
    # detail.outcome: planned | rejected | exported | export-failed | stripped | deregistered | deleted |
    # kept-deregistered | delete-refused | restored
    WORKMAIL_OFFBOARDING = "WorkMail Offboarding"
    WORKMAIL_DECOMMISSION = "WorkMail Decommission"  # detail.outcome: planned | completed | rejected | expired
    # detail.phase: inventory | export | cutover | soak | rollback | delete | summary; detail.outcome
    # (per phase, docs/workmail-exit.md) and its counts
    WORKMAIL_EXIT = "WorkMail Organization Exit"
    # detail.outcome: set-up | unchanged | rejected | retried | abandoned; detail.before / detail.after
    MAIL_FROM_SETUP = "MAIL FROM Setup"
    MAIL_FROM_STATUS_CHANGED = "MAIL FROM Status Changed"  # detail.before / detail.after: SES's status
    # detail.catalog, detail.outcome: planned | applied | approval-requested | in-sync | rejected | expired |
    # stale-approval | halted | conflicted | failed; detail.before / detail.after; detail.plan
    PARTNER_CONNECTIONS = "Partner Connection Preferences"


class OperatorDetailType(StrEnum):
    """What operators send (source ``mailwarden.operator``) to ask Mailwarden for something."""

    RECONCILE_REQUESTED = "Reputation Reconcile Requested"  # detail: {mode: plan|apply, reason, requestedBy}
    # Also accepted from IDENTITY_SOURCE (an HR or identity system). Details: docs/workmail.md.
    OFFBOARD_REQUESTED = "WorkMail Offboarding Requested"
    RESTORE_REQUESTED = "WorkMail Restore Requested"
    DECOMMISSION_REQUESTED = "WorkMail Decommission Requested"
    EXIT_REQUESTED = "WorkMail Organization Exit Requested"  # docs/workmail-exit.md
    EXIT_ROLLBACK_REQUESTED = "WorkMail Organization Exit Rollback Requested"
    # Also accepted from IDENTITY_SOURCE: {identity, mailFromDomain?}. docs/mail-from.md.
    IDENTITY_CREATED = "Email Identity Created"
    # detail: {reason, requestedBy, mode?: plan|apply, catalogs?: [AWS|Sandbox]}. docs/partner-central.md.
    PARTNER_RECONCILE_REQUESTED = "Partner Connections Reconcile Requested"
