"""Route 53 as AWS enforces it, in front of moto's (which stores whatever it is sent).

moto applies a ``ChangeResourceRecordSets`` batch without AWS's checks: a CREATE of an existing set
adds a second one, a DELETE need not match, a CNAME sits beside an MX. AWS refuses the whole batch
with ``InvalidChangeBatch`` in each of those cases, and with ``InvalidInput`` for a TXT value that is
not quoted or has a string over 255 characters (FACTS.md "MAIL FROM and DNS"). This guard checks
each batch against moto's current records, change by change on a copy, and answers AWS's error
before moto sees it; a batch it accepts goes to moto unchanged, so it stays atomic.

``control.before_route53_change(fn)`` runs ``fn`` just before the next batch (a concurrent editor).

moto's own CREATE check is switched off (:func:`motos_create_check_off`): it refuses a CREATE equal to
one in the zone's change journal (the same set created before, deleted since) whenever any record set
sorts after it, since it lists the sets *from* that name on, not at it. AWS creates the set again (a
rollback, then the same cut-over again); this guard's check against the current sets is AWS's.

Changes also propagate as in AWS: ``ChangeResourceRecordSets`` answers ``PENDING`` and ``GetChange``
says ``INSYNC`` only once ``propagation_seconds`` of virtual time have passed since the change was
submitted (AWS: usually within 60 seconds, sometimes minutes; moto said INSYNC at once).
``control.route53_propagation(seconds)`` changes the delay.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from unittest import mock

import moto.route53.models
from botocore.awsrequest import AWSResponse

from .core import model_for_service_id
from .protocol import ApiError, error_response

if TYPE_CHECKING:
    from . import Emulator

_NS = {"r": "https://route53.amazonaws.com/doc/2013-04-01/"}
_QUOTED_STRINGS = re.compile(r'^\s*("(?:[^"\\]|\\.)*"\s*)+$')
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ZONE = re.compile(r"/hostedzone/([^/]+)/rrset")

Key = tuple[str, str, str]  # name, type, set identifier


def _name(value: str) -> str:
    return value.rstrip(".").lower() + "."


PROPAGATION_SECONDS = 60.0


@contextmanager
def motos_create_check_off() -> Iterator[None]:
    """moto asks ``change in zone.rr_changes`` only for that CREATE check (module docstring)."""
    with mock.patch.object(moto.route53.models.ChangeList, "__contains__", lambda self, item: False):
        yield


class Route53Guard:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.before_change: list[Callable[[], None]] = []
        self.propagation_seconds = PROPAGATION_SECONDS
        self.submitted: dict[str, float] = {}  # change id -> when it becomes INSYNC (virtual time)

    def after_call(self, op_name: str, parsed: dict[str, Any]) -> None:
        """Rewrite moto's ChangeInfo status (always INSYNC) to what AWS would say now."""
        info = parsed.get("ChangeInfo")
        if not isinstance(info, dict) or "Id" not in info:
            return
        change = str(info["Id"]).rsplit("/", 1)[-1]
        now = self.emu.clock.time()
        if op_name == "ChangeResourceRecordSets":
            self.submitted[change] = now + self.propagation_seconds
        insync_at = self.submitted.get(change)
        info["Status"] = "PENDING" if insync_at is not None and now < insync_at else "INSYNC"

    def __call__(self, op_name: str, request: Any, internal: bool) -> AWSResponse | None:
        if op_name != "ChangeResourceRecordSets":
            return None
        if self.before_change and not internal:
            self.before_change.pop(0)()
        zone = _ZONE.search(request.url)
        assert zone, request.url
        try:
            self.check(zone.group(1), ET.fromstring(request.body))
        except ApiError as err:
            op = model_for_service_id("route-53").operation_model(op_name)
            self.emu.dispatcher.count(f"route-53.{op_name}:{err.code}")
            return error_response(op, request.url, err)
        return None

    def _current(self, zone_id: str) -> dict[Key, dict[str, Any]]:
        r53 = self.emu.client("route53")
        out: dict[Key, dict[str, Any]] = {}
        for page in r53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id):
            for s in page["ResourceRecordSets"]:
                out[(_name(s["Name"]), s["Type"], s.get("SetIdentifier", ""))] = s
        return out

    def check(self, zone_id: str, doc: ET.Element) -> None:
        sets = self._current(zone_id)
        zone_name = next((k[0] for k, v in sets.items() if k[1] == "SOA"), "?")
        problems: list[str] = []
        for change in doc.iterfind(".//r:Change", _NS):
            action = change.findtext("r:Action", "", _NS)
            rrset = change.find("r:ResourceRecordSet", _NS)
            assert rrset is not None
            name = _name(rrset.findtext("r:Name", "", _NS))
            kind = rrset.findtext("r:Type", "", _NS)
            ident = rrset.findtext("r:SetIdentifier", "", _NS)
            ttl = rrset.findtext("r:TTL", None, _NS)
            values = [v.text or "" for v in rrset.iterfind(".//r:ResourceRecord/r:Value", _NS)]
            key = (name, kind, ident)
            self._check_values(kind, values)
            label = f"[name='{name}', type='{kind}'" + (f", set-identifier='{ident}'" if ident else "") + "]"
            if action == "DELETE":
                have = sets.get(key)
                if have is None:
                    problems.append(f"Tried to delete resource record set {label} but it was not found")
                    continue
                have_values = [r["Value"] for r in have.get("ResourceRecords", [])]
                if have_values != values or (ttl is not None and str(have.get("TTL")) != ttl):
                    problems.append(
                        f"Tried to delete resource record set {label} but the values provided do not match the "
                        "current values"
                    )
                    continue
                del sets[key]
                continue
            if action == "CREATE" and key in sets:
                problems.append(f"Tried to create resource record set {label} but it already exists")
                continue
            others = {k[1] for k in sets if k[0] == name and k != key}
            if (kind == "CNAME" and others) or (kind != "CNAME" and "CNAME" in others):
                problems.append(
                    f"RRSet of type CNAME with DNS name {name} is not permitted as it conflicts with other records "
                    f"with the same DNS name in zone {zone_name}"
                )
                continue
            sets[key] = {"Name": name, "Type": kind, "TTL": ttl, "ResourceRecords": [{"Value": v} for v in values]}
        if problems:
            raise ApiError("InvalidChangeBatch", "[" + ", ".join(problems) + "]", status=400)

    @staticmethod
    def _check_values(kind: str, values: list[str]) -> None:
        for value in values:
            if kind in ("TXT", "SPF"):
                if not _QUOTED_STRINGS.match(value):
                    raise ApiError(
                        "InvalidInput",
                        "Invalid Resource Record: 'FATAL problem: InvalidCharacterString (Value should be enclosed in "
                        f"quotation marks) encountered with '{value}''",
                    )
                if any(len(s) > 255 for s in _STRING.findall(value)):
                    raise ApiError(
                        "InvalidInput",
                        "Invalid Resource Record: 'FATAL problem: CharacterStringTooLong (Value is too long) "
                        f"encountered with '{value[:40]}...''",
                    )
            elif kind == "MX" and not re.match(r"^\d{1,5} \S+$", value):
                raise ApiError(
                    "InvalidInput",
                    f"Invalid Resource Record: 'FATAL problem: MXRRDATANotTwoFields encountered with '{value}''",
                )
