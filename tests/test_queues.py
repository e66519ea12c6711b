"""The queue service on real SQLite and a VirtualClock: SQS's defaults, limits, visibility, delays,
retention, redrive, FIFO groups and deduplication, purge, delete, long polling and metrics.

Expected values marked "recorded" are responses AWS gave (LocalStack's AWS-validated snapshots, as
collected in the facts of the SQS work); the clock is moved, never waited on.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from simulator.clock import VirtualClock
from simulator.queues import (
    ChangeMessageVisibilityBatchEntry,
    DeleteMessageBatchEntry,
    MessageAttributeValue,
    QueueService,
    SendMessageBatchEntry,
)
from simulator.queues import errors as sqs
from simulator.queues.validation import md5_of_attributes, md5_of_body
from simulator.store import Store

T0 = 1_800_000_000.0
ACCOUNT = "123456789012"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def service(tmp_path: Path, clock: VirtualClock) -> QueueService:
    return QueueService(Store(tmp_path / ".lsim"), clock, region="us-east-1", account_id=ACCOUNT, poll_s=None)


def text(value: str, data_type: str = "String") -> MessageAttributeValue:
    return MessageAttributeValue(data_type, string_value=value)


# -- checksums ---------------------------------------------------------------------------------------------
def test_md5s_match_the_values_aws_recorded() -> None:
    assert md5_of_body("msg") == "6e2baaf3b97dbeef01c0043275f9a0e7"
    assert md5_of_body("Test message.") == "e4e68fb7bd0e697a0ae8f1bb342846b3"
    assert md5_of_attributes({"Foo": text("Bar")}) == "ae7155c6026991b6d54b11589678bf9c"
    assert md5_of_attributes({"MyAttribute": text("foobar")}) == "adb59cd4678ea5a855436b949cd07ab6"
    assert md5_of_attributes({"k": text("x")}) == "a45daa70926828a2f0a1db3418e6feb4"
    binary = b"traceparent\x1e00-774062d6c37081a5a0b9b5b88e30627c-2d2482211f6489da-01"
    assert md5_of_attributes({"attr1": MessageAttributeValue("Binary", binary_value=binary)}) == (
        "8cbe4db156db8a94db8b801b7addb984"
    )
    assert md5_of_attributes({}) is None


def test_received_md5_covers_only_the_attributes_returned(service: QueueService) -> None:
    service.create_queue("q")
    attributes = {"General": text("Hello"), "Hello": text("There"), "Help.Me": text("x")}
    sent = service.send_message("q", "body", message_attributes=attributes)
    assert sent.md5_of_message_attributes == md5_of_attributes(attributes)
    [message] = service.receive_message("q", message_attribute_names=["General", "Hello"], visibility_timeout=0)
    assert set(message.message_attributes) == {"General", "Hello"}
    assert message.md5_of_message_attributes == md5_of_attributes(
        {"General": attributes["General"], "Hello": attributes["Hello"]}
    )
    [prefixed] = service.receive_message("q", message_attribute_names=["Hel.*"], visibility_timeout=0)
    assert set(prefixed.message_attributes) == {"Hello", "Help.Me"}
    [none] = service.receive_message("q", visibility_timeout=0)
    assert none.message_attributes == {} and none.md5_of_message_attributes is None


# -- queues and attributes ---------------------------------------------------------------------------------
def test_a_new_queue_has_awss_defaults(service: QueueService) -> None:
    queue = service.create_queue("orders")
    assert queue.arn == f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders"
    assert queue.url_path == f"/{ACCOUNT}/orders"
    shown = service.get_attributes("orders")
    assert shown == {  # recorded: GetQueueAttributes All on a new standard queue
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesDelayed": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
        "CreatedTimestamp": str(int(T0)),
        "DelaySeconds": "0",
        "LastModifiedTimestamp": str(int(T0)),
        "MaximumMessageSize": "1048576",
        "MessageRetentionPeriod": "345600",
        "QueueArn": queue.arn,
        "ReceiveMessageWaitTimeSeconds": "0",
        "SqsManagedSseEnabled": "true",
        "VisibilityTimeout": "30",
    }
    fifo = service.get_attributes(service.create_queue("orders.fifo", {"FifoQueue": "true"}).name)
    assert {k: fifo[k] for k in ("ContentBasedDeduplication", "DeduplicationScope", "FifoQueue", "FifoThroughputLimit")} == {
        "ContentBasedDeduplication": "false", "DeduplicationScope": "queue", "FifoQueue": "true",
        "FifoThroughputLimit": "perQueue",
    }  # fmt: skip
    assert service.get_attributes("orders", ["VisibilityTimeout"]) == {"VisibilityTimeout": "30"}
    with pytest.raises(sqs.InvalidAttributeName, match=r"^Unknown Attribute Foobar\.$"):
        service.get_attributes("orders", ["Foobar"])


@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("VisibilityTimeout", "0", True), ("VisibilityTimeout", "43200", True), ("VisibilityTimeout", "43201", False),
        ("VisibilityTimeout", "-1", False), ("VisibilityTimeout", "ten", False),
        ("MessageRetentionPeriod", "60", True), ("MessageRetentionPeriod", "59", False),
        ("MessageRetentionPeriod", "1209600", True), ("MessageRetentionPeriod", "1209601", False),
        ("DelaySeconds", "900", True), ("DelaySeconds", "901", False),
        ("MaximumMessageSize", "1024", True), ("MaximumMessageSize", "1023", False),
        ("MaximumMessageSize", "1048576", True), ("MaximumMessageSize", "1048577", False),
        ("ReceiveMessageWaitTimeSeconds", "20", True), ("ReceiveMessageWaitTimeSeconds", "21", False),
    ],
)  # fmt: skip
def test_attribute_limits_at_and_one_past(service: QueueService, name: str, value: str, ok: bool) -> None:
    if ok:
        service.create_queue("q", {name: value})
        assert service.get_attributes("q", [name]) == {name: value}
    else:
        with pytest.raises(sqs.InvalidAttributeValue, match=name):
            service.create_queue("q", {name: value})
        with pytest.raises(sqs.QueueDoesNotExist):
            service.queue("q")


def test_queue_names_and_types(service: QueueService) -> None:
    for bad in ("", "a" * 81, "has space", "slash/name", "dot.name"):
        with pytest.raises((sqs.InvalidParameterValue, sqs.MissingParameter)):
            service.create_queue(bad)
    service.create_queue("a" * 80)
    service.create_queue("b" * 75 + ".fifo", {"FifoQueue": "true"})
    with pytest.raises(sqs.InvalidParameterValue):
        service.create_queue("c" * 76 + ".fifo", {"FifoQueue": "true"})
    with pytest.raises(sqs.InvalidParameterValue):
        service.create_queue("x.fifo")  # a .fifo name without FifoQueue
    with pytest.raises(sqs.InvalidParameterValue):
        service.create_queue("x", {"FifoQueue": "true"})
    with pytest.raises(sqs.InvalidAttributeName, match=r"^Unknown Attribute FifoQueue\.$"):
        service.create_queue("x", {"FifoQueue": "false"})
    with pytest.raises(sqs.InvalidAttributeName, match=r"^Unknown Attribute ContentBasedDeduplication\.$"):
        service.create_queue("x", {"ContentBasedDeduplication": "true"})
    with pytest.raises(sqs.InvalidAttributeName, match="DeduplicationScope only when FifoQueue"):
        service.create_queue("x", {"DeduplicationScope": "queue"})
    service.create_queue("std")
    with pytest.raises(sqs.InvalidAttributeName, match=r"^Unknown Attribute FifoQueue\.$"):
        service.set_attributes("std", {"FifoQueue": "true"})
    with pytest.raises(sqs.InvalidAttributeValue, match="Modifying queue type is not supported"):
        service.set_attributes("b" * 75 + ".fifo", {"FifoQueue": "true"})
    with pytest.raises(sqs.InvalidAttributeName, match="Unknown Attribute QueueArn"):
        service.set_attributes("std", {"QueueArn": "x"})


def test_create_again_returns_the_queue_unless_an_attribute_differs(service: QueueService) -> None:
    first = service.create_queue("q", {"DelaySeconds": "5"})
    assert service.create_queue("q") == first
    assert service.create_queue("q", {"DelaySeconds": "5"}) == first
    with pytest.raises(sqs.QueueNameExists, match="different value for attribute DelaySeconds$") as raised:
        service.create_queue("q", {"DelaySeconds": "6"})
    assert raised.value.query_code == "QueueAlreadyExists"
    assert raised.value.json_type == "com.amazonaws.sqs#QueueNameExists"


def test_errors_carry_both_protocols_names(service: QueueService) -> None:
    with pytest.raises(sqs.QueueDoesNotExist) as raised:
        service.queue("nothing")
    error = raised.value
    assert (error.json_type, error.query_code, error.status, error.sender_fault) == (
        "com.amazonaws.sqs#QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", 400, True,
    )  # fmt: skip
    assert error.message == "The specified queue does not exist."
    assert error.query_message == "The specified queue does not exist for this wsdl version."


def test_delete_queue_frees_the_name_after_60_seconds(service: QueueService, clock: VirtualClock) -> None:
    service.create_queue("q")
    service.send_message("q", "lost with the queue")
    service.delete_queue("q")
    with pytest.raises(sqs.QueueDoesNotExist):
        service.send_message("q", "x")
    with pytest.raises(sqs.QueueDoesNotExist):
        service.delete_queue("q")
    clock.advance(59)
    with pytest.raises(sqs.QueueDeletedRecently, match="You must wait 60 seconds after deleting a queue"):
        service.create_queue("q")
    clock.advance(1)
    service.create_queue("q")
    assert service.receive_message("q") == []


def test_purge_once_a_minute(service: QueueService, clock: VirtualClock) -> None:
    service.create_queue("q")
    for body in ("a", "b"):
        service.send_message("q", body)
    service.receive_message("q")  # one in flight: purged too
    service.purge_queue("q")
    assert service.metrics("q").approximate_number_of_messages_visible == 0
    assert service.metrics("q").approximate_number_of_messages_not_visible == 0
    clock.advance(59)
    with pytest.raises(
        sqs.PurgeQueueInProgress, match=r"^Only one PurgeQueue operation on q is allowed every 60"
    ) as raised:
        service.purge_queue("q")
    assert raised.value.status == 403  # recorded
    clock.advance(1)
    service.purge_queue("q")


# -- sending -----------------------------------------------------------------------------------------------
def test_message_size_at_the_limit_and_one_past(service: QueueService) -> None:
    service.create_queue("q", {"MaximumMessageSize": "1024"})
    attribute = {"k": text("x")}  # counts len("k") + len("String") + len("x") = 8 bytes
    service.send_message("q", "a" * 1016, message_attributes=attribute)
    with pytest.raises(sqs.InvalidParameterValue) as raised:
        service.send_message("q", "a" * 1017, message_attributes=attribute)
    assert (
        raised.value.message == "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
    )
    service.create_queue("big")
    service.send_message("big", "é" * (1_048_576 // 2))  # counted in UTF-8 bytes
    with pytest.raises(sqs.InvalidParameterValue, match="shorter than 1048576 bytes"):
        service.send_message("big", "é" * (1_048_576 // 2) + "x")


def test_bad_messages_are_refused_with_awss_errors(service: QueueService) -> None:
    service.create_queue("q")
    with pytest.raises(sqs.MissingParameter, match=r"^The request must contain the parameter MessageBody\.$"):
        service.send_message("q", "")
    with pytest.raises(sqs.InvalidMessageContents):
        service.send_message("q", "bell \x07")
    with pytest.raises(sqs.InvalidParameterValue, match="must contain a non-empty value of type 'String'"):
        service.send_message("q", "x", message_attributes={"ErrorDetails": text("")})
    with pytest.raises(sqs.InvalidParameterValue):
        service.send_message("q", "x", message_attributes={"AWS.reserved": text("v")})
    with pytest.raises(sqs.InvalidParameterValue):
        service.send_message("q", "x", message_attributes={"n": text("not a number", "Number")})
    with pytest.raises(sqs.InvalidParameterValue):
        service.send_message("q", "x", message_attributes={f"a{i}": text("v") for i in range(11)})
    service.send_message("q", "x", message_attributes={f"a{i}": text("v") for i in range(10)})
    with pytest.raises(sqs.InvalidParameterValue, match="MessageGroupId can only include"):
        service.send_message("q", "x", group_id="has space")
    with pytest.raises(sqs.InvalidParameterValue, match="DelaySeconds"):
        service.send_message("q", "x", delay_seconds=901)
    assert service.metrics("q").approximate_number_of_messages_visible == 1  # only the good one


def test_batch_limits(service: QueueService) -> None:
    service.create_queue("q", {"MaximumMessageSize": "1024"})

    def entries(count: int) -> list[SendMessageBatchEntry]:
        return [SendMessageBatchEntry(f"m{i}", "body") for i in range(count)]

    with pytest.raises(sqs.EmptyBatchRequest):
        service.send_message_batch("q", [])
    with pytest.raises(sqs.TooManyEntriesInBatchRequest, match=r"^Maximum number of entries per request are 10\. You have sent 11\.$"):  # fmt: skip
        service.send_message_batch("q", entries(11))
    for bad_id in ("", "invalid:id", "a" * 81):
        with pytest.raises(sqs.InvalidBatchEntryId):
            service.send_message_batch("q", [SendMessageBatchEntry(bad_id, "x")])
    with pytest.raises(sqs.BatchEntryIdsNotDistinct):
        service.send_message_batch("q", [SendMessageBatchEntry("same", "x"), SendMessageBatchEntry("same", "y")])
    result = service.send_message_batch("q", entries(10))
    assert [entry_id for entry_id, _ in result.successful] == [f"m{i}" for i in range(10)] and not result.failed
    mixed = service.send_message_batch(
        "q", [SendMessageBatchEntry("ok", "fine"), SendMessageBatchEntry("big", "x" * 1025),
              SendMessageBatchEntry("bad", "\x00")],
    )  # fmt: skip
    assert [entry_id for entry_id, _ in mixed.successful] == ["ok"]
    failures = {f.id: (f.code, f.message, f.sender_fault) for f in mixed.failed}
    assert failures["big"] == (
        "InvalidParameterValue",
        "One or more parameters cannot be validated. Reason: Message must be shorter than 1024 bytes.",
        True,
    )
    assert failures["bad"][0] == "InvalidMessageContents"


def test_a_batch_over_one_mebibyte_fails_whole(service: QueueService) -> None:
    service.create_queue("q")
    body = "a" * (1_048_576 - len("k" + "String" + "x"))  # recorded input: exactly 1 MiB, then 1 byte more
    first = SendMessageBatchEntry("a", body, message_attributes={"k": text("x")})
    with pytest.raises(sqs.BatchRequestTooLong) as raised:
        service.send_message_batch("q", [first, SendMessageBatchEntry("b", "b")])
    assert raised.value.message == "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes."
    assert service.send_message_batch("q", [first]).failed == []


# -- receiving, visibility, delay --------------------------------------------------------------------------
def test_visibility_receive_count_and_first_receive(service: QueueService, clock: VirtualClock) -> None:
    service.create_queue("q", {"VisibilityTimeout": "10"})
    sent = service.send_message("q", "hello")
    [first] = service.receive_message("q", attribute_names=["All"])
    assert first.message_id == sent.message_id and first.md5_of_body == sent.md5_of_body
    assert first.attributes == {
        "SenderId": ACCOUNT, "ApproximateFirstReceiveTimestamp": str(int(T0 * 1000)),
        "ApproximateReceiveCount": "1", "SentTimestamp": str(int(T0 * 1000)),
    }  # fmt: skip
    assert service.receive_message("q") == []
    clock.advance(9.999)
    assert service.receive_message("q") == []
    clock.advance(0.001)
    [second] = service.receive_message(
        "q", attribute_names=["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"]
    )
    assert second.attributes == {
        "ApproximateReceiveCount": "2",
        "ApproximateFirstReceiveTimestamp": str(int(T0 * 1000)),
    }
    assert second.receipt_handle != first.receipt_handle
    service.delete_message("q", first.receipt_handle)  # an older handle: accepted, does nothing
    assert service.metrics("q").approximate_number_of_messages_not_visible == 1
    service.delete_message("q", second.receipt_handle)
    service.delete_message("q", second.receipt_handle)  # again: still fine
    clock.advance(60)
    assert service.receive_message("q") == []
    counted = service.metrics("q")
    assert (
        counted.number_of_messages_sent,
        counted.number_of_messages_received,
        counted.number_of_messages_deleted,
    ) == (1, 2, 1)


def test_change_visibility(service: QueueService, clock: VirtualClock) -> None:
    service.create_queue("q")
    service.send_message("q", "m")
    [message] = service.receive_message("q")
    service.change_message_visibility("q", message.receipt_handle, 0)
    [again] = service.receive_message("q", visibility_timeout=100)
    with pytest.raises(sqs.InvalidParameterValue, match="not available for visibility timeout change"):
        service.change_message_visibility("q", message.receipt_handle, 5)  # not the latest handle
    with pytest.raises(sqs.InvalidParameterValue, match="beyond the limit"):
        service.change_message_visibility("q", again.receipt_handle, 43_201)
    service.change_message_visibility("q", again.receipt_handle, 43_200)
    with pytest.raises(sqs.ReceiptHandleIsInvalid, match='^The input receipt handle "garbage" is not a valid'):
        service.change_message_visibility("q", "garbage", 5)
    with pytest.raises(sqs.ReceiptHandleIsInvalid):
        service.delete_message("q", "garbage")
    result = service.change_message_visibility_batch(
        "q", [ChangeMessageVisibilityBatchEntry("a", again.receipt_handle, 0),
              ChangeMessageVisibilityBatchEntry("b", "garbage", 0)],
    )  # fmt: skip
    assert [i for i, _ in result.successful] == ["a"] and [f.code for f in result.failed] == ["ReceiptHandleIsInvalid"]
    [third] = service.receive_message("q")
    deleted = service.delete_message_batch(
        "q", [DeleteMessageBatchEntry("x", third.receipt_handle), DeleteMessageBatchEntry("y", "garbage")]
    )
    assert [i for i, _ in deleted.successful] == ["x"] and deleted.failed[0].id == "y"
    with pytest.raises(sqs.InvalidParameterValue, match="not available for visibility timeout change"):
        service.change_message_visibility("q", third.receipt_handle, 5)  # deleted


def test_receive_limits(service: QueueService) -> None:
    service.create_queue("q")
    for i in range(12):
        service.send_message("q", f"m{i}")
    with pytest.raises(sqs.InvalidParameterValue, match=r"^Value 11 for parameter MaxNumberOfMessages is invalid\. Reason: Must be between 1 and 10, if provided\.$"):  # fmt: skip
        service.receive_message("q", max_messages=11)
    with pytest.raises(sqs.InvalidParameterValue):
        service.receive_message("q", max_messages=0)
    assert len(service.receive_message("q", max_messages=10)) == 10
    assert len(service.receive_message("q", max_messages=10)) == 2


def test_delays_per_queue_and_per_message(service: QueueService, clock: VirtualClock) -> None:
    service.create_queue("q", {"DelaySeconds": "5", "VisibilityTimeout": "43200"})
    service.send_message("q", "queue delay")
    service.send_message("q", "no delay", delay_seconds=0)
    service.send_message("q", "long delay", delay_seconds=900)
    assert [m.body for m in service.receive_message("q", max_messages=10)] == ["no delay"]
    assert service.metrics("q").approximate_number_of_messages_delayed == 2
    clock.advance(5)
    assert [m.body for m in service.receive_message("q", max_messages=10)] == ["queue delay"]
    clock.advance(895)
    assert [m.body for m in service.receive_message("q", max_messages=10)] == ["long delay"]


def test_retention(service: QueueService, clock: VirtualClock) -> None:
    service.create_queue("q", {"MessageRetentionPeriod": "60"})
    service.send_message("q", "old")
    clock.advance(30)
    service.send_message("q", "young")
    clock.advance(30)
    assert service.metrics("q").approximate_number_of_messages_visible == 1
    assert [m.body for m in service.receive_message("q", max_messages=10)] == ["young"]


# -- redrive -----------------------------------------------------------------------------------------------
def test_redrive_to_the_dead_letter_queue(service: QueueService) -> None:
    dlq = service.create_queue("dlq")
    service.create_queue("q")
    service.set_attributes("q", {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 2})})
    trace = {"AWSTraceHeader": text("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")}
    sent = service.send_message(
        "q", "poison", message_attributes={"MyAttribute": text("foobar")}, system_attributes=trace
    )
    assert sent.md5_of_message_system_attributes == md5_of_attributes(trace)
    assert len(service.receive_message("q", visibility_timeout=0)) == 1
    assert len(service.receive_message("q", visibility_timeout=0)) == 1
    assert service.receive_message("q", visibility_timeout=0) == []  # moved instead of received a third time
    [dead] = service.receive_message("dlq", attribute_names=["All"], message_attribute_names=["All"])
    assert list(dead.attributes) == [  # recorded order
        "ApproximateFirstReceiveTimestamp", "ApproximateReceiveCount", "SenderId", "SentTimestamp",
        "AWSTraceHeader", "DeadLetterQueueSourceArn",
    ]  # fmt: skip
    assert dead.message_id == sent.message_id and dead.body == "poison"
    assert dead.attributes["ApproximateReceiveCount"] == "3"  # recorded: the count goes on
    assert dead.attributes["DeadLetterQueueSourceArn"] == service.queue("q").arn
    assert dead.md5_of_message_attributes == "adb59cd4678ea5a855436b949cd07ab6"


def test_redrive_policy_checks(service: QueueService) -> None:
    service.create_queue("q")
    fifo_dlq = service.create_queue("d.fifo", {"FifoQueue": "true"})
    missing = f"arn:aws:sqs:us-east-1:{ACCOUNT}:missing"
    with pytest.raises(sqs.InvalidParameterValue, match="Dead letter target does not exist"):
        service.set_attributes(
            "q", {"RedrivePolicy": json.dumps({"deadLetterTargetArn": missing, "maxReceiveCount": 3})}
        )
    with pytest.raises(sqs.InvalidParameterValue, match="must match"):
        service.set_attributes(
            "q", {"RedrivePolicy": json.dumps({"deadLetterTargetArn": fifo_dlq.arn, "maxReceiveCount": 3})}
        )
    dlq = service.create_queue("dlq")
    for count in (0, 1001, "x"):
        with pytest.raises(sqs.InvalidAttributeValue, match="maxReceiveCount"):
            service.set_attributes(
                "q", {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": count})}
            )
    with pytest.raises(sqs.InvalidAttributeValue):
        service.set_attributes("q", {"RedrivePolicy": "not json"})
    service.set_attributes(
        "q", {"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": "1000"})}
    )
    assert json.loads(service.get_attributes("q")["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq.arn,
        "maxReceiveCount": 1000,
    }
    service.set_attributes("q", {"RedrivePolicy": ""})
    assert "RedrivePolicy" not in service.get_attributes("q")


# -- FIFO --------------------------------------------------------------------------------------------------
def test_fifo_groups_keep_order_and_block_while_in_flight(service: QueueService, clock: VirtualClock) -> None:
    service.create_queue("q.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    for body in ("a1", "a2", "a3"):
        service.send_message("q.fifo", body, group_id="a")
    service.send_message("q.fifo", "b1", group_id="b")
    [a1] = service.receive_message("q.fifo")
    assert a1.body == "a1"
    assert [m.body for m in service.receive_message("q.fifo", max_messages=10)] == ["b1"]  # group a is blocked
    assert service.receive_message("q.fifo", max_messages=10) == []
    service.delete_message("q.fifo", a1.receipt_handle)
    two = service.receive_message("q.fifo", max_messages=2, attribute_names=["All"])
    assert [m.body for m in two] == ["a2", "a3"]
    assert int(two[0].attributes["SequenceNumber"]) < int(two[1].attributes["SequenceNumber"])
    assert two[0].attributes["MessageGroupId"] == "a"
    clock.advance(30)  # back in the queue, still in order
    assert [m.body for m in service.receive_message("q.fifo", max_messages=10)] == ["a2", "a3", "b1"]


def test_fifo_deduplication(service: QueueService, clock: VirtualClock) -> None:
    service.create_queue("q.fifo", {"FifoQueue": "true"})
    with pytest.raises(sqs.InvalidParameterValue, match="ContentBasedDeduplication enabled or MessageDeduplicationId"):
        service.send_message("q.fifo", "x", group_id="g")
    with pytest.raises(sqs.MissingParameter, match="MessageGroupId"):
        service.send_message("q.fifo", "x", deduplication_id="d")
    with pytest.raises(sqs.InvalidParameterValue, match="DelaySeconds is invalid"):
        service.send_message("q.fifo", "x", group_id="g", deduplication_id="d", delay_seconds=2)
    first = service.send_message("q.fifo", "x", group_id="g", deduplication_id="d", delay_seconds=0)
    again = service.send_message("q.fifo", "x", group_id="other", deduplication_id="d")  # scope: the queue
    assert again.message_id == first.message_id
    [message] = service.receive_message("q.fifo", max_messages=10)
    service.delete_message("q.fifo", message.receipt_handle)
    service.send_message("q.fifo", "x", group_id="g", deduplication_id="d")  # remembered after delete
    assert service.receive_message("q.fifo") == []
    clock.advance(300)
    service.send_message("q.fifo", "x", group_id="g", deduplication_id="d")
    assert len(service.receive_message("q.fifo")) == 1
    service.create_queue("c.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    service.send_message("c.fifo", "same", group_id="g")
    service.send_message("c.fifo", "same", group_id="g", message_attributes={"a": text("differs")})
    service.send_message("c.fifo", "other", group_id="g")
    assert [m.body for m in service.receive_message("c.fifo", max_messages=10)] == ["same", "other"]
    with pytest.raises(sqs.InvalidParameterValue, match="MessageGroupId"):  # in a batch: the whole request
        service.send_message_batch("c.fifo", [SendMessageBatchEntry("a", "x")])


def test_fifo_handle_expires_with_its_visibility(service: QueueService, clock: VirtualClock) -> None:
    service.create_queue("q.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    service.send_message("q.fifo", "x", group_id="g")
    [message] = service.receive_message("q.fifo", visibility_timeout=5)
    clock.advance(5)
    with pytest.raises(sqs.InvalidParameterValue, match="The receipt handle has expired"):
        service.delete_message("q.fifo", message.receipt_handle)


# -- long polling and metrics ------------------------------------------------------------------------------
def test_long_polling_returns_when_a_message_arrives_or_the_wait_ends(
    service: QueueService, clock: VirtualClock
) -> None:
    service.create_queue("q")

    async def scenario() -> None:
        waiting = asyncio.create_task(service.receive_message_waiting("q", wait_time_s=20))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        await asyncio.to_thread(service.send_message, "q", "from a thread")
        assert [m.body for m in await asyncio.wait_for(waiting, 5)] == ["from a thread"]

        empty = asyncio.create_task(service.receive_message_waiting("q", wait_time_s=20))
        await asyncio.sleep(0.01)
        clock.advance(19)
        await asyncio.sleep(0.01)
        assert not empty.done()
        clock.advance(1)
        assert await asyncio.wait_for(empty, 5) == []

        service.send_message("q", "delayed", delay_seconds=10)
        delayed = asyncio.create_task(service.receive_message_waiting("q", wait_time_s=20))
        await asyncio.sleep(0.01)
        clock.advance(10)  # the delay ends on the clock: no send wakes it
        assert [m.body for m in await asyncio.wait_for(delayed, 5)] == ["delayed"]

    asyncio.run(scenario())
    assert service.metrics("q").number_of_empty_receives == 1
    with pytest.raises(sqs.InvalidParameterValue, match="WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20"):
        asyncio.run(service.receive_message_waiting("q", wait_time_s=21))


def test_metrics_gauges_and_counters(service: QueueService, clock: VirtualClock) -> None:
    service.create_queue("q")
    service.send_message("q", "a" * 10)
    service.send_message("q", "b" * 20)
    service.send_message("q", "c", delay_seconds=60)
    clock.advance(30)
    service.receive_message("q")
    gauges = service.metrics("q")
    assert gauges.approximate_number_of_messages_visible == 1
    assert gauges.approximate_number_of_messages_not_visible == 1
    assert gauges.approximate_number_of_messages_delayed == 1
    assert gauges.approximate_age_of_oldest_message == 30
    assert gauges.sent_message_size == 31
    assert gauges.by_name()["NumberOfMessagesSent"] == 3


def test_metrics_are_kept_per_minute_under_awss_names(tmp_path: Path, clock: VirtualClock) -> None:
    from simulator.metrics import Metrics

    store = Store(tmp_path / "kept")
    metrics = Metrics(store, clock)
    service = QueueService(store, clock, region="us-east-1", account_id=ACCOUNT, metrics=metrics, poll_s=None)
    service.create_queue("q")
    service.send_message_batch("q", [SendMessageBatchEntry(str(i), "x" * 100) for i in range(4)])
    service.receive_message("q", max_messages=3, visibility_timeout=3600)
    service.record_metrics()
    clock.advance(60)
    [message] = service.receive_message("q")
    service.delete_message("q", message.receipt_handle)
    service.receive_message("q")  # empty
    service.record_metrics()
    metrics.flush()
    [kept] = metrics.read("sqs:q")
    assert kept.sum("NumberOfMessagesSent") == 4 and kept.sum("NumberOfMessagesReceived") == 4
    assert kept.sum("NumberOfMessagesDeleted") == 1 and kept.sum("NumberOfEmptyReceives") == 1
    assert kept.maximum("ApproximateNumberOfMessagesVisible") == 1  # after the first receive
    assert kept.maximum("ApproximateNumberOfMessagesNotVisible") == 3
    assert kept.maximum("ApproximateAgeOfOldestMessage") == 60
    assert kept.statistics["SentMessageSize"].average == 100
    [first_minute] = metrics.read("sqs:q", end=T0 // 60 * 60 + 60)
    assert first_minute.sum("NumberOfMessagesSent") == 4 and first_minute.sum("NumberOfMessagesDeleted") == 0
    assert [m.function_name for m in metrics.read()] == ["sqs:q"]


def test_hostile_input_is_refused_and_loses_nothing(service: QueueService) -> None:
    service.create_queue("q")
    service.send_message("q", "kept")
    for name in ("q'; DROP TABLE sqs_messages; --", "../q", "q\x00", "é"):
        with pytest.raises(sqs.InvalidParameterValue):
            service.create_queue(name)
        with pytest.raises(sqs.QueueDoesNotExist):
            service.send_message(name, "x")
    for body in ("\ud800 lone surrogate", "nul \x00", "\ufffe"):
        with pytest.raises(sqs.InvalidMessageContents):
            service.send_message("q", body)
    with pytest.raises(sqs.InvalidParameterValue):
        service.send_message("q", "x", message_attributes={"a": text("\ud800")})
    with pytest.raises(sqs.InvalidParameterValue):
        service.send_message("q", "x", message_attributes={"a": text("v", "Strange")})
    with pytest.raises(sqs.InvalidParameterValue):
        service.send_message("q", "x", message_attributes={"a": MessageAttributeValue("Binary", binary_value=b"")})
    with pytest.raises(sqs.InvalidParameterValue):
        service.send_message("q", "x", system_attributes={"NotTrace": text("v")})
    other = "b3RoZXIKMQowMTIzNDU2Nzg5YWJjZGVm"  # another queue's, well formed
    for handle in ("", "é", "x" * 5000, "cQoxCg==", "cgoxCnQ=", other):
        with pytest.raises(sqs.ReceiptHandleIsInvalid):
            service.delete_message("q", handle)
    with pytest.raises(sqs.InvalidAttributeValue):
        service.set_attributes("q", {"Policy": "[not an object"})
    assert [m.body for m in service.receive_message("q")] == ["kept"]


def test_fifo_receive_request_attempt_id_replays_the_same_receive(service: QueueService, clock: VirtualClock) -> None:
    service.create_queue("q.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    for body in ("a", "b", "c"):
        service.send_message("q.fifo", body, group_id=body)
    first = service.receive_message("q.fifo", max_messages=2, receive_request_attempt_id="try-1")
    clock.advance(10)
    again = service.receive_message("q.fifo", max_messages=2, receive_request_attempt_id="try-1")
    assert [(m.body, m.receipt_handle) for m in again] == [(m.body, m.receipt_handle) for m in first]
    assert again[0].attributes == {} and service.metrics("q.fifo").number_of_messages_received == 2
    clock.advance(25)  # the visibility timeout started over at the retry: still in flight
    assert [m.body for m in service.receive_message("q.fifo", max_messages=10)] == ["c"]
    service.delete_message("q.fifo", first[0].receipt_handle)
    other = service.receive_message("q.fifo", max_messages=2, receive_request_attempt_id="try-1")
    assert other == []  # one of them was deleted: a new receive (b is in flight, c too)
    clock.advance(300)
    later = service.receive_message("q.fifo", max_messages=10, receive_request_attempt_id="try-1")
    assert [m.body for m in later] == ["b", "c"]  # after 5 minutes the id is forgotten


def test_a_waiting_receive_sees_what_another_process_sent(tmp_path: Path) -> None:
    """Another process's send wakes no one here: the waiting receive finds it by looking again (poll_s)."""
    from simulator.clock import RealClock

    folder = tmp_path / "shared"
    waiting_side = QueueService(Store(folder), RealClock(), region="us-east-1", account_id=ACCOUNT, poll_s=0.05)
    other_process = QueueService(Store(folder), RealClock(), region="us-east-1", account_id=ACCOUNT)
    waiting_side.create_queue("q")

    async def scenario() -> list[str]:
        waiting = asyncio.create_task(waiting_side.receive_message_waiting("q", wait_time_s=20))
        await asyncio.sleep(0.1)
        await asyncio.to_thread(other_process.send_message, "q", "from elsewhere")
        return [m.body for m in await waiting]

    assert asyncio.run(scenario()) == ["from elsewhere"]


