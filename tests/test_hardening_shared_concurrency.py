"""Hardening item 10: two lsim processes on one project share its concurrency, and a killed one's slots come back.

Two real `lsim serve` processes run one project whose function reserves 4. The function holds its slot
until the test opens a gate (a file in its code folder, seen through the /var/task mount), so which
invocations were admitted is decided by admission alone, not by timing: an admitted one prints `started ID`
(read from its lsim's console), a throttled one is answered 429 at once.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .cli import lsim
from .lsim_processes import Serve, serve

pytestmark = pytest.mark.docker

RESERVED = 4
FUNCTION = f"held{uuid.uuid4().hex[:8]}"  # this module's own: nothing else on the engine has it
WAIT_ROUNDS = 600  # bounded waits: at most this many polls of 0.05 s
HANDLER = """
import os, time

def handler(event, context):
    print(f"started {event['id']}", flush=True)
    gate = "/var/task/gate-" + event["gate"]
    for _ in range(1800):
        if os.path.exists(gate):
            return {"id": event["id"]}
        time.sleep(0.05)
    return {"id": event["id"], "gate": "never opened"}
"""


class Round:
    """Concurrent invocations, spread over lsim processes, held until the gate opens."""

    def __init__(self, code: Path, targets: list[Serve]) -> None:
        self.code = code
        self.gate = uuid.uuid4().hex[:8]
        self.ids = [f"{self.gate}-{n}" for n in range(len(targets))]
        self.targets = dict(zip(self.ids, targets, strict=True))
        self.answers: dict[str, tuple[int, dict[str, Any]]] = {}
        self.threads = [threading.Thread(target=self._one, args=(i,), daemon=True) for i in self.ids]
        for thread in self.threads:
            thread.start()

    def _one(self, invocation: str) -> None:
        self.answers[invocation] = self.targets[invocation].invoke(FUNCTION, {"id": invocation, "gate": self.gate})

    def started(self) -> set[str]:
        return {i for i in self.ids for line in self.targets[i].lines if f"started {i}" in line}

    def throttled(self) -> set[str]:
        return {i for i, (status, _) in list(self.answers.items()) if status == 429}

    def settle(self) -> tuple[set[str], set[str]]:
        """Wait (bounded) until every invocation is either running or refused; (running, refused)."""
        for _ in range(WAIT_ROUNDS):
            running, refused = self.started(), self.throttled()
            if len(running | refused) == len(self.ids):
                break
            threading.Event().wait(0.05)
        return self.started(), self.throttled()

    def finish(self) -> dict[str, tuple[int, dict[str, Any]]]:
        (self.code / f"gate-{self.gate}").touch()
        for thread in self.threads:
            thread.join(timeout=120)
        return self.answers


@pytest.fixture
def project(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "held.py").write_text(HANDLER)
    (tmp_path / "lsim.toml").write_text(
        f'[functions.{FUNCTION}]\nhandler = "held.handler"\nruntime = "python3.11"\ncode = "{code}"\n'
        f"timeout = 120\nreserved_concurrency = {RESERVED}\n"
    )
    return tmp_path


@pytest.fixture
def two(project: Path) -> Iterator[tuple[Serve, Serve]]:
    first = serve(project, quiet=False)
    second = serve(project, quiet=False)
    yield first, second
    second.stop()
    first.stop()
    cleaned = lsim("--project", str(project), "clean")  # what a killed one left
    assert cleaned.returncode == 0, cleaned.stderr


def test_reserved_concurrency_holds_across_two_lsim_processes(project: Path, two: tuple[Serve, Serve]) -> None:
    first, second = two
    held = Round(project / "code", [first] * 4 + [second] * 4)
    running, refused = held.settle()
    answers = held.finish()
    ok = [i for i, (status, _) in answers.items() if status == 200]
    throttles = [body for status, body in answers.values() if status == 429]
    # the defect: each process admitted up to 4 of its own, 8 in all
    assert len(ok) == RESERVED and len(throttles) == 8 - RESERVED, answers
    assert set(ok) == running and refused == set(answers) - running
    assert {body.get("Reason") for body in throttles} == {"ReservedFunctionConcurrentInvocationLimitExceeded"}
    assert {body.get("Type") for body in throttles} == {"User"}


def test_a_killed_processes_slots_are_given_back(project: Path, two: tuple[Serve, Serve]) -> None:
    first, second = two
    held = Round(project / "code", [first, first, second, second])
    running, refused = held.settle()
    assert len(running) == RESERVED and not refused, held.answers
    first.kill()  # it dies holding 2 of the 4 slots
    answers = held.finish()
    assert [answers[i][0] for i in held.ids if held.targets[i] is second] == [200, 200]
    # the survivor gets all 4 once it has noticed (bounded: it checks its peers about once a second)
    for _ in range(40):
        again = Round(project / "code", [second] * RESERVED)
        running, refused = again.settle()
        answers = again.finish()
        if len(running) == RESERVED:
            break
        assert len(running) + len(refused) == RESERVED, answers
    assert len(running) == RESERVED and all(status == 200 for status, _ in answers.values()), answers
