"""SQS mappings: messages a second through the poller, and model mode with a million messages.

Run with `make bench` (or `python -m benchmarks.bench_queues`). Each figure beside a baseline measured in the
same run:
- messages a second from a backlog, through an SQS mapping (batches of 10, MaximumConcurrency 5) to a no-op
  function in warm Docker environments, against a direct loop of 5 clients invoking the same function with
  the same 10-record SQS events (what the poller adds: receive, event, delete, scaling);
- model mode with 1,000,000 messages (10,000 a second for 100 s into a queue drained by a 200 ms function)
  against model mode with 1,000,000 plain invocations on the same arrivals and durations.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from simulator import Simulator, load_project
from simulator.loadtest import LoadPlan, ModelAccount, ModelParameters, constant, parse_distribution
from simulator.loadtest.model import run_model
from simulator.loadtest.queue_model import QueueSetup, run_queue_model
from simulator.queues.models import SendMessageBatchEntry

from .common import PROJECT, figure

MESSAGES = 3000
BATCH = 10
READERS = 5
MODEL_RATE = 10_000
MODEL_SECONDS = 100  # 1,000,000 messages

QUEUE_PROJECT = f"""
[functions.noop]
handler = "noop.handler"
runtime = "python3.11"
code = "{PROJECT / "src"}"
memory_size = 1769

[queues.bench]
visibility_timeout = 60

[functions.noop.events.bench]
type = "sqs"
queue = "bench"
batch_size = {BATCH}
maximum_concurrency = {READERS}
enabled = false
"""


async def mapping_figures() -> None:
    with tempfile.TemporaryDirectory(prefix="lsim-bench-queues-") as folder:
        root = Path(folder)
        (root / "lsim.toml").write_text(QUEUE_PROJECT)
        async with Simulator(load_project(root), backend="docker", event_queue=False) as simulator:
            await simulator.prepare("noop")
            await asyncio.gather(*(simulator.invoke("noop", {}) for _ in range(READERS)))  # warm environments
            event = json.dumps(
                {"Records": [{"messageId": str(i), "body": "{}", "eventSource": "aws:sqs"} for i in range(BATCH)]}
            ).encode()
            invokes = MESSAGES // BATCH

            async def client(n: int) -> None:
                for _ in range(n):
                    await simulator.invoke("noop", event, complete_logs=False)

            began = time.perf_counter()
            await asyncio.gather(*(client(invokes // READERS) for _ in range(READERS)))
            direct_rate = invokes // READERS * READERS * BATCH / (time.perf_counter() - began)

            queues = simulator.queues
            for start in range(0, MESSAGES, 10):
                entries = [SendMessageBatchEntry(str(i), "{}") for i in range(10)]
                queues.send_message_batch("bench", entries)
                del start
            (mapping,) = simulator.mappings.all()
            began = time.perf_counter()
            simulator.mappings.update_event_source_mapping(mapping.uuid, enabled=True)
            while True:
                m = queues.metrics("bench")
                if not m.approximate_number_of_messages_visible + m.approximate_number_of_messages_not_visible:
                    break
                await asyncio.sleep(0.01)
            mapping_rate = MESSAGES / (time.perf_counter() - began)
    print(f"SQS mapping, {MESSAGES:,} messages queued, batches of {BATCH}, {READERS} readers, no-op function (Docker):")
    figure(
        "  messages a second through the mapping",
        mapping_rate,
        "/s",
        direct_rate,
        f"{READERS} clients invoking the same {BATCH}-record events directly",
    )


def model_figures() -> None:
    project = load_project(PROJECT)
    simulator = Simulator(project, backend="process", event_queue=False)  # never started: its settings
    account = ModelAccount.of(simulator, "noop", None)
    parameters = ModelParameters(duration=parse_distribution("lognormal:200,50"))
    plan = LoadPlan("noop", MODEL_SECONDS, shape=constant(MODEL_RATE, MODEL_SECONDS))

    began = time.perf_counter()
    plain = run_model(plan, account, parameters)
    plain_s = time.perf_counter() - began

    setup = QueueSetup("orders", {"VisibilityTimeout": "30"}, None, batch_size=BATCH)
    began = time.perf_counter()
    report = run_queue_model(plan, setup, account, parameters)
    queue_s = time.perf_counter() - began
    print(
        f"model mode, {report.sent_total:,} messages ({MODEL_RATE:,}/s for {MODEL_SECONDS} s, batches of {BATCH}, "
        "lognormal 200,50 ms), virtual time:"
    )
    figure(
        "  run_queue_model, queue + mapping + function",
        queue_s,
        "s",
        plain_s,
        f"run_model: {plain.sent:,} plain invocations, the same arrivals and durations",
    )
    print(
        f"  {report.invocations:,} batches, oldest message {report.max_oldest_age_s:.1f} s, backlog max "
        f"{report.max_visible:,}, balanced: {report.balanced}"
    )


async def main() -> None:
    await mapping_figures()
    model_figures()


if __name__ == "__main__":
    asyncio.run(main())
