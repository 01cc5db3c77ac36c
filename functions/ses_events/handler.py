"""aws.ses reputation events -> an explained signal, then the policy applied to that entity, once
per event id (Powertools idempotency on DynamoDB); malformed events go to the DLQ with a reason."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext
from mailwarden import wiring
from mailwarden.contracts.metrics import Metric
from mailwarden.contracts.ses_events import parse_ses_event
from mailwarden.errors import MalformedEvent
from mailwarden.observability import logger, metrics, reject, tracer


def react(event: dict[str, Any]) -> dict[str, Any]:
    deps = wiring.ses_events()
    signal = parse_ses_event(event)
    observations = deps.observe(signal)
    actions = []
    for obs in observations:
        if obs.state is not None:
            actions += [
                {"line": d.line(), "outcome": outcome, "note": note}
                for d, outcome, note in deps.react(obs.state, signal.id)
            ]
    metrics.add_metric(name=Metric.SIGNALS_OBSERVED, unit=MetricUnit.Count, value=len(observations))
    return {"status": "observed", "observations": [o.explanation for o in observations], "actions": actions}


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = wiring.ses_events()
    try:
        parse_ses_event(event)
    except MalformedEvent as exc:
        return reject(deps.dead_letters, event, exc, "malformed event")
    deps.idempotency_config.register_lambda_context(context)
    once = idempotent_function(
        data_keyword_argument="event", config=deps.idempotency_config, persistence_store=deps.idempotency
    )(react)
    return once(event=event)  # type: ignore[no-any-return]
