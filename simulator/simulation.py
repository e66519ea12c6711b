"""The ConcurrencyController alone in virtual time: the cheapest model of Lambda's admission.

Each request of a list of arrivals holds its slot for a fixed duration and nothing is recorded, so property
tests can check the controller's arithmetic over many random loads, and the load test's model mode
(loadtest/model.py, which adds init durations, errors, retries and the report) has a baseline to be
measured against. No asyncio: the clock is jumped from one instant to the next.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from .concurrency import ConcurrencyController, Lease
from .invocation import LATEST


@dataclass(frozen=True)
class SimulationResult:
    """What a run of the model gave: each request ran or was throttled, never both."""

    requests: int
    ran: int
    cold_starts: int
    throttles: Mapping[str, int]
    peak_in_use: int

    @property
    def throttled(self) -> int:
        return sum(self.throttles.values())


class _Jumpable(Protocol):
    def jump(self, instant: float) -> None: ...


def simulate(
    controller: ConcurrencyController,
    clock: _Jumpable,
    arrivals: Iterable[tuple[float, str, float]],
    *,
    synchronous: bool = True,
) -> SimulationResult:
    """Play `arrivals` — (time, function, duration in seconds), in time order — through the controller in
    virtual time: each admitted request holds its slot for its duration, then releases it."""
    running: list[tuple[float, int, Lease]] = []
    throttles: dict[str, int] = {}
    requests = ran = cold = peak = order = 0
    try_admit, release, push, pop = controller.try_admit, controller.release, heapq.heappush, heapq.heappop
    jump = clock.jump
    for at, function, duration in arrivals:
        while running and running[0][0] <= at:
            end, _, lease = pop(running)
            jump(end)
            release(lease)
        jump(at)
        requests += 1
        decision = try_admit(function, LATEST, synchronous)
        if type(decision) is Lease:
            ran += 1
            cold += decision.cold
            order += 1
            push(running, (at + duration, order, decision))
            if len(running) > peak:
                peak = len(running)
        else:
            reason = decision.reason  # type: ignore[union-attr]
            throttles[reason] = throttles.get(reason, 0) + 1
    while running:
        end, _, lease = pop(running)
        jump(end)
        release(lease)
    return SimulationResult(requests, ran, cold, MappingProxyType(throttles), peak)
