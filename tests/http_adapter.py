"""A WSGI app in front of the MAIL FROM API on the emulator: each HTTP request becomes the API
Gateway proxy event ``LocalDeployment.api`` builds (the handler runs as Lambda would, behind the
gateway's 29 s timeout), so HTTP clients (schemathesis, the docs' curl examples) call the API."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from mailwarden.contracts.apis import mail_from_unknown_operation

from local.deployment import LocalDeployment

# The methods and resources the stack defines (infra/mailfrom.py); API Gateway answers anything else
# itself, with the MISSING_AUTHENTICATION_TOKEN gateway response, and never invokes the function.
ROUTES = (("PUT", re.compile(r"^/mail-from-attributes/?$")), ("GET", re.compile(r"^/mail-from-attributes/[^/]+$")))

Environ = dict[str, Any]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class MailFromWsgi:
    def __init__(self, deployment: LocalDeployment) -> None:
        self.deployment = deployment

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        headers: dict[str, str | None] = {"Content-Type": environ.get("CONTENT_TYPE") or None}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                headers[key[5:].replace("_", "-").title()] = value
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size).decode("utf-8", "replace") if size else None
        # API Gateway hands the function the raw (still percent-encoded) path
        path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or _quoted(environ.get("PATH_INFO", "/"))
        method, path = environ["REQUEST_METHOD"], path.split("?", 1)[0]
        if not any(m == method and r.match(path) for m, r in ROUTES):
            request_id = str(uuid.uuid4())
            text = json.dumps(mail_from_unknown_operation()).replace("$context.requestId", request_id)
            start_response("403 Forbidden", [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)])
            return [text.encode()]
        resp = self.deployment.api(method, path, token=None, raw_body=body, headers=headers)
        reason = HTTPStatus(resp.status).phrase
        start_response(f"{resp.status} {reason}", [(k, v) for k, v in resp.headers.items()])
        return [resp.body.encode()]


def _quoted(path: str) -> str:
    from urllib.parse import quote

    # PATH_INFO is decoded (and latin-1 per PEP 3333); encode it back as it travelled
    return quote(path.encode("latin-1").decode("utf-8", "replace"), safe="/")
