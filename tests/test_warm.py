"""The one book of idle execution environments (warm.py): what admission counts as warm is what really runs
warm, whatever retires or scales environments in. The book alone on a VirtualClock, the controller with it,
then real processes through the Simulator."""

from __future__ import annotations

from pathlib import Path

from simulator.blocking import BlockingSimulator
from simulator.clock import VirtualClock
from simulator.concurrency import ConcurrencyController
from simulator.config import Limits
from simulator.project import load_project
from simulator.store import Store
from simulator.warm import PROVISIONED, RESET, WarmEnvironments

from .conftest import HERE

T0 = 1_700_000_000.0


def test_the_most_recently_used_is_taken_first_and_the_others_scale_in() -> None:
    clock = VirtualClock(0)
    book: WarmEnvironments[str] = WarmEnvironments(clock, idle_timeout_s=10, keep_expired=True)
    book.put("f", "$LATEST", "older")
    clock.advance(5)
    book.put("f", "$LATEST", "newer")
    assert book.take("f", "$LATEST") == "newer"
    book.put("f", "$LATEST", "newer")
    clock.advance(6)  # "older" has been idle 11 s, past the idle timeout
    assert book.idle("f") == 1
    assert book.take("f", "$LATEST") == "newer"
    assert book.take("f", "$LATEST") is None
    assert book.reap() == ["older"]  # handed out once, to be stopped
    assert book.reap() == []


def test_reset_and_provisioned_environments_are_not_warm_ones() -> None:
    clock = VirtualClock(0)
    book: WarmEnvironments[str] = WarmEnvironments(clock, idle_timeout_s=10)
    book.put("f", "1", "reset", RESET)
    book.put("f", "1", "provisioned", PROVISIONED)
    assert book.take("f", "1") is None  # neither is on the warm shelf admission takes from
    clock.advance(3600)
    assert book.take("f", "1", RESET) is None  # scaled in like a warm one
    assert book.take("f", "1", PROVISIONED) == "provisioned"  # never scaled in


def test_a_retired_environment_is_a_cold_start_for_admission() -> None:
    clock = VirtualClock(0)
    controller = ConcurrencyController(Limits(), clock)
    controller.release(controller.admit("f"))
    assert controller.function_statistics("f").idle_environments == 1
    retired = controller.warm.retire("f")
    assert len(retired) == 1
    lease = controller.admit("f")
    assert lease.cold and lease.environment is None
    statistics = controller.function_statistics("f")
    assert (statistics.cold_starts, statistics.environments, statistics.idle_environments) == (2, 1, 0)


def test_after_a_configuration_change_admission_counts_the_cold_start_that_happens(tmp_path: Path) -> None:
    project = load_project(HERE / "project")
    with BlockingSimulator(project, backend="process", store=Store(tmp_path / ".lsim")) as lsim:
        controller = lsim.simulator.concurrency.controller
        assert lsim.invoke("echo").cold_start
        assert not lsim.invoke("echo").cold_start
        lsim.call(lsim.simulator.update_function_configuration("echo", timeout=5))  # retires $LATEST
        assert lsim.simulator.warm.idle("echo") == 0
        result = lsim.invoke("echo")
        assert result.ok and result.cold_start
        assert controller.function_statistics("echo").cold_starts == 2
        assert not lsim.invoke("echo").cold_start


def test_the_idle_timeout_runs_on_the_injected_clock(tmp_path: Path) -> None:
    project = load_project(HERE / "project")
    clock = VirtualClock(T0)
    with BlockingSimulator(project, backend="process", store=Store(tmp_path / ".lsim"), clock=clock) as lsim:
        controller = lsim.simulator.concurrency.controller
        assert lsim.invoke("echo").cold_start
        clock.advance(project.limits.idle_timeout_s - 1)
        assert not lsim.invoke("echo").cold_start  # within the idle timeout: warm
        clock.advance(project.limits.idle_timeout_s + 1)
        result = lsim.invoke("echo")
        assert result.ok and result.cold_start  # scaled in: a new environment, and admission says so
        assert controller.function_statistics("echo").cold_starts == 2
        lsim.call(lsim.simulator.placement.reap())  # what the reaper does every few seconds
        (pool,) = [p for (name, _), p in lsim.simulator.pools().items() if name == "echo"]
        assert pool.size == 1 and pool.idle == 1  # the one scaled in is stopped
