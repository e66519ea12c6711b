"""`lsim load-test --queue`: a queue in front of a function, in virtual time (model mode) and with real
containers (real mode), and the two agreeing on the same small scenario within 10%."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Iterable
from pathlib import Path

import pytest

from simulator.blocking import BlockingSimulator
from simulator.config import FunctionConfig, Limits
from simulator.loadtest import Distribution, LoadPlan, ModelParameters, constant, constant_ms
from simulator.loadtest.model import ModelAccount
from simulator.loadtest.queue_model import QueueSetup, run_queue_model, setup_of
from simulator.loadtest.queue_runner import run_queue_load_test
from simulator.project import load_project

from .cli import lsim as run_lsim

REDRIVE = json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq", "maxReceiveCount": 3})


def account(reserved: int | None = None, timeout: int = 30) -> ModelAccount:
    function = FunctionConfig(name="worker", handler="app.handler", runtime="python3.12", timeout=timeout, code="src")
    return ModelAccount(Limits(), "us-east-1", function, "$LATEST", {"worker": reserved} if reserved else {})


def plan(messages: int, over_s: float) -> LoadPlan:
    return LoadPlan("worker", duration_s=over_s, shape=constant(messages / over_s, over_s), max_requests=messages)


def setup(visibility: int = 30, **mapping: int | bool | None) -> QueueSetup:
    return QueueSetup("orders", {"VisibilityTimeout": str(visibility), "RedrivePolicy": REDRIVE}, {}, **mapping)  # type: ignore[arg-type]


def test_the_issues_question_10000_messages_in_a_minute_reserved_50_two_seconds() -> None:
    report = run_queue_model(plan(10_000, 60), setup(), account(50), ModelParameters(duration=constant_ms(2000)))
    assert report.balanced and report.sent_total == 10_000
    assert report.processed == 10_000 and report.dead_letters == 0
    # 50 at a time, 2 s a batch of up to 10: faster than 10,000 a minute, so the backlog stays small
    assert 0 < report.max_oldest_age_s < 30
    assert report.peak_concurrency == 50
    text = report.text()
    assert "ApproximateAgeOfOldestMessage max" in text and "to the DLQ" in text


def test_a_slow_function_behind_reserved_concurrency_backs_up_and_sends_good_messages_to_the_dlq() -> None:
    # reserved 5, 20 s a message, batches of 1: the poller throttles, throttled batches come back after the
    # visibility timeout with a higher receive count, and maxReceiveCount 3 sends good messages to the DLQ
    report = run_queue_model(
        plan(200, 10), setup(visibility=30, batch_size=1), account(5), ModelParameters(duration=constant_ms(20_000))
    )
    assert report.balanced
    assert report.throttles > 0 and report.returned_after_throttles > 0
    assert report.dead_letters > 0 and report.processed > 0
    assert report.processed + report.dead_letters == 200
    assert report.max_oldest_age_s > 60


def test_maximum_concurrency_keeps_the_poller_from_throttling() -> None:
    report = run_queue_model(
        plan(200, 10),
        setup(visibility=30, batch_size=1, maximum_concurrency=5),
        account(5),
        ModelParameters(duration=constant_ms(20_000)),
    )
    assert report.throttles == 0 and report.dead_letters == 0 and report.processed == 200


def test_a_throttled_batch_takes_the_next_freed_slot_before_any_new_batch() -> None:
    # samples/order-queue's shape: reserved 2 under the poller's 5 starting batches, batches of 5 that take
    # half a second. Three batches are throttled at once; each retries when an invocation ends, ahead of the
    # finishing reader's next receive, so none waits out its 30 s visibility timeout while the queue drains
    report = run_queue_model(
        plan(300, 5),
        setup(visibility=30, batch_size=5, report_batch_item_failures=True),
        account(2),
        ModelParameters(duration=constant_ms(505)),
    )
    assert report.balanced and report.processed == 300 and report.dead_letters == 0
    assert report.throttles > 0 and report.returned_after_throttles == 0
    assert report.max_oldest_age_s < 30


def test_a_failing_function_sends_everything_to_the_dlq_after_max_receive_count() -> None:
    report = run_queue_model(
        plan(100, 10), setup(visibility=5), account(), ModelParameters(duration=constant_ms(100), errors={"E": 1.0})
    )
    assert report.balanced and report.dead_letters == 100 and report.processed == 0
    assert report.invocations >= 3 * 100 / 10  # every message received maxReceiveCount times
    assert report.failed_batches == report.invocations


def test_the_backlog_is_plotted_and_written_as_json(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    report = run_queue_model(plan(500, 10), setup(), account(2), ModelParameters(duration=constant_ms(500)))
    report.plot(tmp_path / "backlog.png")
    assert (tmp_path / "backlog.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report.write_json(tmp_path / "r.json")
    shape = json.loads((tmp_path / "r.json").read_text())
    assert shape["balanced"] and shape["figures"]["messages to the DLQ"] == 0
    assert max(row["visible"] for row in shape["timeline"]) > 0  # the backlog formed ...
    assert shape["timeline"][-1]["visible"] == 0  # ... and drained


PROJECT = """
[functions.worker]
handler = "app.handler"
runtime = "python3.12"
code = "src"
timeout = 10

[queues.orders]
visibility_timeout = 30
redrive_policy = { dead_letter_queue = "orders-dlq", max_receive_count = 3 }

[queues.orders-dlq]

