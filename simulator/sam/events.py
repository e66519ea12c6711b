"""A template's SQS event source mappings, read into a function's `events` (mappings/declarations.py):

- a SAM function's `Events: NAME: Type: SQS` (Queue, BatchSize, Enabled, FilterCriteria, FunctionResponseTypes,
  MaximumBatchingWindowInSeconds, ScalingConfig). SAM's transform makes an AWS::Lambda::EventSourceMapping of
  it that invokes the AutoPublishAlias when the function has one, and copies only the properties given
  (aws-sam-translator model/eventsources/pull.py);
- an `AWS::Lambda::EventSourceMapping` resource whose FunctionName is a function of the template
  (`!Ref F`, `!GetAtt F.Arn`, its name, or name:alias) and whose EventSourceArn is a queue's ARN.
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-sqs.html
"""

from __future__ import annotations

import json
from typing import Any

from ..cfn import Template, text
from .notes import Notes

MAPPING_TYPE = "AWS::Lambda::EventSourceMapping"
#: SAM's SQS event properties (and AWS::Lambda::EventSourceMapping's) -> the declaration's keys
SETTINGS = {
    "BatchSize": "batch_size",
    "MaximumBatchingWindowInSeconds": "maximum_batching_window_in_seconds",
    "FunctionResponseTypes": "function_response_types",
    "Enabled": "enabled",
}
#: properties lsim reads elsewhere or that need nothing from lsim
READ = {"Queue", "EventSourceArn", "FunctionName", "FilterCriteria", "ScalingConfig", *SETTINGS}


def sqs_event(
    template: Template, notes: Notes, properties: Any, line: int, path: str, qualifier: str | None
) -> dict[str, Any]:
    """The declaration of one SQS event (its Properties); `qualifier` is the function's AutoPublishAlias."""
    properties = template.resolve(properties, line) if properties is not None else {}
    if not isinstance(properties, dict):
        raise notes.error(line, f"{path}.Properties must be a mapping")
    source = properties.get("Queue", properties.get("EventSourceArn"))
    if source is None:
        raise notes.error(line, f"{path}.Properties: give the queue's ARN in Queue (e.g. !GetAtt MyQueue.Arn)")
    arn = text(source)
    if not arn.startswith("arn:") or ":sqs:" not in arn:
        raise notes.error(line, f"{path}: {arn} is not an SQS queue's ARN: lsim runs mappings from SQS queues")
    fields: dict[str, Any] = {"type": "sqs", "queue": arn, "declared_at": f"{notes.source}:{line} {path}"}
    if qualifier:
        fields["qualifier"] = qualifier
    for member, key in SETTINGS.items():
        if member in properties:
            fields[key] = _value(properties[member], key)
    criteria = properties.get("FilterCriteria")
    if isinstance(criteria, dict):
        fields["filters"] = [
            item.get("Pattern") if isinstance(item.get("Pattern"), str) else json.dumps(item.get("Pattern"))
            for item in criteria.get("Filters") or []
            if isinstance(item, dict)
        ]
    scaling = properties.get("ScalingConfig")
    if isinstance(scaling, dict) and scaling.get("MaximumConcurrency") is not None:
        fields["maximum_concurrency"] = _value(scaling["MaximumConcurrency"], "maximum_concurrency")
    for member in properties:
        if member not in READ:
            notes.unsupported(line, f"{path}.Properties.{member}")
    return fields


def _value(value: Any, key: str) -> Any:
    """CloudFormation passes numbers and booleans as given, or as strings of them."""
    if key == "enabled":
        return value if isinstance(value, bool) else text(value).lower() == "true"
    if key == "function_response_types":
        return [text(item) for item in value] if isinstance(value, list) else value
    try:
        return int(text(value))
    except ValueError:
        return value  # the declaration's validation names it


def mapping_target(template: Template, function_name: Any, line: int) -> tuple[str, str | None]:
    """(a function's logical id or name, qualifier) of an AWS::Lambda::EventSourceMapping's FunctionName."""
    if isinstance(function_name, dict) and len(function_name) == 1:
        ((key, argument),) = function_name.items()
        if key == "Ref" and isinstance(argument, str):
            return _alias(template, argument)
        if key == "Fn::GetAtt" and isinstance(argument, list) and argument and isinstance(argument[0], str):
            return argument[0], None
    name = template.resolve_text(function_name, line, "FunctionName").rsplit(":function:", 1)[-1]
    base, _, qualifier = name.partition(":")
    return base, qualifier or None


def _alias(template: Template, logical_id: str) -> tuple[str, str | None]:
    """`!Ref` of an AWS::Lambda::Alias names its function and alias; of a function, the function."""
    resource = template.resources.get(logical_id)
    if isinstance(resource, dict) and resource.get("Type") == "AWS::Lambda::Alias":
        properties = resource.get("Properties") or {}
        target = properties.get("FunctionName")
        if isinstance(target, dict) and "Ref" in target:
            return str(target["Ref"]), text(properties.get("Name"))
    return logical_id, None
