"""Asynchronous invocation: a durable event queue in SQLite, Lambda's retries, and a local dead-letter queue.

An `Event` invocation is written to `.lsim/state.db` before it is answered 202, so nothing is lost when
the simulator stops: events that were running are delivered again on the next start (at least once, as
on AWS). https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
- a throttle (429) or a system error puts the event back with a backoff from 1 s doubling up to 5 minutes;
- a function error is retried MaximumRetryAttempts times (0-2, default 2), after about 1 and 2 minutes;
- an event older than MaximumEventAgeInSeconds (60-21600, default 6 h) is not run any more;
- an event that ends either way is kept in lsim's dead-letter table with Lambda's invocation record
  (condition RetriesExhausted or EventAgeExceeded), where `lsim dlq list` shows it and `lsim dlq replay`
  puts it back on the queue. AWS would send it to the on-failure destination or dead-letter queue, or
  discard it when there is none; lsim keeps it either way, and when the destination is a function of the
  same project it also invokes that function with the record, as a Lambda destination.

`EventQueue` is the storage (blocking SQLite calls); `EventDispatcher` runs due events on an event loop
through a callback, so this module knows no Docker and no HTTP. Retry decisions are pure functions of
the event, the outcome and the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from .clock import Clock
from .config import FunctionConfig, Limits
from .errors import LsimError, TooManyRequestsException
from .invocation import InvocationResult, new_request_id
from .metrics import (
    ASYNC_EVENT_AGE,
    ASYNC_EVENTS_DROPPED,
    DEAD_LETTER_ERRORS,
    DESTINATION_DELIVERY_FAILURES,
    Metrics,
)
from .store import Store

RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"
QUEUED, RUNNING = "queued", "running"
DEFAULT_MAXIMUM_EVENT_AGE_S = 21600
POLL_S = 1.0  # how often the queue is read for events another process added
MAX_IN_FLIGHT = 64

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS async_events (
        request_id TEXT PRIMARY KEY,
        function_name TEXT NOT NULL,
        qualifier TEXT NOT NULL,
        invoked_function_arn TEXT NOT NULL,
        payload BLOB NOT NULL,
        client_context TEXT,
        trace_id TEXT NOT NULL DEFAULT '',
        received_at REAL NOT NULL,
        due_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        throttles INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'queued',
        owner TEXT,
        replay_of TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS async_events_due ON async_events (state, due_at)",
    """CREATE TABLE IF NOT EXISTS dead_letters (
        request_id TEXT PRIMARY KEY,
        function_name TEXT NOT NULL,
        qualifier TEXT NOT NULL,
        invoked_function_arn TEXT NOT NULL,
        payload BLOB NOT NULL,
        client_context TEXT,
        condition TEXT NOT NULL,
        approximate_invoke_count INTEGER NOT NULL,
        executed_version TEXT,
        function_error TEXT,
        response_payload BLOB,
        destination TEXT,
        received_at REAL NOT NULL,
        failed_at REAL NOT NULL,
        replayed_at REAL,
        replayed_as TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS dead_letters_function ON dead_letters (function_name, failed_at)",
    "CREATE TABLE IF NOT EXISTS async_event_tenants (request_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL)",
]

# Owners (simulators) alive in this process: a "running" event whose owner is gone is delivered again.
_LIVE_OWNERS: set[str] = set()


@dataclass(frozen=True)
class QueuedEvent:
    """One asynchronous invocation waiting in (or taken from) the queue."""

    request_id: str
    function_name: str
    qualifier: str
    invoked_function_arn: str
    payload: bytes
    received_at: float  # epoch seconds
    due_at: float
    client_context: str | None = None
    trace_id: str = ""
    attempts: int = 0  # times the function ran it (approximateInvokeCount)
    throttles: int = 0  # throttles and system errors so far: the backoff's exponent
    replay_of: str | None = None
    tenant_id: str | None = None  # Invoke's TenantId, for a tenant-isolated function (tenancy.py)


