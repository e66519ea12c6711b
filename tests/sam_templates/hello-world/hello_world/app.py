import json


def lambda_handler(event, context):
    """Answers API Gateway with a greeting."""
    return {"statusCode": 200, "body": json.dumps({"message": "hello world"})}
