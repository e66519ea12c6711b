"""Hot reload: `lsim serve --watch` gives new invocations the new code, lets in-flight ones finish on the old,
says what reloaded, and leaves no container behind."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from simulator.blocking import BlockingSimulator
from simulator.project import load_project
from simulator.store import Store
from simulator.watch import CodeWatcher
from tests.test_api_awscli import Served, start_serve, stop_serve

APP = """
import time

VERSION = "{version}"


def handler(event, context):
    if event.get("seconds"):
        print("started slow invocation", flush=True)
        time.sleep(event["seconds"])
    return {{"version": VERSION}}
"""


def write_project(folder: Path, name: str, layers: str = "") -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text(APP.format(version="v1"))
    (folder / "lsim.toml").write_text(
        f'[functions.{name}]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\ntimeout = 60\n{layers}'
    )
    return folder


def wait_for(condition: Callable[[], bool], what: str, guard_s: float = 60.0) -> None:
    """Wait until `condition` holds; the guard only keeps a broken build from hanging the suite."""
    deadline = time.monotonic() + guard_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def client(served: Served) -> object:
    return boto3.client(
        "lambda", endpoint_url=served.url, region_name="us-east-1", aws_access_key_id="x",
        aws_secret_access_key="x", config=Config(retries={"max_attempts": 0}, read_timeout=120),
    )  # fmt: skip


def invoke(lambda_client: object, name: str, event: dict[str, object] | None = None) -> dict[str, object]:
    response = lambda_client.invoke(FunctionName=name, Payload=json.dumps(event or {}))  # type: ignore[attr-defined]
    return json.loads(response["Payload"].read())  # type: ignore[no-any-return]


def containers_of(function_name: str) -> list[str]:
    import docker

    labels = ["lsim.managed=1", f"lsim.function={function_name}"]
    return [c.id for c in docker.from_env().containers.list(all=True, filters={"label": labels})]


@pytest.mark.docker
def test_a_code_change_reloads_while_in_flight_invocations_finish_on_the_old_code(tmp_path: Path) -> None:
    name = f"reload-{uuid.uuid4().hex[:8]}"
    folder = write_project(tmp_path, name)
    served = start_serve(folder, "--watch", "--backend", "docker")
    try:
        lambda_client = client(served)
        assert invoke(lambda_client, name) == {"version": "v1"}
        slow: dict[str, object] = {}
        in_flight = threading.Thread(target=lambda: slow.update(invoke(lambda_client, name, {"seconds": 4})))
        in_flight.start()
        wait_for(lambda: "started slow invocation" in served.console(), "the slow invocation to start")

        (folder / "src" / "app.py").write_text(APP.format(version="v2"))
        wait_for(lambda: f"reloaded {name}" in served.console(), "the reload")
        assert invoke(lambda_client, name) == {"version": "v2"}

        in_flight.join()
        assert slow == {"version": "v1"}, "the in-flight invocation must finish on the code it started with"
        reload_line = next(line for line in served.lines if f"reloaded {name}" in line)
        assert "src/app.py changed" in reload_line
        assert "1 in-flight invocation(s) finish on the old code" in reload_line
    finally:
        assert stop_serve(served) == 0
    assert containers_of(name) == []


@pytest.mark.docker
def test_a_local_layer_folder_change_reloads_the_functions_that_use_it(tmp_path: Path) -> None:
    name = f"layered-{uuid.uuid4().hex[:8]}"
    folder = write_project(tmp_path, name, layers='layers = ["shared"]\n')
    (folder / "shared" / "python").mkdir(parents=True)
    (folder / "shared" / "python" / "shared_value.py").write_text('VALUE = "first"\n')
    (folder / "src" / "app.py").write_text(
        "import shared_value\n\ndef handler(event, context):\n    return {'value': shared_value.VALUE}\n"
    )
    served = start_serve(folder, "--watch", "--backend", "docker")
    try:
        lambda_client = client(served)
        assert invoke(lambda_client, name) == {"value": "first"}
        (folder / "shared" / "python" / "shared_value.py").write_text('VALUE = "second"\n')
        wait_for(lambda: f"reloaded {name}" in served.console(), "the reload")
        assert invoke(lambda_client, name) == {"value": "second"}
        assert any("shared/python/shared_value.py changed" in line for line in served.lines)
    finally:
        assert stop_serve(served) == 0
    assert containers_of(name) == []


def test_reads_and_caches_do_not_reload_only_real_changes_do(tmp_path: Path) -> None:
    folder = write_project(tmp_path, "quiet")
    said: list[str] = []
    with BlockingSimulator(load_project(folder), backend="process", store=Store(tmp_path / ".lsim")) as lsim:
        watcher = CodeWatcher(lsim.simulator, lsim._loop, said.append)
        watcher.start()
        try:
            source = folder / "src" / "app.py"
            source.read_text()  # a reader (an environment starting) touches the access time only
            (folder / "src" / "__pycache__").mkdir()
            (folder / "src" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"cache")
            (folder / "src" / ".app.py.swp").write_text("editor swap file")
            source.write_text(APP.format(version="v2"))
            wait_for(lambda: watcher.reloads > 0, "the reload")
        finally:
            watcher.stop()
    assert watcher.reloads == 1
    assert said == [
        "reloaded quiet: src/app.py changed; new invocations start fresh environments",
    ]
