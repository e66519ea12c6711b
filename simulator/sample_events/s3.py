"""S3 event notifications: an object created by PUT, an object deleted.

https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
The object key is URL-encoded in the event (a space arrives as '+'), as S3 sends it.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote_plus

from ._common import IAM_ID, Account, random_base64, token

HEX = "0123456789ABCDEF"


def _record(account: Account, event_name: str, bucket: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": account.region,
        "eventTime": account.iso(millis=True),
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDA" + token(17, IAM_ID)},
        "requestParameters": {"sourceIPAddress": "203.0.113.10"},
        "responseElements": {"x-amz-request-id": token(16, HEX), "x-amz-id-2": random_base64(48)},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "lsim-notification",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": token(14, IAM_ID)},
                "arn": account.arn("s3", bucket, region=False, account=False),
            },
            "object": obj,
        },
    }


def put(account: Account, *, bucket: str = "example-bucket", key: str = "test/key", size: int = 1024) -> dict[str, Any]:
    etag = hashlib.md5(f"{bucket}/{key}/{size}".encode()).hexdigest()  # an S3 ETag is the MD5 of the object
    obj = {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag, "sequencer": token(18, HEX)}
    return {"Records": [_record(account, "ObjectCreated:Put", bucket, obj)]}


def delete(account: Account, *, bucket: str = "example-bucket", key: str = "test/key") -> dict[str, Any]:
    obj = {"key": quote_plus(key, safe="/"), "sequencer": token(18, HEX)}
    return {"Records": [_record(account, "ObjectRemoved:Delete", bucket, obj)]}
