"""Issue 13's figures: a cold start on each Python runtime beside `docker run` of the same image, and arm64
under QEMU emulation beside x86_64.

Run with `make bench` (or `python -m benchmarks.bench_runtimes`). Every figure is printed beside a baseline
measured in the same run, never compared with a fixed time. Runtimes whose image cannot be built here (no
CPython tree for python3.10/3.12, no arm64 emulation) are named and skipped.
"""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
import time
from pathlib import Path

from simulator import Simulator, load_project
from simulator.errors import LsimError
from simulator.sandbox import emulation

from .common import figure, median

COLD_N = 5
WARM_N = 200
PYTHONS = ["python3.10", "python3.11", "python3.12", "python3.13", "python3.14"]
NOOP = "def handler(event, context):\n    return {}\n"
WITH_BOTO3 = "import boto3\n\nclient = boto3.client('s3', region_name='us-east-1')\n\n" + NOOP


def _project(root: Path) -> Path:
    (root / "noop").mkdir()
    (root / "noop" / "app.py").write_text(NOOP)
    (root / "boto").mkdir()
    (root / "boto" / "app.py").write_text(WITH_BOTO3)
    functions = []
    for runtime in PYTHONS:
        name = runtime.replace(".", "")
        for code in ("noop", "boto"):
            functions.append(
                f'[functions.{name}-{code}]\nhandler = "app.handler"\nruntime = "{runtime}"\ncode = "{code}"\n'
                "memory_size = 1769\n"
            )
    for arch in ("x86_64", "arm64"):
        functions.append(
            f'[functions.py311-{arch}]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "noop"\n'
            f'memory_size = 1769\narchitecture = "{arch}"\n'
        )
    (root / "lsim.toml").write_text("\n".join(functions))
    return root


async def _cold(simulator: Simulator, name: str, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        for pool in simulator.pools().values():
            await pool.close()  # the next invocation needs a new execution environment
        began = time.perf_counter()
        result = await simulator.invoke(name, {})
        samples.append((time.perf_counter() - began) * 1000)
        assert result.ok and result.cold_start, result.body
    return samples


async def _warm(simulator: Simulator, name: str, n: int) -> list[float]:
    await simulator.invoke(name, {})
    samples = []
    for _ in range(n):
        began = time.perf_counter()
        result = await simulator.invoke(name, {})
        samples.append((time.perf_counter() - began) * 1000)
        assert result.ok and not result.cold_start
    return samples


def _docker_run(image: str, n: int, code: str = "pass") -> list[float]:
    samples = []
    for _ in range(n):
        began = time.perf_counter()
        command = ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python3", image, "-c", code]
        subprocess.run(command, check=True, capture_output=True)
        samples.append((time.perf_counter() - began) * 1000)
    return samples


async def _image(simulator: Simulator, name: str) -> str | None:
    try:
        await simulator.prepare(name)
    except LsimError as error:
        print(f"  {name}: skipped ({str(error).split('. ')[0]})")
        return None
    function = simulator.function(name)
    return str(simulator.backend.image_for(simulator.sandbox_spec(function, "$LATEST")))  # type: ignore[union-attr]


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lsim-bench-runtimes-") as folder:
        project = load_project(_project(Path(folder)))
        async with Simulator(project, backend="docker") as simulator:
            print(f"cold start per Python runtime, no-op handler, 1769 MB, median of {COLD_N}:")
            for runtime in PYTHONS:
                name = runtime.replace(".", "")
                image = await _image(simulator, f"{name}-noop")
                if image is None:
                    continue
                await _image(simulator, f"{name}-boto")
                baseline = median(_docker_run(image, COLD_N))
                cold = median(await _cold(simulator, f"{name}-noop", COLD_N))
                figure(
                    f"  {runtime} cold invocation", cold, "ms", baseline, "`docker run --rm <image> python3 -c pass`"
                )
                boto_baseline = median(
                    _docker_run(image, COLD_N, "import boto3; boto3.client('s3', region_name='us-east-1')")
                )
                boto = median(await _cold(simulator, f"{name}-boto", COLD_N))
                figure(
                    f"  {runtime} cold, boto3 client at init", boto, "ms", boto_baseline, "`docker run` doing the same"
                )

            print(f"arm64 under QEMU user emulation beside x86_64 (python3.11, no-op, 1769 MB), cold median of {COLD_N}, "
                  f"warm median of {WARM_N}:")  # fmt: skip
            try:
                emulation.check_can_run("arm64")
            except LsimError as error:
                print(f"  skipped: {error}")
                return
            x86_image = await _image(simulator, "py311-x86_64")
            arm_image = await _image(simulator, "py311-arm64")
            if x86_image is None or arm_image is None:
                return
            figure(
                "  docker run python3 -c pass, arm64",
                median(_docker_run(arm_image, COLD_N)),
                "ms",
                median(_docker_run(x86_image, COLD_N)),
                "the same on x86_64",
            )
            x86_cold = median(await _cold(simulator, "py311-x86_64", COLD_N))
            arm_cold = median(await _cold(simulator, "py311-arm64", COLD_N))
            figure("  lsim cold invocation, arm64", arm_cold, "ms", x86_cold, "the same function on x86_64")
            x86_warm = median(await _warm(simulator, "py311-x86_64", WARM_N))
            arm_warm = median(await _warm(simulator, "py311-arm64", WARM_N))
            figure("  lsim warm invocation, arm64", arm_warm, "ms", x86_warm, "the same function on x86_64")


if __name__ == "__main__":
    asyncio.run(main())
