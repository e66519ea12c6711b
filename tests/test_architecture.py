"""The architecture's rules, checked by the suite and by `make lint`: the import contracts written in
pyproject.toml ([tool.importlinter]), and no module in simulator/ longer than it can be read in one sitting
without a reason written at its top."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

import simulator

from .conftest import REPO

PACKAGE = REPO / "simulator"
#: lint-imports in a process of its own, with this folder's pyproject.toml
LINT_IMPORTS = (
    "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
)
#: a module longer than this says why in its docstring, on a line starting "Long because:"
LONGEST_LINES = 600


def test_the_import_contracts_hold(capsys: pytest.CaptureFixture[str]) -> None:
    assert Path(simulator.__file__).parent == PACKAGE, "the contracts must be checked on this checkout"
    kept = lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert kept == 0, report


def test_the_contracts_catch_each_kind_of_breach(tmp_path: Path) -> None:
    """A copy of the package with one breach of each contract fails them all: the contracts are not empty
    words (an import only for type checking counts; so does one through another module)."""
    shutil.copytree(PACKAGE, tmp_path / "simulator", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    breaches = {
        "clock.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import docker\n",  # core, docker
        "loadtest/plot.py": "from .. import pytest_plugin\n",  # faces
        "environment.py": "import aiohttp\n",  # aiohttp
        "sandbox/labels.py": "from .. import environment\n",  # layers
        "through_serve/record.py": "import pydantic\n",  # the warm CLI path
    }
    for module, breach in breaches.items():
        with (tmp_path / "simulator" / module).open("a") as source:
            source.write(f"\n{breach}")
    done = subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )  # a process of its own: this one has already imported the real package
    assert done.returncode == 1, done.stdout + done.stderr
    for contract in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]:
        assert f"{contract['name']} BROKEN" in done.stdout, done.stdout
    for illegal in (
        "simulator.clock -> docker",
        "simulator.loadtest.plot -> simulator.pytest_plugin",
        "simulator.environment -> aiohttp",
        "simulator.sandbox.labels -> simulator.environment",
        "simulator.through_serve.record -> pydantic",
    ):
        assert illegal in done.stdout, done.stdout


def _named_in_contracts() -> set[str]:
    """Every simulator module a contract names (optional layer entries too)."""
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    names: set[str] = set()
    for contract in contracts:
        for key in ("source_modules", "forbidden_modules", "modules", "allowed_importers", "protected_modules"):
            names.update(contract.get(key, ()))
        for layer in contract.get("layers", ()):
            for entry in layer.replace("|", ":").split(":"):
                for container in contract.get("containers", ()):
                    names.add(f"{container}.{entry.strip().strip('()')}")
    return names


def test_every_module_belongs_to_a_group_of_the_contracts() -> None:
    """A module of simulator/ that no contract names could import anything: name it in pyproject.toml."""
    top_level = {f"simulator.{path.stem}" for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    top_level |= {f"simulator.{path.parent.name}" for path in PACKAGE.glob("*/__init__.py")}
    unnamed = sorted(top_level - _named_in_contracts())
    assert not unnamed, f"{', '.join(unnamed)}: name each in a contract of pyproject.toml ([tool.importlinter])"


def _modules() -> list[str]:
    return sorted(str(path.relative_to(REPO)) for path in PACKAGE.rglob("*.py"))


def _length_problem(name: str) -> str | None:
    """Why the module breaks the length rule, or None."""
    source = (REPO / name).read_text()
    lines = len(source.splitlines())
    if lines <= LONGEST_LINES:
        return None
    docstring = ast.get_docstring(ast.parse(source)) or ""
    reasons = [line.strip() for line in docstring.splitlines() if line.strip().startswith("Long because:")]
    if any(reason.removeprefix("Long because:").strip() for reason in reasons):
        return None
    return (
        f"{name} has {lines} lines (over {LONGEST_LINES}): split it by meaning, or give the reason in its "
        'module docstring on a line starting "Long because:"'
    )


@pytest.mark.parametrize("name", _modules())
def test_a_long_module_says_why(name: str) -> None:
    problem = _length_problem(name)
    assert problem is None, problem
