"""GET /hello behind API Gateway (REST, proxy integration): a greeting as an API Gateway response."""

import json
import logging
import os

logger = logging.getLogger()
logger.setLevel(os.environ.get("LOG_LEVEL", "INFO"))


def lambda_handler(event, context):
    name = (event.get("queryStringParameters") or {}).get("name", "world")
    logger.debug("greeting %s on %s %s", name, event.get("httpMethod"), event.get("path"))
    body = {
        "message": f"{os.environ['GREETING_PREFIX']}, {name}!",
        "stage": os.environ["STAGE"],
        "service": os.environ["SERVICE_NAME"],
        "path": event.get("path"),
        "request_id": event["requestContext"]["requestId"],
        "function": context.function_name,
        "memory_limit_in_mb": int(context.memory_limit_in_mb),
    }
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
