"""Approval decisions, from two doors into one use case:

* the link API (API Gateway): ``GET /approvals/{id}`` shows a confirmation page and decides
  nothing (mail scanners prefetch links); ``POST /approvals/{id}`` from that page decides;
* the SNS approval-decisions topic (ChatOps bots): signed decision messages.

Both verify the HMAC signature, enforce single use with a conditional write, then resume the
workflow with SendTaskSuccess / SendTaskFailure. Every refusal is audited and emitted.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mailwarden import wiring
from mailwarden.approvals import pages
from mailwarden.approvals.inbound import attempt_from_fields, attempts_from_sns, is_sns_event
from mailwarden.approvals.model import Outcome
from mailwarden.contracts.metrics import Metric
from mailwarden.errors import MalformedEvent
from mailwarden.observability import logger, metrics, reject, tracer

app = APIGatewayRestResolver()
HTML = "text/html; charset=utf-8"


def _source() -> str:
    identity = app.current_event.request_context.identity
    return f"{identity.source_ip or '?'} {identity.user_agent or '?'}"[:300]


def _html(status: int, body: str, **headers: str) -> Response:
    return Response(status_code=status, content_type=HTML, body=body, headers={**pages.SECURITY_HEADERS, **headers})


def _outcome_metric(outcome: Outcome) -> None:
    name = "ApprovalDecisionsAccepted" if outcome.accepted else "ApprovalAttemptsRefused"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


@app.get("/approvals/<request_id>")
def confirm(request_id: str) -> Response:
    try:
        attempt = attempt_from_fields(
            request_id, app.current_event.query_string_parameters or {}, via="link-view", source=_source()
        )
    except MalformedEvent as exc:
        metrics.add_metric(name=Metric.APPROVAL_ATTEMPTS_REFUSED, unit=MetricUnit.Count, value=1)
        return _html(400, pages.result(Outcome(False, str(exc))))
    outcome = wiring.approval_callback().approvals.view(attempt)
    metrics.add_metric(name=Metric.APPROVAL_PAGES_VIEWED, unit=MetricUnit.Count, value=1)
    if outcome.accepted:
        return _html(200, pages.confirmation(attempt, outcome))
    return _html(outcome.status, pages.result(outcome))


@app.post("/approvals/<request_id>")
def decide(request_id: str) -> Response:
    event = app.current_event
    content_type = (event.headers or {}).get("content-type") or (event.headers or {}).get("Content-Type") or ""
    as_json = content_type.startswith("application/json")
    try:
        if as_json:
            fields = json.loads(event.decoded_body or "{}")
            if not isinstance(fields, dict):
                raise MalformedEvent("expected a JSON object")
        elif content_type.startswith("application/x-www-form-urlencoded"):
            fields = dict(parse_qsl(event.decoded_body or "", keep_blank_values=True))
        else:
            raise MalformedEvent("send the confirmation form (application/x-www-form-urlencoded) or JSON")
        attempt = attempt_from_fields(request_id, fields, via="link", source=_source())
    except (MalformedEvent, ValueError) as exc:
        outcome = Outcome(False, str(exc))
        return _respond(outcome, as_json)
    try:
        outcome = wiring.approval_callback().approvals.decide(attempt)
    except Exception:  # noqa: BLE001 -- throttled after retries, a 5xx, a crash: the decision is resumable
        logger.exception("decision not finished")
        retry = Outcome(False, "Mailwarden could not finish this decision just now. Submit the form again.")
        return _respond(retry, as_json, status=503, headers={"Retry-After": "5"})
    _outcome_metric(outcome)
    return _respond(outcome, as_json)


def _respond(
    outcome: Outcome, as_json: bool, status: int | None = None, headers: dict[str, str] | None = None
) -> Response:
    code = status or outcome.status
    if as_json:
        body = {
            "accepted": outcome.accepted,
            "message": outcome.message,
            "refusal": outcome.refusal.value if outcome.refusal else None,
            "request": outcome.request.public() if outcome.request else None,
        }
        return Response(
            code, "application/json", json.dumps(body), headers={**pages.SECURITY_HEADERS, **(headers or {})}
        )
    return _html(code, pages.result(outcome), **(headers or {}))


def sns_decisions(event: dict[str, Any]) -> dict[str, Any]:
    deps = wiring.approval_callback()
    try:
        attempts = attempts_from_sns(event, deps.settings.decisions_topic_arn)
    except MalformedEvent as exc:
        return reject(deps.dead_letters, event, exc, "malformed decision message")
    results = []
    for attempt in attempts:
        outcome = deps.approvals.decide(attempt)  # transient errors raise: Lambda retries, then the DLQ
        _outcome_metric(outcome)
        results.append({"requestId": attempt.request_id, "accepted": outcome.accepted, "message": outcome.message})
    return {"status": "decided", "results": results}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if is_sns_event(event):
        return sns_decisions(event)
    return app.resolve(event, context)
