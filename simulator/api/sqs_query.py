"""SQS's query protocol, the one SDKs older than November 2023 speak: form-encoded parameters in, XML out.

A request is `Action=<Operation>&Version=2012-11-05&...` (a POST body or a GET query string), its lists and
maps flattened with 1-based indexes, as botocore's last query model of SQS (1.31.80) names them:
`Attribute.N.Name`/`.Value`, `Tag.N.Key`/`.Value`, `AttributeName.N`, `MessageAttributeName.N`,
`MessageAttribute.N.Name` with `.Value.DataType`/`.StringValue`/`.BinaryValue` (base64)/`.StringListValue.M`,
`MessageSystemAttribute.N...`, and batch entries `SendMessageBatchRequestEntry.N.<member>`.
`parse_parameters` turns them into the members the JSON protocol sends, so one set of operations serves
both. `render_result` writes an operation's JSON-shaped output as AWS's XML: `<OpResponse><OpResult>...
</OpResult><ResponseMetadata><RequestId>`, every list and map flattened (no wrapper element), in AWS's
namespace; `render_error` writes `<ErrorResponse>` (SQS developer guide, "Interpreting Amazon SQS XML API
responses").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from xml.sax.saxutils import escape

from ..queues.errors import InvalidParameterValue
from ..sqs_operations import INTEGER_MEMBERS

XML_NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/"

# JSON member -> the query protocol's name of one of its items (flattened lists and maps)
_ITEM_NAMES = {
    "Attributes": "Attribute",
    "tags": "Tag",
    "AttributeNames": "AttributeName",
    "MessageSystemAttributeNames": "MessageSystemAttributeName",
    "MessageAttributeNames": "MessageAttributeName",
    "MessageAttributes": "MessageAttribute",
    "MessageSystemAttributes": "MessageSystemAttribute",
    "StringListValues": "StringListValue",
    "BinaryListValues": "BinaryListValue",
    "QueueUrls": "QueueUrl",
    "Messages": "Message",
    "Failed": "BatchResultErrorEntry",
}
_ENTRY_NAMES = {
    "SendMessageBatch": "SendMessageBatchRequestEntry",
    "DeleteMessageBatch": "DeleteMessageBatchRequestEntry",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibilityBatchRequestEntry",
}
_STRING_MAPS = {"Attributes": ("Name", "Value"), "tags": ("Key", "Value")}
_STRING_LISTS = ("AttributeNames", "MessageSystemAttributeNames", "MessageAttributeNames")
_MESSAGE_ATTRIBUTE_MAPS = ("MessageAttributes", "MessageSystemAttributes")

Node = dict[str, Any]


def _tree(parameters: Iterable[tuple[str, str]]) -> Node:
    """`A.1.B=x` -> {"A": {"1": {"B": "x"}}}. A name given twice keeps its first value (a value and a
    subtree under one name keep the subtree)."""
    root: Node = {}
    for name, value in parameters:
        node = root
        *path, last = name.split(".")
        for part in path:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node.setdefault(last, value)
    return root


def _indexed(node: Any, parameter: str) -> list[Any]:
    """The items of a flattened list, in the order of their indexes (1, 2, ...)."""
    if not isinstance(node, dict):
        return []
    items: list[tuple[int, Any]] = []
    for index, item in node.items():
        if not index.isdigit() or int(index) < 1:
            raise InvalidParameterValue(
                f"Value {parameter}.{index} for parameter {parameter} is invalid. Reason: the index of a list "
                f"item must be a whole number from 1."
            )
        items.append((int(index), item))
    return [item for _, item in sorted(items)]


def _text(node: Any) -> str | None:
    return node if isinstance(node, str) else None


def _string_list(node: Any, parameter: str) -> list[str]:
    return [item for item in _indexed(node, parameter) if isinstance(item, str)]


def _string_map(node: Any, parameter: str, key: str, value: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in _indexed(node, parameter):
        if isinstance(item, dict) and isinstance(item.get(key), str):
            result[item[key]] = _text(item.get(value)) or ""
    return result


def _message_attribute_map(node: Any, parameter: str) -> dict[str, dict[str, Any]]:
    """`MessageAttribute.N.Name` and `.Value.{DataType,StringValue,BinaryValue,StringListValue.M,...}` ->
    the JSON protocol's {name: {DataType, StringValue, BinaryValue (base64), ...}}."""
    result: dict[str, dict[str, Any]] = {}
    for item in _indexed(node, parameter):
        if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
            continue
        raw = item.get("Value")
        value: dict[str, Any] = {}
        if isinstance(raw, dict):
            for member in ("DataType", "StringValue", "BinaryValue"):
                if isinstance(raw.get(member), str):
                    value[member] = raw[member]
            for member in ("StringListValues", "BinaryListValues"):
                items = _string_list(raw.get(_ITEM_NAMES[member]), _ITEM_NAMES[member])
                if items:
                    value[member] = items
        result[item["Name"]] = value
    return result


