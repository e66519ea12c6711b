"""Throttling with real containers, in real time: reserved concurrency caps what runs at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.blocking import BlockingSimulator
from simulator.concurrency import RESERVED_LIMIT
from simulator.errors import TooManyRequestsException
from simulator.invocation import InvocationResult
from simulator.project import load_project

from .conftest import HERE

pytestmark = pytest.mark.docker

PROJECT = f"""
[functions.slow]
handler = "handlers.sleepy"
runtime = "python3.11"
code = "{HERE / "project" / "src"}"
timeout = 30
reserved_concurrency = 2
"""


@pytest.fixture(scope="module")
def lsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockingSimulator]:
    root: Path = tmp_path_factory.mktemp("concurrency")
    (root / "lsim.toml").write_text(PROJECT)
    with BlockingSimulator(load_project(root), backend="docker") as simulator:
        yield simulator


def six_at_once(lsim: BlockingSimulator, seconds: float) -> list[InvocationResult | BaseException]:
    async def all_six() -> list[InvocationResult | BaseException]:
        calls = [lsim.simulator.invoke("slow", {"seconds": seconds}) for _ in range(6)]
        return await asyncio.gather(*calls, return_exceptions=True)

    return lsim.call(all_six(), timeout=120)


def test_reserved_concurrency_2_lets_2_of_6_run_and_throttles_4(lsim: BlockingSimulator) -> None:
    before = {m.function_name: m for m in lsim.call(lsim.simulator.get_metrics("slow"))}.get("slow")
    outcomes = six_at_once(lsim, 2)
    ran = [o for o in outcomes if isinstance(o, InvocationResult)]
    throttles = [o for o in outcomes if isinstance(o, TooManyRequestsException)]
    assert len(ran) == 2 and len(throttles) == 4, outcomes
    assert all(r.ok and r.payload == {"slept": 2} for r in ran)
    assert {t.reason for t in throttles} == {RESERVED_LIMIT}
    assert all(t.status == 429 and t.message == "Rate Exceeded." for t in throttles)
    # the slots were held for the whole invocations, and given back when they ended
    assert lsim.simulator.concurrency.controller.function_statistics("slow").in_use == 0
    (metrics,) = lsim.call(lsim.simulator.get_metrics("slow"))
    throttled_before = before.throttles if before else 0
    invoked_before = before.invocations if before else 0
    assert metrics.throttles - throttled_before == 4
    assert metrics.invocations - invoked_before == 2  # throttled requests are not invocations
    assert metrics.throttles_by_reason[RESERVED_LIMIT] >= 4
    assert metrics.maximum("ConcurrentExecutions") == 2


def test_after_the_throttles_the_warm_environments_serve_again(lsim: BlockingSimulator) -> None:
    six_at_once(lsim, 0.5)
    result = lsim.invoke("slow", {"seconds": 0})
    assert result.ok and not result.cold_start


def test_raising_the_reservation_by_command_lets_all_six_run(lsim: BlockingSimulator) -> None:
    lsim.call(lsim.simulator.put_function_concurrency("slow", 6))
    try:
        outcomes = six_at_once(lsim, 1)
        assert all(isinstance(o, InvocationResult) and o.ok for o in outcomes), outcomes
    finally:
        lsim.call(lsim.simulator.put_function_concurrency("slow", 2))


def test_throttled_requests_leave_no_container_behind(tmp_path: Path) -> None:
    import docker

    (tmp_path / "lsim.toml").write_text(PROJECT)
    with BlockingSimulator(load_project(tmp_path), backend="docker") as simulator:
        outcomes = six_at_once(simulator, 0.2)
        session = simulator.simulator.backend.session  # type: ignore[union-attr]
    assert sum(isinstance(o, TooManyRequestsException) for o in outcomes) == 4
    left = docker.from_env().containers.list(all=True, filters={"label": f"lsim.session={session}"})
    assert left == []
