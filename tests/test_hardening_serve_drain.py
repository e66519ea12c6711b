"""Hardening item 11: SIGINT/SIGTERM drain `lsim serve`: a synchronous call in flight gets its whole
answer, requests after the signal are refused (the port closes; a request on a connection that was
already open gets a 503), then the environments are removed and the process exits 0.

A real `lsim serve` on Docker, a real container running a 3-second invocation made by boto3."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from tests.test_api import SIGNED
from tests.test_api_awscli import Served, start_serve

pytestmark = pytest.mark.docker

APP = """
import time


def slow(event, context):
    print("started", flush=True)
    time.sleep(event.get("seconds", 3))
    return {"slept": event.get("seconds", 3), "done": True}
"""


def write_project(folder: Path, function: str) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text(APP)
    (folder / "lsim.toml").write_text(
        f'[functions.{function}]\nhandler = "app.slow"\nruntime = "python3.11"\ncode = "src"\ntimeout = 30\n'
    )
    return folder


def client(served: Served) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=served.url,
        region_name="us-east-1",
        aws_access_key_id="anything",
        aws_secret_access_key="anything",
        config=Config(retries={"max_attempts": 0}, read_timeout=120, connect_timeout=10),
    )


def wait_for_line(served: Served, text: str, attempts: int = 1200) -> None:
    """Bounded wait (at most `attempts` x 0.1 s) for a console line containing `text`."""
    for _ in range(attempts):
        if any(text in line for line in served.lines):
            return
        if served.process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"no console line with {text!r}:\n{served.console()}")


def containers_of(function: str) -> list[str]:
    import docker

    listed = docker.from_env().containers.list(all=True, filters={"label": f"lsim.function={function}"})
    return [container.id for container in listed]


@pytest.mark.parametrize(
    ("signum", "seconds"),
    [(signal.SIGTERM, 3), (signal.SIGINT, 3), (signal.SIGTERM, 6)],
    ids=["SIGTERM-3s", "SIGINT-3s", "SIGTERM-6s"],  # 6 s: longer than aiohttp's own grace (2 + 2 s)
)
def test_a_signal_drains_the_call_in_flight_refuses_new_ones_and_exits_0(
    tmp_path: Path, signum: int, seconds: int
) -> None:
    function = f"drain{uuid.uuid4().hex[:8]}"
    served = start_serve(write_project(tmp_path / "p", function), "--backend", "docker")
    try:
        # a connection opened before the signal, as an SDK's pool keeps one
        kept = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
        kept.request("GET", "/2016-08-19/account-settings", headers=SIGNED)
        assert kept.getresponse().read()

        answer: dict[str, Any] = {}

        def invoke() -> None:
            try:
                response = client(served).invoke(FunctionName=function, Payload=json.dumps({"seconds": seconds}))
                answer["status"] = response["StatusCode"]
                answer["error"] = response.get("FunctionError")
                answer["payload"] = json.loads(response["Payload"].read())
            except Exception as error:  # reported below
                answer["exception"] = error

        caller = threading.Thread(target=invoke)
        caller.start()
        wait_for_line(served, f"{function} | started")  # the handler is running: the call is in flight
        served.process.send_signal(signum)
        wait_for_line(served, "stopping")

        # after the signal: a new connection is refused, a request on an open one gets a 503
        try:
            client(served).get_account_settings()
            new_connection: object = "served"
        except Exception as error:
            new_connection = error
        try:
            kept.request("GET", "/2016-08-19/account-settings", headers=SIGNED)
            refused = kept.getresponse()
            on_kept: object = (refused.status, refused.getheader("X-Amzn-ErrorType"), json.loads(refused.read()))
        except Exception as error:
            on_kept = error
        kept.close()

        caller.join(120)
        assert not caller.is_alive()
        assert "exception" not in answer, answer.get("exception")
        assert answer == {"status": 200, "error": None, "payload": {"slept": seconds, "done": True}}
        assert isinstance(new_connection, EndpointConnectionError), new_connection
        assert isinstance(on_kept, tuple), on_kept
        status, error_type, message = on_kept
        assert (status, error_type) == (503, "ServiceException")
        assert "lsim serve is stopping" in (message.get("Message") or message.get("message"))
        assert served.process.wait(120) == 0
    finally:
        if served.process.poll() is None:
            served.process.kill()
            served.process.wait(30)
    assert containers_of(function) == []
    assert "removing execution environments" in served.console()
