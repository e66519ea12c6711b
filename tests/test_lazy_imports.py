"""What a module costs to import is part of its behaviour: `lsim --help` and `lsim generate-event` must not load
the web server, Docker's client or the Simulator, and the execution environment must not need a web framework.

Each check runs in a fresh interpreter and asks `sys.modules` what got imported (no timing: the start-up
figures are benchmarks/bench_cli.py's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

HEAVY = ["aiohttp", "docker", "pydantic", "rich", "yaml", "simulator.simulator", "simulator.config"]


def loaded_after(code: str, cwd: Path | None = None) -> set[str]:
    """The HEAVY modules present in `sys.modules` after running `code` in a new interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_package_loads_nothing_heavy() -> None:
    assert loaded_after("import simulator") == set()


def test_the_public_names_still_import_from_the_package() -> None:
    loaded = loaded_after("from simulator import Simulator, BlockingSimulator, load_project, InvocationResult")
    assert {"aiohttp", "simulator.simulator"} <= loaded
    import simulator

    assert set(simulator.__all__) <= set(dir(simulator))
    with pytest.raises(AttributeError):
        _ = simulator.NoSuchName  # type: ignore[attr-defined]


def test_the_cli_loads_nothing_heavy_to_define_its_commands() -> None:
    assert loaded_after("import simulator.cli") == set()


def test_lsim_help_prints_plain_text_without_the_heavy_modules() -> None:
    code = "import sys\nfrom simulator.cli import app\nsys.argv = ['lsim', '--help']\ntry:\n    app()\nexcept SystemExit:\n    pass"
    assert loaded_after(code) == set()


def test_generate_event_needs_no_web_server_nor_docker(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom simulator.cli import app\n"
        "sys.argv = ['lsim', 'generate-event', 'sqs', 'receive-message', '--region', 'eu-west-1', "
        "'--account-id', '111122223333']\ntry:\n    app()\nexcept SystemExit:\n    pass"
    )
    loaded = loaded_after(code, cwd=tmp_path)
    assert not loaded & {"aiohttp", "docker", "rich", "simulator.simulator", "simulator.config"}


def test_the_execution_environment_and_the_channels_need_no_web_framework() -> None:
    assert "aiohttp" not in loaded_after("import simulator.environment, simulator.channels")
    assert "docker" not in loaded_after("import simulator.environment, simulator.channels")


def test_an_lsim_toml_project_loads_without_the_sam_reader() -> None:
    code = f"from pathlib import Path\nfrom simulator.project import load_project\nload_project(Path({str(REPO / 'tests' / 'project')!r}))"
    assert "yaml" not in loaded_after(code)
    template = REPO / "samples" / "sam-app"
    assert "yaml" in loaded_after(
        f"from pathlib import Path\nfrom simulator.project import load_project\nload_project(Path({str(template)!r}))"
    )
