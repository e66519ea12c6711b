"""A function's requirements.txt, installed by lsim as `sam build` would: for Lambda's platform, cached by
content in a user-level cache, built once even when processes race, never half-written, at /var/task beside
the code (read-only), rebuilt when the file changes, and a clear error naming the requirement pip could not
install.

Real pip against the package index with two tiny packages: six (a pure-Python wheel) and MarkupSafe (a
manylinux wheel with a C extension, for the runtime's CPython); real containers where the point is /var/task.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import simulator.dependencies as dependencies
from simulator import Simulator, load_project
from simulator.dependencies import DependencyInstallError, dependency_key, install_dependencies

from .conftest import REPO

REQUIREMENTS = "six==1.16.0\nmarkupsafe==2.1.5\n"
APP = """
import errno
import sys

import markupsafe
import six

import shadow


def handler(event, context):
    try:
        open("/var/task/written", "w")
        writable = True
    except OSError as error:
        writable = errno.errorcode[error.errno]
    return {
        "six": six.__file__,
        "markupsafe": markupsafe.__file__,
        "speedups": markupsafe.escape.__module__,
        "shadow": shadow.WHO,
        "writable": writable,
        "path": sys.path[:2],
    }
"""


def write_project(folder: Path, requirements: str = REQUIREMENTS) -> Path:
    code = folder / "src"
    code.mkdir(parents=True)
    (code / "app.py").write_text(APP)
    (code / "shadow.py").write_text("WHO = 'the code'\n")  # a package of the same name must not win
    (code / "requirements.txt").write_text(requirements)
    (folder / "lsim.toml").write_text(
        '[functions.deps]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\n'
    )
    return folder


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "dependency-cache"
    monkeypatch.setenv(dependencies.CACHE_ENV, str(folder))
    return folder


def invoke(folder: Path, backend: str) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async with Simulator(load_project(folder), backend=backend, event_queue=False) as lsim:
            result = await lsim.invoke("deps", {})
            assert result.function_error is None, result.body
            return json.loads(result.body)

    return asyncio.run(run())


def count_pip_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every pip command dependencies.py runs, still run for real."""
    runs: list[list[str]] = []
    real = subprocess.run

    def counted(command: list[str], **options: Any) -> Any:
        runs.append(command)
        return real(command, **options)

    monkeypatch.setattr(dependencies.subprocess, "run", counted)
    return runs


@pytest.mark.docker
def test_packages_sit_in_a_read_only_var_task_beside_the_code(tmp_path: Path, cache: Path) -> None:
    answer = invoke(write_project(tmp_path / "project"), "docker")
    assert answer["six"] == "/var/task/six.py"
    assert answer["markupsafe"] == "/var/task/markupsafe/__init__.py"
    assert answer["speedups"] == "markupsafe._speedups"  # the manylinux wheel's C extension loads
    assert answer["shadow"] == "the code"
    assert answer["writable"] == "EROFS"
    assert answer["path"][0] == "/var/task"
    [entry] = [p for p in cache.iterdir() if p.is_dir()]
    assert entry.name == dependency_key(REQUIREMENTS.encode(), "python3.11", "x86_64")


def test_the_process_backend_puts_them_right_after_the_code(tmp_path: Path, cache: Path) -> None:
    folder = write_project(tmp_path / "project")
    answer = invoke(folder, "process")
    entry = cache / dependency_key(REQUIREMENTS.encode(), "python3.11", "x86_64")
    assert answer["path"] == [str(folder / "src"), str(entry)]
    assert answer["six"] == str(entry / "six.py") and answer["shadow"] == "the code"


