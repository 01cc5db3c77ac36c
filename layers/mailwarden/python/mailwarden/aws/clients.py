"""boto3 clients, created lazily and reused across warm invocations.

Created on first use (not at import) so an emulator started by a test fixture intercepts them and
cold-start import time stays small. ``clear()`` drops the cache (the emulator calls it).
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="mailwarden",
)

_cache: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: str) -> Any:
    with _lock:
        if service not in _cache:
            _cache[service] = boto3.session.Session().client(service, config=RETRY_CONFIG)
        return _cache[service]


def clear() -> None:
    with _lock:
        _cache.clear()
