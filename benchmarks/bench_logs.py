"""What a complete log costs: a warm invocation with `LogType=Tail` (its output fenced, sandbox/fence.py)
beside the same invocation without its log, and beside the quiet window lsim falls back to when it cannot
fence (the output has to be quiet for 15 ms). Docker backend.

Run with `make bench` (or `python -m benchmarks.bench_logs`)."""

from __future__ import annotations

import asyncio
import time

from simulator import Simulator, load_project
from simulator.sandbox import docker as docker_sandbox

from .common import PROJECT, figure, median

N = 200


async def invocations(simulator: Simulator, n: int, log_type: str) -> list[float]:
    await simulator.invoke("noop", {"warm": "up"}, log_type=log_type)
    samples = []
    for i in range(n):
        began = time.perf_counter()
        result = await simulator.invoke("noop", {"i": i}, log_type=log_type)
        samples.append((time.perf_counter() - began) * 1000)
        assert result.ok and not result.cold_start
    return samples


async def main() -> None:
    project = load_project(PROJECT)
    async with Simulator(project, backend="docker") as simulator:
        await simulator.prepare("noop")
        without = await invocations(simulator, N, "None")
        fenced = await invocations(simulator, N, "Tail")
    fence = docker_sandbox.DockerSandbox.fence

    async def cannot_fence(self: docker_sandbox.DockerSandbox) -> bool:
        return False

    docker_sandbox.DockerSandbox.fence = cannot_fence  # type: ignore[method-assign]
    try:
        async with Simulator(project, backend="docker", warn=lambda text: None) as simulator:
            await simulator.prepare("noop")
            quiet = await invocations(simulator, N, "Tail")
    finally:
        docker_sandbox.DockerSandbox.fence = fence  # type: ignore[method-assign]
    print(f"warm invocation with its complete log (LogType=Tail), {N} sequential, Docker backend:")
    figure("  median, log fenced", median(fenced), "ms", median(without), "the same without its log")
    figure("  median, log by a quiet window", median(quiet), "ms", median(without), "the same without its log")


if __name__ == "__main__":
    asyncio.run(main())
