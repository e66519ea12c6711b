"""A SIGKILL loses no acknowledged message: a process sends, receives and deletes on a real SQLite store
and is killed half-way; a new service on the same store finds every message whose send was answered and
not deleted (at least once, as SQS), and none whose delete was answered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from simulator.clock import VirtualClock
from simulator.queues import QueueService
from simulator.store import Store

from .conftest import REPO

WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from simulator.clock import RealClock
    from simulator.queues import DeleteMessageBatchEntry, QueueService, SendMessageBatchEntry
    from simulator.store import Store

    service = QueueService(Store(Path(sys.argv[1])), RealClock(), region="us-east-1", account_id="123456789012")
    service.create_queue("work")
    service.create_queue("work.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    i = 0
    while True:
        body = f"m{i}"
        service.send_message("work", body)
        print("sent", body, flush=True)
        bodies = [f"b{i}-{j}" for j in range(10)]
        service.send_message_batch("work", [SendMessageBatchEntry(str(j), b) for j, b in enumerate(bodies)])
        print("sent", *bodies, flush=True)
        service.send_message("work.fifo", f"f{i}", group_id=str(i % 3))
        print("sent-fifo", f"f{i}", flush=True)
        received = service.receive_message("work", max_messages=10, visibility_timeout=3600)
        if received:
            service.delete_message_batch(
                "work", [DeleteMessageBatchEntry(str(j), m.receipt_handle) for j, m in enumerate(received[::2])]
            )
            print("deleted", *[m.body for m in received[::2]], flush=True)
        i += 1
    """
)


def test_sigkill_loses_no_acknowledged_message(tmp_path: Path) -> None:
    folder = tmp_path / ".lsim"
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert worker.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120  # a bound on real work, not a timed assertion
    while len(lines) < 400 and time.monotonic() < deadline:
        lines.append(worker.stdout.readline().strip())
    os.kill(worker.pid, signal.SIGKILL)
    rest = worker.stdout.read().splitlines()  # what was written before the kill
    worker.wait()
    lines += [line.strip() for line in rest if line.strip()]
    sent = {b for line in lines if line.startswith("sent ") for b in line.split()[1:]}
    sent_fifo = [line.split()[1] for line in lines if line.startswith("sent-fifo ")]
    deleted = {b for line in lines if line.startswith("deleted ") for b in line.split()[1:]}
    assert len(sent) > 100 and deleted, lines[-5:]

    clock = VirtualClock(time.time() + 7200)  # every visibility timeout of the killed process has ended
    service = QueueService(Store(folder), clock, region="us-east-1", account_id="123456789012", poll_s=None)
    found: list[str] = []
    while batch := service.receive_message("work", max_messages=10):
        found += [m.body for m in batch]
    assert len(found) == len(set(found))
    assert sent - deleted <= set(found), "an acknowledged message was lost"
    assert not deleted & set(found), "a message whose delete was answered came back"
    fifo: list[str] = []
    while batch := service.receive_message("work.fifo", max_messages=10):
        fifo += [m.body for m in batch]
        for message in batch:
            service.delete_message("work.fifo", message.receipt_handle)
    assert set(sent_fifo) <= set(fifo)
    for group in range(3):  # order kept in every group, across the kill
        numbers = [int(b[1:]) for b in fifo if int(b[1:]) % 3 == group]
        assert numbers == sorted(numbers)
