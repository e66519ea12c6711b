"""Partial batch responses: every success and failure condition Lambda documents, and the cases recorded
against AWS (LocalStack's validated test_report_batch_item_failures*)."""

from __future__ import annotations

import json

import pytest

from simulator.mappings.outcome import ALL, NONE, failed_items, succeeded

BATCH = ["m1", "m2", "m3", "m4"]


def answer(document: object) -> bytes:
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "payload",
    [
        answer({"batchItemFailures": []}),  # an empty batchItemFailures list
        answer({"batchItemFailures": None}),  # a null list
        answer({}),  # an empty EventResponse (recorded: test_report_batch_item_failures_empty_json_batch_succeeds)
        b"null",  # a null EventResponse (a handler that returns None)
        b"",
        None,
        answer({"statusCode": 200}),  # no batchItemFailures: a null list
    ],
)
def test_complete_success(payload: bytes | None) -> None:
    assert failed_items(payload, BATCH) == NONE
    assert succeeded(BATCH, failed_items(payload, BATCH)) == BATCH


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",  # an invalid JSON response
        answer({"batchItemFailures": [{"itemIdentifier": ""}]}),  # an empty itemIdentifier
        answer({"batchItemFailures": [{"itemIdentifier": None}]}),  # a null itemIdentifier
        answer({"batchItemFailures": [{"foo": "notvalid"}]}),  # a bad key name (recorded against AWS)
        answer({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}),  # a message id not in the batch
        answer({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "nope"}]}),  # one bad item
        answer({"batchItemFailures": "m1"}),  # not a list
        answer({"batchItemFailures": ["m1"]}),  # an item that is not an object
        answer({"batchItemFailures": [{"itemIdentifier": 1}]}),
        answer("ok"),  # JSON, but not the response's shape
        answer(["m1"]),
    ],
)
def test_complete_failure(payload: bytes) -> None:
    assert failed_items(payload, BATCH) is ALL
    assert succeeded(BATCH, ALL) == []


def test_a_function_error_fails_the_whole_batch() -> None:
    """ "If your function throws an exception, the entire batch is considered a complete failure"."""
    assert failed_items(answer({"batchItemFailures": []}), BATCH, function_error=True) is ALL


def test_the_named_messages_fail_and_the_others_succeed() -> None:
    """Recorded against AWS (FIFO, 2025-03-03): a batch of 4, the function reports 2, 3 and 4; message 1 is
    deleted and never delivered again."""
    payload = answer({"batchItemFailures": [{"itemIdentifier": i} for i in ("m2", "m3", "m4")]})
    failed = failed_items(payload, BATCH)
    assert failed == frozenset({"m2", "m3", "m4"})
    assert succeeded(BATCH, failed) == ["m1"]


def test_duplicates_and_extra_keys() -> None:
    payload = answer({"batchItemFailures": [{"itemIdentifier": "m1", "note": "x"}, {"itemIdentifier": "m1"}],
                      "other": 1})  # fmt: skip
    assert failed_items(payload, BATCH) == frozenset({"m1"})


def test_every_message_named() -> None:
    payload = answer({"batchItemFailures": [{"itemIdentifier": i} for i in BATCH]})
    failed = failed_items(payload, BATCH)
    assert failed == frozenset(BATCH)
    assert succeeded(BATCH, failed) == []


def test_hostile_payloads() -> None:
    assert failed_items(b"[" * 100_000, BATCH) is ALL  # too deep for the parser: not a response
    assert failed_items("é".encode("latin-1"), BATCH) is ALL  # not UTF-8
    big = answer({"batchItemFailures": [{"itemIdentifier": "m1"}] * 100_000})
    assert failed_items(big, BATCH) == frozenset({"m1"})
