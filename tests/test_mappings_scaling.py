"""The SQS mapping's scaling rules (simulator/mappings/scaling.py), each on a VirtualClock: no sleeping."""

from __future__ import annotations

import pytest

from simulator.clock import VirtualClock
from simulator.mappings.scaling import (
    MAX_BATCHES,
    PollerScaling,
    batch_for_freed_slot,
    effective_visibility_timeout,
    throttle_retry_delay,
)


def scaling(**kwargs: object) -> tuple[PollerScaling, VirtualClock]:
    return PollerScaling(**kwargs), VirtualClock(0.0)  # type: ignore[arg-type]


def test_five_batches_at_first_and_while_idle() -> None:
    s, clock = scaling()
    assert s.allowed(clock.monotonic()) == 5
    clock.advance(600)
    assert s.allowed(clock.monotonic()) == 5  # no messages seen: no scaling up


def test_up_300_a_minute_while_messages_remain() -> None:
    s, clock = scaling()
    s.found_messages(clock.monotonic())
    clock.advance(1)
    assert s.allowed(clock.monotonic()) == 10  # 300 a minute is 5 a second
    clock.advance(59)
    assert s.allowed(clock.monotonic()) == 305
    s.found_messages(clock.monotonic())  # more messages do not restart the ramp
    clock.advance(60)
    assert s.allowed(clock.monotonic()) == 605


def test_whole_batches_only() -> None:
    s, clock = scaling()
    s.found_messages(0.0)
    clock.advance(0.19)
    assert s.allowed(clock.monotonic()) == 5
    clock.advance(0.01)
    assert s.allowed(clock.monotonic()) == 6


def test_ceiling_1000_batches_and_one_past_it() -> None:
    s, clock = scaling()
    s.found_messages(0.0)
    clock.advance((MAX_BATCHES - 5) / 5)
    assert s.allowed(clock.monotonic()) == MAX_BATCHES
    clock.advance(3600)
    assert s.allowed(clock.monotonic()) == MAX_BATCHES
    assert s.statistics(clock.monotonic()).ceiling == 1000


def test_maximum_concurrency_caps_it() -> None:
    s, clock = scaling(maximum_concurrency=50)
    s.found_messages(0.0)
    clock.advance(3600)
    assert s.allowed(clock.monotonic()) == 50


def test_maximum_concurrency_below_five_caps_the_start_too() -> None:
    s, clock = scaling(maximum_concurrency=2)
    assert s.allowed(clock.monotonic()) == 2
    s.found_messages(0.0)
    clock.advance(60)
    assert s.allowed(clock.monotonic()) == 2


@pytest.mark.parametrize("bad", [0, 1, 1001, -5])
def test_maximum_concurrency_out_of_range_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="MaximumConcurrency"):
        PollerScaling(maximum_concurrency=bad)


def test_back_to_five_when_a_long_poll_comes_back_empty() -> None:
    s, clock = scaling()
    s.found_messages(0.0)
    clock.advance(20)
    assert s.allowed(clock.monotonic()) == 105
    s.found_none(clock.monotonic())
    assert s.allowed(clock.monotonic()) == 5
    clock.advance(60)
    assert s.allowed(clock.monotonic()) == 5  # idle stays at five
    s.found_messages(clock.monotonic())
    clock.advance(2)
    assert s.allowed(clock.monotonic()) == 15  # a new burst ramps from five again


def test_a_function_error_backs_off_then_scaling_resumes() -> None:
    s, clock = scaling()
    s.found_messages(0.0)
    clock.advance(40)
    assert s.allowed(clock.monotonic()) == 205
    s.function_error(clock.monotonic())
    assert s.allowed(clock.monotonic()) == 102
    clock.advance(2)
    assert s.allowed(clock.monotonic()) == 112
    assert s.statistics(clock.monotonic()).backoffs == 1


def test_a_throttle_backs_off() -> None:
    s, clock = scaling()
    s.found_messages(0.0)
    clock.advance(10)
    assert s.allowed(clock.monotonic()) == 55
    s.throttled(clock.monotonic())
    assert s.allowed(clock.monotonic()) == 27


def test_backing_off_never_goes_below_five() -> None:
    s, clock = scaling()
    s.found_messages(0.0)
    for _ in range(20):
        s.throttled(clock.monotonic())
    assert s.allowed(clock.monotonic()) == 5


def test_no_back_off_on_function_errors_with_report_batch_item_failures() -> None:
    s, clock = scaling(report_batch_item_failures=True)
    s.found_messages(0.0)
    clock.advance(10)
    s.function_error(clock.monotonic())
    assert s.allowed(clock.monotonic()) == 55
    assert s.statistics(clock.monotonic()).backoffs == 0
    s.throttled(clock.monotonic())  # a throttle is not the function's report: it still backs off
    assert s.allowed(clock.monotonic()) == 27


def test_idle_back_off_keeps_five() -> None:
    s, _ = scaling()
    s.throttled(0.0)
    assert s.allowed(0.0) == 5
    assert not s.statistics(0.0).scaling_up


def test_throttle_retry_spacing_doubles_to_a_cap() -> None:
    assert [throttle_retry_delay(n) for n in range(1, 6)] == [1, 2, 4, 8, 16]
    assert throttle_retry_delay(0) == 1
    assert throttle_retry_delay(100) == 60


def test_effective_visibility_timeout_with_a_window() -> None:
    assert effective_visibility_timeout(30, 10, 0) == 30  # no window: the queue's
    assert effective_visibility_timeout(30, 10, 20) == 30  # window + timeout fits
    assert effective_visibility_timeout(30, 10, 21) == 61  # one past: window + timeout + 30 s
    assert effective_visibility_timeout(30, 60, 0) == 30  # the mapping API refuses that; the rule does not apply


def test_next_increase_is_when_one_more_batch_is_allowed() -> None:
    s, _ = scaling(maximum_concurrency=7)
    assert s.next_increase(0.0) is None  # idle: not growing
    s.found_messages(10.0)
    assert s.next_increase(10.0) == pytest.approx(10.2)
    assert s.next_increase(10.3) == pytest.approx(10.4)
    assert s.allowed(10.4) == 7
    assert s.next_increase(10.4) is None  # at MaximumConcurrency


def test_a_freed_slot_goes_to_the_throttled_batch_received_first() -> None:
    waiting = [(3.0, "c"), (1.0, "a"), (2.0, "b")]
    assert batch_for_freed_slot(waiting, lambda held: held[0]) == (1.0, "a")
    assert batch_for_freed_slot([], lambda held: held[0]) is None  # none waits: a reader receives a new batch
