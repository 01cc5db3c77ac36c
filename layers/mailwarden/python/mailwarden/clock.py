"""Time as a dependency.

Domain code never calls ``time`` or ``datetime.now`` directly: it is handed a :class:`Clock`.
Handlers take :func:`default_clock`, which is the system clock in Lambda and the emulator's
virtual clock under ``local.emulator.emulated_aws()`` so rate limits and long waits run instantly.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock:
    """A clock that only moves when told to (``advance``) or when someone ``sleep``s on it.

    Thread-safe: concurrent sleepers each advance time by their own amount, which keeps
    "calls / rate" arithmetic exact in benchmarks.

    Parallel workers (a Step Functions Map's iterations) instead get a *timeline* each
    (:meth:`fork`): their sleeps move only their own time, and the clock's time is the latest of
    all, so ten workers each waiting 60 s take 60 s, not 600 s, and the makespan is honest.
    """

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 11, 21, 9, 0, 0, tzinfo=UTC)
        if start.tzinfo is None:
            raise ValueError("VirtualClock needs a timezone-aware start")
        self._epoch = start.timestamp()
        self._lock = threading.Lock()
        self._timeline = threading.local()
        self.slept = 0.0

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def time(self) -> float:
        own = self.own()
        if own is not None:
            return own
        with self._lock:
            return self._epoch

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with self._lock:
            self.slept += seconds
            box = self.timeline()
            if box is None:
                self._epoch += seconds
            else:
                box[0] += seconds
                self._epoch = max(self._epoch, box[0])

    def timeline(self) -> list[float] | None:
        """The calling thread's own timeline (a shared, mutable box), if it has one."""
        return getattr(self._timeline, "box", None)

    def own(self) -> float | None:
        box = self.timeline()
        return None if box is None else box[0]

    def fork(self, at: float | None) -> None:
        """Give the calling thread a new timeline starting at ``at`` (``None``: back to the shared one)."""
        self._timeline.box = None if at is None else [at]

    def adopt(self, box: list[float] | None) -> None:
        """Run the calling thread on another thread's timeline (a helper thread it waits for)."""
        self._timeline.box = box

    def join(self, at: float) -> None:
        """The calling thread waited for work that ended at ``at`` on another timeline: its own
        timeline (or the shared one) moves there if it is behind, without counting as a sleep."""
        with self._lock:
            box = self.timeline()
            if box is not None:
                box[0] = max(box[0], at)
                at = box[0]
            self._epoch = max(self._epoch, at)

    def advance(self, delta: timedelta | float) -> datetime:
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._epoch += seconds
        return self.now()


def iso(epoch: float) -> str:
    """Epoch seconds as an ISO-8601 UTC timestamp to the second (``2026-11-21T09:00:00Z``)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_default: Clock = SystemClock()


def default_clock() -> Clock:
    return _default


def set_default_clock(clock: Clock) -> Clock:
    """Install ``clock`` as the process default; returns the previous one (for restoring)."""
    global _default
    previous, _default = _default, clock
    return previous
