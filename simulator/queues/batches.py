"""The rules of SQS's batch operations and of one message to send: what fails the whole request and what
fails one entry.

A batch has 1-10 entries with distinct, well-formed ids, and at most 1 MiB of messages in all (the fixed
limit, whatever the queue's MaximumMessageSize): breaking any of these fails the request. A message over
the queue's MaximumMessageSize, with bad contents or a bad attribute fails only its entry, with the code
AWS gives it (recorded against AWS: facts-sqs §1.5).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from . import validation
from .errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidParameterValue,
    MissingParameter,
    SqsError,
    TooManyEntriesInBatchRequest,
)
from .models import (
    MAX_BATCH_ENTRIES,
    MAX_DELAY_S,
    MAX_MESSAGE_SIZE,
    BatchResult,
    BatchResultErrorEntry,
    Queue,
    SendMessageBatchEntry,
    SentMessage,
)

Entry = TypeVar("Entry")


def check_batch(ids: Sequence[str], entry_kind: str = "request entry") -> None:
    """The rules every batch request has: 1-10 entries, ids well formed and distinct."""
    if not ids:
        # AWS's exact text is not recorded; the code is
        raise EmptyBatchRequest(f"There should be at least one {entry_kind} in the request.")
    if len(ids) > MAX_BATCH_ENTRIES:
        raise TooManyEntriesInBatchRequest(
            f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. You have sent {len(ids)}."
        )
    for entry_id in ids:
        validation.check_batch_entry_id(entry_id)
    seen: set[str] = set()
    for entry_id in ids:
        if entry_id in seen:
            raise BatchEntryIdsNotDistinct(f"Id {entry_id} repeated.")  # AWS's text not recorded
        seen.add(entry_id)


def check_batch_size(entries: Sequence[SendMessageBatchEntry]) -> None:
    total = sum(validation.message_size(entry.body or "", entry.message_attributes) for entry in entries)
    if total > MAX_MESSAGE_SIZE:
        raise BatchRequestTooLong(
            f"Batch requests cannot be longer than {MAX_MESSAGE_SIZE} bytes. You have sent {total} bytes."
        )


def check_group(queue: Queue, entry: SendMessageBatchEntry, *, in_batch: bool) -> None:
    """MessageGroupId and deduplication: a FIFO queue needs a group, and a deduplication id unless it
    deduplicates by content. In a batch a missing group fails the whole request (recorded)."""
    if entry.group_id is not None:
        validation.check_group_or_dedup_id("MessageGroupId", entry.group_id)
    if not queue.fifo:
        return
    if entry.group_id is None:
        text = "The request must contain the parameter MessageGroupId."
        raise InvalidParameterValue(text) if in_batch else MissingParameter(text)
    if entry.deduplication_id is None and not queue.attributes.content_based_deduplication:
        raise InvalidParameterValue(
            "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided "
            "explicitly"
        )


def check_entry(queue: Queue, entry: SendMessageBatchEntry, *, in_batch: bool) -> None:
    """The rules of one message: body, delay, deduplication id, attributes, size."""
    validation.check_body(entry.body)
    if entry.delay_seconds is not None:
        delay = entry.delay_seconds
        if queue.fifo and delay != 0:
            raise InvalidParameterValue(
                f"Value {delay} for parameter DelaySeconds is invalid. Reason: The request include parameter that is "
                "not valid for this queue type."
            )
        if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_S:
            raise InvalidParameterValue(
                f"Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= "
                f"{MAX_DELAY_S}."
            )  # the Reason's wording is not recorded
    if entry.deduplication_id is not None:
        validation.check_group_or_dedup_id("MessageDeduplicationId", entry.deduplication_id)
    validation.check_message_attributes(entry.message_attributes or {})
    validation.check_message_attributes(entry.system_attributes or {}, system=True)
    limit = queue.attributes.maximum_message_size
    if validation.message_size(entry.body, entry.message_attributes) > limit:
        opening = "cannot be validated" if in_batch else "are invalid"
        raise InvalidParameterValue(
            f"One or more parameters {opening}. Reason: Message must be shorter than {limit} bytes."
        )


def split_valid(
    queue: Queue, entries: Sequence[SendMessageBatchEntry]
) -> tuple[list[SendMessageBatchEntry], list[BatchResultErrorEntry]]:
    """The entries that may be sent, and the failures of the others."""
    good: list[SendMessageBatchEntry] = []
    failed: list[BatchResultErrorEntry] = []
    for entry in entries:
        try:
            check_entry(queue, entry, in_batch=True)
        except SqsError as error:
            failed.append(BatchResultErrorEntry(entry.id, error.query_code, error.message, error.sender_fault))
        else:
            good.append(entry)
    return good, failed


def each(entries: Sequence[Entry], work: Callable[[Entry], None]) -> BatchResult:
    """Run `work` on every entry; an SQS error fails that entry only."""
    successful: list[tuple[str, SentMessage | None]] = []
    failed: list[BatchResultErrorEntry] = []
    for entry in entries:
        entry_id: str = entry.id  # type: ignore[attr-defined]
        try:
            work(entry)
        except SqsError as error:
            failed.append(BatchResultErrorEntry(entry_id, error.query_code, error.message, error.sender_fault))
        else:
            successful.append((entry_id, None))
    return BatchResult(successful, failed)
