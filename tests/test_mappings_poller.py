"""The SQS poller with real containers, real SQLite and real time: what production shows, locally.

A burst backs up and drains; reserved concurrency 1 throttles the poller and throttled messages come back
after their visibility timeout with a higher receive count; a failing function sends messages to the DLQ
after maxReceiveCount; a partial batch response deletes only the rest; FIFO keeps order with one batch in
flight per group; and a stop in the middle of a batch loses nothing. The function prints what it saw
("SEEN" lines, through the log sink), so each test reads the events the function received.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.blocking import BlockingSimulator
from simulator.mappings.poller import MappingPoller
from simulator.project import load_project
from simulator.queues.models import SendMessageBatchEntry

pytestmark = pytest.mark.docker

HANDLER = """
import json, time

def handler(event, context):
    started = time.time()
    seen = [
        {"id": r["messageId"], "body": r["body"], "count": int(r["attributes"]["ApproximateReceiveCount"]),
         "group": r["attributes"].get("MessageGroupId"), "source": r["eventSource"]}
        for r in event["Records"]
    ]
    failed = []
    for r in event["Records"]:
        body = json.loads(r["body"])
        time.sleep(body.get("sleep", 0))
        if body.get("fail") == "all":
            print("SEEN " + json.dumps({"records": seen, "start": started, "end": time.time()}))
            raise RuntimeError("this batch fails")
        if body.get("fail") == "item":
            failed.append({"itemIdentifier": r["messageId"]})
    print("SEEN " + json.dumps({"records": seen, "start": started, "end": time.time()}))
    return {"batchItemFailures": failed}
"""

PROJECT = """
[functions.worker]
handler = "app.handler"
runtime = "python3.12"
code = "src"
timeout = 10

[functions.failer]
handler = "app.handler"
runtime = "python3.12"
code = "src"
timeout = 3

[functions.narrow]
handler = "app.handler"
runtime = "python3.12"
code = "src"
timeout = 3
reserved_concurrency = 1

[functions.partial]
handler = "app.handler"
runtime = "python3.12"
code = "src"
timeout = 5

[queues.burst]
visibility_timeout = 30

[queues.narrowq]
visibility_timeout = 4

[queues.failing]
visibility_timeout = 3
redrive_policy = { dead_letter_queue = "failing-dlq", max_receive_count = 2 }

[queues.failing-dlq]

[queues.partialq]
visibility_timeout = 5
redrive_policy = { dead_letter_queue = "partial-dlq", max_receive_count = 2 }

[queues.partial-dlq]

[queues."orders.fifo"]
fifo_queue = true
content_based_deduplication = true
visibility_timeout = 12

[queues.toggle]
visibility_timeout = 30

[functions.worker.events.toggle]
type = "sqs"
queue = "toggle"
batch_size = 1

[functions.worker.events.burst]
type = "sqs"
queue = "burst"
batch_size = 1

[functions.failer.events.failing]
type = "sqs"
queue = "failing"
batch_size = 1

[functions.worker.events.fifo]
type = "sqs"
queue = "orders.fifo"
batch_size = 2

[functions.narrow.events.narrowq]
type = "sqs"
queue = "narrowq"
batch_size = 1

[functions.partial.events.partialq]
type = "sqs"
queue = "partialq"
batch_size = 10
function_response_types = ["ReportBatchItemFailures"]
"""


class Seen:
    """The SEEN lines functions printed, by function."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []
        self._partial: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, function: str, text: str) -> None:
        with self._lock:
            buffer = self._partial.get(function, "") + text
            *complete, rest = buffer.split("\n")
            self._partial[function] = rest
            for line in complete:
                at = line.find("SEEN ")
                if at >= 0:
                    self.lines.append((function, json.loads(line[at + 5 :])))

    def batches(self, function: str, queue_bodies: Callable[[str], bool]) -> list[dict[str, Any]]:
        with self._lock:
            return [b for f, b in self.lines if f == function and any(queue_bodies(r["body"]) for r in b["records"])]


def write_project(root: Path, text: str = PROJECT) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "lsim.toml").write_text(text)
    return root


@pytest.fixture(scope="module")
def seen() -> Seen:
    return Seen()


@pytest.fixture(scope="module")
def lsim(tmp_path_factory: pytest.TempPathFactory, seen: Seen) -> Iterator[BlockingSimulator]:
    root = write_project(tmp_path_factory.mktemp("poller"))
    with BlockingSimulator(load_project(root), backend="docker", log_sink=seen) as simulator:
        yield simulator


def wait_for(condition: Callable[[], Any], timeout: float, what: str | Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout:g} s: {what if isinstance(what, str) else what()}")


def depth(lsim: BlockingSimulator, queue: str) -> int:
    m = lsim.simulator.queues.metrics(queue)
    return (
        m.approximate_number_of_messages_visible
        + m.approximate_number_of_messages_not_visible
        + m.approximate_number_of_messages_delayed
    )


