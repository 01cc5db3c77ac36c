"""Turn an ``aws.ses`` event plus the entity's current state into an explained observation.

This is the plumbing every reputation action starts from: what SES said, what the entity looks
like now (one GetReputationEntity), and a sentence a human can read in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..clock import Clock
from ..contracts.names import MailwardenDetailType
from ..contracts.ses_events import RecommendationEvent, SesEvent
from .model import EntityState, aggregate_status


class EntityReader(Protocol):
    def get(self, reference: str) -> EntityState | None: ...


class Publisher(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any], resources: list[str]) -> None: ...


@dataclass(frozen=True)
class Observation:
    event_id: str
    entity: str
    signal: str
    explanation: str
    state: EntityState | None

    def detail(self, observed_at: str) -> dict[str, Any]:
        state = self.state
        return {
            "schemaVersion": "1",
            "eventId": self.event_id,
            "entity": self.entity,
            "signal": self.signal,
            "explanation": self.explanation,
            "observedAt": observed_at,
            "state": None
            if state is None
            else {
                "customerManagedStatus": state.customer_status,
                "awsSesManagedStatus": state.ses_status,
                "aggregate": state.aggregate,
                "impact": state.impact,
                "policy": state.policy_tier,
            },
        }


def explain(event: SesEvent, reference: str, state: EntityState | None) -> Observation:
    name = state.name if state else reference
    if isinstance(event, RecommendationEvent):
        meta = event.detail.metadata
        verb = "opened" if event.is_open else "resolved"
        signal = f"finding-{verb}:{meta.type}:{meta.impact}"
        text = f"{meta.impact}-impact {meta.type} finding {verb} on {name}: {event.detail.data.rstrip('.')}"
    else:
        record = event.detail.data.record
        origin = "SES" if event.detail.data.origin == "AWS_MANAGED" else "the customer"
        signal = f"status:{event.detail.data.origin}:{record.status}"
        text = f"{origin} set {name} to {record.status}" + (f" ({record.cause.rstrip('.')})" if record.cause else "")
    if state is None:
        text += ". The entity no longer exists."
    else:
        # Recompute rather than trust: the aggregate must follow seed 001.
        agg = aggregate_status(state.customer_status, state.ses_status)
        text += f". Now: customer-managed {state.customer_status}, SES-managed {state.ses_status}, aggregate {agg}."
        if state.customer_status == "REINSTATED" and state.paused_by_ses:
            text += " The customer REINSTATED status does not override SES's DISABLED: the entity cannot send."
    return Observation(event.id, reference, signal, text, state)


class ObserveSignal:
    """Use case: read each referenced entity once and publish one observation per entity."""

    def __init__(self, entities: EntityReader, publisher: Publisher, clock: Clock) -> None:
        self.entities = entities
        self.publisher = publisher
        self.clock = clock

    def __call__(self, event: SesEvent) -> list[Observation]:
        observations = []
        for reference in dict.fromkeys(event.resources):
            obs = explain(event, reference, self.entities.get(reference))
            self.publisher.publish(
                MailwardenDetailType.REPUTATION_SIGNAL_OBSERVED,
                obs.detail(self.clock.now().isoformat()),
                [reference],
            )
            observations.append(obs)
        return observations
