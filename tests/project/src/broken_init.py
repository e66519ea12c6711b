"""A module whose init fails: module-level code raises."""

raise RuntimeError("cannot connect to the database at init")


def handler(event, context):
    return "never"
