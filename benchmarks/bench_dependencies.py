"""A cold start of a function whose requirements.txt is installed already (lsim's dependency cache), beside
the cold start of the same no-op function without one: what the cache lookup and the overlay of the packages
at /var/task add (target: nothing measurable). Also the first, uncached install, for scale.

Both functions run in one Simulator on Docker; between rounds their environments are retired, so every
timed invocation is a cold start, and the two alternate so that the machine's load falls on both alike.

Run with `make bench` (or `python -m benchmarks.bench_dependencies`).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

from .common import figure, median

ROUNDS = 7
REQUIREMENTS = "six==1.16.0\nmarkupsafe==2.1.5\n"
HANDLER = "def handler(event, context):\n    return {'ok': True}\n"
LSIM_TOML = """
[functions.plain]
handler = "app.handler"
runtime = "python3.11"
code = "plain"
memory_size = 1769

[functions.deps]
handler = "app.handler"
runtime = "python3.11"
code = "deps"
memory_size = 1769
"""


def write_project(folder: Path) -> Path:
    for name in ("plain", "deps"):
        (folder / name).mkdir(parents=True)
        (folder / name / "app.py").write_text(HANDLER)
    (folder / "deps" / "requirements.txt").write_text(REQUIREMENTS)
    (folder / "lsim.toml").write_text(LSIM_TOML)
    return folder


async def cold(simulator: object, name: str) -> float:
    await simulator.retire(name)  # type: ignore[attr-defined]
    began = time.perf_counter()
    result = await simulator.invoke(name, b"{}")  # type: ignore[attr-defined]
    elapsed = (time.perf_counter() - began) * 1000
    assert result.cold_start and result.function_error is None, result.body
    return elapsed


async def main() -> None:
    from simulator import Simulator, load_project

    with tempfile.TemporaryDirectory(prefix="lsim-bench-deps-") as name:
        folder = write_project(Path(name) / "project")
        os.environ["LSIM_DEPENDENCIES_CACHE"] = str(Path(name) / "cache")  # a fresh cache: the first is uncached
        try:
            async with Simulator(load_project(folder), backend="docker", event_queue=False) as simulator:
                await cold(simulator, "plain")  # the runtime image is ready before the clock starts
                first = await cold(simulator, "deps")  # pip, once
                plain, cached = [], []
                for _ in range(ROUNDS):
                    plain.append(await cold(simulator, "plain"))
                    cached.append(await cold(simulator, "deps"))
        finally:
            del os.environ["LSIM_DEPENDENCIES_CACHE"]
    print(f"cold start of a no-op function with a requirements.txt (six, MarkupSafe), Docker, median of {ROUNDS}:")
    figure(
        "  cold start, requirements.txt cached",
        median(cached),
        "ms",
        median(plain),
        "the same without one; target ~1.0x",
    )
    figure("  first cold start, pip installs it", first, "ms", median(plain), "the same without one: once per content")


if __name__ == "__main__":
    asyncio.run(main())
