"""Wire protocol for the emulated services, driven by botocore's own service models.

A request arrives as the ``AWSPreparedRequest`` that botocore serialized; we turn it back into
the operation's parameters (``json`` and ``rest-json`` protocols), validate them against the
input shape exactly as the service would (required members, enums, lengths, ranges, patterns),
and serialize the handler's result (or an :class:`ApiError`) into the bytes and headers that
botocore's response parser expects. Nothing here is service-specific.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.awsrequest import AWSResponse
from botocore.model import OperationModel, Shape, StructureShape

from . import fidelity


class ApiError(Exception):
    """A documented service error: code (the modelled exception name), message, HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400, **fields: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields


class _RawBody(BytesIO):
    def stream(self, **_: Any) -> Any:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


# ---------------------------------------------------------------------------- parsing


def _template_regex(request_uri: str) -> re.Pattern[str]:
    path = request_uri.split("?", 1)[0]
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            greedy = name.endswith("+")
            name = name.rstrip("+")
            pattern += f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(f"^{pattern}$")


def _coerce_scalar(shape: Shape, raw: str) -> Any:
    if shape.type_name in ("integer", "long"):
        return int(raw)
    if shape.type_name in ("float", "double"):
        return float(raw)
    if shape.type_name == "boolean":
        return raw.lower() == "true"
    return raw


def _from_json(shape: Shape, value: Any) -> Any:
    """Turn JSON wire values into the Python values handlers work with."""
    if value is None:
        return None
    if shape.type_name == "structure":
        assert isinstance(shape, StructureShape)
        return {k: _from_json(shape.members[k], v) for k, v in value.items() if k in shape.members}
    if shape.type_name == "list":
        return [_from_json(shape.member, v) for v in value]  # type: ignore[attr-defined]
    if shape.type_name == "map":
        return {k: _from_json(shape.value, v) for k, v in value.items()}  # type: ignore[attr-defined]
    if shape.type_name == "timestamp":
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value, UTC)
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if shape.type_name == "blob":
        return base64.b64decode(value)
    return value


def parse_request(op: OperationModel, request: Any, invalid: str = "ValidationException") -> dict[str, Any]:
    """Recover the caller's parameters from a serialized botocore request; a request that cannot be
    one of ``op``'s answers ``invalid`` (the service's validation error)."""
    shape = op.input_shape
    if shape is None:
        return {}
    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    payload_member = shape.serialization.get("payload")
    blob_payload = payload_member is not None and shape.members[payload_member].type_name == "blob"
    try:
        payload = json.loads(body) if body and not blob_payload else {}
    except ValueError as exc:
        raise ApiError(invalid, f"body is not JSON: {exc}") from exc
    protocol = op.metadata["protocol"]
    if protocol == "json":
        return dict(_from_json(shape, payload))
    if protocol != "rest-json":
        raise NotImplementedError(f"protocol {protocol}")

    params: dict[str, Any] = {}
    url = urlsplit(request.url)
    match = _template_regex(op.http["requestUri"]).match(url.path)
    if match is None:
        raise ApiError(invalid, f"path {url.path} does not match {op.name}")
    query = parse_qs(url.query, keep_blank_values=True)
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert isinstance(shape, StructureShape)
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            params[name] = _coerce_scalar(member, unquote(match.group(wire)))
        elif location == "querystring":
            if wire in query:
                values = query[wire]
                params[name] = (
                    [_coerce_scalar(member.member, v) for v in values]  # type: ignore[attr-defined]
                    if member.type_name == "list"
                    else _coerce_scalar(member, values[0])
                )
        elif location == "header":
            raw = headers.get(wire.lower())
            if raw is not None:
                params[name] = _coerce_scalar(member, raw.decode() if isinstance(raw, bytes) else raw)
        elif blob_payload and name == payload_member:
            params[name] = bytes(body)
        elif name in payload:
            params[name] = _from_json(member, payload[name])
    return params


# ---------------------------------------------------------------------------- validation


def validate(shape: Shape | None, value: Any, path: str = "") -> list[str]:
    """Server-side model validation. Returns human-readable problems (empty when valid)."""
    if shape is None or value is None:
        return []
    problems: list[str] = []
    where = path or "request"
    meta = shape.metadata
    t = shape.type_name
    if t == "structure":
        assert isinstance(shape, StructureShape)
        if not isinstance(value, Mapping):
            return [f"{where}: expected an object"]
        for req in shape.required_members:
            if value.get(req) is None:
                problems.append(f"{path + '.' if path else ''}{req}: member is required")
        for key, item in value.items():
            if key in shape.members:
                problems += validate(shape.members[key], item, f"{path + '.' if path else ''}{key}")
        return problems
    if t == "list":
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        problems += _bounds(where, len(value), meta, "items")
        for i, item in enumerate(value):
            problems += validate(shape.member, item, f"{where}[{i}]")  # type: ignore[attr-defined]
        return problems
    if t == "map":
        if not isinstance(value, Mapping):
            return [f"{where}: expected a map"]
        problems += _bounds(where, len(value), meta, "entries")
        for key, item in value.items():
            problems += validate(shape.key, key, f"{where} key")  # type: ignore[attr-defined]
            problems += validate(shape.value, item, f"{where}[{key}]")  # type: ignore[attr-defined]
        return problems
    if t == "string":
        if not isinstance(value, str):
            return [f"{where}: expected a string"]
        if shape.enum and value not in shape.enum:
            problems.append(f"{where}: '{value}' is not one of {', '.join(shape.enum)}")
        problems += _bounds(where, len(value), meta, "characters")
        pattern = meta.get("pattern")
        if pattern and re.search(pattern, value) is None:
            problems.append(f"{where}: '{value}' does not match pattern {pattern}")
        return problems
    if t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{where}: expected an integer"]
        if "min" in meta and value < meta["min"]:
            problems.append(f"{where}: {value} is below the minimum {meta['min']}")
        if "max" in meta and value > meta["max"]:
            problems.append(f"{where}: {value} is above the maximum {meta['max']}")
        return problems
    if t == "boolean" and not isinstance(value, bool):
        return [f"{where}: expected a boolean"]
    return problems


