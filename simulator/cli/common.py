"""Pieces every `lsim` command shares: exit codes, how errors are printed, the project the options name.

Every command module imports this one, so it imports nothing heavy at its top: the project loader
(pydantic), the Simulator (aiohttp) and Docker's client are imported by the commands that use them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import LambdaError, LsimError, TooManyRequestsException

#: `--debug-port N` of `lsim invoke` and `lsim serve` (debugging.py)
DebugPort = Annotated[
    int | None,
    typer.Option(
        "--debug-port",
        min=1,
        max=65535,
        help="run Python functions under debugpy; attach an IDE to 127.0.0.1:PORT (no timeout while paused)",
    ),
]

if TYPE_CHECKING:
    from ..config import ProjectConfig

EXIT_OK, EXIT_FUNCTION_ERROR, EXIT_BAD_INPUT, EXIT_THROTTLED = 0, 1, 2, 3


def group(help: str) -> typer.Typer:
    """A command group. Help is plain text: Rich's formatting costs `lsim --help` a third of a second."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print `message` on stderr; the caller raises the returned Exit."""
    typer.echo(message, err=True)
    return typer.Exit(code)


def describe(error: LsimError) -> str:
    """An error as one line, in AWS's words where AWS has them."""
    if isinstance(error, TooManyRequestsException):
        return f"TooManyRequestsException ({error.reason}): Rate Exceeded."
    if isinstance(error, LambdaError):
        return f"{error.type}: {error.message}"
    return f"error: {error}"


def exit_code(error: LsimError) -> int:
    return EXIT_THROTTLED if isinstance(error, TooManyRequestsException) else EXIT_BAD_INPUT


def project_of(ctx: typer.Context) -> ProjectConfig:
    """The project the global options name: --project / --template (or the nearest lsim.toml or
    template.yaml), with --parameter-overrides and --env-vars applied."""
    from ..project import load_project

    options = ctx.find_root().obj or {}
    project = load_project(
        options.get("project"),
        parameter_overrides=options.get("parameter_overrides") or (),
        env_vars=options.get("env_vars"),
    )
    chosen = {key: options[key] for key in ("credentials", "profile") if options.get(key)}
    if chosen:  # --credentials / --profile win over lsim.toml's [settings]
        project = project.model_copy(update={"settings": project.settings.model_copy(update=chosen)})
    return project


def call(ctx: typer.Context, operation: str, *args: Any, **kwargs: Any) -> Any:
    """Run one facade operation on a Simulator that is never started: the operations that only read or
    write the project's store (layers, versions, aliases, configuration) need no Docker engine."""
    import asyncio

    from ..simulator import Simulator

    try:
        simulator = Simulator(project_of(ctx), backend="process")
        return asyncio.run(getattr(simulator, operation)(*args, **kwargs))
    except LsimError as error:
        raise fail(describe(error), exit_code(error)) from None


def print_json(shape: Any) -> None:
    typer.echo(json.dumps(shape, indent=2))


def key_values(option: str, values: list[str] | None) -> dict[str, str]:
    """Repeated `--option KEY=VALUE` values as a dict; a value without `=` is a usage error."""
    pairs = {}
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise fail(f"{option} {value!r}: write KEY=VALUE")
        pairs[key] = rest
    return pairs
