"""Seed 002's response bodies: the error shapes every Mailwarden REST endpoint answers with."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

LOCALE = "en-US"
BAD_REQUEST = (
    "400.1 Bad Request Content",
    "The request was syntactically correct but its content is semantically invalid.",
)
FORBIDDEN = ("403 Forbidden", "The server understood the request but refuses to authorize it.")
INTERNAL = ("500.0 Internal Fault", "An internal fault occurred.")
RATE_LIMITED = {"message": " Rate Limit Exceeded "}  # sic: seed 002 has the spaces


def tracking_id() -> str:
    return uuid.uuid4().hex


def _text(text: str) -> dict[str, str]:
    return {"locale": LOCALE, "localeOrigin": "DEFAULT", "text": text}


def problem(
    kind: tuple[str, str], causes: tuple[str, ...] | list[str] = (), tracking: str | None = None
) -> dict[str, Any]:
    """``{"detailCode", "trackingId", "messages": [...], "causes": [...]}`` (causes only when given)."""
    body: dict[str, Any] = {
        "detailCode": kind[0],
        "trackingId": tracking or tracking_id(),
        "messages": [_text(kind[1])],
    }
    if causes:
        body["causes"] = [_text(c) for c in causes]
    return body


def unauthorized(reason: str) -> dict[str, str]:
    return {"error": f"JWT validation failed: {reason}"}


# ---------------------------------------------------------------------------- OpenAPI schemas


class LocalizedText(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built for the OpenAPI document, not per request

    locale: str = Field(description="The locale for the message text, a BCP 47 language tag.")
    localeOrigin: str | None = Field(
        description="An indicator of how the locale was selected.",
        json_schema_extra={"enum": ["DEFAULT", "REQUEST", None]},
    )
    text: str = Field(description="Actual text of the error message in the indicated locale.")


class Problem(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built for the OpenAPI document, not per request

    detailCode: str = Field(description="Fine-grained error code providing more detail of the error.")
    trackingId: str = Field(description="Unique tracking id for the error.")
    messages: list[LocalizedText] = Field(description="Generic localized reason for error")
    causes: list[LocalizedText] = Field(
        default_factory=list,
        description="Plain-text descriptive reasons to provide additional detail to the text provided in the messages "
        "field",
    )


class JwtError(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built for the OpenAPI document, not per request

    error: str = Field(description="A message describing the error")


class RateLimited(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built for the OpenAPI document, not per request

    message: str = Field(description="A message describing the error")


def openapi_errors() -> dict[int, Any]:
    """The error responses every operation documents (Powertools ``responses=``)."""

    def doc(description: str, model: type[BaseModel]) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"model": model}}}

    return {
        400: doc("Client Error - Returned if the request body is invalid.", Problem),
        401: doc(
            "Unauthorized - Returned if there is no authorization header, or if the JWT token is expired.", JwtError
        ),
        403: doc(
            "Forbidden - Returned if the user you are running as, doesn't have access to this end-point.", Problem
        ),
        429: doc(
            "Too Many Requests - Returned in response to too many requests in a given period of time - rate limited. "
            "The Retry-After header in the response includes how long to wait before trying again.",
            RateLimited,
        ),
        500: doc("Internal Server Error - Returned if there is an unexpected error.", Problem),
    }
