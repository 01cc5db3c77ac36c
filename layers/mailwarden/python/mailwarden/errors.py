"""Domain errors. Adapters translate AWS ClientError codes into these; the domain never parses
AWS error strings."""

from __future__ import annotations

from pydantic import ValidationError


class MailwardenError(Exception):
    """Base class."""


class MalformedEvent(MailwardenError):
    """An input event that can never be processed; goes to the DLQ with this message as reason."""


def malformed(what: str, exc: ValidationError, path: str = "") -> MalformedEvent:
    """``MalformedEvent("<what>: <path><field>: <problem>")`` naming the first problem pydantic found."""
    first = exc.errors()[0]
    return MalformedEvent(f"{what}: {path}{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")


class NotFound(MailwardenError):
    pass


class Conflict(MailwardenError):
    pass


class Throttled(MailwardenError):
    pass


class Unavailable(MailwardenError):
    """A transient AWS-side failure (5xx) that survived the SDK's retries; the step is retried."""


class AccessDenied(MailwardenError):
    pass


class PublishFailed(MailwardenError):
    pass


class TaskClosed(MailwardenError):
    """Step Functions no longer waits on the task (TaskTimedOut / TaskDoesNotExist)."""


class InvalidTaskToken(MailwardenError):
    """Step Functions rejected the task token as invalid."""


class Rejected(MailwardenError):
    """A request that must not be carried out (unknown or protected user, a group passed as a user,
    outside the restore window...): nothing is changed and the message says why."""


class ExportSlotsBusy(MailwardenError):
    """The organization already runs its maximum of concurrent mailbox exports; retried later."""


class NotYetDisabled(MailwardenError):
    """DescribeUser does not say DISABLED yet after DeregisterFromWorkMail; checked again later."""


class DeleteRefused(MailwardenError):
    """DeleteUser precondition failed: the user is not DISABLED (e.g. re-registered meanwhile)."""


class UnknownOrganization(NotFound):
    """The WorkMail organization does not exist (or is not active)."""
