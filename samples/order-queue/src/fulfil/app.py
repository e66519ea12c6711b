"""Fulfil a batch of orders from the queue; report the ones that failed, so only they come back."""

import json
import time


def handler(event, context):
    failures = []
    for record in event["Records"]:
        order = json.loads(record["body"])
        if order.get("poison"):
            print(f"cannot fulfil order {order.get('id')}: receive {record['attributes']['ApproximateReceiveCount']}")
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        time.sleep(0.1)  # the warehouse call
    return {"batchItemFailures": failures}
