"""What reading a SAM template costs against reading the equivalent lsim.toml, per load and
per `lsim invoke` command (a cold start in a real container, the way a user runs it).

Run with `make bench` (or `python -m benchmarks.bench_sam`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from simulator.project import load_project

from .common import figure, median

REPO = Path(__file__).parent.parent
SAMPLE = REPO / "samples" / "sam-app"
LOADS = 200
COMMANDS = 5


def equivalent_toml(folder: Path) -> None:
    """HelloFunction of samples/sam-app written as lsim.toml, values as the template resolves them."""
    code = SAMPLE / "hello"
    (folder / "lsim.toml").write_text(
        f"""[functions.HelloFunction]
handler = "app.lambda_handler"
runtime = "python3.11"
code = "{code}"
memory_size = 256
timeout = 10
environment = {{ STAGE = "dev", LOG_LEVEL = "DEBUG", GREETING_PREFIX = "Hello", SERVICE_NAME = "sam-app-hello" }}
"""
    )


def load_ms(path: Path) -> float:
    samples = []
    for _ in range(LOADS):
        began = time.perf_counter()
        load_project(path, warn=lambda _: None)
        samples.append((time.perf_counter() - began) * 1000)
    return median(samples)


def command_ms(cwd: Path) -> float:
    """`lsim invoke HelloFunction --event ...` as a process, cold each time (a new simulator per command)."""
    samples = []
    event = str(SAMPLE / "events" / "api.json")
    for _ in range(COMMANDS):
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "simulator.cli", "invoke", "HelloFunction", "--event", event],
            cwd=cwd, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        samples.append((time.perf_counter() - began) * 1000)
    return median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="lsim-bench-sam-") as folder:
        toml = Path(folder)
        equivalent_toml(toml)
        print(f"SAM template (samples/sam-app) against the same function in lsim.toml, median of {LOADS} loads:")
        figure(
            "  load template.yaml (parse, resolve, validate)", load_ms(SAMPLE), "ms", load_ms(toml), "target <= 5 ms"
        )
        command_ms(SAMPLE)  # the runtime image exists before anything is timed
        print(f"`lsim invoke HelloFunction` end to end (a cold start in a container), median of {COMMANDS}:")
        figure("  lsim invoke, SAM template", command_ms(SAMPLE), "ms", command_ms(toml), "lsim.toml; target <= 1.1x")


if __name__ == "__main__":
    main()
