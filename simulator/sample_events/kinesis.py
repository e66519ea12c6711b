"""A Kinesis Data Streams record batch. https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html

Each record's data is base64, as Kinesis delivers it; the handler decodes it.
"""

from __future__ import annotations

import base64
from typing import Any

from ._common import Account, digits


def get_records(
    account: Account,
    *,
    data: list[str] | None = None,
    stream_name: str = "my-stream",
    partition_key: str = "1",
) -> dict[str, Any]:
    """One record per data string, with rising sequence numbers on one shard."""
    shard = "shardId-000000000000"
    first = int(digits(56))
    records = []
    for index, text in enumerate(data or ["Hello, this is a test."]):
        sequence = str(first + index)
        records.append(
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": partition_key,
                    "sequenceNumber": sequence,
                    "data": base64.b64encode(text.encode()).decode(),
                    "approximateArrivalTimestamp": round(account.now.timestamp() + index / 1000, 3),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{shard}:{sequence}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": account.arn("iam", "role/lambda-kinesis-role", region=False),
                "awsRegion": account.region,
                "eventSourceARN": account.arn("kinesis", f"stream/{stream_name}"),
            }
        )
    return {"Records": records}
