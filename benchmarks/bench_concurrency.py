"""What an admission decision costs, and how fast the model runs in virtual time.

Run with `make bench` (or `python -m benchmarks.bench_concurrency`). Each figure is printed beside a
baseline measured in the same run:
- one admission decision (`ConcurrencyController.try_admit`) in real time, against an uncontended
  `threading.Lock` acquire + release (the least any shared-state check costs); target: median <= 20 us;
- 1,000,000 invocations of 100 functions against a 1,000-environment account in virtual time, against the
  same loop (same arrivals, same event heap) with a bare counter in place of the controller; target <= 10 s.
"""

from __future__ import annotations

import heapq
import random
import threading
import time
from collections.abc import Iterator

from simulator.clock import RealClock, VirtualClock
from simulator.concurrency import ConcurrencyController, Lease
from simulator.config import Limits
from simulator.metrics import Metrics
from simulator.simulation import simulate

from .common import figure, median, percentile

DECISIONS = 200_000
INVOCATIONS = 1_000_000
FUNCTIONS = 100
ACCOUNT = 1000
RATE_PER_S = 9_000.0  # arrivals a second
MEAN_DURATION_S = 0.1  # so about 900 run at once: close to the account's 1,000


def lock_baseline(n: int) -> list[float]:
    lock = threading.Lock()
    clock = time.perf_counter_ns
    samples = []
    for _ in range(n):
        began = clock()
        lock.acquire()
        lock.release()
        samples.append((clock() - began) / 1000)
    return samples


def decisions(controller: ConcurrencyController, n: int, synchronous: bool) -> list[float]:
    """Time try_admit alone; the lease is released outside the timed part."""
    clock = time.perf_counter_ns
    try_admit, release = controller.try_admit, controller.release
    names = [f"fn{i}" for i in range(FUNCTIONS)]
    held: list[Lease] = []
    samples = []
    for i in range(n):
        name = names[i % FUNCTIONS]
        began = clock()
        decision = try_admit(name, "$LATEST", synchronous)
        samples.append((clock() - began) / 1000)
        if isinstance(decision, Lease):
            held.append(decision)
            if len(held) > 500:  # keep ~500 running, so the pools are never empty nor full
                release(held.pop(0))
    for lease in held:
        release(lease)
    return samples


def arrivals(n: int, seed: int = 4) -> Iterator[tuple[float, str, float]]:
    rng = random.Random(seed)
    names = [f"fn{i}" for i in range(FUNCTIONS)]
    at = 0.0
    for _ in range(n):
        at += rng.expovariate(RATE_PER_S)
        yield at, names[rng.randrange(FUNCTIONS)], rng.expovariate(1 / MEAN_DURATION_S)


def baseline_loop(n: int) -> int:
    """The model's loop with a counter for a controller: the cost of the event heap and the arrivals."""
    running: list[tuple[float, int]] = []
    ran = order = 0
    for at, _function, duration in arrivals(n):
        while running and running[0][0] <= at:
            heapq.heappop(running)
        if len(running) < ACCOUNT:
            order += 1
            ran += 1
            heapq.heappush(running, (at + duration, order))
    return ran


def main() -> None:
    print(f"admission decision, {DECISIONS} samples, {FUNCTIONS} functions, real clock:")
    baseline = lock_baseline(DECISIONS)
    plain = ConcurrencyController(Limits(), RealClock())
    admitted = decisions(plain, DECISIONS, synchronous=False)
    figure(
        "  try_admit, admitted (median)",
        median(admitted),
        "us",
        median(baseline),
        "Lock acquire+release; target <= 20 us",
    )
    figure(
        "  try_admit, admitted (p99)",
        percentile(admitted, 0.99),
        "us",
        percentile(baseline, 0.99),
        "Lock acquire+release",
    )
    clock = RealClock()
    metered = ConcurrencyController(Limits(), clock, metrics=Metrics(None, clock))
    with_metrics = decisions(metered, DECISIONS, synchronous=True)
    figure(
        "  try_admit, sync, with metrics (as the facade)",
        median(with_metrics),
        "us",
        median(baseline),
        "Lock acquire+release; target <= 20 us",
    )
    refused = ConcurrencyController(Limits(), RealClock())
    for i in range(FUNCTIONS):
        refused.set_reserved(f"fn{i}", 0)
    throttled = decisions(refused, DECISIONS, synchronous=True)
    figure(
        "  try_admit, throttled (median)",
        median(throttled),
        "us",
        median(baseline),
        "Lock acquire+release; target <= 20 us",
    )

    print(
        f"{INVOCATIONS:,} invocations of {FUNCTIONS} functions against a {ACCOUNT}-environment account, virtual time:"
    )
    began = time.perf_counter()
    baseline_ran = baseline_loop(INVOCATIONS)
    loop_s = time.perf_counter() - began
    virtual = VirtualClock(0)
    controller = ConcurrencyController(Limits(concurrent_executions=ACCOUNT), virtual)
    began = time.perf_counter()
    result = simulate(controller, virtual, arrivals(INVOCATIONS))
    model_s = time.perf_counter() - began
    figure("  model run", model_s, "s", loop_s, "same loop with a counter; target <= 10 s")
    print(
        f"  {result.requests:,} requests in {virtual.time():.0f} s of virtual time: {result.ran:,} ran "
        f"({result.cold_starts:,} cold starts), {result.throttled:,} throttled {dict(result.throttles)}, "
        f"peak {result.peak_in_use} running; the bare loop ran {baseline_ran:,}"
    )


if __name__ == "__main__":
    main()
