import helper


def handler(event, context):
    return {"worker": context.function_name, "helper": helper.VALUE}
