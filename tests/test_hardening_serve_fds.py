"""Hardening item 13 (file descriptors): idle connections cannot stall `lsim serve`.

A real `lsim serve` whose RLIMIT_NOFILE is lowered, flooded with more idle connections than it may open
descriptors; afterwards a boto3 Invoke is served. Once with the connection cap (the longest-idle
connection makes room), once with the cap lifted so that accept() meets EMFILE."""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.test_api import write_project
from tests.test_api_awscli import BANNER, Served, stop_serve

LIMIT = 128  # descriptors the server may open
FLOOD = 600  # idle connections the test opens


def start_limited(folder: Path, soft: int, hard: int, *arguments: str) -> Served:
    """`lsim serve` with RLIMIT_NOFILE (soft, hard), stderr read in the background."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    process = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "--project", str(folder), "serve", "--port", "0", *arguments],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        preexec_fn=limit,
    )
    lines: list[str] = []
    up = threading.Event()
    assert process.stderr is not None
    stream = process.stderr

    def pump() -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))
            if "press Ctrl+C to stop" in line:
                up.set()
        up.set()

    threading.Thread(target=pump, daemon=True).start()
    up.wait(120)
    match = next((m for m in map(BANNER.search, lines) if m), None)
    if match is None:
        process.kill()
        raise AssertionError("lsim serve did not start:\n" + "\n".join(lines))
    return Served(process, match[1], int(match[2]), lines)


@contextlib.contextmanager
def flood(port: int, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that never send a byte (non-blocking connects: none waits for the server)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def client(served: Served) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=served.url,
        region_name="us-east-1",
        aws_access_key_id="anything",
        aws_secret_access_key="anything",
        config=Config(retries={"max_attempts": 0}, connect_timeout=20, read_timeout=30),
    )


def invoke_succeeds(served: Served, attempts: int = 3) -> bool:
    """A boto3 Invoke within `attempts` tries (each bounded by the client's timeouts)."""
    for _ in range(attempts):
        try:
            response = client(served).invoke(FunctionName="echo", Payload=b'{"after": "flood"}')
        except Exception:
            continue
        if response["StatusCode"] == 200 and "FunctionError" not in response:
            return json.loads(response["Payload"].read())["event"] == {"after": "flood"}
    return False


def test_idle_connections_past_the_descriptor_limit_do_not_stall_the_server(tmp_path: Path) -> None:
    served = start_limited(write_project(tmp_path / "p"), LIMIT, LIMIT, "--backend", "process")
    try:
        with flood(served.port, FLOOD):
            assert invoke_succeeds(served)
        assert invoke_succeeds(served)  # and after the flood is gone
    finally:
        assert stop_serve(served) == 0


def test_emfile_on_accept_closes_idle_connections_and_serving_goes_on(tmp_path: Path) -> None:
    served = start_limited(
        write_project(tmp_path / "p"), LIMIT, LIMIT, "--backend", "process", "--max-connections", "100000"
    )
    try:
        with flood(served.port, FLOOD):
            assert invoke_succeeds(served, attempts=5)
        assert invoke_succeeds(served)
        assert served.process.poll() is None
    finally:
        assert stop_serve(served) == 0
    assert sum("out of file descriptors" in line for line in served.lines) == 1


def test_the_soft_descriptor_limit_is_raised_to_the_hard_one(tmp_path: Path) -> None:
    served = start_limited(write_project(tmp_path / "p"), 256, 4096, "--backend", "process")
    try:
        limits = Path(f"/proc/{served.process.pid}/limits").read_text()
        line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
        assert line.split()[3:5] == ["4096", "4096"]
    finally:
        assert stop_serve(served) == 0
