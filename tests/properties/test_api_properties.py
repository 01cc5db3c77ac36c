"""The MAIL FROM API's bodies and headers, generated from the request model's documented schema and
mutated: the model accepts exactly what the OpenAPI document's patterns describe, and through the
handler on the emulator every answer is one the document lists, in its schema, never a 500; a
refused request writes nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st
from mailwarden.mailfrom.model import MailFromRequest
from pydantic import ValidationError

from local.deployment import LocalDeployment
from local.issuer import READ_SCOPE, WRITE_SCOPE
from tests.properties.mutations import (
    DIGITS,
    LOWER,
    TEXT,
    chars,
    counted,
    joined,
    mutated,
    names_a_field,
    schema_fields,
)

DOC = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi" / "mail-from.json").read_text())
SCHEMAS = DOC["components"]["schemas"]
REQUEST = SCHEMAS["MailFromRequest"]["properties"]
FIELDS = schema_fields(MailFromRequest) | {"body", "Content-Type"}
LABEL_CHARS = LOWER + DIGITS
# [a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?
LABELS = chars(LABEL_CHARS, 1, 1) | joined(
    chars(LABEL_CHARS, 1, 1), chars(LABEL_CHARS + "-", 0, 8), chars(LABEL_CHARS, 1, 1)
)
DOMAINS = st.lists(LABELS, min_size=1, max_size=3).map(lambda labels: ".".join([*labels, "example", "com"]))
IDENTITIES = DOMAINS | st.tuples(chars(LABEL_CHARS + "._+-", 1, 12), DOMAINS).map("@".join)
BODIES = st.builds(
    lambda ident, sub, extra: {"identity": ident, "mailFromDomain": f"{sub}.{ident.rpartition('@')[2]}", **extra},
    IDENTITIES,
    LABELS,
    st.fixed_dictionaries(
        {}, optional={"behaviorOnMxFailure": st.sampled_from(["USE_DEFAULT_VALUE", "REJECT_MESSAGE"])}
    ),
)


KNOWN = st.sampled_from(["example.com", "ops@example.com", "Example.COM."])  # in the shared estate's SES
KNOWN_BODIES = st.builds(lambda ident, sub: {"identity": ident, "mailFromDomain": f"{sub}.example.com"}, KNOWN, LABELS)


_VALIDATORS: dict[str, Any] = {}


def _validate(instance: Any, schema: dict[str, Any]) -> None:
    """``jsonschema.validate(instance, schema + the document's components)``, with the schema checked
    against its metaschema once instead of on every call (that check was half this file's time)."""
    key = json.dumps(schema, sort_keys=True)
    if key not in _VALIDATORS:
        full = {**schema, "components": DOC["components"]}
        cls = jsonschema.validators.validator_for(full)
        cls.check_schema(full)
        _VALIDATORS[key] = cls(full)
    error = jsonschema.exceptions.best_match(_VALIDATORS[key].iter_errors(instance))
    if error is not None:
        raise error


def _documented(body: dict[str, Any]) -> bool:
    """What the OpenAPI document says a valid body is (patterns, lengths, no other keys)."""
    try:
        _validate(body, SCHEMAS["MailFromRequest"])
    except jsonschema.ValidationError:
        return False
    # JSON Schema patterns are ECMA-262: "$" ends the input, where Python's re.search (jsonschema's)
    # also lets it match before a final newline. Whole-string matching is the ECMA reading.
    return all(
        not isinstance(body.get(k), str) or re.fullmatch(REQUEST[k]["pattern"], body[k])
        for k in REQUEST
        if "pattern" in REQUEST[k]
    )


@settings(max_examples=2000)
@given(mutated(BODIES) | BODIES)
def test_the_model_accepts_exactly_what_the_document_describes(body):
    try:
        request = MailFromRequest.model_validate(body)
    except ValidationError as exc:
        counted("api: PUT body, model", refused=True)
        first = exc.errors()[0]
        assert names_a_field(".".join(map(str, first["loc"])) or "body", FIELDS), first
        assert not _documented(body) or body.get("behaviorOnMxFailure", 1) is None, body
        return
    counted("api: PUT body, model")
    assert _documented(body) or body.get("behaviorOnMxFailure") is None, body  # null: the policy's
    for name in ("identity", "mailFromDomain"):
        assert re.fullmatch(REQUEST[name]["pattern"], body[name]), (name, body[name])
    assert request.mail_from_domain == body["mailFromDomain"].rstrip(".").lower()


CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b",
        "",
        "application/jsonx",
        "*/*",
    ]
) | TEXT.filter(lambda t: "\n" not in t and "\r" not in t)


