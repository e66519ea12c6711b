"""The load generator is not the bottleneck, and model mode plays a million invocations fast.

Run with `make bench` (or `python -m benchmarks.bench_loadtest`). Each figure beside a baseline measured in
the same run:
- the runner (`LoadRunner`, open loop, 1,000 requests a second for 10 s) against warm environments of a
  no-op handler, through `Simulator.invoke` in one event loop, against the barest open loop doing the same
  (a task per request at its time, nothing counted): the rate achieved (target >= 1,000/s) and this
  process's CPU per 1,000 requests (generator + lsim; the containers' CPU is not in it);
- the generator's own CPU, against an instant target (an `invoke` that answers at once), beside the same
  bare loop: what the runner's counting costs;
- model mode, 1,000,000 invocations in virtual time, against `simulator.simulation.simulate` on the same
  arrivals with durations from the same distribution (the same controller, nothing recorded); target <= 10 s.
2 cores are shared by the generator, lsim and the containers: the figures say how much of it each took.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from simulator import Simulator, load_project
from simulator.clock import VirtualClock
from simulator.invocation import InvocationResult
from simulator.loadtest import LoadPlan, LoadRunner, ModelAccount, ModelParameters, constant, parse_distribution
from simulator.loadtest.model import run_model
from simulator.simulation import simulate

from .common import PROJECT, figure

RATE = 1000
SECONDS = 10
WARM = 32  # environments started before the clock runs: a hiccup past a few ms must not need a cold start
MODEL_RATE = 10_000
MODEL_SECONDS = 100  # 1,000,000 invocations


class InstantTarget:
    """An `invoke` that answers at once: what is left is the generator's own cost."""

    def __init__(self) -> None:
        self.result = InvocationResult("id", 200, b"{}", "$LATEST")

    async def invoke(self, function_name: str, payload: Any = b"", **_options: Any) -> InvocationResult:
        await asyncio.sleep(0)
        return self.result


async def bare_open_loop(invoke: Callable[[], Awaitable[Any]], rate: int, seconds: int) -> tuple[int, float, float]:
    """The least an open-loop generator does: one task per request at its time. (sent, rate, CPU s)."""
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[Any]] = set()
    cpu = time.process_time()
    start = loop.time()
    n = rate * seconds
    for i in range(n):
        wait = start + i / rate - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        task = loop.create_task(invoke())  # type: ignore[arg-type]
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    sending = loop.time() - start
    await asyncio.gather(*tasks, return_exceptions=True)
    return n, n / max(sending, seconds), time.process_time() - cpu


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (Linux /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [float(x) for x in stat.readline().split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


async def runner(target: Any, rate: int, seconds: int) -> tuple[Any, float, float]:
    """(report, CPU s of this process, CPU s of the whole machine) of one LoadRunner run."""
    plan = LoadPlan("noop", seconds, shape=constant(rate, seconds))
    cpu, (busy, _) = time.process_time(), machine_busy()
    report = await LoadRunner(target, plan).run()
    return report, time.process_time() - cpu, machine_busy()[0] - busy


async def generator_figures() -> None:
    project = load_project(PROJECT)
    async with Simulator(project, backend="docker", event_queue=False) as simulator:
        await simulator.prepare("noop")
        await asyncio.gather(*(simulator.invoke("noop", {}) for _ in range(WARM)))  # warm environments

        def direct() -> Awaitable[InvocationResult]:
            return simulator.invoke("noop", b"{}", complete_logs=False)

        sent, bare_rate, bare_cpu = await bare_open_loop(direct, RATE, SECONDS)
        report, run_cpu, machine_cpu = await runner(simulator, RATE, SECONDS)
    per_k = 1000 / report.sent
    achieved = report.sent / max(report.sending_s, SECONDS)
    print(
        f"load generator, open loop {RATE}/s for {SECONDS} s against warm no-op environments "
        f"(Docker, 1769 MB = 1 vCPU, {WARM} pre-warmed), one event loop with lsim:"
    )
    figure("  rate achieved by the runner", achieved, "/s", bare_rate, f"bare open loop; target >= {RATE}/s")
    figure(
        "  CPU of this process per 1,000 requests",
        run_cpu * per_k,
        "s",
        bare_cpu * 1000 / sent,
        "bare open loop: lsim's own work; target ratio <= 1.2x",
    )
    ok = report.succeeded == report.sent and report.balanced
    print(
        f"  {report.sent:,} sent, {report.succeeded:,} succeeded, {report.throttled_count} throttled, "
        f"{report.cold_starts} cold starts, peak concurrency {report.peak_concurrency}; schedule lag "
        f"p99 {report.generator.get('lag_p99_ms', 0):.2f} ms, max {report.generator.get('lag_max_ms', 0):.2f} ms; "
        f"latency {report.latency_ms.line() if report.latency_ms else '-'}; all ran: {ok}"
    )

    instant = InstantTarget()
    sent, _, bare_alone = await bare_open_loop(lambda: instant.invoke("noop"), RATE, SECONDS // 2)
    alone, alone_cpu, _ = await runner(instant, RATE, SECONDS // 2)
    print("the generator alone (an invoke that answers at once):")
    figure(
        "  runner CPU per 1,000 requests",
        alone_cpu * 1000 / alone.sent,
        "s",
        bare_alone * 1000 / sent,
        "bare open loop: the cost of counting",
    )
    share = (alone_cpu / alone.sent) / (run_cpu / report.sent)
    print(
        f"  of this process's CPU against lsim, the generator took {share:.0%} (lsim's invoke path the rest); "
        f"the whole machine was busy {machine_cpu / report.elapsed_s:.2f} of its {os.cpu_count()} cores "
        f"(this process {run_cpu / report.elapsed_s:.2f}, the containers and dockerd the rest)"
    )


def model_figures() -> None:
    project = load_project(PROJECT)
    simulator = Simulator(project, backend="process", event_queue=False)  # never started: its settings
    account = ModelAccount.of(simulator, "noop", None)
    durations = parse_distribution("lognormal:200,50")
    plan = LoadPlan("noop", MODEL_SECONDS, shape=constant(MODEL_RATE, MODEL_SECONDS))

    rng = random.Random(plan.seed)
    draw = durations.sampler(rng)
    arrivals = [(at, "noop", draw() / 1000) for at in plan.shape.arrivals(plan.seed)]  # type: ignore[union-attr]
    clock = VirtualClock(0.0)
    began = time.perf_counter()
    result = simulate(account.controller(clock), clock, arrivals)
    baseline_s = time.perf_counter() - began

    began = time.perf_counter()
    report = run_model(plan, account, ModelParameters(duration=durations))
    model_s = time.perf_counter() - began
    print(
        f"model mode, {report.sent:,} invocations ({MODEL_RATE:,}/s for {MODEL_SECONDS} s at lognormal 200,50 ms, "
        f"account of {account.limits.concurrent_executions:,}), virtual time:"
    )
    figure(
        "  run_model, with the full report",
        model_s,
        "s",
        baseline_s,
        "simulation.simulate: same arrivals, durations from the same distribution, nothing recorded; target <= 10 s",
    )
    print(
        f"  {report.throttled_count:,} throttled (simulate: {result.throttled:,}), peak {report.peak_concurrency}, "
        f"balanced: {report.balanced}"
    )


async def main() -> None:
    await generator_figures()
    model_figures()


if __name__ == "__main__":
    asyncio.run(main())
