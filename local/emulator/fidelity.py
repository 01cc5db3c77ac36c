"""Does the emulator answer only what AWS's service models allow? The check, and its inventory.

Every error response the emulator produces goes through ``protocol.error_response``, which calls
:func:`note_error`: the code must be one the operation's model lists, a common error every AWS
service can answer (:data:`COMMON_ERRORS`) or a known exception documented here and in the README
(:data:`KNOWN_EXCEPTIONS`). A request for an operation of an emulated service that the emulator
does not implement (it would fall through to moto) is noted too (:func:`note_unimplemented`). The
notes are kept until :func:`drain` takes them: ``tests/conftest.py`` fails any test that leaves one.

:func:`raise_sites` enumerates, without running anything, every error code each emulated operation
can raise (a static scan of the handlers' ``ApiError`` codes and the helpers they call, plus the
dispatcher's validation, throttling and fault codes); ``python -m local.emulator`` prints the
inventory and the counts.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
import threading
from collections.abc import Iterable
from typing import Any, cast

from botocore.model import OperationModel

# The Common Errors page of every API Reference: docs.aws.amazon.com/ses/latest/APIReference-V2/CommonErrors.html
_COMMON_ERRORS_PAGE = "AWS API Reference, Common Errors"
COMMON_ERRORS: dict[str, str] = {
    **{
        code: _COMMON_ERRORS_PAGE
        for code in (
            "AccessDeniedException",
            "IncompleteSignature",
            "InternalFailure",
            "InvalidAction",
            "InvalidClientTokenId",
            "NotAuthorized",
            "OptInRequired",
            "RequestExpired",
            "ServiceUnavailable",
            "ThrottlingException",
            "ValidationError",
        )
    },
    # the XML and query services (Route 53, S3, SQS) answer throttling as "Throttling"...
    "Throttling": "botocore/data/_retry.json, definition 'throttling' (code Throttling, HTTP 400)",
    # ... and a denied request as "AccessDenied" (what IAM by execution answers for them, iam/access.py)
    "AccessDenied": (
        "the XML/query services' access error, 403: e.g. Route 53's raw <Code>AccessDenied</Code> "
        "(github.com/pcorliss/ruby_route_53/issues/16), S3's Error Responses"
    ),
}

# (service id, operation, code) -> why it is answered although the model does not list it.
KNOWN_EXCEPTIONS: dict[tuple[str, str, str], str] = {
    ("eventbridge", "PutEvents", "ValidationException"): (
        "PutEvents models only InternalException; AWS answers ValidationException ('Total size of the entries in "
        "the request is over the limit.') for a request over 256 KB (EventBridge User Guide, 'Calculating "
        "PutEvents event entry size'); local/emulator/limits.py"
    ),
}

_NOTES: list[str] = []
_LOCK = threading.Lock()


def modelled(op: OperationModel) -> set[str]:
    """The error codes ``op``'s model lists (shape names, and any wire code a shape declares)."""
    codes = set()
    for shape in op.error_shapes:
        codes.add(shape.name)
        wire = shape.metadata.get("error", {}).get("code")
        if wire:
            codes.add(wire)
    return codes


def allowed(service_id: str, op: OperationModel, code: str) -> bool:
    return code in modelled(op) or code in COMMON_ERRORS or (service_id, op.name, code) in KNOWN_EXCEPTIONS


def note_error(op: OperationModel, code: str) -> None:
    service_id = op.service_model.service_id.hyphenize()
    if not allowed(service_id, op, code):
        listed = ", ".join(sorted(modelled(op))) or "none"
        _note(f"{service_id}.{op.name} answered {code}, which its model does not list (it lists: {listed})")


def note_unimplemented(service_id: str, op_name: str) -> None:
    _note(f"{service_id}.{op_name} was called but the emulator does not implement it (moto answered instead)")


def _note(text: str) -> None:
    with _LOCK:
        _NOTES.append(text)


def drain() -> list[str]:
    """Every deviation noted since the last call (and forget them)."""
    with _LOCK:
        out = list(dict.fromkeys(_NOTES))
        _NOTES.clear()
    return out


# ---------------------------------------------------------------------------- raise sites


def _class_attr(cls: type, node: ast.expr) -> str | None:
    """``self.<attr>`` / ``service.<attr>`` naming a string class attribute (e.g. validation_error)."""
    if isinstance(node, ast.Attribute) and isinstance(getattr(cls, node.attr, None), str):
        return str(getattr(cls, node.attr))
    return None


