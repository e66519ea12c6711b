"""SQS's rules for names, ids, message bodies and message attributes, and the checksums SQS returns.

Rules: botocore's SQS model docs (QueueName, MessageGroupId, MessageDeduplicationId, MessageAttributeNames,
batch entry Id) and the SQS quotas page. Messages were recorded against AWS where the facts say so; the
others are marked. MD5s follow the algorithm every AWS SDK checks (attribute names sorted; each of name,
DataType and value prefixed by its 4-byte big-endian length; a transport byte 1 for strings, 2 for binary),
which reproduces the digests recorded against AWS (tests/test_queues_models.py).
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping

from .errors import (
    InvalidBatchEntryId,
    InvalidMessageContents,
    InvalidParameterValue,
    MissingParameter,
)
from .models import (
    MAX_MESSAGE_ATTRIBUTES,
    MAX_RECEIVE_MESSAGES,
    MAX_VISIBILITY_TIMEOUT_S,
    MessageAttributeValue,
)

QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
BATCH_ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
# 1-128 alphanumeric and punctuation characters
GROUP_OR_DEDUP_ID = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]{1,128}")
ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")
DATA_TYPE = re.compile(r"(String|Number|Binary)(\.[A-Za-z0-9_.-]{1,250})?")
# XML 1.0's characters: what a message may hold
_INVALID_CHARACTER = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def check_queue_name(name: str, *, fifo: bool) -> None:
    """1-80 of `[A-Za-z0-9_-]`; a FIFO queue's name ends in `.fifo` (counted in the 80), only a FIFO's does.
    AWS's exact text for these is not recorded; the code (InvalidParameterValue) is."""
    base = name[: -len(".fifo")] if name.endswith(".fifo") else name
    if len(name) > 80 or not QUEUE_NAME.fullmatch(base):
        raise InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )
    if name.endswith(".fifo") and not fifo:
        raise InvalidParameterValue(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end "
            "with .fifo suffix and be 1 to 80 in length. Set the FifoQueue attribute to true to create a FIFO queue."
        )
    if fifo and not name.endswith(".fifo"):
        raise InvalidParameterValue(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end "
            "with .fifo suffix and be 1 to 80 in length."
        )


def check_body(body: str | None) -> None:
    if not body:
        raise MissingParameter("The request must contain the parameter MessageBody.")
    if _INVALID_CHARACTER.search(body):
        # AWS's wording (not recorded): it lists the allowed ranges
        raise InvalidMessageContents(
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | "
            "#xE000 to #xFFFD | #x10000 to #x10FFFF"
        )


def check_group_or_dedup_id(parameter: str, value: str) -> None:
    """MessageGroupId or MessageDeduplicationId: 1-128 alphanumerics and punctuation (recorded text)."""
    if not GROUP_OR_DEDUP_ID.fullmatch(value):
        raise InvalidParameterValue(
            f"Value {value} for parameter {parameter} is invalid. Reason: {parameter} can only include alphanumeric "
            "and punctuation characters. 1 to 128 in length."
        )


def check_batch_entry_id(entry_id: str) -> None:
    if not BATCH_ENTRY_ID.fullmatch(entry_id or ""):
        raise InvalidBatchEntryId(
            "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most "
            "80 letters long."
        )


def valid_attribute_name(name: str) -> bool:
    """Alphanumerics, `_`, `-`, `.`; no `AWS.`/`Amazon.` prefix in any case; no leading, trailing or double dot."""
    lowered = name.lower()
    return bool(
        ATTRIBUTE_NAME.fullmatch(name)
        and not lowered.startswith(("aws.", "amazon."))
        and not name.startswith(".")
        and not name.endswith(".")
        and ".." not in name
    )


