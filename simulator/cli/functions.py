"""`lsim config`, `lsim publish-version`, `lsim versions`, `lsim alias`: a function's configuration, its
published versions and its aliases, as Lambda's API manages them. No Docker engine needed."""

from pathlib import Path
from typing import Annotated, Any

import typer

from .. import shapes
from ..errors import LsimError
from ..secrets import parse_dotenv
from .common import call, describe, fail, group, key_values, print_json, project_of

config_app = group("A function's configuration ($LATEST): show, set, reset.")
alias_app = group("Aliases: a name for a version, optionally weighted to a second one.")


@config_app.command("show")
def config_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="function name, name:qualifier or ARN")],
    qualifier: Annotated[str | None, typer.Option("--qualifier", "-q")] = None,
) -> None:
    """GetFunctionConfiguration: secrets show as ***."""
    print_json(shapes.function_configuration(call(ctx, "get_function_configuration", name, qualifier)))


@config_app.command("set")
def config_set(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    memory: Annotated[int | None, typer.Option("--memory", help="MB, 128-10240")] = None,
    timeout: Annotated[int | None, typer.Option("--timeout", help="seconds, 1-900")] = None,
    ephemeral_storage: Annotated[int | None, typer.Option("--ephemeral-storage", help="MB of /tmp, 512-10240")] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", help="KEY=VALUE, repeatable; replaces all variables")
    ] = None,
    env_file: Annotated[Path | None, typer.Option("--env-file", help="a dotenv file of KEY=VALUE lines")] = None,
    handler: Annotated[str | None, typer.Option("--handler")] = None,
    runtime: Annotated[str | None, typer.Option("--runtime")] = None,
    layers: Annotated[list[str] | None, typer.Option("--layer", help="repeatable; replaces the list")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    revision_id: Annotated[
        str | None, typer.Option("--revision-id", help="only if $LATEST is still this revision")
    ] = None,
) -> None:
    """UpdateFunctionConfiguration of $LATEST (kept in .lsim/; lsim.toml is not rewritten)."""
    changes: dict[str, Any] = {
        key: value
        for key, value in {
            "memory_size": memory,
            "timeout": timeout,
            "ephemeral_storage": ephemeral_storage,
            "handler": handler,
            "runtime": runtime,
            "layers": layers,
            "description": description,
        }.items()
        if value is not None
    }
    if env is not None or env_file is not None:
        variables = {}
        if env_file is not None:
            if not env_file.is_file():
                raise fail(f"--env-file {env_file}: no such file")
            try:
                variables.update(parse_dotenv(env_file))
            except LsimError as error:
                raise fail(describe(error)) from None
        variables.update(key_values("--env", env or []))
        changes["environment"] = variables
    if not changes:
        raise fail("nothing to change: give --memory, --timeout, --env ... (see `lsim config set --help`)")
    description_ = call(ctx, "update_function_configuration", name, revision_id=revision_id, **changes)
    print_json(shapes.function_configuration(description_))


@config_app.command("reset")
def config_reset(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Forget `config set`'s changes: $LATEST is lsim.toml's function again."""
    print_json(shapes.function_configuration(call(ctx, "reset_function_configuration", name)))


def publish_version(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    description: Annotated[str, typer.Option("--description")] = "",
    code_sha256: Annotated[
        str | None, typer.Option("--code-sha256", help="only if $LATEST's code has this hash")
    ] = None,
    revision_id: Annotated[str | None, typer.Option("--revision-id", help="only if $LATEST is this revision")] = None,
) -> None:
    """PublishVersion: an immutable snapshot of $LATEST's code and configuration (none when nothing changed)."""
    print_json(
        shapes.function_configuration(
            call(ctx, "publish_version", name, description, code_sha256=code_sha256, revision_id=revision_id)
        )
    )


def versions(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """ListVersionsByFunction: $LATEST and every published version."""
    listed = call(ctx, "list_versions_by_function", name)
    print_json({"Versions": [shapes.function_configuration(d) for d in listed]})


def _alias_shape(ctx: typer.Context, alias: Any) -> dict[str, Any]:
    project = project_of(ctx)
    return shapes.alias_configuration(alias, project.function_arn(alias.function_name, alias.name))


def _weights(weight: list[str] | None) -> dict[str, float] | None:
    if weight is None:
        return None
    weights = {}
    for version, value in key_values("--weight", weight).items():
        try:
            weights[version] = float(value)
        except ValueError:
            raise fail(f"--weight {version}={value}: the weight is a number from 0.0 to 1.0") from None
    return weights


@alias_app.command("create")
def alias_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="function name")],
    alias: Annotated[str, typer.Argument(help="alias name, e.g. live")],
    version: Annotated[str, typer.Option("--version", help="the published version it points to")],
    weight: Annotated[list[str] | None, typer.Option("--weight", help="VERSION=WEIGHT: a second version")] = None,
    description: Annotated[str, typer.Option("--description")] = "",
) -> None:
    """CreateAlias."""
    print_json(_alias_shape(ctx, call(ctx, "create_alias", name, alias, version, description, _weights(weight))))


@alias_app.command("update")
def alias_update(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    alias: Annotated[str, typer.Argument()],
    version: Annotated[str | None, typer.Option("--version")] = None,
    weight: Annotated[
        list[str] | None, typer.Option("--weight", help="VERSION=WEIGHT; --weight none removes it")
    ] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    revision_id: Annotated[str | None, typer.Option("--revision-id")] = None,
) -> None:
    """UpdateAlias."""
    weights = {} if weight == ["none"] else _weights(weight)
    updated = call(ctx, "update_alias", name, alias, version, description, weights, revision_id)
    print_json(_alias_shape(ctx, updated))


@alias_app.command("get")
def alias_get(
    ctx: typer.Context, name: Annotated[str, typer.Argument()], alias: Annotated[str, typer.Argument()]
) -> None:
    """GetAlias."""
    print_json(_alias_shape(ctx, call(ctx, "get_alias", name, alias)))


@alias_app.command("delete")
def alias_delete(
    ctx: typer.Context, name: Annotated[str, typer.Argument()], alias: Annotated[str, typer.Argument()]
) -> None:
    """DeleteAlias."""
    call(ctx, "delete_alias", name, alias)
    typer.echo(f"deleted alias {alias} of {name}")


@alias_app.command("list")
def alias_list(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """ListAliases."""
    project = project_of(ctx)
    aliases = call(ctx, "list_aliases", name)
    print_json(shapes.list_aliases([(a, project.function_arn(a.function_name, a.name)) for a in aliases]))
