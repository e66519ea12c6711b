"""Asynchronous invocation: the durable queue, Lambda's retries and the dead-letter queue, across restarts.

Real SQLite, real processes (the process backend: the handler writes what it saw to a file the test
reads). Retries "after about 1 and 2 minutes" and event ages run on a VirtualClock that the test moves;
the waits below are bounds on real work (a process starting), never timed assertions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from simulator.blocking import BlockingSimulator
from simulator.clock import VirtualClock
from simulator.events import EVENT_AGE_EXCEEDED, RETRIES_EXHAUSTED, EventQueue
from simulator.project import load_project
from simulator.simulator import Simulator

from .conftest import REPO

T0 = 1_800_000_000.0

HANDLER = """
import json, os, time

def record(event, context):
    with open(os.environ["RECORD_FILE"], "a") as out:
        out.write(json.dumps({"request_id": context.aws_request_id, "event": event, "phase": "start",
                              "pid": os.getpid()}) + "\\n")
    time.sleep(event.get("sleep", 0))
    if event.get("fail") or os.path.exists(os.environ["FAIL_FLAG"]):
        raise RuntimeError("asked to fail")
    with open(os.environ["RECORD_FILE"], "a") as out:
        out.write(json.dumps({"request_id": context.aws_request_id, "event": event, "phase": "end"}) + "\\n")
    return {"ok": True}
"""


def project_in(root: Path, extra: str = "") -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "recorder.py").write_text(HANDLER)
    environment = f'{{ RECORD_FILE = "{root / "record.jsonl"}", FAIL_FLAG = "{root / "fail.flag"}" }}'
    (root / "lsim.toml").write_text(
        textwrap.dedent(
            f"""
            [functions.worker]
            handler = "recorder.record"
            runtime = "python3.11"
            code = "src"
            environment = {environment}
            {extra}

            [functions.on-failure]
            handler = "recorder.record"
            runtime = "python3.11"
            code = "src"
            environment = {environment}
            """
        )
    )
    return root


def records(root: Path) -> list[dict]:
    path = root / "record.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for(condition: Callable[[], object], what: str, limit_s: float = 60) -> None:
    """Wait for real work to happen (a process to start and answer); fail, naming it, if it never does."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def status(lsim: BlockingSimulator, request_id: str) -> str:
    return lsim.call(lsim.simulator.event_status(request_id))


def test_an_event_queued_before_a_stop_is_delivered_by_the_next_simulator(tmp_path: Path) -> None:
    root = project_in(tmp_path)
    project = load_project(root)

    async def enqueue_and_stop() -> str:  # a simulator that never runs the queue: the event only waits
        simulator = Simulator(project, backend="process")
        result = await simulator.invoke("worker", {"n": 1}, invocation_type="Event")
        assert result.status_code == 202 and result.body == b""
        return result.request_id

    request_id = asyncio.run(enqueue_and_stop())
    assert records(root) == []
    with BlockingSimulator(load_project(root), backend="process") as lsim:
        wait_for(lambda: status(lsim, request_id) == "done", "the event to be delivered")
    ends = [r for r in records(root) if r["phase"] == "end"]
    assert [(r["request_id"], r["event"]) for r in ends] == [(request_id, {"n": 1})]


def test_an_event_running_at_a_stop_is_delivered_again_with_the_same_request_id(tmp_path: Path) -> None:
    root = project_in(tmp_path, "timeout = 30")
    with BlockingSimulator(load_project(root), backend="process") as first:
        request_id = first.invoke("worker", {"sleep": 30}, invocation_type="Event").request_id
        wait_for(lambda: any(r["phase"] == "start" for r in records(root)), "the first delivery to start")
    # stopped mid-invocation: the event went back on the queue
    assert EventQueue(first.simulator.store).status(request_id) == "queued"
    (root / "src" / "recorder.py").write_text(HANDLER.replace('event.get("sleep", 0)', "0"))
    with BlockingSimulator(load_project(root), backend="process") as second:
        wait_for(lambda: status(second, request_id) == "done", "the event to be delivered again")
    phases = [(r["request_id"], r["phase"]) for r in records(root)]
    assert phases == [(request_id, "start"), (request_id, "start"), (request_id, "end")]  # at least once


