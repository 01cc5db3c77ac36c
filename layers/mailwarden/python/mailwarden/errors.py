"""Domain errors. Adapters translate AWS ClientError codes into these; the domain never parses
AWS error strings."""

from __future__ import annotations


class MailwardenError(Exception):
    """Base class."""


class MalformedEvent(MailwardenError):
    """An input event that can never be processed; goes to the DLQ with this message as reason."""


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
