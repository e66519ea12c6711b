"""The concurrency model in virtual time: property tests (hypothesis) and AWS's documented cases.

No Docker and no sleeping: a VirtualClock moves only when a test moves it. Parameters are whole numbers
(rates per whole second, steps of whole seconds) so that the oracle's token arithmetic is exact.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.clock import VirtualClock
from simulator.concurrency import (
    ACCOUNT_LIMIT,
    FUNCTION_RATE,
    RESERVED_LIMIT,
    RESERVED_RATE,
    ConcurrencyController,
    Lease,
    Throttle,
)
from simulator.config import Limits
from simulator.errors import InvalidParameterValueException, TooManyRequestsException
from simulator.simulation import simulate

FUNCTIONS = ("a", "b", "c")
VERSIONS = ("$LATEST", "1")


# -- an oracle written from AWS's words, independent of the controller's code ------------------------------
@dataclass
class Allowance:
    """'Refilled continuously, never accrued beyond its size' (scaling rate and request rate)."""

    size: float
    per_second: float
    tokens: float
    at: float

    def available(self, now: float) -> float:
        return min(self.size, self.tokens + (now - self.at) * self.per_second)

    def take(self, now: float) -> None:
        self.tokens, self.at = self.available(now) - 1, now

    def touch(self, now: float) -> None:
        self.tokens, self.at = self.available(now), now


@dataclass
class Expected:
    reserved: int | None
    rate: Allowance
    scaling: Allowance
    running: int = 0
    warm: dict[str, list[float]] = field(default_factory=dict)  # version -> idle since
    provisioned_allocated: int = 0
    provisioned_running: int = 0


@st.composite
def accounts(draw: st.DrawFn) -> tuple[Limits, dict[str, int | None], int]:
    account = draw(st.integers(3, 12))
    minimum = draw(st.integers(0, 2))
    limits = Limits(
        concurrent_executions=account,
        unreserved_concurrency_min=minimum,
        scaling_environments=draw(st.integers(1, 6)),
        scaling_window_s=1.0,
        requests_per_concurrency=float(draw(st.integers(1, 4))),
        idle_timeout_s=float(draw(st.integers(1, 20))),
    )
    reserved: dict[str, int | None] = {}
    left = account - minimum
    for name in FUNCTIONS:
        value = draw(st.one_of(st.none(), st.integers(0, max(0, left))))
        if value is not None and value <= left:
            reserved[name] = value
            left -= value
        else:
            reserved[name] = None
    provisioned = draw(st.integers(0, 2))
    return limits, reserved, provisioned


operations = st.lists(
    st.one_of(
        st.tuples(st.just("invoke"), st.sampled_from(FUNCTIONS), st.sampled_from(VERSIONS), st.booleans()),
        st.tuples(st.just("finish"), st.integers(0, 50), st.booleans()),
        st.tuples(st.just("advance"), st.integers(0, 3)),
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounts(), operations)
def test_admission_matches_the_rules(account: tuple[Limits, dict[str, int | None], int], ops: list) -> None:
    """Never more running than allowed; every request exactly one of ran / throttled; the reason is the
    one AWS gives for the limit that was reached; and nothing is refused that the rules allow."""
    limits, reserved, provisioned = account
    clock = VirtualClock(0)
    controller = ConcurrencyController(limits, clock)
    expected: dict[str, Expected] = {}
    for name in FUNCTIONS:
        try:
            controller.set_reserved(name, reserved[name])
        except InvalidParameterValueException:
            reserved[name] = None
        r = reserved[name]
        rate = limits.requests_per_concurrency * (r if r is not None else limits.concurrent_executions)
        expected[name] = Expected(
            r,
            Allowance(rate, rate, rate, 0.0),
            Allowance(limits.scaling_environments, limits.scaling_environments, limits.scaling_environments, 0.0),
        )
    if provisioned and (reserved["a"] is None or reserved["a"] >= provisioned):
        try:
            controller.set_provisioned("a", "1", provisioned, ready=True)
            expected["a"].provisioned_allocated = provisioned
        except InvalidParameterValueException:
            pass
    running: list[Lease] = []
    requests = {name: 0 for name in FUNCTIONS}
    for op in ops:
        now = clock.monotonic()
        if op[0] == "advance":
            clock.advance(op[1])
            continue
        if op[0] == "finish":
            if running:
                lease = running.pop(op[1] % len(running))
                e = expected[lease.function_name]
                e.running -= 1
                if lease.provisioned:
                    e.provisioned_running -= 1
                elif op[2]:
                    e.warm.setdefault(lease.version, []).append(now)
                controller.release(lease, reusable=op[2])
            continue
        _, name, version, synchronous = op
        requests[name] += 1
        e = expected[name]
        before = controller.statistics()
        decision = controller.try_admit(name, version, synchronous)
        # exactly one of ran / throttled
        assert isinstance(decision, Lease) != isinstance(decision, Throttle)
        # the oracle's verdict, from AWS's rules
        warm = [t for t in e.warm.get(version, []) if t >= now - limits.idle_timeout_s]
        e.warm[version] = warm
        unreserved_full = e.reserved is None and before.unreserved_in_use >= before.unreserved_limit
        if version == "1" and e.provisioned_running < e.provisioned_allocated:
            limit_reached = None
            if synchronous and e.rate.available(now) < 1:
                limit_reached = RESERVED_RATE if e.reserved is not None else FUNCTION_RATE
            if limit_reached is None:
                assert isinstance(decision, Lease) and decision.provisioned and not decision.cold
                e.rate.take(now) if synchronous else None
                e.running += 1
                e.provisioned_running += 1
                running.append(decision)
            else:
                assert isinstance(decision, Throttle) and decision.reason == limit_reached
                e.rate.touch(now)
            continue
        if e.reserved is not None and e.running >= e.reserved:
            verdict: str | None = RESERVED_LIMIT
        elif unreserved_full:
            verdict = ACCOUNT_LIMIT
        elif synchronous and e.rate.available(now) < 1:
            verdict = RESERVED_RATE if e.reserved is not None else FUNCTION_RATE
        elif not warm and e.scaling.available(now) < 1:
            verdict = ACCOUNT_LIMIT  # no new execution environment can be had yet
        else:
            verdict = None
        if verdict is None:
            assert isinstance(decision, Lease), f"refused {decision} although no limit was reached"
            assert decision.cold == (not warm)
            assert decision.spillover == (version == "1" and e.provisioned_allocated > 0)
            if synchronous:
                e.rate.take(now)
            if warm:
                warm.pop()
            else:
                e.scaling.take(now)
            e.running += 1
            running.append(decision)
        else:
            assert isinstance(decision, Throttle) and decision.reason == verdict, (decision, verdict)
            assert decision.retry_after_seconds >= 1
            if verdict in (RESERVED_RATE, FUNCTION_RATE) or (verdict == ACCOUNT_LIMIT and not unreserved_full):
                e.rate.touch(now)
            if verdict == ACCOUNT_LIMIT and not unreserved_full:
                e.scaling.touch(now)
        # never more running than allowed
        after = controller.statistics()
        assert after.in_use <= limits.concurrent_executions
        assert after.unreserved_in_use <= after.unreserved_limit
        for other in FUNCTIONS:
            stats = controller.function_statistics(other)
            if stats.reserved is not None:
                assert stats.in_use <= stats.reserved
            for p in stats.provisioned:
                assert p.in_use <= p.allocated
    for name in FUNCTIONS:
        stats = controller.function_statistics(name)
        assert stats.admitted + stats.throttled == requests[name]
        assert stats.in_use == sum(1 for lease in running if lease.function_name == name)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 30),
    st.lists(st.tuples(st.floats(0, 5), st.sampled_from(FUNCTIONS), st.floats(0.01, 3)), max_size=300),
)
def test_simulation_accounts_for_every_request(account: int, arrivals: list) -> None:
    limits = Limits(concurrent_executions=account, unreserved_concurrency_min=0, scaling_environments=5)
    clock = VirtualClock(0)
    controller = ConcurrencyController(limits, clock)
    result = simulate(controller, clock, sorted(arrivals))
    assert result.ran + result.throttled == result.requests == len(arrivals)
    assert result.peak_in_use <= account
    assert controller.statistics().in_use == 0  # every slot given back


# -- AWS's documented cases ------------------------------------------------------------------------------
def controller_for(clock: VirtualClock | None = None, **limits: object) -> ConcurrencyController:
    return ConcurrencyController(Limits(**limits), clock or VirtualClock(0))  # type: ignore[arg-type]


def test_reserved_zero_throttles_every_invocation() -> None:
    controller = controller_for()
    controller.set_reserved("f", 0)
    for synchronous in (True, False):
        decision = controller.try_admit("f", synchronous=synchronous)
        assert isinstance(decision, Throttle) and decision.reason == RESERVED_LIMIT
    with pytest.raises(TooManyRequestsException) as caught:
        controller.admit("f")
    assert caught.value.reason == RESERVED_LIMIT and caught.value.status == 429


def test_reservation_must_leave_100_unreserved() -> None:
    controller = controller_for()
    controller.set_reserved("a", 800)
    with pytest.raises(InvalidParameterValueException, match=r"below its minimum value of \[100\]"):
        controller.set_reserved("b", 101)
    controller.set_reserved("b", 100)
    assert controller.statistics().unreserved_limit == 100


def test_reserved_concurrency_is_a_floor_other_functions_cannot_take() -> None:
    clock = VirtualClock(0)
    controller = controller_for(clock, concurrent_executions=10, unreserved_concurrency_min=2)
    controller.set_reserved("critical", 4)
    leases = [controller.try_admit("noisy", synchronous=False) for _ in range(10)]
    assert sum(isinstance(lease, Lease) for lease in leases) == 6  # 10 - 4 reserved
    assert leases[-1] == Throttle(ACCOUNT_LIMIT)
    assert all(isinstance(controller.try_admit("critical", synchronous=False), Lease) for _ in range(4))


def test_scaling_rate_1000_environments_every_10_seconds_per_function() -> None:
    clock = VirtualClock(0)
    controller = controller_for(clock, concurrent_executions=10_000)
    first = [controller.try_admit("f", synchronous=False) for _ in range(1500)]
    assert sum(isinstance(d, Lease) for d in first) == 1000
    assert {d.reason for d in first if isinstance(d, Throttle)} == {ACCOUNT_LIMIT}
    other = [controller.try_admit("g", synchronous=False) for _ in range(1000)]
    assert all(isinstance(d, Lease) for d in other)  # each function scales independently
    clock.advance(5)  # refilled continuously: 500 more after 5 s
    later = [controller.try_admit("f", synchronous=False) for _ in range(600)]
    assert sum(isinstance(d, Lease) for d in later) == 500


def test_warm_environments_need_no_scaling_allowance() -> None:
    clock = VirtualClock(0)
    controller = controller_for(clock, scaling_environments=2)
    leases = [controller.admit("f", synchronous=False) for _ in range(2)]
    assert isinstance(controller.try_admit("f", synchronous=False), Throttle)
    for lease in leases:
        controller.release(lease)
    again = [controller.admit("f", synchronous=False) for _ in range(2)]
    assert not any(lease.cold for lease in again)
    stats = controller.function_statistics("f")
    assert stats.cold_starts == 2 and stats.environments == 2


def test_idle_environments_scale_in_after_the_idle_timeout() -> None:
    clock = VirtualClock(0)
    controller = controller_for(clock, idle_timeout_s=600)
    controller.release(controller.admit("f"))
    clock.advance(599)
    lease = controller.admit("f")
    assert not lease.cold
    controller.release(lease)
    clock.advance(601)
    assert controller.admit("f").cold


def test_legacy_burst_model_is_account_wide() -> None:
    clock = VirtualClock(0)
    controller = controller_for(clock, concurrent_executions=10_000, scaling_model="burst")
    # us-east-1: an initial burst of 3,000 shared by every function, then 500 a minute
    decisions = [controller.try_admit(f"fn{i % 3}", synchronous=False) for i in range(3500)]
    assert sum(isinstance(d, Lease) for d in decisions) == 3000
    clock.advance(60)
    decisions = [controller.try_admit("fn9", synchronous=False) for _ in range(600)]
    assert sum(isinstance(d, Lease) for d in decisions) == 500
    tokyo = ConcurrencyController(
        Limits(concurrent_executions=10_000, scaling_model="burst"), VirtualClock(0), region="ap-northeast-1"
    )
    assert sum(isinstance(tokyo.try_admit("f", synchronous=False), Lease) for _ in range(1200)) == 1000


def test_synchronous_request_rate_is_capped_at_10_times_concurrency() -> None:
    clock = VirtualClock(0)
    controller = controller_for(clock)
    controller.set_reserved("f", 2)
    ran = throttled = 0
    for _ in range(100):  # very short invocations: the slot is back before the next request
        decision = controller.try_admit("f")
        if isinstance(decision, Lease):
            ran += 1
            controller.release(decision)
        else:
            assert decision.reason == RESERVED_RATE
            throttled += 1
    assert (ran, throttled) == (20, 80)
    for _ in range(100):  # asynchronous invocations are limited by concurrency alone
        decision = controller.try_admit("f", synchronous=False)
        assert isinstance(decision, Lease)
        controller.release(decision)
    clock.advance(0.5)
    assert sum(isinstance(controller.try_admit("g"), Lease) for _ in range(5)) == 5
    unreserved = controller_for(VirtualClock(0), concurrent_executions=3, unreserved_concurrency_min=0)
    decisions = []
    for _ in range(40):
        decision = unreserved.try_admit("h")
        decisions.append(decision)
        if isinstance(decision, Lease):
            unreserved.release(decision)
    assert sum(isinstance(d, Lease) for d in decisions) == 30
    assert {d.reason for d in decisions if isinstance(d, Throttle)} == {FUNCTION_RATE}


def test_provisioned_concurrency_is_warm_then_spills_over() -> None:
    clock = VirtualClock(0)
    controller = controller_for(clock)
    controller.set_reserved("f", 5)
    controller.set_provisioned("f", "live", 2)
    stats = controller.provisioned("f", "live")
    assert stats is not None and stats.status == "IN_PROGRESS" and stats.allocated == 0
    spilled = controller.admit("f", "live")
    assert spilled.spillover and not spilled.provisioned  # not ready yet: on-demand
    controller.set_allocated("f", "live", 2)
    assert controller.provisioned("f", "live").status == "READY"  # type: ignore[union-attr]
    warm = [controller.admit("f", "live") for _ in range(2)]
    assert all(lease.provisioned and not lease.cold for lease in warm)
    beyond = controller.admit("f", "live")
    assert beyond.spillover
    f = controller.function_statistics("f")
    assert (f.provisioned_invocations, f.spillover_invocations) == (2, 2)
    assert f.provisioned[0].utilization == 1.0
    with pytest.raises(InvalidParameterValueException, match="exceeds its reserved concurrency of 5"):
        controller.set_provisioned("f", "other", 4)
    with pytest.raises(InvalidParameterValueException, match="less than the 2 provisioned"):
        controller.set_reserved("f", 1)


def test_provisioned_concurrency_of_an_unreserved_function_comes_out_of_the_unreserved_pool() -> None:
    controller = controller_for()
    controller.set_provisioned("f", "1", 300, ready=True)
    assert controller.statistics().unreserved_limit == 700
    with pytest.raises(InvalidParameterValueException, match=r"UnreservedConcurrentExecution below"):
        controller.set_provisioned("g", "1", 601)
    assert controller.statistics().claimed == 300


def test_slots_are_held_until_released_and_released_once() -> None:
    controller = controller_for(concurrent_executions=1, unreserved_concurrency_min=0)
    lease = controller.admit("f")
    assert controller.try_admit("g") == Throttle(ACCOUNT_LIMIT)
    controller.release(lease)
    controller.release(lease)  # twice is harmless
    assert controller.statistics().in_use == 0
    assert isinstance(controller.try_admit("g"), Lease)


# -- the clock ------------------------------------------------------------------------------------------
def test_virtual_clock_wakes_sleepers_in_order_when_moved() -> None:
    async def scenario() -> list[str]:
        clock = VirtualClock(100)
        woke: list[str] = []

        async def sleeper(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            woke.append(f"{name}@{clock.time():g}")

        tasks = [asyncio.create_task(sleeper("late", 60)), asyncio.create_task(sleeper("soon", 1))]
        await asyncio.sleep(0)
        assert clock.next_deadline() == 101
        clock.advance(30)
        await asyncio.sleep(0.01)
        assert woke == ["soon@130"]
        clock.jump(1000)
        await asyncio.gather(*tasks)
        with pytest.raises(ValueError, match="does not go back"):
            clock.jump(5)
        return woke

    assert asyncio.run(scenario()) == ["soon@130", "late@1000"]
