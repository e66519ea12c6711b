import os


def handler(event, context):
    return {
        "name": context.function_name,
        "env": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        "stage": os.environ.get("STAGE"),
    }
