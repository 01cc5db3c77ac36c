"""What the MAIL FROM use cases need from the outside world (adapters in ``mailwarden.aws.mailfrom``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from .model import IdentityMailFrom, Tracked, Zone
from .records import RecordSet


class Ses(Protocol):
    region: str

    def mail_from(self, identity: str) -> IdentityMailFrom: ...  # NotFound when SES has no such identity

    def set_mail_from(self, identity: str, domain: str, behavior: str) -> None: ...

    def clear_mail_from(self, identity: str) -> None: ...  # no custom MAIL FROM domain


class Dns(Protocol):
    def zone_for(self, domain: str) -> Zone | None: ...

    def record_sets(self, zone: Zone, name: str) -> list[RecordSet]: ...

    def change(self, zone: Zone, changes: Sequence[dict[str, Any]], comment: str) -> str: ...  # StaleRecords

    def insync(self, change_id: str) -> bool: ...


class Store(Protocol):
    def get(self, identity: str) -> Tracked | None: ...

    def put(self, item: Tracked) -> None: ...

    def delete(self, identity: str) -> None: ...

    def due(self, now: datetime, limit: int) -> list[Tracked]: ...


class Reporter(Protocol):
    def report(self, detail_type: str, identity: str, outcome: str, actor: str, detail: dict[str, Any]) -> None: ...

    def alert(self, subject: str, message: str) -> None: ...
