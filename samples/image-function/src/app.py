"""Runs under AWS's awslambdaric, unchanged, talking to lsim's Runtime API."""

import os


def handler(event, context):
    print("awslambdaric handled", context.aws_request_id)
    if event.get("fail"):
        raise KeyError("missing " + event["fail"])
    return {
        "echo": event,
        "function_name": context.function_name,
        "runtime_client": "awslambdaric",
        "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
    }
