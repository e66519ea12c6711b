"""Receipt handles at work: DeleteMessage and ChangeMessageVisibility on the message a handle names.

A handle names the queue, the message and one receive of it. SQS wants the latest handle: on a standard
queue an older one is accepted and does nothing (DeleteMessage) or is refused (ChangeMessageVisibility);
on a FIFO queue a handle whose visibility timeout has ended has expired (recorded against AWS).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from . import storage
from .errors import InvalidParameterValue, ReceiptHandleIsInvalid
from .models import MAX_VISIBILITY_TIMEOUT_S, Queue


def _message_of(db: sqlite3.Connection, queue: Queue, receipt_handle: str) -> tuple[sqlite3.Row | None, str]:
    queue_name, row_id, token = storage.parse_receipt_handle(receipt_handle)
    if queue_name != queue.name:
        raise ReceiptHandleIsInvalid(f'The input receipt handle "{receipt_handle}" is not a valid receipt handle.')
    row = db.execute(
        "SELECT id, visible_at, receipt, received_at FROM sqs_messages WHERE id = ? AND queue = ?",
        (row_id, queue.name),
    ).fetchone()
    return row, token


def delete_key(queue: Queue, receipt_handle: str) -> tuple[int, str, str]:
    """(row id, queue, receive token) of a handle of this queue, or ReceiptHandleIsInvalid."""
    queue_name, row_id, token = storage.parse_receipt_handle(receipt_handle)
    if queue_name != queue.name:
        raise ReceiptHandleIsInvalid(f'The input receipt handle "{receipt_handle}" is not a valid receipt handle.')
    return row_id, queue_name, token


def delete_standard(db: sqlite3.Connection, keys: Sequence[tuple[int, str, str]]) -> int:
    """Delete the messages of these `delete_key`s of a standard queue, where a message already gone or
    received again since is no error; returns how many were deleted."""
    if not keys:
        return 0
    return db.executemany("DELETE FROM sqs_messages WHERE id = ? AND queue = ? AND receipt = ?", keys).rowcount


def delete(db: sqlite3.Connection, queue: Queue, now: float, receipt_handle: str) -> int:
    """Delete the message of `receipt_handle`; returns how many were deleted (0 or 1). A message already
    gone, or received again since on a standard queue, is no error. One statement in the common case."""
    row_id, _, token = delete_key(queue, receipt_handle)
    if not queue.fifo:
        return delete_standard(db, [(row_id, queue.name, token)])
    deleted = db.execute(
        "DELETE FROM sqs_messages WHERE id = ? AND queue = ? AND receipt = ? AND visible_at > ?",
        (row_id, queue.name, token, now),
    ).rowcount
    if (
        deleted == 0
        and db.execute("SELECT 1 FROM sqs_messages WHERE id = ? AND queue = ?", (row_id, queue.name)).fetchone()
    ):
        raise InvalidParameterValue(
            f"Value {receipt_handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
        )
    return deleted


def change_visibility(db: sqlite3.Connection, queue: Queue, now: float, receipt_handle: str, timeout: int) -> None:
    """The message is visible again `timeout` seconds from now."""
    row, token = _message_of(db, queue, receipt_handle)
    if row is None or row["receipt"] != token:
        raise InvalidParameterValue(
            f"Value {receipt_handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or "
            "is not available for visibility timeout change."
        )
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
        raise InvalidParameterValue(
            f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= "
            f"{MAX_VISIBILITY_TIMEOUT_S}, if provided."
        )
    if now + timeout - (row["received_at"] or now) > MAX_VISIBILITY_TIMEOUT_S:
        raise InvalidParameterValue(
            f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the "
            f"message is beyond the limit [{MAX_VISIBILITY_TIMEOUT_S} seconds]"
        )
    db.execute("UPDATE sqs_messages SET visible_at = ? WHERE id = ?", (now + timeout, row["id"]))
