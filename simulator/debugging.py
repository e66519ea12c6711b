"""A debugger on a Python function (`--debug-port`): debugpy in the execution environment, the IDE on a port
of this machine, and a function timeout that stands still while the debugger holds the function.

debugpy is not part of Lambda's images: lsim installs it from PyPI for the runtime's Python version and
architecture into its cache (never into the function's code) and mounts it read-only; the runtime starts it
and waits for the IDE before init (runtimes/python/bootstrap.py).

The IDE connects to lsim, on 127.0.0.1 only, and lsim relays the Debug Adapter Protocol to the environment's
debugpy. On the way it reads what the protocol says about the function's state: debugpy's `stopped` event
(a breakpoint, a step, a pause) holds it; the IDE's `continue` or a step request, debugpy's `continued`
event, or the IDE leaving release it. Until the IDE has attached (`configurationDone`) the function is held
too. While it is held, neither the init limit nor the function's timeout runs (PauseClock, wait_first), so a
breakpoint never ends in Sandbox.Timedout. https://microsoft.github.io/debug-adapter-protocol/specification
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ATTACH_WAIT_S = 300.0  # how long an IDE that connects early may wait for the environment to start
RESUMING_REQUESTS = {"continue", "next", "stepIn", "stepOut", "stepBack", "reverseContinue", "goto", "disconnect"}


class PauseClock:
    """Whether a debugger holds the function, and for how long it has held it in all."""

    def __init__(self) -> None:
        self._held_since: float | None = None
        self._held_total = 0.0
        self.running = asyncio.Event()
        self.running.set()

    @property
    def held(self) -> bool:
        return self._held_since is not None

    def hold(self) -> None:
        if self._held_since is None:
            self._held_since = time.monotonic()
            self.running.clear()

    def release(self) -> None:
        if self._held_since is not None:
            self._held_total += time.monotonic() - self._held_since
            self._held_since = None
            self.running.set()

    def held_s(self) -> float:
        """Seconds held so far, the current hold included."""
        current = time.monotonic() - self._held_since if self._held_since is not None else 0.0
        return self._held_total + current


async def wait_first(
    waits: Iterable[asyncio.Future[Any]], timeout: float, clock: PauseClock | None = None
) -> set[asyncio.Future[Any]]:
    """asyncio.wait(FIRST_COMPLETED) with a timeout that does not run while `clock` is held."""
    waits = set(waits)
    if clock is None:
        done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        return done
    spent = 0.0
    while True:
        began, held = time.monotonic(), clock.held_s()
        done, _ = await asyncio.wait(waits, timeout=max(timeout - spent, 0.001), return_when=asyncio.FIRST_COMPLETED)
        if done:
            return done
        spent += (time.monotonic() - began) - (clock.held_s() - held)
        if clock.held:
            resumed = asyncio.ensure_future(clock.running.wait())
            done, _ = await asyncio.wait(waits | {resumed}, return_when=asyncio.FIRST_COMPLETED)
            resumed.cancel()
            if done - {resumed}:
                return done - {resumed}
        elif spent >= timeout:
            return set()


class Debugger:
    """The port an IDE attaches to, relayed to the debugpy of the environment that runs now (one at a time:
    an invocation with a debugger runs alone, `turn`)."""

    def __init__(self, port: int, say: Callable[[str], None] | None = None) -> None:
        self.port = port
        self.say = say or (lambda text: None)
        self.clock = PauseClock()
        self.turn = asyncio.Lock()  # one invocation at a time: one environment listens for the IDE
        self._target: tuple[str, int] | None = None
        self._target_set = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._attached = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def environment_started(self, address: tuple[str, int] | None) -> None:
        """A new environment's debugpy listens at `address` and waits for the IDE: the function is held
        until the IDE has attached."""
        self._target = address
        self._attached = False
        if address is not None:
            self._target_set.set()
            self.clock.hold()
            self.say(f"debugger: waiting for your IDE to attach to 127.0.0.1:{self.port} (the function's "
                     "timeout stands still while the debugger holds it)")  # fmt: skip

    async def _relay(self, ide_reader: asyncio.StreamReader, ide_writer: asyncio.StreamWriter) -> None:
        _no_delay(ide_writer)
        try:
            await asyncio.wait_for(self._target_set.wait(), ATTACH_WAIT_S)
            assert self._target is not None
            reader, writer = await _connect(self._target)
        except (TimeoutError, OSError):
            ide_writer.close()
            return
        _no_delay(writer)
        try:
            await asyncio.gather(
                _pump(ide_reader, writer, self._from_ide), _pump(reader, ide_writer, self._from_debugpy)
            )
        finally:
            for side in (writer, ide_writer):
                side.close()
            self._attached = False
            self.clock.release()  # debugpy lets the function run on when its IDE is gone

    def _from_ide(self, message: dict[str, Any]) -> None:
        command = message.get("command")
        if message.get("type") != "request":
            return
        if command == "configurationDone":
            self._attached = True
            self.clock.release()
        elif command in RESUMING_REQUESTS:
            self.clock.release()

    def _from_debugpy(self, message: dict[str, Any]) -> None:
        if message.get("type") != "event":
            return
        if message.get("event") == "stopped":
            self.clock.hold()
        elif message.get("event") == "continued" and self._attached:
            self.clock.release()


async def _connect(target: tuple[str, int]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to debugpy, which may not listen yet (the environment is starting)."""
    deadline = time.monotonic() + ATTACH_WAIT_S
    while True:
        try:
            return await asyncio.open_connection(*target)
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, observe: Callable[[dict[str, Any]], None]
) -> None:
    """Copy DAP messages (`Content-Length: N`, a blank line, N bytes of JSON) as they are, reading each."""
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while True:
            header = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in header.decode("ascii", "replace").split("\r\n"):
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length)
            writer.write(header + body)
            await writer.drain()
            with contextlib.suppress(ValueError):
                message = json.loads(body)
                if isinstance(message, dict):
                    observe(message)


def _no_delay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def debugpy_folder(python_version: str, architecture: str) -> Path:
    """debugpy for Python `python_version` ("3.12") on Lambda's `architecture`, installed once from PyPI
    into lsim's cache; its folder."""
    from .sandbox.rootfs import cache_dir

    machine = {"x86_64": "x86_64", "arm64": "aarch64"}[architecture]
    folder = cache_dir() / "debugpy" / f"python{python_version}-{architecture}"
    if (folder / "debugpy" / "__init__.py").is_file():
        return folder
    staging = folder.with_name(f"{folder.name}.{os.getpid()}")
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-warn-conflicts",
        "--target", str(staging), "--only-binary=:all:", "--implementation", "cp", "--python-version",
        python_version, "--platform", f"manylinux2014_{machine}", "debugpy",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        from .errors import RuntimeUnavailableError

        raise RuntimeUnavailableError(
            f"debugpy for Python {python_version} ({architecture}) could not be installed from PyPI: "
            f"{done.stderr.strip()[-400:]}"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging.rename(folder)
    except OSError:  # another lsim installed it meanwhile
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
    return folder
