import os


def handler(event, context):
    with open(os.environ.get("EXT_LOG", "/tmp/extension.log")) as log:
        return {"extension_log": log.read().splitlines()}
