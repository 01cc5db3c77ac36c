"""Partner Central connection preferences: a reconcile run (schedule tick or operator event; a
malformed one goes to the DLQ with the reason) or a step of the widening workflow (a bad one fails
the task)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mailwarden import wiring
from mailwarden.contracts.metrics import Metric
from mailwarden.errors import MalformedEvent
from mailwarden.observability import logger, metrics, reject, tracer
from mailwarden.partner.requests import ApplyApproved, run_request, step_request

METRICS = {  # outcome -> metric
    "planned": Metric.PARTNER_DRIFT_DETECTED,
    "applied": Metric.PARTNER_WRITES,
    "approval-requested": Metric.PARTNER_APPROVALS_REQUESTED,
    "conflicted": Metric.PARTNER_CONFLICTS_EXHAUSTED,
    "failed": Metric.PARTNER_FAILURES,
}


def _count(results: dict[str, Any]) -> None:
    metrics.add_metric(name=Metric.PARTNER_CATALOGS_CHECKED, unit=MetricUnit.Count, value=len(results))
    for result in results.values():
        name = METRICS.get(str(result.get("outcome")))
        if name:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        if result.get("conflicts"):
            metrics.add_metric(name=Metric.PARTNER_CONFLICTS, unit=MetricUnit.Count, value=int(result["conflicts"]))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = wiring.partner_connections()
    if isinstance(event, dict) and "step" in event:
        step = step_request(event)
        result = deps.service.apply_approved(step) if isinstance(step, ApplyApproved) else deps.service.closed(step)
        _count({step.catalog: result})
        return result
    try:
        request = run_request(event)
    except MalformedEvent as exc:
        return reject(deps.dead_letters, event, exc, "partner reconcile request")
    out = deps.service.run(request)
    _count(out["catalogs"])
    logger.info("partner run", run=request.run_id, results={c: r["outcome"] for c, r in out["catalogs"].items()})
    return out
