"""The project options where SAM users put them: `lsim invoke F --template t.yaml --env-vars env.json
--parameter-overrides A=1 B=2`, as `sam local invoke` takes them, as well as before the command.

`--project`, `--template` (also `--template-file`, `-t`), `--parameter-overrides`, `--env-vars`, `--credentials`
and `--profile` are the
root command's options; `ProjectGroup` moves those written after the command to just before it, where the
root reads them, so a value given after the command wins over one given before it. (No command has options
of these names: a command that does not read the project ignores them.) Like SAM CLI, `--parameter-overrides` takes
every `Key=Value` (or `ParameterKey=K,ParameterValue=V`) that follows it, and `SAM_TEMPLATE_FILE` names the
template when no option does (samcli/commands/_utils/options.py: `envvar="SAM_TEMPLATE_FILE"`).
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

TEMPLATE_ENV = "SAM_TEMPLATE_FILE"
# A CloudFormation parameter name is alphanumeric; SAM's long form names it with ParameterKey=.
OVERRIDE = re.compile(r"ParameterKey=[^,]+,ParameterValue=.*|[A-Za-z0-9]+=.*", re.DOTALL)


# The root's options, every one of which takes a value; the long forms also as `--option=value`.
PROJECT_FLAGS = (
    "--project", "-p", "--template", "--template-file", "-t", "--parameter-overrides", "--env-vars",
    "--credentials", "--profile",
)  # fmt: skip


def root_options(
    project: Path | None, template: Path | None, parameter_overrides: list[str] | None, env_vars: Path | None
) -> dict[str, Any]:
    """What the root command's options say, kept apart so that a command's own options can be merged in."""
    return {
        "project_option": project,
        "template_option": template,
        "parameter_overrides": list(parameter_overrides or ()),
        "env_vars": env_vars,
        "project": _project(project, template),
    }


def _project(project: Path | None, template: Path | None) -> Path | None:
    if project is not None and template is not None:
        raise typer.BadParameter("give --project or --template, not both", param_hint="--template")
    if project is None and template is None and os.environ.get(TEMPLATE_ENV):
        return Path(os.environ[TEMPLATE_ENV])  # relative to the current folder, as SAM reads it
    return template or project


def _is_project_option(arg: str) -> bool:
    """`--template x` (and `--template=x`), `-t x`; `-tx` is a short option with its value attached."""
    if arg.startswith("--"):
        return arg.split("=", 1)[0] in PROJECT_FLAGS
    return arg in PROJECT_FLAGS or (len(arg) > 2 and arg[:2] in PROJECT_FLAGS)


def _command_index(args: list[str]) -> int:
    """Where the command's name is: after the root's own options (each with its value)."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in PROJECT_FLAGS:
            index += 2
        elif arg.startswith("-") and arg != "-":
            index += 1  # --option=value, -pVALUE, --help
        else:
            return index
    return index


def hoist_project_options(args: list[str]) -> list[str]:
    """Project options written after the command move to just before it, so the root reads them; placed
    after the root's own, they win over those given before the command (click keeps an option's last
    value). Nothing after `--` moves."""
    at = _command_index(args)
    command, moved = [], []
    index = at
    while index < len(args):
        arg = args[index]
        if arg == "--":
            command += args[index:]
            break
        if _is_project_option(arg):
            takes_next = arg in PROJECT_FLAGS and index + 1 < len(args)
            moved += args[index : index + (2 if takes_next else 1)]
            index += 2 if takes_next else 1
            continue
        command.append(arg)
        index += 1
    return [*args[:at], *moved, *command]


def spread_parameter_overrides(args: list[str]) -> list[str]:
    """SAM's `--parameter-overrides A=1 B=2` takes every override that follows it; click takes one value
    an option, so each further one becomes an option of its own (quoted: a value keeps its spaces)."""
    spread: list[str] = []
    state = "outside"  # "value": the next word is the option's value; "after": more overrides may follow
    for index, arg in enumerate(args):
        if arg == "--":
            return [*spread, *args[index:]]
        if state == "after" and OVERRIDE.fullmatch(arg):
            spread += ["--parameter-overrides", shlex.quote(arg)]
            continue
        spread.append(arg)
        if arg == "--parameter-overrides":
            state = "value"
        elif arg.startswith("--parameter-overrides="):
            state = "after"
        else:
            state = "after" if state == "value" else "outside"
    return spread


EPILOG = (
    "Project options, before or after the command: --project/-p PATH, --template/--template-file/-t FILE "
    f"(default ${TEMPLATE_ENV}), --parameter-overrides Key=Value ..., --env-vars FILE, "
    "--credentials local|developer, --profile NAME."
)


class ProjectGroup(TyperGroup):
    """The root `lsim` group: the project options are read wherever they are on the command line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        groups: list[Any] = [self]
        while groups:  # every command's help says where the project options go
            for command in groups.pop().commands.values():
                if hasattr(command, "commands"):
                    groups.append(command)
                elif command.epilog is None:
                    command.epilog = EPILOG

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_project_options(spread_parameter_overrides(args)))
