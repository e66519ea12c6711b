"""Model mode: the load test in virtual time, through the same ConcurrencyController real invocations use.

A discrete-event loop plays the plan's requests against `ConcurrencyController` on a `VirtualClock`:
each admitted request holds its slot for an init duration (on a cold start) plus a duration drawn from a
distribution the user gives (`--duration-ms 200`, `--duration-dist lognormal:200,50`) or measured in a
short real run (`--calibrate`). Throttles, the scaling rate, the request-rate cap, reserved and
provisioned concurrency and idle environments scaling in are the controller's, so they are lsim's
rules exactly; what the model assumes beyond them is listed in the report (`ASSUMPTIONS`). A million
requests take seconds, so AWS-scale questions ("10,000 a second for 10 minutes at 200 ms against 1,000
account concurrency") can be asked on a laptop.
"""

from __future__ import annotations

import heapq
import math
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..clock import VirtualClock
from ..concurrency import ConcurrencyController, Lease
from ..config import FunctionConfig, Limits
from ..events import function_error_delay, throttle_backoff
from ..invocation import LATEST
from ..retry import backoff_delays
from .plan import THROTTLED_CLIENT_PAUSE_S, LoadPlan
from .report import (
    FUNCTION_ERROR,
    SUCCEEDED,
    THROTTLED,
    TIMEOUT,
    TIMEOUT_ERROR_TYPE,
    LoadReport,
    Recorder,
    Summary,
    bucket_width,
)
from .shapes import LoadTestError

if TYPE_CHECKING:
    from ..invocation import InvocationResult
    from ..simulator import Simulator

TIE_S = 1e-9  # instants closer than this are the same instant
CALIBRATION_INVOCATIONS = 20
CALIBRATION_COLD = 3
# error types after which Lambda resets the environment (the next invocation there is a cold start)
_RESETTING = ("Runtime.", "Sandbox.")


# -- distributions ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Distribution:
    """Durations in milliseconds: constant, lognormal (mean, standard deviation), normal (mean, standard
    deviation; never below 0), exponential (mean), uniform (low, high), or empirical (measured values)."""

    kind: str
    values: tuple[float, ...]

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        """A function drawing one value (ms) per call: cheap, it runs once per modelled invocation."""
        v = self.values
        if self.kind == "constant":
            value = v[0]
            return lambda: value
        if self.kind == "lognormal":
            mean, deviation = v
            sigma = math.sqrt(math.log(1 + (deviation / mean) ** 2)) if mean > 0 else 0.0
            mu = math.log(mean) - sigma * sigma / 2 if mean > 0 else 0.0
            lognormal = rng.lognormvariate
            return lambda: lognormal(mu, sigma)
        if self.kind == "normal":
            mean, deviation = v
            gauss = rng.gauss
            return lambda: max(0.0, gauss(mean, deviation))
        if self.kind == "exponential":
            rate = 1.0 / v[0] if v[0] > 0 else math.inf
            expovariate = rng.expovariate
            return (lambda: expovariate(rate)) if v[0] > 0 else (lambda: 0.0)
        if self.kind == "uniform":
            low, high = v
            uniform = rng.uniform
            return lambda: uniform(low, high)
        choice, samples = rng.choice, list(v)
        return lambda: choice(samples)

    @property
    def mean(self) -> float:
        v = self.values
        if self.kind in ("constant", "lognormal", "normal", "exponential"):
            return v[0]
        return (v[0] + v[1]) / 2 if self.kind == "uniform" else sum(v) / len(v)

    def describe(self) -> str:
        if self.kind == "empirical":
            s = Summary.of(self.values)
            assert s is not None
            return f"measured ({s.count} values: p50 {s.p50:.1f} ms, p99 {s.p99:.1f} ms, max {s.max:.1f} ms)"
        if self.kind == "constant":
            return f"{self.values[0]:g} ms"
        return f"{self.kind}:" + ",".join(f"{x:g}" for x in self.values) + " ms"


_ARITY = {"constant": 1, "lognormal": 2, "normal": 2, "exponential": 1, "uniform": 2}


def parse_distribution(text: str, option: str = "--duration-dist") -> Distribution:
    """`constant:200`, `lognormal:200,50`, `normal:200,20`, `exponential:200`, `uniform:100,300` (ms)."""
    kind, _, numbers = text.partition(":")
    kind = kind.strip().lower()
    if kind not in _ARITY:
        raise LoadTestError(
            f"{option} {text!r}: unknown distribution; use constant:MS, lognormal:MEAN,SD, normal:MEAN,SD, "
            "exponential:MEAN or uniform:LOW,HIGH (milliseconds)"
        )
    try:
        values = tuple(float(x) for x in re.split(r"\s*,\s*", numbers.strip()) if x)
    except ValueError:
        values = ()
    if len(values) != _ARITY[kind] or any(not math.isfinite(x) or x < 0 for x in values):
        example = {
            "constant": "200",
            "lognormal": "200,50",
            "normal": "200,20",
            "exponential": "200",
            "uniform": "100,300",
        }[kind]
        raise LoadTestError(f"{option} {text!r}: give {kind}:{example} (milliseconds, 0 or more)")
    if kind == "uniform" and values[0] > values[1]:
        raise LoadTestError(f"{option} {text!r}: the low end is above the high end")
    return Distribution(kind, values)


