"""The `lsim` command: thin faces over the Simulator, one module per command group.

Exit codes: 0 success, 1 function error (including timeouts and crashes), 2 bad input or usage,
3 throttled.

Every command module is imported to build the command tree, even for `lsim --help`, so each imports only
typer and light modules at its top; the Simulator, the project loader (pydantic), aiohttp and Docker are
imported inside the commands that use them (tests/test_lazy_imports.py, benchmarks/bench_cli.py). For the
same reason the command modules do without `from __future__ import annotations`: typer reads the annotations
of every command at each start, and string annotations would be compiled and evaluated each time (a third
of `lsim --help`'s own time); names only imported for type checking are quoted instead.
"""

from pathlib import Path
from typing import Annotated

import typer

from . import concurrency, events, functions, invoke, layer, loadtest, runtime, serve, sqs, vpc
from .project_options import TEMPLATE_ENV, ProjectGroup, root_options

app = typer.Typer(
    name="lsim",
    help="A local AWS Lambda execution simulator: real execution environments, faithful to Lambda. The project "
    "options (--project, --template, --parameter-overrides, --env-vars) go before or after the command.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain-text help: Rich's costs `lsim --help` a third of a second
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=ProjectGroup,  # the project options after a command too, as SAM users write them
)


@app.callback()
def main(
    ctx: typer.Context,
    project: Annotated[
        Path | None,
        typer.Option("--project", "-p", help="lsim.toml, or its folder (default: search upwards)"),
    ] = None,
    template: Annotated[
        Path | None,
        typer.Option(
            "--template",
            "--template-file",
            "-t",
            help=f"a SAM template (default: ${TEMPLATE_ENV}, else template.yaml where no lsim.toml is)",
        ),
    ] = None,
    parameter_overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--parameter-overrides",
            help="SAM template parameters: Key=Value Key2=Value2, or ParameterKey=K,ParameterValue=V",
        ),
    ] = None,
    env_vars: Annotated[
        Path | None,
        typer.Option("--env-vars", help='JSON: {"Function": {"VAR": "value"}, "Parameters": {"VAR": "value"}}'),
    ] = None,
    credentials: Annotated[
        str | None,
        typer.Option(
            "--credentials",
            help="what functions get as AWS credentials: local (fake ones for their role, the default) or "
            "developer (yours: --profile, AWS_PROFILE, ~/.aws, AWS_ACCESS_KEY_ID...)",
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="with --credentials developer: the AWS profile to take them from")
    ] = None,
) -> None:
    """Project options go before the command or after it (`lsim invoke F --template t.yaml`)."""
    if credentials not in (None, "local", "developer"):
        raise typer.BadParameter("local or developer", param_hint="--credentials")
    if profile is not None and credentials is None:
        credentials = "developer"  # as `sam local --profile`: the profile's credentials reach the functions
    ctx.obj = root_options(project, template, parameter_overrides, env_vars)
    ctx.obj.update(credentials=credentials, profile=profile)


app.command()(invoke.invoke)
app.command()(runtime.clean)
app.add_typer(runtime.app, name="runtime")
app.add_typer(layer.app, name="layer")
app.add_typer(vpc.app, name="vpc")
app.add_typer(events.app, name="generate-event")
app.command()(serve.serve)
app.command("start-api", help="`sam local start-api`'s name for `lsim serve`: the same command, options and output")(
    serve.serve
)
app.add_typer(functions.config_app, name="config")
app.add_typer(functions.alias_app, name="alias")
app.command("publish-version")(functions.publish_version)
app.command("versions")(functions.versions)
app.add_typer(concurrency.app, name="concurrency")
app.add_typer(concurrency.dlq_app, name="dlq")
app.add_typer(sqs.app, name="sqs")
app.command()(concurrency.metrics)
app.command("load-test")(loadtest.load_test)
