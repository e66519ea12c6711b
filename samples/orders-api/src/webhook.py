"""A webhook on its own function URL (payload format 2.0, any path): answers with what it received."""

import base64
import json


def receive(event, context):
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", errors="replace")
    return {"received": len(body), "path": event["rawPath"], "method": event["requestContext"]["http"]["method"]}
