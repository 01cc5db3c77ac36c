"""ClientError -> domain error, by AWS error code, for every adapter."""

from __future__ import annotations

from botocore.exceptions import ClientError

from ..errors import (
    AccessDenied,
    Conflict,
    InvalidTaskToken,
    MailwardenError,
    NotFound,
    TaskClosed,
    Throttled,
    Unavailable,
)

_BY_CODE: dict[str, type[MailwardenError]] = {
    "ThrottlingException": Throttled,
    "Throttling": Throttled,
    "TooManyRequestsException": Throttled,
    "ProvisionedThroughputExceededException": Throttled,
    "RequestLimitExceeded": Throttled,
    # Route 53: "wait until the previous request completes" (HTTP 400); botocore retries it as throttling
    "PriorRequestNotComplete": Throttled,
    "AccessDeniedException": AccessDenied,
    "AccessDenied": AccessDenied,
    "AuthorizationError": AccessDenied,
    "ResourceNotFoundException": NotFound,
    "NotFoundException": NotFound,
    "NotFound": NotFound,
    "ConflictException": Conflict,
    "ConditionalCheckFailedException": Conflict,
    "TaskTimedOut": TaskClosed,
    "TaskDoesNotExist": TaskClosed,
    "InvalidToken": InvalidTaskToken,
    "InternalFailure": Unavailable,
    "InternalServerException": Unavailable,
    "InternalServerError": Unavailable,
    "ServiceUnavailable": Unavailable,
    "ServiceUnavailableException": Unavailable,
}


def code_of(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def translate(err: ClientError) -> Exception:
    """The domain error for ``err``, or ``err`` itself when the code means nothing to the domain."""
    kind = _BY_CODE.get(code_of(err))
    return kind(str(err)) if kind else err
