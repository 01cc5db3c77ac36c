"""What keeping connection preferences needs from the outside world (implemented in ``mailwarden.aws``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from .model import Access, Current


class PreferencesApi(Protocol):
    def get(self, catalog: str) -> Current: ...

    def update(self, catalog: str, revision: int, target: Access) -> Current:
        """Raises ``Conflict`` when ``revision`` is no longer the current one."""
        ...


@dataclass(frozen=True)
class WideningRecord:
    """The latest widening approval asked for a catalog."""

    fingerprint: str  # from what, to what (model.fingerprint)
    state: str  # REQUESTED | APPLIED | REJECTED | EXPIRED | STALE | HALTED | CONFLICTED
    execution: str
    attempts: int  # how often this very change was asked (a new execution each time)


class WideningStore(Protocol):
    def load(self, catalog: str) -> WideningRecord | None: ...

    def save(self, catalog: str, record: WideningRecord) -> None: ...


class WideningStarter(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> str: ...  # execution ARN


class KillSwitch(Protocol):
    def engaged(self) -> bool: ...


class Reporter(Protocol):
    def report(self, detail_type: str, name: str, outcome: str, actor: str, detail: dict[str, Any]) -> None: ...

    def alert(self, subject: str, message: str) -> None: ...
