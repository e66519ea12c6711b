"""Finding and reading the project file, `lsim.toml` (or a SAM template), into a ProjectConfig.

Errors name the file, the field, what Lambda allows and the fix, so a user never has to guess. The SAM
reader (YAML, CloudFormation's intrinsic functions) is imported only for a template.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .config import FunctionConfig, Limits, ProjectConfig, Settings
from .errors import ProjectFileError
from .gateway.models import ApiDeclaration, FrontDoorError, front_door
from .queues.declarations import parse_toml_queues
from .vpc import VpcConfig, check_function_vpcs

if TYPE_CHECKING:
    from .sam import Warn

PROJECT_FILE = "lsim.toml"


def find_project_file(start: Path | None = None) -> Path:
    """The nearest lsim.toml in `start` (default: the current folder) or one of its parents; a folder with
    no lsim.toml but a SAM template (template.yaml, .yml, .json) gives that template."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
        template = _template_in(folder)
        if template is not None:
            return template
    raise ProjectFileError(
        f"no {PROJECT_FILE} found (nor a SAM template.yaml) in {here} or any parent folder: create one (see the "
        "README's 'Project file' section) or pass --project PATH (--template FILE for a SAM template)"
    )


def _template_in(folder: Path) -> Path | None:
    """The SAM template in `folder`, if any, asked only where there is no lsim.toml: the SAM reader brings YAML's
    and CloudFormation's parsers, which an lsim.toml project never needs."""
    from .sam import find_template

    return find_template(folder)


def project_file_of(path: Path | None) -> Path:
    """The file a project option names: the nearest project file when none is given, a folder's lsim.toml
    (or its SAM template) when a folder is."""
    if path is None:
        return find_project_file()
    if path.is_dir():
        return path / PROJECT_FILE if (path / PROJECT_FILE).is_file() else _template_in(path) or path / PROJECT_FILE
    return path


def load_project(
    path: Path | None = None,
    *,
    parameter_overrides: Iterable[str] = (),
    env_vars: Path | None = None,
    warn: Warn | None = None,
) -> ProjectConfig:
    """Read and validate a project file (lsim.toml, or a SAM template); `path` may be the file or its
    folder. `parameter_overrides` (SAM's `Key=Value`) set a template's Parameters; `env_vars` is SAM's
    `--env-vars` JSON, applied to either kind. `warn` hears what a template uses that lsim leaves out."""
    path = project_file_of(path)
    if path.suffix.lower() == ".toml" and not parameter_overrides and env_vars is None:
        return _load_toml(path)  # the common case, without the SAM reader
    from .sam import apply_env_vars, is_template, load_template, parse_parameter_overrides

    if not path.is_file():
        wanted = "SAM template (template.yaml)" if is_template(path) else PROJECT_FILE
        raise ProjectFileError(f"{path}: no such project file; pass the path of an existing {wanted}")
    overrides = parse_parameter_overrides(parameter_overrides)
    if is_template(path):
        project = load_template(path, parameter_overrides=overrides, warn=warn)
        check_front_door(project)
    else:
        if overrides:
            raise ProjectFileError(
                f"{path}: --parameter-overrides sets a SAM template's Parameters; an lsim.toml has none "
                "(use --env-vars to override environment variables)"
            )
        project = _load_toml(path)
    if env_vars is not None:
        project = apply_env_vars(project, env_vars, warn=warn)
    return project


