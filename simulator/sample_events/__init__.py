"""Sample events of the services that invoke Lambda functions: `lsim generate-event SERVICE EVENT`.

Written by us from the shapes AWS documents for each trigger (each module links its page). Ids, ARNs, URLs,
timestamps and checksums are made fresh for each event, in the project's Region and account, so an event
looks like one AWS would send: an SQS body's md5OfBody is its MD5, Kinesis data is base64, an S3 key is
URL-encoded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import apigateway, dynamodb, eventbridge, kinesis, s3, sns, sqs
from ._common import Account


@dataclass(frozen=True)
class EventTemplate:
    service: str
    name: str
    summary: str
    build: Callable[..., dict[str, Any]]


TEMPLATES = [
    EventTemplate("apigateway", "aws-proxy", "a REST API request (payload 1.0)", apigateway.aws_proxy),
    EventTemplate("apigateway", "http-api-proxy", "an HTTP API request (payload 2.0)", apigateway.http_api_proxy),
    EventTemplate("sqs", "receive-message", "a batch of SQS messages", sqs.receive_message),
    EventTemplate("sns", "notification", "an SNS notification", sns.notification),
    EventTemplate("s3", "put", "an object created (ObjectCreated:Put)", s3.put),
    EventTemplate("s3", "delete", "an object deleted (ObjectRemoved:Delete)", s3.delete),
    EventTemplate("eventbridge", "event", "an event on an EventBridge bus", eventbridge.event),
    EventTemplate("dynamodb", "update", "a DynamoDB Streams record (MODIFY)", dynamodb.update),
    EventTemplate("kinesis", "get-records", "a batch of Kinesis records", kinesis.get_records),
    EventTemplate("cloudwatch", "scheduled-event", "a schedule rule's Scheduled Event", eventbridge.scheduled_event),
]  # fmt: skip
EVENTS = {(t.service, t.name): t for t in TEMPLATES}


def generate(service: str, event: str, account: Account | None = None, **options: Any) -> dict[str, Any]:
    """One event; `options` are the template's keyword arguments (body=, bucket=, ...)."""
    try:
        template = EVENTS[(service, event)]
    except KeyError:
        known = ", ".join(f"{s} {e}" for s, e in EVENTS)
        raise ValueError(f"no sample event {service} {event}: lsim has {known}") from None
    return template.build(account or Account(), **options)


__all__ = ["EVENTS", "TEMPLATES", "Account", "EventTemplate", "generate"]