def constant_ms(milliseconds: float) -> Distribution:
    if not milliseconds >= 0:
        raise LoadTestError(f"{milliseconds:g} ms: give a duration of 0 ms or more")
    return Distribution("constant", (float(milliseconds),))


@dataclass(frozen=True)
class ModelParameters:
    """What the model needs that lsim's rules do not say: how long the function runs and initialises,
    and how often it fails."""

    duration: Distribution
    init: Distribution = field(default_factory=lambda: constant_ms(0.0))
    errors: Mapping[str, float] = field(default_factory=dict)  # errorType -> probability per invocation
    source: str = "given"

    def __post_init__(self) -> None:
        total = sum(self.errors.values())
        if any(p < 0 for p in self.errors.values()) or total > 1:
            raise LoadTestError(f"error rates {dict(self.errors)} must each be 0-1 and add up to at most 1")


# -- the account, as lsim's configuration has it ------------------------------------------------------------
@dataclass(frozen=True)
class ModelAccount:
    """The settings the controller needs, read from the project and what commands set since."""

    limits: Limits
    region: str
    function: FunctionConfig
    version: str
    reserved: Mapping[str, int]  # every function with a reservation (they shrink the unreserved pool)
    provisioned: int = 0  # provisioned environments of the version invoked

    @classmethod
    def of(cls, simulator: Simulator, function_name: str, qualifier: str | None) -> ModelAccount:
        """From a Simulator that need not be started (only its configuration is read)."""
        function, version = simulator.resolve(function_name, qualifier, route=False)
        controller = simulator.concurrency.controller
        reserved = {
            name: value for name in controller.function_names() if (value := controller.reserved(name)) is not None
        }
        wanted = {q: n for q, n in function.provisioned_concurrency.items()}
        for stored in simulator.concurrency.settings.provisioned():
            if stored.function_name == function.name:
                wanted[stored.qualifier] = stored.requested
        provisioned = 0
        for provisioned_qualifier, count in wanted.items():
            try:
                _, provisioned_version = simulator.resolve(function.name, provisioned_qualifier, route=False)
            except Exception:  # a qualifier that no longer exists provisions nothing
                continue
            if provisioned_version == version and version != LATEST:
                provisioned = count
        return cls(
            simulator.project.limits, simulator.project.settings.region, function, version, reserved, provisioned
        )

    def controller(self, clock: VirtualClock) -> ConcurrencyController:
        controller = ConcurrencyController(self.limits, clock, region=self.region)
        for name, value in sorted(self.reserved.items()):
            controller.set_reserved(name, value)
        if self.provisioned:
            controller.set_provisioned(self.function.name, self.version, self.provisioned, ready=True)
        return controller


def assumptions(plan: LoadPlan, account: ModelAccount, parameters: ModelParameters) -> list[str]:
    """What the model takes for granted, stated in its report."""
    timeout = account.function.timeout
    lines = [
        f"durations are independent draws from {parameters.duration.describe()} ({parameters.source}); "
        f"a draw of {timeout} s or more is a timeout (Sandbox.Timedout) that holds its slot {timeout} s "
        "and resets the environment",
        f"a cold start adds an Init Duration from {parameters.init.describe()} and holds the slot through it; "
        "warm invocations have none; no other overhead (network, lsim, microVM creation)",
        "each execution environment runs one invocation at a time and nothing queues inside it; "
        "answers reach the client at once",
        "admission, throttles, scaling rate, request-rate cap and idle scale-in are lsim's "
        "ConcurrencyController, the code real mode uses",
    ]
    if parameters.errors:
        rates = ", ".join(f"{name} {p:.1%}" for name, p in sorted(parameters.errors.items()))
        lines.append(f"function errors at random, independent of load: {rates}")
    if account.provisioned:
        lines.append(f"{account.provisioned} provisioned environments are all allocated from the start")
    if plan.concurrency is not None:
        lines.append(f"a throttled closed-loop client sends again after {THROTTLED_CLIENT_PAUSE_S * 1000:g} ms")
    if plan.invocation_type == "Event":
        lines.append(
            "Event: the queue takes each event at once (no poller delay, no limit on events in flight), "
            "retries throttles with Lambda's backoff and function errors after async_retry_delays_s"
        )
    return lines