@dataclass(frozen=True)
class DeadLetter:
    """An event Lambda gave up on, with what is needed to show and replay it."""

    request_id: str
    function_name: str
    qualifier: str
    invoked_function_arn: str
    payload: bytes
    client_context: str | None
    condition: str  # RetriesExhausted | EventAgeExceeded
    approximate_invoke_count: int
    executed_version: str | None
    function_error: str | None
    response_payload: bytes | None
    destination: str | None  # the configured on-failure destination; None: AWS would discard it
    received_at: float
    failed_at: float
    replayed_at: float | None
    replayed_as: str | None

    def record(self) -> dict[str, Any]:
        """Lambda's invocation record, as an on-failure destination receives it."""
        return invocation_record(self)


def invocation_record(letter: DeadLetter) -> dict[str, Any]:
    """The record Lambda sends to a destination (version 1.0).
    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html"""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": _iso(letter.failed_at),
        "requestContext": {
            "requestId": letter.request_id,
            "functionArn": _qualified(letter.invoked_function_arn, letter.executed_version or letter.qualifier),
            "condition": letter.condition,
            "approximateInvokeCount": letter.approximate_invoke_count,
        },
        "requestPayload": _json_or_text(letter.payload),
    }
    if letter.executed_version is not None:
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": letter.executed_version}
        if letter.function_error:
            context["functionError"] = letter.function_error
        record["responseContext"] = context
        record["responsePayload"] = _json_or_text(letter.response_payload or b"")
    return record


def _qualified(arn: str, qualifier: str) -> str:
    return arn if arn.count(":") >= 7 else f"{arn}:{qualifier}"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body.decode("utf-8", "replace")


# -- retry decisions (pure) ----------------------------------------------------------------------------------
def throttle_backoff(throttles: int, limits: Limits) -> float:
    """The wait after the `throttles`-th throttle or system error in a row: 1 s doubling, at most 5 min."""
    exponent = min(max(throttles - 1, 0), 32)
    return min(limits.async_backoff_max_s, limits.async_backoff_initial_s * 2**exponent)


def function_error_delay(attempts: int, limits: Limits) -> float:
    """The wait before retry number `attempts` after a function error (about 1 and 2 minutes)."""
    delays = limits.async_retry_delays_s or (0.0,)
    return delays[min(attempts, len(delays)) - 1]


def expires_at(event: QueuedEvent, config: FunctionConfig | None) -> float:
    age = config.maximum_event_age_in_seconds if config else DEFAULT_MAXIMUM_EVENT_AGE_S
    return event.received_at + age


