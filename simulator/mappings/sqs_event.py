"""The event an SQS event source mapping invokes its function with: one place for that wire format,
used by the poller and by `lsim generate-event sqs receive-message`.

Shape and key order as AWS's recorded events (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
and LocalStack's recordings of real AWS): {"Records": [{messageId, receiptHandle, body, attributes,
messageAttributes, md5OfMessageAttributes, md5OfBody, eventSource "aws:sqs", eventSourceARN, awsRegion}]}.
`attributes` are strings in AWS's order (FIFO adds SequenceNumber, MessageGroupId, MessageDeduplicationId);
`messageAttributes` use lower-camel keys with both list keys always present. `md5OfMessageAttributes` is
null when a message has no attributes: the most recent recording of AWS shows null (older documentation
examples leave the key out).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

EVENT_SOURCE = "aws:sqs"
#: the order of `attributes` in AWS's events; others the message carries (AWSTraceHeader,
#: DeadLetterQueueSourceArn) follow, in the order SQS gave them
ATTRIBUTE_ORDER = (
    "ApproximateReceiveCount", "SentTimestamp", "SequenceNumber", "MessageGroupId", "SenderId",
    "MessageDeduplicationId", "ApproximateFirstReceiveTimestamp",
)  # fmt: skip


class AttributeValue(Protocol):
    """An SQS MessageAttributeValue, as the queue service keeps it."""

    data_type: str
    string_value: str | None
    binary_value: bytes | None
    string_list_values: Sequence[str]
    binary_list_values: Sequence[bytes]


class Received(Protocol):
    """What the event needs of a received message (the queue service's ReceivedMessage)."""

    message_id: str
    receipt_handle: str
    body: str
    md5_of_body: str
    attributes: Mapping[str, str]
    message_attributes: Mapping[str, Any]
    md5_of_message_attributes: str | None


def message_attribute(value: Any) -> dict[str, Any]:
    """One message attribute in the event's lower-camel form."""
    if isinstance(value, Mapping):  # already AWS's JSON shape (StringValue, DataType, ...)
        get = value.get
        data_type, string_value, binary_value = get("DataType"), get("StringValue"), get("BinaryValue")
        string_list, binary_list = get("StringListValues") or [], get("BinaryListValues") or []
    else:
        data_type, string_value, binary_value = value.data_type, value.string_value, value.binary_value
        string_list, binary_list = value.string_list_values or [], value.binary_list_values or []
    shape: dict[str, Any] = {}
    if string_value is not None:
        shape["stringValue"] = string_value
    if binary_value is not None:
        shape["binaryValue"] = _base64(binary_value)
    shape["stringListValues"] = list(string_list)
    shape["binaryListValues"] = [_base64(item) for item in binary_list]
    shape["dataType"] = data_type
    return shape


def _base64(value: bytes | str) -> str:
    return value if isinstance(value, str) else base64.b64encode(value).decode("ascii")


def ordered_attributes(attributes: Mapping[str, str]) -> dict[str, str]:
    known = {name: attributes[name] for name in ATTRIBUTE_ORDER if name in attributes}
    return known | {name: value for name, value in attributes.items() if name not in known}


def record(
    *,
    message_id: str,
    receipt_handle: str,
    body: str,
    attributes: Mapping[str, str],
    message_attributes: Mapping[str, Any],
    md5_of_message_attributes: str | None,
    md5_of_body: str,
    event_source_arn: str,
    region: str,
) -> dict[str, Any]:
    """One record, keys in AWS's order."""
    return {
        "messageId": message_id,
        "receiptHandle": receipt_handle,
        "body": body,
        "attributes": ordered_attributes(attributes),
        "messageAttributes": {name: message_attribute(value) for name, value in message_attributes.items()},
        "md5OfMessageAttributes": md5_of_message_attributes if message_attributes else None,
        "md5OfBody": md5_of_body,
        "eventSource": EVENT_SOURCE,
        "eventSourceARN": event_source_arn,
        "awsRegion": region,
    }


def message_record(message: Received, event_source_arn: str, region: str) -> dict[str, Any]:
    return record(
        message_id=message.message_id,
        receipt_handle=message.receipt_handle,
        body=message.body,
        attributes=message.attributes,
        message_attributes=message.message_attributes,
        md5_of_message_attributes=message.md5_of_message_attributes,
        md5_of_body=message.md5_of_body,
        event_source_arn=event_source_arn,
        region=region,
    )


class QueueLike(Protocol):
    arn: str


def records(messages: Sequence[Received], queue: QueueLike, region: str) -> dict[str, Any]:
    """The event of one batch: {"Records": [...]}, in the batch's order."""
    return {"Records": [message_record(message, queue.arn, region) for message in messages]}
