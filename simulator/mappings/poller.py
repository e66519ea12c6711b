"""The SQS poller: what Lambda runs for an enabled SQS event source mapping, on lsim's own queues.

Each mapping gets a `MappingPoller`: as many batch readers as scaling.py allows, each one long-polling the
queue (20 s), gathering a batch (BatchSize, MaximumBatchingWindowInSeconds, the 6 MB invoke payload),
deleting the messages no filter matches, and invoking the function synchronously (RequestResponse, through
the Simulator, so admission, reserved concurrency and throttles are lsim's own):
- success: the batch is deleted; with ReportBatchItemFailures only the messages the function did not name;
- function error (or an unreadable partial response): nothing is deleted, so the batch becomes visible again
  after its visibility timeout, its ApproximateReceiveCount raised, and the queue's redrive policy moves it
  to the dead-letter queue after maxReceiveCount receives;
- throttle: the invoke is retried while the batch is still in flight (with back-off, or at once when one of
  the mapping's own invocations ends and this is the throttled batch received first); past its visibility
  timeout Lambda drops it and it returns to the queue.
Nothing is held in memory that the queue does not also hold: a batch in flight when lsim stops becomes
visible again after its visibility timeout (at-least-once, as SQS). FIFO order is the queue's: a message
group with messages in flight gives no more until they are deleted or visible again.
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, services-sqs-scaling.html,
services-sqs-errorhandling.html
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ..errors import TooManyRequestsException
from .scaling import PollerScaling, batch_for_freed_slot, effective_visibility_timeout, throttle_retry_delay

if TYPE_CHECKING:
    from ..clock import Clock
    from ..invocation import InvocationResult
    from ..queues.models import Queue, ReceivedMessage
    from ..queues.service import QueueService
    from .models import EventSourceMapping

LONG_POLL_S = 20  # Lambda long-polls standard queues; 20 s is SQS's longest wait
MAX_RECEIVE = 10  # SQS returns at most 10 messages a receive
INVOKE_PAYLOAD_BYTES = 6 * 1024 * 1024  # the synchronous invoke payload limit a batch must fit
ERROR_PAUSE_S = 1.0  # a reader that hit an unexpected error waits this long before polling again
RECONCILE_S = 1.0  # how often the pollers follow mappings created, changed or deleted through the API

Invoke = Callable[[str, bytes, "str | None"], Awaitable["InvocationResult"]]


@dataclass
class PollerCounters:
    """What one mapping's poller did (the EventCount metric names, for `lsim` output and tests)."""

    polled: int = 0  # messages received from the queue
    filtered_out: int = 0  # deleted because no filter matched
    invoked: int = 0  # messages in batches that reached the function
    failed_invoke: int = 0  # messages in batches that failed or were throttled past their visibility timeout
    deleted: int = 0  # deleted after the function succeeded with them
    function_errors: int = 0  # batches that failed as a whole
    error_types: dict[str, int] = field(default_factory=dict)  # their errorType (Sandbox.Timedout...)
    throttles: int = 0  # invokes throttled (each retry counts)
    batches: int = 0
    durations_ms: list[float] = field(default_factory=list)  # the REPORT lines' Duration of each invoke
    init_durations_ms: list[float] = field(default_factory=list)  # and Init Duration, on cold starts
    sizes: list[int] = field(default_factory=list)  # records per batch, for tests


@dataclass(eq=False)
class _Throttled:
    """A batch waiting to retry a throttled invoke: woken early when one of the mapping's invocations ends."""

    received_at: float
    woken: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class BatchOutcome:
    """Which messages of a batch are done (deleted) and which are left to return to the queue."""

    delete: tuple[str, ...]  # message ids
    keep: tuple[str, ...]
    failed_as_a_whole: bool  # a function error, a timeout or an unreadable partial response


def settle(
    message_ids: Sequence[str], function_error: str | None, body: bytes, report_batch_item_failures: bool
) -> BatchOutcome:
    """What Lambda does with a batch after the invoke returned (not throttled): the rule both the poller
    and the load test's model mode apply."""
    from .outcome import AllFailed, failed_items

    if function_error is not None:
        return BatchOutcome((), tuple(message_ids), True)
    if not report_batch_item_failures:
        return BatchOutcome(tuple(message_ids), (), False)
    failed = failed_items(body, tuple(message_ids))
    if isinstance(failed, AllFailed):
        return BatchOutcome((), tuple(message_ids), True)
    return BatchOutcome(
        tuple(i for i in message_ids if i not in failed), tuple(i for i in message_ids if i in failed), False
    )


