"""Reads each kind of event the way a real handler does, and returns what it found."""

import base64
import json
from urllib.parse import unquote_plus


def handler(event, context):
    if "Records" in event:
        record = event["Records"][0]
        source = record.get("eventSource") or record.get("EventSource")
        if source == "aws:sqs":
            return {"kind": "sqs", "bodies": [r["body"] for r in event["Records"]], "queue": record["eventSourceARN"]}
        if source == "aws:sns":
            return {"kind": "sns", "message": record["Sns"]["Message"], "topic": record["Sns"]["TopicArn"]}
        if source == "aws:s3":
            s3 = record["s3"]
            return {
                "kind": "s3",
                "event": record["eventName"],
                "bucket": s3["bucket"]["name"],
                "key": unquote_plus(s3["object"]["key"]),
                "size": s3["object"].get("size"),
            }
        if source == "aws:dynamodb":
            image = record["dynamodb"]["NewImage"]
            return {"kind": "dynamodb", "event": record["eventName"], "keys": record["dynamodb"]["Keys"], "new": image}
        if source == "aws:kinesis":
            data = [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]
            return {"kind": "kinesis", "data": data, "stream": record["eventSourceARN"]}
    if event.get("version") == "2.0":
        http = event["requestContext"]["http"]
        return {"kind": "http-api", "method": http["method"], "path": event["rawPath"], "body": json.loads(event.get("body") or "null"), "query": event.get("queryStringParameters")}
    if "httpMethod" in event:
        return {"kind": "rest-api", "method": event["httpMethod"], "path": event["path"], "body": json.loads(event["body"] or "null"), "query": event["queryStringParameters"]}
    if "detail-type" in event:
        return {"kind": "eventbridge", "detail_type": event["detail-type"], "source": event["source"], "detail": event["detail"], "resources": event["resources"]}
    return {"kind": "unknown", "keys": sorted(event)}