def _method_facts(cls: type, fn: Any) -> tuple[set[str], set[str]]:
    """(codes raised directly, names of ``self.<method>`` it calls) for one method."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    codes: set[str] = set()
    calls: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id == "ApiError" and node.args:
            first = node.args[0]
            code = first.value if isinstance(first, ast.Constant) else _class_attr(cls, first)
            if not isinstance(code, str):
                raise ValueError(f"{cls.__name__}.{fn.__name__}: an ApiError code the scan cannot read")
            codes.add(code)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            calls.add(func.attr)
    return codes, calls


@functools.cache  # a static scan of the source: once per class and process (read-only to callers)
def _class_codes(cls: type) -> dict[str, set[str]]:
    """Every method of ``cls`` (its bases' too) -> the codes it can raise, helpers included."""
    methods = {
        name: getattr(fn, "__func__", fn)  # staticmethods too
        for klass in reversed(cls.__mro__)
        if klass is not object
        for name, fn in vars(klass).items()
        if inspect.isfunction(getattr(fn, "__func__", fn))
    }
    facts = {name: _method_facts(cls, fn) for name, fn in methods.items()}
    if "page" in facts:  # EmulatedService.page: protocol.paginate raises the service's token error
        facts["page"] = ({str(cls.token_error)}, set())  # type: ignore[attr-defined]
    codes = {name: set(direct) for name, (direct, _) in facts.items()}
    changed = True
    while changed:  # transitive closure over self.<method>() calls
        changed = False
        for name, (_, calls) in facts.items():
            for callee in calls & codes.keys():
                if not codes[callee] <= codes[name]:
                    codes[name] |= codes[callee]
                    changed = True
    return codes


def raise_sites(services: Iterable[Any]) -> dict[tuple[str, str], set[str]]:
    """(service id, operation) -> every error code the emulator can answer for it.

    For each emulated operation: what its handler and the helpers it calls raise, and what the
    dispatcher adds for any operation (validation, throttling, injected faults). For Route 53's
    ChangeResourceRecordSets: the guard's checks; for EventBridge PutEvents, the size limit; for
    every operation IAM by execution maps, its AccessDenied. (Fault injection on moto-backed
    operations answers ``MOTO_FAULT_CODES``, all common errors.)
    """
    from .route53 import Route53Guard  # here: protocol.py imports this module, route53.py imports protocol.py

    out: dict[tuple[str, str], set[str]] = {}
    for service in services:
        cls = type(service)
        codes = _class_codes(cast(type, cls))
        every = {cls.validation_error, cls.throttle_error, cls.internal_error}
        for op_name, handler in service.handlers.items():
            out[(service.model.service_id.hyphenize(), op_name)] = codes[handler.__name__] | every
    guard = _class_codes(Route53Guard)
    out[("route-53", "ChangeResourceRecordSets")] = set().union(*guard.values())
    out[("eventbridge", "PutEvents")] = {"ValidationException"}
    for key, denied in iam_denials().items():
        out[key] = out.get(key, set()) | denied
    return out


@functools.cache  # the mappings are static: scanned once per process (read-only to callers)
def iam_denials() -> dict[tuple[str, str], set[str]]:
    """What IAM by execution answers a denied call with, for every operation it maps: the service's
    access error (``iam.access.access_denied_error``), and its KMS one where the mapping implies a
    key check."""
    import botocore.session

    from .iam import requests
    from .iam.access import access_denied_error

    session = botocore.session.get_session()
    out: dict[tuple[str, str], set[str]] = {}
    for (client, op_name), (_, mapper) in requests._MAPPERS.items():  # the mapped operations, read-only
        op = session.get_service_model(client).operation_model(op_name)
        codes = {access_denied_error(op)[0]}
        if "_kms(" in inspect.getsource(mapper):
            codes.add(access_denied_error(op, kms=True)[0])
        out[(op.service_model.service_id.hyphenize(), op_name)] = codes
    return out


MOTO_FAULT_CODES = {"ThrottlingException", "Throttling", "InternalFailure"}  # core.Dispatcher._moto_fault


def inventory(services: Iterable[Any]) -> dict[str, Any]:
    """The counts for the closing note: operations, error codes per operation, and any not allowed."""
    from .core import model_for_service_id

    services = list(services)
    sites = raise_sites(services)
    problems = []
    for (service_id, op_name), codes in sorted(sites.items()):
        op = model_for_service_id(service_id).operation_model(op_name)
        problems += [f"{service_id}.{op_name}: {c}" for c in sorted(codes) if not allowed(service_id, op, c)]
    return {
        "operations": sum(len(s.handlers) for s in services),
        "raise_sites": {f"{s}.{o}": sorted(c) for (s, o), c in sorted(sites.items())},
        "errors_checked": sum(len(c) for c in sites.values()),
        "not_allowed": problems,
    }
