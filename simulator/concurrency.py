"""Admission to run: Lambda's concurrency pools, scaling rate and request-rate cap, and the throttle reasons.

Every invocation asks `try_admit()` before anything else happens and hands its `Lease` back with
`release()` when it ends, so a concurrency slot is held for the whole invocation, cold start included.
Whether it is a cold start is decided by taking a warm environment off the book of idle environments
(warm.py), and `release()` puts the one that ran back: the count and the environments cannot disagree.
The controller is plain arithmetic over an injected `Clock`: no Docker, no HTTP, no asyncio. The same
code admits real invocations (invoke.py) and millions of virtual ones in the load test's model
(loadtest/model.py, simulation.py).

What it reproduces (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html):
- the account pool (1,000 by default). Reserved concurrency is a function's floor and ceiling across all
  its versions; at least 100 stays unreserved. Functions without a reservation share what is left, minus
  the provisioned concurrency they hold.
- provisioned concurrency on a version or alias: that many environments kept initialised; an invocation
  beyond them spills over to on-demand concurrency (ProvisionedConcurrencySpilloverInvocations).
- the scaling rate (https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html): each function may
  add 1,000 new execution environments every 10 seconds, refilled continuously and never accrued beyond
  1,000. A warm idle environment costs nothing; only a cold start needs the allowance. The older
  account-wide model (initial burst of 3,000 / 1,000 / 500 by Region, then +500 a minute) is selectable.
- synchronous requests per second capped at 10 x concurrency (the function's reserved concurrency, or the
  account's); asynchronous invocations are limited by concurrency alone.

Throttle reasons are AWS's ThrottleReason values. AWS names no reason for the scaling rate; lsim reports
it as ConcurrentInvocationLimitExceeded (no execution environment could be had), which is a guess.

Not thread-safe by design: one event loop (or one simulation) drives a controller. Other lsim processes on
the same project are counted through `peers` (concurrency_ledger.py sets it around an admission, only while
another process is registered); the model in virtual time never sets it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from .clock import Clock
from .config import Limits
from .errors import InvalidParameterValueException, TooManyRequestsException
from .invocation import LATEST
from .warm import VIRTUAL, Shelf, WarmEnvironments

ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"
RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
FUNCTION_RATE = "FunctionInvocationRateLimitExceeded"
RESERVED_RATE = "ReservedFunctionInvocationRateLimitExceeded"
THROTTLE_REASONS = (ACCOUNT_LIMIT, RESERVED_LIMIT, FUNCTION_RATE, RESERVED_RATE)

# The legacy initial burst by Region (https://docs.aws.amazon.com/lambda/latest/dg/burst-concurrency.html,
# before Nov 2023); every other Region had 500.
BURST_BY_REGION = {
    "us-east-1": 3000, "us-west-2": 3000, "eu-west-1": 3000, "ap-northeast-1": 1000, "eu-central-1": 1000,
}  # fmt: skip
DEFAULT_BURST = 500

# How a lease holds its slot.
UNRESERVED, RESERVED, PROVISIONED = 0, 1, 2


class PeerUsage(Protocol):
    """What other lsim processes on the project hold now (concurrency_ledger.py), during one admission."""

    def function_in_use(self, function: str) -> int: ...

    def unreserved_in_use(self) -> int: ...


class MetricsSink(Protocol):
    """Where the controller reports what it decides (metrics.Metrics is one)."""

    def put(self, function: str, name: str, value: float = 1.0, dimension: str = "") -> None:
        """One data point of a CloudWatch metric ("" as the function: the account's)."""


@dataclass(frozen=True, slots=True)
class Throttle:
    """A refusal: AWS's reason, and when to try again (the Retry-After header, whole seconds)."""

    reason: str
    retry_after_seconds: int = 1

    def error(self) -> TooManyRequestsException:
        return TooManyRequestsException(self.reason, self.retry_after_seconds)


_ACCOUNT_THROTTLE = Throttle(ACCOUNT_LIMIT)
_RESERVED_THROTTLE = Throttle(RESERVED_LIMIT)


class _Bucket:
    """A token bucket refilled continuously: the scaling allowance or the request-rate cap."""

    __slots__ = ("at", "capacity", "rate", "tokens")

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.at = now

    def refill(self, now: float) -> float:
        tokens = self.tokens + (now - self.at) * self.rate
        if tokens > self.capacity:
            tokens = self.capacity
        self.tokens = tokens
        self.at = now
        return tokens

    def retry_after(self) -> int:
        """Whole seconds until one token is back (at least 1)."""
        if self.rate <= 0:
            return 1
        return max(1, math.ceil((1.0 - self.tokens) / self.rate))


class _Provisioned:
    __slots__ = ("allocated", "in_use", "invocations", "requested", "spillover")

    def __init__(self, requested: int) -> None:
        self.requested = requested
        self.allocated = 0
        self.in_use = 0
        self.invocations = 0
        self.spillover = 0


class _Function:
    __slots__ = (
        "admitted", "cold_starts", "in_use", "name", "peak", "provisioned", "provisioned_invocations", "rate",
        "reserved", "scaling", "shelves", "spillover_invocations", "throttles",
    )  # fmt: skip

    def __init__(self, name: str, scaling: _Bucket, rate: _Bucket) -> None:
        self.name = name
        self.reserved: int | None = None
        self.in_use = 0
        self.peak = 0
        self.shelves: dict[str, Shelf[Any]] = {}  # version -> its warm shelf of the book (warm.py)
        self.provisioned: dict[str, _Provisioned] = {}
        self.scaling = scaling
        self.rate = rate
        self.admitted = 0
        self.cold_starts = 0
        self.throttles: dict[str, int] = {}
        self.provisioned_invocations = 0
        self.spillover_invocations = 0


class Lease:
    """One admitted invocation's hold on a concurrency slot; give it back with `release()`.

    `environment` is the warm environment admission took off the book for it (None: a cold start); the
    caller that starts a new one puts it here, so that `release()` shelves the one that really ran."""

    __slots__ = ("_function", "_provisioned", "cold", "environment", "kind", "released", "spillover", "version")

    def __init__(
        self, function: _Function, version: str, kind: int, cold: bool, spillover: bool,
        provisioned: _Provisioned | None, environment: Any = None,
    ) -> None:  # fmt: skip
        self._function = function
        self._provisioned = provisioned
        self.version = version
        self.kind = kind
        self.cold = cold  # it needs a new execution environment
        self.spillover = spillover  # provisioned concurrency was full: it runs on-demand
        self.released = False
        self.environment = environment

    @property
    def function_name(self) -> str:
        return self._function.name

    @property
    def provisioned(self) -> bool:
        return self.kind == PROVISIONED


@dataclass(frozen=True)
class ProvisionedStatistics:
    """GetProvisionedConcurrencyConfig's numbers for one version or alias."""

    qualifier: str
    requested: int
    allocated: int
    available: int  # allocated and idle
    in_use: int
    invocations: int
    spillover_invocations: int

    @property
    def status(self) -> str:
        return "READY" if self.allocated >= self.requested else "IN_PROGRESS"

    @property
    def utilization(self) -> float:
        """ProvisionedConcurrencyUtilization: in use / allocated."""
        return self.in_use / self.allocated if self.allocated else 0.0


@dataclass(frozen=True)
class FunctionConcurrencyStatistics:
    """One function's pool, as a frozen snapshot (trio's CapacityLimiter.statistics() is the model)."""

    function_name: str
    reserved: int | None
    in_use: int  # ConcurrentExecutions
    peak_in_use: int
    environments: int  # on-demand environments, busy or idle
    idle_environments: int
    provisioned: tuple[ProvisionedStatistics, ...]
    admitted: int
    cold_starts: int
    throttles: Mapping[str, int]  # by reason
    provisioned_invocations: int
    spillover_invocations: int

    @property
    def throttled(self) -> int:
        return sum(self.throttles.values())


@dataclass(frozen=True)
class ConcurrencyStatistics:
    """The account's pool, as a frozen snapshot."""

    concurrent_executions: int  # the account limit
    unreserved_limit: int  # UnreservedConcurrentExecutions of GetAccountSettings
    in_use: int  # ConcurrentExecutions across the account
    unreserved_in_use: int  # UnreservedConcurrentExecutions (the metric)
    reserved_total: int
    provisioned_unreserved: int  # provisioned concurrency of functions without a reservation
    scaling_model: str

    @property
    def claimed(self) -> int:
        """ClaimedAccountConcurrency: what is in use unreserved plus what is set aside."""
        return self.unreserved_in_use + self.reserved_total + self.provisioned_unreserved


class ConcurrencyController:
    """Admits or throttles every invocation of an account's functions. Warm environments are those on
    `warm`, the book real mode shares with placement.py (a model's own book by default)."""

    def __init__(
        self,
        limits: Limits,
        clock: Clock,
        *,
        region: str = "us-east-1",
        metrics: MetricsSink | None = None,
        warm: WarmEnvironments[Any] | None = None,
    ) -> None:
        self.limits = limits
        self.clock = clock
        self.metrics = metrics
        self.warm: WarmEnvironments[Any] = warm if warm is not None else WarmEnvironments(clock, limits.idle_timeout_s)
        #: set around one admission while other processes share the project (concurrency_ledger.py)
        self.peers: PeerUsage | None = None
        self._functions: dict[str, _Function] = {}
        self._in_use = 0
        self._unreserved_in_use = 0
        self._reserved_total = 0
        self._provisioned_unreserved = 0
        self._unreserved_capacity = limits.concurrent_executions
        self._rate_per_concurrency = limits.requests_per_concurrency
        now = clock.monotonic()
        self._shared_scaling: _Bucket | None = None
        if limits.scaling_model == "burst":
            burst = limits.burst_concurrency or BURST_BY_REGION.get(region, DEFAULT_BURST)
            self._shared_scaling = _Bucket(burst, limits.burst_increase_per_minute / 60.0, now)
        self._recompute()

    # -- configuration ----------------------------------------------------------------------------------
    def _function(self, name: str) -> _Function:
        state = self._functions.get(name)
        if state is None:
            now = self.clock.monotonic()
            limits = self.limits
            scaling = self._shared_scaling or _Bucket(
                limits.scaling_environments, limits.scaling_environments / limits.scaling_window_s, now
            )
            rate = self._rate_per_concurrency * limits.concurrent_executions
            state = self._functions[name] = _Function(name, scaling, _Bucket(rate, rate, now))
        return state

    def _recompute(self) -> None:
        self._reserved_total = sum(f.reserved for f in self._functions.values() if f.reserved is not None)
        self._provisioned_unreserved = sum(
            p.requested for f in self._functions.values() if f.reserved is None for p in f.provisioned.values()
        )
        self._unreserved_capacity = max(
            0, self.limits.concurrent_executions - self._reserved_total - self._provisioned_unreserved
        )

    def _below_minimum(self, what: str) -> InvalidParameterValueException:
        # AWS's own words for PutFunctionConcurrency / PutProvisionedConcurrencyConfig
        return InvalidParameterValueException(
            f"Specified {what} for function decreases account's UnreservedConcurrentExecution below its "
            f"minimum value of [{self.limits.unreserved_concurrency_min}]."
        )

    def reserved(self, function: str) -> int | None:
        state = self._functions.get(function)
        return state.reserved if state else None

    def set_reserved(self, function: str, reserved: int | None) -> None:
        """PutFunctionConcurrency (None: DeleteFunctionConcurrency). Invocations already running keep
        their slots; the new ceiling applies to the next ones."""
        state = self._function(function)
        if reserved is not None:
            if reserved < 0:
                raise InvalidParameterValueException(
                    f"ReservedConcurrentExecutions must be 0 or more; {reserved} was given"
                )
            provisioned = sum(p.requested for p in state.provisioned.values())
            if reserved < provisioned:
                raise InvalidParameterValueException(
                    f"ReservedConcurrentExecutions {reserved} is less than the {provisioned} provisioned "
                    "concurrency this function's versions and aliases hold: lower those first"
                )
            others = self._reserved_total - (state.reserved or 0)
            outside = self._provisioned_unreserved - (provisioned if state.reserved is None else 0)
            unreserved = self.limits.concurrent_executions - others - reserved - outside
            if unreserved < self.limits.unreserved_concurrency_min:
                raise self._below_minimum("ReservedConcurrentExecutions")
        state.reserved = reserved
        capacity = self._rate_per_concurrency * (
            reserved if reserved is not None else self.limits.concurrent_executions
        )
        state.rate = _Bucket(capacity, capacity, self.clock.monotonic())
        self._recompute()

    def set_provisioned(self, function: str, qualifier: str, requested: int, *, ready: bool = False) -> None:
        """PutProvisionedConcurrencyConfig for a version or alias. Environments count as allocated once
        `set_allocated` says they are initialised (or at once with `ready`, for a model)."""
        if requested < 1:
            raise InvalidParameterValueException(
                f"ProvisionedConcurrentExecutions must be at least 1; {requested} was given"
            )
        state = self._function(function)
        current = state.provisioned.get(qualifier)
        elsewhere = sum(p.requested for q, p in state.provisioned.items() if q != qualifier)
        if state.reserved is not None:
            if elsewhere + requested > state.reserved:
                raise InvalidParameterValueException(
                    f"Requested Provisioned Concurrency of {elsewhere + requested} for the function exceeds "
                    f"its reserved concurrency of {state.reserved}: provision less, or reserve more"
                )
        else:
            outside = self._provisioned_unreserved - (current.requested if current else 0) + requested
            unreserved = self.limits.concurrent_executions - self._reserved_total - outside
            if unreserved < self.limits.unreserved_concurrency_min:
                raise self._below_minimum("ConcurrentExecutions")
        if current is None:
            current = state.provisioned[qualifier] = _Provisioned(requested)
        current.requested = requested
        current.allocated = requested if ready else min(current.allocated, requested)
        self._recompute()

    def set_allocated(self, function: str, qualifier: str, allocated: int) -> None:
        """How many provisioned environments are initialised and ready to serve."""
        provisioned = self._function(function).provisioned.get(qualifier)
        if provisioned is not None:
            provisioned.allocated = max(0, min(allocated, provisioned.requested))

    def remove_provisioned(self, function: str, qualifier: str) -> bool:
        """DeleteProvisionedConcurrencyConfig; False when there was none."""
        state = self._functions.get(function)
        if state is None or state.provisioned.pop(qualifier, None) is None:
            return False
        self._recompute()
        return True

    # -- admission ---------------------------------------------------------------------------------------
    def try_admit(self, function: str, version: str = LATEST, synchronous: bool = True) -> Lease | Throttle:
        """Admit one invocation (a Lease) or refuse it (a Throttle). Nothing is taken on a refusal."""
        now = self.clock.monotonic()
        state = self._functions.get(function)
        if state is None:
            state = self._function(function)
        spillover = False
        if state.provisioned:
            provisioned = state.provisioned.get(version)
            if provisioned is not None:
                if provisioned.in_use < provisioned.allocated:
                    peers = self.peers  # provisioned environments are per process; the reservation is not
                    if (
                        peers is not None
                        and state.reserved is not None
                        and state.in_use + peers.function_in_use(function) >= state.reserved
                    ):
                        return self._throttled(state, _RESERVED_THROTTLE)
                    if synchronous and state.rate.refill(now) < 1.0:
                        return self._throttled(state, self._rate_throttle(state))
                    if synchronous:
                        state.rate.tokens -= 1.0
                    provisioned.in_use += 1
                    provisioned.invocations += 1
                    state.provisioned_invocations += 1
                    self._admitted(state)
                    if self.metrics is not None:
                        self.metrics.put(function, "ProvisionedConcurrencyInvocations")
                        utilization = provisioned.in_use / provisioned.allocated
                        self.metrics.put(function, "ProvisionedConcurrencyUtilization", utilization)
                    return Lease(state, version, PROVISIONED, False, False, provisioned)
                spillover = True
        peers = self.peers
        if state.reserved is not None:
            in_use = state.in_use if peers is None else state.in_use + peers.function_in_use(function)
            if in_use >= state.reserved:
                return self._throttled(state, _RESERVED_THROTTLE)
            kind = RESERVED
        else:
            in_use = self._unreserved_in_use if peers is None else self._unreserved_in_use + peers.unreserved_in_use()
            if in_use >= self._unreserved_capacity:
                return self._throttled(state, _ACCOUNT_THROTTLE)
            kind = UNRESERVED
        rate = state.rate
        if synchronous and rate.refill(now) < 1.0:
            return self._throttled(state, self._rate_throttle(state))
        shelf = state.shelves.get(version)
        if shelf is None:
            shelf = state.shelves[version] = self.warm.shelf(function, version)
        environment = shelf.take(now)  # the most recently used; those idle too long are scaled in
        cold = environment is None
        if cold:
            scaling = state.scaling
            if scaling.refill(now) < 1.0:
                return self._throttled(state, Throttle(ACCOUNT_LIMIT, scaling.retry_after()))
            scaling.tokens -= 1.0
            state.cold_starts += 1
        if synchronous:
            rate.tokens -= 1.0
        if kind == UNRESERVED:
            self._unreserved_in_use += 1
        self._admitted(state)
        if spillover:
            state.spillover_invocations += 1
            state.provisioned[version].spillover += 1
            if self.metrics is not None:
                self.metrics.put(function, "ProvisionedConcurrencySpilloverInvocations")
        return Lease(state, version, kind, cold, spillover, None, environment)

    def admit(self, function: str, version: str = LATEST, synchronous: bool = True) -> Lease:
        """try_admit, raising TooManyRequestsException on a throttle."""
        decision = self.try_admit(function, version, synchronous)
        if isinstance(decision, Throttle):
            raise decision.error()
        return decision

    def _admitted(self, state: _Function) -> None:
        state.in_use += 1
        state.admitted += 1
        if state.in_use > state.peak:
            state.peak = state.in_use
        self._in_use += 1
        metrics = self.metrics
        if metrics is not None:
            metrics.put(state.name, "ConcurrentExecutions", state.in_use)
            metrics.put("", "ConcurrentExecutions", self._in_use)
            metrics.put("", "UnreservedConcurrentExecutions", self._unreserved_in_use)
            claimed = self._unreserved_in_use + self._reserved_total + self._provisioned_unreserved
            metrics.put("", "ClaimedAccountConcurrency", claimed)

    def _rate_throttle(self, state: _Function) -> Throttle:
        reason = RESERVED_RATE if state.reserved is not None else FUNCTION_RATE
        return Throttle(reason, state.rate.retry_after())

    def _throttled(self, state: _Function, throttle: Throttle) -> Throttle:
        state.throttles[throttle.reason] = state.throttles.get(throttle.reason, 0) + 1
        if self.metrics is not None:
            self.metrics.put(state.name, "Throttles", 1.0, throttle.reason)
        return throttle

    def release(self, lease: Lease, *, reusable: bool = True) -> None:
        """The invocation ended: its environment goes back on the book, warm. `reusable=False` when it is
        not warm any more (a timeout or crash reset it, or it was retired): the next one is a cold start."""
        if lease.released:
            return
        lease.released = True
        state = lease._function
        state.in_use -= 1
        self._in_use -= 1
        if lease.kind == PROVISIONED:
            assert lease._provisioned is not None
            lease._provisioned.in_use -= 1
            return
        if lease.kind == UNRESERVED:
            self._unreserved_in_use -= 1
        if reusable:
            environment = lease.environment
            state.shelves[lease.version].put(VIRTUAL if environment is None else environment, self.clock.monotonic())

    # -- inspection ---------------------------------------------------------------------------------------
    def statistics(self) -> ConcurrencyStatistics:
        return ConcurrencyStatistics(
            concurrent_executions=self.limits.concurrent_executions,
            unreserved_limit=self._unreserved_capacity,
            in_use=self._in_use,
            unreserved_in_use=self._unreserved_in_use,
            reserved_total=self._reserved_total,
            provisioned_unreserved=self._provisioned_unreserved,
            scaling_model=self.limits.scaling_model,
        )

    def function_statistics(self, function: str) -> FunctionConcurrencyStatistics:
        state = self._function(function)
        idle = self.warm.idle(function)
        on_demand = state.in_use - sum(p.in_use for p in state.provisioned.values())
        return FunctionConcurrencyStatistics(
            function_name=function,
            reserved=state.reserved,
            in_use=state.in_use,
            peak_in_use=state.peak,
            environments=on_demand + idle,
            idle_environments=idle,
            provisioned=tuple(
                self._provisioned_statistics(qualifier, p) for qualifier, p in sorted(state.provisioned.items())
            ),
            admitted=state.admitted,
            cold_starts=state.cold_starts,
            throttles=MappingProxyType(dict(state.throttles)),
            provisioned_invocations=state.provisioned_invocations,
            spillover_invocations=state.spillover_invocations,
        )

    def provisioned(self, function: str, qualifier: str) -> ProvisionedStatistics | None:
        state = self._functions.get(function)
        provisioned = state.provisioned.get(qualifier) if state else None
        return self._provisioned_statistics(qualifier, provisioned) if provisioned else None

    @staticmethod
    def _provisioned_statistics(qualifier: str, p: _Provisioned) -> ProvisionedStatistics:
        return ProvisionedStatistics(
            qualifier=qualifier,
            requested=p.requested,
            allocated=p.allocated,
            available=max(0, p.allocated - p.in_use),
            in_use=p.in_use,
            invocations=p.invocations,
            spillover_invocations=p.spillover,
        )

    def function_names(self) -> list[str]:
        return sorted(self._functions)

    def in_use_of(self, function: str) -> int:
        """ConcurrentExecutions of one function now (cheap: for the shared ledger)."""
        state = self._functions.get(function)
        return state.in_use if state is not None else 0

    @property
    def unreserved_in_use(self) -> int:
        return self._unreserved_in_use
