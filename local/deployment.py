"""Mailwarden "deployed" on the emulator: the same buses, queues and EventBridge rules the CDK
stack creates (rules from ``mailwarden.contracts.routes``, so moto matches the very patterns AWS
would), with each rule's target an SQS queue that ``deliver()`` drains into the in-repo handler.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from mailwarden.contracts.functions import FUNCTIONS, FunctionSpec
from mailwarden.contracts.names import DEFAULT_BUS, MAILWARDEN_SOURCE
from mailwarden.contracts.routes import ROUTES, Route

from .emulator import Emulator
from .emulator.lambda_context import FakeLambdaContext

BUS_NAME = "mailwarden-local"
DLQ_NAME = "mailwarden-local-dlq"
TAP_QUEUE = "mailwarden-local-tap"  # local only: sees everything Mailwarden publishes

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class Delivery:
    function: str
    rule: str
    event: dict[str, Any]
    result: Any


@dataclass
class LocalDeployment:
    emu: Emulator
    deliveries: list[Delivery] = field(default_factory=list)
    published: list[dict[str, Any]] = field(default_factory=list)
    sent: list[tuple[str, str]] = field(default_factory=list)  # (source, detail-type) put by put_event
    queues: dict[str, str] = field(default_factory=dict)  # rule id -> queue url
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.events = self.emu.client("events")
        self.sqs = self.emu.client("sqs")
        self.bus_arn = self.events.create_event_bus(Name=BUS_NAME)["EventBusArn"]
        self.dlq_url = self.sqs.create_queue(QueueName=DLQ_NAME)["QueueUrl"]
        for route in ROUTES:
            self.queues[route.rule_id] = self._rule(route.rule_id, self.bus_name(route), route.pattern)
        self.tap_url = self._rule("LocalTap", BUS_NAME, {"source": [MAILWARDEN_SOURCE]})

    def bus_name(self, route: Route) -> str:
        return "default" if route.bus == DEFAULT_BUS else BUS_NAME

    def _rule(self, rule_id: str, bus: str, pattern: dict[str, Any]) -> str:
        url = self.sqs.create_queue(QueueName=f"rule-{rule_id}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name=rule_id, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")
        self.events.put_targets(Rule=rule_id, EventBusName=bus, Targets=[{"Id": "fn", "Arn": arn}])
        return str(url)

    # ------------------------------------------------------------------ functions

    def env_for(self, spec: FunctionSpec) -> dict[str, str]:
        values = {"EVENT_BUS_NAME": BUS_NAME, "DLQ_URL": self.dlq_url}
        env = {k: values[k] for k in spec.env}
        env.update(
            POWERTOOLS_SERVICE_NAME="mailwarden",
            POWERTOOLS_METRICS_NAMESPACE="Mailwarden",
            POWERTOOLS_TRACE_DISABLED="true",
        )
        return env

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Invoke ``functions/<function>/handler.py`` as Lambda would, with its environment."""
        spec = next(s for s in FUNCTIONS if s.name == function)
        context = FakeLambdaContext(
            function_name=f"mailwarden-{function}",
            aws_request_id=f"req-{next(self._ids):06d}",
            timeout_seconds=spec.timeout_seconds,
            clock=self.emu.clock,
        )
        with mock.patch.dict(os.environ, self.env_for(spec)):
            handler: Handler = importlib.import_module(f"functions.{function}.handler").handler
            return handler(event, context)

    # ------------------------------------------------------------------ routing

    def _drain(self, url: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            msgs = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    def deliver(self, max_rounds: int = 10) -> list[Delivery]:
        """Run every handler whose rule matched an event, until no rule has anything pending."""
        delivered: list[Delivery] = []
        for _ in range(max_rounds):
            round_: list[Delivery] = []
            for route in ROUTES:
                for event in self._drain(self.queues[route.rule_id]):
                    # moto's SQS target omits the envelope's "account"; EventBridge always sets it.
                    event.setdefault("account", self.emu.account)
                    round_.append(Delivery(route.function, route.rule_id, event, self.invoke(route.function, event)))
            self.published.extend(self._drain(self.tap_url))
            if not round_:
                break
            delivered.extend(round_)
        self.deliveries.extend(delivered)
        return delivered

    def dead_letters(self) -> list[dict[str, Any]]:
        return self._drain(self.dlq_url)

    def put_event(
        self,
        source: str,
        detail_type: str,
        detail: dict[str, Any],
        *,
        resources: list[str] | None = None,
        bus: str = "default",
    ) -> str:
        out = self.events.put_events(
            Entries=[
                {
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail),
                    "Resources": resources or [],
                    "EventBusName": bus,
                }
            ]
        )
        if out["FailedEntryCount"]:
            raise RuntimeError(out["Entries"])
        self.sent.append((source, detail_type))
        return str(out["Entries"][0]["EventId"])
