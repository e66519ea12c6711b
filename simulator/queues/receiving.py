"""Which messages a ReceiveMessage gets, and what it sees of each.

A standard queue gives the messages that have been visible longest (SQS promises no order; this is
close to what a busy queue does). A FIFO queue gives messages in send order, and none of a message
group that has a message in flight, or an earlier message still delayed. On the way, a message past
the queue's retention is deleted, and one already received maxReceiveCount times moves to the
dead-letter queue instead of being received (SQS's redrive happens on receive, as recorded against AWS).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass

from . import storage, validation
from .models import DEDUPLICATION_INTERVAL_S, MessageAttributeValue, Queue, ReceivedMessage

FETCH = 64


@dataclass(frozen=True)
class DeadLetterTarget:
    name: str
    max_receive_count: int


def pick(
    db: sqlite3.Connection, queue: Queue, now: float, want: int, target: DeadLetterTarget | None
) -> list[sqlite3.Row]:
    """The rows to receive (at most `want`), after deleting expired ones and moving redriven ones."""
    retention_cutoff = now - queue.attributes.message_retention_period
    chosen: list[sqlite3.Row] = []
    expired: list[int] = []
    moved: list[int] = []
    rows = _fifo_rows(db, queue, now, want) if queue.fifo else _standard_rows(db, queue, now, want)
    try:
        for row in rows:
            if row["enqueued_at"] <= retention_cutoff:
                expired.append(row["id"])
            elif target is not None and row["receive_count"] >= target.max_receive_count:
                moved.append(row["id"])
            else:
                chosen.append(row)
                if len(chosen) == want:
                    break
    finally:
        rows.close()
    if expired:
        db.executemany("DELETE FROM sqs_messages WHERE id = ?", [(i,) for i in expired])
    if moved and target is not None:
        # a FIFO dead-letter queue counts retention from the move, a standard one from the first send
        if queue.fifo:
            db.executemany(
                "INSERT OR IGNORE INTO sqs_groups (queue, group_id) SELECT ?, group_id FROM sqs_messages WHERE id = ?",
                [(target.name, i) for i in moved],
            )
        db.executemany(
            "UPDATE sqs_messages SET queue = ?, visible_at = ?, arrived_at = ?, receipt = NULL, "
            "dead_letter_source_arn = ?, enqueued_at = CASE WHEN ? THEN ? ELSE enqueued_at END WHERE id = ?",
            [(target.name, now, now, queue.arn, int(queue.fifo), now, i) for i in moved],
        )
    return chosen


def _standard_rows(db: sqlite3.Connection, queue: Queue, now: float, want: int) -> Generator[sqlite3.Row, None, None]:
    """Visible messages, those visible longest first: one range of the (queue, visible_at) index."""
    cursor = db.execute(
        f"SELECT {storage.MESSAGE_COLUMNS} FROM sqs_messages WHERE queue = ? AND visible_at <= ? ORDER BY visible_at",
        (queue.name, now),
    )
    try:
        # the first `want` rows are usually all it takes: each row fetched is a table lookup
        size = want
        while rows := cursor.fetchmany(size):
            yield from rows
            size = FETCH
    finally:
        cursor.close()


def _fifo_rows(db: sqlite3.Connection, queue: Queue, now: float, want: int) -> Generator[sqlite3.Row, None, None]:
    """Messages that may be received, group by group: each group's messages in send order from its first,
    up to the first one not visible; groups with a message in flight are skipped. The groups come in the
    order of their first message, found from the (queue, group_id, id) index alone."""
    blocked, delayed_from = _blocked_groups(db, queue.name, now)
    heads = db.execute(
        "SELECT group_id, (SELECT min(id) FROM sqs_messages AS m INDEXED BY sqs_messages_group_order "
        "WHERE m.queue = g.queue AND m.group_id = g.group_id) FROM sqs_groups g WHERE queue = ?",
        (queue.name,),
    ).fetchall()
    gone = [(queue.name, group) for group, head in heads if head is None]
    if gone:
        db.executemany("DELETE FROM sqs_groups WHERE queue = ? AND group_id = ?", gone)
        heads = [(group, head) for group, head in heads if head is not None]
    for head, group in sorted((head, group) for group, head in heads if group not in blocked):
        first_delayed = delayed_from.get(group)
        after = head - 1
        while True:
            rows = db.execute(
                f"SELECT {storage.MESSAGE_COLUMNS} FROM sqs_messages INDEXED BY sqs_messages_group_order "
                "WHERE queue = ? AND group_id = ? AND id > ? ORDER BY id LIMIT ?",
                (queue.name, group, after, want),
            ).fetchall()
            for row in rows:
                if row["visible_at"] > now or (first_delayed is not None and row["id"] >= first_delayed):
                    break
                yield row
            else:
                if len(rows) == want:
                    after = rows[-1]["id"]
                    continue
            break


def _blocked_groups(db: sqlite3.Connection, queue: str, now: float) -> tuple[set[str], dict[str, int]]:
    """FIFO: the groups with a message in flight, and per group the first message still delayed."""
    in_flight: set[str] = set()
    delayed_from: dict[str, int] = {}
    for group, has_in_flight, first_delayed in db.execute(
        "SELECT group_id, max(receive_count > 0), min(CASE WHEN receive_count = 0 THEN id END) FROM sqs_messages "
        "WHERE queue = ? AND visible_at > ? GROUP BY group_id",
        (queue, now),
    ):
        if has_in_flight:
            in_flight.add(group)
        if first_delayed is not None:
            delayed_from[group] = first_delayed
    return in_flight, delayed_from


def received(
    row: sqlite3.Row,
    handle: str,
    receive_count: int,
    first_received_at: float,
    attribute_names: Sequence[str],
    message_attribute_names: Sequence[str],
) -> ReceivedMessage:
    """A row as ReceiveMessage shows it: only the system and message attributes asked for."""
    attributes = _system_attributes(row, receive_count, first_received_at, attribute_names) if attribute_names else {}
    chosen: dict[str, MessageAttributeValue] = {}
    if message_attribute_names and row["message_attributes"] is not None:  # None: the message has none
        stored = storage.attributes_from_json(row["message_attributes"])
        chosen = validation.select_attributes(stored, list(message_attribute_names))
    return ReceivedMessage(
        message_id=row["message_id"],
        receipt_handle=handle,
        body=row["body"],
        md5_of_body=validation.md5_of_body(row["body"]),
        attributes=attributes,
        message_attributes=chosen,
        md5_of_message_attributes=validation.md5_of_attributes(chosen),
    )


def _system_attributes(
    row: sqlite3.Row, receive_count: int, first_received_at: float, attribute_names: Sequence[str]
) -> dict[str, str]:
    everything = "All" in attribute_names
    system = storage.attributes_from_json(row["system_attributes"])
    # the order of AWS's recorded responses
    available: dict[str, str | None] = {
        "ApproximateFirstReceiveTimestamp": str(int(first_received_at * 1000)),
        "ApproximateReceiveCount": str(receive_count),
        "MessageDeduplicationId": row["deduplication_id"] if row["sequence_number"] is not None else None,
        "MessageGroupId": row["group_id"],
        "SenderId": row["sender_id"],
        "SentTimestamp": str(int(row["sent_at"] * 1000)),
        "SequenceNumber": row["sequence_number"],
        "AWSTraceHeader": _trace_header(system),
        "DeadLetterQueueSourceArn": row["dead_letter_source_arn"],
    }
    return {
        name: value
        for name, value in available.items()
        if value is not None and (everything or name in attribute_names)
    }


def _trace_header(system: Mapping[str, MessageAttributeValue]) -> str | None:
    trace = system.get("AWSTraceHeader")
    return trace.string_value if trace is not None else None


class ReceiveAttempts:
    """FIFO's ReceiveRequestAttemptId: for 5 minutes, a retried receive with the same id gets the same
    messages and receipt handles again (their visibility timeout starts over), as long as none of them
    was deleted or had its visibility changed; otherwise it is a new receive. Kept in this process."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], tuple[float, list[tuple[int, str, float]]]] = {}
        self._lock = threading.Lock()

    def remember(self, queue: str, attempt_id: str, now: float, taken: list[tuple[int, str, float]]) -> None:
        """The (row id, receive token, visible_at) of what a receive with this attempt id got."""
        with self._lock:
            for key in [k for k, (until, _) in self._seen.items() if until <= now]:
                del self._seen[key]
            self._seen[(queue, attempt_id)] = (now + DEDUPLICATION_INTERVAL_S, taken)

    def replay(
        self,
        db: sqlite3.Connection,
        queue: Queue,
        attempt_id: str,
        now: float,
        timeout: int,
        attribute_names: Sequence[str],
        message_attribute_names: Sequence[str],
    ) -> list[ReceivedMessage] | None:
        with self._lock:
            until, taken = self._seen.get((queue.name, attempt_id), (0.0, []))
        if until <= now or not taken:
            return None
        rows = []
        for row_id, token, visible_at in taken:
            row = db.execute(
                f"SELECT {storage.MESSAGE_COLUMNS}, receipt, received_at FROM sqs_messages WHERE id = ? AND queue = ?",
                (row_id, queue.name),
            ).fetchone()
            if row is None or row["receipt"] != token or row["visible_at"] != visible_at:
                return None  # deleted, received again, or its visibility changed
            rows.append(row)
        db.executemany(
            "UPDATE sqs_messages SET visible_at = ?, received_at = ? WHERE id = ?",
            [(now + timeout, now, row["id"]) for row in rows],
        )
        self.remember(queue.name, attempt_id, now, [(row_id, token, now + timeout) for row_id, token, _ in taken])
        return [
            received(row, storage.receipt_handle(queue.name, row["id"], row["receipt"]), row["receive_count"],
                     row["first_received_at"], attribute_names, message_attribute_names)
            for row in rows
        ]  # fmt: skip
