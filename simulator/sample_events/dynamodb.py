"""A DynamoDB Streams record batch. https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html

Items are given as plain JSON and written in DynamoDB's attribute-value form ({"S": ..}, {"N": ..}, ...),
as the stream carries them.
"""

from __future__ import annotations

import json
from typing import Any

from ._common import Account, digits, token

VIEW_TYPES = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY")


def attribute_value(value: Any) -> dict[str, Any]:
    """A JSON value as a DynamoDB AttributeValue."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, int | float):
        return {"N": json.dumps(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list):
        return {"L": [attribute_value(item) for item in value]}
    if isinstance(value, dict):
        return {"M": item(value)}
    raise ValueError(f"{value!r} cannot be written as a DynamoDB attribute value")


def item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: attribute_value(value) for name, value in values.items()}


def update(
    account: Account,
    *,
    table_name: str = "my-table",
    keys: dict[str, Any] | None = None,
    new_image: dict[str, Any] | None = None,
    old_image: dict[str, Any] | None = None,
    event_name: str = "MODIFY",
) -> dict[str, Any]:
    """MODIFY by default; INSERT carries no OldImage, REMOVE no NewImage."""
    if event_name not in ("INSERT", "MODIFY", "REMOVE"):
        raise ValueError(f"event name {event_name!r}: use INSERT, MODIFY or REMOVE")
    keys = keys if keys is not None else {"Id": 101}
    new = {**keys, "Message": "This item has changed"} if new_image is None else {**keys, **new_image}
    old = {**keys, "Message": "New item!"} if old_image is None else {**keys, **old_image}
    record: dict[str, Any] = {
        "ApproximateCreationDateTime": int(account.now.timestamp()),
        "Keys": item(keys),
    }
    if event_name != "REMOVE":
        record["NewImage"] = item(new)
    if event_name != "INSERT":
        record["OldImage"] = item(old)
    size = len(json.dumps({k: v for k, v in record.items() if k != "ApproximateCreationDateTime"}))
    record |= {"SequenceNumber": digits(21), "SizeBytes": size, "StreamViewType": VIEW_TYPES[0]}
    stream_label = account.now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{account.now.microsecond // 1000:03d}"
    return {
        "Records": [
            {
                "eventID": token(32, "0123456789abcdef"),
                "eventName": event_name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": account.region,
                "dynamodb": record,
                "eventSourceARN": account.arn("dynamodb", f"table/{table_name}/stream/{stream_label}"),
            }
        ]
    }
