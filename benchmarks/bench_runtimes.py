"""A cold start on each Python runtime beside `docker run` of the same image, and arm64
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

COLD_N = 7
WARM_N = 200
PYTHONS = ["python3.10", "python3.11", "python3.12", "python3.13", "python3.14"]
NOOP = "def handler(event, context):\n    return {}\n"
BOTO3_CLIENT = "import boto3; boto3.client('s3', region_name='us-east-1')"
WITH_BOTO3 = BOTO3_CLIENT.replace("; ", "\n") + "\n\n" + NOOP


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
        for code in ("noop", "boto"):
            functions.append(
                f'[functions.py311-{code}-{arch}]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "{code}"\n'
                f'memory_size = 1769\narchitecture = "{arch}"\n'
            )
    # Emulated, boto3 at init takes about 10 s, Lambda's init limit: room for it (the x86_64 runs never need it).
    limits = "[limits]\ninit_timeout_s = 60\n\n"
    (root / "lsim.toml").write_text(limits + "\n".join(f + "timeout = 60\n" for f in functions))
    return root


async def _cold(simulator: Simulator, name: str) -> float:
    """One cold invocation (ms): every environment is closed first, so the next one is new."""
    for pool in simulator.pools().values():
        await pool.close()
    began = time.perf_counter()
    result = await simulator.invoke(name, {})
    assert result.ok and result.cold_start, result.body
    return (time.perf_counter() - began) * 1000


async def _cold_beside(
    simulator: Simulator, name: str, image: str, code: str = "pass", n: int = COLD_N
) -> tuple[float, float]:
    """Medians of n cold invocations and of n `docker run`s of the same image, taken in turns so that the
    load of the machine weighs on both alike."""
    cold, baseline = [], []
    for _ in range(n):
        baseline.append(_docker_run(image, code))
        cold.append(await _cold(simulator, name))
    return median(cold), median(baseline)


async def _warm(simulator: Simulator, name: str, n: int) -> list[float]:
    await simulator.invoke(name, {})
    samples = []
    for _ in range(n):
        began = time.perf_counter()
        result = await simulator.invoke(name, {})
        samples.append((time.perf_counter() - began) * 1000)
        assert result.ok and not result.cold_start
    return samples


def _docker_run(image: str, code: str = "pass") -> float:
    """`docker run --rm <image> python3 -c <code>` (ms), with the PYTHONPATH Lambda gives functions."""
    began = time.perf_counter()
    command = ["docker", "run", "--rm", "--network", "none", "-e", "PYTHONPATH=/var/runtime"]
    command += ["--entrypoint", "python3", image, "-c", code]
    subprocess.run(command, check=True, capture_output=True)
    return (time.perf_counter() - began) * 1000


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
                cold, baseline = await _cold_beside(simulator, f"{name}-noop", image)
                figure(
                    f"  {runtime} cold invocation", cold, "ms", baseline, "`docker run --rm <image> python3 -c pass`"
                )
                boto, boto_baseline = await _cold_beside(simulator, f"{name}-boto", image, BOTO3_CLIENT)
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
            x86_image = await _image(simulator, "py311-noop-x86_64")
            arm_image = await _image(simulator, "py311-noop-arm64")
            if x86_image is None or arm_image is None:
                return
            arm_cold, arm_run = await _cold_beside(simulator, "py311-noop-arm64", arm_image)
            x86_cold, x86_run = await _cold_beside(simulator, "py311-noop-x86_64", x86_image)
            figure("  docker run python3 -c pass, arm64", arm_run, "ms", x86_run, "the same on x86_64")
            figure("  lsim cold invocation, arm64", arm_cold, "ms", x86_cold, "the same function on x86_64")
            arm_boto, _ = await _cold_beside(simulator, "py311-boto-arm64", arm_image, BOTO3_CLIENT, n=3)
            x86_boto, _ = await _cold_beside(simulator, "py311-boto-x86_64", x86_image, BOTO3_CLIENT, n=3)
            figure("  lsim cold, boto3 client at init, arm64", arm_boto, "ms", x86_boto, "the same on x86_64")
            x86_warm = median(await _warm(simulator, "py311-noop-x86_64", WARM_N))
            arm_warm = median(await _warm(simulator, "py311-noop-arm64", WARM_N))
            figure("  lsim warm invocation, arm64", arm_warm, "ms", x86_warm, "the same function on x86_64")


if __name__ == "__main__":
    asyncio.run(main())