def _authorization(d: LocalDeployment, kind: str, junk: str) -> str | None:
    now = d.emu.clock.time()
    return {
        "write": f"Bearer {d.issuer.token((WRITE_SCOPE,), now=now)}",
        "read": f"Bearer {d.issuer.token((READ_SCOPE,), now=now)}",
        "expired": f"Bearer {d.issuer.token((WRITE_SCOPE,), now=now - 7200)}",
        "junk": f"Bearer {junk}",
        "scheme": f"Basic {junk}",
        "none": None,
    }[kind]


def _check_documented(resp: Any, operation: dict[str, Any]) -> None:
    assert str(resp.status) in operation["responses"], (resp.status, resp.body)
    schema = operation["responses"][str(resp.status)]["content"]["application/json"]["schema"]
    _validate(resp.json(), schema)
    if resp.status == 429:
        assert int(resp.headers["Retry-After"]) >= 1


def _names_extra_key(text: str, body: Any) -> bool:
    """``<key>: Extra inputs are not permitted`` for a key the body has (any string, ``0`` or ``名``:
    not a field of the schema, so named as it was sent)."""
    key, sep, why = text.rpartition(": ")
    return bool(sep) and why == "Extra inputs are not permitted" and isinstance(body, dict) and key in body


@settings(max_examples=400)
@given(
    body=KNOWN_BODIES | mutated(KNOWN_BODIES) | mutated(BODIES) | st.text(max_size=200),
    content_type=CONTENT_TYPES,
    auth=st.sampled_from(["write", "write", "write", "read", "expired", "junk", "scheme", "none"]),
    junk=st.text(max_size=80).filter(lambda t: "\n" not in t and "\r" not in t),
)
def test_put_answers_only_documented_statuses_and_refusals_write_nothing(shared, body, content_type, auth, junk):
    d = shared
    _estate(d)
    d.emu.clock.advance(2)  # SES allows 1 call/s; each case starts with its token back
    before = d.emu.calls.copy()
    raw = body if isinstance(body, str) else json.dumps(body)
    resp = d.api(
        "PUT",
        "/mail-from-attributes",
        raw_body=raw,
        token=None,
        headers={"Content-Type": content_type, "Authorization": _authorization(d, auth, junk)},
    )
    assert resp.status != 500 and "Traceback" not in resp.body, resp.body
    _check_documented(resp, DOC["paths"]["/mail-from-attributes"]["put"])
    made = d.emu.calls - before
    if resp.status >= 400:
        counted("api: PUT through the handler", refused=True)
        assert not any(
            k in made for k in ("sesv2.PutEmailIdentityMailFromAttributes", "route-53.ChangeResourceRecordSets")
        ), made
        if resp.status == 400:
            assert all(
                names_a_field(c["text"], FIELDS | {"identity"})
                or "SES has no email identity" in c["text"]
                or "subdomain" in c["text"]
                or "No Route 53" in c["text"]
                or _names_extra_key(c["text"], body)
                for c in resp.json().get("causes", [])
            ), resp.body
    else:
        counted("api: PUT through the handler")


@settings(max_examples=300)
@given(
    identity=KNOWN | st.text(max_size=60) | IDENTITIES,
    auth=st.sampled_from(["read", "write", "junk", "none"]),
    junk=TEXT,
)
def test_get_answers_only_documented_statuses(shared, identity, auth, junk):
    from urllib.parse import quote

    d = shared
    _estate(d)
    d.emu.clock.advance(2)
    if not identity.strip("/"):
        identity = "x"
    path = f"/mail-from-attributes/{quote(identity, safe='')}"
    resp = d.api("GET", path, token=None, headers={"Authorization": _authorization(d, auth, junk.strip() or "x")})
    assert resp.status != 500, resp.body
    _check_documented(resp, DOC["paths"]["/mail-from-attributes/{identity}"]["get"])
    counted("api: GET through the handler", refused=resp.status >= 400)


_SEEDED: set[int] = set()


def _estate(d: LocalDeployment) -> None:
    if id(d) in _SEEDED:
        return
    for name in ("example.com", "ops@example.com"):
        d.emu.client("sesv2").create_email_identity(EmailIdentity=name)
    d.emu.client("route53").create_hosted_zone(Name="example.com", CallerReference="props")
    _SEEDED.add(id(d))