def test_an_event_of_a_killed_simulator_is_delivered_by_the_next(tmp_path: Path) -> None:
    root = project_in(tmp_path, "timeout = 60")
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from simulator import BlockingSimulator, load_project
        lsim = BlockingSimulator(load_project(Path({str(root)!r})), backend="process")
        print(lsim.invoke("worker", {{"sleep": 60}}, invocation_type="Event").request_id, flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert child.stdout is not None
        request_id = child.stdout.readline().strip()
        started = lambda: child.poll() is not None or any(r["phase"] == "start" for r in records(root))  # noqa: E731
        wait_for(started, "the delivery to start")
        assert child.poll() is None, "the simulator process ended by itself"
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the simulator dies: no clean stop
        child.wait()
        for started in records(root):  # and the function process it ran (in a session of its own)
            with contextlib.suppress(ProcessLookupError):
                os.kill(started["pid"], signal.SIGKILL)
    (root / "src" / "recorder.py").write_text(HANDLER.replace('event.get("sleep", 0)', "0"))
    with BlockingSimulator(load_project(root), backend="process") as lsim:
        wait_for(lambda: status(lsim, request_id) == "done", "the event to be recovered and delivered")
    assert [r["phase"] for r in records(root) if r["request_id"] == request_id] == ["start", "start", "end"]


def attempts_of(lsim: BlockingSimulator, request_id: str) -> int | None:
    queued = [e for e in lsim.simulator.events.queue.queued() if e.request_id == request_id]
    return queued[0].attempts if queued and status(lsim, request_id) == "queued" else None


def test_function_errors_are_retried_twice_then_dead_lettered_across_a_restart(tmp_path: Path) -> None:
    root = project_in(tmp_path, 'on_failure = "on-failure"')
    clock = VirtualClock(T0)
    with BlockingSimulator(load_project(root), backend="process", clock=clock) as first:
        request_id = first.invoke("worker", {"fail": True}, invocation_type="Event").request_id
        wait_for(lambda: attempts_of(first, request_id) == 1, "the first attempt to fail")
        (event,) = first.simulator.events.queue.queued("worker")
        assert event.due_at == T0 + 60  # the first retry, after about a minute
    # a new simulator, the clock where the first one left it
    clock = VirtualClock(T0 + 1)
    with BlockingSimulator(load_project(root), backend="process", clock=clock) as second:
        assert status(second, request_id) == "queued"
        clock.advance(59)
        wait_for(lambda: attempts_of(second, request_id) == 2, "the second attempt to fail")
        (event,) = second.simulator.events.queue.queued("worker")
        assert event.due_at == T0 + 60 + 120  # the second retry, two minutes later
        clock.advance(120)
        wait_for(lambda: status(second, request_id) == "dead-lettered", "the event to be dead-lettered")
        (letter,) = second.call(second.simulator.list_dead_letters("worker"))
        wait_for(lambda: len(records(root)) == 5, "the on-failure destination to be invoked")
        metrics = {m.function_name: m for m in second.call(second.simulator.get_metrics())}
    assert letter.condition == RETRIES_EXHAUSTED and letter.approximate_invoke_count == 3
    assert letter.destination == "on-failure"
    record = letter.record()
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(":function:worker:$LATEST")
    assert record["requestPayload"] == {"fail": True}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    attempts = [r for r in records(root) if r["request_id"] == request_id]
    assert [r["phase"] for r in attempts] == ["start", "start", "start"]
    (delivered,) = [r for r in records(root) if r["request_id"] != request_id and r["phase"] == "end"]
    assert delivered["event"]["requestContext"]["requestId"] == request_id  # the destination got the record
    assert metrics["worker"].invocations == 3 and metrics["worker"].errors == 3  # both simulators' counts
    assert metrics["worker"].sum("AsyncEventsDropped") == 1


def test_an_event_too_old_is_dead_lettered_and_a_replay_delivers_it(tmp_path: Path) -> None:
    root = project_in(tmp_path, "reserved_concurrency = 0\nmaximum_event_age_in_seconds = 60")
    clock = VirtualClock(T0)
    with BlockingSimulator(load_project(root), backend="process", clock=clock) as lsim:
        request_id = lsim.invoke("worker", {"n": 2}, invocation_type="Event").request_id
        wait_for(lambda: lsim.simulator.concurrency.controller.function_statistics("worker").throttled >= 1, "a throttle")
        wait_for(lambda: status(lsim, request_id) == "queued", "the throttled event to go back on the queue")
        (event,) = lsim.simulator.events.queue.queued("worker")
        assert event.due_at == T0 + 1 and event.throttles == 1  # back off 1 s after a throttle
        clock.advance(60)
        wait_for(lambda: status(lsim, request_id) == "dead-lettered", "the event to age out")
        (letter,) = lsim.call(lsim.simulator.list_dead_letters("worker"))
        assert letter.condition == EVENT_AGE_EXCEEDED and letter.approximate_invoke_count == 0
        assert "responseContext" not in letter.record()
        lsim.call(lsim.simulator.put_function_concurrency("worker", 1))
        (replayed,) = lsim.call(lsim.simulator.replay_dead_letters(function_name="worker"))
        assert replayed.replay_of == request_id and replayed.request_id != request_id
        wait_for(lambda: status(lsim, replayed.request_id) == "done", "the replayed event to be delivered")
        (letter,) = lsim.call(lsim.simulator.list_dead_letters("worker"))
        assert letter.replayed_as == replayed.request_id
    assert [r["event"] for r in records(root) if r["phase"] == "end"] == [{"n": 2}]


@pytest.mark.parametrize("invocation_type", ["DryRun"])
def test_dry_run_answers_204_and_queues_nothing(tmp_path: Path, invocation_type: str) -> None:
    root = project_in(tmp_path, "reserved_concurrency = 0")
    with BlockingSimulator(load_project(root), backend="process") as lsim:
        result = lsim.invoke("worker", {}, invocation_type=invocation_type)
        assert result.status_code == 204
        assert lsim.simulator.events.queue.queued() == []
        assert lsim.simulator.concurrency.controller.function_statistics("worker").throttled == 0
