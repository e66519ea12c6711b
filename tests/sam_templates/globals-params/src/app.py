import os


def handler(event, context):
    return {"stage": os.environ["STAGE"], "table": os.environ.get("TABLE_NAME")}


def list_orders(event, context):
    return []
