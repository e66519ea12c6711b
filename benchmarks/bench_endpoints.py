"""What a function pays to call lsim from inside: one function invokes another with boto3 and no endpoint_url
(AWS_ENDPOINT_URL_LAMBDA names lsim's API on the gateway of lsim's Docker network, signatures verified), beside
the same warm invocation made by boto3 on the host through `lsim serve`'s loopback API (signatures not checked).

Run with `python -m benchmarks.bench_endpoints` (and `make bench`). Both sides measured in the same run.
"""

from __future__ import annotations

import tempfile
import textwrap
import time
from pathlib import Path

import boto3
from botocore.config import Config

from simulator.api import ApiServer
from simulator.blocking import BlockingSimulator
from simulator.project import load_project

from .common import figure, median

CALLS = 200

CODE = """
import json
import time

import boto3


def call(event, context):
    client = boto3.client("lambda")
    for _ in range(5):
        client.invoke(FunctionName="target", Payload=b"{}")
    samples = []
    for _ in range(event["n"]):
        began = time.perf_counter()
        client.invoke(FunctionName="target", Payload=b"{}")["Payload"].read()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def target(event, context):
    return {}
"""

PROJECT = """
[functions.caller]
handler = "app.call"
runtime = "python3.11"
code = "src"
timeout = 300
memory_size = 1769

[functions.target]
handler = "app.target"
runtime = "python3.11"
code = "src"
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "src").mkdir()
        (root / "src" / "app.py").write_text(textwrap.dedent(CODE))
        (root / "lsim.toml").write_text(PROJECT)
        with BlockingSimulator(load_project(root), backend="docker") as lsim:
            inside: list[float] = lsim.invoke("caller", {"n": CALLS}).payload
            server = ApiServer(lsim.simulator, port=0)
            lsim.call(server.start())
            try:
                client = boto3.client(
                    "lambda", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="bench",
                    aws_secret_access_key="bench", config=Config(retries={"max_attempts": 0}),
                )  # fmt: skip
                for _ in range(5):
                    client.invoke(FunctionName="target", Payload=b"{}")
                outside = []
                for _ in range(CALLS):
                    began = time.perf_counter()
                    client.invoke(FunctionName="target", Payload=b"{}")["Payload"].read()
                    outside.append((time.perf_counter() - began) * 1000)
            finally:
                lsim.call(server.close())
    print(f"a function invoking another through lsim's API (warm, median of {CALLS}):")
    figure(
        "invoke from inside a function (gateway, SigV4)", median(inside), "ms", median(outside),
        "boto3 on the host through lsim serve's loopback API; target ~1x",
    )  # fmt: skip


if __name__ == "__main__":
    main()
