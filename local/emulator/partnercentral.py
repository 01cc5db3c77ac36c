"""Emulated Partner Central Account: connection preferences with Revision locking (seed 003).

``UpdateConnectionPreferences`` succeeds only with the current Revision (else
``ConflictException`` / ``INCOMPATIBLE_CONNECTION_PREFERENCES_REVISION``) and returns the new one;
the response calls the list ``ExcludedParticipantIds``. The control API can play "another writer"
and revoke the caller's permission; ``race_partner_writer`` makes another writer win the race between
a caller's read and its next updates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .core import EmulatedService, operation
from .protocol import ApiError

CATALOGS = ("AWS", "Sandbox")


@dataclass
class Preferences:
    catalog: str
    access_type: str
    excluded: list[str]
    updated: datetime
    revision: int = 1
    history: list[dict[str, Any]] = field(default_factory=list)


class PartnerCentral(EmulatedService):
    service_name = "partnercentral-account"
    validation_error = "ValidationException"
    throttle_error = "ThrottlingException"
    throttle_status = 429
    internal_error = "InternalServerException"

    def __init__(self, emulator: Any) -> None:
        super().__init__(emulator)
        now = self.clock.now()
        self.prefs = {c: Preferences(c, "ALLOW_ALL", [], now) for c in CATALOGS}
        self.denied_actions: set[str] = set()
        self.before_update: list[Callable[[str], None]] = []  # other writers, one per coming update

    def arn(self, catalog: str) -> str:
        region, account = self.emulator.region, self.emulator.account
        return f"arn:aws:partnercentral:{region}:{account}:catalog/{catalog}/connection-preferences"

    def wire(self, p: Preferences) -> dict[str, Any]:
        return {
            "Catalog": p.catalog,
            "Arn": self.arn(p.catalog),
            "AccessType": p.access_type,
            "ExcludedParticipantIds": list(p.excluded),
            "UpdatedAt": p.updated,
            "Revision": p.revision,
        }

    def _prefs(self, catalog: str, action: str) -> Preferences:
        if action in self.denied_actions:
            raise ApiError(
                "AccessDeniedException",
                f"User is not authorized to perform: partnercentral:{action} on resource: {self.arn(catalog)}",
                status=403,
                Reason="ACCESS_DENIED",
            )
        if catalog not in self.prefs:
            raise self.invalid(f"Catalog {catalog} is not supported.", Reason="REQUEST_VALIDATION_FAILED")
        return self.prefs[catalog]

    @operation("GetConnectionPreferences")
    def get(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.wire(self._prefs(p["Catalog"], "GetConnectionPreferences"))

    def write(self, prefs: Preferences, access_type: str, excluded: list[str]) -> None:
        prefs.history.append(self.wire(prefs))
        prefs.access_type, prefs.excluded = access_type, list(dict.fromkeys(excluded))
        prefs.revision += 1
        prefs.updated = self.clock.now()

    @operation("UpdateConnectionPreferences")
    def update(self, p: dict[str, Any]) -> dict[str, Any]:
        prefs = self._prefs(p["Catalog"], "UpdateConnectionPreferences")
        if self.before_update:  # someone else writes between the caller's read and this write
            self.before_update.pop(0)(p["Catalog"])
        excluded = p.get("ExcludedParticipantIdentifiers") or []
        if excluded and p["AccessType"] != "ALLOW_BY_DEFAULT_DENY_SOME":
            raise self.invalid(
                "ExcludedParticipantIdentifiers is only allowed with AccessType ALLOW_BY_DEFAULT_DENY_SOME.",
                Reason="BUSINESS_VALIDATION_FAILED",
            )
        if p["Revision"] != prefs.revision:
            raise ApiError(
                "ConflictException",
                f"Revision {p['Revision']} is stale; the current revision is {prefs.revision}.",
                status=409,
                Reason="INCOMPATIBLE_CONNECTION_PREFERENCES_REVISION",
            )
        self.write(prefs, p["AccessType"], excluded)
        return self.wire(prefs)
