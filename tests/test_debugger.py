"""`--debug-port`: a Python function runs under debugpy in a real container, an IDE attaches through lsim's port
(here a small Debug Adapter Protocol client: JSON messages over TCP, as VS Code and PyCharm speak it), stops
at a breakpoint for longer than the function's timeout, continues, and the invocation returns its result:
the timeout does not run while the debugger holds the function."""

from __future__ import annotations

import json
import queue
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from .lsim_processes import lsim_env

APP = """\
def handler(event, context):
    doubled = event["n"] * 2
    return {"doubled": doubled, "request_id": context.aws_request_id}
"""
BREAKPOINT_LINE = 2
TIMEOUT_S = 1

PROJECT = f"""
[functions.debugged]
handler = "app.handler"
runtime = "python3.11"
code = "src"
timeout = {TIMEOUT_S}
memory_size = 512
"""
CONNECT_BOUND_S = 600.0  # a bound, not an expectation: the runtime image and debugpy may be installed first


class DapClient:
    """The Debug Adapter Protocol as an IDE speaks it: `Content-Length: N`, a blank line, N bytes of JSON."""

    def __init__(self, port: int) -> None:
        deadline = time.monotonic() + CONNECT_BOUND_S
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.sock.settimeout(None)
        self.seq = 0
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.sock.makefile("rb")
        try:
            while True:
                length = 0
                while (line := stream.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                if not line:
                    break
                self.messages.put(json.loads(stream.read(length)))
        except OSError:
            pass
        self.messages.put(None)

    def request(self, command: str, **arguments: Any) -> int:
        self.seq += 1
        body = json.dumps({"seq": self.seq, "type": "request", "command": command, "arguments": arguments}).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        return self.seq

    def expect(self, kind: str, name: str, bound_s: float = CONNECT_BOUND_S) -> dict[str, Any]:
        """The next event `name` (kind "event") or response to command `name` (kind "response")."""
        deadline = time.monotonic() + bound_s
        key = "event" if kind == "event" else "command"
        while True:
            message = self.messages.get(timeout=max(deadline - time.monotonic(), 0.01))
            assert message is not None, f"the debugger hung up while waiting for {kind} {name}"
            if message.get("type") == kind and message.get(key) == name:
                return message

    def close(self) -> None:
        self.sock.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("backend", [pytest.param("docker", marks=pytest.mark.docker), "process"])
def test_a_breakpoint_longer_than_the_timeout_does_not_time_out(tmp_path: Path, backend: str) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(APP)
    (tmp_path / "lsim.toml").write_text(PROJECT)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator.cli", "--project", str(tmp_path), "invoke", "debugged", "--payload",
         '{"n": 21}', "--backend", backend, "--debug-port", str(port)],
        env=lsim_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        ide = DapClient(port)
        ide.request("initialize", clientID="lsim-tests", adapterID="debugpy", pathFormat="path",
                    linesStartAt1=True, columnsStartAt1=True)  # fmt: skip
        ide.expect("response", "initialize")
        ide.request("attach", justMyCode=True)
        ide.expect("event", "initialized")
        code = "/var/task/app.py" if backend == "docker" else str(tmp_path / "src" / "app.py")
        ide.request("setBreakpoints", source={"path": code}, breakpoints=[{"line": BREAKPOINT_LINE}])
        assert ide.expect("response", "setBreakpoints")["success"]
        ide.request("configurationDone")
        stopped = ide.expect("event", "stopped")
        assert stopped["body"]["reason"] == "breakpoint", stopped
        time.sleep(TIMEOUT_S * 2.5)  # held at the breakpoint well past the function's timeout
        ide.request("continue", threadId=stopped["body"]["threadId"])
        ide.expect("response", "continue")
        out, err = process.communicate(timeout=300)
        ide.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err.decode()
    assert json.loads(out)["doubled"] == 42, (out, err)
    assert b"Task timed out" not in err, err.decode()
    assert b"attach to 127.0.0.1:%d" % port in err, err.decode()


@pytest.mark.docker
def test_serve_with_a_debugger_holds_each_invocation_at_its_breakpoint(tmp_path: Path) -> None:
    """`lsim serve --debug-port`: the IDE attaches once; invocations run one at a time, each stopping at the
    breakpoint as long as the IDE likes, and returning their result."""
    from .lsim_processes import serve

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(APP)
    (tmp_path / "lsim.toml").write_text(PROJECT)
    port = _free_port()
    served = serve(tmp_path, quiet=False, options=("--debug-port", str(port)))
    try:
        with ThreadPoolExecutor(2) as pool:
            calls = [pool.submit(served.invoke, "debugged", {"n": n}) for n in (1, 2)]
            ide = DapClient(port)
            ide.request("initialize", clientID="lsim-tests", adapterID="debugpy", pathFormat="path",
                        linesStartAt1=True, columnsStartAt1=True)  # fmt: skip
            ide.request("attach", justMyCode=True)
            ide.expect("event", "initialized")
            ide.request("setBreakpoints", source={"path": "/var/task/app.py"}, breakpoints=[{"line": BREAKPOINT_LINE}])
            ide.request("configurationDone")
            for _ in calls:  # the second waits for the first, then stops at the same breakpoint
                stopped = ide.expect("event", "stopped")
                time.sleep(TIMEOUT_S * 1.5)
                ide.request("continue", threadId=stopped["body"]["threadId"])
            results = sorted(call.result()[1]["doubled"] for call in calls)
            ide.close()
    finally:
        served.stop()
    assert results == [2, 4]
    assert any("one at a time (concurrency 1)" in line for line in served.lines), served.lines


CUSTOM_BOOTSTRAP = """#!/usr/bin/env python3
import os, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as answer:
        request_id = answer.headers["Lambda-Runtime-Aws-Request-Id"]
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=b'"custom"', method="POST"))
"""


def test_a_function_debugpy_cannot_run_in_says_so_and_runs_without_a_debugger(tmp_path: Path) -> None:
    from simulator.blocking import BlockingSimulator
    from simulator.project import load_project

    (tmp_path / "custom").mkdir()
    (tmp_path / "custom" / "bootstrap").write_text(CUSTOM_BOOTSTRAP)
    (tmp_path / "custom" / "bootstrap").chmod(0o755)
    (tmp_path / "lsim.toml").write_text(
        '[functions.custom]\nruntime = "provided.al2023"\nhandler = "unused"\ncode = "custom"\ntimeout = 30\n'
    )
    said: list[str] = []
    project = load_project(tmp_path)
    with BlockingSimulator(project, backend="process", debug_port=_free_port(), warn=said.append) as lsim:
        result = lsim.invoke("custom", {})
    assert result.ok and result.payload == "custom", result.body
    assert any("--debug-port: custom is not a Python function" in line for line in said), said
