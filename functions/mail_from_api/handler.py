"""Seed 002's MAIL FROM API behind API Gateway: ``PUT /mail-from-attributes`` sets an identity's MAIL
FROM domain and publishes its records to Route 53; ``GET /mail-from-attributes/{identity}`` reads it.

Every answer has seed 002's shape: 200 with the attributes; 400 / 403 / 500 with ``detailCode``,
``trackingId``, ``messages`` (and ``causes``); 401 ``{"error": "JWT validation failed: ..."}``; 429
``{"message": " Rate Limit Exceeded "}`` with ``Retry-After``. Never a stack trace.

Bodies are JSON: ``Content-Type: application/json`` (any parameters, e.g. ``charset=utf-8``) or no
Content-Type at all; any other type (curl's default form encoding, text/plain, XML...) is the seed's
400, whose cause names the Content-Type (seed 002 lists no 415, so none is answered).
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mailwarden import wiring
from mailwarden.api import responses
from mailwarden.api.auth import Forbidden, Unauthorized
from mailwarden.contracts.apis import RETRY_AFTER_SECONDS, UNKNOWN_OPERATION
from mailwarden.contracts.metrics import Metric
from mailwarden.errors import Throttled
from mailwarden.mailfrom.model import (
    IDENTITY_MAX,
    IDENTITY_PATTERN,
    InvalidRequest,
    MailFromAttributes,
    MailFromRequest,
    SesStatus,
    check_identity,
)
from mailwarden.observability import logger, metrics, tracer

app = APIGatewayRestResolver(enable_validation=True)
_200 = {
    "description": "MAIL FROM Attributes required to verify the change",
    "content": {"application/json": {"model": MailFromAttributes}},
}
RESPONSES = {200: _200, **responses.openapi_errors()}
JSON = "application/json"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status, "application/json", json.dumps(body), headers={"Cache-Control": "no-store", **(headers or {})}
    )


def _attributes(
    attrs: MailFromAttributes, ses_status: SesStatus, headers: dict[str, str]
) -> Response[MailFromAttributes]:
    headers = {"Cache-Control": "no-store", "Mailwarden-Ses-Status": ses_status.value, **headers}
    return Response(200, "application/json", attrs, headers)


@app.put("/mail-from-attributes", summary="Change MAIL FROM domain", responses=RESPONSES, tags=["MAIL FROM"])
def put_mail_from(request: Annotated[MailFromRequest, Body()]) -> Response[MailFromAttributes]:
    """Change the MAIL FROM domain of an AWS SES email identity and provide the MX and TXT records to be placed
    in the caller's DNS. Mailwarden also publishes them to the Route 53 hosted zone that owns the domain."""
    result = wiring.mail_from_api().service.setup(request, app.context["actor"])
    pub = result.publication
    headers = {"Mailwarden-Dns-Publication": pub.outcome}
    if pub.zone:
        headers["Mailwarden-Hosted-Zone"] = pub.zone.id
        headers["Mailwarden-Dns-Change"] = "INSYNC" if pub.outcome == "unchanged" else "PENDING"
        if pub.change_id:
            headers["Mailwarden-Dns-Change-Id"] = pub.change_id
    else:
        headers["Mailwarden-Dns-Note"] = (
            f"No Route 53 hosted zone in this account owns {request.mail_from_domain}: publish the MX and TXT "
            "records in your DNS provider."
        )
    metrics.add_metric(name=Metric.MAIL_FROM_SETUPS, unit=MetricUnit.Count, value=1)
    logger.info("MAIL FROM set", identity=request.identity, domain=request.mail_from_domain, dns=pub.outcome)
    return _attributes(result.attributes, result.ses_status, headers)


@app.get(
    "/mail-from-attributes/<identity>", summary="Get MAIL FROM attributes", responses=RESPONSES, tags=["MAIL FROM"]
)
def get_mail_from(
    identity: Annotated[
        str,
        # Documented as the decoded value a client encodes; the path carries it percent-encoded
        # (ops%40example.com), so it is checked once decoded, below.
        Path(json_schema_extra={"minLength": 3, "maxLength": IDENTITY_MAX, "pattern": IDENTITY_PATTERN}),
    ],
) -> Response[MailFromAttributes]:
    """The identity's MAIL FROM domain, the records it needs and SES's current verification status."""
    try:
        name = check_identity(unquote(identity))
    except ValueError as exc:
        raise InvalidRequest(f"identity: {exc}") from None
    attrs, status = wiring.mail_from_api().service.get(name)
    return _attributes(attrs, status, {})


