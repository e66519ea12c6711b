"""Real `lsim` processes: `lsim serve` for the hardening tests (start one on a project, invoke through it, kill
it), and one-off commands whose test is about the process.

Each is `python -m simulator.cli ...` with this checkout on PYTHONPATH; a server's URL is read from the line
it prints once the simulator has started (and so has removed what dead processes left).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .test_api import SIGNED

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "tests" / "project" / "src"
STARTUP_WAIT_S = 120.0  # a bound, not an expectation: a runtime image may still be building


def lsim_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def lsim_process(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one `lsim` command of this checkout in a process of its own, for a test about the process itself
    (its entry point, its stdin pipe, its file descriptors); tests/cli.py runs the others in this one."""
    return subprocess.run(
        [sys.executable, "-m", "simulator.cli", *args],
        cwd=cwd,
        env={**lsim_env(), **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


@dataclass
class Serve:
    """One `lsim serve` process and what it printed."""

    process: subprocess.Popen[str]
    url: str = ""
    lines: list[str] = field(default_factory=list)

    def invoke(self, function: str, payload: Any = None) -> tuple[int, dict[str, Any]]:
        """Invoke through the Lambda API; (HTTP status, the JSON body)."""
        request = urllib.request.Request(
            f"{self.url}/2015-03-31/functions/{function}/invocations",
            data=json.dumps(payload or {}).encode(),
            method="POST",
            headers=SIGNED,  # the shape of an SDK's request: lsim serve refuses unsigned ones
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")
        except (urllib.error.URLError, ConnectionError):  # the process was killed: no answer
            return 0, {}

    def kill(self) -> None:
        """SIGKILL: lsim gets no chance to clean up."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


def serve(project: Path, quiet: bool = True, options: tuple[str, ...] = ()) -> Serve:
    """Start `lsim serve` on a project and wait (bounded) until it answers; with `quiet` False, what the
    functions print shows in `lines` (as `  name | text`); `options` go to `lsim serve` as well."""
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "--project", str(project), "serve", "--port", "0", "--backend",
         "docker", *(["--quiet"] if quiet else []), *options],
        env=lsim_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    lines: queue.Queue[str | None] = queue.Queue()
    started = Serve(process)

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            started.lines.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=STARTUP_WAIT_S)
        except queue.Empty:
            started.kill()
            raise AssertionError(f"lsim serve did not start: {''.join(started.lines)}") from None
        if line is None:
            raise AssertionError(f"lsim serve exited: {''.join(started.lines)}")
        if "the Lambda API on " in line:
            started.url = line.split("the Lambda API on ", 1)[1].split()[0]
            return started
