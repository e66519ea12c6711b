"""`lsim ...` run inside the test process through typer's CliRunner: the exit code, stdout and stderr a
spawned `lsim` would give, without starting a Python and importing lsim for every call.

A test about a real process spawns one instead (see lsim_processes.py): signals, kill -9, a stdin pipe,
the `python -m simulator.cli` entry point, several processes sharing one project.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from simulator.cli import app


@dataclass(frozen=True)
class Ran:
    """What one `lsim` command did, named as subprocess.CompletedProcess names it."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def lsim(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str | None] | None = None,
    stdin: str | bytes | None = None,
) -> Ran:
    """Run `lsim ARGS` in `cwd` (default: the current folder) with `env` added to the environment (None
    removes a variable) and `stdin` as its standard input. An exception the CLI does not turn into an exit
    code is raised here, with its traceback, where a process would die with exit code 1."""
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        runner = CliRunner()  # click 8.2 and later keep stderr apart
    with contextlib.chdir(cwd) if cwd is not None else contextlib.nullcontext():
        result = runner.invoke(app, list(args), input=stdin, env=dict(env or {}), prog_name="lsim")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(tuple(args), result.exit_code, result.stdout, result.stderr)
