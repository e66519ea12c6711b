"""The queue service: SQS's operations on queues kept in the project's SQLite state.

Every operation is one SQLite transaction, committed before it returns, so a message whose SendMessage
was answered survives a SIGKILL, and a message that was received but not deleted comes back when its
visibility timeout ends (at least once, as SQS). Time comes from the injected Clock, so the load test's
model runs the same code in virtual time. Redrive to a dead-letter queue and retention happen when a
receive reaches a message, which is when a consumer could see the difference.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/Welcome.html
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import secrets
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..clock import Clock
from ..store import Store
from . import batches, handles, storage, validation
from .cloudwatch import MetricRecorder
from .declarations import QueueDeclaration, apply_declarations
from .errors import (
    InvalidAttributeName,
    InvalidParameterValue,
    MissingParameter,
    PurgeQueueInProgress,
    QueueDeletedRecently,
    QueueDoesNotExist,
    QueueNameExists,
)
from .models import (
    ATTRIBUTE_NAMES,
    DEDUPLICATION_INTERVAL_S,
    MAX_WAIT_TIME_S,
    NAME_REUSE_DELAY_S,
    PURGE_INTERVAL_S,
    BatchResult,
    ChangeMessageVisibilityBatchEntry,
    DeleteMessageBatchEntry,
    MessageAttributeValue,
    Queue,
    QueueAttributes,
    QueueMetrics,
    ReceivedMessage,
    SendMessageBatchEntry,
    SentMessage,
)
from .receiving import DeadLetterTarget, ReceiveAttempts, pick, received
from .waiting import Wakeups

if TYPE_CHECKING:
    from ..metrics import Metrics

SYSTEM_ATTRIBUTE_NAMES = (
    "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp", "SentTimestamp", "SenderId",
    "SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "AWSTraceHeader", "DeadLetterQueueSourceArn",
)  # fmt: skip


class QueueService:
    """Amazon SQS for one project. Methods are synchronous (short SQLite transactions) except the
    long-polling receive; `poll_s` is how often a waiting receive looks for what other processes sent
    (None when nothing else writes the store, as in a model run)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        region: str,
        account_id: str,
        metrics: Metrics | None = None,
        poll_s: float | None = 1.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.recorder = MetricRecorder(metrics) if metrics is not None else None
        self.poll_s = poll_s
        store.ensure_schema(storage.FEATURE, storage.VERSION, storage.SCHEMA)
        self.wakeups = Wakeups(clock)
        self.attempts = ReceiveAttempts()

    # -- queues ----------------------------------------------------------------------------------------------
    def arn_of(self, name: str) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account_id}:{name}"

    def queue_name_of_arn(self, arn: str) -> str:
        """The queue name in an SQS ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME`)."""
        parts = arn.split(":")
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"] or not parts[5]:
            raise InvalidParameterValue(f"Value {arn} for parameter QueueArn is invalid. Reason: not an SQS queue ARN.")
        return parts[5]

    def create_queue(self, name: str, attributes: Mapping[str, str] = {}, tags: Mapping[str, str] = {}) -> Queue:
        """CreateQueue: a new queue, or the existing one when every attribute given matches it."""
        if not name:
            raise MissingParameter("The request must contain the parameter QueueName.")
        fifo = str(attributes.get("FifoQueue", "false")).lower() == "true"
        validation.check_queue_name(name, fifo=fifo)
        parsed = QueueAttributes.parse(attributes, fifo=fifo)
        now = self.clock.time()
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM sqs_queues WHERE name = ?", (name,)).fetchone()
            if row is not None:
                existing = self._queue(row)
                wanted = parsed.to_wire()
                shown = existing.attributes.to_wire()
                for key in attributes:
                    if key != "FifoQueue" and wanted.get(key) != shown.get(key):
                        raise QueueNameExists(
                            f"A queue already exists with the same name and a different value for attribute {key}"
                        )
                return existing
            deleted = db.execute("SELECT deleted_at FROM sqs_deleted_queues WHERE name = ?", (name,)).fetchone()
            if deleted is not None and now - deleted["deleted_at"] < NAME_REUSE_DELAY_S:
                raise QueueDeletedRecently(
                    "You must wait 60 seconds after deleting a queue before you can create another with the same name."
                )
            self._check_redrive(db, parsed, fifo)
            db.execute("DELETE FROM sqs_deleted_queues WHERE name = ?", (name,))
            db.execute(
                "INSERT INTO sqs_queues (name, arn, fifo, attributes, tags, created, last_modified) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, self.arn_of(name), int(fifo), parsed.to_json(), json.dumps(dict(tags)), now, now),
            )
            created = db.execute("SELECT * FROM sqs_queues WHERE name = ?", (name,)).fetchone()
        if self.recorder is not None:
            self.recorder.start(name)
        return self._queue(created)

    def queue(self, name: str) -> Queue:
        """GetQueueUrl, in effect: the queue, or QueueDoesNotExist."""
        rows = self.store.query("SELECT * FROM sqs_queues WHERE name = ?", (name,))
        if not rows:
            raise QueueDoesNotExist()
        return self._queue(rows[0])

    def list_queues(self, prefix: str | None = None) -> list[Queue]:
        rows = self.store.query("SELECT * FROM sqs_queues ORDER BY name")
        return [self._queue(row) for row in rows if prefix is None or row["name"].startswith(prefix)]

    def delete_queue(self, name: str) -> None:
        """DeleteQueue: the queue and its messages go; the name is free again after 60 seconds."""
        with self.store.transaction() as db:
            self._row(db, name)
            db.execute("DELETE FROM sqs_messages WHERE queue = ?", (name,))
            db.execute("DELETE FROM sqs_deduplication WHERE queue = ?", (name,))
            db.execute("DELETE FROM sqs_groups WHERE queue = ?", (name,))
            db.execute("DELETE FROM sqs_queues WHERE name = ?", (name,))
            db.execute(
                "INSERT OR REPLACE INTO sqs_deleted_queues (name, deleted_at) VALUES (?, ?)", (name, self.clock.time())
            )
        if self.recorder is not None:
            self.recorder.forget(name)

    def purge_queue(self, name: str) -> None:
        """PurgeQueue: every message goes, in flight or not; once a minute per queue."""
        now = self.clock.time()
        with self.store.transaction() as db:
            row = self._row(db, name)
            if row["purged_at"] is not None and now - row["purged_at"] < PURGE_INTERVAL_S:
                raise PurgeQueueInProgress(f"Only one PurgeQueue operation on {name} is allowed every 60 seconds.")
            db.execute("DELETE FROM sqs_messages WHERE queue = ?", (name,))
            db.execute("DELETE FROM sqs_groups WHERE queue = ?", (name,))
            db.execute("UPDATE sqs_queues SET purged_at = ? WHERE name = ?", (now, name))

    def get_attributes(self, name: str, names: Sequence[str] = ("All",)) -> dict[str, str]:
        """GetQueueAttributes: the settable attributes and the approximate counts, as strings."""
        for wanted in names:
            if wanted != "All" and wanted not in ATTRIBUTE_NAMES:
                raise InvalidAttributeName(f"Unknown Attribute {wanted}.")
        queue = self.queue(name)
        gauges = self.metrics(name)
        shown = queue.attributes.to_wire() | {
            "ApproximateNumberOfMessages": str(gauges.approximate_number_of_messages_visible),
            "ApproximateNumberOfMessagesNotVisible": str(gauges.approximate_number_of_messages_not_visible),
            "ApproximateNumberOfMessagesDelayed": str(gauges.approximate_number_of_messages_delayed),
            "CreatedTimestamp": str(int(queue.created)),
            "LastModifiedTimestamp": str(int(queue.last_modified)),
            "QueueArn": queue.arn,
        }
        if "All" in names:
            return dict(sorted(shown.items()))
        return {key: shown[key] for key in names if key in shown}

    def set_attributes(self, name: str, attributes: Mapping[str, str]) -> Queue:
        """SetQueueAttributes (the type of a queue cannot change; "" removes RedrivePolicy or Policy)."""
        with self.store.transaction() as db:
            queue = self._queue(self._row(db, name))
            parsed = QueueAttributes.parse(attributes, fifo=queue.fifo, base=queue.attributes, creating=False)
            self._check_redrive(db, parsed, queue.fifo)
            db.execute(
                "UPDATE sqs_queues SET attributes = ?, last_modified = ? WHERE name = ?",
                (parsed.to_json(), self.clock.time(), name),
            )
            return self._queue(self._row(db, name))

    def _check_redrive(self, db: sqlite3.Connection, attributes: QueueAttributes, fifo: bool) -> None:
        policy = attributes.redrive_policy
        if policy is None:
            return
        target = db.execute("SELECT fifo FROM sqs_queues WHERE arn = ?", (policy.dead_letter_target_arn,)).fetchone()
        shown = policy.to_json()
        if target is None:
            raise InvalidParameterValue(
                f"Value {shown} for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist."
            )
        if bool(target["fifo"]) != fifo:
            raise InvalidParameterValue(
                f"Value {shown} for parameter RedrivePolicy is invalid. Reason: Dead-letter target owner queue type "
                "must match the source queue: a FIFO queue's dead-letter queue is FIFO, a standard's is standard."
            )

    def _row(self, db: sqlite3.Connection, name: str) -> sqlite3.Row:
        row = db.execute("SELECT * FROM sqs_queues WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise QueueDoesNotExist()
        return row  # type: ignore[no-any-return]

    def _queue(self, row: sqlite3.Row) -> Queue:
        return _queue_of(
            self.account_id, row["name"], row["arn"], row["fifo"], row["attributes"], row["created"],
            row["last_modified"], row["tags"],
        )  # fmt: skip

    # -- sending ---------------------------------------------------------------------------------------------
    def send_message(
        self,
        name: str,
        body: str,
        *,
        delay_seconds: int | None = None,
        message_attributes: Mapping[str, MessageAttributeValue] | None = None,
        system_attributes: Mapping[str, MessageAttributeValue] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        sender_id: str | None = None,
    ) -> SentMessage:
        """SendMessage: validated as SQS does, stored before it returns."""
        entry = SendMessageBatchEntry(
            "", body, delay_seconds, message_attributes, system_attributes, group_id, deduplication_id
        )
        with self.store.transaction() as db:
            queue = self._queue(self._row(db, name))
            batches.check_group(queue, entry, in_batch=False)
            batches.check_entry(queue, entry, in_batch=False)
            [sent] = self._enqueue(db, queue, [entry], sender_id)
        self.wakeups.notify(name)
        return sent

    def send_message_batch(
        self, name: str, entries: Sequence[SendMessageBatchEntry], *, sender_id: str | None = None
    ) -> BatchResult:
        """SendMessageBatch: up to 10 entries, 1 MiB in all, in one transaction; an entry that breaks a
        per-message rule fails alone, with AWS's code."""
        batches.check_batch([entry.id for entry in entries])
        batches.check_batch_size(entries)
        with self.store.transaction() as db:
            queue = self._queue(self._row(db, name))
            for entry in entries:
                batches.check_group(queue, entry, in_batch=True)
            good, failed = batches.split_valid(queue, entries)
            sent = self._enqueue(db, queue, good, sender_id)
        if good:
            self.wakeups.notify(name)
        return BatchResult([(entry.id, result) for entry, result in zip(good, sent, strict=True)], failed)

    def _enqueue(
        self, db: sqlite3.Connection, queue: Queue, entries: Sequence[SendMessageBatchEntry], sender_id: str | None
    ) -> list[SentMessage]:
        now = self.clock.time()
        attributes = queue.attributes
        results: list[SentMessage] = []
        rows: list[tuple[Any, ...]] = []
        sequence = db.execute("SELECT sequence FROM sqs_queues WHERE name = ?", (queue.name,)).fetchone()[0]
        if queue.fifo:
            db.execute("DELETE FROM sqs_deduplication WHERE queue = ? AND expires_at <= ?", (queue.name, now))
        sent_bytes = 0
        for entry in entries:
            md5_attributes = validation.md5_of_attributes(entry.message_attributes)
            md5_system = validation.md5_of_attributes(entry.system_attributes)
            sequence_number = None
            message_id = str(uuid.uuid4())
            if queue.fifo:
                sequence += 1
                sequence_number = str(10**19 + sequence * 65_536 + secrets.randbelow(65_536))
                dedup = entry.deduplication_id or hashlib.sha256(entry.body.encode()).hexdigest()
                scope = entry.group_id or "" if attributes.deduplication_scope == "messageGroup" else ""
                seen = db.execute(
                    "SELECT message_id, sequence_number FROM sqs_deduplication WHERE queue = ? AND scope = ? "
                    "AND deduplication_id = ?",
                    (queue.name, scope, dedup),
                ).fetchone()
                if seen is not None:  # accepted, not delivered again
                    results.append(
                        SentMessage(seen["message_id"], validation.md5_of_body(entry.body), md5_attributes,
                                    md5_system, seen["sequence_number"])
                    )  # fmt: skip
                    continue
                db.execute(
                    "INSERT INTO sqs_deduplication (queue, scope, deduplication_id, expires_at, message_id, "
                    "sequence_number) VALUES (?, ?, ?, ?, ?, ?)",
                    (queue.name, scope, dedup, now + DEDUPLICATION_INTERVAL_S, message_id, sequence_number),
                )
                deduplication_id: str | None = dedup
            else:
                deduplication_id = entry.deduplication_id
            delay = attributes.delay_seconds if entry.delay_seconds is None else entry.delay_seconds
            size = validation.message_size(entry.body, entry.message_attributes)
            sent_bytes += size
            rows.append(
                (queue.name, message_id, entry.body, size, storage.attributes_to_json(entry.message_attributes),
                 storage.attributes_to_json(entry.system_attributes), now, now, now, now + delay, entry.group_id,
                 deduplication_id, sequence_number, sender_id or self.account_id)
            )  # fmt: skip
            results.append(
                SentMessage(message_id, validation.md5_of_body(entry.body), md5_attributes, md5_system, sequence_number)
            )
        db.executemany(
            "INSERT INTO sqs_messages (queue, message_id, body, size, message_attributes, system_attributes, "
            "sent_at, enqueued_at, arrived_at, visible_at, group_id, deduplication_id, sequence_number, sender_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if queue.fifo:
            groups = {(queue.name, entry.group_id) for entry in entries}
            db.executemany("INSERT OR IGNORE INTO sqs_groups (queue, group_id) VALUES (?, ?)", sorted(groups))
        db.execute(
            "UPDATE sqs_queues SET sequence = ?, sent = sent + ?, sent_bytes = sent_bytes + ? WHERE name = ?",
            (sequence, len(rows), sent_bytes, queue.name),
        )
        return results

    # -- receiving ---------------------------------------------------------------------------------------------
    def receive_message(
        self,
        name: str,
        *,
        max_messages: int = 1,
        visibility_timeout: int | None = None,
        attribute_names: Sequence[str] = (),
        message_attribute_names: Sequence[str] = (),
        receive_request_attempt_id: str | None = None,
        count_empty: bool = True,
    ) -> list[ReceivedMessage]:
        """ReceiveMessage without waiting (a short poll, which here always sees every visible message).
        Each message received is in flight for the visibility timeout and gets a new receipt handle."""
        validation.check_receive(max_messages, visibility_timeout, receive_request_attempt_id)
        now = self.clock.time()
        with self.store.transaction() as db:
            queue = self._queue(self._row(db, name))
            timeout = queue.attributes.visibility_timeout if visibility_timeout is None else visibility_timeout
            attempt = receive_request_attempt_id if queue.fifo else None  # standard queues ignore it
            if attempt is not None:
                again = self.attempts.replay(db, queue, attempt, now, timeout, attribute_names, message_attribute_names)
                if again is not None:
                    return again
            rows = pick(db, queue, now, max_messages, self._dead_letter_target(db, queue))
            messages: list[ReceivedMessage] = []
            updates: list[tuple[object, ...]] = []
            taken: list[tuple[int, str, float]] = []
            token = secrets.token_hex(8)  # names this receive: with the row id, it makes each receipt handle
            for row in rows:
                taken.append((row["id"], token, now + timeout))
                first = row["first_received_at"] if row["first_received_at"] is not None else now
                count = row["receive_count"] + 1
                updates.append((now + timeout, count, first, now, token, row["id"]))
                handle = storage.receipt_handle(name, row["id"], token)
                messages.append(received(row, handle, count, first, attribute_names, message_attribute_names))
            db.executemany(
                "UPDATE sqs_messages SET visible_at = ?, receive_count = ?, first_received_at = ?, received_at = ?, "
                "receipt = ? WHERE id = ?",
                updates,
            )
            if messages:
                db.execute("UPDATE sqs_queues SET received = received + ? WHERE name = ?", (len(messages), name))
                if attempt is not None:
                    self.attempts.remember(name, attempt, now, taken)
            elif count_empty:
                db.execute("UPDATE sqs_queues SET empty_receives = empty_receives + 1 WHERE name = ?", (name,))
        return messages

    async def receive_message_waiting(
        self,
        name: str,
        *,
        wait_time_s: int | None,
        max_messages: int = 1,
        visibility_timeout: int | None = None,
        attribute_names: Sequence[str] = (),
        message_attribute_names: Sequence[str] = (),
        receive_request_attempt_id: str | None = None,
    ) -> list[ReceivedMessage]:
        """ReceiveMessage with long polling: returns as soon as a message is visible, or empty after
        `wait_time_s` (None: the queue's ReceiveMessageWaitTimeSeconds)."""
        if wait_time_s is None:
            wait_time_s = self.queue(name).attributes.receive_message_wait_time_seconds
        if isinstance(wait_time_s, bool) or not isinstance(wait_time_s, int) or not 0 <= wait_time_s <= MAX_WAIT_TIME_S:
            raise InvalidParameterValue(
                f"Value {wait_time_s} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= "
                f"{MAX_WAIT_TIME_S}, if provided."
            )
        deadline = self.clock.monotonic() + wait_time_s
        while True:
            remaining = deadline - self.clock.monotonic()
            receive = functools.partial(
                self.receive_message,
                name,
                max_messages=max_messages,
                visibility_timeout=visibility_timeout,
                attribute_names=attribute_names,
                message_attribute_names=message_attribute_names,
                receive_request_attempt_id=receive_request_attempt_id,
                count_empty=remaining <= 0,
            )
            # where other processes write the store, a transaction may wait for their lock: not on the loop
            messages = receive() if self.poll_s is None else await asyncio.to_thread(receive)
            if messages or remaining <= 0:
                return messages
            pause = remaining
            upcoming = self._next_visible_at(name)
            if upcoming is not None:
                pause = min(pause, max(0.0, upcoming - self.clock.time()))
            if self.poll_s is not None:
                pause = min(pause, self.poll_s)
            await self.wakeups.wait(name, pause)

    def _next_visible_at(self, name: str) -> float | None:
        rows = self.store.query(
            "SELECT min(visible_at) FROM sqs_messages WHERE queue = ? AND visible_at > ?", (name, self.clock.time())
        )
        return rows[0][0] if rows else None

    def _dead_letter_target(self, db: sqlite3.Connection, queue: Queue) -> DeadLetterTarget | None:
        policy = queue.attributes.redrive_policy
        if policy is None:
            return None
        row = db.execute("SELECT name FROM sqs_queues WHERE arn = ?", (policy.dead_letter_target_arn,)).fetchone()
        if row is None:  # the dead-letter queue was deleted: messages stay where they are
            return None
        return DeadLetterTarget(row["name"], policy.max_receive_count)

    # -- deleting and changing visibility --------------------------------------------------------------------
    def delete_message(self, name: str, receipt_handle: str) -> None:
        """DeleteMessage. A handle of a message already deleted succeeds; an older handle of a message
        received again since succeeds without deleting it (SQS wants the latest handle)."""
        with self.store.transaction() as db:
            queue = self._queue(self._row(db, name))
            if handles.delete(db, queue, self.clock.time(), receipt_handle):
                db.execute("UPDATE sqs_queues SET deleted = deleted + 1 WHERE name = ?", (name,))

    def delete_message_batch(self, name: str, entries: Sequence[DeleteMessageBatchEntry]) -> BatchResult:
        batches.check_batch([entry.id for entry in entries])
        now, deleted = self.clock.time(), 0
        with self.store.transaction() as db:
            queue = self._queue(self._row(db, name))
            if queue.fifo:

                def delete(entry: DeleteMessageBatchEntry) -> None:
                    nonlocal deleted
                    deleted += handles.delete(db, queue, now, entry.receipt_handle)

                result = batches.each(entries, delete)
            else:  # a standard queue's delete cannot fail once its handle is read: one statement for all
                keys: list[tuple[int, str, str]] = []
                result = batches.each(entries, lambda e: keys.append(handles.delete_key(queue, e.receipt_handle)))
                deleted = handles.delete_standard(db, keys)
            if deleted:
                db.execute("UPDATE sqs_queues SET deleted = deleted + ? WHERE name = ?", (deleted, name))
        return result

    def change_message_visibility(self, name: str, receipt_handle: str, visibility_timeout: int) -> None:
        """ChangeMessageVisibility: counted from now, at most 12 hours after the message was received."""
        with self.store.transaction() as db:
            queue = self._queue(self._row(db, name))
            handles.change_visibility(db, queue, self.clock.time(), receipt_handle, visibility_timeout)
        if visibility_timeout == 0:
            self.wakeups.notify(name)

    def change_message_visibility_batch(
        self, name: str, entries: Sequence[ChangeMessageVisibilityBatchEntry]
    ) -> BatchResult:
        batches.check_batch([entry.id for entry in entries])
        with self.store.transaction() as db:
            queue = self._queue(self._row(db, name))
            result = batches.each(
                entries,
                lambda e: handles.change_visibility(
                    db, queue, self.clock.time(), e.receipt_handle, e.visibility_timeout
                ),
            )
        self.wakeups.notify(name)
        return result

    # -- metrics -----------------------------------------------------------------------------------------------
    def metrics(self, name: str) -> QueueMetrics:
        """The queue's gauges now and its counters since it was created (AWS/SQS names in QueueMetrics)."""
        now = self.clock.time()
        with self.store.transaction() as db:
            row = self._row(db, name)
            retention = QueueAttributes.from_json(row["attributes"]).message_retention_period
            db.execute("DELETE FROM sqs_messages WHERE queue = ? AND arrived_at <= ? AND enqueued_at <= ?",
                       (name, now - retention, now - retention))  # fmt: skip
            visible = db.execute(
                "SELECT count(*) FROM sqs_messages WHERE queue = ? AND visible_at <= ?", (name, now)
            ).fetchone()[0]
            in_flight, delayed = db.execute(
                "SELECT coalesce(sum(receive_count > 0), 0), coalesce(sum(receive_count = 0), 0) FROM sqs_messages "
                "WHERE queue = ? AND visible_at > ?",
                (name, now),
            ).fetchone()
            oldest = db.execute("SELECT min(arrived_at) FROM sqs_messages WHERE queue = ?", (name,)).fetchone()[0]
        return QueueMetrics(
            queue_name=name,
            approximate_number_of_messages_visible=visible,
            approximate_number_of_messages_not_visible=in_flight,
            approximate_number_of_messages_delayed=delayed,
            approximate_age_of_oldest_message=max(0.0, now - oldest) if oldest is not None else 0.0,
            number_of_messages_sent=row["sent"],
            number_of_messages_received=row["received"],
            number_of_messages_deleted=row["deleted"],
            number_of_empty_receives=row["empty_receives"],
            sent_message_size=row["sent_bytes"],
        )

    # -- declared queues ---------------------------------------------------------------------------------------
    def declare(self, declarations: Sequence[QueueDeclaration]) -> list[str]:
        """Create or bring up to date the queues a project declares (declarations.py); what was done."""
        return apply_declarations(self, declarations)

    def sample_metrics(self) -> list[QueueMetrics]:
        """Every queue's metrics now (blocking: off the event loop in a running simulator)."""
        names = [row["name"] for row in self.store.query("SELECT name FROM sqs_queues ORDER BY name")]
        samples = []
        for name in names:
            try:
                samples.append(self.metrics(name))
            except QueueDoesNotExist:  # deleted meanwhile
                continue
        return samples

    def record_metrics(self, samples: Sequence[QueueMetrics] | None = None) -> None:
        """Put a sample of every queue into the per-minute metrics (on the thread that puts Metrics
        points: the event loop's, or the model's driver). The first sample of a queue this service did
        not create is the base its counters grow from."""
        if self.recorder is not None:
            self.recorder.record(self.sample_metrics() if samples is None else samples)


@functools.lru_cache(maxsize=256)
def _queue_of(
    account_id: str, name: str, arn: str, fifo: int, attributes: str, created: float, last_modified: float, tags: str
) -> Queue:
    """A queue as its row has it (built once per version of the row: every operation reads it)."""
    return Queue(
        name=name,
        arn=arn,
        url_path=f"/{account_id}/{name}",
        fifo=bool(fifo),
        attributes=QueueAttributes.from_json(attributes),
        created=created,
        last_modified=last_modified,
        tags=json.loads(tags),
    )
