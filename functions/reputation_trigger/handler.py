"""Schedule tick or operator event -> one reconcile run (or the DLQ with a reason)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mailwarden import wiring
from mailwarden.contracts.metrics import Metric
from mailwarden.contracts.names import MailwardenDetailType
from mailwarden.errors import MalformedEvent
from mailwarden.observability import logger, metrics, reject, tracer
from mailwarden.reputation.trigger import run_request


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = wiring.reputation_trigger()
    try:
        request = run_request(event)
    except MalformedEvent as exc:
        return reject(deps.dead_letters, event, exc, "reconcile request")
    busy = deps.runs.running()
    if busy and not busy.endswith(f":{request.run_id}"):
        reason = f"a reconcile run is already in progress ({busy})"
        metrics.add_metric(name=Metric.RECONCILE_RUNS_SKIPPED, unit=MetricUnit.Count, value=1)
        deps.events.publish(MailwardenDetailType.REPUTATION_RUN_SKIPPED, {**request.input(), "reason": reason}, [])
        return {"status": "skipped", "runId": request.run_id, "reason": reason}
    execution, new = deps.runs.start(request)
    metrics.add_metric(name=Metric.RECONCILE_RUNS_STARTED, unit=MetricUnit.Count, value=int(new))
    logger.info("reconcile run", run=request.run_id, new=new)
    return {"status": "started" if new else "duplicate", "runId": request.run_id, "execution": execution}