def test_a_cached_requirements_file_runs_no_pip_and_a_changed_one_is_installed_anew(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six==1.16.0\n")
    runs = count_pip_runs(monkeypatch)
    first = install_dependencies(requirements, "python3.12", "x86_64", "fn")
    again = install_dependencies(requirements, "python3.12", "x86_64", "fn")
    elsewhere = tmp_path / "other-project"
    elsewhere.mkdir()
    (elsewhere / "requirements.txt").write_text("six==1.16.0\n")  # another project, the same content
    shared = install_dependencies(elsewhere / "requirements.txt", "python3.12", "x86_64", "fn")
    assert first == again == shared and (first / "six.py").is_file()
    assert len(runs) == 1
    command = runs[0]
    for option in ("--only-binary=:all:", "--target"):
        assert option in command
    assert command[command.index("--platform") + 1] == "manylinux2014_x86_64"
    assert command[command.index("--python-version") + 1] == "3.12"
    assert command[command.index("--implementation") + 1] == "cp"
    arm = install_dependencies(requirements, "python3.12", "arm64", "fn")  # another platform: its own entry
    assert arm != first and len(runs) == 2 and runs[1][runs[1].index("--platform") + 1] == "manylinux2014_aarch64"
    requirements.write_text("six==1.15.0\n")
    changed = install_dependencies(requirements, "python3.12", "x86_64", "fn")
    assert changed != first and len(runs) == 3
    assert '__version__ = "1.15.0"' in (changed / "six.py").read_text()


RACE = """
import sys
from pathlib import Path
from simulator.dependencies import install_dependencies
folder = install_dependencies(Path(sys.argv[1]), "python3.11", "x86_64", "fn", say=lambda line: print(line, flush=True))
print("folder", folder, flush=True)
"""


def test_two_processes_racing_build_it_once(tmp_path: Path, cache: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(REQUIREMENTS)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    racers = [
        subprocess.Popen([sys.executable, "-c", RACE, str(requirements)], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [racer.communicate(timeout=600)[0] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], outputs
    assert sum("lsim: installing" in output for output in outputs) == 1, outputs
    folders = {line for output in outputs for line in output.splitlines() if line.startswith("folder ")}
    assert len(folders) == 1
    assert sorted(p.name for p in cache.iterdir() if p.is_dir()) == [Path(folders.pop().split()[1]).name]


def test_a_build_killed_midway_leaves_nothing_half_written(tmp_path: Path, cache: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(REQUIREMENTS)
    racer = subprocess.Popen(
        [sys.executable, "-c", RACE, str(requirements)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # pip is killed with it
    )
    assert racer.stdout is not None
    assert racer.stdout.readline().startswith("lsim: installing")  # pip runs now
    os.killpg(racer.pid, signal.SIGKILL)
    racer.wait(60)
    key = dependency_key(REQUIREMENTS.encode(), "python3.11", "x86_64")
    assert not (cache / key).exists()
    folder = install_dependencies(requirements, "python3.11", "x86_64", "fn")
    assert folder == cache / key and (folder / "six.py").is_file() and (folder / "markupsafe").is_dir()
    assert [p.name for p in cache.iterdir() if p.name.startswith(".")] == []  # the killed build's folder went


def test_a_requirement_pip_cannot_install_is_named_with_the_fix(tmp_path: Path, cache: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("six==1.16.0\nsix-does-not-exist-lsim==9.9.9\n")
    with pytest.raises(DependencyInstallError) as raised:
        install_dependencies(requirements, "python3.11", "x86_64", "orders")
    message = str(raised.value)
    assert message.startswith(f"{requirements} (function orders): pip found no wheel of six-does-not-exist-lsim==9.9.9")
    assert "manylinux2014_x86_64, CPython 3.11, wheels only" in message
    assert "https://pypi.org/project/six-does-not-exist-lsim/#files" in message
    assert not any(p.is_dir() for p in cache.iterdir())  # nothing cached, no temporary folder left


def test_the_cli_says_it_and_exits_2(tmp_path: Path, cache: Path) -> None:
    from .cli import lsim

    folder = write_project(tmp_path / "project", requirements="six-does-not-exist-lsim==9.9.9\n")
    done = lsim("invoke", "deps", "--backend", "process", "--no-serve", cwd=folder)
    assert done.returncode == 2
    assert "pip found no wheel of six-does-not-exist-lsim==9.9.9" in done.stderr


def test_a_changed_requirements_file_reaches_the_next_cold_start(tmp_path: Path, cache: Path) -> None:
    """What `--watch` does on a change in the code folder (retire the function's environments), then the
    next cold start installs the new file."""
    folder = write_project(tmp_path / "project", requirements="six==1.16.0\nmarkupsafe==2.1.5\n")

    async def run() -> tuple[str, str]:
        async with Simulator(load_project(folder), backend="process", event_queue=False) as lsim:
            before = json.loads((await lsim.invoke("deps", {})).body)["six"]
            (folder / "src" / "requirements.txt").write_text("six==1.15.0\nmarkupsafe==2.1.5\n")
            await lsim.retire("deps")
            after = json.loads((await lsim.invoke("deps", {})).body)["six"]
            return before, after

    before, after = asyncio.run(run())
    assert before != after
    assert '__version__ = "1.15.0"' in Path(after).read_text()


def test_what_sam_build_produced_is_run_as_it_is(tmp_path: Path) -> None:
    from simulator.dependencies import requirements_of

    built = tmp_path / ".aws-sam" / "build" / "HelloFunction"
    built.mkdir(parents=True)
    (built / "requirements.txt").write_text("six\n")  # sam build copies it beside the packages it installed
    assert requirements_of(built, "python3.11") is None
    source = tmp_path / "hello"
    source.mkdir()
    (source / "requirements.txt").write_text("six\n")
    assert requirements_of(source, "python3.11") == source / "requirements.txt"
    assert requirements_of(source, "provided.al2023") is None  # a custom runtime builds its own
