from __future__ import annotations

import pytest
from mailwarden.aws.ratelimit import RateLimiter
from mailwarden.clock import VirtualClock


def test_calls_are_spaced_at_the_rate_on_the_injected_clock():
    clock = VirtualClock()
    limiter = RateLimiter(2.0, lambda: clock)
    start = clock.time()
    for _ in range(5):
        limiter.acquire()
    assert clock.time() - start == pytest.approx(2.0)  # first call free, then 4 x 0.5 s
    assert limiter.calls == 5 and limiter.waited == pytest.approx(2.0)


def test_idle_time_is_not_banked_into_a_burst():
    clock = VirtualClock()
    limiter = RateLimiter(1.0, lambda: clock)
    limiter.acquire()
    clock.advance(10)
    limiter.acquire()
    limiter.acquire()
    assert limiter.waited == pytest.approx(1.0)


def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        RateLimiter(0, VirtualClock)
