"""What killed lsim processes left behind, found by owner and removed: containers, networks, /tmp disks
and staging folders.

A process's objects carry its project and owner (labels.py, lifetime.py). `find()` selects:
- by default, one project's objects whose owner process is gone: what `Simulator.start()` and `lsim clean`
  remove, so two live lsim processes on a project never touch each other's containers;
- with ``projects=None, dead_only=False`` (`lsim clean --all`), every lsim container and network on the
  engine, live or not and of any project or lsim version, and every /tmp disk under the system temp folder.
Runtime images and the shared ``lsim`` bridge network are never leftovers. docker-py is synchronous: call
these from a worker thread.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..lifetime import dead_run_folders, owner_alive
from . import labels
from .engine import docker_errors, list_containers
from .network import remove_network
from .scratch import remove_scratch, scratch_leftovers

_ROLE_ORDER = {"eni": 0, "resource": 1}  # function containers join ENIs' namespaces: they go first


@dataclass(frozen=True)
class Leftover:
    """One Docker object: its id, name, project and owner (empty for an older lsim's), and whether that
    owner still runs."""

    kind: str  # container | network
    id: str
    name: str
    project: str
    owner: str
    alive: bool
    role: str = ""


@dataclass
class Leftovers:
    containers: list[Leftover] = field(default_factory=list)
    networks: list[Leftover] = field(default_factory=list)
    disks: list[Path] = field(default_factory=list)  # owner folders of /tmp disks (scratch.py)
    staging: list[Path] = field(default_factory=list)  # .lsim/run/<owner> folders

    def __bool__(self) -> bool:
        return bool(self.containers or self.networks or self.disks or self.staging)

    def describe(self) -> list[str]:
        """One line per object, for `lsim clean` to say what it removed."""
        lines = [
            f"{o.kind} {o.name} (project {o.project or '?'}, owner {o.owner or '?'}, "
            f"{'running' if o.alive else 'gone'})"
            for o in [*self.containers, *self.networks]
        ]
        lines += [f"/tmp disks {path}" for path in self.disks]
        lines += [f"staging folder {path}" for path in self.staging]
        return lines


def _leftover(kind: str, item: Any, name: str) -> Leftover:
    tags: dict[str, str] = (item.labels if kind == "container" else item.attrs.get("Labels")) or {}
    owner = tags.get(labels.OWNER, "")
    return Leftover(
        kind, item.id, name, tags.get(labels.PROJECT, ""), owner, bool(owner) and owner_alive(owner),
        tags.get(labels.ROLE, ""),
    )  # fmt: skip


def _chosen(item: Leftover, projects: set[str] | None, dead_only: bool) -> bool:
    if projects is not None and item.project not in projects:
        return False
    # with dead_only, an owner lsim cannot check (an older lsim's object) is never taken
    return not (dead_only and (item.alive or not item.owner))


def find(
    client: Any | None,
    projects: set[str] | None,
    *,
    dead_only: bool = True,
    state_folder: Path | None = None,
) -> Leftovers:
    """What to remove: objects of `projects` (None: of every project and lsim version), of dead owners
    only unless `dead_only` is False; `state_folder` (a project's .lsim) adds its dead run folders."""
    found = Leftovers()
    if client is not None:
        with docker_errors("Docker could not list lsim's containers and networks"):
            for container in list_containers(client, labels.selector()):
                item = _leftover("container", container, container.name)
                if _chosen(item, projects, dead_only):
                    found.containers.append(item)
            found.containers.sort(key=lambda o: _ROLE_ORDER.get(o.role, -1))
            for network in client.networks.list(filters=labels.selector()):
                item = _leftover("network", network, network.name)
                if item.role in ("vpc", "internet") and _chosen(item, projects, dead_only):
                    found.networks.append(item)
    found.disks = scratch_leftovers(projects, dead_only)
    if state_folder is not None:
        found.staging = dead_run_folders(state_folder)
    return found


def remove(client: Any | None, leftovers: Leftovers) -> Leftovers:
    """Remove what `find` chose (containers, then networks, then disks and folders); returns what went."""
    import shutil

    gone = Leftovers()
    if client is not None:
        for item in leftovers.containers:
            with contextlib.suppress(Exception):  # gone already
                client.api.remove_container(item.id, force=True, v=True)
                gone.containers.append(item)
        for item in leftovers.networks:
            with contextlib.suppress(Exception):
                if remove_network(client.networks.get(item.id)):
                    gone.networks.append(item)
    for folder in leftovers.disks:
        remove_scratch(folder)
        gone.disks.append(folder)
    for folder in leftovers.staging:
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            gone.staging.append(folder)
    return gone


def remove_dead(client: Any | None, project: str, state_folder: Path) -> Leftovers:
    """What `Simulator.start()` does first: remove what killed lsim processes left of `project`, with the
    Docker client when the backend has one; returns what went."""
    found = find(client, {project}, state_folder=state_folder)
    return remove(client, found) if found else found