# -- storage ---------------------------------------------------------------------------------------------
class EventQueue:
    """The queue and the dead letters of one project, in its Store. Every method blocks on SQLite."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.ensure_schema("async_events", 2, SCHEMA)  # 2 added the tenants' table, leaving stored queues as they are

    def enqueue(self, event: QueuedEvent) -> None:
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO async_events (request_id, function_name, qualifier, invoked_function_arn, "
                "payload, client_context, trace_id, received_at, due_at, attempts, throttles, state, "
                "replay_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?)",
                (
                    event.request_id, event.function_name, event.qualifier, event.invoked_function_arn,
                    event.payload, event.client_context, event.trace_id, event.received_at, event.due_at,
                    event.attempts, event.throttles, event.replay_of,
                ),
            )  # fmt: skip
            if event.tenant_id is not None:
                db.execute("INSERT INTO async_event_tenants VALUES (?, ?)", (event.request_id, event.tenant_id))

    def claim_due(self, now: float, owner: str, limit: int) -> list[QueuedEvent]:
        """Take up to `limit` due events for `owner` (no one else takes them while it lives)."""
        if limit <= 0:
            return []
        with self.store.transaction() as db:
            rows = db.execute(
                "SELECT async_events.*, tenant_id FROM async_events LEFT JOIN async_event_tenants USING (request_id) "
                "WHERE state = 'queued' AND due_at <= ? ORDER BY due_at LIMIT ?",
                (now, limit),
            ).fetchall()
            db.executemany(
                "UPDATE async_events SET state = 'running', owner = ? WHERE request_id = ?",
                [(owner, row["request_id"]) for row in rows],
            )
        return [_event(row) for row in rows]

    def next_due(self) -> float | None:
        row = self.store.query("SELECT min(due_at) AS due FROM async_events WHERE state = 'queued'")
        return row[0]["due"] if row and row[0]["due"] is not None else None

    def reschedule(self, event: QueuedEvent) -> None:
        """Put a taken event back, with its new due time and counters."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE async_events SET state = 'queued', owner = NULL, due_at = ?, attempts = ?, "
                "throttles = ? WHERE request_id = ?",
                (event.due_at, event.attempts, event.throttles, event.request_id),
            )

    def complete(self, request_id: str) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM async_events WHERE request_id = ?", (request_id,))
            db.execute("DELETE FROM async_event_tenants WHERE request_id = ?", (request_id,))

    def dead_letter(self, letter: DeadLetter) -> None:
        """Move an event from the queue to the dead letters, in one transaction."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO dead_letters (request_id, function_name, qualifier, "
                "invoked_function_arn, payload, client_context, condition, approximate_invoke_count, "
                "executed_version, function_error, response_payload, destination, received_at, failed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    letter.request_id, letter.function_name, letter.qualifier, letter.invoked_function_arn,
                    letter.payload, letter.client_context, letter.condition, letter.approximate_invoke_count,
                    letter.executed_version, letter.function_error, letter.response_payload,
                    letter.destination, letter.received_at, letter.failed_at,
                ),
            )  # fmt: skip
            db.execute("DELETE FROM async_events WHERE request_id = ?", (letter.request_id,))
            db.execute("DELETE FROM async_event_tenants WHERE request_id = ?", (letter.request_id,))

    def release(self, owner: str) -> int:
        """Put back every event `owner` took (it is closing): they run again on the next start."""
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE async_events SET state = 'queued', owner = NULL WHERE state = 'running' AND owner = ?",
                (owner,),
            )
            return cursor.rowcount

    def recover(self, alive: Callable[[str], bool]) -> int:
        """Put back events taken by owners that are gone (a crashed or killed simulator)."""
        owners = [
            row["owner"]
            for row in self.store.query(
                "SELECT DISTINCT owner FROM async_events WHERE state = 'running' AND owner IS NOT NULL"
            )
        ]
        dead = [owner for owner in owners if not alive(owner)]
        if not dead:
            return 0
        with self.store.transaction() as db:
            total = 0
            for owner in dead:
                cursor = db.execute(
                    "UPDATE async_events SET state = 'queued', owner = NULL WHERE state = 'running' AND owner = ?",
                    (owner,),
                )
                total += cursor.rowcount
            return total

    def status(self, request_id: str) -> str:
        """'queued', 'running', 'dead-lettered' or 'done' (delivered, or never known)."""
        row = self.store.query("SELECT state FROM async_events WHERE request_id = ?", (request_id,))
        if row:
            return str(row[0]["state"])
        if self.store.query("SELECT 1 FROM dead_letters WHERE request_id = ?", (request_id,)):
            return "dead-lettered"
        return "done"

    def queued(self, function_name: str | None = None) -> list[QueuedEvent]:
        sql, parameters = "SELECT * FROM async_events", []
        if function_name is not None:
            sql, parameters = sql + " WHERE function_name = ?", [function_name]
        return [_event(row) for row in self.store.query(sql + " ORDER BY due_at", parameters)]

    def dead_letters(self, function_name: str | None = None, *, include_replayed: bool = True) -> list[DeadLetter]:
        sql, parameters = "SELECT * FROM dead_letters WHERE 1 = 1", []
        if function_name is not None:
            sql += " AND function_name = ?"
            parameters.append(function_name)
        if not include_replayed:
            sql += " AND replayed_at IS NULL"
        return [_dead_letter(row) for row in self.store.query(sql + " ORDER BY failed_at", parameters)]

    def dead_letter_by_id(self, request_id: str) -> DeadLetter | None:
        rows = self.store.query("SELECT * FROM dead_letters WHERE request_id = ?", (request_id,))
        return _dead_letter(rows[0]) if rows else None

    def replay(self, letters: Sequence[DeadLetter], now: float) -> list[QueuedEvent]:
        """Put dead letters back on the queue as new events (new request IDs, fresh age and retries)."""
        events = []
        with self.store.transaction() as db:
            for letter in letters:
                event = QueuedEvent(
                    request_id=new_request_id(),
                    function_name=letter.function_name,
                    qualifier=letter.qualifier,
                    invoked_function_arn=letter.invoked_function_arn,
                    payload=letter.payload,
                    received_at=now,
                    due_at=now,
                    client_context=letter.client_context,
                    replay_of=letter.request_id,
                )
                db.execute(
                    "INSERT INTO async_events (request_id, function_name, qualifier, invoked_function_arn, "
                    "payload, client_context, trace_id, received_at, due_at, state, replay_of) "
                    "VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, 'queued', ?)",
                    (
                        event.request_id, event.function_name, event.qualifier, event.invoked_function_arn,
                        event.payload, event.client_context, now, now, letter.request_id,
                    ),
                )  # fmt: skip
                db.execute(
                    "UPDATE dead_letters SET replayed_at = ?, replayed_as = ? WHERE request_id = ?",
                    (now, event.request_id, letter.request_id),
                )
                events.append(event)
        return events


def _event(row: Any) -> QueuedEvent:
    return QueuedEvent(
        request_id=row["request_id"],
        function_name=row["function_name"],
        qualifier=row["qualifier"],
        invoked_function_arn=row["invoked_function_arn"],
        payload=bytes(row["payload"]),
        received_at=row["received_at"],
        due_at=row["due_at"],
        client_context=row["client_context"],
        trace_id=row["trace_id"],
        attempts=row["attempts"],
        throttles=row["throttles"],
        replay_of=row["replay_of"],
        tenant_id=row["tenant_id"] if "tenant_id" in row.keys() else None,  # noqa: SIM118 (a sqlite3.Row)
    )


def _dead_letter(row: Any) -> DeadLetter:
    response = row["response_payload"]
    return DeadLetter(
        request_id=row["request_id"],
        function_name=row["function_name"],
        qualifier=row["qualifier"],
        invoked_function_arn=row["invoked_function_arn"],
        payload=bytes(row["payload"]),
        client_context=row["client_context"],
        condition=row["condition"],
        approximate_invoke_count=row["approximate_invoke_count"],
        executed_version=row["executed_version"],
        function_error=row["function_error"],
        response_payload=bytes(response) if response is not None else None,
        destination=row["destination"],
        received_at=row["received_at"],
        failed_at=row["failed_at"],
        replayed_at=row["replayed_at"],
        replayed_as=row["replayed_as"],
    )


def owner_alive(owner: str) -> bool:
    """Whether the simulator that took an event still runs: in this process, one not yet closed; in
    another, a process that still exists."""
    pid_text, _, _ = owner.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return owner in _LIVE_OWNERS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- delivery -------------------------------------------------------------------------------------------
Execute = Callable[[QueuedEvent], Awaitable[InvocationResult]]
ConfigFor = Callable[[str], FunctionConfig | None]
Destination = Callable[[str, DeadLetter], Awaitable[bool]]


class EventDispatcher:
    """Runs due events through `execute` on the running event loop and applies Lambda's retry rules.

    `execute(event)` raises TooManyRequestsException on a throttle and other LsimErrors on a system error;
    `config_for(name)` gives the function's MaximumEventAgeInSeconds, MaximumRetryAttempts and on-failure
    destination; `send_to_function(name, letter)` invokes a destination function (False if it could not).
    """

    def __init__(
        self,
        queue: EventQueue,
        clock: Clock,
        limits: Limits,
        execute: Execute,
        config_for: ConfigFor,
        *,
        metrics: Metrics | None = None,
        send_to_function: Destination | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.queue = queue
        self.clock = clock
        self.limits = limits
        self.execute = execute
        self.config_for = config_for
        self.metrics = metrics
        self.send_to_function = send_to_function
        self.warn = warn
        self.owner = f"{os.getpid()}:{uuid.uuid4().hex}"
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        _LIVE_OWNERS.add(self.owner)
        await asyncio.to_thread(self.queue.recover, owner_alive)
        self._loop_task = asyncio.create_task(self._run_forever(), name="lsim-async-events")

    def wake(self) -> None:
        """A new event is queued: look now rather than at the next poll."""
        self._wake.set()

    async def close(self) -> None:
        """Stop taking events; events running now are put back, to run again on the next start."""
        tasks = [task for task in (self._loop_task, *self._in_flight) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        _LIVE_OWNERS.discard(self.owner)
        await asyncio.to_thread(self.queue.release, self.owner)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def _run_forever(self) -> None:
        while True:
            try:
                await self._poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the queue must keep running; say why it stumbled
                if self.warn is not None:
                    self.warn(f"lsim: asynchronous event queue: {error}")
                await asyncio.sleep(POLL_S)

    async def _poll_once(self) -> None:
        self._wake.clear()
        now = self.clock.time()
        await asyncio.to_thread(self.queue.recover, owner_alive)
        events = await asyncio.to_thread(self.queue.claim_due, now, self.owner, MAX_IN_FLIGHT - len(self._in_flight))
        for event in events:
            task = asyncio.create_task(self._deliver(event))
            self._in_flight.add(task)
            task.add_done_callback(self._delivered)
        due = await asyncio.to_thread(self.queue.next_due)
        waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(self._wake.wait())}
        if due is not None and len(self._in_flight) < MAX_IN_FLIGHT:
            waiters.add(asyncio.ensure_future(self.clock.sleep(max(due - self.clock.time(), 0.001))))
        try:
            await asyncio.wait(waiters, timeout=POLL_S, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _delivered(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()

    async def _deliver(self, event: QueuedEvent) -> None:
        config = self.config_for(event.function_name)
        now = self.clock.time()
        if now >= expires_at(event, config):
            await self._give_up(event, config, EVENT_AGE_EXCEEDED, None)
            return
        if self.metrics is not None:
            self.metrics.put(event.function_name, ASYNC_EVENT_AGE, (now - event.received_at) * 1000)
        try:
            result = await self.execute(event)
        except Exception as error:  # a throttle (429), or a system error (5xx): back on the queue
            if not isinstance(error, TooManyRequestsException) and self.warn is not None:
                self.warn(f"lsim: event {event.request_id} for {event.function_name}: {error}; retrying")
            await self._back_off(event, config)
            return
        if result.function_error is None:
            await asyncio.to_thread(self.queue.complete, event.request_id)
            return
        attempts = event.attempts + 1
        maximum = config.maximum_retry_attempts if config else 2
        if attempts > maximum:
            await self._give_up(replace(event, attempts=attempts), config, RETRIES_EXHAUSTED, result)
            return
        due = self.clock.time() + function_error_delay(attempts, self.limits)
        await self._retry_later(replace(event, attempts=attempts), config, due)

    async def _back_off(self, event: QueuedEvent, config: FunctionConfig | None) -> None:
        throttles = event.throttles + 1
        due = self.clock.time() + throttle_backoff(throttles, self.limits)
        await self._retry_later(replace(event, throttles=throttles), config, due)

    async def _retry_later(self, event: QueuedEvent, config: FunctionConfig | None, due: float) -> None:
        # never later than the moment it expires: then it is taken, found too old and given up
        await asyncio.to_thread(self.queue.reschedule, replace(event, due_at=min(due, expires_at(event, config))))

    async def _give_up(
        self,
        event: QueuedEvent,
        config: FunctionConfig | None,
        condition: str,
        result: InvocationResult | None,
    ) -> None:
        letter = DeadLetter(
            request_id=event.request_id,
            function_name=event.function_name,
            qualifier=event.qualifier,
            invoked_function_arn=event.invoked_function_arn,
            payload=event.payload,
            client_context=event.client_context,
            condition=condition,
            approximate_invoke_count=event.attempts,
            executed_version=result.executed_version if result else None,
            function_error=result.function_error if result else None,
            response_payload=result.body if result else None,
            destination=config.on_failure if config else None,
            received_at=event.received_at,
            failed_at=self.clock.time(),
            replayed_at=None,
            replayed_as=None,
        )
        try:
            await asyncio.to_thread(self.queue.dead_letter, letter)
        except Exception as error:
            self._put(event.function_name, DEAD_LETTER_ERRORS)
            if self.warn is not None:
                self.warn(f"lsim: could not keep dead letter {event.request_id}: {error}; retrying")
            await self._back_off(event, None)
            return
        self._put(event.function_name, ASYNC_EVENTS_DROPPED)
        if letter.destination and self.send_to_function is not None:
            delivered = False
            with contextlib.suppress(LsimError):
                delivered = await self.send_to_function(letter.destination, letter)
            if not delivered and _names_function(letter.destination):
                self._put(event.function_name, DESTINATION_DELIVERY_FAILURES)

    def _put(self, function: str, metric: str) -> None:
        if self.metrics is not None:
            self.metrics.put(function, metric)


def _names_function(destination: str) -> bool:
    """A destination that is a Lambda function (a bare name, or a function ARN)."""
    return ":function:" in destination or ":" not in destination
