"""The SQS event a mapping's function receives: AWS's shape and key order, from the recordings of real AWS
(LocalStack's validated snapshots) and the developer guide's example; `lsim generate-event` makes its sample
with the same code."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.clock import RealClock
from simulator.mappings.sqs_event import records
from simulator.queues import QueueService
from simulator.queues.models import MessageAttributeValue
from simulator.queues.validation import md5_of_attributes
from simulator.sample_events import Account, generate
from simulator.store import Store

RECORD_KEYS = [
    "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfMessageAttributes",
    "md5OfBody", "eventSource", "eventSourceARN", "awsRegion",
]  # fmt: skip


@dataclass
class Value:
    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None
    string_list_values: list[str] = field(default_factory=list)
    binary_list_values: list[bytes] = field(default_factory=list)


@dataclass
class Message:
    message_id: str
    body: str
    attributes: dict[str, str]
    message_attributes: dict[str, Any] = field(default_factory=dict)
    md5_of_message_attributes: str | None = None
    receipt_handle: str = "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a..."
    md5_of_body: str = "e4e68fb7bd0e697a0ae8f1bb342846b3"


@dataclass
class Queue:
    arn: str


QUEUE = Queue("arn:aws:sqs:us-east-2:123456789012:my-queue")


def test_standard_record_as_aws_sends_it() -> None:
    """The developer guide's example event, key for key and in order."""
    message = Message(
        "059f36b4-87a3-44ab-83d2-661975830a7d",
        "Test message.",
        # as SQS returned them: the event puts them in AWS's order
        {"SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1545082649185",
         "SentTimestamp": "1545082649183", "ApproximateReceiveCount": "1"},
    )  # fmt: skip
    event = records([message], QUEUE, "us-east-2")
    (record,) = event["Records"]
    assert list(record) == RECORD_KEYS
    assert record == {
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
        "body": "Test message.",
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        "messageAttributes": {},
        "md5OfMessageAttributes": None,
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
        "awsRegion": "us-east-2",
    }
    assert list(record["attributes"]) == [
        "ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
    ]  # fmt: skip


def test_fifo_attributes_in_aws_order() -> None:
    attributes = {
        "MessageDeduplicationId": "d", "SenderId": "S", "SequenceNumber": "18849496460467696128",
        "ApproximateFirstReceiveTimestamp": "2", "MessageGroupId": "1", "SentTimestamp": "1",
        "ApproximateReceiveCount": "1", "AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793",
    }  # fmt: skip
    (record,) = records([Message("id", "b", attributes)], Queue("arn:aws:sqs:us-east-1:1:q.fifo"), "us-east-1")[
        "Records"
    ]
    assert list(record["attributes"]) == [
        "ApproximateReceiveCount", "SentTimestamp", "SequenceNumber", "MessageGroupId", "SenderId",
        "MessageDeduplicationId", "ApproximateFirstReceiveTimestamp", "AWSTraceHeader",
    ]  # fmt: skip


def test_message_attributes_in_lower_camel_case() -> None:
    """Recorded against AWS (test_message_body_and_attributes_passed_correctly): both list keys are always
    there; the MD5 is SQS's over the attributes."""
    attributes = {
        "Title": Value("String", "The Whistler"),
        "Author": Value("String", "John Grisham"),
        "WeeksOn": Value("Number", "6"),
        "Cover": Value("Binary", binary_value=b"\x89PNG"),
    }
    message = Message("id", "b", {"ApproximateReceiveCount": "1"}, attributes, "md5")
    (record,) = records([message], QUEUE, "us-east-2")["Records"]
    assert record["messageAttributes"]["WeeksOn"] == {
        "stringValue": "6", "stringListValues": [], "binaryListValues": [], "dataType": "Number",
    }  # fmt: skip
    assert record["messageAttributes"]["Cover"] == {
        "binaryValue": base64.b64encode(b"\x89PNG").decode(), "stringListValues": [], "binaryListValues": [],
        "dataType": "Binary",
    }  # fmt: skip
    assert record["md5OfMessageAttributes"] == "md5"
    string_ones = {name: MessageAttributeValue(v.data_type, v.string_value) for name, v in attributes.items()
                   if v.string_value is not None}  # fmt: skip
    assert md5_of_attributes(string_ones) == "d25a6aea97eb8f585bfa92d314504a92"  # AWS's recorded MD5


def test_batch_order_and_json_round_trip() -> None:
    messages = [Message(f"id-{n}", f"body {n}", {"ApproximateReceiveCount": "1"}) for n in range(10)]
    event = records(messages, QUEUE, "us-east-2")
    assert [r["messageId"] for r in event["Records"]] == [f"id-{n}" for n in range(10)]
    assert json.loads(json.dumps(event)) == event


def test_generate_event_uses_the_same_record() -> None:
    event = generate("sqs", "receive-message", Account("eu-west-1", "111122223333"), attributes={"k": "v"})
    (record,) = event["Records"]
    assert list(record) == RECORD_KEYS
    assert record["eventSourceARN"] == "arn:aws:sqs:eu-west-1:111122223333:my-queue"
    assert record["messageAttributes"]["k"]["stringValue"] == "v"
    assert record["md5OfMessageAttributes"] == md5_of_attributes({"k": MessageAttributeValue("String", "v")})


def test_records_from_the_queue_service(tmp_path: Path) -> None:
    """Messages sent and received through the real QueueService (SQLite) make AWS's records."""
    queues = QueueService(Store(tmp_path / ".lsim"), RealClock(), region="us-east-2", account_id="123456789012")
    queue = queues.create_queue("books")
    attributes = {"Title": MessageAttributeValue("String", "The Whistler"),
                  "Author": MessageAttributeValue("String", "John Grisham"),
                  "WeeksOn": MessageAttributeValue("Number", "6")}  # fmt: skip
    queues.send_message("books", "Test message.", message_attributes=attributes)
    queues.send_message("books", "plain")
    received = queues.receive_message("books", max_messages=10, attribute_names=("All",),
                                      message_attribute_names=("All",))  # fmt: skip
    event = records(received, queue, "us-east-2")
    by_body = {r["body"]: r for r in event["Records"]}
    book, plain = by_body["Test message."], by_body["plain"]
    assert list(book) == RECORD_KEYS and list(plain) == RECORD_KEYS
    assert book["md5OfBody"] == "e4e68fb7bd0e697a0ae8f1bb342846b3"
    assert book["md5OfMessageAttributes"] == "d25a6aea97eb8f585bfa92d314504a92"  # AWS's recorded value
    assert book["messageAttributes"]["Author"] == {
        "stringValue": "John Grisham", "stringListValues": [], "binaryListValues": [], "dataType": "String",
    }  # fmt: skip
    assert plain["messageAttributes"] == {} and plain["md5OfMessageAttributes"] is None
    assert list(book["attributes"])[:4] == [
        "ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
    ]  # fmt: skip
    assert book["attributes"]["ApproximateReceiveCount"] == "1"
    assert book["eventSourceARN"] == "arn:aws:sqs:us-east-2:123456789012:books"
    assert book["receiptHandle"] == next(m.receipt_handle for m in received if m.body == "Test message.")
