"""The Docker engine: the one place lsim connects to it and turns docker-py's errors into lsim's.

docker-py raises its own exceptions (`docker.errors.*`, with `NotFound` for a missing object) and, when the
engine cannot be reached, `requests`' ones. Everything under sandbox/ that talks to the engine gets its client
from `connect()` and wraps its calls in `docker_errors()` (a failure becomes an LsimError that names the
problem and the fix) or `ignoring_docker_errors()` (an object already gone, a race another process won). So
the rest of lsim, the CLI included, sees only LsimError and never imports docker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import DockerUnavailableError, LsimError

if TYPE_CHECKING:
    import docker

START_HINT = (
    "start it with `sudo dockerd > /var/log/dockerd.log 2>&1 &` (or `sudo systemctl start docker`), "
    "or run `make setup`, which installs and starts it; or use --backend process"
)


def connect(*, timeout: int = 60, max_pool_size: int | None = None) -> docker.DockerClient:
    """A client of the engine that DOCKER_HOST (or the default socket) names, after a ping; when none answers,
    DockerUnavailableError saying how to start one."""
    import docker

    options = {} if max_pool_size is None else {"max_pool_size": max_pool_size}
    try:
        client = docker.from_env(timeout=timeout, **options)
        client.ping()
    except Exception as exc:  # docker-py raises several unrelated types here
        raise DockerUnavailableError(f"no Docker engine is reachable: {START_HINT} ({exc})") from exc
    return client


def connect_or_none(*, timeout: int = 30) -> docker.DockerClient | None:
    """A client, or None when no engine answers (for work that has something to do without one)."""
    try:
        return connect(timeout=timeout)
    except DockerUnavailableError:
        return None


def docker_problem() -> str | None:
    """None when a Docker engine answers; otherwise what is wrong and how to fix it."""
    try:
        connect(timeout=5).close()
    except DockerUnavailableError as error:
        cause = error.__cause__
        return f"no Docker engine is reachable ({type(cause).__name__}): {START_HINT}"
    return None


def _errors() -> tuple[type[Exception], ...]:
    """What docker-py raises: its own errors, and requests' when the engine cannot be reached."""
    import docker.errors
    import requests.exceptions

    return docker.errors.DockerException, requests.exceptions.RequestException


def explanation(error: Exception) -> str:
    """The engine's own words for a failure (its `explanation`), else the exception's text."""
    return str(getattr(error, "explanation", None) or error)


@contextlib.contextmanager
def docker_errors(
    message: str | Callable[[Exception], str],
    error: type[LsimError] = DockerUnavailableError,
    *,
    missing: str | None = None,
) -> Iterator[None]:
    """Docker's errors inside the block become `error`: with `missing`'s text when the object is not found
    (when given), else `message(exc)`, or "`message`: what Docker said"."""
    import docker.errors

    try:
        yield
    except _errors() as exc:
        if missing is not None and isinstance(exc, docker.errors.NotFound):
            raise error(missing) from exc
        raise error(message(exc) if callable(message) else f"{message}: {exc}") from exc


@contextlib.contextmanager
def ignoring_docker_errors(*, missing_only: bool = False) -> Iterator[None]:
    """Docker's errors inside the block are ignored (the object is gone already, another process made it
    first); with `missing_only`, only "not found"."""
    import docker.errors

    with contextlib.suppress(*((docker.errors.NotFound,) if missing_only else _errors())):
        yield


def list_containers(client: docker.DockerClient, filters: dict[str, list[str]], *, stopped: bool = True) -> list[Any]:
    """lsim's containers that `filters` select (stopped ones too unless `stopped` is False). Other lsim
    processes remove their own containers at any moment: one gone between the list and its inspect is
    skipped, never an error."""
    return list(client.containers.list(all=stopped, filters=filters, ignore_removed=True))
