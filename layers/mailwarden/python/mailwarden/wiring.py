"""Composition root: the one place where concrete adapters are chosen for each use case.

Built lazily on the first invocation and reused while the Lambda is warm; ``reset()`` drops
everything (tests and the emulator call it between runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from .aws import clients
from .aws.dlq import DeadLetters
from .aws.events import EventPublisher
from .aws.ses import SesReputation
from .clock import default_clock
from .reputation.signals import ObserveSignal
from .settings import Settings


@dataclass(frozen=True)
class SesEventsDeps:
    observe: ObserveSignal
    dead_letters: DeadLetters


@cache
def ses_events() -> SesEventsDeps:
    settings = Settings.from_env()
    publisher = EventPublisher(clients.client("events"), settings.event_bus_name)
    return SesEventsDeps(
        observe=ObserveSignal(SesReputation(clients.client("sesv2")), publisher, default_clock()),
        dead_letters=DeadLetters(clients.client("sqs"), settings.dlq_url, "ses_events"),
    )


def reset() -> None:
    ses_events.cache_clear()
    clients.clear()
