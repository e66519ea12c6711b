"""`AWS::SQS::Queue` resources: the queues lsim creates for a template, and what `!Ref` (the queue's URL)
and `!GetAtt Q.Arn` / `Q.QueueName` / `Q.QueueUrl` give. Without QueueName a queue is named after its
logical ID (CloudFormation would make `<stack>-<logicalId>-<random>`; a stable name is easier to use
locally), with `.fifo` for a FIFO queue. RedrivePolicy is an object or a JSON string, its target
usually `!GetAtt DLQ.Arn`."""

from __future__ import annotations

import json
from typing import Any

from ..cfn import Template, Unresolvable, YamlMap, text
from ..queues.declarations import QueueDeclaration
from .notes import Notes

SQS_QUEUE = "AWS::SQS::Queue"
#: CloudFormation's properties that are SQS attributes of the same name
ATTRIBUTE_PROPERTIES = frozenset(
    {"ContentBasedDeduplication", "DeduplicationScope", "DelaySeconds", "FifoQueue", "FifoThroughputLimit",
     "KmsDataKeyReusePeriodSeconds", "KmsMasterKeyId", "MaximumMessageSize", "MessageRetentionPeriod",
     "ReceiveMessageWaitTimeSeconds", "RedriveAllowPolicy", "RedrivePolicy", "SqsManagedSseEnabled",
     "VisibilityTimeout"}
)  # fmt: skip


def queue_name(template: Template, logical_id: str) -> str:
    properties = template.resources[logical_id].get("Properties")
    if isinstance(properties, YamlMap) and "QueueName" in properties:
        return template.resolve_text(properties["QueueName"], properties.line_of("QueueName"), "QueueName")
    fifo = isinstance(properties, YamlMap) and _is_true(template.resolve(properties.get("FifoQueue", False), 0))
    return f"{logical_id}.fifo" if fifo else logical_id


def queue_value(template: Template, logical_id: str, attribute: str | None, line: int) -> str:
    """`!Ref` (attribute None: the URL) or `!GetAtt` of a queue."""
    pseudo = template.pseudo
    name = queue_name(template, logical_id)
    region, account = pseudo["AWS::Region"], pseudo["AWS::AccountId"]
    if attribute is None or attribute == "QueueUrl":
        return f"https://sqs.{region}.{pseudo['AWS::URLSuffix']}/{account}/{name}"
    if attribute == "Arn":
        return f"arn:{pseudo['AWS::Partition']}:sqs:{region}:{account}:{name}"
    if attribute == "QueueName":
        return name
    raise Unresolvable(f"!GetAtt {logical_id}.{attribute} (AWS::SQS::Queue has Arn, QueueName and QueueUrl)", line)


def read_queue(template: Template, notes: Notes, logical_id: str, resource: YamlMap) -> QueueDeclaration:
    """The queue a resource declares; properties lsim does not use are said once and left out."""
    line = template.resources.line_of(logical_id)
    properties = resource.get("Properties") or YamlMap(line=line)
    if not isinstance(properties, YamlMap):
        raise notes.error(line, f"Resources.{logical_id}.Properties must be a mapping")
    attributes: dict[str, str] = {}
    tags: dict[str, str] = {}
    for key in properties:
        key_line = properties.line_of(key)
        if key == "QueueName":
            continue
        value = template.resolve(properties[key], key_line)
        if key == "Tags":
            tags = _tags(value, notes, key_line, logical_id)
        elif key in ATTRIBUTE_PROPERTIES:
            if key == "FifoQueue" and not _is_true(value):
                continue
            attributes[key] = _attribute_text(value)
        else:
            notes.unsupported(key_line, f"Resources.{logical_id}.Properties.{key}")
    return QueueDeclaration(
        queue_name(template, logical_id), attributes, tags, f"{notes.source}:{line}: Resources.{logical_id}.Properties"
    )


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):  # RedrivePolicy / RedriveAllowPolicy as an object
        return json.dumps({k: v if isinstance(v, (int, float, bool)) else text(v) for k, v in value.items()},
                          separators=(",", ":"))  # fmt: skip
    return text(value)


def _tags(value: Any, notes: Notes, line: int, logical_id: str) -> dict[str, str]:
    if not isinstance(value, list) or not all(isinstance(t, dict) and "Key" in t for t in value):
        raise notes.error(line, f"Resources.{logical_id}.Properties.Tags: give a list of {{Key: ..., Value: ...}}")
    return {text(t["Key"]): text(t.get("Value", "")) for t in value}
