"""Every byte of a response counts: a response (or an error) up to Lambda's limit arrives whole, byte for
byte, however slowly the runtime writes it; one byte over is Function.ResponseSizeTooLarge.

The defect: the Runtime API took "what had arrived so far" of a response body, so a handler returning
1,000,000 bytes gave the caller about 100 KB, status 200, no FunctionError. The wire-level tests talk to
the Runtime API over raw sockets (slowly, quickly, chunked); the Docker tests go through every face:
Simulator.invoke, `lsim invoke`, boto3 against the Lambda API (`lsim serve`) and the pytest fixture.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.invocation import Invocation
from simulator.project import load_project
from simulator.pytest_plugin import LsimFixture
from simulator.runtime_api import RESPONSE_LIMIT_SLACK, RuntimeApiServer, RuntimeChannel

from .conftest import REPO

SIX_MB = 6 * 1024 * 1024  # 6,291,456: the synchronous payload quota
ACCEPTED = SIX_MB + RESPONSE_LIMIT_SLACK  # 6,291,556: the most AWS accepts ("maximum allowed payload size")
SIZES = [1024, 100 * 1024, 150_000, 1_000_000, SIX_MB, ACCEPTED]


def content(size: int) -> bytes:
    """`size` deterministic, varied ASCII bytes, the same in the test and in the function."""
    return hashlib.shake_128(b"lsim").hexdigest(size // 2 + 1)[:size].encode()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the Runtime API on the wire --------------------------------------------------------------------------
def _post_raw(address: str, path: str, body: bytes, *, piece: int, pause_s: float, chunked: bool) -> int:
    """POST `body` over a raw socket in pieces of `piece` bytes with a pause between them (a slow
    runtime), with a Content-Length or chunked; returns the status code."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {address}\r\n{framing}\r\n\r\n".encode())
        for start in range(0, len(body), piece):
            part = body[start : start + piece]
            sock.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
            if pause_s:
                import time

                time.sleep(pause_s)
        if chunked:
            sock.sendall(b"0\r\n\r\n")
        status = sock.makefile("rb").readline()
    return int(status.split()[1])


