"""A partial batch response (FunctionResponseTypes ["ReportBatchItemFailures"]): which messages of a
batch failed, as Lambda reads the function's answer.

https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html (success and failure conditions):
- complete success: an empty or null `batchItemFailures` list, an empty or null response;
- complete failure: an invalid JSON response, an empty or null `itemIdentifier`, an item with a bad key
  name, an `itemIdentifier` that is not a message of the batch, or a function error;
- otherwise the messages named fail (they return to the queue after the visibility timeout) and the
  others succeed (they are deleted).
lsim reads an answer that is JSON but not an object (a string, a list, a number) as invalid, a complete
failure: it is not the `{"batchItemFailures": [...]}` shape Lambda parses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Final


class AllFailed:
    """The whole batch failed: every message returns to the queue."""

    _instance: AllFailed | None = None

    def __new__(cls) -> AllFailed:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ALL"


ALL: Final = AllFailed()
NONE: Final[frozenset[str]] = frozenset()


def failed_items(
    result_payload: bytes | None, batch_ids: Iterable[str], *, function_error: bool = False
) -> frozenset[str] | AllFailed:
    """The message ids of the batch that failed (empty: all succeeded), or ALL. `function_error`: the
    invocation failed (an exception, a timeout): the whole batch failed whatever the payload says."""
    if function_error:
        return ALL
    if result_payload is None or not result_payload.strip():
        return NONE
    try:
        response = json.loads(result_payload)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than any response
        return ALL
    if response is None:
        return NONE
    if not isinstance(response, dict):
        return ALL
    failures = response.get("batchItemFailures")
    if failures is None:
        return NONE
    if not isinstance(failures, list):
        return ALL
    batch = set(batch_ids)
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or not identifier or identifier not in batch:
            return ALL
        failed.add(identifier)
    return frozenset(failed)


def succeeded(batch_ids: Iterable[str], failed: frozenset[str] | AllFailed) -> list[str]:
    """The batch's messages to delete, in the batch's order."""
    if isinstance(failed, AllFailed):
        return []
    return [message_id for message_id in batch_ids if message_id not in failed]
