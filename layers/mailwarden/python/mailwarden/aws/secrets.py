"""The approval signing keys from Secrets Manager: AWSCURRENT signs; AWSCURRENT and AWSPREVIOUS
verify, so a rotation does not invalidate links already sent. Re-read after ``ttl`` seconds."""

from __future__ import annotations

import threading
from typing import Any

from botocore.exceptions import ClientError

from ..approvals.signing import LinkSigner
from ..clock import Clock
from .errors import code_of, translate


class SigningKeys:
    def __init__(self, client: Any, secret_arn: str, clock: Clock, ttl: float = 300.0) -> None:
        self.client = client
        self.secret_arn = secret_arn
        self.clock = clock
        self.ttl = ttl
        self._signer: LinkSigner | None = None
        self._loaded = 0.0
        self._lock = threading.Lock()

    def _read(self, stage: str) -> bytes | None:
        try:
            out = self.client.get_secret_value(SecretId=self.secret_arn, VersionStage=stage)
        except ClientError as err:
            if stage != "AWSCURRENT" and code_of(err) == "ResourceNotFoundException":
                return None  # never rotated: there is no previous version
            raise translate(err) from err
        value = out.get("SecretString")
        return value.encode() if value is not None else bytes(out["SecretBinary"])

    def __call__(self) -> LinkSigner:
        with self._lock:
            now = self.clock.time()
            if self._signer is None or now - self._loaded >= self.ttl:
                current = self._read("AWSCURRENT")
                assert current is not None
                previous = self._read("AWSPREVIOUS")
                keys = [current] + ([previous] if previous and previous != current else [])
                self._signer = LinkSigner(keys)
                self._loaded = now
            return self._signer
