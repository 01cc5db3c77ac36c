"""Domain errors. Adapters translate AWS ClientError codes into these; the domain never parses
AWS error strings."""

from __future__ import annotations

from typing import Any, TypeVar, overload

from pydantic import BaseModel, TypeAdapter, ValidationError

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class MailwardenError(Exception):
    """Base class."""


class MalformedEvent(MailwardenError):
    """An input event that can never be processed; goes to the DLQ with this message as reason."""


def malformed(what: str, exc: ValidationError, path: str = "") -> MalformedEvent:
    """``MalformedEvent("<what>: <path><field>: <problem>")`` naming the first problem pydantic found."""
    first = exc.errors()[0]
    problem = first["msg"].removeprefix("Value error, ")  # pydantic's prefix for a validator's own message
    return MalformedEvent(f"{what}: {path}{'.'.join(str(p) for p in first['loc'])}: {problem}")


@overload
def parsed(schema: TypeAdapter[T], data: Any, what: str, path: str = "") -> T: ...


@overload
def parsed(schema: type[M], data: Any, what: str, path: str = "") -> M: ...


def parsed(schema: Any, data: Any, what: str, path: str = "") -> Any:
    """``data`` validated by a pydantic model or TypeAdapter; else :func:`malformed`'s error."""
    try:
        return schema.validate_python(data) if isinstance(schema, TypeAdapter) else schema.model_validate(data)
    except ValidationError as exc:
        raise malformed(what, exc, path) from exc


class NotFound(MailwardenError):
    pass


class Conflict(MailwardenError):
    pass


class UpdateInProgress(Conflict):
    """AWS answered ConflictException to a write: another update of the same resource is still being
    applied. Transient: a workflow step retries it; an event-driven write leaves it to the next run."""


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


class ExportCoolingDown(ExportSlotsBusy):
    """This mailbox was exported in the last 24 h (WorkMail allows one a day) by an export that may
    not stand in for the request; retried, hourly, until a new one may start."""


class NotYetDisabled(MailwardenError):
    """DescribeUser does not say DISABLED yet after DeregisterFromWorkMail; checked again later."""


class DeleteRefused(MailwardenError):
    """DeleteUser precondition failed: the user is not DISABLED (e.g. re-registered meanwhile)."""


class UnknownOrganization(NotFound):
    """The WorkMail organization does not exist (or is not active)."""


class Halted(MailwardenError):
    """The kill switch is on: a workflow step that would change something stops before it (the
    request sent again after the switch is off resumes where it stopped)."""


class DnsNotCutOver(MailwardenError):
    """An exit's DNS cut-over cannot be written (a conflict, or the records changed since they were
    approved): nothing was changed; the message names each name and what to fix."""
