"""Secrets kept out of lsim.toml: an environment value `secret:NAME` stands for NAME's value in the
project's secrets file (`[settings] secrets_file`, a dotenv file you keep out of version control).

The value reaches the function's environment; everything lsim prints (config show, the API's
GetFunctionConfiguration, errors) shows `***` instead. Lambda itself has no such references: this is
lsim's stand-in for the values teams keep in a secrets manager.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InvalidParameterValueException

if TYPE_CHECKING:
    from .config import ProjectConfig

PREFIX = "secret:"
MASK = "***"


def parse_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments skipped; optional quotes and `export ` removed."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep:
            raise InvalidParameterValueException(f"{path}:{number}: expected KEY=VALUE, found {line!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def resolve(environment: dict[str, str], project: ProjectConfig) -> dict[str, str]:
    """The environment with every `secret:NAME` replaced by its value from the secrets file."""
    references = {k: v[len(PREFIX) :] for k, v in environment.items() if v.startswith(PREFIX)}
    if not references:
        return environment
    path = project.settings.secrets_file
    if path is None:
        raise InvalidParameterValueException(
            f"environment variable {next(iter(references))} refers to a secret, but [settings] secrets_file is not "
            'set in lsim.toml: add secrets_file = ".secrets.env" (KEY=VALUE lines, kept out of version control)'
        )
    file = path if path.is_absolute() else project.root / path
    if not file.is_file():
        raise InvalidParameterValueException(f"secrets file {file} does not exist: create it with KEY=VALUE lines")
    secrets = parse_dotenv(file)
    missing = sorted(name for name in references.values() if name not in secrets)
    if missing:
        raise InvalidParameterValueException(f"secret(s) {', '.join(missing)} not found in {file}: add them there")
    return {k: secrets[references[k]] if k in references else v for k, v in environment.items()}


def masked(environment: dict[str, str]) -> dict[str, str]:
    """What may be printed: secret references shown as ***."""
    return {k: MASK if v.startswith(PREFIX) else v for k, v in environment.items()}
