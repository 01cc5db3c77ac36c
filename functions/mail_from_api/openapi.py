"""Writes the MAIL FROM API's OpenAPI document (generated from the handler's routes and models):
``python -m functions.mail_from_api.openapi [path]``; ``make openapi`` keeps docs/openapi current."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from functions.mail_from_api.handler import app

DEFAULT = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "mail-from.json"


def document() -> str:
    text = app.get_openapi_json_schema(
        title="Mailwarden MAIL FROM API",
        version="1.0.0",
        description="Seed 002: change the MAIL FROM domain of an SES email identity; Mailwarden also publishes the "
        "MX and SPF records to the Route 53 hosted zone that owns the domain. Bearer JWT from the configured issuer; "
        "PUT needs the write scope, GET the read (or write) scope.",
        security_schemes={"bearerAuth": HTTPBearer(bearerFormat="JWT")},
        security=[{"bearerAuth": []}],
    )
    doc = json.loads(text)
    for operations in doc["paths"].values():  # Powertools documents a 422; validation errors are seed 400s here
        for operation in operations.values():
            operation["responses"].pop("422", None)
    for schema in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):  # unreferenced
        doc.get("components", {}).get("schemas", {}).pop(schema, None)
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    target.write_text(document())
    print(f"wrote {target}")
