"""`lsim serve`: the Lambda API on a local port, for boto3, the AWS CLI and any SDK; `--watch` reloads
code as it changes."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import datetime
from typing import Annotated

import typer

from ..config import ProjectConfig
from ..errors import LsimError
from .common import describe, exit_code, fail, project_of


def _say(line: str) -> None:
    """Console lines, time-stamped, on stderr; flushed at once so a pipe sees them as they happen."""
    sys.stderr.write(f"{datetime.now():%H:%M:%S} {line}\n")
    sys.stderr.flush()


_partial: dict[str, str] = {}  # per function, the start of a line whose end has not arrived yet
# A line longer than this is written out in pieces: a function printing without newlines must not grow
# lsim's memory. CloudWatch Logs splits at its event size, 256 KB
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html).
PARTIAL_LINE_MAX = 256 * 1024


def _function_output(function_name: str, text: str) -> None:
    """What a function prints, as it arrives, each whole line marked with the function's name."""
    *lines, rest = (_partial.pop(function_name, "") + text).split("\n")
    if len(rest) > PARTIAL_LINE_MAX:
        lines.append(rest)
    elif rest:
        _partial[function_name] = rest
    if lines:
        sys.stderr.write("".join(f"  {function_name} | {line}\n" for line in lines))
        sys.stderr.flush()


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="address to listen on (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port to listen on; 0 picks a free one")] = 9001,
    watch: Annotated[
        bool, typer.Option("--watch", help="reload a function when its code or a local layer folder changes")
    ] = False,
    backend: Annotated[str, typer.Option("--backend", help="docker, process or auto")] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no line per invocation, no function output")] = False,
) -> None:
    """Serve the Lambda API (Invoke, GetFunction, ListFunctions, ...) for boto3 and the AWS CLI."""
    try:
        project = project_of(ctx)
    except LsimError as error:
        raise fail(describe(error), exit_code(error)) from None
    try:
        asyncio.run(_serve(project, host, port, watch, backend, quiet))
    except LsimError as error:
        raise fail(describe(error), exit_code(error)) from None


async def _serve(project: ProjectConfig, host: str, port: int, watch: bool, backend: str, quiet: bool) -> None:
    from ..api import ApiServer
    from ..simulator import Simulator
    from ..watch import CodeWatcher

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    simulator = Simulator(
        project, backend=backend, progress=_say, warn=_say, log_sink=None if quiet else _function_output
    )
    await simulator.start()
    server = ApiServer(simulator, host, port, say=_say, log_invocations=not quiet)
    watcher: CodeWatcher | None = None
    try:
        url = await server.start()
        functions = ", ".join(sorted(project.functions)) or "none (add [functions.NAME] to lsim.toml)"
        region = project.settings.region
        _say(f"lsim serve: the Lambda API on {url} (project {project.root}, Region {region})")
        _say(f"functions: {functions}")
        _say("accepting any AWS credentials: SigV4 signatures are parsed, not checked")
        _say(f'boto3.client("lambda", endpoint_url="{url}", region_name="{region}")  |  '
             f"aws lambda invoke --endpoint-url {url} --function-name NAME out.json")  # fmt: skip
        if host not in ("127.0.0.1", "localhost", "::1"):
            _say(f"note: listening on {host}, not only loopback: anyone who reaches it can run your functions")
        if watch:
            watcher = CodeWatcher(simulator, loop, _say)
            await asyncio.to_thread(watcher.start)
            _say(f"watching {watcher.describe} for changes")
        _say("press Ctrl+C to stop")
        await stop.wait()
        _say("stopping: closing the API and removing execution environments")
    finally:
        if watcher is not None:
            await asyncio.to_thread(watcher.stop)
            await watcher.wait_idle()
        await server.close()
        await simulator.close()
