import os


def handler(event, context):
    return {"handled_by": context.function_name, "table": os.environ["TABLE_NAME"], "event": event}
