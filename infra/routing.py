"""EventBridge rules, synthesized from ``mailwarden.contracts.routes`` (the one source of truth)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from mailwarden.contracts.names import DEFAULT_BUS
from mailwarden.contracts.routes import ROUTES

_PATTERN_KEYS = {
    "source": "source",
    "detail-type": "detail_type",
    "detail": "detail",
    "resources": "resources",
    "account": "account",
    "region": "region",
    "version": "version",
    "id": "id",
    "time": "time",
}


def cdk_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    unknown = set(pattern) - set(_PATTERN_KEYS)
    if unknown:
        raise ValueError(f"unsupported event pattern keys {sorted(unknown)}")
    return events.EventPattern(**{_PATTERN_KEYS[k]: v for k, v in pattern.items()})


class EventRouting(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: dict[str, lambda_.IFunction],
        bus: events.IEventBus,
        dlq: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rules: dict[str, events.Rule] = {}
        default_bus = events.EventBus.from_event_bus_name(self, "DefaultBus", "default")
        for route in ROUTES:
            if route.function not in functions:
                raise ValueError(f"route {route.rule_id} targets unknown function {route.function}")
            self.rules[route.rule_id] = events.Rule(
                self,
                route.rule_id,
                description=route.description,
                event_bus=default_bus if route.bus == DEFAULT_BUS else bus,
                event_pattern=cdk_pattern(route.pattern),
                targets=[
                    targets.LambdaFunction(
                        functions[route.function],
                        dead_letter_queue=dlq,
                        retry_attempts=185,
                        max_event_age=Duration.hours(24),
                    )
                ],
            )
