"""What a queue and a message are: queue attributes with SQS's defaults and limits, messages, results.

Numbers are SQS's (botocore's SQS model, CreateQueue and SendMessage docs; SQS developer guide, quotas):
VisibilityTimeout 0-43200 s (default 30), MessageRetentionPeriod 60-1,209,600 s (default 4 days),
DelaySeconds 0-900 (default 0), MaximumMessageSize 1,024-1,048,576 bytes (default 1 MiB),
ReceiveMessageWaitTimeSeconds 0-20 (default 0), KmsDataKeyReusePeriodSeconds 60-86,400 (default 300),
RedrivePolicy maxReceiveCount 1-1000. A queue's type is fixed when it is created.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import InvalidAttributeName, InvalidAttributeValue

MAX_MESSAGE_SIZE = 1_048_576  # also the whole batch's limit
MAX_BATCH_ENTRIES = 10
MAX_RECEIVE_MESSAGES = 10
MAX_WAIT_TIME_S = 20
MAX_VISIBILITY_TIMEOUT_S = 43_200  # 12 hours, counted from the first receive for ChangeMessageVisibility
MAX_DELAY_S = 900
DEDUPLICATION_INTERVAL_S = 300  # FIFO: a deduplication id is remembered 5 minutes
PURGE_INTERVAL_S = 60  # one PurgeQueue a minute per queue
NAME_REUSE_DELAY_S = 60  # a deleted queue's name can be used again after 60 s
MAX_MESSAGE_ATTRIBUTES = 10

# Every attribute name GetQueueAttributes knows (botocore's QueueAttributeName enum).
ATTRIBUTE_NAMES = (
    "Policy", "VisibilityTimeout", "MaximumMessageSize", "MessageRetentionPeriod",
    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "CreatedTimestamp",
    "LastModifiedTimestamp", "QueueArn", "ApproximateNumberOfMessagesDelayed", "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds", "RedrivePolicy", "FifoQueue", "ContentBasedDeduplication",
    "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "DeduplicationScope", "FifoThroughputLimit",
    "RedriveAllowPolicy", "SqsManagedSseEnabled",
)  # fmt: skip
READ_ONLY = frozenset(
    {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed",
     "CreatedTimestamp", "LastModifiedTimestamp", "QueueArn"}
)  # fmt: skip
FIFO_ONLY = frozenset({"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"})

_RANGES = {
    "DelaySeconds": (0, MAX_DELAY_S),
    "MaximumMessageSize": (1_024, MAX_MESSAGE_SIZE),
    "MessageRetentionPeriod": (60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, MAX_WAIT_TIME_S),
    "VisibilityTimeout": (0, MAX_VISIBILITY_TIMEOUT_S),
    "KmsDataKeyReusePeriodSeconds": (60, 86_400),
}


@dataclass(frozen=True)
class RedrivePolicy:
    """Where a message goes after `max_receive_count` receives: the dead-letter queue's ARN."""

    dead_letter_target_arn: str
    max_receive_count: int

    def to_json(self) -> str:
        return json.dumps(
            {"deadLetterTargetArn": self.dead_letter_target_arn, "maxReceiveCount": self.max_receive_count}
        )

    @classmethod
    def parse(cls, value: str | Mapping[str, Any]) -> RedrivePolicy:
        """RedrivePolicy as SetQueueAttributes takes it (a JSON string) or as a template writes it (an object)."""
        shown = value if isinstance(value, str) else json.dumps(value)

        def invalid(reason: str) -> InvalidAttributeValue:
            return InvalidAttributeValue(f"Value {shown} for parameter RedrivePolicy is invalid. Reason: {reason}")

        policy: Any = value
        if isinstance(value, str):
            try:
                policy = json.loads(value)
            except ValueError:
                raise invalid("Invalid value for RedrivePolicy: it is not JSON.") from None
        if not isinstance(policy, Mapping):
            raise invalid("Invalid value for RedrivePolicy: it must be a JSON object.")
        unknown = set(policy) - {"deadLetterTargetArn", "maxReceiveCount"}
        if unknown:
            raise invalid(f"Only deadLetterTargetArn and maxReceiveCount are allowed, not {sorted(unknown)[0]}.")
        arn, count = policy.get("deadLetterTargetArn"), policy.get("maxReceiveCount")
        if not isinstance(arn, str) or not arn:
            raise invalid("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
        if count is None:
            raise invalid("Redrive policy does not contain mandatory attribute: maxReceiveCount.")
        number: int | None = None
        if isinstance(count, int) and not isinstance(count, bool):
            number = count
        elif isinstance(count, str) and re.fullmatch(r"-?\d+", count.strip()):
            number = int(count)
        if number is None or not 1 <= number <= 1000:
            raise invalid("Invalid value for maxReceiveCount: valid values are from 1 to 1000 both inclusive.")
        return cls(arn, number)


@dataclass(frozen=True)
class QueueAttributes:
    """The settable attributes of a queue, validated; `parse` takes them as the API spells them."""

    fifo_queue: bool = False
    delay_seconds: int = 0
    maximum_message_size: int = MAX_MESSAGE_SIZE
    message_retention_period: int = 345_600
    receive_message_wait_time_seconds: int = 0
    visibility_timeout: int = 30
    redrive_policy: RedrivePolicy | None = None
    redrive_allow_policy: str | None = None
    policy: str | None = None
    content_based_deduplication: bool = False
    deduplication_scope: str = "queue"
    fifo_throughput_limit: str = "perQueue"
    kms_master_key_id: str | None = None
    kms_data_key_reuse_period_seconds: int = 300
    sqs_managed_sse_enabled: bool = True

    @classmethod
    def parse(
        cls, attributes: Mapping[str, Any], *, fifo: bool, base: QueueAttributes | None = None, creating: bool = True
    ) -> QueueAttributes:
        """Apply `attributes` (AWS names, string values) over `base` (or the defaults), as CreateQueue
        (`creating`) or SetQueueAttributes does; raises AWS's InvalidAttributeName / InvalidAttributeValue."""
        current = base if base is not None else cls(fifo_queue=fifo)
        changes: dict[str, Any] = {}
        for name, raw in attributes.items():
            value = raw if isinstance(raw, str) or name == "RedrivePolicy" else _as_text(raw)
            if name not in ATTRIBUTE_NAMES or name in READ_ONLY:
                raise InvalidAttributeName(f"Unknown Attribute {name}.")
            if name == "FifoQueue":
                if not creating:
                    raise (
                        InvalidAttributeValue("Invalid value for the parameter FifoQueue. Reason: Modifying queue type "
                                              "is not supported.")
                        if fifo else InvalidAttributeName("Unknown Attribute FifoQueue.")
                    )  # fmt: skip
                if value.lower() != "true":
                    raise InvalidAttributeName("Unknown Attribute FifoQueue.")
                continue
            if name in FIFO_ONLY and not fifo:
                if name == "ContentBasedDeduplication":
                    raise InvalidAttributeName("Unknown Attribute ContentBasedDeduplication.")
                raise InvalidAttributeName(f"You can specify the {name} only when FifoQueue is set to true.")
            if name in _RANGES:
                changes[_snake(name)] = _integer(name, value)
            elif name == "RedrivePolicy":
                changes["redrive_policy"] = None if value == "" else RedrivePolicy.parse(value)
            elif name in ("Policy", "RedriveAllowPolicy", "KmsMasterKeyId"):
                changes[_snake(name)] = value or None
                if name != "KmsMasterKeyId" and value:
                    _json_object(name, value)
            elif name in ("ContentBasedDeduplication", "SqsManagedSseEnabled"):
                changes[_snake(name)] = _boolean(name, value)
            elif name == "DeduplicationScope":
                changes["deduplication_scope"] = _choice(name, value, ("queue", "messageGroup"))
            elif name == "FifoThroughputLimit":
                changes["fifo_throughput_limit"] = _choice(name, value, ("perQueue", "perMessageGroupId"))
        result = replace(current, **changes)
        if result.kms_master_key_id and "SqsManagedSseEnabled" in attributes and result.sqs_managed_sse_enabled:
            raise InvalidAttributeName(
                "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or "
                "SQS SSE."
            )
        if result.kms_master_key_id and "KmsMasterKeyId" in attributes:
            result = replace(result, sqs_managed_sse_enabled=False)
        if result.fifo_throughput_limit == "perMessageGroupId" and result.deduplication_scope != "messageGroup":
            raise InvalidAttributeValue(
                "Invalid value for the parameter FifoThroughputLimit. Reason: perMessageGroupId is allowed only "
                "when DeduplicationScope is messageGroup."
            )
        return result

    def to_wire(self) -> dict[str, str]:
        """The settable attributes as GetQueueAttributes shows them (absent ones are not set)."""
        shown = {
            "DelaySeconds": str(self.delay_seconds),
            "MaximumMessageSize": str(self.maximum_message_size),
            "MessageRetentionPeriod": str(self.message_retention_period),
            "ReceiveMessageWaitTimeSeconds": str(self.receive_message_wait_time_seconds),
            "VisibilityTimeout": str(self.visibility_timeout),
            "SqsManagedSseEnabled": _bool_text(self.sqs_managed_sse_enabled),
        }
        if self.redrive_policy is not None:
            shown["RedrivePolicy"] = self.redrive_policy.to_json()
        if self.redrive_allow_policy:
            shown["RedriveAllowPolicy"] = self.redrive_allow_policy
        if self.policy:
            shown["Policy"] = self.policy
        if self.kms_master_key_id:
            shown["KmsMasterKeyId"] = self.kms_master_key_id
            shown["KmsDataKeyReusePeriodSeconds"] = str(self.kms_data_key_reuse_period_seconds)
        if self.fifo_queue:
            shown["FifoQueue"] = "true"
            shown["ContentBasedDeduplication"] = _bool_text(self.content_based_deduplication)
            shown["DeduplicationScope"] = self.deduplication_scope
            shown["FifoThroughputLimit"] = self.fifo_throughput_limit
        return shown

    def to_json(self) -> str:
        return json.dumps(self.to_wire(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> QueueAttributes:
        """The attributes `to_json` stored (parsed once per distinct text: every operation reads them)."""
        return _from_json(text)


@functools.lru_cache(maxsize=1024)
def _from_json(text: str) -> QueueAttributes:
    stored = json.loads(text)
    fifo = stored.pop("FifoQueue", "false") == "true"
    return QueueAttributes.parse(stored, fifo=fifo, creating=True)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return json.dumps(value)
    return str(value)


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _integer(name: str, value: str) -> int:
    low, high = _RANGES[name]
    text = value.strip()
    if not (text.isdigit() or (text.startswith("-") and text[1:].isdigit())) or not low <= int(text) <= high:
        # AWS's exact wording of range errors is not recorded anywhere we could check; the code is.
        raise InvalidAttributeValue(
            f"Invalid value for the parameter {name}. Reason: must be an integer from {low} to {high}."
        )
    return int(text)


def _boolean(name: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise InvalidAttributeValue(f"Invalid value for the parameter {name}. Reason: must be true or false.")
    return value.lower() == "true"


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidAttributeValue(
            f"Invalid value for the parameter {name}. Reason: must be one of {', '.join(allowed)}."
        )
    return value


def _json_object(name: str, value: str) -> None:
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise InvalidAttributeValue(f"Invalid value for the parameter {name}. Reason: it is not a JSON object.")


@dataclass(frozen=True)
class MessageAttributeValue:
    """A message attribute: DataType String, Number or Binary (optionally `.label`), and its value."""

    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None
    string_list_values: tuple[str, ...] = ()
    binary_list_values: tuple[bytes, ...] = ()

    @property
    def is_binary(self) -> bool:
        return self.data_type.split(".", 1)[0] == "Binary"

    def size(self) -> int:
        """Bytes counted toward the message size: DataType and value (the name is counted by the caller)."""
        value = self.binary_value if self.is_binary else (self.string_value or "").encode()
        return len(self.data_type.encode()) + len(value or b"")


@dataclass(frozen=True)
class Queue:
    """A queue: its name, ARN, URL path (`/ACCOUNT/NAME`), type and attributes."""

    name: str
    arn: str
    url_path: str
    fifo: bool
    attributes: QueueAttributes
    created: float  # epoch seconds
    last_modified: float
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SentMessage:
    """SendMessage's answer."""

    message_id: str
    md5_of_body: str
    md5_of_message_attributes: str | None = None
    md5_of_message_system_attributes: str | None = None
    sequence_number: str | None = None


@dataclass(frozen=True)
class ReceivedMessage:
    """A message as ReceiveMessage returns it: only the attributes that were asked for."""

    message_id: str
    receipt_handle: str
    body: str
    md5_of_body: str
    attributes: Mapping[str, str]
    message_attributes: Mapping[str, MessageAttributeValue]
    md5_of_message_attributes: str | None = None


@dataclass(frozen=True)
class SendMessageBatchEntry:
    """One entry of SendMessageBatch."""

    id: str
    body: str
    delay_seconds: int | None = None
    message_attributes: Mapping[str, MessageAttributeValue] | None = None
    system_attributes: Mapping[str, MessageAttributeValue] | None = None
    group_id: str | None = None
    deduplication_id: str | None = None


@dataclass(frozen=True)
class DeleteMessageBatchEntry:
    id: str
    receipt_handle: str


@dataclass(frozen=True)
class ChangeMessageVisibilityBatchEntry:
    id: str
    receipt_handle: str
    visibility_timeout: int


@dataclass(frozen=True)
class BatchResultErrorEntry:
    """A failed batch entry: its Id, AWS's query error code, message and who is at fault."""

    id: str
    code: str
    message: str
    sender_fault: bool = True


@dataclass(frozen=True)
class BatchResult:
    """A batch's answer. `successful` holds SentMessage (send) or the entry Id (delete, change visibility)."""

    successful: list[tuple[str, SentMessage | None]]
    failed: list[BatchResultErrorEntry]


@dataclass(frozen=True)
class QueueMetrics:
    """A queue's CloudWatch metrics (namespace AWS/SQS) now: the gauges, and the counters since creation."""

    queue_name: str
    approximate_number_of_messages_visible: int
    approximate_number_of_messages_not_visible: int
    approximate_number_of_messages_delayed: int
    approximate_age_of_oldest_message: float  # seconds
    number_of_messages_sent: int
    number_of_messages_received: int
    number_of_messages_deleted: int
    number_of_empty_receives: int
    sent_message_size: int  # bytes sent in all, over number_of_messages_sent messages

    def by_name(self) -> dict[str, float]:
        """The values under their AWS/SQS names."""
        return {
            "ApproximateNumberOfMessagesVisible": self.approximate_number_of_messages_visible,
            "ApproximateNumberOfMessagesNotVisible": self.approximate_number_of_messages_not_visible,
            "ApproximateNumberOfMessagesDelayed": self.approximate_number_of_messages_delayed,
            "ApproximateAgeOfOldestMessage": self.approximate_age_of_oldest_message,
            "NumberOfMessagesSent": self.number_of_messages_sent,
            "NumberOfMessagesReceived": self.number_of_messages_received,
            "NumberOfMessagesDeleted": self.number_of_messages_deleted,
            "NumberOfEmptyReceives": self.number_of_empty_receives,
            "SentMessageSize": self.sent_message_size,
        }
