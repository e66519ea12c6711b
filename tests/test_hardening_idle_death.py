"""A warm execution environment that dies while idle is replaced, not charged: the next invocation gets a
fresh environment (a cold start), as on Lambda.

The defect: an idle environment whose runtime had exited (a background thread calling os._exit, a kill)
was handed the next invocation, which failed with Runtime.ExitError although it never ran; an Event
invocation spent a retry on it (with no retries left, it was dead-lettered).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from simulator.blocking import BlockingSimulator
from simulator.project import load_project
from simulator.store import Store

APP = '''
import os, threading, time, uuid

ENVIRONMENT = uuid.uuid4().hex  # one per execution environment


def orphan(event, context):
    """Leaves a child holding the runtime's output open, then ends the runtime: lsim sees the Runtime
    API connection close at once, but learns of the exit only when the child lets go of the pipe."""
    import subprocess
    subprocess.Popen(["sleep", str(event["hold"])])
    def die():
        time.sleep(0.1)
        os._exit(1)
    threading.Thread(target=die, daemon=True).start()
    return {"environment": ENVIRONMENT}


def handler(event, context):
    """Returns at once; with "exit_after", a background thread ends the runtime shortly after."""
    if "exit_after" in event:
        def die():
            time.sleep(event["exit_after"])
            os._exit(1)
        threading.Thread(target=die, daemon=True).start()
    return {"environment": ENVIRONMENT}
'''

PROJECT = """
[functions.victim]
handler = "app.handler"
runtime = "python3.11"
code = "src"

[functions.killed]
handler = "app.handler"
runtime = "python3.11"
code = "src"

[functions.orphan]
handler = "app.orphan"
runtime = "python3.11"
code = "src"
timeout = 30

[functions.eventful]
handler = "app.handler"
runtime = "python3.11"
code = "src"
maximum_retry_attempts = 0  # a spent attempt would dead-letter the event at once
"""

ROUNDS = 200  # bounded waits: at most ROUNDS x 0.05 s


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("idle-death")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(APP)
    (root / "lsim.toml").write_text(PROJECT)
    return root


@pytest.fixture(scope="module")
def docker_lsim(folder: Path) -> Iterator[BlockingSimulator]:
    with BlockingSimulator(load_project(folder), backend="docker", store=Store(folder / ".lsim")) as lsim:
        yield lsim


def containers(lsim: BlockingSimulator, function: str, status: str | None = None) -> list[str]:
    """This simulator's containers of `function` (never another developer's)."""
    assert lsim.simulator.backend is not None
    labels = [f"lsim.session={lsim.simulator.backend.session}", f"lsim.function={function}"]  # type: ignore[attr-defined]
    filters: dict[str, object] = {"label": labels}
    if status is not None:
        filters["status"] = status
    return [c.id for c in docker.from_env().containers.list(all=True, filters=filters)]


def wait_until_exited(lsim: BlockingSimulator, function: str) -> None:
    for _ in range(ROUNDS):
        if containers(lsim, function, status="exited"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{function}'s runtime never exited")


@pytest.mark.docker
def test_an_environment_that_died_while_idle_is_replaced(docker_lsim: BlockingSimulator) -> None:
    first = docker_lsim.invoke("victim", {"exit_after": 0.2})
    assert first.function_error is None and first.cold_start
    wait_until_exited(docker_lsim, "victim")
    second = docker_lsim.invoke("victim", {})
    assert second.function_error is None, second.body
    assert second.cold_start and second.payload["environment"] != first.payload["environment"]
    third = docker_lsim.invoke("victim", {})  # and the fresh one stays warm
    assert not third.cold_start and third.payload["environment"] == second.payload["environment"]


@pytest.mark.docker
def test_a_container_killed_just_before_the_invocation_is_replaced(docker_lsim: BlockingSimulator) -> None:
    """`docker kill` right before invoking: lsim may not know yet that the runtime is gone (the race
    between acquire and hand-out); the invocation never reached it and runs in a fresh environment."""
    first = docker_lsim.invoke("killed", {})
    (container,) = containers(docker_lsim, "killed")
    docker.from_env().api.kill(container)
    second = docker_lsim.invoke("killed", {})
    assert second.function_error is None, second.body
    assert second.cold_start and second.payload["environment"] != first.payload["environment"]


@pytest.mark.docker
def test_an_event_runs_once_in_a_fresh_environment_without_spending_a_retry(docker_lsim: BlockingSimulator) -> None:
    warm = docker_lsim.invoke("eventful", {"exit_after": 0.2})
    assert warm.function_error is None
    wait_until_exited(docker_lsim, "eventful")
    accepted = docker_lsim.invoke("eventful", {"n": 1}, invocation_type="Event")
    assert accepted.status_code == 202
    status = "queued"
    for _ in range(ROUNDS):
        status = docker_lsim.call(docker_lsim.simulator.event_status(accepted.request_id))
        if status not in ("queued", "running"):
            break
        time.sleep(0.05)
    assert status == "done"
    assert docker_lsim.call(docker_lsim.simulator.list_dead_letters("eventful")) == []
    (metrics,) = docker_lsim.call(docker_lsim.simulator.get_metrics("eventful"))
    assert metrics.sum("Invocations") == 2 and metrics.sum("Errors") == 0  # the warm-up and the event, once


def running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        return "\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_the_process_backend_replaces_an_environment_that_died_while_idle(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(APP.replace("uuid.uuid4().hex", "str(os.getpid())"))
    (tmp_path / "lsim.toml").write_text(PROJECT)
    with BlockingSimulator(load_project(tmp_path), backend="process", store=Store(tmp_path / ".lsim")) as lsim:
        first = lsim.invoke("victim", {"exit_after": 0.1})
        for _ in range(ROUNDS):
            if not running(int(first.payload["environment"])):
                break
            time.sleep(0.05)
        second = lsim.invoke("victim", {})
        assert second.function_error is None, second.body
        assert second.cold_start and second.payload["environment"] != first.payload["environment"]


def test_a_runtime_gone_before_the_hand_out_is_not_charged(tmp_path: Path) -> None:
    """The race: the idle environment is handed the invocation before lsim knows its runtime exited.
    The runtime's `next` never hands it out (its connection is gone), and once the exit is known the
    invocation runs in a fresh environment instead of failing with Runtime.ExitError."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(APP.replace("uuid.uuid4().hex", "str(os.getpid())"))
    (tmp_path / "lsim.toml").write_text(PROJECT)
    with BlockingSimulator(load_project(tmp_path), backend="process", store=Store(tmp_path / ".lsim")) as lsim:
        first = lsim.invoke("orphan", {"hold": 2})
        for _ in range(ROUNDS):
            if not running(int(first.payload["environment"])):
                break
            time.sleep(0.05)
        idle = lsim.simulator.warm.idle_environments("orphan", "$LATEST")
        assert not idle[-1]._sandbox._exit.done()  # lsim does not know yet: admission hands it out
        second = lsim.invoke("orphan", {"hold": 0})
        assert second.function_error is None, second.body
        assert second.cold_start and second.payload["environment"] != first.payload["environment"]
