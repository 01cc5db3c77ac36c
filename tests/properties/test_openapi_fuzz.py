"""Schemathesis fuzzes the MAIL FROM API from its published OpenAPI document (docs/openapi/mail-from.json)
through an HTTP adapter onto the handler on the emulator: valid and invalid bodies, path values and
headers, with a token that may call it. No server error, and every answer one the document lists, in
its documented schema and content type."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import settings
from mailwarden.mailfrom.model import IDENTITY_PATTERN
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local.deployment import LocalDeployment
from local.emulator import emulated_aws
from local.issuer import WRITE_SCOPE
from tests.http_adapter import MailFromWsgi
from tests.properties.mutations import counted

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "mail-from.json"
IDENTITIES = ("example.com", "ops@example.com")  # the identities the API's account has


def _identity(length: int) -> str:
    """An identity of exactly ``length`` characters the document's pattern admits: a domain (253
    characters at most, labels of 50) and, past 253, a local part and "@"."""
    size = min(length, 253)
    domain = ("a" * 50 + ".") * 6
    domain = domain[:size] if size > 50 else "a" * (size - 2) + ".b"
    domain = domain[:-1] + "b" if domain.endswith(".") else domain
    identity = domain if length <= 253 else "l" * (length - 254) + "@" + domain
    assert len(identity) == length and re.fullmatch(IDENTITY_PATTERN, identity), identity
    return identity


def _with_boundary_examples(document: dict[str, Any]) -> dict[str, Any]:
    """The document with examples the fuzzing starts from: the identities the account has (so requests
    also reach a 200) and valid identities of exactly the minimum and maximum length and one inside each.

    Schemathesis' coverage phase sends a valid value at each length bound: it takes a declared example
    of that length when there is one, else it draws strings from the pattern until one has that length,
    ~5 s per length (at collection, on every pytest-xdist worker). The lengths are still sent; these
    are the values."""
    identity = document["components"]["schemas"]["MailFromRequest"]["properties"]["identity"]
    (parameter,) = document["paths"]["/mail-from-attributes/{identity}"]["get"]["parameters"][:1]
    for schema in (identity, parameter["schema"]):
        low, high = schema["minLength"], schema["maxLength"]
        schema["examples"] = [*IDENTITIES, *(_identity(n) for n in (low, low + 1, high - 1, high))]
    mail_from = document["components"]["schemas"]["MailFromRequest"]["properties"]["mailFromDomain"]
    mail_from["examples"] = ["bounce.example.com"]
    return document


schema = schemathesis.openapi.from_dict(_with_boundary_examples(json.loads(DOC.read_text())))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api() -> LocalDeployment:
    with emulated_aws() as emu:
        d = LocalDeployment(emu)
        for name in IDENTITIES:
            emu.client("sesv2").create_email_identity(EmailIdentity=name)
        emu.client("route53").create_hosted_zone(Name="example.com", CallerReference="fuzz")
        yield d


@schema.parametrize()
@settings(max_examples=150)
def test_the_api_answers_every_generated_request_as_documented(case, api):
    api.emu.clock.advance(2)  # SES allows 1 call/s
    token = api.issuer.token((WRITE_SCOPE,), now=api.emu.clock.time())
    response = case.call(app=MailFromWsgi(api), headers={"Authorization": f"Bearer {token}"})
    counted(f"openapi fuzz: {case.method} {case.path} -> {response.status_code}", refused=response.status_code >= 400)
    case.validate_response(response, checks=CHECKS)
