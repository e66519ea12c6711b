"""What SQS's SendMessage costs through `lsim serve`, beside the cheapest request the same serve answers.

Run with `make bench` (or `python -m benchmarks.bench_sqs`). The baseline, measured in the same run on the same
serve with the same boto3: GetAccountSettings, a Lambda API request that touches no function and no store, so
the ratio is what a durable send (SQLite commit included) adds to a bare `lsim serve` round trip.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from .bench_api import start, stop
from .common import figure, median, percentile

N = 300
PROJECT = """
[queues.bench]

[queues.batches]
"""


def client(service: str, url: str) -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
        aws_secret_access_key="bench", config=Config(retries={"max_attempts": 0}),
    )  # fmt: skip


def timed(call: Callable[[int], Any], n: int = N) -> list[float]:
    for i in range(5):
        call(-1 - i)
    samples = []
    for i in range(n):
        began = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "lsim.toml").write_text(PROJECT)
        serve = start(
            [sys.executable, "-m", "simulator.cli", "--project", str(folder), "serve", "--port", "0",
             "--backend", "process"],
            "press Ctrl+C to stop",
            folder / "serve.log",
        )  # fmt: skip
        try:
            url = next(word for word in (folder / "serve.log").read_text().split() if word.startswith("http://127."))
            lambda_client, sqs = client("lambda", url), client("sqs", url)
            queue = sqs.get_queue_url(QueueName="bench")["QueueUrl"]
            batches = sqs.get_queue_url(QueueName="batches")["QueueUrl"]
            bare = timed(lambda i: lambda_client.get_account_settings())
            send = timed(lambda i: sqs.send_message(QueueUrl=queue, MessageBody=f"message {i}"))
            batch = timed(
                lambda i: sqs.send_message_batch(
                    QueueUrl=batches, Entries=[{"Id": str(j), "MessageBody": f"{i}-{j}"} for j in range(10)]
                ),
                N // 5,
            )

            def receive_and_delete(i: int) -> None:
                messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1)["Messages"]
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])

            receive = timed(receive_and_delete, N - 10)
        finally:
            stop(serve)
    print(f"SQS through `lsim serve` with boto3 (JSON protocol), {N} sequential calls:")
    floor = median(bare)
    figure("  SendMessage, median", median(send), "ms", floor, "GetAccountSettings on the same serve")
    print(f"  SendMessage p99 {percentile(send, 0.99):.3f} ms; GetAccountSettings p99 {percentile(bare, 0.99):.3f} ms")
    figure("  SendMessageBatch of 10, per message", median(batch) / 10, "ms", floor, "GetAccountSettings")
    figure("  ReceiveMessage + DeleteMessage, median", median(receive), "ms", floor, "GetAccountSettings")


if __name__ == "__main__":
    main()