def only_functions(project: ProjectConfig, names: Iterable[str]) -> ProjectConfig:
    """The project with only the functions named (all of them when none is): `lsim serve F1 F2`. A name is
    a function's name or another name that finds one function (a template's logical ID, SubApp/FunctionA).
    The others are left out as if the project file had not defined them, so Lambda's API answers for them as
    for any unknown function (ResourceNotFoundException)."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return project
    found = {name: _served_name(project, name) for name in wanted}
    unknown = [name for name, function_name in found.items() if function_name is None]
    if unknown:
        known = ", ".join(sorted(project.functions)) or "none"
        raise ProjectFileError(f"no function named {', '.join(unknown)} in {project.root}: the project defines {known}")
    served = {function_name: project.functions[function_name] for function_name in found.values() if function_name}
    for function_name in _authorizers_of(project, served):  # a served route's authorizer runs too
        served.setdefault(function_name, project.functions[function_name])
    ids = {other: names for other, names in project.function_ids.items() if set(names) <= set(served)}
    return project.model_copy(update={"functions": served, "function_ids": ids})


def _authorizers_of(project: ProjectConfig, functions: dict[str, FunctionConfig]) -> list[str]:
    """The authorizer functions the API routes of these functions need."""
    table = front_door(project)
    needed = [
        table.apis[route.api].authorizers[route.authorizer].function
        for route in table.routes
        if route.function in functions and route.authorizer not in (None, "AWS_IAM")
    ]
    return [name for name in needed if name in project.functions]


def _served_name(project: ProjectConfig, name: str) -> str | None:
    if name in project.functions:
        return name
    names = project.function_ids.get(name, [])
    return names[0] if len(names) == 1 else None


def _load_toml(path: Path) -> ProjectConfig:
    if not path.is_file():
        raise ProjectFileError(f"{path}: no such project file; pass the path of an existing {PROJECT_FILE}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProjectFileError(f"{path}: not valid TOML: {exc}") from exc
    return parse_project(data, root=path.parent, source=str(path))


def parse_project(data: dict[str, Any], *, root: Path, source: str = PROJECT_FILE) -> ProjectConfig:
    """Validate the parsed TOML: limits first, since the functions are checked against them."""
    unknown = set(data) - {"settings", "limits", "functions", "vpcs", "queues", "apis"}
    if unknown:
        raise ProjectFileError(
            f"{source}: unknown table(s) {', '.join(sorted(unknown))}: lsim.toml has [settings], [limits], "
            "[functions.NAME], [vpcs.NAME], [queues.NAME] and [apis.NAME]"
        )
    limits = _validated(Limits, data.get("limits", {}), source, "limits")
    settings = _validated(Settings, data.get("settings", {}), source, "settings")
    functions: dict[str, FunctionConfig] = {}
    for name, table in (data.get("functions") or {}).items():
        if not isinstance(table, dict):
            raise ProjectFileError(f"{source}: functions.{name} must be a table ([functions.{name}])")
        table = _front_door_places(table, source, f"functions.{name}")
        function = _validated(FunctionConfig, {**table, "name": name}, source, f"functions.{name}", limits=limits)
        if function.code is not None:
            code = (root / function.code).resolve()
            if not code.is_dir():
                raise ProjectFileError(
                    f"{source}: functions.{name}.code: folder {code} does not exist; point 'code' at the "
                    "folder that holds your handler module, relative to lsim.toml"
                )
            function = function.model_copy(update={"code": code})
        functions[name] = function
    vpcs = _parse_vpcs(data.get("vpcs") or {}, functions, source)
    queues = parse_toml_queues(data.get("queues") or {}, source, settings.region, settings.account_id)
    apis: dict[str, ApiDeclaration] = {}
    for name, table in (data.get("apis") or {}).items():
        if not isinstance(table, dict):
            raise ProjectFileError(f"{source}: apis.{name} must be a table ([apis.{name}])")
        apis[name] = _validated(
            ApiDeclaration, _front_door_places(table, source, f"apis.{name}"), source, f"apis.{name}"
        )
    project = ProjectConfig(
        root=root, settings=settings, limits=limits, functions=functions, vpcs=vpcs, queues=queues, apis=apis
    )
    check_front_door(project)
    return project


def check_front_door(project: ProjectConfig) -> None:
    """Refuse, at load, routes the front door could not serve (an unknown API or authorizer, a route twice)."""
    try:
        front_door(project)
    except FrontDoorError as error:
        raise ProjectFileError(str(error)) from None


def _front_door_places(table: dict[str, Any], source: str, where: str) -> dict[str, Any]:
    """The table with `declared_at` set on its API events, function URL and authorizers, for errors."""
    table = dict(table)
    if isinstance(table.get("events"), dict):
        table["events"] = {
            name: {**event, "declared_at": f"{source} [{where}.events.{name}]"}
            if isinstance(event, dict) and str(event.get("type", "")).lower() in ("api", "httpapi")
            else event
            for name, event in table["events"].items()
        }
    if isinstance(table.get("url"), dict):
        table["url"] = {**table["url"], "declared_at": f"{source} [{where}.url]"}
    if isinstance(table.get("authorizers"), dict):

        def place(name: str) -> str:
            return f"{source} [{where}.authorizers.{name}]"

        table["authorizers"] = {
            name: {**value, "declared_at": f"{source} [{where}.authorizers.{name}]"}
            if isinstance(value, dict)
            else value
            for name, value in table["authorizers"].items()
        }
    return table


def _parse_vpcs(tables: dict[str, Any], functions: dict[str, FunctionConfig], source: str) -> dict[str, VpcConfig]:
    """`[vpcs.NAME]` tables (vpc.py), then the rules that span VPCs and functions."""
    vpcs: dict[str, VpcConfig] = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ProjectFileError(f"{source}: vpcs.{name} must be a table ([vpcs.{name}])")
        vpcs[name] = _validated(VpcConfig, {**table, "name": name}, source, f"vpcs.{name}")
    problems = check_function_vpcs(vpcs, functions)
    if problems:
        raise ProjectFileError("\n".join(f"{source}: {where}: {problem}" for where, problem in problems))
    return vpcs


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
