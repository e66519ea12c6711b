"""The figures of warm invocation: its overhead, the cold start, and no container left behind.

Run with `make bench` (or `python -m benchmarks.bench_invoke`). Every figure is printed beside a
baseline measured in the same run, never compared with a fixed time.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import time
from types import SimpleNamespace

import docker

from simulator import Simulator, load_project
from simulator.sandbox import labels

from .common import PROJECT, figure, median, percentile

WARM_N = 500
COLD_N = 7


def in_process_baseline(n: int) -> list[float]:
    """Call the same handler in this process, with the JSON in and out that any invocation pays."""
    spec = importlib.util.spec_from_file_location("noop", PROJECT / "src" / "noop.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    context = SimpleNamespace(aws_request_id="x")
    samples = []
    for i in range(n):
        began = time.perf_counter()
        json.dumps(module.handler(json.loads(json.dumps({"i": i})), context))
        samples.append((time.perf_counter() - began) * 1000)
    return samples


async def warm_invocations(simulator: Simulator, n: int) -> list[float]:
    await simulator.invoke("noop", {"warm": "up"})
    samples = []
    for i in range(n):
        began = time.perf_counter()
        result = await simulator.invoke("noop", {"i": i})
        samples.append((time.perf_counter() - began) * 1000)
        assert result.ok and not result.cold_start
    return samples


async def cold_starts(simulator: Simulator, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        for pool in simulator.pools().values():
            await pool.close()  # the next invocation needs a new execution environment
        began = time.perf_counter()
        result = await simulator.invoke("noop", {})
        samples.append((time.perf_counter() - began) * 1000)
        assert result.cold_start
    return samples


def docker_run_baseline(image: str, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        began = time.perf_counter()
        subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "python3", image, "-c", "pass"],
            check=True,
            capture_output=True,
        )
        samples.append((time.perf_counter() - began) * 1000)
    return samples


async def main() -> None:
    project = load_project(PROJECT)
    async with Simulator(project, backend="docker") as simulator:
        await simulator.prepare("noop")
        image = simulator.backend.image_for(simulator.sandbox_spec(project.functions["noop"], "$LATEST"))  # type: ignore[union-attr]
        session = simulator.backend.session  # type: ignore[union-attr]

        baseline = in_process_baseline(WARM_N)
        warm = await warm_invocations(simulator, WARM_N)
        added_median = median(warm) - median(baseline)
        added_p99 = percentile(warm, 0.99) - percentile(baseline, 0.99)
        print(f"warm invocation of a no-op handler, {WARM_N} sequential, Docker backend, 1769 MB (1 vCPU):")
        figure("  median per invocation, through lsim", median(warm), "ms", median(baseline), "in-process call")
        figure(
            "  p99 per invocation, through lsim",
            percentile(warm, 0.99),
            "ms",
            percentile(baseline, 0.99),
            "in-process call",
        )
        print(
            f"  added latency: median {added_median:.3f} ms (target <= 2 ms), p99 {added_p99:.3f} ms (target <= 10 ms)"
        )

        docker_run = docker_run_baseline(image, COLD_N)
        cold = await cold_starts(simulator, COLD_N)
        print(f"cold start of a no-op function, median of {COLD_N}:")
        figure(
            "  lsim cold invocation",
            median(cold),
            "ms",
            median(docker_run),
            "`docker run --rm <image> python3 -c pass`; target <= 1.3x",
        )

    client = docker.from_env()
    left = client.containers.list(all=True, filters=labels.selector(session=session))
    print(
        f"containers left behind after {WARM_N + 1} warm and {COLD_N} cold invocations and close: {len(left)} (target 0)"
    )


if __name__ == "__main__":
    asyncio.run(main())