# -- the model run --------------------------------------------------------------------------------------------
_COMPLETE, _ATTEMPT = 0, 1  # heap entries: an invocation ends; a request (re)tries


def run_model(plan: LoadPlan, account: ModelAccount, parameters: ModelParameters) -> LoadReport:
    """Play `plan` in virtual time; the report has the same table as a real run's."""
    rng = random.Random(plan.seed)
    clock = VirtualClock(0.0)
    controller = account.controller(clock)
    recorder = Recorder(bucket_width(plan.duration_s), plan.duration_s)
    draw_duration = parameters.duration.sampler(rng)
    draw_init = parameters.init.sampler(rng)
    error_table = _error_table(parameters.errors)
    random_unit = rng.random
    function = account.function
    name, version = function.name, account.version
    timeout_ms = function.timeout * 1000.0
    synchronous = plan.invocation_type != "Event"
    retries = plan.retries
    closed = plan.concurrency is not None
    limit = plan.max_requests if plan.max_requests is not None else math.inf
    duration_s = plan.duration_s
    limits = account.limits
    max_age = float(function.maximum_event_age_in_seconds)
    max_retry_attempts = function.maximum_retry_attempts

    heap: list[tuple[float, int, int, list[Any], Any]] = []
    push, pop = heapq.heappush, heapq.heappop
    try_admit, release, jump = controller.try_admit, controller.release, clock.jump
    request, outcome, concurrency, ran = recorder.request, recorder.outcome, recorder.concurrency, recorder.ran
    order = 0
    running = 0
    issued = 0
    last = last_sent = now = 0.0
    infinity = math.inf

    if closed:
        assert plan.concurrency is not None
        arrivals: Iterator[float] = iter(())
        clients = plan.concurrency if plan.max_requests is None else min(plan.concurrency, plan.max_requests)
        for _ in range(clients):
            order += 1
            issued += 1
            push(heap, (0.0, order, _ATTEMPT, [0.0, 0, 0, 0, None], None))
            request(0.0)
    else:
        assert plan.shape is not None
        arrivals = iter(plan.shape.arrivals(plan.seed))
    next_arrival = next(arrivals, infinity) if issued < limit else infinity

    # A request is [first sent at, attempts, throttles, throttled before (0/1), its retry delays]. An
    # invocation that ends at the instant a request arrives still holds its slot: real ones always take
    # a little longer than their Duration (TIE_S absorbs floating-point error in "the same instant").
    while True:
        if heap and heap[0][0] < next_arrival - TIE_S:
            at, _, kind, state, lease = pop(heap)
            if at < now:  # within TIE_S of an arrival already played
                at = now
        elif next_arrival < infinity:
            at, kind, state, lease = next_arrival, _ATTEMPT, [next_arrival, 0, 0, 0, None], None
            issued += 1
            last_sent = at
            request(at)
            next_arrival = next(arrivals, infinity) if issued < limit else infinity
        else:
            break
        now = at
        jump(at)
        if kind == _COMPLETE:
            running -= 1
            concurrency(at, running)
            result, detail, held_ms, init_ms, reset = lease  # type: ignore[misc]
            release(result, reusable=not reset)
            ran(held_ms, init_ms, init_ms is not None)
            if not synchronous and result is not None and detail is not None:
                state[1] += 1  # attempts that ended in a function error
                if state[1] <= max_retry_attempts:
                    due = at + function_error_delay(int(state[1]), limits)
                    expires = state[0] + max_age
                    order += 1
                    push(heap, (min(due, expires), order, _ATTEMPT, state, None))
                    continue
            ended = SUCCEEDED if detail is None else TIMEOUT if detail == TIMEOUT_ERROR_TYPE else FUNCTION_ERROR
            outcome(state[0], ended, detail, at - state[0])
            if state[3]:
                recorder.recovered += 1
            last = at
            if closed and at < duration_s and issued < limit:
                issued += 1
                order += 1
                push(heap, (at, order, _ATTEMPT, [at, 0, 0, 0, None], None))
                last_sent = at
                request(at)
            continue
        # an attempt
        if not synchronous and at >= state[0] + max_age:
            outcome(state[0], THROTTLED, "EventAgeExceeded")
            last = at
            continue
        decision = try_admit(name, version, synchronous)
        if type(decision) is Lease:
            running += 1
            concurrency(at, running)
            init_ms = draw_init() if decision.cold else None
            held_ms = draw_duration()
            detail = None
            reset = False
            if held_ms >= timeout_ms:
                held_ms, detail, reset = timeout_ms, TIMEOUT_ERROR_TYPE, True
            elif error_table:
                detail = _draw_error(error_table, random_unit())
                reset = detail is not None and detail.startswith(_RESETTING)
            end = at + (held_ms + (init_ms or 0.0)) / 1000.0
            order += 1
            push(heap, (end, order, _COMPLETE, state, (decision, detail, held_ms, init_ms, reset)))
            continue
        reason = decision.reason  # type: ignore[union-attr]
        if synchronous and state[2] < retries:
            if state[4] is None:  # the client's waits: simulator.retry's full jitter, its base and cap
                state[4] = backoff_delays(retries, rng=random_unit)
            delay = next(state[4])
            state[2] += 1
            state[3] = 1
            recorder.throttled_attempt(reason)
            order += 1
            push(heap, (at + delay, order, _ATTEMPT, state, None))
            continue
        if not synchronous:
            state[2] += 1
            recorder.throttled_attempt(reason)
            due = at + throttle_backoff(int(state[2]), limits)
            order += 1
            push(heap, (min(due, state[0] + max_age), order, _ATTEMPT, state, None))
            continue
        outcome(state[0], THROTTLED, reason)
        last = at
        if closed and at < duration_s and issued < limit:
            issued += 1
            order += 1
            then = at + THROTTLED_CLIENT_PAUSE_S
            push(heap, (then, order, _ATTEMPT, [then, 0, 0, 0, None], None))
            last_sent = then
            request(then)

    statistics = controller.function_statistics(name)
    unreserved = controller.statistics().unreserved_limit
    return recorder.report(
        "model",
        function_name=name,
        qualifier=plan.qualifier_name,
        invocation_type=plan.invocation_type,
        load=plan.describe(),
        planned_duration_s=plan.duration_s,
        sending_s=last_sent,
        elapsed_s=last,
        environments_created=statistics.cold_starts + account.provisioned,
        concurrency_limit=statistics.reserved if statistics.reserved is not None else unreserved,
        assumptions=assumptions(plan, account, parameters),
    )


