"""An SQS event source mapping's batch. https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html"""

from __future__ import annotations

import hashlib
from typing import Any

from ..mappings.sqs_event import record
from ..queues.models import MessageAttributeValue
from ..queues.validation import md5_of_attributes
from ._common import IAM_ID, Account, digits, random_base64, request_id, token


def receive_message(
    account: Account,
    *,
    bodies: list[str] | None = None,
    queue_name: str = "my-queue",
    attributes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One record per body. A FIFO queue (a name ending in .fifo) adds the group, deduplication id and
    sequence number its records carry."""
    sender = "AIDA" + token(17, IAM_ID)
    records = []
    for index, body in enumerate(bodies or ["Hello from SQS!"]):
        sent = account.epoch_ms + index
        record_attributes = {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(sent),
            "SenderId": sender,
            "ApproximateFirstReceiveTimestamp": str(sent + 2),
        }
        if queue_name.endswith(".fifo"):
            record_attributes |= {
                "SequenceNumber": digits(20),
                "MessageGroupId": "1",
                "MessageDeduplicationId": hashlib.sha256(body.encode()).hexdigest(),
            }
        message_attributes = {
            name: MessageAttributeValue("String", string_value=value) for name, value in (attributes or {}).items()
        }
        records.append(
            record(
                message_id=request_id(),
                receipt_handle="AQEB" + random_base64(120),
                body=body,
                attributes=record_attributes,
                message_attributes=message_attributes,
                md5_of_message_attributes=md5_of_attributes(message_attributes),
                md5_of_body=hashlib.md5(body.encode()).hexdigest(),  # SQS checks a body with MD5
                event_source_arn=account.arn("sqs", queue_name),
                region=account.region,
            )
        )
    return {"Records": records}
