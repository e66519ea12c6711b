"""The Telemetry API (2022-07-01) and the Logs API (2020-08-15), with an extension written as AWS's Python sample
writes one (tests/telemetry_extension: a layer with /opt/extensions/telemetry-ext), in real containers: what it
receives, in what order and batches, in which shapes, and how bad requests are answered."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.blocking import BlockingSimulator
from simulator.channels import Refused, TelemetryChannel
from simulator.project import load_project
from simulator.store import Store

from .conftest import wait_until_idle

HERE = Path(__file__).parent

APP = """
import glob, json, os, time

def handler(event, context):
    print("hello from the function")
    for i in range(event.get("lines", 0)):
        print(f"line {i}")
    deadline = time.time() + event.get("wait", 0)
    while True:
        batches = []
        for path in sorted(glob.glob("/tmp/telemetry/batch-*.json")):
            with open(path) as f:
                batches.append(json.load(f))
        seen = [e for b in batches for e in b]
        wanted = event.get("until")
        if not wanted or time.time() > deadline or any(
            e["type"] == wanted and isinstance(e["record"], dict) and e["record"].get("requestId") == event.get("request")
            for e in seen
        ):
            break
        time.sleep(0.05)
    with open("/tmp/telemetry/answers.json") as f:
        answers = json.load(f)
    return {"batches": batches, "answers": answers}
