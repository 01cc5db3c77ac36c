"""Schemathesis fuzzes the MAIL FROM API from its published OpenAPI document (docs/openapi/mail-from.json)
through an HTTP adapter onto the handler on the emulator: valid and invalid bodies, path values and
headers, with a token that may call it. No server error, and every answer one the document lists, in
its documented schema and content type."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import settings
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
schema = schemathesis.openapi.from_path(str(DOC))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api() -> LocalDeployment:
    with emulated_aws() as emu:
        d = LocalDeployment(emu)
        for name in ("example.com", "ops@example.com"):
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