def _wire(body: bytes, route: str, *, piece: int, pause_s: float, chunked: bool) -> tuple[int, object]:
    """Hand out one invocation, post `body` to `route` (response, error, init/error) from a thread
    over a raw socket; returns the status and the outcome lsim recorded."""

    async def main() -> tuple[int, object]:
        server = RuntimeApiServer()
        channel = RuntimeChannel(SIX_MB)
        channel.admit("127.0.0.1")  # the only peer this endpoint accepts: the test's own socket
        address = await server.open("127.0.0.1", channel)
        try:
            prefix = "/2018-06-01/runtime"
            if route == "init/error":
                path = f"{prefix}/init/error"
                outcome: asyncio.Future[object] = channel.init_error  # type: ignore[assignment]
            else:
                invocation = Invocation("req-1", b"{}", "arn:aws:lambda:us-east-1:123456789012:function:f", 60.0, "")
                outcome = channel.submit(invocation)  # type: ignore[assignment]
                await channel.next()
                path = f"{prefix}/invocation/req-1/{route}"
            status = await asyncio.to_thread(
                _post_raw, address, path, body, piece=piece, pause_s=pause_s, chunked=chunked
            )
            return status, await asyncio.wait_for(outcome, 10)
        finally:
            await server.close()

    return asyncio.run(main())


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("size", [150_000, 1_000_000, SIX_MB, ACCEPTED])
def test_a_response_written_slowly_arrives_whole(size: int, chunked: bool) -> None:
    body = content(size)
    piece = max(4096, size // 40)
    status, outcome = _wire(body, "response", piece=piece, pause_s=0.002, chunked=chunked)
    assert status == 202
    assert outcome.kind == "response"  # type: ignore[attr-defined]
    assert len(outcome.body) == size and digest(outcome.body) == digest(body)  # type: ignore[attr-defined]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("route", ["response", "error", "init/error"])
def test_one_byte_over_is_413_and_response_size_too_large(route: str, chunked: bool) -> None:
    status, outcome = _wire(content(ACCEPTED + 1), route, piece=256 * 1024, pause_s=0.0, chunked=chunked)
    assert status == 413
    assert outcome.kind == "error"  # type: ignore[attr-defined]
    assert outcome.error_type == "Function.ResponseSizeTooLarge"  # type: ignore[attr-defined]
    assert json.loads(outcome.body)["errorMessage"] == (  # type: ignore[attr-defined]
        f"Response payload size exceeded maximum allowed payload size ({ACCEPTED} bytes)."
    )


@pytest.mark.parametrize("route", ["error", "init/error"])
def test_an_error_written_slowly_arrives_whole(route: str) -> None:
    error = {"errorMessage": content(1_000_000).decode(), "errorType": "BigError", "stackTrace": []}
    body = json.dumps(error).encode()
    status, outcome = _wire(body, route, piece=16 * 1024, pause_s=0.001, chunked=False)
    assert status == 202
    assert outcome.error_type == "BigError"  # type: ignore[attr-defined]
    assert digest(outcome.body) == digest(body)  # type: ignore[attr-defined]


# -- every face, real containers ----------------------------------------------------------------------------
HANDLER = '''
import hashlib


def content(size):
    return hashlib.shake_128(b"lsim").hexdigest(size // 2 + 1)[:size]


def handler(event, context):
    """A JSON string of event["bytes"] bytes on the wire (the quotes count)."""
    return content(event["bytes"] - 2)


def fail(event, context):
    raise RuntimeError(content(event["bytes"]))
'''

# A custom runtime that writes its response in small pieces with pauses, with a Content-Length or
# chunked, as a slow runtime does: what arrives in the first read is a small part of it.
BOOTSTRAP = r"""#!/usr/bin/python3
import hashlib, http.client, json, os, socket, time

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
host, port = API.rsplit(":", 1)
while True:
    conn = http.client.HTTPConnection(host, int(port))
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    answer = conn.getresponse()
    event = json.loads(answer.read())
    request_id = answer.headers["Lambda-Runtime-Aws-Request-Id"]
    conn.close()
    size = event["bytes"]
    body = hashlib.shake_128(b"lsim").hexdigest(size // 2 + 1)[:size].encode()
    chunked = event.get("chunked", False)
    sock = socket.create_connection((host, int(port)))
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}"
    path = f"/2018-06-01/runtime/invocation/{request_id}/response"
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {API}\r\n{framing}\r\n\r\n".encode())
    piece = max(4096, size // 40)
    for start in range(0, len(body), piece):
        part = body[start:start + piece]
        sock.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
        time.sleep(0.002)
    if chunked:
        sock.sendall(b"0\r\n\r\n")
    sock.makefile("rb").readline()
    sock.close()
"""

PROJECT = """
[functions.bytes]
handler = "app.handler"
runtime = "python3.11"
code = "src"
memory_size = 512
timeout = 60

[functions.fails]
handler = "app.fail"
runtime = "python3.11"
code = "src"
memory_size = 512
timeout = 60

[functions.slow]
runtime = "provided.al2023"
handler = "unused"
code = "custom"
memory_size = 512
timeout = 60
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bytes")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "custom").mkdir()
    (root / "custom" / "bootstrap").write_text(BOOTSTRAP)
    (root / "custom" / "bootstrap").chmod(0o755)
    (root / "lsim.toml").write_text(PROJECT)
    return root


@pytest.fixture(scope="module")
def lsim(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LsimFixture]:
    """One simulator on Docker for the module: the fixture's class, with its Lambda API for boto3."""
    fixture = LsimFixture(load_project(folder), "docker", tmp_path_factory.mktemp("bytes-state"))
    try:
        yield fixture
    finally:
        fixture.close()


@pytest.mark.docker
@pytest.mark.parametrize("size", SIZES)
def test_simulator_invoke_returns_every_byte(lsim: LsimFixture, size: int) -> None:
    result = lsim.simulator.invoke("bytes", {"bytes": size})
    assert result.function_error is None, result.body[:300]
    assert len(result.body) == size and digest(result.body) == digest(json.dumps(content(size - 2).decode()).encode())


@pytest.mark.docker
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("size", [150_000, 1_000_000, SIX_MB])
def test_a_slow_custom_runtime_is_returned_every_byte(lsim: LsimFixture, size: int, chunked: bool) -> None:
    result = lsim.invoke("slow", {"bytes": size, "chunked": chunked})
    assert result.function_error is None, result.body[:300]
    assert len(result.body) == size and digest(result.body) == digest(content(size))


@pytest.mark.docker
def test_one_byte_over_is_function_response_size_too_large(lsim: LsimFixture) -> None:
    result = lsim.invoke("bytes", {"bytes": ACCEPTED + 1})
    assert result.function_error == "Unhandled"
    assert result.error is not None and result.error["errorType"] == "Function.ResponseSizeTooLarge"
    slow = lsim.invoke("slow", {"bytes": ACCEPTED + 1, "chunked": True})
    assert slow.error is not None and slow.error["errorType"] == "Function.ResponseSizeTooLarge"


@pytest.mark.docker
def test_a_large_error_payload_arrives_whole(lsim: LsimFixture) -> None:
    result = lsim.invoke("fails", {"bytes": 1_000_000})
    assert result.function_error == "Unhandled"
    assert result.error is not None and result.error["errorType"] == "RuntimeError"
    assert result.error["errorMessage"] == content(1_000_000).decode()


@pytest.mark.docker
@pytest.mark.parametrize("size", [150_000, 1_000_000, SIX_MB])
def test_boto3_against_the_lambda_api_gets_every_byte(lsim: LsimFixture, size: int) -> None:
    client = lsim.client(retries={"max_attempts": 0})
    response = client.invoke(FunctionName="slow", Payload=json.dumps({"bytes": size, "chunked": True}))
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    body = response["Payload"].read()
    assert len(body) == size and digest(body) == digest(content(size))
    over = client.invoke(FunctionName="bytes", Payload=json.dumps({"bytes": ACCEPTED + 1}))
    assert over["FunctionError"] == "Unhandled"
    assert json.loads(over["Payload"].read())["errorType"] == "Function.ResponseSizeTooLarge"


@pytest.mark.docker
@pytest.mark.parametrize(("function", "size"), [("bytes", 1_000_000), ("slow", SIX_MB)])
def test_lsim_invoke_writes_every_byte_to_stdout(folder: Path, function: str, size: int) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "simulator.cli", "invoke", function, "--payload", json.dumps({"bytes": size})],
        capture_output=True,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    expected = content(size) if function == "slow" else json.dumps(content(size - 2).decode()).encode()
    assert done.stdout.endswith(b"\n")
    payload = done.stdout[:-1]
    assert len(payload) == size and digest(payload) == digest(expected)
