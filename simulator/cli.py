"""The `lsim` command: a thin face over the Simulator.

Exit codes of `lsim invoke`: 0 success, 1 function error (including timeouts and crashes), 2 bad input
or usage, 3 throttled.
"""

from __future__ import annotations

import asyncio
import base64
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from .errors import LambdaError, LsimError, TooManyRequestsException
from .project import load_project

EXIT_OK, EXIT_FUNCTION_ERROR, EXIT_BAD_INPUT, EXIT_THROTTLED = 0, 1, 2, 3
LOG_TAIL_BYTES = 4096  # X-Amz-Log-Result carries the last 4 KB of the log

app = typer.Typer(
    name="lsim",
    help="A local AWS Lambda execution simulator: real execution environments, faithful to Lambda.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
runtime_app = typer.Typer(help="Runtime images: lsim builds them itself, offline.", no_args_is_help=True)
app.add_typer(runtime_app, name="runtime")


@app.callback()
def main(
    ctx: typer.Context,
    project: Annotated[
        Path | None, typer.Option("--project", "-p", help="lsim.toml, or its folder (default: search upwards)")
    ] = None,
) -> None:
    ctx.obj = {"project": project}


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _describe(error: LsimError) -> str:
    if isinstance(error, TooManyRequestsException):
        return f"TooManyRequestsException ({error.reason}): Rate Exceeded."
    if isinstance(error, LambdaError):
        return f"{error.type}: {error.message}"
    return f"error: {error}"


def _read_event(event: str | None, payload: str | None) -> bytes:
    if event is not None and payload is not None:
        raise _fail("give either --event or --payload, not both")
    if payload is not None:
        return payload.encode()
    if event is None:
        return b"{}"
    if event == "-":
        return sys.stdin.buffer.read()
    path = Path(event)
    if not path.is_file():
        raise _fail(f"--event {event}: no such file; give a JSON file, or - to read standard input")
    return path.read_bytes()


@app.command()
def invoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="function name, name:qualifier or ARN")],
    event: Annotated[str | None, typer.Option("--event", "-e", help="JSON event file, or - for stdin")] = None,
    payload: Annotated[str | None, typer.Option("--payload", help="the event as inline JSON")] = None,
    qualifier: Annotated[str | None, typer.Option("--qualifier", "-q", help="$LATEST, a version or alias")] = None,
    log_type: Annotated[
        str, typer.Option("--log-type", help="None: the whole log; Tail: the last 4 KB, as LogResult carries it")
    ] = "None",
    backend: Annotated[str, typer.Option("--backend", help="docker, process or auto")] = "auto",
) -> None:
    """Invoke a function once: the payload on stdout, the log (START / END / REPORT) on stderr."""
    from .simulator import Simulator

    body = _read_event(event, payload)

    async def run() -> Any:
        project = load_project(ctx.obj["project"])
        progress = (lambda line: typer.echo(line, err=True))  # image builds say what they do
        async with Simulator(project, backend=backend, progress=progress) as simulator:
            return await simulator.invoke(
                name, body, qualifier=qualifier, log_type=log_type, complete_logs=True
            )

    try:
        result = asyncio.run(run())
    except LsimError as error:
        code = EXIT_THROTTLED if isinstance(error, TooManyRequestsException) else EXIT_BAD_INPUT
        raise _fail(_describe(error), code) from None
    logs = result.logs.encode()
    if log_type == "Tail":
        logs = logs[-LOG_TAIL_BYTES:]
    sys.stderr.write(logs.decode("utf-8", "replace"))
    sys.stdout.write(result.payload.decode("utf-8", "replace") + "\n")
    raise typer.Exit(EXIT_FUNCTION_ERROR if result.function_error else EXIT_OK)


@runtime_app.command("build")
def runtime_build(
    runtimes: Annotated[list[str] | None, typer.Argument(help="e.g. python3.11 provided.al2023")] = None,
) -> None:
    """Build runtime images (done automatically on first use; this does it ahead)."""
    import docker

    from .sandbox.images import ensure_runtime_image

    client = docker.from_env(timeout=600)
    for runtime in runtimes or ["python3.11", "provided.al2023"]:
        try:
            tag = ensure_runtime_image(client, runtime, progress=lambda line: typer.echo(line, err=True))
        except LsimError as error:
            raise _fail(str(error)) from None
        typer.echo(f"{runtime}: {tag}")


@app.command()
def clean() -> None:
    """Remove every container lsim left behind (after a crash, say)."""
    import docker

    from .sandbox.docker import remove_containers

    removed = remove_containers(docker.from_env())
    typer.echo(f"removed {removed} container(s)")


def log_result(logs: str) -> str:
    """X-Amz-Log-Result: base64 of the last 4 KB of the log."""
    return base64.b64encode(logs.encode()[-LOG_TAIL_BYTES:]).decode()


if __name__ == "__main__":
    app()
