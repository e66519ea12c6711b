"""Handlers the load-test tests drive."""

import time


def slow(event, context):
    time.sleep(0.5)
    return {"slept": 0.5}


class OrderRejected(Exception):
    pass


def mixed(event, context):
    kind = event.get("kind")
    if kind == "fail":
        raise OrderRejected("order rejected")
    if kind == "hang":
        time.sleep(5)  # past the 1 s timeout
    return {"ok": True}


def noop(event, context):
    return {}
