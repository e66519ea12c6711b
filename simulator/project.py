"""Finding and reading the project file, `lsim.toml`, into a ProjectConfig.

Errors name the file, the field, what Lambda allows and the fix, so a user never has to guess.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .config import FunctionConfig, Limits, ProjectConfig, Settings
from .errors import ProjectFileError

PROJECT_FILE = "lsim.toml"


def find_project_file(start: Path | None = None) -> Path:
    """The nearest lsim.toml in `start` (default: the current folder) or one of its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    raise ProjectFileError(
        f"no {PROJECT_FILE} found in {here} or any parent folder: create one (see the README's "
        "'Project file' section) or pass --project PATH"
    )


def load_project(path: Path | None = None) -> ProjectConfig:
    """Read and validate a project file; `path` may be the file or its folder."""
    if path is None:
        path = find_project_file()
    elif path.is_dir():
        path = path / PROJECT_FILE
    if not path.is_file():
        raise ProjectFileError(f"{path}: no such project file; pass the path of an existing {PROJECT_FILE}")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ProjectFileError(f"{path}: not valid TOML: {exc}") from exc
    return parse_project(data, root=path.parent, source=str(path))


def parse_project(data: dict[str, Any], *, root: Path, source: str = PROJECT_FILE) -> ProjectConfig:
    """Validate the parsed TOML: limits first, since the functions are checked against them."""
    unknown = set(data) - {"settings", "limits", "functions"}
    if unknown:
        raise ProjectFileError(
            f"{source}: unknown table(s) {', '.join(sorted(unknown))}: lsim.toml has [settings], [limits] "
            "and [functions.NAME]"
        )
    limits = _validated(Limits, data.get("limits", {}), source, "limits")
    settings = _validated(Settings, data.get("settings", {}), source, "settings")
    functions: dict[str, FunctionConfig] = {}
    for name, table in (data.get("functions") or {}).items():
        if not isinstance(table, dict):
            raise ProjectFileError(f"{source}: functions.{name} must be a table ([functions.{name}])")
        function = _validated(
            FunctionConfig, {**table, "name": name}, source, f"functions.{name}", limits=limits
        )
        if function.code is not None:
            code = (root / function.code).resolve()
            if not code.is_dir():
                raise ProjectFileError(
                    f"{source}: functions.{name}.code: folder {code} does not exist; point 'code' at the "
                    "folder that holds your handler module, relative to lsim.toml"
                )
            function = function.model_copy(update={"code": code})
        functions[name] = function
    return ProjectConfig(root=root, settings=settings, limits=limits, functions=functions)


def _validated(model: Any, data: Any, source: str, where: str, limits: Limits | None = None) -> Any:
    try:
        return model.model_validate(data, context={"limits": limits or Limits()})
    except ValidationError as exc:
        raise ProjectFileError(_explain(exc, source, where)) from None


def _explain(exc: ValidationError, source: str, where: str) -> str:
    """One line per problem: `lsim.toml: functions.hello.memory_size: 64 MB is out of range: ...`."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(part) for part in (where, *error["loc"]))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key: remove it or check its spelling in the README's 'Project file' section"
        lines.append(f"{source}: {field}: {message}")
    return "\n".join(lines)
