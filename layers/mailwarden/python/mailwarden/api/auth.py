"""Bearer JWTs, verified in the function against the configured issuer's published keys (JWKS).

Verified here rather than by an API Gateway authorizer so that a refusal carries seed 002's exact
bodies: 401 ``{"error": "JWT validation failed: <why>"}`` for a missing, malformed, forged, expired
or foreign token; 403 (seed shape) for a valid token without the operation's scope.

Accepted: asymmetric signatures only (RS*, PS*, ES*; never ``none`` or a shared secret), the
configured ``iss``, ``exp`` required (30 s of clock skew tolerated), the audience when one is
configured (``aud``, or Cognito access tokens' ``client_id``), scopes from ``scope`` (space-separated,
as Cognito and OAuth 2.0 issue them) or ``scp`` (a list, as Okta and Entra ID do).
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

from ..clock import Clock, default_clock
from ..errors import MailwardenError

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
LEEWAY_SECONDS = 30
JWKS_CACHE_SECONDS = 3600
JWKS_REFETCH_SECONDS = 60


class Unauthorized(MailwardenError):
    """No usable bearer token (401)."""


class Forbidden(MailwardenError):
    """A valid token that may not call this operation (403)."""


@dataclass(frozen=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    client_id: str | None

    @property
    def actor(self) -> str:
        return f"jwt:{self.subject}"


class JwtVerifier:
    def __init__(
        self, issuer: str, jwks_url: str = "", audience: str = "", keys: Any = None, clock: Clock | None = None
    ) -> None:
        if not issuer:
            raise RuntimeError("Mailwarden is misconfigured: JWT_ISSUER is not set, so no token can be verified")
        self.issuer = issuer
        self.audiences = {a.strip() for a in audience.split(",") if a.strip()}
        url = jwks_url or issuer.rstrip("/") + "/.well-known/jwks.json"
        self.keys = keys or JwksKeys(url)
        self.clock = clock or default_clock()

    def verify(self, authorization: str | None, any_of: Iterable[str]) -> Principal:
        """The caller behind ``Authorization: Bearer <jwt>``, holding at least one of ``any_of`` scopes."""
        token = _bearer(authorization)
        claims = self._claims(token)
        now = self.clock.time()
        if not isinstance(claims["exp"], int | float) or not isinstance(claims.get("nbf", 0), int | float):
            raise Unauthorized("JWT is malformed")
        if now > claims["exp"] + LEEWAY_SECONDS:
            raise Unauthorized("JWT is expired")
        if claims.get("nbf", 0) > now + LEEWAY_SECONDS:
            raise Unauthorized("JWT is not valid yet")
        if self.audiences:
            aud = claims.get("aud")
            given = set(aud if isinstance(aud, list) else [aud] if aud else []) | {claims.get("client_id")}
            if not given & self.audiences:
                raise Unauthorized("JWT audience is not accepted")
        scope = claims.get("scope")
        scopes = frozenset((scope.split() if isinstance(scope, str) else []) + list(claims.get("scp") or []))
        wanted = set(any_of)
        if not scopes & wanted:
            raise Forbidden(f"the token lacks the scope this operation needs ({' or '.join(sorted(wanted))})")
        return Principal(str(claims["sub"]), scopes, claims.get("client_id"))

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            key = self.keys.key(jwt.get_unverified_header(token).get("kid"))
            return dict(
                jwt.decode(
                    token,
                    key,
                    algorithms=ALGORITHMS,
                    issuer=self.issuer,
                    # time is checked against the injected clock below (the virtual one under the emulator)
                    options={
                        "require": ["exp", "iss", "sub"],
                        "verify_aud": False,
                        "verify_exp": False,
                        "verify_nbf": False,
                        "verify_iat": False,
                    },
                )
            )
        except jwt.InvalidIssuerError:
            raise Unauthorized("JWT issuer is not trusted") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"JWT has no '{exc.claim}' claim") from None
        except jwt.InvalidSignatureError:
            raise Unauthorized("JWT signature is invalid") from None
        except UnknownKey:
            raise Unauthorized("JWT key id is not one of the issuer's keys") from None
        except jwt.InvalidAlgorithmError:
            raise Unauthorized("JWT algorithm is not accepted") from None
        except (jwt.InvalidTokenError, ValueError):
            raise Unauthorized("JWT is malformed") from None


class UnknownKey(MailwardenError):
    pass


class JwksKeys:
    """The issuer's public keys by ``kid``, fetched from its JWKS URL (https; ``file:`` for a local
    issuer), cached for an hour and fetched again, at most once a minute, for a ``kid`` not seen."""

    def __init__(self, url: str, clock: Any = time.monotonic) -> None:
        if urlsplit(url).scheme not in ("https", "file"):
            raise RuntimeError(f"Mailwarden is misconfigured: JWT_JWKS_URL must be https (got {url!r})")
        self.url = url
        self.clock = clock
        self._keys: dict[str | None, Any] = {}
        self._fetched = -math.inf

    def _fetch(self) -> None:
        with urllib.request.urlopen(self.url, timeout=5) as response:
            document = json.load(response)
        keys = {}
        for jwk in document.get("keys", []):
            if jwk.get("use", "sig") == "sig" and jwk.get("kty") in ("RSA", "EC"):
                keys[jwk.get("kid")] = jwt.PyJWK(jwk).key
        self._keys, self._fetched = keys, self.clock()

    def key(self, kid: str | None) -> Any:
        age = self.clock() - self._fetched
        if age > JWKS_CACHE_SECONDS or (kid not in self._keys and age > JWKS_REFETCH_SECONDS):
            self._fetch()
        if kid not in self._keys:
            raise UnknownKey(str(kid))
        return self._keys[kid]


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("no Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("expected 'Authorization: Bearer <JWT>'")
    return token.strip()