def poller_of(lsim: BlockingSimulator, queue: str) -> MappingPoller:
    pollers = [p for p in lsim.simulator.pollers.pollers.values() if p.mapping.queue_name == queue]
    assert len(pollers) == 1, lsim.simulator.pollers.pollers
    return pollers[0]


def send_all(lsim: BlockingSimulator, queue: str, bodies: list[dict[str, Any]], **fifo: str) -> None:
    for start in range(0, len(bodies), 10):
        entries = [
            SendMessageBatchEntry(str(i), json.dumps(body), **fifo) for i, body in enumerate(bodies[start : start + 10])
        ]
        result = lsim.simulator.queues.send_message_batch(queue, entries)
        assert not result.failed, result.failed


BURST = 20  # four times the five batches a mapping starts with: enough to back up in the queue


def test_a_burst_backs_up_in_the_queue_and_drains(lsim: BlockingSimulator, seen: Seen) -> None:
    send_all(lsim, "burst", [{"n": n, "sleep": 0.5, "burst": True} for n in range(BURST)])
    backlog = lsim.simulator.queues.metrics("burst").approximate_number_of_messages_visible
    assert backlog > BURST // 2  # five batches at first: the rest waits in the queue
    poller = poller_of(lsim, "burst")
    wait_for(
        lambda: depth(lsim, "burst") == 0 and poller.counters.deleted >= BURST,
        120,
        lambda: f"the burst drained ({poller.counters}, {lsim.simulator.queues.metrics('burst')})",
    )
    assert poller.counters.deleted == BURST and poller.counters.function_errors == 0, poller.counters.error_types
    batches = seen.batches("worker", lambda body: '"burst"' in body)
    bodies = sorted(json.loads(r["body"])["n"] for b in batches for r in b["records"])
    assert bodies == list(range(BURST))  # each exactly once: the visibility timeout outlasts every batch
    assert all(len(b["records"]) == 1 and b["records"][0]["source"] == "aws:sqs" for b in batches)
    metrics = lsim.simulator.queues.metrics("burst")
    assert metrics.number_of_messages_deleted >= BURST


def test_reserved_concurrency_1_throttles_and_messages_return_with_a_higher_receive_count(
    lsim: BlockingSimulator, seen: Seen
) -> None:
    send_all(lsim, "narrowq", [{"n": n, "sleep": 1.5} for n in range(6)])
    wait_for(lambda: depth(lsim, "narrowq") == 0, 120, "the narrow queue drained")
    poller = poller_of(lsim, "narrowq")
    assert poller.counters.throttles > 0  # five readers, one slot: the poller is throttled
    assert poller.counters.failed_invoke > 0  # throttled batches went back after their visibility timeout
    batches = seen.batches("narrow", lambda body: True)
    # every message ran; one whose throttled retries ran past its visibility timeout may run twice
    # (at-least-once, as on AWS)
    assert sorted({json.loads(r["body"])["n"] for b in batches for r in b["records"]}) == list(range(6))
    assert max(r["count"] for b in batches for r in b["records"]) >= 2
    running = sorted((b["start"], b["end"]) for b in batches)
    assert all(later[0] >= earlier[1] - 0.05 for earlier, later in itertools.pairwise(running))


def test_a_failing_function_sends_messages_to_the_dlq_after_max_receive_count(
    lsim: BlockingSimulator, seen: Seen
) -> None:
    send_all(lsim, "failing", [{"n": n, "fail": "all"} for n in range(2)])
    wait_for(lambda: depth(lsim, "failing-dlq") == 2, 60, "two messages in the DLQ")
    assert depth(lsim, "failing") == 0
    batches = seen.batches("failer", lambda body: True)
    counts: dict[int, list[int]] = {}
    for b in batches:
        for r in b["records"]:
            counts.setdefault(json.loads(r["body"])["n"], []).append(r["count"])
    assert {n: sorted(c) for n, c in counts.items()} == {0: [1, 2], 1: [1, 2]}  # two receives, then the DLQ
    moved = lsim.simulator.queues.receive_message("failing-dlq", max_messages=10)
    assert sorted(json.loads(m.body)["n"] for m in moved) == [0, 1]  # bodies unchanged
    wait_for(lambda: poller_of(lsim, "failing").counters.function_errors == 4, 10, "four failed batches counted")


def test_a_partial_batch_response_deletes_only_the_rest(lsim: BlockingSimulator, seen: Seen) -> None:
    send_all(lsim, "partialq", [{"n": 0}, {"n": 1, "fail": "item"}, {"n": 2}])
    wait_for(lambda: depth(lsim, "partial-dlq") == 1, 60, "the failed item in the DLQ")
    assert depth(lsim, "partialq") == 0
    batches = seen.batches("partial", lambda body: True)
    first, *later = batches
    assert sorted(json.loads(r["body"])["n"] for r in first["records"]) == [0, 1, 2]
    assert [json.loads(r["body"])["n"] for b in later for r in b["records"]] == [1]  # only the failed one again
    assert later[0]["records"][0]["count"] == 2
    (dead,) = lsim.simulator.queues.receive_message("partial-dlq")
    assert json.loads(dead.body) == {"n": 1, "fail": "item"}
    wait_for(lambda: poller_of(lsim, "partialq").counters.deleted == 2, 10, "two deleted")


