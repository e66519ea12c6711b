"""`lsim invoke`: one invocation, the payload on stdout and the log on stderr."""

from __future__ import annotations

import asyncio
import base64
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import LsimError
from ..project import load_project
from .common import EXIT_FUNCTION_ERROR, EXIT_OK, describe, exit_code, fail

LOG_TAIL_BYTES = 4096  # X-Amz-Log-Result carries the last 4 KB of the log


def _say(line: str) -> None:
    """Progress of slow first-time work (building a runtime image) goes to stderr."""
    typer.echo(line, err=True)


def _read_event(event: str | None, payload: str | None) -> bytes:
    if event is not None and payload is not None:
        raise fail("give either --event or --payload, not both")
    if payload is not None:
        return payload.encode()
    if event is None:
        return b"{}"
    if event == "-":
        return sys.stdin.buffer.read()
    path = Path(event)
    if not path.is_file():
        raise fail(f"--event {event}: no such file; give a JSON file, or - to read standard input")
    return path.read_bytes()


def invoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="function name, name:qualifier or ARN")],
    event: Annotated[
        str | None, typer.Option("--event", "-e", help="JSON event file, or - for stdin")
    ] = None,
    payload: Annotated[str | None, typer.Option("--payload", help="the event as inline JSON")] = None,
    qualifier: Annotated[
        str | None, typer.Option("--qualifier", "-q", help="$LATEST, a version or alias")
    ] = None,
    log_type: Annotated[
        str,
        typer.Option("--log-type", help="None: the whole log; Tail: the last 4 KB, as LogResult carries it"),
    ] = "None",
    backend: Annotated[str, typer.Option("--backend", help="docker, process or auto")] = "auto",
) -> None:
    """Invoke a function once: the payload on stdout, the log (START / END / REPORT) on stderr."""
    from ..simulator import Simulator

    body = _read_event(event, payload)

    async def run() -> Any:
        project = load_project(ctx.obj["project"])
        async with Simulator(project, backend=backend, progress=_say) as simulator:
            return await simulator.invoke(
                name, body, qualifier=qualifier, log_type=log_type, complete_logs=True
            )

    try:
        result = asyncio.run(run())
    except LsimError as error:
        raise fail(describe(error), exit_code(error)) from None
    logs = result.logs.encode()
    if log_type == "Tail":
        logs = logs[-LOG_TAIL_BYTES:]
    sys.stderr.write(logs.decode("utf-8", "replace"))
    sys.stdout.write(result.body.decode("utf-8", "replace") + "\n")
    raise typer.Exit(EXIT_FUNCTION_ERROR if result.function_error else EXIT_OK)


def log_result(logs: str) -> str:
    """X-Amz-Log-Result: base64 of the last 4 KB of the log."""
    return base64.b64encode(logs.encode()[-LOG_TAIL_BYTES:]).decode()
