"""Model mode for a queue in front of a function: messages, an SQS mapping and the function in virtual time.

The messages go into lsim's own QueueService (on a VirtualClock, with a throwaway store), so visibility
timeouts, receive counts and redrive to the dead-letter queue are the code real mode runs; the mapping's
readers scale by scaling.py and settle batches by poller.settle, the poller's own rules; admission and
throttles are the ConcurrencyController's. What the model adds is how long the function runs (a
distribution) and how often it fails. It answers "how old does the oldest message get, how many reach the
DLQ" for any number of messages, in seconds.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..clock import VirtualClock
from ..concurrency import Lease
from ..mappings.poller import LONG_POLL_S, MAX_RECEIVE, delete_batches, settle
from ..mappings.scaling import (
    PollerScaling,
    batch_for_freed_slot,
    effective_visibility_timeout,
    throttle_retry_delay,
)
from ..store import ScratchStore
from .model import ModelAccount, ModelParameters, _draw_error, _error_table
from .plan import LoadPlan
from .queue_report import QueueRecorder, QueueReport
from .report import TIMEOUT_ERROR_TYPE, Summary, bucket_width
from .shapes import LoadTestError

if TYPE_CHECKING:
    from ..simulator import Simulator

DEFAULT_DRAIN_S = 3600.0  # after the last message, the model runs until the queue is empty or this long
MODEL_ACCOUNT_ID = "000000000000"
VISIBLE_TIE_S = 0.001  # a reader polls this long after a visibility timeout ends (the message is visible by then)
ARRIVAL_TIE_S = 0.01  # messages arriving this close together are sent in one batch (at the first one's instant)
#: the model's own name for the dead-letter queue when the queue's redrive policy names one
MODEL_DLQ = "dead-letters"


@dataclass(frozen=True)
class QueueSetup:
    """The queue, its dead-letter queue and the mapping, as the project declares them."""

    queue_name: str
    attributes: Mapping[str, str]  # the queue's attributes by AWS name (RedrivePolicy names the DLQ by ARN)
    dlq_attributes: Mapping[str, str] | None  # the DLQ's, when the redrive policy names one
    batch_size: int = 10
    maximum_batching_window_s: int = 0
    maximum_concurrency: int | None = None
    report_batch_item_failures: bool = False

    @property
    def fifo(self) -> bool:
        return self.queue_name.endswith(".fifo")


def setup_of(simulator: Simulator, function_name: str, queue_name: str) -> QueueSetup:
    """The queue, its DLQ and the function's enabled mapping from it, as the project has them (its
    declarations applied to its store first, as a start would)."""
    from ..mappings.declarations import declarations

    simulator.mappings.apply_declarations(declarations(simulator.project))
    found = [
        m
        for m in simulator.mappings.all()
        if m.queue_name == queue_name and m.function_name == function_name and m.enabled
    ]
    if not found:
        raise LoadTestError(
            f"no enabled event source mapping from queue {queue_name} to {function_name}: declare one in lsim.toml "
            f'([functions.{function_name}.events.NAME] type = "sqs", queue = "{queue_name}") or create it with '
            "CreateEventSourceMapping"
        )
    mapping = found[0]
    queue = simulator.queues.queue(queue_name)
    policy = queue.attributes.redrive_policy
    dlq = None
    if policy is not None:
        dlq_name = simulator.queues.queue_name_of_arn(policy.dead_letter_target_arn)
        dlq = simulator.queues.queue(dlq_name).attributes.to_wire()
    return QueueSetup(
        queue_name,
        queue.attributes.to_wire(),
        dlq,
        batch_size=mapping.batch_size,
        maximum_batching_window_s=mapping.maximum_batching_window_s,
        maximum_concurrency=mapping.maximum_concurrency,
        report_batch_item_failures=mapping.report_batch_item_failures,
    )


def assumptions(setup: QueueSetup, account: ModelAccount, parameters: ModelParameters) -> list[str]:
    lines = [
        f"the function's durations are independent draws from {parameters.duration.describe()} "
        f"({parameters.source}); a draw of {account.function.timeout} s or more is a timeout",
        "the queue is lsim's QueueService in virtual time: visibility timeouts, receive counts and redrive are "
        "its own; the mapping scales as lsim's poller does (5 batches, +300 a minute, back-off on errors and "
        "throttles) and admission is lsim's ConcurrencyController",
        "a reader polls the instant it is free and a message is visible (no SQS or network latency); "
        f"a long poll that finds nothing for {LONG_POLL_S} s scales the mapping back to 5",
        "a batch is what is visible when a reader polls, up to BatchSize: no message arrives during a batching "
        "window (the window is not modelled)",
        "a throttled batch is retried after 1 s, 2 s, 4 s... until its visibility timeout ends, or as soon as one of "
        "the mapping's invocations ends and it is the throttled batch received first (as lsim's poller does)",
        f"messages arriving within {ARRIVAL_TIE_S * 1000:g} ms of each other are sent together, at the first one's "
        "instant",
    ]
    if parameters.errors:
        rates = ", ".join(f"{name} {p:.1%}" for name, p in sorted(parameters.errors.items()))
        lines.append(f"function errors fail a whole batch at random, independent of load: {rates}")
    if setup.fifo:
        lines.append("FIFO: every message goes to one message group (order kept, one batch in flight)")
    return lines


# heap entries: (instant, order, kind, data)
_ARRIVAL, _DONE, _RETRY, _POLL, _IDLE, _SAMPLE = range(6)


class _Batch:
    __slots__ = ("handles", "ids", "lease", "received_at", "throttles", "turn")

    def __init__(self, ids: list[str], handles: list[str], received_at: float) -> None:
        self.ids, self.handles, self.received_at = ids, handles, received_at
        self.throttles = 0
        self.turn = 0  # which of its scheduled retries is still due (a hand-over makes the earlier one void)
        self.lease: Any = None


def run_queue_model(
    plan: LoadPlan,
    setup: QueueSetup,
    account: ModelAccount,
    parameters: ModelParameters,
    *,
    drain_s: float | None = None,
    folder: Path | None = None,
) -> QueueReport:
    """Play `plan`'s messages into the queue and the mapping's polling of it in virtual time."""
    from ..queues.service import QueueService

    if plan.shape is None:
        raise LoadTestError("a queue load test sends messages at a rate: give --rate or --messages, not --concurrency")
    with tempfile.TemporaryDirectory(prefix="lsim-queue-model-", dir=folder) as where:
        store = ScratchStore(Path(where) / ".lsim")
        clock = VirtualClock(0.0)
        queues = QueueService(store, clock, region=account.region, account_id=MODEL_ACCOUNT_ID, poll_s=None)
        return _Run(plan, setup, account, parameters, queues, clock, drain_s).play()


class _Run:
    """One model run (an object so that the event handlers share its state without a closure per event)."""

    def __init__(
        self,
        plan: LoadPlan,
        setup: QueueSetup,
        account: ModelAccount,
        parameters: ModelParameters,
        queues: Any,
        clock: VirtualClock,
        drain_s: float | None,
    ) -> None:
        self.plan, self.setup, self.account, self.parameters = plan, setup, account, parameters
        self.queues, self.clock = queues, clock
        self.drain_s = DEFAULT_DRAIN_S if drain_s is None else drain_s
        self.rng = random.Random(plan.seed)
        self.draw_duration = parameters.duration.sampler(self.rng)
        self.draw_init = parameters.init.sampler(self.rng)
        self.errors = _error_table(parameters.errors)
        self.controller = account.controller(clock)
        self.scaling = PollerScaling(
            maximum_concurrency=setup.maximum_concurrency,
            report_batch_item_failures=setup.report_batch_item_failures,
        )
        self.heap: list[tuple[float, int, int, Any]] = []
        self.order = itertools.count()
        self.busy = 0  # readers holding a batch (running, or waiting to retry a throttle)
        self.throttled: list[_Batch] = []  # batches waiting to retry a throttled invoke
        self.running = 0  # invocations holding a concurrency slot
        self.idle_since: float | None = None
        self.poll_due: set[float] = set()
        self.recorder = QueueRecorder(bucket_width(plan.duration_s))
        self.timeout_ms = account.function.timeout * 1000.0
        self.dlq: str | None = None
        self.inits_ms: list[float] = []
        self.entries: dict[tuple[int, int], Any] = {}
        from ..queues.models import SendMessageBatchEntry

        self.make_entry = SendMessageBatchEntry

    def push(self, at: float, kind: int, data: Any = None) -> None:
        heapq.heappush(self.heap, (at, next(self.order), kind, data))

    def wake_at(self, at: float) -> None:
        """A reader should poll at `at` (a message becomes visible then)."""
        key = round(at, 6)
        if key not in self.poll_due:
            self.poll_due.add(key)
            self.push(at, _POLL, key)

    # -- setting up -------------------------------------------------------------------------------------
    def create_queues(self) -> None:
        attributes = dict(self.setup.attributes)
        if self.setup.dlq_attributes is not None and "RedrivePolicy" in attributes:
            self.dlq = MODEL_DLQ + (".fifo" if self.setup.fifo else "")
            dlq = self.queues.create_queue(self.dlq, dict(self.setup.dlq_attributes))
            import json

            policy = json.loads(attributes["RedrivePolicy"])
            policy["deadLetterTargetArn"] = dlq.arn
            attributes["RedrivePolicy"] = json.dumps(policy)
        else:
            attributes.pop("RedrivePolicy", None)
        queue = self.queues.create_queue(self.setup.queue_name, attributes)
        self.queue_name = queue.name
        function = self.account.function
        self.visibility = effective_visibility_timeout(
            queue.attributes.visibility_timeout, function.timeout, self.setup.maximum_batching_window_s
        )
        self.delay = queue.attributes.delay_seconds

    # -- the run ------------------------------------------------------------------------------------------
    def play(self) -> QueueReport:
        self.create_queues()
        plan = self.plan
        assert plan.shape is not None
        limit = plan.max_requests if plan.max_requests is not None else math.inf
        arrivals: Iterator[float] = iter(plan.shape.arrivals(plan.seed))
        bodies = [p.decode("utf-8", "replace") for p in plan.payloads]
        sent = 0
        first = next(arrivals, None)
        if first is not None and limit > 0:
            self.push(first, _ARRIVAL)
        self.push(0.0, _SAMPLE)
        last_arrival = 0.0
        end = math.inf
        heap, pop = self.heap, heapq.heappop
        jump = self.clock.jump
        while heap:
            at, _, kind, data = pop(heap)
            if at > end:
                break
            if at > self.clock.monotonic():
                jump(at)
            if kind == _ARRIVAL:
                # arrivals within ARRIVAL_TIE_S with nothing else between go in one SendMessageBatch
                entries = [self.entry(sent, bodies)]
                following = next(arrivals, None) if sent + 1 < limit else None
                while (
                    following is not None
                    and len(entries) < MAX_RECEIVE
                    and following - at <= ARRIVAL_TIE_S
                    and (not heap or following < heap[0][0])
                ):
                    entries.append(self.entry(sent + len(entries), bodies))
                    following = next(arrivals, None) if sent + len(entries) < limit else None
                result = self.queues.send_message_batch(self.queue_name, entries)
                if result.failed:
                    raise LoadTestError(f"the model could not send a message: {result.failed[0].message}")
                sent += len(entries)
                self.recorder.sent(at, len(entries))
                last_arrival = at
                if following is not None:
                    self.push(following, _ARRIVAL)
                else:
                    end = max(plan.duration_s, last_arrival) + self.drain_s
                if self.delay:
                    self.wake_at(at + self.delay)
                else:
                    self.poll(at)
            elif kind == _DONE:
                self.finish(at, data)
            elif kind == _RETRY:
                batch, turn = data
                if batch.turn == turn:  # not handed a slot meanwhile
                    self.throttled.remove(batch)
                    self.attempt(at, batch)
            elif kind == _POLL:
                self.poll_due.discard(data)
                self.poll(at)
            elif kind == _IDLE:
                if self.idle_since is not None and at - self.idle_since >= LONG_POLL_S - 1e-9:
                    self.scaling.found_none(at)
            else:  # _SAMPLE
                gauges = self.sample(at)
                drained = sent >= limit or end < math.inf
                if drained and not gauges[0] and not gauges[1] and not gauges[2] and not self.busy:
                    break  # everything sent is deleted or dead-lettered
                self.push(at + self.recorder.bucket_s, _SAMPLE)
        return self.report(sent, last_arrival)

    def entry(self, n: int, bodies: list[str]) -> Any:
        if self.setup.fifo:
            body = bodies[n % len(bodies)]
            return self.make_entry(str(n % 10), body, group_id="model", deduplication_id=str(n))
        key = (n % 10, n % len(bodies))  # a standard queue's entries repeat: made once each
        made = self.entries.get(key)
        if made is None:
            made = self.entries[key] = self.make_entry(str(key[0]), bodies[key[1]])
        return made

    def sample(self, at: float) -> tuple[int, int, int]:
        metrics = self.queues.metrics(self.queue_name)
        dead = self.dead_letters()
        self.recorder.gauges(
            at,
            visible=metrics.approximate_number_of_messages_visible,
            in_flight=metrics.approximate_number_of_messages_not_visible,
            oldest_age_s=metrics.approximate_age_of_oldest_message,
            dead_letters=dead,
            concurrency=self.running,
            allowed_batches=self.scaling.allowed(at),
        )
        return (
            metrics.approximate_number_of_messages_visible,
            metrics.approximate_number_of_messages_not_visible,
            metrics.approximate_number_of_messages_delayed,
        )

    def dead_letters(self) -> int:
        if self.dlq is None:
            return 0
        m = self.queues.metrics(self.dlq)
        return (
            m.approximate_number_of_messages_visible
            + m.approximate_number_of_messages_not_visible
            + m.approximate_number_of_messages_delayed
        )

    def poll(self, at: float) -> None:
        """Free readers take batches of what is visible, up to what scaling allows."""
        emptied = False
        while self.busy < self.scaling.allowed(at) and not emptied:
            got: list[Any] = []
            while len(got) < self.setup.batch_size:  # SQS gives at most 10 a receive
                wanted = min(MAX_RECEIVE, self.setup.batch_size - len(got))
                more = self.queues.receive_message(
                    self.queue_name, max_messages=wanted, visibility_timeout=int(self.visibility)
                )
                got.extend(more)
                if len(more) < wanted:
                    emptied = True  # nothing more is visible: no further receive until something changes
                    break
            if not got:
                if self.idle_since is None:
                    self.idle_since = at
                    self.push(at + LONG_POLL_S, _IDLE)
                return
            self.idle_since = None
            self.scaling.found_messages(at)
            self.recorder.received(at, len(got))
            self.busy += 1
            self.attempt(at, _Batch([m.message_id for m in got], [m.receipt_handle for m in got], at))
        # every reader is busy: when scaling allows one more, it polls then
        if not emptied and self.busy >= self.scaling.allowed(at):
            then = self.scaling.next_increase(at)
            if then is not None:
                self.wake_at(then)

    def attempt(self, at: float, batch: _Batch) -> None:
        decision = self.controller.try_admit(self.account.function.name, self.account.version, True)
        if type(decision) is Lease:
            self.running += 1
            self.recorder.concurrency(at, self.running)
            init_ms = self.draw_init() if decision.cold else 0.0
            if decision.cold:
                self.inits_ms.append(init_ms)
            held_ms = self.draw_duration()
            error: str | None = None
            reset = False
            if held_ms >= self.timeout_ms:
                held_ms, error, reset = self.timeout_ms, TIMEOUT_ERROR_TYPE, True
            elif self.errors:
                error = _draw_error(self.errors, self.rng.random())
                reset = error is not None and error.startswith(("Runtime.", "Sandbox."))
            batch.lease = (decision, error, reset, held_ms)
            self.push(at + (held_ms + init_ms) / 1000.0, _DONE, batch)
            return
        batch.throttles += 1
        self.recorder.throttled(at)
        self.scaling.throttled(at)
        delay = throttle_retry_delay(batch.throttles)
        visible_again = batch.received_at + self.visibility
        if at + delay >= visible_again:
            self.recorder.dropped(at, len(batch.ids))
            self.busy -= 1
            self.wake_at(visible_again + VISIBLE_TIE_S)
            self.poll(at)
            return
        batch.turn += 1
        self.throttled.append(batch)
        self.push(at + delay, _RETRY, (batch, batch.turn))

    def hand_over(self, at: float) -> None:
        """An invocation ended: its concurrency goes to the throttled batch received first, before any new
        receive (the poller's rule)."""
        first = batch_for_freed_slot(self.throttled, lambda batch: batch.received_at)
        if first is not None:
            self.throttled.remove(first)
            first.turn += 1  # its scheduled retry is void
            self.attempt(at, first)

    def finish(self, at: float, batch: _Batch) -> None:
        lease, error, reset, held_ms = batch.lease
        self.controller.release(lease, reusable=not reset)
        self.running -= 1
        self.recorder.concurrency(at, self.running)
        self.hand_over(at)
        self.recorder.invoked(at, len(batch.ids), held_ms, failed=error is not None)
        outcome = settle(batch.ids, "Unhandled" if error else None, b"", self.setup.report_batch_item_failures)
        if outcome.failed_as_a_whole:
            self.scaling.function_error(at)
        done = set(outcome.delete)
        failed = delete_batches(
            self.queues, self.queue_name, [h for i, h in zip(batch.ids, batch.handles, strict=True) if i in done]
        )
        # a handle that expired (the message was received again, or moved to the DLQ) may delete nothing:
        # the report counts the queue's NumberOfMessagesDeleted
        self.recorder.processed(at, len(done) - len(failed))
        if outcome.keep:
            self.wake_at(batch.received_at + self.visibility + VISIBLE_TIE_S)
        self.busy -= 1
        self.poll(at)

    def report(self, sent: int, last_arrival: float) -> QueueReport:
        now = self.clock.monotonic()
        self.sample(now)
        metrics = self.queues.metrics(self.queue_name)
        left = (
            metrics.approximate_number_of_messages_visible
            + metrics.approximate_number_of_messages_not_visible
            + metrics.approximate_number_of_messages_delayed
        )
        statistics = self.controller.function_statistics(self.account.function.name)
        unreserved = self.controller.statistics().unreserved_limit
        return self.recorder.report(
            "model",
            function_name=self.account.function.name,
            queue_name=self.setup.queue_name,
            load=self.plan.describe(),
            planned_duration_s=self.plan.duration_s,
            sending_s=last_arrival,
            elapsed_s=now,
            sent_total=sent,
            processed=metrics.number_of_messages_deleted,  # NumberOfMessagesDeleted: deletes that deleted
            left_in_queue=left,
            dead_letters=self.dead_letters(),
            concurrency_limit=statistics.reserved if statistics.reserved is not None else unreserved,
            init_duration_ms=Summary.of(self.inits_ms),
            assumptions=assumptions(self.setup, self.account, self.parameters),
        )