@app.not_found
def _no_such_operation(exc: Exception) -> Response:
    """Only when API Gateway lets an undefined method or path through (it answers those itself)."""
    return _json(403, responses.problem(responses.FORBIDDEN, [UNKNOWN_OPERATION]))


@app.exception_handler(RequestValidationError)
def _invalid(exc: RequestValidationError) -> Response:
    causes = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            at = next((p for p in error.get("loc", ()) if isinstance(p, int)), None)
            detail = (error.get("ctx") or {}).get("error") or "not JSON"
            causes.append(f"the body is not valid JSON: {detail}" + (f" (character {at})" if at is not None else ""))
            continue
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "path"))
        message = str(error.get("msg")).removeprefix("Value error, ")
        if not where and error.get("type") == "missing":
            message += " (a JSON object with identity and mailFromDomain)"
        causes.append(f"{where or 'body'}: {message}")
    return _json(400, responses.problem(responses.BAD_REQUEST, causes or ["the request body is not valid JSON"]))


def _unsupported(content_type: str) -> Response:
    cause = (
        f"Content-Type '{content_type[:100]}' is not accepted: send the body as JSON, with "
        "'Content-Type: application/json' or without a Content-Type (curl -d sends form encoding unless told "
        "-H 'Content-Type: application/json')."
    )
    return _json(400, responses.problem(responses.BAD_REQUEST, [cause]))


def _is_json(content_type: str | None) -> bool:
    """No Content-Type (read as JSON) or ``application/json`` with any parameters."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in ("", JSON)


@app.exception_handler(InvalidRequest)
def _semantic(exc: InvalidRequest) -> Response:
    return _json(400, responses.problem(responses.BAD_REQUEST, list(exc.causes)))


@app.exception_handler(Throttled)
def _throttled(exc: Throttled) -> Response:
    metrics.add_metric(name=Metric.API_REQUESTS_THROTTLED, unit=MetricUnit.Count, value=1)
    logger.warning("throttled downstream", reason=str(exc))
    return _json(429, responses.RATE_LIMITED, {"Retry-After": str(RETRY_AFTER_SECONDS)})


@app.exception_handler(Exception)
def _fault(exc: Exception) -> Response:
    tracking = responses.tracking_id()
    logger.exception("MAIL FROM API fault", tracking_id=tracking)
    metrics.add_metric(name=Metric.API_FAULTS, unit=MetricUnit.Count, value=1)
    return _json(500, responses.problem(responses.INTERNAL, tracking=tracking))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The caller is checked before anything else, the body included (Powertools validates bodies first).
    deps = wiring.mail_from_api()
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        principal = deps.verifier.verify(headers.get("authorization"), deps.scopes_for(event.get("httpMethod", "")))
    except Unauthorized as exc:
        metrics.add_metric(name=Metric.API_REQUESTS_UNAUTHORIZED, unit=MetricUnit.Count, value=1)
        challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        return _proxy(_json(401, responses.unauthorized(str(exc)), challenge))
    except Forbidden as exc:
        metrics.add_metric(name=Metric.API_REQUESTS_FORBIDDEN, unit=MetricUnit.Count, value=1)
        return _proxy(_json(403, responses.problem(responses.FORBIDDEN, [str(exc)])))
    except Exception as exc:  # noqa: BLE001 -- e.g. the issuer's keys cannot be fetched
        return _proxy(_fault(exc))
    if event.get("httpMethod") == "PUT" and not _is_json(headers.get("content-type")):
        return _proxy(_unsupported(str(headers.get("content-type"))))
    if event.get("httpMethod") == "PUT" and headers.get("content-type") is not None:
        event = _canonical_json_type(event)
    app.append_context(actor=principal.actor)
    return app.resolve(event, context)


def _canonical_json_type(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its Content-Type ``application/json`` exactly: Powertools reads a body by the
    header's case-sensitive prefix, so ``Application/JSON; charset=UTF-8`` would otherwise be refused."""
    out = dict(event)
    for key, value in (("headers", JSON), ("multiValueHeaders", [JSON])):
        given = event.get(key)
        if isinstance(given, dict):
            out[key] = {**{k: v for k, v in given.items() if k.lower() != "content-type"}, "Content-Type": value}
    return out


def _proxy(response: Response) -> dict[str, Any]:
    return {
        "statusCode": response.status_code,
        "headers": {k: v for k, v in response.headers.items() if isinstance(v, str)},
        "body": response.body,
        "isBase64Encoded": False,
    }
