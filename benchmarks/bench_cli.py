"""How long `lsim` takes to start for commands that need neither Docker nor a web server: `lsim --help` and
`lsim generate-event`, each beside `python -c pass` (the interpreter's own start) measured in the same run.

Each command runs as a new process, the way a user runs it (`python -m simulator.cli` is what the `lsim`
script runs); the runs are interleaved, so the machine's load falls on every command alike, and the median
is reported, of the wall-clock time and of the CPU time the process used (on a busy machine the wall-clock
time grows with the others' work, the CPU time much less). The target is absolute (under 300 ms wall-clock
on an idle machine); the ratio shows what lsim adds to the interpreter's own start.

Run with `make bench` (or `python -m benchmarks.bench_cli`).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .common import PROJECT, figure, median

REPO = Path(__file__).parent.parent
RUNS = 15
LSIM = [sys.executable, "-m", "simulator.cli"]
COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "lsim --help": [*LSIM, "--help"],
    "lsim generate-event sqs receive-message": [*LSIM, "generate-event", "sqs", "receive-message"],
    "lsim generate-event ..., in a project": [
        *LSIM,
        "--project",
        str(PROJECT),
        "generate-event",
        "sqs",
        "receive-message",
    ],
}


def timings(cwd: Path) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Milliseconds per run of each command, interleaved: wall-clock time, and the CPU time (user + system)
    the process used, which other work on a shared machine disturbs less."""
    wall: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
    # As an installed lsim runs: from compiled bytecode (a first, untimed run of each command writes it).
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(REPO)
    for command in COMMANDS.values():
        subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    for _ in range(RUNS):
        for name, command in COMMANDS.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            began = time.perf_counter()
            subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
            wall[name].append((time.perf_counter() - began) * 1000)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            cpu[name].append(used * 1000)
    return wall, cpu


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lsim-bench-cli-") as folder:  # no project found here
        wall, cpu = timings(Path(folder))
    print(f"Start-up of lsim commands, a new process each, median of {RUNS} (interleaved):")
    for kind, samples in (("wall", wall), ("cpu", cpu)):
        baseline = median(samples["python -c pass"])
        for name, runs in samples.items():
            if name != "python -c pass":
                figure(f"  {name} ({kind})", median(runs), "ms", baseline, "python -c pass; target < 300 ms")


if __name__ == "__main__":
    main()