def test_a_dead_letter_queue_ages_from_the_move_and_keeps_the_first_send_for_retention(
    service: QueueService, clock: VirtualClock
) -> None:
    dlq = service.create_queue("dlq", {"MessageRetentionPeriod": "120"})
    policy = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 1})
    service.create_queue("q", {"RedrivePolicy": policy, "VisibilityTimeout": "0"})
    service.send_message("q", "m")
    service.receive_message("q")
    clock.advance(100)
    assert service.receive_message("q") == []  # moved now, 100 s after it was sent
    clock.advance(10)
    assert service.metrics("dlq").approximate_age_of_oldest_message == 10  # since the move (SQS's DLQ metric)
    clock.advance(10)  # 120 s after the first send: a standard DLQ's retention counts from then
    assert service.receive_message("dlq") == []


def test_fifo_redrive_keeps_group_order_in_the_dead_letter_queue(service: QueueService, clock: VirtualClock) -> None:
    dlq = service.create_queue("d.fifo", {"FifoQueue": "true", "MessageRetentionPeriod": "60"})
    policy = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 1})
    service.create_queue("q.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true", "RedrivePolicy": policy})
    for body in ("1", "2", "3"):
        service.send_message("q.fifo", body, group_id="g")
    assert [m.body for m in service.receive_message("q.fifo", max_messages=10, visibility_timeout=0)] == ["1", "2", "3"]
    clock.advance(50)
    assert service.receive_message("q.fifo", max_messages=10) == []  # all three moved
    got = service.receive_message("d.fifo", max_messages=10, attribute_names=["MessageGroupId", "SequenceNumber"])
    assert [m.body for m in got] == ["1", "2", "3"] and {m.attributes["MessageGroupId"] for m in got} == {"g"}
    clock.advance(59)  # a FIFO dead-letter queue's retention counts from the move, not from the send
    assert service.metrics("d.fifo").approximate_number_of_messages_visible == 3
    clock.advance(1)
    assert service.metrics("d.fifo").approximate_number_of_messages_visible == 0


