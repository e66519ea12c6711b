"""`lsim load-test`: shapes, real mode against real containers, model mode in virtual time, and the CLI."""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
from pathlib import Path

import pytest

from simulator.concurrency import RESERVED_LIMIT
from simulator.config import ProjectConfig
from simulator.loadtest import (
    LoadPlan,
    LoadReport,
    LoadRunner,
    LoadTestError,
    ModelAccount,
    ModelParameters,
    constant,
    constant_ms,
    parse_distribution,
    parse_duration,
    parse_rate,
    parse_shape,
    poisson,
    ramp,
    run_model,
    spike,
    step,
)
from simulator.project import load_project
from simulator.simulator import Simulator

from .cli import Ran
from .cli import lsim as run_lsim
from .conftest import HERE

SOURCE = HERE / "loadtest_project"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the load-test project, so each test starts with an empty `.lsim/` store."""
    shutil.copytree(SOURCE, tmp_path / "project", ignore=shutil.ignore_patterns(".lsim"))
    return tmp_path / "project"


@pytest.fixture
def project(root: Path) -> ProjectConfig:
    return load_project(root)


def account(project: ProjectConfig, name: str, qualifier: str | None = None) -> ModelAccount:
    return ModelAccount.of(Simulator(project, backend="process", event_queue=False), name, qualifier)


def assert_balanced(report: LoadReport) -> None:
    """Every request is exactly one of succeeded, function error, timeout, throttled (or unfinished)."""
    total = (
        report.succeeded
        + sum(report.function_errors.values())
        + report.timeouts
        + sum(report.throttled.values())
        + report.unfinished
    )
    assert total == report.sent, report.text()
    assert report.balanced and "balanced:" in report.accounting()
    assert sum(row.sent for row in report.timeline) == report.sent
    assert sum(row.throttled for row in report.timeline) == sum(report.throttled.values())


# -- shapes ------------------------------------------------------------------------------------------------
def test_constant_sends_rate_times_duration_at_even_gaps() -> None:
    arrivals = list(constant(10, 10).arrivals())
    assert len(arrivals) == 100 == constant(10, 10).count()
    assert arrivals[:3] == [0.0, 0.1, 0.2] and arrivals[-1] == pytest.approx(9.9)


@pytest.mark.parametrize(
    ("shape", "count"),
    [
        (ramp(10, 10), 50),  # 0 -> 10/s: the area of the triangle
        (ramp(20, 10, start_rate=10), 150),
        (step(10, 10, steps=4), 63),  # 2.5 s each at 2.5, 5, 7.5, 10/s: 62.5, so 63 (the first at 0)
        (spike(10, 10, factor=10, at=4, length=1), 190),  # 9 s at 10/s and 1 s at 100/s
        (parse_shape("spike:factor=5,at=20%,length=1s", 10, 10), 140),
    ],
)
def test_shapes_send_the_requests_their_rate_adds_up_to(shape, count) -> None:
    arrivals = list(shape.arrivals())
    assert len(arrivals) == count == shape.count()
    assert all(a < b for a, b in itertools.pairwise(arrivals))
    assert arrivals[0] >= 0 and arrivals[-1] < shape.duration_s


def test_shape_rates_are_functions_of_time() -> None:
    assert ramp(10, 10).rate_at(5) == pytest.approx(5)
    assert step(8, 8, steps=4).rate_at(3) == pytest.approx(4)
    assert spike(10, 10, factor=10, at=4, length=1).rate_at(4.5) == 100
    assert spike(10, 10, factor=10, at=4, length=1).rate_at(5.5) == 10
    burst = list(spike(10, 10, factor=10, at=4, length=1).arrivals())
    assert sum(1 for t in burst if 4 <= t < 5) == 100


def test_poisson_is_reproducible_by_seed_and_near_its_rate() -> None:
    shape = poisson(100, 100)
    first, again, other = list(shape.arrivals(7)), list(shape.arrivals(7)), list(shape.arrivals(8))
    assert first == again and first != other
    assert 9_500 < len(first) < 10_500
    gaps = [b - a for a, b in itertools.pairwise(first)]
    assert min(gaps) < 0.001 < 0.03 < max(gaps)  # random gaps, not a metronome


def test_what_users_type_is_parsed_or_refused_with_the_fix() -> None:
    assert parse_rate("50/s") == 50 and parse_rate("3000/min") == 50 and parse_rate("7") == 7
    assert parse_duration("30s") == 30 and parse_duration("500ms") == 0.5 and parse_duration("2m") == 120
    with pytest.raises(LoadTestError, match="give requests per second such as 50/s"):
        parse_rate("fast")
    with pytest.raises(LoadTestError, match="unknown shape; use one of constant, ramp, step, spike, poisson"):
        parse_shape("sine", 10, 10)
    with pytest.raises(LoadTestError, match="step takes steps"):
        parse_shape("step:factor=3", 10, 10)
    with pytest.raises(LoadTestError, match=r"give lognormal:200,50"):
        parse_distribution("lognormal:200")


# -- model mode ------------------------------------------------------------------------------------------------
def test_model_accounting_balances_with_errors_timeouts_and_cold_starts(project: ProjectConfig) -> None:
    # mixed has a 1 s timeout: half the draws of uniform 500-1500 ms time out
    plan = LoadPlan("mixed", 20, shape=poisson(50, 20))
    parameters = ModelParameters(
        duration=parse_distribution("uniform:500,1500"), init=constant_ms(200), errors={"OrderRejected": 0.1}
    )
    report = run_model(plan, account(project, "mixed"), parameters)
    assert_balanced(report)
    assert report.mode == "model" and report.sent > 900
    assert report.timeouts > 0.4 * report.sent
    assert set(report.function_errors) == {"OrderRejected"} and report.function_errors["OrderRejected"] > 0
    assert not report.throttled
    # a timeout resets its environment, so cold starts keep happening
    assert report.cold_starts > report.peak_concurrency
    assert report.init_duration_ms is not None and report.init_duration_ms.max == 200
    assert any("Sandbox.Timedout" in line for line in report.assumptions)


def test_model_retries_recover_throttled_requests_and_still_balance(project: ProjectConfig) -> None:
    plain = run_model(
        LoadPlan("slow", 10, shape=poisson(10, 10)),
        account(project, "slow"),
        ModelParameters(duration=constant_ms(500)),
    )
    retried = run_model(
        LoadPlan("slow", 10, shape=poisson(10, 10), retries=5),
        account(project, "slow"),
        ModelParameters(duration=constant_ms(500)),
    )
    for report in (plain, retried):
        assert_balanced(report)
        assert report.peak_concurrency == 2 == report.concurrency_limit
    assert set(retried.throttled_attempts) == {RESERVED_LIMIT}
    assert retried.recovered_by_retry > 0
    assert retried.succeeded > plain.succeeded and retried.throttled_count < plain.throttled_count


def test_model_event_invocations_are_retried_by_the_queue_until_they_run(project: ProjectConfig) -> None:
    plan = LoadPlan("slow", 10, shape=constant(10, 10), invocation_type="Event")
    report = run_model(plan, account(project, "slow"), ModelParameters(duration=constant_ms(500)))
    assert_balanced(report)
    # asynchronous: a throttled event goes back on the queue with backoff and runs later
    assert report.succeeded == 100 and not report.throttled
    assert report.throttled_attempts[RESERVED_LIMIT] > 0 and report.peak_concurrency == 2


def test_model_closed_loop_is_bounded_and_balances(project: ProjectConfig) -> None:
    plan = LoadPlan("slow", 5, concurrency=4, max_requests=5_000)
    report = run_model(plan, account(project, "slow"), ModelParameters(duration=constant_ms(500)))
    assert_balanced(report)
    assert report.sent == 5_000 and report.peak_concurrency == 2


def test_model_at_aws_scale_meets_the_account_limit(project: ProjectConfig) -> None:
    """10,000 requests a second at 200 ms need 2,000 environments; the account has 1,000 (less slow's 2)."""
    plan = LoadPlan("noop", 20, shape=constant(10_000, 20))
    report = run_model(
        plan,
        account(project, "noop"),
        ModelParameters(duration=parse_distribution("lognormal:200,50"), init=constant_ms(250)),
    )
    assert_balanced(report)
    assert report.sent == 200_000 and report.peak_concurrency == 998
    assert set(report.throttled) == {"ConcurrentInvocationLimitExceeded"}
    assert 0.4 < report.throttled_count / report.sent < 0.6


# -- real mode ------------------------------------------------------------------------------------------------
async def run_real(project: ProjectConfig, plan: LoadPlan) -> LoadReport:
    async with Simulator(project, backend="docker", event_queue=plan.invocation_type == "Event") as simulator:
        await simulator.prepare(plan.function_name)
        return await LoadRunner(simulator, plan).run()


@pytest.mark.docker
def test_real_and_model_agree_on_throttles(project: ProjectConfig) -> None:
    """Reserved concurrency 2, 10 requests a second of a 500 ms handler for 10 s: each environment serves
    one request in six (the next one due after 500 ms comes at 600), so about two thirds are throttled."""
    plan = LoadPlan("slow", 10, shape=constant(10, 10))
    real = asyncio.run(run_real(project, plan))
    model = run_model(plan, account(project, "slow"), ModelParameters(duration=constant_ms(500)))
    for report in (real, model):
        assert_balanced(report)
        assert report.sent == 100 and set(report.throttled) == {RESERVED_LIMIT}
        assert report.peak_concurrency == 2 and report.cold_starts == 2 == report.environments_created
    assert abs(real.throttled_count - model.throttled_count) <= 0.1 * model.throttled_count, (real.text(), model.text())
    # the load test's counts are lsim's own metrics
    assert real.lsim_counters["Throttles +"] == real.throttled_count
    assert real.lsim_counters["Invocations +"] == real.succeeded
    assert not real.notes, real.notes
    assert real.duration_ms is not None and real.duration_ms.p50 >= 500
    assert real.init_duration_ms is not None and real.init_duration_ms.count == 2


@pytest.mark.docker
def test_real_retries_back_off_and_every_attempt_is_counted(project: ProjectConfig) -> None:
    plan = LoadPlan("slow", 2, shape=constant(5, 2), retries=3)
    report = asyncio.run(run_real(project, plan))
    assert_balanced(report)
    assert report.throttled_attempts.get(RESERVED_LIMIT, 0) > 0 and report.recovered_by_retry > 0
    # lsim counted every throttled attempt, retried or not
    assert report.lsim_counters["Throttles +"] == report.throttled_count + report.retries
    assert not report.notes, report.notes


@pytest.mark.docker
def test_real_event_invocations_are_followed_through_the_queue(project: ProjectConfig) -> None:
    plan = LoadPlan("noop", 1, shape=constant(10, 1), invocation_type="Event")
    report = asyncio.run(run_real(project, plan))
    assert_balanced(report)
    assert report.sent == 10 and report.succeeded == 10 and report.unfinished == 0
    assert report.cold_starts >= 1 and report.peak_concurrency >= 1


@pytest.mark.docker
def test_real_closed_loop_keeps_clients_busy_and_stops_on_time(project: ProjectConfig) -> None:
    # 4 s: two cold starts (over a second each on a busy machine) still leave each slot time for more calls
    plan = LoadPlan("slow", 4, concurrency=3)
    report = asyncio.run(run_real(project, plan))
    assert_balanced(report)
    # two clients hold the two slots back to back; the third is throttled, pausing 1 ms between tries
    assert report.peak_concurrency == 2 and report.succeeded >= 4
    assert set(report.throttled) == {RESERVED_LIMIT} and report.throttled_count > 100
    assert all(row.sent == 0 for row in report.timeline if row.t >= 4)  # nothing sent after the duration


# -- the CLI ---------------------------------------------------------------------------------------------------
def lsim(root: Path, *args: str) -> Ran:
    return run_lsim(*args, cwd=root, env={"COLUMNS": "200"})


@pytest.mark.docker
def test_cli_real_run_with_events_writes_the_report_json_and_plot(root: Path) -> None:
    done = lsim(
        root,
        "load-test",
        "mixed",
        "--events",
        "events",
        "--rate",
        "6/s",
        "--duration",
        "2s",
        "--json",
        "report.json",
        "--plot",
        "report.png",
    )
    assert done.returncode == 0, done.stderr
    assert "lsim load-test mixed (real mode): constant 6/s for 2s" in done.stdout
    assert "accounting            balanced: 12 sent = 4 succeeded + 4 function errors + 4 timeouts" in done.stdout
    shape = json.loads((root / "report.json").read_text())
    assert shape["balanced"] is True and shape["mode"] == "real" and shape["sent"] == 12
    assert shape["function_errors"] == {"OrderRejected": 4} and shape["timeouts"] == 4
    assert shape["latency_ms"]["max"] >= 1000  # the hung ones waited for the 1 s timeout
    assert shape["timeline"] and shape["generator"]["cpu_s"] > 0
    assert (root / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_model_run_answers_in_virtual_time(root: Path) -> None:
    done = lsim(
        root,
        "load-test",
        "noop",
        "--model",
        "--rate",
        "2000/s",
        "--duration",
        "1m",
        "--duration-dist",
        "lognormal:200,50",
        "--init-ms",
        "250",
        "--json",
        "model.json",
        "--plot",
        "model.png",
    )
    assert done.returncode == 0, done.stderr
    assert "(model mode)" in done.stdout and "assumption:" in done.stdout
    shape = json.loads((root / "model.json").read_text())
    assert shape["balanced"] is True and shape["sent"] == 120_000
    assert shape["throttled"] == {} and 350 <= shape["peak_concurrency"] <= 998
    assert (root / "model.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.docker
def test_cli_calibrate_measures_the_function_then_models_it(root: Path) -> None:
    done = lsim(
        root,
        "load-test",
        "mixed",
        "--model",
        "--calibrate",
        "--payload",
        '{"kind": "ok"}',
        "--rate",
        "100/s",
        "--duration",
        "30s",
        "--json",
        "calibrated.json",
    )
    assert done.returncode == 0, done.stderr
    assert "calibrating: a short real run of mixed" in done.stderr
    shape = json.loads((root / "calibrated.json").read_text())
    assert shape["balanced"] is True and shape["mode"] == "model" and shape["sent"] == 3000
    assert any("calibrated from 20 real invocations, 3 of them cold" in line for line in shape["assumptions"])
    assert shape["init_duration_ms"]["count"] == shape["cold_starts"] >= 1
    assert shape["duration_ms"]["max"] < 1000  # measured: a handler that returns at once


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model"], "--model needs how long the function runs: --duration-ms 200"),
        (["--duration-ms", "5"], "are for --model"),
        (["--rate", "5/s", "--concurrency", "2"], "not both"),
        (["--model", "--duration-ms", "5", "--limit", "nope=1"], "give KEY=VALUE with a key of [limits]"),
        (["--model", "--duration-ms", "5", "--shape", "sine"], "unknown shape"),
        (["--model", "--duration-ms", "5", "--invocation-type", "Event", "--retry", "2"], "Lambda's queue retries"),
        (["--model", "--duration-ms", "5", "--payload", "{nope"], "InvalidRequestContentException"),
    ],
)
def test_cli_refuses_what_it_cannot_run_and_says_why(root: Path, args: list[str], message: str) -> None:
    done = lsim(root, "load-test", "noop", *args)
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_cli_names_an_unknown_function_as_lambda_does(root: Path) -> None:
    done = lsim(root, "load-test", "nope", "--model", "--duration-ms", "5")
    assert done.returncode == 2 and "ResourceNotFoundException" in done.stderr