"""

SUBSCRIPTIONS: dict[str, dict[str, Any]] = {
    "telemetry": {
        "path": "/2022-07-01/telemetry",
        "body": {
            "schemaVersion": "2022-07-01",
            "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:4243"},
            "types": ["platform", "function"],
            "buffering": {"timeoutMs": 25, "maxBytes": 262144, "maxItems": 1000},
        },
        "probes": [
            {"path": "/2022-07-01/telemetry", "body": {}, "id": ""},
            {"path": "/2022-07-01/telemetry", "body": {}, "id": "8b1e3b1e-0000-4000-8000-000000000000"},
            {
                "path": "/2022-07-01/telemetry",
                "body": {
                    "schemaVersion": "2022-07-01",
                    "types": [],
                    "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain"},
                },
            },
            {
                "path": "/2022-07-01/telemetry",
                "body": {
                    "schemaVersion": "2022-07-01",
                    "types": ["platform"],
                    "buffering": {"maxItems": 10},
                    "destination": {"protocol": "HTTP", "URI": "http://sandbox:4243"},
                },
            },
        ],
    },
    "logs": {
        "path": "/2020-08-15/logs",
        "body": {
            "schemaVersion": "2021-03-18",
            "destination": {"protocol": "HTTP", "URI": "http://sandbox:4243"},
            "types": ["platform", "function"],
            "buffering": {"timeoutMs": 25},
        },
    },
}


def project_folder(folder: Path) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text(APP)
    toml = ""
    for name, subscription in SUBSCRIPTIONS.items():
        layer = folder / f"layer-{name}"
        shutil.copytree(HERE / "telemetry_extension", layer)
        (layer / "telemetry-ext" / "subscription.json").write_text(json.dumps(subscription))
        toml += f'[functions.{name}]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\n'
        toml += f'timeout = 30\nlayers = ["layer-{name}"]\n\n'
    (folder / "lsim.toml").write_text(toml)
    return folder


@pytest.fixture(scope="module")
def lsim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockingSimulator]:
    folder = project_folder(tmp_path_factory.mktemp("telemetry"))
    with BlockingSimulator(load_project(folder), backend="docker", store=Store(folder / ".lsim")) as simulator:
        yield simulator


def received(lsim: BlockingSimulator, function: str, **event: Any) -> dict[str, Any]:
    """Ask the function's environment what its extension received; about an earlier `request`, ask the
    environment that served it (idle again once its extension has called event/next)."""
    if "request" in event:
        wait_until_idle(lsim, function)
    result = lsim.invoke(function, event)
    assert result.ok, result.logs
    return dict(result.payload)


@pytest.mark.docker
def test_telemetry_events_arrive_in_lifecycle_order(lsim: BlockingSimulator) -> None:
    first = lsim.invoke("telemetry", {})
    got = received(lsim, "telemetry", until="platform.report", request=first.request_id, wait=20)
    events = [e for batch in got["batches"] for e in batch]
    types = [e["type"] for e in events]
    order = ["platform.initStart", "platform.telemetrySubscription", "platform.initRuntimeDone",
             "platform.initReport", "platform.start", "platform.runtimeDone", "platform.report"]  # fmt: skip
    positions = [types.index(t) for t in order]
    assert positions == sorted(positions), types
    # the extension's line from before it subscribed is replayed; the function's lines are `function` records
    functions = [e["record"] for e in events if e["type"] == "function"]
    assert "telemetry-ext listening\n" in functions and "hello from the function\n" in functions
    subscribed = events[types.index("platform.telemetrySubscription")]["record"]
    assert subscribed == {"name": "telemetry-ext", "state": "Subscribed", "types": ["platform", "function"]}
    assert events[types.index("platform.extension")]["record"]["name"] == "telemetry-ext"
    start = events[types.index("platform.start")]
    assert start["record"]["requestId"] == first.request_id and start["time"].endswith("Z")
    report = events[types.index("platform.report")]["record"]
    assert report["status"] == "success" and "initDurationMs" in report["metrics"]
    done = events[types.index("platform.runtimeDone")]["record"]
    assert done["status"] == "success" and done["metrics"]["producedBytes"] > 0


@pytest.mark.docker
def test_bad_subscriptions_are_refused_as_lambda_refuses_them(lsim: BlockingSimulator) -> None:
    answers = received(lsim, "telemetry")["answers"]
    (missing, missing_body), (unknown, _), (invalid, invalid_body), (small, small_body), (ok, ok_body) = answers
    assert (missing, json.loads(missing_body)["errorType"]) == (403, "Extension.MissingExtensionIdentifier")
    assert unknown == 403
    assert invalid == 400
    assert json.loads(invalid_body) == {
        "errorMessage": "types should not be empty; URI port is not provided",
        "errorType": "ValidationError",
    }
    assert small == 400 and "buffering.maxItems must be between 1000 and 10000" in small_body
    assert (ok, json.loads(ok_body)) == (200, "OK")


@pytest.mark.docker
def test_buffering_splits_batches_at_max_items(lsim: BlockingSimulator) -> None:
    printing = lsim.invoke("telemetry", {"lines": 2500})
    got = received(lsim, "telemetry", until="platform.report", request=printing.request_id, wait=20)
    mine = [b for b in got["batches"] if any(isinstance(e["record"], str) and e["record"] == "line 2499\n" for e in b)]
    assert mine, "the last line arrived"
    assert all(len(batch) <= 1000 for batch in got["batches"])
    lines = [
        e["record"] for b in got["batches"] for e in b if e["type"] == "function" and e["record"].startswith("line ")
    ]
    assert lines[-2500:] == [f"line {i}\n" for i in range(2500)]  # every line, in order, over several batches
    assert len(got["batches"]) >= 3


@pytest.mark.docker
def test_logs_api_records(lsim: BlockingSimulator) -> None:
    first = lsim.invoke("logs", {})
    got = received(lsim, "logs", until="platform.report", request=first.request_id, wait=20)
    events = [e for batch in got["batches"] for e in batch]
    types = [e["type"] for e in events]
    assert "platform.initStart" not in types  # the Logs API has no init events
    mine = [e for e in events if isinstance(e["record"], dict) and e["record"].get("requestId") == first.request_id]
    assert [e["type"] for e in mine] == ["platform.start", "platform.runtimeDone", "platform.end", "platform.report"]
    assert mine[0]["record"] == {"requestId": first.request_id, "version": "$LATEST"}
    assert mine[1]["record"] == {"requestId": first.request_id, "status": "success"}
    assert set(mine[3]["record"]) == {"requestId", "metrics"}
    subscribed = next(e for e in events if e["type"] == "platform.logsSubscription")["record"]
    assert subscribed == {"name": "telemetry-ext", "state": "Subscribed", "types": ["platform", "function"]}
    assert "hello from the function\n" in [e["record"] for e in events if e["type"] == "function"]


def test_subscriptions_close_with_init_and_one_api_only() -> None:
    async def scenario() -> None:
        channel = TelemetryChannel()
        body = json.dumps(SUBSCRIPTIONS["telemetry"]["body"]).encode()
        assert not isinstance(channel.subscribe("telemetry", "a", "ext", body), Refused)
        other = channel.subscribe("logs", "b", "ext2", json.dumps(SUBSCRIPTIONS["logs"]["body"]).encode())
        assert isinstance(other, Refused) and other.error_type == "Logs.ValidationError"
        channel.open = False
        closed = channel.subscribe("telemetry", "a", "ext", body)
        assert closed == Refused("Telemetry.SubscriptionClosed", "Telemetry API subscription is closed")
        channel.close()

    asyncio.run(scenario())
