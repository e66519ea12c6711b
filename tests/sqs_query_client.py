"""A boto3 SQS client that speaks the query protocol, as botocore did up to 1.31.80 (and older SDKs still do).

Current botocore only ships SQS's JSON model. Its query model differed in the protocol and in how lists and
maps are flattened and named (`locationName`, `flattened`, each operation's `resultWrapper`); this rewrites the
installed model so, following the names the last query model used (botocore 1.31.80's sqs/2012-11-05/service-2.json:
`Attribute.N.Name`, `MessageAttribute.N.Value.DataType`, `SendMessageBatchRequestEntry.N.Id`, XML results
`<QueueUrl>`, `<Message>`, `<Attribute>`, `<BatchResultErrorEntry>`...). botocore's own QuerySerializer and
QueryParser then write the requests and read the XML answers.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

# shape -> the locationName of its items (flattened lists and maps), and map key/value names
_LIST_ITEMS = {
    "AttributeNameList": "AttributeName",
    "MessageSystemAttributeList": "MessageSystemAttributeName",
    "MessageAttributeNameList": "MessageAttributeName",
    "QueueUrlList": "QueueUrl",
    "MessageList": "Message",
    "StringList": "StringListValue",
    "BinaryList": "BinaryListValue",
    "SendMessageBatchRequestEntryList": "SendMessageBatchRequestEntry",
    "SendMessageBatchResultEntryList": "SendMessageBatchResultEntry",
    "DeleteMessageBatchRequestEntryList": "DeleteMessageBatchRequestEntry",
    "DeleteMessageBatchResultEntryList": "DeleteMessageBatchResultEntry",
    "ChangeMessageVisibilityBatchRequestEntryList": "ChangeMessageVisibilityBatchRequestEntry",
    "ChangeMessageVisibilityBatchResultEntryList": "ChangeMessageVisibilityBatchResultEntry",
    "BatchResultErrorEntryList": "BatchResultErrorEntry",
}
_MAPS = {  # shape -> (its locationName, key name, value name)
    "QueueAttributeMap": ("Attribute", "Name", "Value"),
    "TagMap": ("Tag", "Key", "Value"),
    "MessageBodyAttributeMap": ("MessageAttribute", "Name", "Value"),
    "MessageBodySystemAttributeMap": ("MessageSystemAttribute", "Name", "Value"),
    "MessageSystemAttributeMap": ("Attribute", "Name", "Value"),
}


def query_model() -> dict[str, Any]:
    loader = botocore.session.get_session().get_component("data_loader")
    model = copy.deepcopy(loader.load_service_model("sqs", "service-2"))
    metadata = model["metadata"]
    metadata.update(protocol="query", protocols=["query"], xmlNamespace="http://queue.amazonaws.com/doc/2012-11-05/")
    for key in ("jsonVersion", "targetPrefix", "awsQueryCompatible"):
        metadata.pop(key, None)
    shapes = model["shapes"]
    for name, item in _LIST_ITEMS.items():
        shape = shapes.get(name)
        if shape is not None and shape["type"] == "list":
            shape["flattened"] = True
            shape["member"]["locationName"] = item
    for name, (location, key, value) in _MAPS.items():
        shape = shapes.get(name)
        if shape is not None:
            shape.update(flattened=True, locationName=location)
            shape["key"]["locationName"] = key
            shape["value"]["locationName"] = value
    for shape in shapes.values():  # a member of a flattened shape is named as the shape's items are
        for member in shape.get("members", {}).values():
            target = member["shape"]
            if target in _MAPS:
                member["locationName"] = _MAPS[target][0]
            elif target in _LIST_ITEMS and shapes[target]["type"] == "list":
                member["locationName"] = _LIST_ITEMS[target]
    for operation, spec in model["operations"].items():
        if "output" in spec:
            spec["output"]["resultWrapper"] = f"{operation}Result"
    return model


def query_client(folder: Path, endpoint_url: str, region: str = "us-east-1") -> Any:
    """boto3's `sqs` client on the query protocol (its model written under `folder`)."""
    target = folder / "sqs" / "2012-11-05"
    target.mkdir(parents=True, exist_ok=True)
    (target / "service-2.json").write_text(json.dumps(query_model()))
    session = botocore.session.get_session()
    session.get_component("data_loader").search_paths.insert(0, str(folder))
    return boto3.Session(botocore_session=session).client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="anything",
        aws_secret_access_key="anything",
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )
