"""`lsim sqs send / receive / list / purge / create / delete`: on the project's store when no serve runs, and
through a running `lsim serve` (a real process) when one does, so that both see the same queues."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import boto3
from botocore.config import Config

from tests.cli import lsim
from tests.test_api_awscli import start_serve, stop_serve

PROJECT = """
[queues.orders]
visibility_timeout = 30

[queues.jobs]
"""


def project(folder: Path) -> Path:
    (folder / "lsim.toml").write_text(PROJECT)
    return folder


def test_without_a_serve_the_commands_work_on_the_store(tmp_path: Path) -> None:
    folder = project(tmp_path)
    listed = lsim("sqs", "list", cwd=folder)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == [
        "http://127.0.0.1:9001/123456789012/jobs",
        "http://127.0.0.1:9001/123456789012/orders",
    ]
    sent = lsim("sqs", "send", "orders", "hello", "--attribute", "kind=test", cwd=folder)
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["MD5OfMessageBody"] == "5d41402abc4b2a76b9719d911017c592"
    received = lsim("sqs", "receive", "orders", "--max", "10", "--wait", "0", "--delete", cwd=folder)
    assert received.returncode == 0, received.stderr
    [message] = json.loads(received.stdout)["Messages"]
    assert message["Body"] == "hello" and message["MessageAttributes"]["kind"]["StringValue"] == "test"
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    empty = lsim("sqs", "receive", "orders", "--visibility", "0", cwd=folder)  # deleted: nothing comes back
    assert json.loads(empty.stdout) == {"Messages": []}
    assert lsim("sqs", "create", "work.fifo", cwd=folder).stdout.strip().endswith("/123456789012/work.fifo")
    fifo = lsim("sqs", "send", "work.fifo", "x", "--group-id", "g", "--dedup-id", "d", cwd=folder)
    assert "SequenceNumber" in json.loads(fifo.stdout)
    assert lsim("sqs", "purge", "work.fifo", cwd=folder).returncode == 0
    assert lsim("sqs", "delete", "work.fifo", cwd=folder).returncode == 0


def test_aws_errors_are_printed_with_their_code(tmp_path: Path) -> None:
    folder = project(tmp_path)
    missing = lsim("sqs", "send", "nowhere", "x", cwd=folder)
    assert missing.returncode == 2
    assert missing.stderr.strip() == "AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist."
    too_many = lsim("sqs", "receive", "orders", "--max", "11", cwd=folder)
    assert too_many.returncode == 2 and too_many.stderr.startswith("InvalidParameterValue: Value 11")
    delayed = lsim("sqs", "send", "orders", "x", "--delay", "901", cwd=folder)
    assert delayed.returncode == 2 and "DelaySeconds" in delayed.stderr
    assert lsim("sqs", "send", "orders", "x", "--attribute", "no-equals", cwd=folder).returncode == 2


def test_through_a_running_serve_and_a_long_poll_woken_by_boto3(tmp_path: Path) -> None:
    folder = project(tmp_path)
    served = start_serve(folder, "--backend", "process")
    try:
        assert (
            f'queues: jobs, orders; the SQS API answers on the same URL: boto3.client("sqs", endpoint_url="{served.url}")'
            in served.console()
        )
        sent = lsim("sqs", "send", "orders", "via serve", cwd=folder)
        assert sent.returncode == 0, sent.stderr
        assert "via lsim serve on" in sent.stderr
        assert f"{served.url}/123456789012/orders" in lsim("sqs", "list", cwd=folder).stdout
        client = boto3.client(
            "sqs", endpoint_url=served.url, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="a",
            config=Config(retries={"max_attempts": 0}),
        )  # fmt: skip
        url = client.get_queue_url(QueueName="orders")["QueueUrl"]
        assert client.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "via serve"
        results: list[str] = []
        waiting = threading.Thread(
            target=lambda: results.append(lsim("sqs", "receive", "jobs", "--wait", "20", cwd=folder).stdout)
        )
        waiting.start()
        client.send_message(QueueUrl=client.get_queue_url(QueueName="jobs")["QueueUrl"], MessageBody="for the cli")
        waiting.join(30)
        assert json.loads(results[0])["Messages"][0]["Body"] == "for the cli"
        error = lsim("sqs", "purge", "nowhere", cwd=folder)
        assert error.returncode == 2 and error.stderr.startswith("AWS.SimpleQueueService.NonExistentQueue")
    finally:
        assert stop_serve(served) == 0
    # the serve is gone: the same queues, on the store
    assert lsim("sqs", "list", cwd=folder).stdout.split()[0].endswith("/123456789012/jobs")


def test_a_serve_killed_mid_stream_loses_no_acknowledged_message(tmp_path: Path) -> None:
    """SendMessage answers only once the message is committed: every MessageId boto3 got back is still there
    after `lsim serve` dies by SIGKILL in the middle of a stream of sends."""
    import signal

    from botocore.exceptions import BotoCoreError, ClientError

    folder = project(tmp_path)
    served = start_serve(folder, "--backend", "process")
    client = boto3.client(
        "sqs", endpoint_url=served.url, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="a",
        config=Config(retries={"max_attempts": 0}, connect_timeout=2, read_timeout=10),
    )  # fmt: skip
    url = client.get_queue_url(QueueName="jobs")["QueueUrl"]
    acknowledged: list[str] = []
    stop = threading.Event()

    def stream() -> None:
        for i in range(100_000):
            try:
                acknowledged.append(client.send_message(QueueUrl=url, MessageBody=f"m{i}")["MessageId"])
            except (BotoCoreError, ClientError):
                stop.set()
                return

    sender = threading.Thread(target=stream)
    sender.start()
    while len(acknowledged) < 50:
        assert sender.is_alive()
        threading.Event().wait(0.01)
    served.process.send_signal(signal.SIGKILL)
    served.process.wait(30)
    sender.join(30)
    assert stop.is_set() and len(acknowledged) >= 50
    found: set[str] = set()
    while True:  # read back from the store, no serve running
        received = lsim("sqs", "receive", "jobs", "--max", "10", "--wait", "0", "--delete", cwd=folder)
        assert received.returncode == 0, received.stderr
        messages = json.loads(received.stdout)["Messages"]
        if not messages:
            break
        found.update(message["MessageId"] for message in messages)
    assert set(acknowledged) <= found
