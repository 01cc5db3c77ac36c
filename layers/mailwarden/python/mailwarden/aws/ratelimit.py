"""Client-side pacing so throttling errors never reach a run.

SES throttles every management API at 1 request/second (not adjustable). A :class:`RateLimiter`
spaces calls at ``rate``/s on the injected clock (the virtual one under the emulator), and
``attach`` hooks it onto a boto3 client's ``before-call`` event so every API call (not every
retry attempt) waits its turn. One limiter per service is shared by all clients in the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..clock import Clock


class RateLimiter:
    def __init__(self, rate: float, clock: Callable[[], Clock]) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self._clock = clock
        self._next_at = float("-inf")
        self._lock = threading.Lock()
        self.waited = 0.0
        self.calls = 0

    def acquire(self) -> None:
        with self._lock:
            clock = self._clock()
            now = clock.time()
            wait = self._next_at - now
            if wait > 0:
                clock.sleep(wait)
                self.waited += wait
                now = clock.time()
            self._next_at = max(now, self._next_at) + self.interval
            self.calls += 1

    def attach(self, client: Any) -> Any:
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-call.{service}", lambda **_: self.acquire())
        return client