def _error_table(errors: Mapping[str, float]) -> list[tuple[float, str]]:
    table, total = [], 0.0
    for error_type, probability in sorted(errors.items()):
        if probability > 0:
            total += probability
            table.append((total, error_type))
    return table


def _draw_error(table: Sequence[tuple[float, str]], u: float) -> str | None:
    for threshold, error_type in table:
        if u < threshold:
            return error_type
    return None


# -- calibration ---------------------------------------------------------------------------------------------
async def calibrate(
    simulator: Simulator, plan: LoadPlan, invocations: int = CALIBRATION_INVOCATIONS
) -> ModelParameters:
    """Measure the function in a short real run: a few cold starts at once, then warm invocations one
    after another. Durations and Init Durations are the REPORT lines' figures; errors are counted by type."""
    from ..errors import TooManyRequestsException

    function, _ = simulator.resolve(plan.function_name, plan.qualifier, route=False)
    reserved = simulator.reserved_concurrency_of(function.name)
    if reserved == 0:
        raise LoadTestError(
            f"{function.name} has reserved concurrency 0: every invocation is throttled, so --calibrate has "
            "nothing to measure; give --duration-ms or --duration-dist"
        )
    cold = max(1, min(CALIBRATION_COLD, reserved if reserved is not None else CALIBRATION_COLD))
    payloads = plan.payloads

    async def one(i: int) -> InvocationResult | None:
        try:
            return await simulator.invoke(
                plan.function_name, payloads[i % len(payloads)], qualifier=plan.qualifier, complete_logs=False
            )
        except TooManyRequestsException:
            return None

    import asyncio

    results = list(await asyncio.gather(*(one(i) for i in range(cold))))
    for i in range(cold, max(invocations, cold + 1)):
        results.append(await one(i))
    measured = [r for r in results if r is not None and r.report is not None]
    if not measured:
        raise LoadTestError(
            f"--calibrate: every calibration invocation of {function.name} was throttled; give --duration-ms"
        )
    durations = tuple(r.report.duration_ms for r in measured if r.report is not None)
    inits = tuple(r.report.init_duration_ms for r in measured if r.report and r.report.init_duration_ms is not None)
    errors: dict[str, float] = {}
    for r in measured:
        if r.function_error is not None and r.error_type != TIMEOUT_ERROR_TYPE:
            error_type = r.error_type or r.function_error
            errors[error_type] = errors.get(error_type, 0.0) + 1 / len(measured)
    cold_seen = sum(1 for r in measured if r.cold_start)
    return ModelParameters(
        duration=Distribution("empirical", durations),
        init=Distribution("empirical", inits) if inits else constant_ms(0.0),
        errors=errors,
        source=f"calibrated from {len(measured)} real invocations, {cold_seen} of them cold",
    )