def _bounds(where: str, size: int, meta: Mapping[str, Any], unit: str) -> list[str]:
    out = []
    if "min" in meta and size < meta["min"]:
        out.append(f"{where}: at least {meta['min']} {unit} required, got {size}")
    if "max" in meta and size > meta["max"]:
        out.append(f"{where}: at most {meta['max']} {unit} allowed, got {size}")
    return out


# ---------------------------------------------------------------------------- serialization


def _to_json(shape: Shape, value: Any) -> Any:
    if value is None:
        return None
    t = shape.type_name
    if t == "structure":
        assert isinstance(shape, StructureShape)
        out = {}
        for key, item in value.items():
            member = shape.members.get(key)
            if member is None:
                raise KeyError(f"{shape.name} has no member {key}")
            if item is not None and member.serialization.get("location") is None:
                out[member.serialization.get("name", key)] = _to_json(member, item)
        return out
    if t == "list":
        return [_to_json(shape.member, v) for v in value]  # type: ignore[attr-defined]
    if t == "map":
        return {k: _to_json(shape.value, v) for k, v in value.items()}  # type: ignore[attr-defined]
    if t == "timestamp":
        if isinstance(value, datetime):
            return value.timestamp()
        return value
    if t == "blob":
        return base64.b64encode(value).decode()
    return value


class RawResult:
    """A response an operation shapes itself (status, headers, raw body): e.g. Lambda Invoke,
    whose body is the function's payload and whose FunctionError travels in a header."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


def success_response(op: OperationModel, url: str, result: Any) -> AWSResponse:
    if isinstance(result, RawResult):
        headers = {"x-amzn-RequestId": "emulated", **result.headers}
        return AWSResponse(url, result.status, headers, _RawBody(result.body))  # type: ignore[arg-type]
    shape = op.output_shape
    body = _to_json(shape, dict(result or {})) if shape is not None else {}
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "emulated"}
    return AWSResponse(url, 200, headers, _RawBody(json.dumps(body).encode()))  # type: ignore[arg-type]


def error_response(op: OperationModel, url: str, error: ApiError) -> AWSResponse:
    fidelity.note_error(op, error.code)  # every error the emulator answers must be one AWS may answer
    if op.metadata["protocol"] in ("rest-xml", "query"):
        return _xml_error_response(url, error)
    body: dict[str, Any] = {"message": error.message, "Message": error.message, **error.fields}
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "emulated"}
    if op.metadata["protocol"] == "rest-json":
        headers["x-amzn-ErrorType"] = error.code
    else:
        prefix = op.metadata.get("targetPrefix", "")
        body["__type"] = f"{prefix}#{error.code}"
    if error.code in ("TooManyRequestsException", "ThrottlingException"):
        headers["Retry-After"] = "1"
    return AWSResponse(url, error.status, headers, _RawBody(json.dumps(body).encode()))  # type: ignore[arg-type]


def _xml_error_response(url: str, error: ApiError) -> AWSResponse:
    """The ``<ErrorResponse>`` document rest-xml and query services (Route 53, SNS, SQS) answer with."""
    message = error.message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    kind = "Receiver" if error.status >= 500 else "Sender"
    body = (
        f"<ErrorResponse><Error><Type>{kind}</Type><Code>{error.code}</Code><Message>{message}</Message></Error>"
        "<RequestId>emulated</RequestId></ErrorResponse>"
    )
    headers = {"Content-Type": "text/xml", "x-amzn-RequestId": "emulated"}
    return AWSResponse(url, error.status, headers, _RawBody(body.encode()))  # type: ignore[arg-type]


def error_status(op: OperationModel, code: str, default: int = 400) -> int:
    for shape in op.error_shapes:
        if shape.name == code:
            return int(shape.metadata.get("error", {}).get("httpStatusCode", default))
    return default


# ---------------------------------------------------------------------------- pagination


def paginate(
    items: list[Any],
    next_token: str | None,
    page_size: int | None,
    *,
    default: int,
    maximum: int,
    token_error: str,
) -> tuple[list[Any], str | None]:
    """Slice ``items`` like AWS: opaque NextToken, a page-size cap, a token error on garbage."""
    size = min(page_size or default, maximum)
    start = 0
    if next_token:
        try:
            start = int(base64.urlsafe_b64decode(next_token.encode()).decode().removeprefix("o:"))
        except ValueError as exc:
            raise ApiError(token_error, "The NextToken is invalid.") from exc
        if start < 0 or start > len(items):
            raise ApiError(token_error, "The NextToken is invalid.")
    page = items[start : start + size]
    end = start + size
    token = base64.urlsafe_b64encode(f"o:{end}".encode()).decode() if end < len(items) else None
    return page, token
