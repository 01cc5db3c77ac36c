"""Seed 002's MAIL FROM API behind API Gateway: ``PUT /mail-from-attributes`` sets an identity's MAIL
FROM domain and publishes its records to Route 53; ``GET /mail-from-attributes/{identity}`` reads it.

Every answer has seed 002's shape: 200 with the attributes; 400 / 403 / 500 with ``detailCode``,
``trackingId``, ``messages`` (and ``causes``); 401 ``{"error": "JWT validation failed: ..."}``; 429
``{"message": " Rate Limit Exceeded "}`` with ``Retry-After``. Never a stack trace.
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
from mailwarden.contracts.apis import RETRY_AFTER_SECONDS
from mailwarden.contracts.metrics import Metric
from mailwarden.errors import Throttled
from mailwarden.mailfrom.model import InvalidRequest, MailFromAttributes, MailFromRequest, SesStatus
from mailwarden.observability import logger, metrics, tracer

app = APIGatewayRestResolver(enable_validation=True)
OK = {
    200: {
        "description": "MAIL FROM Attributes required to verify the change",
        "content": {"application/json": {"model": MailFromAttributes}},
    },
    **responses.openapi_errors(),
}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status, "application/json", json.dumps(body), headers={"Cache-Control": "no-store", **(headers or {})}
    )


def _attributes(
    attrs: MailFromAttributes, ses_status: SesStatus, headers: dict[str, str]
) -> Response[MailFromAttributes]:
    headers = {"Cache-Control": "no-store", "Mailwarden-Ses-Status": ses_status.value, **headers}
    return Response(200, "application/json", attrs, headers)


@app.put("/mail-from-attributes", summary="Change MAIL FROM domain", responses=OK, tags=["MAIL FROM"])
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


@app.get("/mail-from-attributes/<identity>", summary="Get MAIL FROM attributes", responses=OK, tags=["MAIL FROM"])
def get_mail_from(identity: Annotated[str, Path(min_length=3, max_length=320)]) -> Response[MailFromAttributes]:
    """The identity's MAIL FROM domain, the records it needs and SES's current verification status."""
    attrs, status = wiring.mail_from_api().service.get(unquote(identity))
    return _attributes(attrs, status, {})


@app.exception_handler(RequestValidationError)
def _invalid(exc: RequestValidationError) -> Response:
    causes = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "path"))
        causes.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return _json(400, responses.problem(responses.BAD_REQUEST, causes or ["the request body is not valid JSON"]))


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
    app.append_context(actor=principal.actor)
    return app.resolve(event, context)


def _proxy(response: Response) -> dict[str, Any]:
    return {
        "statusCode": response.status_code,
        "headers": {k: v for k, v in response.headers.items() if isinstance(v, str)},
        "body": response.body,
        "isBase64Encoded": False,
    }
