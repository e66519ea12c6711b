"""`lsim invoke` through a running `lsim serve` (a new process each time, as a user runs it), beside
`Simulator.invoke` of the same warm function in process, `python -c pass` (the interpreter's own start) and
`lsim invoke --no-serve` (a process that starts its own environment: a cold start every time).

The command runs as the installed `lsim` script runs it (`simulator.launcher:main`), from compiled bytecode;
the process runs are interleaved so that the machine's load falls on each alike. Target: under 150 ms end to
end, most of it Python's start.

Run with `make bench` (or `python -m benchmarks.bench_warm_cli`).
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import figure, median

REPO = Path(__file__).parent.parent
RUNS = 15
IN_PROCESS_RUNS = 200
COLD_RUNS = 3
LAUNCHER = [sys.executable, "-c", "import sys; from simulator.launcher import main; sys.exit(main())"]
BANNER = re.compile(r"the Lambda API on http://127\.0\.0\.1:(\d+)")

LSIM_TOML = """
[functions.noop]
handler = "app.handler"
runtime = "python3.11"
code = "src"
memory_size = 1769
"""


def write_project(folder: Path) -> Path:
    (folder / "src").mkdir()
    (folder / "src" / "app.py").write_text("def handler(event, context):\n    return {'ok': True}\n")
    (folder / "lsim.toml").write_text(LSIM_TOML)
    return folder


def start_serve(folder: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "serve", "--port", "0", "--backend", "docker", "--quiet"],
        cwd=folder,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if BANNER.search(line):
            break
    else:
        raise RuntimeError("lsim serve did not start")
    for line in process.stderr:  # the banner ends with this line; the serve's record is written by then
        if "press Ctrl+C" in line:
            break
    return process


CPU: dict[str, list[float]] = {}


def run(command: list[str], folder: Path, env: dict[str, str], label: str = "") -> tuple[float, str]:
    """Wall-clock milliseconds and stderr of one run; with `label`, its CPU time (user + system) is kept too,
    which other work on a shared machine disturbs less than the wall clock."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=True)
    elapsed = (time.perf_counter() - began) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if label:
        used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        CPU.setdefault(label, []).append(used * 1000)
    return elapsed, done.stderr


async def in_process(folder: Path) -> list[float]:
    """Warm `Simulator.invoke` of the same function: what the serve does for each request, without HTTP and
    without a new process."""
    from simulator import Simulator, load_project

    async with Simulator(load_project(folder), backend="docker", event_queue=False) as simulator:
        await simulator.invoke("noop", b"{}")
        samples = []
        for _ in range(IN_PROCESS_RUNS):
            began = time.perf_counter()
            await simulator.invoke("noop", b"{}")
            samples.append((time.perf_counter() - began) * 1000)
    return samples


def main() -> None:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONDONTWRITEBYTECODE", "LSIM_NO_SERVE")}
    env["PYTHONPATH"] = str(REPO)
    with tempfile.TemporaryDirectory(prefix="lsim-bench-warm-") as name:
        folder = write_project(Path(name))
        serve = start_serve(folder, env)
        try:
            commands = {
                "python -c pass": [sys.executable, "-c", "pass"],
                "lsim invoke through lsim serve": [*LAUNCHER, "invoke", "noop"],
            }
            _, said = run(commands["lsim invoke through lsim serve"], folder, env)  # warm, and bytecode written
            assert said.startswith("via lsim serve"), said
            wall: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(RUNS):
                for label, command in commands.items():
                    wall[label].append(run(command, folder, env, label)[0])
            cold = [run([*LAUNCHER, "invoke", "noop", "--no-serve"], folder, env)[0] for _ in range(COLD_RUNS)]
            warm = asyncio.run(in_process(folder))
        finally:
            serve.send_signal(signal.SIGINT)
            serve.wait(60)
    through = median(wall["lsim invoke through lsim serve"])
    start = median(wall["python -c pass"])
    print(
        f"`lsim invoke` of a warm no-op function, a new process each, median of {RUNS} (interleaved), Docker, 1769 MB:"
    )
    figure("  lsim invoke through lsim serve (wall)", through, "ms", median(warm), "Simulator.invoke in process, warm")
    figure("  lsim invoke through lsim serve (wall)", through, "ms", start, "python -c pass; target < 150 ms")
    figure(f"  lsim invoke --no-serve (median of {COLD_RUNS})", median(cold), "ms", through, "through lsim serve")
    cpu_through, cpu_start = median(CPU["lsim invoke through lsim serve"]), median(CPU["python -c pass"])
    figure("  lsim invoke through lsim serve (cpu)", cpu_through, "ms", cpu_start, "python -c pass (cpu)")
    print(
        f"  lsim's own share beyond Python's start: {through - start:.1f} ms wall, {cpu_through - cpu_start:.1f} ms cpu"
    )


if __name__ == "__main__":
    main()