[functions.worker.events.orders]
type = "sqs"
queue = "orders"
batch_size = 1
maximum_concurrency = 2
"""


def write_project(root: Path, handler_sleep_s: float = 1.0) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "app.py").write_text(
        f"import time\n\ndef handler(event, context):\n    time.sleep({handler_sleep_s})\n    return None\n"
    )
    (root / "lsim.toml").write_text(PROJECT)
    return root


def test_cli_model_mode_with_messages(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    out = tmp_path / "r.json"
    result = run_lsim(
        "load-test", "worker", "--queue", "orders", "--messages", "30", "--duration", "3s",
        "--model", "--duration-ms", "1000", "--json", str(out), cwd=root,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    shape = json.loads(out.read_text())
    assert shape["mode"] == "model" and shape["sent_total"] == 30 and shape["processed"] == 30
    assert shape["peak_concurrency"] == 2  # the mapping's MaximumConcurrency


def test_cli_refuses_messages_without_a_queue_and_a_queue_without_a_mapping(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    result = run_lsim("load-test", "worker", "--messages", "10", "--model", cwd=root)
    assert result.returncode != 0 and "--queue" in result.stderr
    result = run_lsim(
        "load-test", "worker", "--queue", "orders-dlq", "--messages", "10", "--model", "--duration-ms", "10", cwd=root
    )
    assert result.returncode != 0 and "no enabled event source mapping from queue orders-dlq" in result.stderr


@pytest.mark.docker
def test_the_same_small_scenario_in_real_mode_agrees_with_the_model_within_10_percent(tmp_path: Path) -> None:
    root = write_project(tmp_path, handler_sleep_s=1.0)
    scenario = plan(24, 3)
    with BlockingSimulator(load_project(root), backend="docker") as lsim:
        lsim.call(lsim.simulator.prepare("worker"))
        real = lsim.call(run_queue_load_test(lsim.simulator, scenario, "orders"), timeout=300)
        queue_setup = setup_of(lsim.simulator, "worker", "orders")
        model_account = ModelAccount.of(lsim.simulator, "worker", None)
    assert real.balanced and real.processed == 24 and real.duration_ms is not None
    # the model is given what the real run measured of the function (as --calibrate would)
    counters_durations = tuple(real.duration_ms.p50 for _ in range(3))
    parameters = ModelParameters(
        duration=Distribution("empirical", counters_durations),
        init=constant_ms(real.init_duration_ms.mean if real.init_duration_ms else 0.0),
    )
    model = run_queue_model(scenario, queue_setup, model_account, parameters)
    assert model.balanced and model.processed == 24
    for name, real_figure in real.figures().items():
        modelled = model.figures()[name]
        print(f"{name}: real {real_figure:g}, model {modelled:g}")
        if name == "ApproximateNumberOfMessagesVisible max":
            assert abs(modelled - real_figure) <= max(2, 0.1 * real_figure), (name, real_figure, modelled)
        elif real_figure:
            assert abs(modelled - real_figure) <= 0.1 * real_figure, (name, real_figure, modelled)
        else:
            assert modelled == 0, (name, modelled)


THROTTLED_PROJECT = PROJECT.replace('timeout = 10\n', "timeout = 10\nreserved_concurrency = 2\n", 1).replace(
    "batch_size = 1\nmaximum_concurrency = 2\n", "batch_size = 2\n"
)


async def warm(invocations: Iterable[Awaitable[object]]) -> None:
    await asyncio.gather(*invocations)


@pytest.mark.docker
def test_a_scenario_with_throttles_in_real_mode_agrees_with_the_model_within_10_percent(tmp_path: Path) -> None:
    # reserved concurrency 2 below the poller's 5 starting batches: three of them are throttled at once, and
    # every freed slot is contested by a throttled batch and the finishing reader's next receive
    root = write_project(tmp_path, handler_sleep_s=1.0)
    (root / "lsim.toml").write_text(THROTTLED_PROJECT)
    scenario = plan(60, 3)
    with BlockingSimulator(load_project(root), backend="docker") as lsim:
        # two warm environments first: a container's start costs more than its Init Duration, which is all
        # the model is told of a cold start
        lsim.call(warm(lsim.simulator.invoke("worker", b"{}") for _ in range(2)), timeout=120)
        real = lsim.call(run_queue_load_test(lsim.simulator, scenario, "orders"), timeout=300)
        queue_setup = setup_of(lsim.simulator, "worker", "orders")
        model_account = ModelAccount.of(lsim.simulator, "worker", None)
    assert real.balanced and real.throttles > 0 and real.duration_ms is not None
    parameters = ModelParameters(duration=constant_ms(real.duration_ms.p50), init=constant_ms(0.0))
    model = run_queue_model(scenario, queue_setup, model_account, parameters)
    assert model.balanced and model.throttles > 0 and model.peak_concurrency == 2
    real_figures, model_figures = real.figures(), model.figures()
    for name, real_figure in real_figures.items():
        print(f"{name}: real {real_figure:g}, model {model_figures[name]:g}")
    print(f"throttles: real {real.throttles}, model {model.throttles}; batches: real {real.invocations}, "
          f"model {model.invocations}; Duration p50 {real.duration_ms.p50:g} ms")  # fmt: skip
    for name in ("ApproximateAgeOfOldestMessage max (s)", "processed", "messages to the DLQ"):
        real_figure, modelled = real_figures[name], model_figures[name]
        assert abs(modelled - real_figure) <= 0.1 * real_figure, (name, real_figure, modelled)