def test_fifo_keeps_order_per_group_with_one_batch_in_flight_per_group(lsim: BlockingSimulator, seen: Seen) -> None:
    queues = lsim.simulator.queues
    for n in range(8):
        for group in ("a", "b"):
            body = json.dumps({"n": n, "g": group, "sleep": 0.2, "fifo": True})
            queues.send_message("orders.fifo", body, group_id=group)
    wait_for(lambda: depth(lsim, "orders.fifo") == 0, 120, "the FIFO queue drained")
    batches = seen.batches("worker", lambda body: '"fifo": true' in body)
    for group in ("a", "b"):
        mine = sorted((b for b in batches if any(r["group"] == group for r in b["records"])), key=lambda b: b["start"])
        order = [json.loads(r["body"])["n"] for b in mine for r in b["records"] if r["group"] == group]
        assert order == list(range(8)), (group, order)
        spans = [(b["start"], b["end"]) for b in mine]
        assert all(later[0] >= earlier[1] - 0.05 for earlier, later in itertools.pairwise(spans))
    assert all(len(b["records"]) <= 2 for b in batches)


def test_disabling_a_mapping_stops_its_poller_and_enabling_it_drains_what_waited(lsim: BlockingSimulator) -> None:
    mappings = lsim.simulator.mappings
    (mapping,) = [m for m in mappings.all() if m.queue_name == "toggle"]
    mappings.update_event_source_mapping(mapping.uuid, enabled=False)
    wait_for(lambda: mapping.uuid not in lsim.simulator.pollers.pollers, 10, "the poller stopped")
    send_all(lsim, "toggle", [{"n": n} for n in range(3)])
    time.sleep(1.5)
    assert lsim.simulator.queues.metrics("toggle").approximate_number_of_messages_visible == 3  # nobody polls
    mappings.update_event_source_mapping(mapping.uuid, enabled=True)
    wait_for(lambda: depth(lsim, "toggle") == 0, 60, "drained once enabled again")


STOP_PROJECT = """
[functions.worker]
handler = "app.handler"
runtime = "python3.12"
code = "src"
timeout = 6

[queues.stopq]
visibility_timeout = 6

[functions.worker.events.stopq]
type = "sqs"
queue = "stopq"
batch_size = 1
"""


def test_a_stop_in_the_middle_of_a_batch_loses_nothing(tmp_path: Path) -> None:
    root = write_project(tmp_path, STOP_PROJECT)
    seen = Seen()
    first = BlockingSimulator(load_project(root), backend="docker", log_sink=seen)
    try:
        first.simulator.queues.send_message("stopq", json.dumps({"n": 1, "sleep": 2}))
        wait_for(
            lambda: (
                depth(first, "stopq")
                and first.simulator.queues.metrics("stopq").approximate_number_of_messages_not_visible == 1
            ),
            30,
            "in flight",
        )
        time.sleep(0.5)  # the function is running the batch
    finally:
        first.close()
    assert depth(first, "stopq") == 1  # still there, in flight, after the stop
    second = BlockingSimulator(load_project(root), backend="docker", log_sink=seen)
    try:
        poller = poller_of(second, "stopq")
        wait_for(
            lambda: depth(second, "stopq") == 0 and poller.counters.deleted == 1, 60, "processed after the restart"
        )
    finally:
        second.close()
    counts = [r["count"] for _, b in seen.lines for r in b["records"]]
    assert counts[-1] == 2  # received again after its visibility timeout


KILLED = """
import json, sys, time
from pathlib import Path
from simulator.blocking import BlockingSimulator
from simulator.project import load_project

lsim = BlockingSimulator(load_project(Path(sys.argv[1])), backend="docker")
lsim.simulator.queues.send_message("stopq", json.dumps({"n": 2, "sleep": 2}))
while lsim.simulator.queues.metrics("stopq").approximate_number_of_messages_not_visible != 1:
    time.sleep(0.05)
time.sleep(0.5)
print("IN FLIGHT", flush=True)
time.sleep(600)
"""


def test_a_sigkill_in_the_middle_of_a_batch_loses_nothing(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    root = write_project(tmp_path, STOP_PROJECT)
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    process = subprocess.Popen(
        [sys.executable, str(script), str(root)], stdout=subprocess.PIPE, text=True, env=env, cwd=root
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "IN FLIGHT"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    seen = Seen()
    again = BlockingSimulator(load_project(root), backend="docker", log_sink=seen)  # removes what the dead one left
    try:
        poller = poller_of(again, "stopq")
        wait_for(lambda: depth(again, "stopq") == 0 and poller.counters.deleted == 1, 60, "processed after the kill")
    finally:
        again.close()
    assert [r["count"] for _, b in seen.lines for r in b["records"]] == [2]  # received again, once
