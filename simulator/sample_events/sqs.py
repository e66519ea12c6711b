"""An SQS event source mapping's batch. https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html"""

from __future__ import annotations

import hashlib
from typing import Any

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
        records.append(
            {
                "messageId": request_id(),
                "receiptHandle": "AQEB" + random_base64(120),
                "body": body,
                "attributes": record_attributes,
                "messageAttributes": {
                    name: {
                        "stringValue": value,
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": "String",
                    }
                    for name, value in (attributes or {}).items()
                },
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # SQS checks a body with MD5
                "eventSource": "aws:sqs",
                "eventSourceARN": account.arn("sqs", queue_name),
                "awsRegion": account.region,
            }
        )
    return {"Records": records}
