"""What the HTTP front door (`lsim serve --http-port`) adds to a warm invocation, and how many requests a
second it sustains for 8 client threads.

Run with `make bench` (or `python -m benchmarks.bench_http`). Baselines are measured in the same run: the
same warm invocation through lsim's Python API (`Simulator.invoke`, in process), and the same no-op function
invoked through `lsim serve`'s Lambda API (Invoke) by the same plain HTTP client, so both ports pay the same
client cost. The serve runs in a process of its own, with --quiet (no console line per request), as
bench_api runs it; its clients are http.client connections kept alive, one per thread.
"""

from __future__ import annotations

import asyncio
import http.client
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from simulator import Simulator, load_project

from .bench_api import start, stop
from .common import PROJECT, figure, median, percentile

SEQUENTIAL_N = 300
THREADS = 8
PER_THREAD = 150

ROUTES = """
[functions.noop.events.get]
type = "httpapi"
path = "/noop"
method = "get"
"""
# The shape of an SDK's request, which the Lambda API requires (signatures are not checked by default).
SIGNED = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=bench/20240101/us-east-1/lambda/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    "X-Amz-Date": "20240101T000000Z",
    "Content-Type": "application/json",
}

Request = Callable[[http.client.HTTPConnection], None]


def through_front_door(connection: http.client.HTTPConnection) -> None:
    connection.request("GET", "/noop")
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status


def through_invoke(connection: http.client.HTTPConnection) -> None:
    connection.request("POST", "/2015-03-31/functions/noop/invocations", body=b"{}", headers=SIGNED)
    response = connection.getresponse()
    response.read()
    assert response.status == 200 and response.getheader("X-Amz-Function-Error") is None, response.status


def connect(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
    return http.client.HTTPConnection(host, int(port), timeout=60)


def sequential(url: str, request: Request, n: int) -> list[float]:
    connection = connect(url)
    for _ in range(5):
        request(connection)
    samples = []
    for _ in range(n):
        began = time.perf_counter()
        request(connection)
        samples.append((time.perf_counter() - began) * 1000)
    connection.close()
    return samples


def threaded(url: str, request: Request) -> float:
    """Requests a second for THREADS threads, each on its own kept-alive connection."""
    ready = threading.Barrier(THREADS + 1)

    def work() -> None:
        connection = connect(url)
        for _ in range(5):  # a warm environment (and a connection) per thread
            request(connection)
        ready.wait()
        for _ in range(PER_THREAD):
            request(connection)
        connection.close()

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return THREADS * PER_THREAD / (time.perf_counter() - began)


async def in_process(project: Path, n: int) -> list[float]:
    """The same warm invocation through lsim's Python API, in this process."""
    async with Simulator(load_project(project), backend="docker") as simulator:
        for _ in range(5):
            await simulator.invoke("noop", {})
        samples = []
        for i in range(n):
            began = time.perf_counter()
            result = await simulator.invoke("noop", {"i": i})
            samples.append((time.perf_counter() - began) * 1000)
            assert result.ok and not result.cold_start
        return samples


async def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        project = folder / "project"
        shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns(".lsim"))
        (project / "lsim.toml").write_text((project / "lsim.toml").read_text() + ROUTES)
        baseline = await in_process(project, SEQUENTIAL_N)
        serve = start(
            [sys.executable, "-m", "simulator.cli", "--project", str(project), "serve", "--port", "0",
             "--http-port", "0", "--backend", "docker", "--quiet"],
            "press Ctrl+C to stop",
            folder / "serve.log",
        )  # fmt: skip
        try:
            said = (folder / "serve.log").read_text()
            api_url = said.split("the Lambda API on ", 1)[1].split()[0]
            http_url = said.split("HTTP APIs on ", 1)[1].split()[0]
            front = sequential(http_url, through_front_door, SEQUENTIAL_N)
            invoke = sequential(api_url, through_invoke, SEQUENTIAL_N)
            front_rate = threaded(http_url, through_front_door)
            invoke_rate = threaded(api_url, through_invoke)
        finally:
            stop(serve)

    print(f"warm GET through `lsim serve --http-port` (HTTP API route, payload 2.0) of a no-op handler, "
          f"{SEQUENTIAL_N} sequential, Docker, 1769 MB:")  # fmt: skip
    figure("  median per request, HTTP client -> front door", median(front), "ms", median(baseline),
           "Simulator.invoke in process")  # fmt: skip
    figure("  median per invoke, HTTP client -> Lambda API", median(invoke), "ms", median(baseline),
           "the same client through Invoke")  # fmt: skip
    added, added_p99 = median(front) - median(baseline), percentile(front, 0.99) - percentile(baseline, 0.99)
    print(f"  added by the front door and the HTTP client: median {added:.3f} ms (goal <= 1 ms), "
          f"p99 {added_p99:.3f} ms; beside Invoke through the Lambda API: "
          f"{median(front) - median(invoke):+.3f} ms at the median")  # fmt: skip
    print(f"{THREADS} client threads x {PER_THREAD} requests, each thread on one kept-alive connection:")
    figure("  requests a second through the front door", front_rate, "/s", invoke_rate,
           "the same through the Lambda API's Invoke")  # fmt: skip
    print(
        "  the peer, `sam local start-api`: ~1 s per request without --warm-containers (aws-sam-cli#362), "
        "1.3 s for a warm Go hello world (#2223); one request at a time per function with warm containers"
    )


if __name__ == "__main__":
    asyncio.run(main())