def check_message_attributes(attributes: Mapping[str, MessageAttributeValue], *, system: bool = False) -> None:
    """A message's attributes: at most 10, well-named, typed, with a non-empty value of their type."""
    kind = "system" if system else "user"
    if len(attributes) > MAX_MESSAGE_ATTRIBUTES:
        raise InvalidParameterValue(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum [{MAX_MESSAGE_ATTRIBUTES}]."
        )
    for name, value in attributes.items():
        if system:
            if name != "AWSTraceHeader":
                raise InvalidParameterValue(f"Message system attribute name '{name}' is invalid.")
        elif not valid_attribute_name(name):
            raise InvalidParameterValue(f"Message ({kind}) attribute name '{name}' is invalid.")
        if not DATA_TYPE.fullmatch(value.data_type or ""):
            raise InvalidParameterValue(
                f"The message ({kind}) attribute '{name}' has an invalid message attribute type, the set of supported "
                "type prefixes is Binary, Number, and String."
            )
        base = value.data_type.split(".", 1)[0]
        if base == "Binary":
            if not value.binary_value:
                raise InvalidParameterValue(
                    f"Message ({kind}) attribute '{name}' must contain a non-empty value of type 'Binary'."
                )
            continue
        if not value.string_value:
            raise InvalidParameterValue(
                f"Message ({kind}) attribute '{name}' must contain a non-empty value of type '{base}'."
            )
        if _INVALID_CHARACTER.search(value.string_value):
            raise InvalidParameterValue(f"Message ({kind}) attribute '{name}' contains invalid characters.")
        if base == "Number" and not _is_number(value.string_value):
            raise InvalidParameterValue(f"Could not cast message attribute '{name}' value to number.")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text and text.lower() not in ("nan", "inf", "-inf", "+inf", "infinity")


def message_size(body: str, attributes: Mapping[str, MessageAttributeValue] | None) -> int:
    """Bytes SQS counts against MaximumMessageSize: the body, and each attribute's name, DataType and value."""
    size = len(body.encode())
    for name, value in (attributes or {}).items():
        size += len(name.encode()) + value.size()
    return size


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()


def md5_of_attributes(attributes: Mapping[str, MessageAttributeValue] | None) -> str | None:
    """MD5OfMessageAttributes (and MD5OfMessageSystemAttributes), None when there are none."""
    if not attributes:
        return None
    buffer = bytearray()
    for name in sorted(attributes):
        value = attributes[name]
        _add(buffer, name.encode())
        _add(buffer, value.data_type.encode())
        if value.string_value is not None and not value.is_binary:
            buffer.append(1)
            _add(buffer, value.string_value.encode())
        elif value.binary_value is not None:
            buffer.append(2)
            _add(buffer, value.binary_value)
        elif value.string_list_values:  # reserved by AWS; the SDKs' checksum code uses 3 and 4
            buffer.append(3)
            for item in value.string_list_values:
                _add(buffer, item.encode())
        elif value.binary_list_values:
            buffer.append(4)
            for blob in value.binary_list_values:
                _add(buffer, blob)
    return hashlib.md5(bytes(buffer), usedforsecurity=False).hexdigest()


def _add(buffer: bytearray, data: bytes) -> None:
    buffer += struct.pack(">I", len(data))
    buffer += data


def select_attributes(
    attributes: Mapping[str, MessageAttributeValue], names: tuple[str, ...] | list[str]
) -> dict[str, MessageAttributeValue]:
    """ReceiveMessage's MessageAttributeNames: `All`, `*` or `.*` for all, `Prefix.*` for a prefix, else exact."""
    if not names:
        return {}
    chosen: dict[str, MessageAttributeValue] = {}
    for wanted in names:
        if wanted in ("All", "*", ".*"):
            return dict(attributes)
        if wanted.endswith(".*"):
            prefix = wanted[:-2]
            chosen.update({k: v for k, v in attributes.items() if k.startswith(prefix)})
        elif wanted in attributes:
            chosen[wanted] = attributes[wanted]
    return {k: chosen[k] for k in attributes if k in chosen}


def check_receive(max_messages: int, visibility_timeout: int | None, attempt_id: str | None) -> None:
    if (
        isinstance(max_messages, bool)
        or not isinstance(max_messages, int)
        or not 1 <= max_messages <= MAX_RECEIVE_MESSAGES
    ):
        raise InvalidParameterValue(
            f"Value {max_messages} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and "
            f"{MAX_RECEIVE_MESSAGES}, if provided."
        )
    if visibility_timeout is not None and (
        isinstance(visibility_timeout, bool)
        or not isinstance(visibility_timeout, int)
        or not 0 <= visibility_timeout <= MAX_VISIBILITY_TIMEOUT_S
    ):
        raise InvalidParameterValue(
            f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= "
            f"{MAX_VISIBILITY_TIMEOUT_S}, if provided."
        )  # the Reason's wording follows WaitTimeSeconds' recorded one
    if attempt_id is not None and not GROUP_OR_DEDUP_ID.fullmatch(attempt_id):
        raise InvalidParameterValue(
            f"Value {attempt_id} for parameter ReceiveRequestAttemptId is invalid. Reason: ReceiveRequestAttemptId "
            "can only include alphanumeric and punctuation characters. 1 to 128 in length."
        )