def test_delete_message_batch_on_a_standard_queue_deletes_by_the_latest_handles_only(
    service: QueueService, clock: VirtualClock
) -> None:
    service.create_queue("q")
    for i in range(3):
        service.send_message("q", f"m{i}")
    first = service.receive_message("q", max_messages=3, visibility_timeout=1)
    clock.jump(clock.monotonic() + 2)
    again = service.receive_message("q", max_messages=1, visibility_timeout=30)  # one of them, a new handle
    old = next(m for m in first if m.message_id == again[0].message_id)
    others = [m for m in first if m.message_id != again[0].message_id]
    result = service.delete_message_batch(
        "q",
        [DeleteMessageBatchEntry("old", old.receipt_handle),  # accepted, deletes nothing
         DeleteMessageBatchEntry("a", others[0].receipt_handle),  # its visibility timeout ended: still its latest
         DeleteMessageBatchEntry("twice", others[0].receipt_handle),
         DeleteMessageBatchEntry("bad", "garbage")],
    )  # fmt: skip
    assert [i for i, _ in result.successful] == ["old", "a", "twice"]
    assert [(f.id, f.code) for f in result.failed] == [("bad", "ReceiptHandleIsInvalid")]
    metrics = service.metrics("q")
    assert metrics.number_of_messages_deleted == 1
    assert metrics.approximate_number_of_messages_visible == 1  # others[1]
    assert metrics.approximate_number_of_messages_not_visible == 1  # the one received again
    service.delete_message_batch("q", [DeleteMessageBatchEntry("new", again[0].receipt_handle)])
    assert service.metrics("q").number_of_messages_deleted == 2


def test_a_scratch_store_runs_the_queues_in_memory_for_one_thread(tmp_path: Path, clock: VirtualClock) -> None:
    import threading

    from simulator.errors import LsimError
    from simulator.store import ScratchStore

    store = ScratchStore(tmp_path / ".lsim")
    service = QueueService(store, clock, region="us-east-1", account_id="123456789012", poll_s=None)
    service.create_queue("q")
    service.send_message("q", "kept")
    assert [m.body for m in service.receive_message("q")] == ["kept"]
    assert not (tmp_path / ".lsim" / "state.db").exists()  # nothing written to a file
    failures: list[BaseException] = []

    def elsewhere() -> None:
        try:
            store.connection()
        except LsimError as exc:
            failures.append(exc)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert len(failures) == 1 and "one thread" in str(failures[0])
