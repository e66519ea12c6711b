"""The admin REST API (payload format 1.0), behind the token authorizer: the authorizer's context arrives in
requestContext.authorizer."""

import json


def refund(event, context):
    caller = event["requestContext"]["authorizer"]
    order_id = event["pathParameters"]["id"]
    return {
        "statusCode": 202,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"refunded": order_id, "by": caller.get("principalId"), "role": caller.get("role")}),
    }
