"""Shared fixtures: the test project, and simulators on each backend (real containers, real processes)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.blocking import BlockingSimulator
from simulator.config import ProjectConfig
from simulator.project import load_project

HERE = Path(__file__).parent
REPO = HERE.parent


def pytest_configure(config: pytest.Config) -> None:
    """lsim's user-level folder (the account's layers) is a temporary one for the whole session (one per
    xdist worker), never the real ~/.lsim; the `lsim` processes tests start inherit it. A test that needs an
    account of its own sets LSIM_HOME itself (`own_lsim_home`)."""
    home = tempfile.mkdtemp(prefix="lsim-home-")
    os.environ["LSIM_HOME"] = home
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))


@pytest.fixture(scope="module")
def module_lsim_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An account store shared by one module's tests (a module whose server outlives one test)."""
    home = tmp_path_factory.mktemp("lsim-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LSIM_HOME", str(home))
        yield home


@pytest.fixture
def own_lsim_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An account store of this test's own, for a test that counts layer versions."""
    home = tmp_path_factory.mktemp("lsim-home")
    monkeypatch.setenv("LSIM_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def project() -> ProjectConfig:
    return load_project(HERE / "project")


@pytest.fixture(scope="session")
def docker_lsim(project: ProjectConfig) -> Iterator[BlockingSimulator]:
    """One simulator on Docker for the whole session: environments stay warm between tests."""
    with BlockingSimulator(project, backend="docker") as lsim:
        yield lsim


@pytest.fixture(scope="session")
def process_lsim(project: ProjectConfig) -> Iterator[BlockingSimulator]:
    with BlockingSimulator(project, backend="process") as lsim:
        yield lsim


def lsim_containers() -> list[str]:
    import docker

    client = docker.from_env()
    return [c.id for c in client.containers.list(all=True, filters={"label": "lsim.managed=1"})]


def wait_until_idle(lsim: BlockingSimulator, function: str, version: str = "$LATEST", timeout: float = 20) -> None:
    """Wait until one of the function's environments is idle again. An invocation's answer comes back when the
    function responds, but with an external extension the environment stays busy until the extension calls
    event/next (as on Lambda), so an invocation sent at once may rightly get a new environment."""
    import time

    deadline = time.monotonic() + timeout
    while not lsim.simulator.warm.idle_environments(function, version):
        assert time.monotonic() < deadline, f"no environment of {function}:{version} became idle in {timeout} s"
        time.sleep(0.05)
