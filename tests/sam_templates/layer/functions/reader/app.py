import os

import shared_util  # from the layer, at /opt/python


def handler(event, context):
    return {"shout": shared_util.shout(event.get("text", "hi")), "layer": os.environ.get("SHARED_LAYER_ARN")}
