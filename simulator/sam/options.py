"""What the `sam` command line and samconfig.toml add to a template: `--parameter-overrides`, `--env-vars`,
and the stack name and region of samconfig.toml."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..cfn import text
from ..config import FunctionConfig, ProjectConfig, check_environment
from ..errors import ProjectFileError
from .notes import Warn, stderr


def parse_parameter_overrides(items: Iterable[str]) -> dict[str, str]:
    """SAM's forms: `Key=Value Key2='two words'` (one string or several) and
    `ParameterKey=Key,ParameterValue=Value`."""
    overrides: dict[str, str] = {}
    for item in items:
        try:
            tokens = shlex.split(item)
        except ValueError as exc:
            raise ProjectFileError(f"--parameter-overrides {item!r}: {exc}; quote values with spaces") from None
        for token in tokens:
            long_form = re.fullmatch(r"ParameterKey=([^,]+),ParameterValue=(.*)", token)
            key, sep, value = (long_form[1], "=", long_form[2]) if long_form else token.partition("=")
            if not sep or not key:
                raise ProjectFileError(
                    f"--parameter-overrides {token!r}: write KEY=VALUE (for example Stage=prod), several "
                    "separated by spaces"
                )
            overrides[key] = value
    return overrides


def apply_env_vars(project: ProjectConfig, path: Path, warn: Warn | None = None) -> ProjectConfig:
    """`--env-vars FILE` in SAM's format, `{"FunctionName": {"VAR": "value"}, "Parameters": {...}}`:
    "Parameters" applies to every function, a function's own entry wins: under its logical ID, its name or
    its path in nested stacks, as `sam local` finds it (the first of them in the file). Unlike `sam local`, any variable
    is set, not only those the template declares; Lambda's rules (reserved keys, 4 KB) still apply."""
    where, warn = f"--env-vars {path}", warn or stderr
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProjectFileError(f"{where}: cannot read it ({exc.strerror}); give an existing JSON file") from None
    except ValueError as exc:
        raise ProjectFileError(f"{where}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ProjectFileError(
            f'{where}: expected {{"FunctionName": {{"VAR": "value"}}, "Parameters": {{"VAR": "value"}}}}'
        )
    for key in data:
        if key != "Parameters" and key not in project.functions and key not in project.function_ids:
            warn(f"{where}: no function named {key} in the project: its variables are ignored")
    functions: dict[str, FunctionConfig] = {}
    for name, function in project.functions.items():
        own: dict[str, Any] = next((data[k] for k in data if k == name or name in project.function_ids.get(k, ())), {})
        extra = {**data.get("Parameters", {}), **own}
        if not extra:
            functions[name] = function
            continue
        environment = {**function.environment, **{str(k): text(v) for k, v in extra.items()}}
        try:
            check_environment(environment, project.limits)
        except ValueError as exc:
            raise ProjectFileError(f"{where}: {name}: {exc}") from None
        functions[name] = function.model_copy(update={"environment": environment})
    return project.model_copy(update={"functions": functions})


def samconfig(root: Path) -> dict[str, Any]:
    """stack_name and region of samconfig.toml's default environment, as `sam deploy` would use them."""
    path = root / "samconfig.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    found: dict[str, Any] = {}
    default = data.get("default")
    for section in ("global", "deploy"):
        table = default.get(section) if isinstance(default, dict) else None
        parameters = table.get("parameters") if isinstance(table, dict) else None
        if not isinstance(parameters, dict):
            continue
        for key in ("stack_name", "region"):
            if isinstance(parameters.get(key), str):
                found[key] = parameters[key]
    return found


def stack_name(folder: str) -> str:
    """A stack name from the folder's name: letters, digits and '-', starting with a letter."""
    name = re.sub(r"[^A-Za-z0-9-]", "-", folder).strip("-")
    return name if name[:1].isalpha() else f"lsim-{name}".rstrip("-")
