"""What `lsim serve` adds to a warm invocation made with boto3, and how many
invocations a second it sustains for 8 client threads.

Run with `make bench` (or `python -m benchmarks.bench_api`). Baselines are measured in the same run:
the same warm invocation through lsim's Python API (`Simulator.invoke`, in process), and boto3 against a
bare aiohttp server that answers at once (what boto3 itself costs on this machine).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from simulator import Simulator, load_project

from .common import PROJECT, figure, median, percentile

SEQUENTIAL_N = 300
THREADS = 8
PER_THREAD = 150

BARE_SERVER = """
import sys
from aiohttp import web

async def invoke(request):
    await request.read()
    return web.Response(body=b"{}", headers={"Content-Type": "application/json", "X-Amz-Executed-Version": "$LATEST"})

app = web.Application()
app.router.add_post("/2015-03-31/functions/{name}/invocations", invoke)
runner = web.AppRunner(app, access_log=None)

async def main():
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    import asyncio
    await asyncio.Event().wait()

import asyncio
asyncio.run(main())
"""


def lambda_client(url: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 0}, max_pool_connections=THREADS * 2),
    )


def boto3_invocations(url: str, n: int) -> list[float]:
    client = lambda_client(url)
    for _ in range(5):
        client.invoke(FunctionName="noop", Payload=b"{}")
    samples = []
    for i in range(n):
        began = time.perf_counter()
        response = client.invoke(FunctionName="noop", Payload=json.dumps({"i": i}))
        response["Payload"].read()
        samples.append((time.perf_counter() - began) * 1000)
        assert response["StatusCode"] == 200 and "FunctionError" not in response
    return samples


def threaded_invocations(url: str) -> tuple[float, list[float]]:
    """(invocations a second, latencies) for THREADS threads, each with its own client."""
    clients = [lambda_client(url) for _ in range(THREADS)]
    latencies: list[list[float]] = [[] for _ in range(THREADS)]
    ready = threading.Barrier(THREADS + 1)

    def work(index: int) -> None:
        client = clients[index]
        for _ in range(5):  # a warm environment (and a connection) per thread
            client.invoke(FunctionName="noop", Payload=b"{}")
        ready.wait()
        for i in range(PER_THREAD):
            began = time.perf_counter()
            response = client.invoke(FunctionName="noop", Payload=json.dumps({"i": i}))
            response["Payload"].read()
            latencies[index].append((time.perf_counter() - began) * 1000)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    ready.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    every = [sample for samples in latencies for sample in samples]
    return len(every) / elapsed, every


async def in_process(n: int) -> list[float]:
    """The same warm invocation through lsim's Python API, in this process."""
    async with Simulator(load_project(PROJECT), backend="docker") as simulator:
        for _ in range(5):
            await simulator.invoke("noop", {})
        samples = []
        for i in range(n):
            began = time.perf_counter()
            result = await simulator.invoke("noop", {"i": i})
            samples.append((time.perf_counter() - began) * 1000)
            assert result.ok and not result.cold_start
        return samples


def start(command: list[str], ready: str, log: Path) -> subprocess.Popen[bytes]:
    """Start a server whose stderr (or stdout) goes to `log`; wait until `ready` appears in it."""
    out = log.open("wb")
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while ready not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{' '.join(command)} did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()


async def main() -> None:
    baseline = await in_process(SEQUENTIAL_N)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        bare = start([sys.executable, "-c", BARE_SERVER], "http://", folder / "bare.log")
        try:
            bare_url = (folder / "bare.log").read_text().strip().splitlines()[-1]
            floor = boto3_invocations(bare_url, SEQUENTIAL_N)
        finally:
            stop(bare)
        serve = start(
            [sys.executable, "-m", "simulator.cli", "--project", str(PROJECT), "serve", "--port", "0",
             "--backend", "docker"],
            "press Ctrl+C to stop",
            folder / "serve.log",
        )  # fmt: skip
        try:
            url = next(
                word for word in (folder / "serve.log").read_text().split() if word.startswith("http://127.0.0.1:")
            )
            through_api = boto3_invocations(url, SEQUENTIAL_N)
            rate, latencies = threaded_invocations(url)
        finally:
            stop(serve)

    print(f"warm boto3 invoke of a no-op handler through `lsim serve`, {SEQUENTIAL_N} sequential, Docker, 1769 MB:")
    figure("  median per invoke, boto3 -> lsim serve", median(through_api), "ms", median(baseline),
           "Simulator.invoke in process")  # fmt: skip
    figure("  median per invoke, boto3 -> bare aiohttp server", median(floor), "ms", median(baseline),
           "boto3's own cost: a server that answers at once")  # fmt: skip
    added = median(through_api) - median(baseline)
    print(f"  added by the HTTP API and boto3: median {added:.3f} ms (target <= 3 ms); "
          f"of which lsim serve beyond a bare server: {median(through_api) - median(floor):.3f} ms")  # fmt: skip
    print(f"{THREADS} client threads x {PER_THREAD} invocations through `lsim serve`:")
    single = 1000 / median(through_api)
    figure("  invocations a second", rate, "/s", single, "one client thread; target >= 300/s")
    print(f"  latency per invoke: median {median(latencies):.3f} ms, p99 {percentile(latencies, 0.99):.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())
