"""The virtual clock's timelines (what the Step Functions executor builds its makespans on)."""

from mailwarden.clock import VirtualClock


def test_a_timeline_joins_the_work_it_waited_for_and_never_moves_back():
    clock = VirtualClock()
    start = clock.time()
    clock.fork(start)
    clock.join(start + 300)  # a worker on another timeline ended 300 s after this one's now
    assert clock.time() == start + 300
    clock.join(start + 10)  # work that ended earlier leaves it where it is
    assert clock.time() == start + 300
    assert clock.slept == 0  # waiting is not sleeping
    clock.fork(None)
    assert clock.time() == start + 300  # the shared time is the latest of all timelines
    clock.join(start + 900)
    assert clock.time() == start + 900
