"""Event sources and detail types, in one place."""

from __future__ import annotations

from enum import StrEnum

SES_SOURCE = "aws.ses"
MAILWARDEN_SOURCE = "mailwarden"
DEFAULT_BUS = "default"
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
