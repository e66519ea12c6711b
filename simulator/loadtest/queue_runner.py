"""A queue load test in real mode: messages sent to one of the project's queues on the plan's schedule, the
Simulator's own poller draining it into real execution environments, and the queue's metrics read once a
bucket until the queue is empty (or the drain time ends). The report is the model's, so the two compare.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING

from .queue_report import QueueRecorder, QueueReport
from .report import Summary, bucket_width
from .shapes import LoadTestError

if TYPE_CHECKING:
    from ..mappings.poller import MappingPoller
    from ..simulator import Simulator
    from .plan import LoadPlan

DEFAULT_DRAIN_S = 600.0


def dead_letter_queue(simulator: Simulator, queue_name: str) -> str | None:
    """The queue's dead-letter queue by name, when its redrive policy names one."""
    policy = simulator.queues.queue(queue_name).attributes.redrive_policy
    return simulator.queues.queue_name_of_arn(policy.dead_letter_target_arn) if policy is not None else None


def find_poller(simulator: Simulator, function_name: str, queue_name: str) -> MappingPoller:
    for poller in simulator.pollers.pollers.values():
        if poller.mapping.queue_name == queue_name and poller.mapping.function_name == function_name:
            return poller
    raise LoadTestError(
        f"no enabled event source mapping from queue {queue_name} to {function_name}: declare one in lsim.toml "
        f'([functions.{function_name}.events.NAME] type = "sqs", queue = "{queue_name}") or create it with '
        "CreateEventSourceMapping"
    )


def _depth(simulator: Simulator, queue_name: str | None) -> int:
    if queue_name is None:
        return 0
    m = simulator.queues.metrics(queue_name)
    return (
        m.approximate_number_of_messages_visible
        + m.approximate_number_of_messages_not_visible
        + m.approximate_number_of_messages_delayed
    )


async def run_queue_load_test(
    simulator: Simulator, plan: LoadPlan, queue_name: str, *, drain_s: float | None = None
) -> QueueReport:
    """Send the plan's messages to `queue_name` and watch the mapping drain them."""
    if plan.shape is None:
        raise LoadTestError("a queue load test sends messages at a rate: give --rate or --messages, not --concurrency")
    await asyncio.sleep(0)
    poller = find_poller(simulator, plan.function_name, queue_name)
    queues, clock = simulator.queues, simulator.clock
    dlq = dead_letter_queue(simulator, queue_name)
    dead_before = _depth(simulator, dlq)
    deleted_before = queues.metrics(queue_name).number_of_messages_deleted
    counters = poller.counters
    before = (counters.deleted, counters.throttles, counters.batches, counters.function_errors)
    before_filtered, before_dropped = counters.filtered_out, counters.failed_invoke
    before_durations, before_inits = len(counters.durations_ms), len(counters.init_durations_ms)
    recorder = QueueRecorder(bucket_width(plan.duration_s))
    controller = simulator.concurrency.controller
    start = clock.monotonic()
    limit = plan.max_requests if plan.max_requests is not None else math.inf
    bodies = [p.decode("utf-8", "replace") for p in plan.payloads]
    fifo = queues.queue(queue_name).fifo
    sent = 0
    last_sent = 0.0

    async def send() -> None:
        nonlocal sent, last_sent
        assert plan.shape is not None
        for offset in plan.shape.arrivals(plan.seed):
            if sent >= limit:
                return
            wait = start + offset - clock.monotonic()
            if wait > 0:
                await clock.sleep(wait)
            extra = {"group_id": "load-test", "deduplication_id": f"{start}-{sent}"} if fifo else {}
            queues.send_message(queue_name, bodies[sent % len(bodies)], **extra)  # type: ignore[arg-type]
            recorder.sent(clock.monotonic() - start)
            sent += 1
            last_sent = clock.monotonic() - start

    seen = list(before)

    def sample() -> int:
        at = clock.monotonic() - start
        m = queues.metrics(queue_name)
        now = (counters.deleted, counters.throttles, counters.batches, counters.function_errors)
        recorder.processed(at, now[0] - seen[0])
        for _ in range(now[1] - seen[1]):
            recorder.throttled(at)
        seen[:] = now
        running = controller.function_statistics(plan.function_name).in_use
        recorder.gauges(
            at,
            visible=m.approximate_number_of_messages_visible,
            in_flight=m.approximate_number_of_messages_not_visible,
            oldest_age_s=m.approximate_age_of_oldest_message,
            dead_letters=_depth(simulator, dlq) - dead_before,
            concurrency=running,
            allowed_batches=poller.scaling.allowed(clock.monotonic()),
        )
        return (
            m.approximate_number_of_messages_visible
            + m.approximate_number_of_messages_not_visible
            + m.approximate_number_of_messages_delayed
        )

    sender = asyncio.create_task(send())
    drain = DEFAULT_DRAIN_S if drain_s is None else drain_s
    try:
        while True:
            left = sample()
            elapsed = clock.monotonic() - start
            if sender.done() and left == 0:
                break
            if sender.done() and elapsed > max(plan.duration_s, last_sent) + drain:
                break
            step = min(recorder.bucket_s, 0.5)
            await clock.sleep(step - ((clock.monotonic() - start) % step))
    finally:
        if not sender.done():
            sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
    elapsed = clock.monotonic() - start
    recorder.last_activity = elapsed if sample() == 0 else recorder.last_activity
    counters_now = (counters.deleted, counters.throttles, counters.batches, counters.function_errors)
    recorder.invocations = counters_now[2] - before[2]
    recorder.failed_batches = counters_now[3] - before[3]
    recorder.received_total = recorder.invocations
    recorder.dropped_total = counters.failed_invoke - before_dropped
    recorder.durations_ms = counters.durations_ms[before_durations:]
    init_durations = counters.init_durations_ms[before_inits:]
    statistics = controller.function_statistics(plan.function_name)
    unreserved = controller.statistics().unreserved_limit
    return recorder.report(
        "real",
        function_name=plan.function_name,
        queue_name=queue_name,
        load=plan.describe(),
        planned_duration_s=plan.duration_s,
        sending_s=last_sent,
        elapsed_s=elapsed,
        sent_total=sent,
        processed=queues.metrics(queue_name).number_of_messages_deleted - deleted_before,
        left_in_queue=_depth(simulator, queue_name),
        dead_letters=_depth(simulator, dlq) - dead_before,
        filtered_out=counters.filtered_out - before_filtered,
        concurrency_limit=statistics.reserved if statistics.reserved is not None else unreserved,
        init_duration_ms=Summary.of(init_durations),
        notes=[f"the Simulator's poller of mapping {poller.mapping.uuid}, real execution environments"],
    )