def _members(node: Node, operation: str) -> dict[str, Any]:
    """One structure's members (the request, or a batch entry) from its subtree."""
    members: dict[str, Any] = {}
    for member, (key, value) in _STRING_MAPS.items():
        name = _ITEM_NAMES[member]
        if name in node:
            members[member] = _string_map(node[name], name, key, value)
    for member in _STRING_LISTS:
        name = _ITEM_NAMES[member]
        if name in node:
            members[member] = _string_list(node[name], name)
    for member in _MESSAGE_ATTRIBUTE_MAPS:
        name = _ITEM_NAMES[member]
        if name in node:
            members[member] = _message_attribute_map(node[name], name)
    entry_name = _ENTRY_NAMES.get(operation)
    if entry_name is not None and entry_name in node:
        members["Entries"] = [
            _members(entry, "") if isinstance(entry, dict) else {} for entry in _indexed(node[entry_name], entry_name)
        ]
    taken = {_ITEM_NAMES[m] for m in (*_STRING_MAPS, *_STRING_LISTS, *_MESSAGE_ATTRIBUTE_MAPS)} | {entry_name}
    for name, value in node.items():
        if name in taken or not isinstance(value, str):
            continue
        members[name] = _integer(name, value) if name in INTEGER_MEMBERS else value
    return members


def _integer(name: str, value: str) -> int | str:
    text = value.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    raise InvalidParameterValue(f"Value {value} for parameter {name} is invalid. Reason: it is not an integer.")


def parse_parameters(parameters: Iterable[tuple[str, str]]) -> tuple[str | None, dict[str, Any]]:
    """The Action and the members of a query request (its decoded name=value pairs, form body and query
    string together)."""
    pairs = list(parameters)
    action = next((value for name, value in pairs if name == "Action"), None)
    node = _tree((name, value) for name, value in pairs if name not in ("Action", "Version"))
    return action, _members(node, action or "")


# -- answers ----------------------------------------------------------------------------------------------
def _escape(text: str) -> str:
    """XML text; a carriage return as a character reference, which XML parsers would otherwise turn into a
    line feed, changing the message body."""
    return escape(text, {"\r": "&#xD;"})


def _element(name: str, value: Any, out: list[str]) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        out.append(f"<{name}>{'true' if value else 'false'}</{name}>")
    elif isinstance(value, dict):
        out.append(f"<{name}>")
        _structure(value, out)
        out.append(f"</{name}>")
    else:
        out.append(f"<{name}>{_escape(str(value))}</{name}>")


def _structure(shape: Mapping[str, Any], out: list[str], entry_name: str | None = None) -> None:
    for member, value in shape.items():
        if member in ("Attributes", "MessageAttributes") and isinstance(value, Mapping):
            item = _ITEM_NAMES[member]
            for key, entry in value.items():
                out.append(f"<{item}><Name>{_escape(key)}</Name>")
                _element("Value", entry, out)
                out.append(f"</{item}>")
        elif isinstance(value, list):
            item = entry_name if member == "Successful" and entry_name else _ITEM_NAMES.get(member, member)
            for entry in value:
                _element(item, entry, out)
        else:
            _element(member, value, out)


def render_result(operation: str, output: Mapping[str, Any] | None, request_id: str) -> bytes:
    """`<OpResponse>` with `<OpResult>` (none for operations without output) and the request id."""
    out = ['<?xml version="1.0"?>', f'<{operation}Response xmlns="{XML_NAMESPACE}">']
    if output is not None:
        if output:
            out.append(f"<{operation}Result>")
            _structure(output, out, entry_name=f"{operation}ResultEntry")
            out.append(f"</{operation}Result>")
        else:
            out.append(f"<{operation}Result/>")
    out.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>")
    return "".join(out).encode()


def render_error(code: str, message: str, sender_fault: bool, request_id: str) -> bytes:
    return (
        f'<?xml version="1.0"?><ErrorResponse xmlns="{XML_NAMESPACE}"><Error>'
        f"<Type>{'Sender' if sender_fault else 'Receiver'}</Type><Code>{_escape(code)}</Code>"
        f"<Message>{_escape(message)}</Message><Detail/></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
