"""The Lambda sandbox around each emulated invocation: its timeout on the virtual clock, and the
payload limits Lambda enforces.

In AWS a function is stopped when its configured timeout passes: whatever it wrote before stays
written, nothing after happens, and the caller sees the timeout as a function error
(``Sandbox.Timedout`` on current runtimes; FACTS.md "Platform limits"). Here every invocation runs
on a virtual timeline of its own that starts when it is invoked (so another execution's ``Wait``
state, or a Map iteration's, never counts against it) with a deadline at ``start + timeout``:

* ``context.get_remaining_time_in_millis()`` counts down on that timeline;
* a sleep on the virtual clock (SES pacing, botocore's retry back-off, injected latency) that would
  pass the deadline moves time to the deadline and stops the invocation there;
* an AWS call made at or after the deadline never leaves the sandbox;

either way :class:`LambdaTimedOut` unwinds the handler. It derives from ``BaseException`` because
nothing in a function can catch its own sandbox being stopped (``except Exception`` in handler
code, botocore's retry loop and Powertools' decorators all let it through).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from mailwarden.clock import VirtualClock

SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024  # RequestResponse request and response, bytes
ASYNC_PAYLOAD_LIMIT = 256 * 1024  # Event invocations, bytes
TIMEOUT_ERROR = "Sandbox.Timedout"  # the function error Lambda reports (and Step Functions shows)


class LambdaTimedOut(BaseException):
    """The invocation passed its function's timeout: the sandbox stopped it."""

    def __init__(self, function: str, timeout_seconds: float, request_id: str) -> None:
        self.function = function
        self.timeout_seconds = timeout_seconds
        self.request_id = request_id
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"RequestId: {self.request_id} Error: Task timed out after {self.timeout_seconds:.2f} seconds"


@dataclass
class Invocation:
    function: str
    request_id: str
    timeout_seconds: float
    started: float
    deadline: float
    timeline: list[float]
    stopped: bool = False  # the sandbox stopped it at its timeout

    def timed_out(self) -> LambdaTimedOut:
        self.stopped = True
        return LambdaTimedOut(self.function, self.timeout_seconds, self.request_id)

    @property
    def seconds(self) -> float:
        """Virtual seconds it ran (so far)."""
        return self.timeline[0] - self.started


_current = threading.local()


def current() -> Invocation | None:
    stack: list[Invocation] = getattr(_current, "stack", [])
    return stack[-1] if stack else None


class Progress:
    """ "Something a waiter may be waiting for has happened": virtual time moved, an invocation or an
    execution ended, a task was answered, a Map slot came free. The emulator's waiters (a state's
    timeout, a task token's wait, a Map's slots, a ``.sync`` parent, the harness's ``wait_until``)
    sleep until then instead of looking again every few milliseconds, which on a busy interpreter
    costs the threads doing the work their GIL.

    A waiter takes ``mark()`` *before* it checks its condition and passes it to ``wait``, so a
    change between the check and the wait is not missed. ``wait`` also returns after ``fallback``
    real seconds: a change nothing announced is then seen late, never lost."""

    FALLBACK = 0.02

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._generation = 0
        self.wakeups = 0  # notifications (for measurements)

    def mark(self) -> int:
        return self._generation  # an int read: atomic under the GIL

    def notify(self) -> None:
        with self._cond:
            self._generation += 1
            self.wakeups += 1
            self._cond.notify_all()

    def wait(self, since: int, timeout: float | None = None) -> None:
        """Until something happens after ``mark()`` returned ``since`` (or ``timeout``, default
        ``FALLBACK``, real seconds pass)."""
        with self._cond:
            if self._generation == since:
                self._cond.wait(self.FALLBACK if timeout is None else timeout)


class SandboxClock(VirtualClock):
    """The emulator's virtual clock: a sleep inside an invocation never passes its deadline. Every
    move of time is announced on ``progress``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.progress = Progress()

    def sleep(self, seconds: float) -> None:
        inv = current()
        if inv is not None and seconds > 0 and self.time() + seconds > inv.deadline:
            super().sleep(max(0.0, inv.deadline - self.time()))
            self.progress.notify()
            raise inv.timed_out()
        super().sleep(seconds)
        if seconds > 0:
            self.progress.notify()

    def join(self, at: float) -> None:
        before = self.time()
        super().join(at)
        if self.time() != before:
            self.progress.notify()

    def advance(self, delta: timedelta | float) -> datetime:
        now = super().advance(delta)
        self.progress.notify()
        return now


def check_deadline(clock: VirtualClock) -> None:
    """Called before every AWS call the code under test makes: none leaves a stopped sandbox."""
    inv = current()
    if inv is not None and clock.time() >= inv.deadline:
        raise inv.timed_out()


@contextmanager
def invocation(clock: VirtualClock, function: str, timeout_seconds: float, request_id: str) -> Iterator[Invocation]:
    """Run the body as one invocation of ``function``: on its own timeline from now, stopped at
    ``now + timeout_seconds``. Afterwards the caller's timeline is at least where the invocation
    ended (a synchronous caller waited for it)."""
    outer = clock.timeline()
    start = clock.time()
    clock.fork(start)
    own = clock.timeline()
    assert own is not None
    inv = Invocation(function, request_id, timeout_seconds, start, start + timeout_seconds, own)
    stack: list[Invocation] = getattr(_current, "stack", [])
    _current.stack = [*stack, inv]
    try:
        yield inv
    finally:
        _current.stack = stack
        end = own[0]
        clock.adopt(outer)
        if outer is not None:
            outer[0] = max(outer[0], end)
        if isinstance(clock, SandboxClock):
            clock.progress.notify()  # the invocation ended (its caller, or a wait_until, may go on)


def payload_too_large(size: int, asynchronous: bool) -> str | None:
    """Lambda's RequestTooLargeException message for a request payload over its invocation type's limit."""
    limit = ASYNC_PAYLOAD_LIMIT if asynchronous else SYNC_PAYLOAD_LIMIT
    if size <= limit:
        return None
    kind = "Event" if asynchronous else "RequestResponse"
    return f"{size} byte payload is too large for the {kind} invocation type (limit {limit} bytes)"


__all__ = [
    "ASYNC_PAYLOAD_LIMIT",
    "SYNC_PAYLOAD_LIMIT",
    "TIMEOUT_ERROR",
    "Invocation",
    "LambdaTimedOut",
    "Progress",
    "SandboxClock",
    "check_deadline",
    "current",
    "invocation",
    "payload_too_large",
]
