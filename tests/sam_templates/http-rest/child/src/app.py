"""The REST fixture's handlers: an echo of the event, and a TOKEN / REQUEST authorizer."""

import json


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"path": event.get("path"), "resource": event.get("resource")})}


def authorize(event, context):
    allowed = event.get("authorizationToken") == "allow" or (event.get("headers") or {}).get("X-Key") == "allow"
    return {
        "principalId": "user",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow" if allowed else "Deny",
                           "Resource": event["methodArn"]}],
        },
        "context": {"tier": "gold"},
    }
