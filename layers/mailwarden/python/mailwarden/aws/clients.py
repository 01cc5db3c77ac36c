"""boto3 clients, created lazily and reused across warm invocations.

Created on first use (not at import) so an emulator started by a test fixture intercepts them and
cold-start import time stays small. ``clear()`` drops the cache (the emulator calls it).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config

from ..clock import default_clock
from ..contracts.metrics import Metric
from ..observability import count
from .ratelimit import RateLimiter

RETRY_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="mailwarden",
)
# For a caller who waits (an API behind API Gateway's 29-second integration timeout): two retries
# (at most ~3 s of back-off per call) and short socket timeouts, so a lasting throttle or outage
# becomes an answer (429 / 500) well within the timeout instead of a 504 after it.
INTERACTIVE_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
    user_agent_extra="mailwarden",
)

# Services whose APIs are rate limited below what a run would otherwise send, and the env
# variable that overrides the default rate (requests/second).
PACED = {"sesv2": ("SES_API_RATE", 1.0)}

# Error codes AWS answers a throttled request with (the SDK retries them; we count them).
THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "LimitExceededException",
        "PriorRequestNotComplete",
    }
)

_cache: dict[str, Any] = {}
_limiters: dict[str, RateLimiter] = {}
_lock = threading.Lock()
_session: Any = None  # one boto3 session per process: its models are loaded once, whatever the clients


def session() -> Any:
    """The process's boto3 session (created on first use; kept by ``clear``)."""
    global _session
    if _session is None:
        _session = boto3.session.Session()
    return _session


def limiter(service: str) -> RateLimiter | None:
    if service not in PACED:
        return None
    with _lock:
        if service not in _limiters:
            env, default = PACED[service]
            _limiters[service] = RateLimiter(float(os.environ.get(env, default)), default_clock)
        return _limiters[service]


def client(service: str, region: str | None = None, *, interactive: bool = False) -> Any:
    """The shared client for ``service`` (in ``region``; default: the environment's region);
    ``interactive``: with the short retry budget of :data:`INTERACTIVE_CONFIG`."""
    pacer = limiter(service)
    key = f"{service}@{region or ''}{'/interactive' if interactive else ''}"
    with _lock:
        if key not in _cache:
            config = INTERACTIVE_CONFIG if interactive else RETRY_CONFIG
            made = session().client(service, region_name=region, config=config)
            made.meta.events.register("needs-retry", _count_throttle)
            _cache[key] = pacer.attach(made) if pacer else made
        return _cache[key]


def _count_throttle(response: Any = None, **_: Any) -> None:
    """``needs-retry`` observer: a throttled answer counts in ``AwsThrottles`` (the retry is botocore's)."""
    if response and isinstance(response[1], dict) and response[1].get("Error", {}).get("Code") in THROTTLE_CODES:
        count(Metric.AWS_THROTTLES)


def clear() -> None:
    with _lock:
        _cache.clear()
        _limiters.clear()