class MappingPoller:
    """Polls one queue for one mapping and invokes its function with batches, until stopped."""

    def __init__(
        self,
        mapping: EventSourceMapping,
        queues: QueueService,
        invoke: Invoke,
        clock: Clock,
        *,
        region: str,
        function_timeout_s: float,
        warn: Callable[[str], None],
    ) -> None:
        self.mapping = mapping
        self.queues = queues
        self.invoke = invoke
        self.clock = clock
        self.region = region
        self.warn = warn
        self.function_timeout_s = function_timeout_s
        self.scaling = PollerScaling(
            maximum_concurrency=mapping.maximum_concurrency,
            report_batch_item_failures=mapping.report_batch_item_failures,
        )
        self.counters = PollerCounters()
        self._readers: set[asyncio.Task[None]] = set()
        self._supervisor: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._waiting = 0  # readers in a receive that has found nothing yet
        self._processing: set[asyncio.Task[None]] = set()  # readers with a batch in hand
        self._throttled: list[_Throttled] = []  # batches waiting to retry a throttled invoke

    # -- lifetime -------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name=f"lsim-sqs-poller-{self.mapping.uuid}")

    async def stop(self, *, finish_batches: bool = False) -> None:
        """Stop reading. Batches being processed are abandoned to their visibility timeout (nothing is lost),
        or, with `finish_batches` (a mapping changed while lsim runs), allowed to finish first."""
        self._stopping = True
        tasks = [t for t in (self._supervisor, *self._readers) if t is not None]
        for task in tasks:
            if not (finish_batches and task in self._processing):
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._readers.clear()
        self._supervisor = None

    @property
    def in_flight(self) -> int:
        """Batch readers running (each reads, then processes, one batch at a time)."""
        return len(self._readers)

    async def _supervise(self) -> None:
        """Keep as many batch readers running as scaling allows; readers beyond it stop after their batch."""
        while not self._stopping:
            allowed = self.scaling.allowed(self.clock.monotonic())
            # a reader waiting in a long poll with nothing yet means no more are needed now
            while len(self._readers) < allowed and not self._waiting:
                task = asyncio.create_task(self._read_batches(), name=f"lsim-sqs-reader-{self.mapping.uuid}")
                self._readers.add(task)
                task.add_done_callback(self._readers.discard)
            self._wake.clear()
            sleeper = asyncio.ensure_future(self.clock.sleep(1.0))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()

    async def _read_batches(self) -> None:
        while not self._stopping:
            if len(self._readers) > self.scaling.allowed(self.clock.monotonic()):
                return  # scaled down: this reader stops
            try:
                batch, received_at = await self._gather()
                if batch:
                    task = asyncio.current_task()
                    assert task is not None
                    self._processing.add(task)
                    try:
                        await self._process(batch, received_at)
                    finally:
                        self._processing.discard(task)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a reader never dies of one bad batch: the queue keeps the messages
                self.warn(f"lsim: the SQS poller of mapping {self.mapping.uuid} failed: {error}")
                await self.clock.sleep(ERROR_PAUSE_S)

    # -- one batch -----------------------------------------------------------------------------------------
    def _queue(self) -> Queue:
        return self.queues.queue(self.mapping.queue_name)

    def visibility_timeout(self, queue: Queue) -> float:
        return effective_visibility_timeout(
            queue.attributes.visibility_timeout, self.function_timeout_s, self.mapping.maximum_batching_window_s
        )

    async def _gather(self) -> tuple[list[ReceivedMessage], float]:
        """Receive until BatchSize, the window or the payload limit closes the batch; (batch, first receive)."""
        from .filters import matches

        mapping = self.mapping
        queue = self._queue()
        visibility = self.visibility_timeout(queue)
        window = 0.0 if queue.fifo else float(mapping.maximum_batching_window_s)
        batch: list[ReceivedMessage] = []
        size = len(b'{"Records":[]}')
        deadline: float | None = None
        received_at = self.clock.monotonic()
        while len(batch) < mapping.batch_size:
            now = self.clock.monotonic()
            if deadline is None:
                wait = float(LONG_POLL_S)
            else:
                wait = deadline - now
                if wait <= 0:
                    break
            self._waiting += 1
            try:
                got = await self._receive(mapping, wait, visibility, len(batch))
            finally:
                self._waiting -= 1
            now = self.clock.monotonic()
            if not got:
                if deadline is None:
                    self.scaling.found_none(now)
                    return [], now
                continue
            if deadline is None:
                received_at = now
                deadline = now + window
            self.scaling.found_messages(now)
            self._wake.set()
            self.counters.polled += len(got)
            for message, record in zip(got, _records(got, queue, self.region)["Records"], strict=True):
                if mapping.filter_patterns and not matches(mapping.filter_patterns, record):
                    self.counters.filtered_out += 1
                    await asyncio.to_thread(self._delete, [message])
                    continue
                record_size = len(json.dumps(record)) + 1
                if batch and size + record_size > INVOKE_PAYLOAD_BYTES:
                    # the batch is full by bytes: this one goes back for the next batch
                    with contextlib.suppress(Exception):
                        self.queues.change_message_visibility(mapping.queue_name, message.receipt_handle, 0)
                    deadline = now
                    continue
                batch.append(message)
                size += record_size
            if window <= 0:
                break
        return batch, received_at

    async def _receive(self, mapping: EventSourceMapping, wait: float, visibility: float, have: int) -> list[Any]:
        return await self.queues.receive_message_waiting(
            mapping.queue_name,
            wait_time_s=min(LONG_POLL_S, math.ceil(wait)),  # SQS waits whole seconds
            max_messages=min(MAX_RECEIVE, mapping.batch_size - have),
            visibility_timeout=int(visibility),
            attribute_names=("All",),
            message_attribute_names=("All",),
        )

    async def _process(self, batch: list[ReceivedMessage], received_at: float) -> None:
        mapping = self.mapping
        queue = self._queue()
        payload = json.dumps(_records(batch, queue, self.region)).encode()
        visible_again_at = received_at + self.visibility_timeout(queue)
        throttles = 0
        self.counters.batches += 1
        self.counters.sizes.append(len(batch))
        held = _Throttled(received_at)
        handed = False  # woken by a hand-over: a slot was just freed for this batch
        while True:
            # a batch received after a throttled one lines up behind it (the model's order: there the hand-over
            # takes the slot at the instant it is freed; here the woken batch needs a few turns of the event
            # loop to reach admission)
            if handed or not any(other.received_at < received_at for other in self._throttled):
                try:
                    result = await self.invoke(mapping.function_name, payload, mapping.qualifier)
                except TooManyRequestsException:
                    throttles += 1
                    self.counters.throttles += 1
                    self.scaling.throttled(self.clock.monotonic())
                except BaseException:
                    self._hand_over()
                    raise
                else:
                    self._hand_over()  # before this reader's deletes and next receive
                    break
            delay = throttle_retry_delay(max(throttles, 1))
            if self.clock.monotonic() + delay >= visible_again_at:
                self.counters.failed_invoke += len(batch)
                return  # dropped: it becomes visible again when its visibility timeout ends
            handed = await self._wait_to_retry(held, delay)
        self.counters.invoked += len(batch)
        if result.report is not None:
            self.counters.durations_ms.append(result.report.duration_ms)
            if result.report.init_duration_ms is not None:
                self.counters.init_durations_ms.append(result.report.init_duration_ms)
        outcome = settle(
            [m.message_id for m in batch], result.function_error, result.body, mapping.report_batch_item_failures
        )
        if outcome.failed_as_a_whole:
            self.counters.function_errors += 1
            error_type = result.error_type or result.function_error or "InvalidBatchItemFailures"
            self.counters.error_types[error_type] = self.counters.error_types.get(error_type, 0) + 1
            self.scaling.function_error(self.clock.monotonic())
        done = set(outcome.delete)
        self.counters.failed_invoke += len(outcome.keep)
        if done:
            deleted = await asyncio.to_thread(self._delete, [m for m in batch if m.message_id in done])
            self.counters.deleted += deleted  # after the await: `x += await` would read x before it

    async def _wait_to_retry(self, held: _Throttled, delay: float) -> bool:
        """Wait out a throttle's back-off, or less if an invocation of this mapping ends meanwhile (then True:
        the freed slot is this batch's)."""
        held.woken.clear()
        self._throttled.append(held)
        sleeper = asyncio.ensure_future(self.clock.sleep(delay))
        waker = asyncio.ensure_future(held.woken.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()
            if held in self._throttled:
                self._throttled.remove(held)
        return held.woken.is_set()

    def _hand_over(self) -> None:
        """An invocation of this mapping ended: its concurrency goes to the throttled batch received first."""
        first = batch_for_freed_slot(self._throttled, lambda held: held.received_at)
        if first is not None:
            self._throttled.remove(first)
            first.woken.set()

    def _delete(self, messages: Sequence[ReceivedMessage]) -> int:
        """Delete by receipt handle, 10 to a DeleteMessageBatch; an entry that fails (its handle expired and
        the message was received again) is left to whoever holds the new one. Returns how many went."""
        try:
            failed = delete_batches(self.queues, self.mapping.queue_name, [m.receipt_handle for m in messages])
        except Exception as error:
            self.warn(f"lsim: mapping {self.mapping.uuid} could not delete {len(messages)} message(s): {error}")
            return 0
        for entry in failed:
            self.warn(f"lsim: mapping {self.mapping.uuid} could not delete a message: {entry.code}: {entry.message}")
        return len(messages) - len(failed)


def delete_batches(queues: QueueService, queue_name: str, receipt_handles: Sequence[str]) -> list[Any]:
    """DeleteMessageBatch in tens; the entries that failed (BatchResultErrorEntry)."""
    from ..queues.models import DeleteMessageBatchEntry

    failed: list[Any] = []
    for start in range(0, len(receipt_handles), MAX_RECEIVE):
        chunk = receipt_handles[start : start + MAX_RECEIVE]
        entries = [DeleteMessageBatchEntry(str(i), handle) for i, handle in enumerate(chunk)]
        failed.extend(queues.delete_message_batch(queue_name, entries).failed)
    return failed


class MappingPollers:
    """The pollers of every enabled SQS mapping of a Simulator, following the mappings as they change."""

    def __init__(
        self,
        enabled: Callable[[], Sequence[EventSourceMapping]],
        queues: QueueService,
        invoke: Invoke,
        clock: Clock,
        *,
        region: str,
        function_timeout_s: Callable[[str, str | None], float],
        warn: Callable[[str], None],
    ) -> None:
        self._enabled = enabled
        self.queues = queues
        self.invoke = invoke
        self.clock = clock
        self.region = region
        self.function_timeout_s = function_timeout_s
        self.warn = warn
        self.pollers: dict[str, MappingPoller] = {}
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._listener: Callable[[str], Any] = lambda uuid: None

    async def start(self) -> None:
        await self.reconcile()
        self._changed = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._listener = lambda uuid: loop.call_soon_threadsafe(self._changed.set)
        self._task = asyncio.create_task(self._follow(), name="lsim-sqs-pollers")

    def changed(self, uuid: str) -> None:
        """A mapping was created, updated or deleted: follow it now (MappingService.subscribe calls this)."""
        self._listener(uuid)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        pollers, self.pollers = list(self.pollers.values()), {}
        await asyncio.gather(*(poller.stop() for poller in pollers))

    def poller(self, uuid: str) -> MappingPoller | None:
        return self.pollers.get(uuid)

    async def _follow(self) -> None:
        while True:
            sleeper = asyncio.ensure_future(self.clock.sleep(RECONCILE_S))
            waker = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()
            self._changed.clear()
            try:
                await self.reconcile()
            except Exception as error:
                self.warn(f"lsim: could not read the event source mappings: {error}")

    async def reconcile(self) -> None:
        """Start a poller for each enabled mapping, restart one whose mapping changed, stop the rest."""
        wanted = {m.uuid: m for m in self._enabled()}
        for uuid, poller in list(self.pollers.items()):
            if uuid not in wanted or polling_key(wanted[uuid]) != polling_key(poller.mapping):
                del self.pollers[uuid]
                await poller.stop(finish_batches=True)
        for uuid, mapping in wanted.items():
            if uuid in self.pollers:
                continue
            try:
                timeout = self.function_timeout_s(mapping.function_name, mapping.qualifier)
            except Exception as error:
                self.warn(f"lsim: mapping {uuid} does not poll: {error}")
                continue
            poller = MappingPoller(
                mapping, self.queues, self.invoke, self.clock,
                region=self.region, function_timeout_s=timeout, warn=self.warn,
            )  # fmt: skip
            self.pollers[uuid] = poller
            poller.start()


def _records(messages: Sequence[ReceivedMessage], queue: Queue, region: str) -> dict[str, Any]:
    """AWS's SQS event for a batch (sqs_event.py; its parameter types are protocols of the same fields)."""
    from .sqs_event import records

    event: dict[str, Any] = records(cast(Any, messages), cast(Any, queue), region)
    return event


def polling_key(mapping: EventSourceMapping) -> tuple[Any, ...]:
    """What a poller depends on: a change of anything else (State, LastModified) leaves it running."""
    return (
        mapping.function_name, mapping.qualifier, mapping.queue_name, mapping.batch_size,
        mapping.maximum_batching_window_s, mapping.maximum_concurrency, mapping.report_batch_item_failures,
        tuple(mapping.filter_patterns),
    )  # fmt: skip


def counters_of(pollers: MappingPollers) -> dict[str, Any]:
    """Every mapping's counters, by UUID (for tests and reports)."""
    return {uuid: poller.counters for uuid, poller in pollers.pollers.items()}
