"""Where an execution environment's runtime process lives: a Docker container or a local process.

This package is the seam that owns Docker; nothing outside it imports docker:
- `base.py`: the small interface (SandboxBackend, Sandbox: start, wait, stats, stop) the rest of lsim uses;
- `docker.py` (containers) and `process.py` (local processes, the fallback): its two backends;
- `engine.py`: connecting to the engine, and docker-py's errors turned into lsim's, in one place;
- `labels.py`: the labels on everything lsim creates, and the filters that find it again;
- `images.py`, `vpc_image.py`: the images lsim builds itself; `network.py`: VPCs as Docker networks;
- `leftovers.py`: what killed lsim processes left, found by label and removed; `scratch.py`: /tmp disks;
  `sockets.py`: which sandbox a Runtime API connection comes from.
"""

from __future__ import annotations

from collections.abc import Callable

from .base import ExitStatus, Sandbox, SandboxBackend, SandboxSpec

__all__ = ["ExitStatus", "Sandbox", "SandboxBackend", "SandboxSpec", "select_backend"]


def select_backend(name: str = "auto", warn: Callable[[str], None] | None = None) -> SandboxBackend:
    """The backend called `name`; "auto" is Docker when an engine answers, else the process backend
    with a one-line warning."""
    from .docker import DockerBackend
    from .engine import docker_problem
    from .process import ProcessBackend

    if name == "docker":
        return DockerBackend(warn)
    if name == "process":
        return ProcessBackend()
    if name != "auto":
        raise ValueError(f"unknown backend {name!r}: choose docker, process or auto")
    problem = docker_problem()
    if problem is None:
        return DockerBackend(warn)
    if warn:
        warn(f"warning: {problem}; falling back to --backend process (see README: 'The process backend')")
    return ProcessBackend()
