"""The REST APIs' gateway settings, shared by the stack (infra) and the local deployment, so what
API Gateway answers by itself locally is what the synthesized stack makes it answer."""

from __future__ import annotations

from typing import Any

from ..api.responses import FORBIDDEN, INTERNAL, LOCALE, RATE_LIMITED

# API Gateway REST's integration timeout: 29 s is the default and the maximum without a quota
# increase (FACTS.md "Platform limits"). Past it the caller gets 504 although the function goes on.
INTEGRATION_TIMEOUT_MS = 29_000
RETRY_AFTER_SECONDS = 2  # seed 002's 429 carries Retry-After; SES allows 1 request/s, two per PUT

# What API Gateway answers without custom gateway responses (the approval link API).
DEFAULT_TIMEOUT_BODY = {"message": "Endpoint request timed out"}  # 504 INTEGRATION_TIMEOUT
DEFAULT_FAULT_BODY = {"message": "Internal server error"}  # 502 for a function error


def mail_from_fault() -> dict[str, Any]:
    """The MAIL FROM API's DEFAULT_5XX gateway response body (seed 002's 500 shape); API Gateway
    fills ``$context.requestId`` in."""
    return {
        "detailCode": INTERNAL[0],
        "trackingId": "$context.requestId",
        "messages": [{"locale": LOCALE, "localeOrigin": "DEFAULT", "text": INTERNAL[1]}],
    }


OPERATIONS = ("PUT /mail-from-attributes", "GET /mail-from-attributes/{identity}")
UNKNOWN_OPERATION = f"This API has no such operation; it has {' and '.join(OPERATIONS)}."


def mail_from_unknown_operation() -> dict[str, Any]:
    """The MAIL FROM API's MISSING_AUTHENTICATION_TOKEN gateway response (what API Gateway answers a
    method or path the API does not define, by default ``{"message": "Missing Authentication Token"}``):
    seed 002's 403 shape instead."""
    return {
        "detailCode": FORBIDDEN[0],
        "trackingId": "$context.requestId",
        "messages": [{"locale": LOCALE, "localeOrigin": "DEFAULT", "text": FORBIDDEN[1]}],
        "causes": [{"locale": LOCALE, "localeOrigin": "DEFAULT", "text": UNKNOWN_OPERATION}],
    }


__all__ = [
    "DEFAULT_FAULT_BODY",
    "DEFAULT_TIMEOUT_BODY",
    "INTEGRATION_TIMEOUT_MS",
    "RATE_LIMITED",
    "RETRY_AFTER_SECONDS",
    "mail_from_fault",
    "mail_from_unknown_operation",
]
