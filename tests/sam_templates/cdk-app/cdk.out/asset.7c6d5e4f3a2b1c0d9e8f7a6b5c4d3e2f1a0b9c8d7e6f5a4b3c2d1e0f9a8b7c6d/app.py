def handler(event, context):
    return "image"
