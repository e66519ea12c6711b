"""An SQS worker with partial batch responses: a message whose body is not a job is reported back so that
only it returns to the queue (FunctionResponseTypes: ReportBatchItemFailures)."""

import json
import os


def handler(event, context):
    done, failures = [], []
    for record in event["Records"]:
        try:
            job = json.loads(record["body"])
            done.append({"job": job["job"], "queue": record["eventSourceARN"].rsplit(":", 1)[-1]})
        except (ValueError, KeyError, TypeError):
            print(f"cannot handle message {record['messageId']}: {record['body']!r}")
            failures.append({"itemIdentifier": record["messageId"]})
    print(json.dumps({"done": done, "failed": len(failures), "queue_url": os.environ["JOBS_QUEUE_URL"]}))
    return {"batchItemFailures": failures}
