"""A local OAuth 2.0 issuer for the emulated MAIL FROM API: an RSA key, its JWKS file (served to the
function as a ``file://`` JWKS URL) and signed access tokens shaped like Cognito's."""

from __future__ import annotations

import json
import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://issuer.mailwarden.local/oauth2"
READ_SCOPE = "mailwarden/mail-from.read"
WRITE_SCOPE = "mailwarden/mail-from.write"


@lru_cache(maxsize=1)
def _signing_key() -> rsa.RSAPrivateKey:
    """One RSA key per process (generating one costs 50-120 ms; every local deployment has an
    issuer). Each issuer still has its own ``kid``, so a token is only valid at the issuer that made it."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class LocalIssuer:
    def __init__(self, directory: Path, issuer: str = ISSUER) -> None:
        self.issuer = issuer
        self.kid = uuid.uuid4().hex[:16]
        self.key = _signing_key()
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks_file = directory / "jwks.json"
        self.jwks_file.write_text(json.dumps({"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}))
        self.jwks_url = self.jwks_file.as_uri()

    def token(
        self,
        scopes: tuple[str, ...] = (WRITE_SCOPE,),
        *,
        subject: str = "dns-automation",
        expires_in: int = 3600,
        now: float | None = None,
        key: Any = None,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        """A signed access token (``key``/``kid``/``iss`` overridable to forge bad ones)."""
        issued = int(now if now is not None else time.time())
        body = {
            "iss": self.issuer,
            "sub": subject,
            "client_id": subject,
            "token_use": "access",
            "scope": " ".join(scopes),
            "iat": issued,
            "exp": issued + expires_in,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})
