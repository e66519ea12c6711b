"""Shared fixtures: the test project, and simulators on each backend (real containers, real processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.blocking import BlockingSimulator
from simulator.config import ProjectConfig
from simulator.project import load_project

HERE = Path(__file__).parent
REPO = HERE.parent


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
