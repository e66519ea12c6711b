"""Hardening item 9: a killed lsim leaves nothing for good, and cleanup never takes another process's objects.

Real `lsim serve` processes are SIGKILLed after an invocation made a container and its /tmp disk. Every
test finds its objects by a function name of its own (label lsim.function), so it never sees, let alone
removes, what other lsim processes on this Docker engine run; `lsim clean --all` is only run as a dry run
or scoped to the test's own projects (the hidden --only-project option).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from .cli import lsim
from .lsim_processes import SRC, Serve, serve

pytestmark = pytest.mark.docker


class Projects:
    """Temporary projects, each with one function of a unique name, and the lsim processes started on them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[Serve] = []
        self.functions: dict[Path, str] = {}

    def make(self) -> Path:
        function = f"left{uuid.uuid4().hex[:10]}"
        project = self.root / function
        project.mkdir()
        (project / "lsim.toml").write_text(
            f'[functions.{function}]\nhandler = "handlers.echo"\nruntime = "python3.11"\ncode = "{SRC}"\n'
        )
        self.functions[project] = function
        return project

    def serve(self, project: Path) -> Serve:
        started = serve(project)
        self.started.append(started)
        return started

    def run_one(self, project: Path) -> tuple[Serve, set[str]]:
        """Start lsim on the project and invoke its function; (the process, the containers it made)."""
        before = set(containers(self.functions[project]))
        started = self.serve(project)
        status, body = started.invoke(self.functions[project], {"hello": "leftovers"})
        assert status == 200, body
        made = set(containers(self.functions[project])) - before
        assert made, "the invocation ran in no container"
        return started, made


def containers(function: str) -> dict[str, str]:
    """The containers (any state) of a test's own function: id -> status."""
    client = docker.from_env()
    found = client.containers.list(all=True, filters={"label": [f"lsim.function={function}"]})
    return {c.id: c.status for c in found}


def tmp_disk(container_id: str) -> Path:
    """The host folder mounted at /tmp in the container: its loop-mounted disk."""
    mounts = docker.from_env().api.inspect_container(container_id)["Mounts"]
    (source,) = [m["Source"] for m in mounts if m["Destination"] == "/tmp"]
    return Path(source)


@pytest.fixture
def projects(tmp_path: Path) -> Iterator[Projects]:
    made = Projects(tmp_path)
    yield made
    for started in made.started:
        started.stop()
    for project in made.functions:
        lsim("--project", str(project), "clean")  # what a killed one left (this project's only)
    client = docker.from_env()
    for function in made.functions.values():  # whatever a failed test left: only this test's own
        for container_id in containers(function):
            disk = tmp_disk(container_id)
            client.api.remove_container(container_id, force=True)
            if os.path.ismount(disk):
                subprocess.run(["umount", "-l", str(disk)], check=False)  # the test's own disk


@pytest.fixture(autouse=True)
def root_for_disks() -> None:
    if os.geteuid() != 0:
        pytest.skip("/tmp is a disk only when lsim runs as root")


def test_the_next_lsim_on_the_project_removes_what_a_killed_one_left(projects: Projects) -> None:
    project = projects.make()
    first, made = projects.run_one(project)
    disks = {tmp_disk(container_id) for container_id in made}
    assert all(os.path.ismount(disk) for disk in disks)
    first.kill()
    # the defect: a killed lsim's execution environment and its mounted /tmp disk stay for good
    assert set(containers(projects.functions[project])) >= made
    assert all(os.path.ismount(disk) for disk in disks)

    second = projects.serve(project)  # it cleans while it starts, before it answers
    assert not set(containers(projects.functions[project])) & made
    assert not any(os.path.ismount(disk) or disk.exists() for disk in disks)
    assert not list((project / ".lsim" / "run").glob(f"*.{first.process.pid}.*"))
    status, _ = second.invoke(projects.functions[project])
    assert status == 200


def test_a_live_lsim_on_the_same_project_keeps_its_containers(projects: Projects) -> None:
    project = projects.make()
    function = projects.functions[project]
    dying, dead_made = projects.run_one(project)
    living, live_made = projects.run_one(project)  # a second live process on the same project
    assert not dead_made & live_made
    dying.kill()

    third = projects.serve(project)
    now = containers(function)
    assert not set(now) & dead_made
    assert all(now.get(container_id) == "running" for container_id in live_made)
    assert all(os.path.ismount(tmp_disk(container_id)) for container_id in live_made)
    # the live process still runs its warm environment; the newcomer never touched it
    status, _ = living.invoke(function)
    assert status == 200
    assert set(containers(function)) == set(now), "the live process needed a new environment"
    status, _ = third.invoke(function)
    assert status == 200


def test_clean_takes_this_projects_dead_leftovers_and_all_takes_everything(projects: Projects) -> None:
    from simulator.lifetime import project_id

    x, y = projects.make(), projects.make()
    dead_x, x_made = projects.run_one(x)
    live_y, y_live_made = projects.run_one(y)
    dead_y, y_dead_made = projects.run_one(y)
    dead_x.kill()
    dead_y.kill()

    listed = lsim("clean", "--all", "--dry-run")
    assert listed.returncode == 0, listed.stderr
    for container_id in x_made | y_live_made | y_dead_made:  # listed, live or not, and nothing removed
        name = docker.from_env().containers.get(container_id).name
        assert f"would remove container {name}" in listed.stdout
    assert set(containers(projects.functions[x])) >= x_made

    cleaned = lsim("--project", str(x), "clean")
    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed 1 container(s)" in cleaned.stdout, cleaned.stdout
    assert not set(containers(projects.functions[x])) & x_made
    y_now = containers(projects.functions[y])
    assert set(y_now) >= y_live_made | y_dead_made, "lsim clean in project X touched project Y"
    assert all(y_now[container_id] == "running" for container_id in y_live_made)
    assert live_y.invoke(projects.functions[y])[0] == 200

    _live_x, x_live_made = projects.run_one(x)
    disks = {tmp_disk(c) for c in x_live_made | y_live_made | y_dead_made}
    everything = lsim("clean", "--all", "--only-project", project_id(x), "--only-project", project_id(y))
    assert everything.returncode == 0, everything.stderr
    assert "removed 3 container(s)" in everything.stdout, everything.stdout
    assert not containers(projects.functions[x]) and not containers(projects.functions[y])
    assert not any(os.path.ismount(disk) for disk in disks)
