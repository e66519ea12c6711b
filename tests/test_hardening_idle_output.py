"""What a function prints goes to the log sink as it arrives; lsim keeps only a bounded tail of it for
the invocation's log, so a function printing while idle (or printing a lot) does not grow lsim's memory.

The defect: every chunk of output was appended to the environment's buffer until the next invocation
took it; a background thread printing 10 MB/s grew `lsim serve` from 74 to 217 MB in 15 s, and the whole
idle output landed in the next invocation's log.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from simulator.blocking import BlockingSimulator
from simulator.project import load_project
from simulator.store import Store

from .conftest import REPO

APP = '''
import sys, threading

LINE = "x" * 1023 + "\\n"


def flood(megabytes):
    for _ in range(megabytes * 1024):
        sys.stdout.write(LINE)
    sys.stdout.write("IDLE-DONE\\n")
    sys.stdout.flush()


def idle(event, context):
    """Returns at once; a background thread then prints event["megabytes"] MB while the environment
    is idle."""
    threading.Thread(target=flood, args=(event["megabytes"],), daemon=True).start()
    return {"printing": event["megabytes"]}


def busy(event, context):
    """Prints event["megabytes"] MB during the invocation, then one last line."""
    for _ in range(event["megabytes"] * 1024):
        sys.stdout.write(LINE)
    print("LAST-LINE")
    return {"printed": event["megabytes"]}


def quiet(event, context):
    print("QUIET")
    return {}
'''

PROJECT = """
[functions.idle]
handler = "app.idle"
runtime = "python3.11"
code = "src"
memory_size = 256
timeout = 60

[functions.busy]
handler = "app.busy"
runtime = "python3.11"
code = "src"
memory_size = 256
timeout = 60
"""

INVOCATION_OUTPUT_CAP = 1024 * 1024  # an invocation's log keeps its last 1 MB (environment.py)
IDLE_OUTPUT_CAP = 64 * 1024  # and of what was printed while idle, the last 64 KB
ROUNDS = 600  # bounded waits: at most ROUNDS x 0.05 s


def write_project(folder: Path) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text(APP)
    (folder / "lsim.toml").write_text(PROJECT)
    return folder


class Sink:
    """A log sink that counts what it is given and remembers whether a marker line went by."""

    def __init__(self) -> None:
        self.bytes = 0
        self.tail = ""
        self.seen = threading.Event()

    def __call__(self, function: str, text: str) -> None:
        self.bytes += len(text)
        self.tail = (self.tail + text)[-64:]
        if "IDLE-DONE" in self.tail:
            self.seen.set()


@pytest.fixture(scope="module")
def sink() -> Sink:
    return Sink()


@pytest.fixture(scope="module")
def docker_lsim(tmp_path_factory: pytest.TempPathFactory, sink: Sink) -> Iterator[BlockingSimulator]:
    folder = write_project(tmp_path_factory.mktemp("idle-output"))
    project = load_project(folder)
    with BlockingSimulator(project, backend="docker", store=Store(folder / ".lsim"), log_sink=sink) as lsim:
        yield lsim


@pytest.mark.docker
def test_idle_output_goes_to_the_sink_and_only_its_tail_to_the_next_log(
    docker_lsim: BlockingSimulator, sink: Sink
) -> None:
    first = docker_lsim.invoke("idle", {"megabytes": 20}, log_type="Tail")
    assert first.function_error is None
    for _ in range(ROUNDS):
        if sink.seen.wait(0.05):
            break
    assert sink.seen.is_set(), "the idle output never reached the log sink"
    assert sink.bytes > 20 * 1024 * 1024  # all of it, as it came
    second = docker_lsim.invoke("idle", {"megabytes": 0}, log_type="Tail")
    assert second.function_error is None and not second.cold_start
    # the idle tail is kept in whole chunks as they came through the pipe: the cap plus at most one
    assert len(second.logs) < 2 * IDLE_OUTPUT_CAP, f"{len(second.logs)} bytes of log"
    assert "bytes of output left out of this log" in second.logs
    assert "IDLE-DONE" in second.logs  # the last lines are kept
    assert f"END RequestId: {second.request_id}" in second.logs


@pytest.mark.docker
def test_an_invocations_log_keeps_its_last_megabyte(docker_lsim: BlockingSimulator) -> None:
    result = docker_lsim.invoke("busy", {"megabytes": 5}, log_type="Tail")
    assert result.function_error is None
    assert len(result.logs) < INVOCATION_OUTPUT_CAP + 4096, f"{len(result.logs)} bytes of log"
    assert re.search(r"\[lsim: \d+ bytes of output left out of this log", result.logs)
    lines = result.logs.splitlines()
    assert "LAST-LINE" in lines and lines[-1].startswith(f"REPORT RequestId: {result.request_id}")
    assert all(len(line) <= 1023 for line in lines if line.startswith("x"))  # whole lines only


# -- the memory of `lsim serve` --------------------------------------------------------------------------
def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class Serve:
    """`lsim serve` in a subprocess; its console (stderr) is drained by a thread that keeps only what
    the test looks for."""

    def __init__(self, folder: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulator.cli", "--project", str(folder), "serve", "--port", "0",
             "--backend", "docker"],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        self.url = ""
        self.up = threading.Event()
        self.idle_done = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if not self.url and (match := re.search(rb"the Lambda API on (http://[\d.]+:\d+)", line)):
                self.url = match[1].decode()
            if b"press Ctrl+C to stop" in line:
                self.up.set()
            if b"IDLE-DONE" in line:
                self.idle_done.set()
        self.up.set()

    def client(self) -> object:
        return boto3.client(
            "lambda", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="x",
            aws_secret_access_key="x", config=Config(retries={"max_attempts": 0}, read_timeout=120),
        )  # fmt: skip

    def stop(self) -> None:
        self.process.send_signal(2)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.mark.docker
def test_lsim_serve_memory_stays_bounded_while_a_function_prints_idle(tmp_path: Path) -> None:
    serve = Serve(write_project(tmp_path / "project"))
    try:
        serve.up.wait(120)
        assert serve.url, "lsim serve did not start"
        client = serve.client()
        warm = client.invoke(FunctionName="idle", Payload=json.dumps({"megabytes": 0}))  # type: ignore[attr-defined]
        assert "FunctionError" not in warm
        assert serve.idle_done.wait(60)
        before = rss_mb(serve.process.pid)
        client.invoke(FunctionName="idle", Payload=json.dumps({"megabytes": 120}))  # type: ignore[attr-defined]
        serve.idle_done.clear()
        peak = before
        for _ in range(ROUNDS):
            peak = max(peak, rss_mb(serve.process.pid))
            if serve.idle_done.wait(0.05):
                break
        assert serve.idle_done.is_set(), "the idle output never reached lsim serve's console"
        peak = max(peak, rss_mb(serve.process.pid))
        assert peak - before < 30, f"lsim serve grew from {before:.0f} MB to {peak:.0f} MB"
        after = client.invoke(FunctionName="idle", Payload=json.dumps({"megabytes": 0}), LogType="Tail")  # type: ignore[attr-defined]
        assert "FunctionError" not in after
    finally:
        serve.stop()
