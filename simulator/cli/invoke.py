"""`lsim invoke`: one invocation, the payload on stdout and the log on stderr."""

import sys
from typing import Annotated, Any

import typer

from ..errors import LsimError
from .common import EXIT_FUNCTION_ERROR, EXIT_OK, DebugPort, describe, exit_code, fail, project_of


def _say(line: str) -> None:
    """Progress of slow first-time work (building a runtime image) goes to stderr."""
    typer.echo(line, err=True)


def _read_event(event: str | None, payload: str | None) -> bytes:
    """The event as the launcher reads it before the CLI is loaded (through_serve.event_bytes)."""
    from ..through_serve import event_bytes

    if event is not None and payload is not None:
        raise fail("give either --event or --payload, not both")
    body = event_bytes(event, payload)
    if body is None:
        raise fail(f"--event {event}: no such file; give a JSON file, or - to read standard input")
    return body


def invoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="function name, name:qualifier or ARN")],
    event: Annotated[str | None, typer.Option("--event", "-e", help="JSON event file, or - for stdin")] = None,
    payload: Annotated[str | None, typer.Option("--payload", help="the event as inline JSON")] = None,
    qualifier: Annotated[str | None, typer.Option("--qualifier", "-q", help="$LATEST, a version or alias")] = None,
    log_type: Annotated[
        str,
        typer.Option("--log-type", help="None: the whole log; Tail: the last 4 KB, as LogResult carries it"),
    ] = "None",
    backend: Annotated[str, typer.Option("--backend", help="docker, process or auto")] = "auto",
    retry: Annotated[
        int, typer.Option("--retry", min=0, help="retry a throttle N times (exponential backoff, full jitter)")
    ] = 0,
    tenant_id: Annotated[
        str | None, typer.Option("--tenant-id", help="Invoke's TenantId, for a tenant-isolated function")
    ] = None,
    debug_port: DebugPort = None,
    no_serve: Annotated[
        bool,
        typer.Option("--no-serve", envvar="LSIM_NO_SERVE", help="run in process even when an lsim serve runs"),
    ] = False,
) -> None:
    """Invoke a function once: the payload on stdout, the log (START / END / REPORT) on stderr.

    When an `lsim serve` runs for the project, the invocation goes through it (warm environments, one
    concurrency book); stderr says so."""
    body = _read_event(event, payload)
    if not no_serve and debug_port is None:  # a debugger is this command's own: its environment, its port
        through_serve(ctx, name, body, qualifier, log_type, backend, retry, tenant_id)
    import asyncio

    from ..retry import retry_async
    from ..shapes import LOG_TAIL_BYTES
    from ..simulator import Simulator

    async def run() -> Any:
        project = project_of(ctx)
        async with Simulator(
            project, backend=backend, progress=_say, event_queue=False, debug_port=debug_port
        ) as simulator:
            await simulator.wait_function_active(name)  # a VPC function is Pending while its ENIs are made
            return await retry_async(
                lambda: simulator.invoke(
                    name, body, qualifier=qualifier, log_type=log_type, complete_logs=True, tenant_id=tenant_id
                ),
                attempts=retry + 1,
                on_retry=lambda error, delay: _say(
                    f"TooManyRequestsException ({getattr(error, 'reason', error)}): retrying in {delay:.2f} s"
                ),
            )

    try:
        result = asyncio.run(run())
    except LsimError as error:
        raise fail(describe(error), exit_code(error)) from None
    logs = result.logs.encode()
    if log_type == "Tail":
        logs = logs[-LOG_TAIL_BYTES:]
    sys.stderr.write(logs.decode("utf-8", "replace"))  # the log is text; a stray byte is shown, not fatal
    sys.stdout.flush()
    sys.stdout.buffer.write(result.body + b"\n")  # the payload's bytes as they came (a binary answer stays whole)
    sys.stdout.buffer.flush()
    raise typer.Exit(EXIT_FUNCTION_ERROR if result.function_error else EXIT_OK)


def through_serve(
    ctx: typer.Context,
    name: str,
    body: bytes,
    qualifier: str | None,
    log_type: str,
    backend: str,
    retry: int,
    tenant_id: str | None,
) -> None:
    """Invoke through a running `lsim serve` of this project and exit with its outcome; return to run in
    process (no serve, one that cannot take it, or the launcher's fast path tried already)."""
    from .. import through_serve as warm

    if warm.tried_already():
        return
    options = ctx.find_root().obj or {}
    request = warm.InvokeRequest(
        name, body, qualifier, log_type, backend, retry,
        options.get("project"), tuple(options.get("parameter_overrides") or ()), options.get("env_vars"),
        tenant_id, options.get("credentials"), options.get("profile"),
    )  # fmt: skip
    code = warm.invoke_through_serve(request, _say)
    if code is not None:
        raise typer.Exit(code)
