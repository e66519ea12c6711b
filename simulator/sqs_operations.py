"""SQS's operations in the terms of its JSON protocol: members in, output out, the queue service between.

Both faces of SQS use them: the API on `lsim serve` (simulator/api/sqs.py, which parses JSON and query requests
into these members and renders the output in either) and `lsim sqs` on the command line when no serve runs.
Members are checked for the model's types (botocore's SQS model, 2012-11-05) and converted to what the queue
service takes; everything SQS validates beyond that (names, sizes, batches, receipt handles) the service does,
raising AWS's errors (simulator/queues/errors.py). Blobs travel as base64 text, as in the JSON protocol.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .queues.errors import InvalidParameterValue, MissingParameter, QueueDoesNotExist
from .queues.models import (
    BatchResult,
    ChangeMessageVisibilityBatchEntry,
    DeleteMessageBatchEntry,
    MessageAttributeValue,
    ReceivedMessage,
    SendMessageBatchEntry,
    SentMessage,
)

if TYPE_CHECKING:
    from .queues.service import QueueService

MAX_LIST_RESULTS = 1000
INTEGER_MEMBERS = frozenset(
    {"DelaySeconds", "MaxNumberOfMessages", "VisibilityTimeout", "WaitTimeSeconds", "MaxResults"}
)

Members = dict[str, Any]
Output = dict[str, Any] | None

_STRINGS = frozenset({
    "QueueName", "QueueUrl", "MessageBody", "ReceiptHandle", "MessageDeduplicationId", "MessageGroupId",
    "ReceiveRequestAttemptId", "QueueNamePrefix", "NextToken", "QueueOwnerAWSAccountId", "Id",
})  # fmt: skip


def _invalid(name: str, value: Any, reason: str) -> InvalidParameterValue:
    shown = value if isinstance(value, str | int) else json.dumps(value)[:100]
    return InvalidParameterValue(f"Value {shown} for parameter {name} is invalid. Reason: {reason}")


def check_types(members: Mapping[str, Any]) -> None:
    """The JSON body's members have the model's types (a query request's are made so by parsing)."""
    for name, value in members.items():
        if value is None:
            continue
        if name in _STRINGS and not isinstance(value, str):
            raise _invalid(name, value, "must be a string.")
        if name in INTEGER_MEMBERS and (not isinstance(value, int) or isinstance(value, bool)):
            raise _invalid(name, value, "must be an integer.")
        if name in ("Attributes", "tags") and not (
            isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        ):
            raise _invalid(name, value, "must be a map of strings to strings.")
        if name in ("AttributeNames", "MessageSystemAttributeNames", "MessageAttributeNames") and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise _invalid(name, value, "must be a list of strings.")
        if name == "Entries":
            if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
                raise _invalid(name, value, "must be a list of entries.")
            for entry in value:
                check_types(entry)


def _required(members: Members, *names: str) -> None:
    for name in names:
        if members.get(name) is None:
            raise MissingParameter(f"The request must contain the parameter {name}.")


def _blob(value: Any, parameter: str) -> bytes:
    if not isinstance(value, str):
        raise _invalid(parameter, value, "must be base64-encoded binary data.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(parameter, value[:64], "it is not valid base64.") from None


def _message_attributes(value: Any, parameter: str) -> dict[str, MessageAttributeValue] | None:
    """The JSON protocol's {name: {DataType, StringValue, BinaryValue (base64), ...}} as the service takes it."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _invalid(parameter, value, "must be a map of message attributes.")
    attributes: dict[str, MessageAttributeValue] = {}
    for name, item in value.items():
        if not isinstance(item, dict):
            raise _invalid(parameter, item, f"the attribute {name} must be a structure with a DataType.")
        data_type = item.get("DataType")
        string_value = item.get("StringValue")
        if data_type is not None and not isinstance(data_type, str):
            raise _invalid(f"{parameter}.{name}.DataType", data_type, "must be a string.")
        if string_value is not None and not isinstance(string_value, str):
            raise _invalid(f"{parameter}.{name}.StringValue", string_value, "must be a string.")
        binary = item.get("BinaryValue")
        strings = item.get("StringListValues") or []
        blobs = item.get("BinaryListValues") or []
        if not isinstance(strings, list) or not all(isinstance(s, str) for s in strings):
            raise _invalid(f"{parameter}.{name}.StringListValues", strings, "must be a list of strings.")
        if not isinstance(blobs, list):
            raise _invalid(f"{parameter}.{name}.BinaryListValues", blobs, "must be a list of binary values.")
        attributes[name] = MessageAttributeValue(
            data_type=data_type or "",
            string_value=string_value,
            binary_value=_blob(binary, f"{parameter}.{name}.BinaryValue") if binary is not None else None,
            string_list_values=tuple(strings),
            binary_list_values=tuple(_blob(b, f"{parameter}.{name}.BinaryListValues") for b in blobs),
        )
    return attributes


def _attributes_out(attributes: Mapping[str, MessageAttributeValue]) -> dict[str, dict[str, Any]]:
    shown: dict[str, dict[str, Any]] = {}
    for name, value in attributes.items():
        item: dict[str, Any] = {}
        if value.string_value is not None:
            item["StringValue"] = value.string_value
        if value.binary_value is not None:
            item["BinaryValue"] = base64.b64encode(value.binary_value).decode()
        if value.string_list_values:
            item["StringListValues"] = list(value.string_list_values)
        if value.binary_list_values:
            item["BinaryListValues"] = [base64.b64encode(b).decode() for b in value.binary_list_values]
        item["DataType"] = value.data_type
        shown[name] = item
    return shown


def _sent(message: SentMessage) -> dict[str, Any]:
    shown = {"MD5OfMessageBody": message.md5_of_body, "MessageId": message.message_id}
    optional = {
        "MD5OfMessageAttributes": message.md5_of_message_attributes,
        "MD5OfMessageSystemAttributes": message.md5_of_message_system_attributes,
        "SequenceNumber": message.sequence_number,
    }
    shown.update({k: v for k, v in optional.items() if v is not None})
    return shown


def _received(message: ReceivedMessage) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "MessageId": message.message_id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": message.md5_of_body,
        "Body": message.body,
    }
    if message.attributes:
        shown["Attributes"] = dict(message.attributes)
    if message.message_attributes:
        shown["MD5OfMessageAttributes"] = message.md5_of_message_attributes
        shown["MessageAttributes"] = _attributes_out(message.message_attributes)
    return shown


def _batch(result: BatchResult) -> dict[str, Any]:
    """A batch's answer; `Failed` only when an entry failed (as AWS answers, although the model requires it)."""
    successful = [{"Id": entry_id, **(_sent(sent) if sent is not None else {})} for entry_id, sent in result.successful]
    shown: dict[str, Any] = {"Successful": successful}
    if result.failed:
        shown["Failed"] = [
            {"Id": f.id, "SenderFault": f.sender_fault, "Code": f.code, "Message": f.message} for f in result.failed
        ]
    return shown


# -- the operations ---------------------------------------------------------------------------------------
class Context:
    """What an operation needs besides its members: the queue service and the URL the client reached."""

    def __init__(self, queues: QueueService, base_url: str, account_id: str, path_queue_url: str | None) -> None:
        self.queues = queues
        self.base_url = base_url
        self.account_id = account_id
        self.path_queue_url = path_queue_url

    def url(self, url_path: str) -> str:
        return self.base_url + url_path

    def queue_name(self, members: Members) -> str:
        """The queue a QueueUrl names (the request's path for the query protocol when it has none): the last
        two path segments are the account and the name; the host is not looked at."""
        url = members.get("QueueUrl") or self.path_queue_url
        if url is None:
            raise MissingParameter("The request must contain the parameter QueueUrl.")
        segments = [segment for segment in urlsplit(url).path.split("/") if segment]
        if len(segments) < 2 or segments[-2] != self.account_id:
            raise QueueDoesNotExist()
        return segments[-1]


Operation = Callable[[Context, Members], Output | Awaitable[Output]]


def create_queue(context: Context, members: Members) -> Output:
    _required(members, "QueueName")
    queue = context.queues.create_queue(
        members["QueueName"], members.get("Attributes") or {}, members.get("tags") or {}
    )
    return {"QueueUrl": context.url(queue.url_path)}


def get_queue_url(context: Context, members: Members) -> Output:
    _required(members, "QueueName")
    owner = members.get("QueueOwnerAWSAccountId")
    if owner is not None and owner != context.account_id:
        raise QueueDoesNotExist()
    return {"QueueUrl": context.url(context.queues.queue(members["QueueName"]).url_path)}


def get_queue_attributes(context: Context, members: Members) -> Output:
    name = context.queue_name(members)
    names = members.get("AttributeNames") or []
    if not names:  # "returns empty results" (GetQueueAttributes), once the queue is known to exist
        context.queues.queue(name)
        return {}
    attributes = context.queues.get_attributes(name, names)
    return {"Attributes": attributes} if attributes else {}


def set_queue_attributes(context: Context, members: Members) -> Output:
    name = context.queue_name(members)
    _required(members, "Attributes")
    context.queues.set_attributes(name, members["Attributes"])
    return None


def list_queues(context: Context, members: Members) -> Output:
    """At most 1,000 URLs; with MaxResults, pages of that many and a NextToken while more remain."""
    limit = members.get("MaxResults")
    if limit is not None and not 1 <= limit <= MAX_LIST_RESULTS:
        raise _invalid("MaxResults", limit, f"MaxResults must be an integer between 1 and {MAX_LIST_RESULTS}.")
    queues = context.queues.list_queues(members.get("QueueNamePrefix") or None)
    token = members.get("NextToken")
    if token:
        try:
            after = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
        except (binascii.Error, ValueError):
            raise _invalid("NextToken", token, "Invalid NextToken value.") from None
        queues = [queue for queue in queues if queue.name > after]
    page = queues[: limit or MAX_LIST_RESULTS]
    shown: dict[str, Any] = {}
    if page:
        shown["QueueUrls"] = [context.url(queue.url_path) for queue in page]
    if limit is not None and len(queues) > len(page):
        shown["NextToken"] = base64.urlsafe_b64encode(page[-1].name.encode()).decode()
    return shown


def send_message(context: Context, members: Members) -> Output:
    name = context.queue_name(members)
    _required(members, "MessageBody")
    sent = context.queues.send_message(
        name,
        members["MessageBody"],
        delay_seconds=members.get("DelaySeconds"),
        message_attributes=_message_attributes(members.get("MessageAttributes"), "MessageAttributes"),
        system_attributes=_message_attributes(members.get("MessageSystemAttributes"), "MessageSystemAttributes"),
        group_id=members.get("MessageGroupId"),
        deduplication_id=members.get("MessageDeduplicationId"),
    )
    return _sent(sent)


def send_message_batch(context: Context, members: Members) -> Output:
    name = context.queue_name(members)
    entries = [
        SendMessageBatchEntry(
            id=entry.get("Id") or "",
            body=entry.get("MessageBody") or "",
            delay_seconds=entry.get("DelaySeconds"),
            message_attributes=_message_attributes(entry.get("MessageAttributes"), "MessageAttributes"),
            system_attributes=_message_attributes(entry.get("MessageSystemAttributes"), "MessageSystemAttributes"),
            group_id=entry.get("MessageGroupId"),
            deduplication_id=entry.get("MessageDeduplicationId"),
        )
        for entry in members.get("Entries") or []
    ]
    return _batch(context.queues.send_message_batch(name, entries))


async def receive_message(context: Context, members: Members) -> Output:
    """Short poll, or a long poll (WaitTimeSeconds, else the queue's ReceiveMessageWaitTimeSeconds) that
    awaits without holding the server: other requests are answered meanwhile."""
    name = context.queue_name(members)
    count = members.get("MaxNumberOfMessages")
    wait = members.get("WaitTimeSeconds")
    system_names = [*(members.get("AttributeNames") or []), *(members.get("MessageSystemAttributeNames") or [])]
    options: dict[str, Any] = {
        "max_messages": count if count is not None else 1,
        "visibility_timeout": members.get("VisibilityTimeout"),
        "attribute_names": tuple(dict.fromkeys(system_names)),
        "message_attribute_names": tuple(members.get("MessageAttributeNames") or ()),
        "receive_request_attempt_id": members.get("ReceiveRequestAttemptId"),
    }
    if wait == 0:
        messages = context.queues.receive_message(name, **options)
    else:  # None: the queue's ReceiveMessageWaitTimeSeconds
        messages = await context.queues.receive_message_waiting(name, wait_time_s=wait, **options)
    return {"Messages": [_received(message) for message in messages]} if messages else {}


def delete_message(context: Context, members: Members) -> Output:
    name = context.queue_name(members)
    _required(members, "ReceiptHandle")
    context.queues.delete_message(name, members["ReceiptHandle"])
    return None


def delete_message_batch(context: Context, members: Members) -> Output:
    name = context.queue_name(members)
    entries = [
        DeleteMessageBatchEntry(id=entry.get("Id") or "", receipt_handle=entry.get("ReceiptHandle") or "")
        for entry in members.get("Entries") or []
    ]
    return _batch(context.queues.delete_message_batch(name, entries))


def change_message_visibility(context: Context, members: Members) -> Output:
    name = context.queue_name(members)
    _required(members, "ReceiptHandle", "VisibilityTimeout")
    context.queues.change_message_visibility(name, members["ReceiptHandle"], members["VisibilityTimeout"])
    return None


def change_message_visibility_batch(context: Context, members: Members) -> Output:
    name = context.queue_name(members)
    entries = []
    for entry in members.get("Entries") or []:
        _required(entry, "VisibilityTimeout")
        entries.append(
            ChangeMessageVisibilityBatchEntry(
                id=entry.get("Id") or "",
                receipt_handle=entry.get("ReceiptHandle") or "",
                visibility_timeout=entry["VisibilityTimeout"],
            )
        )
    return _batch(context.queues.change_message_visibility_batch(name, entries))


def purge_queue(context: Context, members: Members) -> Output:
    context.queues.purge_queue(context.queue_name(members))
    return None


def delete_queue(context: Context, members: Members) -> Output:
    context.queues.delete_queue(context.queue_name(members))
    return None


OPERATIONS: dict[str, Operation] = {
    "CreateQueue": create_queue,
    "GetQueueUrl": get_queue_url,
    "GetQueueAttributes": get_queue_attributes,
    "SetQueueAttributes": set_queue_attributes,
    "ListQueues": list_queues,
    "SendMessage": send_message,
    "SendMessageBatch": send_message_batch,
    "ReceiveMessage": receive_message,
    "DeleteMessage": delete_message,
    "DeleteMessageBatch": delete_message_batch,
    "ChangeMessageVisibility": change_message_visibility,
    "ChangeMessageVisibilityBatch": change_message_visibility_batch,
    "PurgeQueue": purge_queue,
    "DeleteQueue": delete_queue,
}
#: operations that do not name a queue, and so are not valid at a queue's URL (query protocol)
NOT_AT_A_QUEUE = frozenset({"CreateQueue", "ListQueues"})
