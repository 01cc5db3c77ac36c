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
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .cache import CACHE_DIR, write_atomically

ISSUER = "https://issuer.mailwarden.local/oauth2"
READ_SCOPE = "mailwarden/mail-from.read"
WRITE_SCOPE = "mailwarden/mail-from.write"


@lru_cache(maxsize=1)
def _signing_key() -> rsa.RSAPrivateKey:
    """One RSA key per process (generating one costs 50-120 ms; every local deployment has an issuer),
    kept in ``.cache/`` (owner-only) for the next process: a ``--local`` command starts ~40 ms sooner.
    It signs only the emulator's tokens, which only a local deployment accepts. Each issuer still has
    its own ``kid``, so a token is only valid at the issuer that made it."""
    path = CACHE_DIR / "local-issuer-key.pem"
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, rsa.RSAPrivateKey):
            return key
    except (OSError, ValueError):
        pass
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_atomically(path, pem)  # NamedTemporaryFile: created owner-only (0600)
    return key


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
