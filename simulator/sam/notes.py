"""How reading a template speaks: what lsim leaves out, said once with its line, and errors that stop the
load, with file, line and fix."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import ProjectFileError

Warn = Callable[[str], None]


def stderr(message: str) -> None:
    print(message, file=sys.stderr)


class Notes:
    """What one template's reader says, each message once."""

    def __init__(self, source: str, warn: Warn, said: set[str] | None = None) -> None:
        self.source = source
        self._warn = warn
        self.said_before: set[str] = set() if said is None else said  # shared by the templates of one load

    def report(self, line: int, message: str) -> None:
        """Say once what lsim leaves out, with the line it is on."""
        said = f"{self.source}:{line}: {message}"
        if said not in self.said_before:
            self.said_before.add(said)
            self._warn(said)

    def unsupported(self, line: int, what: str, hint: str = "") -> None:
        self.report(line, f"{what} not supported by lsim: ignored" + (f" ({hint})" if hint else ""))

    def error(self, line: int, message: str) -> ProjectFileError:
        return ProjectFileError(f"{self.source}:{line}: {message}")


def display(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when it is below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative
