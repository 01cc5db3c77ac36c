"""Signed approval links: an opaque request id plus an HMAC-SHA256 over (id, decision, approver,
expiry). The raw Step Functions task token never appears in a link or message.

Several keys may verify (the current and the previous secret version), so rotating the key does
not break links already in people's inboxes; only the first key signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import quote, urlencode

from .model import Decision, normalize_email

VERSION = "mailwarden-approval-v1"
MIN_KEY_BYTES = 32


class LinkSigner:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys or any(len(k) < MIN_KEY_BYTES for k in keys):
            raise ValueError(f"approval signing keys must be at least {MIN_KEY_BYTES} bytes")
        self._keys = tuple(keys)

    @staticmethod
    def _message(request_id: str, decision: Decision, approver: str, expires: int) -> bytes:
        return "\n".join((VERSION, request_id, decision.value, normalize_email(approver), str(expires))).encode()

    def _mac(self, key: bytes, message: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode().rstrip("=")

    def sign(self, request_id: str, decision: Decision, approver: str, expires: int) -> str:
        return self._mac(self._keys[0], self._message(request_id, decision, approver, expires))

    def verify(self, request_id: str, decision: Decision, approver: str, expires: int, signature: str) -> bool:
        message = self._message(request_id, decision, approver, expires)
        given = signature.encode()
        # compare against every key without short-circuiting on the first mismatch
        results = [hmac.compare_digest(self._mac(k, message).encode(), given) for k in self._keys]
        return any(results)


class Links:
    """Builds the confirmation links an approver receives (GET shows a page; nothing decides)."""

    def __init__(self, base_url: str, signer: LinkSigner) -> None:
        if not base_url.startswith(("https://", "http://localhost")):
            raise ValueError("approval links must be https")
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.signer = signer

    def query(self, request_id: str, decision: Decision, approver: str, expires: int) -> dict[str, str]:
        approver = normalize_email(approver)
        return {
            "decision": decision.value,
            "approver": approver,
            "expires": str(expires),
            "sig": self.signer.sign(request_id, decision, approver, expires),
        }

    def link(self, request_id: str, decision: Decision, approver: str, expires: int) -> str:
        query = urlencode(self.query(request_id, decision, approver, expires))
        return f"{self.base_url}approvals/{quote(request_id, safe='')}?{query}"
