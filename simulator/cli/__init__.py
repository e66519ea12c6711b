"""The `lsim` command: thin faces over the Simulator, one module per command group.

Exit codes: 0 success, 1 function error (including timeouts and crashes), 2 bad input or usage,
3 throttled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import invoke, layer, runtime

app = typer.Typer(
    name="lsim",
    help="A local AWS Lambda execution simulator: real execution environments, faithful to Lambda.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    project: Annotated[
        Path | None,
        typer.Option("--project", "-p", help="lsim.toml, or its folder (default: search upwards)"),
    ] = None,
) -> None:
    ctx.obj = {"project": project}


app.command()(invoke.invoke)
app.command()(runtime.clean)
app.add_typer(runtime.app, name="runtime")
app.add_typer(layer.app, name="layer")
