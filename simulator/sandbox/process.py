"""The embedded fallback: the runtime as a local process, for machines without a Docker engine.

The same bootstrap talks to the same Runtime API, the timeout is enforced by the environment, and the
memory limit by a watchdog that kills the process when its resident memory passes MemorySize (Lambda's
`signal: killed`). What it cannot reproduce is listed in the README ("The process backend").
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .base import ExitStatus, OutputSink, Sandbox, SandboxBackend, SandboxSpec
from .scratch import owner_folder

WATCHDOG_INTERVAL_S = 0.01


class ProcessBackend(SandboxBackend):
    name = "process"

    def __init__(self) -> None:
        self._sandboxes: set[ProcessSandbox] = set()
        self.project = ""

    def adopt_project(self, project: str) -> None:
        self.project = project  # environments' /tmp folders go where the next lsim finds them (scratch.py)

    async def prepare(self, spec: SandboxSpec, progress: Callable[[str], None] | None = None) -> None:
        if spec.image is not None:
            from ..errors import RuntimeUnavailableError

            raise RuntimeUnavailableError(
                f"function {spec.function_name} is a container image ({spec.image}): the process backend "
                "cannot run images; start a Docker engine and use --backend docker"
            )
        from .emulation import host_architecture

        if spec.architecture != host_architecture():
            from ..errors import RuntimeUnavailableError

            raise RuntimeUnavailableError(
                f"function {spec.function_name} runs on {spec.architecture}: the process backend runs functions on "
                f"this machine's own {host_architecture()} CPU and cannot emulate another; use --backend docker "
                "(QEMU user emulation), or remove the function's architecture setting"
            )

    def runtime_api_host(self, spec: SandboxSpec) -> str:
        return "127.0.0.1"

    def create(self, spec: SandboxSpec, scratch: Path | None = None) -> Sandbox:
        sandbox = ProcessSandbox(self, spec)
        self._sandboxes.add(sandbox)
        return sandbox

    async def close(self) -> None:
        await asyncio.gather(*(s.stop() for s in list(self._sandboxes)), return_exceptions=True)


class ProcessSandbox(Sandbox):
    def __init__(self, backend: ProcessBackend, spec: SandboxSpec) -> None:
        self.backend = backend
        self.spec = spec
        self.process: asyncio.subprocess.Process | None = None
        self._tmp = _temporary_folder(owner_folder(backend.project), f"lsim-{spec.function_name}-")
        self._peak_kb = 0
        self._oom = False
        self._tasks: list[asyncio.Task[None]] = []
        self._extensions: list[asyncio.subprocess.Process] = []
        self._exit: asyncio.Future[ExitStatus] | None = None
        self._eof: asyncio.Future[None] | None = None  # the runtime's pipe has ended: its writers are gone
        self._reader: int | None = None
        self._on_output: OutputSink = lambda chunk: None

    def _command(self) -> list[str]:
        if (self.spec.runtime or "").startswith("python"):
            from .images import runtimes_dir

            return [sys.executable, "-u", str(runtimes_dir() / "python" / "bootstrap.py")]
        for candidate in (self.spec.code_dir, self.spec.opt_dir):  # Lambda's lookup order
            if candidate is not None and os.access(candidate / "bootstrap", os.X_OK):
                return [str(candidate / "bootstrap")]
        raise FileNotFoundError("Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]")

    def _environment(self, runtime_api: str) -> dict[str, str]:
        spec = self.spec
        opt = spec.opt_dir or self._tmp / "opt"
        env = {**spec.environment, "AWS_LAMBDA_RUNTIME_API": runtime_api, "_LSIM_OPT_ROOT": str(opt)}
        env["LAMBDA_TASK_ROOT"] = str(spec.code_dir)
        if spec.dependencies_dir is not None:  # requirements.txt's packages, after the code on sys.path
            env["_LSIM_TASK_DEPENDENCIES"] = str(spec.dependencies_dir)
        env["PATH"] = f"{os.environ.get('PATH', '/usr/bin:/bin')}:{opt}/bin"
        env["LD_LIBRARY_PATH"] = f"{spec.code_dir}/lib:{opt}/lib"
        env["TMPDIR"] = str(self._tmp)
        env["HOME"] = str(self._tmp)
        if spec.debugpy_dir is not None and self.debug_address is not None:
            env["_LSIM_DEBUG"] = f"{spec.debugpy_dir}:{self.debug_address[1]}"
        return env

    async def start(self, runtime_api: str, on_output: OutputSink) -> None:
        """The runtime writes into a pipe that lsim reads as output arrives and, for a fence, drains at once
        (fence()); its extensions each into one of their own."""
        loop = asyncio.get_running_loop()
        self._exit = loop.create_future()
        self._eof = loop.create_future()
        if self.spec.debugpy_dir is not None:
            self.debug_address = ("127.0.0.1", _free_port())
        reader, writer = os.pipe()
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self._command(),
                env=self._environment(runtime_api),
                cwd=str(self.spec.code_dir),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=writer,
                stderr=writer,
                start_new_session=True,
            )
            self.started_at = time.monotonic()
        except BaseException:
            os.close(reader)
            raise
        finally:
            os.close(writer)
        os.set_blocking(reader, False)
        self._reader, self._on_output = reader, on_output
        loop.add_reader(reader, self._read_output)
        self._extensions = await self._start_extensions(runtime_api, on_output)
        self._tasks += [
            asyncio.create_task(self._pump()),
            asyncio.create_task(self._watchdog()),
        ]

    async def _start_extensions(self, runtime_api: str, on_output: OutputSink) -> list[asyncio.subprocess.Process]:
        """External extensions from the layers' extensions/ folder, started beside the runtime."""
        folder = self.spec.opt_dir / "extensions" if self.spec.opt_dir is not None else None
        if folder is None or not folder.is_dir():
            return []
        started = []
        for path in sorted(folder.iterdir()):
            if path.is_file() and os.access(path, os.X_OK):
                process = await asyncio.create_subprocess_exec(
                    str(path), env=self._environment(runtime_api), cwd=str(self.spec.code_dir),
                    stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
                self._tasks.append(asyncio.create_task(_forward(process, on_output)))
                started.append(process)
        return started

    def _read_output(self) -> None:
        """Hand on everything the pipe holds now; at its end, stop reading it."""
        while self._reader is not None:
            try:
                chunk = os.read(self._reader, 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self._close_reader()
                return
            self._on_output(chunk)

    def _close_reader(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            asyncio.get_running_loop().remove_reader(reader)
            os.close(reader)
        if self._eof is not None and not self._eof.done():
            self._eof.set_result(None)

    async def fence(self) -> bool:
        """What the runtime wrote before now is in the pipe: read it all, here and now."""
        self._read_output()
        return True

    async def _pump(self) -> None:
        """Once the runtime's pipe has ended (every byte read), learn how the runtime exited."""
        assert self.process is not None and self._eof is not None
        await self._eof
        code = await self.process.wait()
        if self._exit is not None and not self._exit.done():
            status = ExitStatus(code=code, signal=-code if code < 0 else None, oom_killed=self._oom)
            self._exit.set_result(status)

    async def _watchdog(self) -> None:
        """Poll the process's resident memory; kill it past MemorySize as the kernel would."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status")
        limit_kb = self.spec.memory_mb * 1024
        while self.process.returncode is None:
            rss_kb = _read_kb(status, "VmRSS:")
            self._peak_kb = max(self._peak_kb, _read_kb(status, "VmHWM:"), rss_kb)
            if rss_kb > limit_kb:
                self._oom = True
                self._kill()
                return
            await asyncio.sleep(WATCHDOG_INTERVAL_S)

    def _kill(self) -> None:
        for process in [self.process, *self._extensions]:
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)

    async def wait(self) -> ExitStatus:
        assert self._exit is not None, "start() first"
        return await asyncio.shield(self._exit)

    def end_init_phase(self) -> None:
        """A local process gets no CPU share: the README says so."""

    def max_memory_used_mb(self) -> int:
        return math.ceil(self._peak_kb / 1024)

    async def stop(self) -> None:
        self._kill()
        self.backend._sandboxes.discard(self)
        if self.process is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.process.wait(), 5)
        for task in self._tasks:
            task.cancel()
        self._close_reader()
        if self._exit is not None and not self._exit.done():
            self._exit.set_result(ExitStatus(signal=signal.SIGKILL))
        shutil.rmtree(self._tmp, ignore_errors=True)
        for folder in (self._tmp.parent, self._tmp.parent.parent):  # the owner's and the project's, once empty
            with contextlib.suppress(OSError):
                folder.rmdir()


async def _forward(process: asyncio.subprocess.Process, on_output: OutputSink) -> None:
    assert process.stdout is not None
    while chunk := await process.stdout.read(65536):
        on_output(chunk)


def _free_port() -> int:
    """A port of 127.0.0.1 nobody listens on now, for the runtime's debugpy."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_kb(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _temporary_folder(parent: Path, prefix: str) -> Path:
    """A new folder in `parent`, which goes with the last folder in it (stop()): it may go while we make one."""
    for attempt in (1, 2):
        parent.mkdir(parents=True, exist_ok=True)
        try:
            return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        except FileNotFoundError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
