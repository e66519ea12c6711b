"""The front door's faces: the pytest fixture's `lsim.http`, `lsim load-test --url`, and a real `lsim serve`
process with its route table and --watch (process backend throughout)."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator.api import start_front_door
from simulator.blocking import BlockingSimulator
from simulator.project import load_project
from simulator.pytest_plugin import LsimFixture
from simulator.store import Store
from tests.cli import lsim as run_lsim
from tests.lsim_processes import STARTUP_WAIT_S, lsim_env

HANDLERS = """
import json, time


def order(event, context):
    return {"statusCode": 200, "body": json.dumps({"id": event["pathParameters"]["id"]})}


def echo(event, context):
    return {"statusCode": 201, "headers": {"x-seen": event["requestContext"]["http"]["method"]},
            "body": event.get("body") or ""}


def slow(event, context):
    time.sleep(0.4)
    return {"statusCode": 200, "body": "done"}
"""

PROJECT = """
[functions.order]
handler = "app.order"
runtime = "python3.11"
code = "src"
[functions.order.events.get]
type = "httpapi"
path = "/orders/{id}"
method = "get"

[functions.echo]
handler = "app.echo"
runtime = "python3.11"
code = "src"
[functions.echo.url]

[functions.slow]
handler = "app.slow"
runtime = "python3.11"
code = "src"
[functions.slow.events.get]
type = "httpapi"
path = "/slow"
method = "get"
[functions.slow.url]
"""


def write_project(folder: Path) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text(HANDLERS)
    (folder / "lsim.toml").write_text(PROJECT)
    return folder


# -- the pytest fixture ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LsimFixture]:
    folder = write_project(tmp_path_factory.mktemp("faces-fixture"))
    lsim = LsimFixture(load_project(folder), "process", tmp_path_factory.mktemp("faces-state"))
    try:
        yield lsim
    finally:
        lsim.close()


def test_the_fixture_sends_http_requests_through_the_routes(fixture: LsimFixture) -> None:
    answer = fixture.http("GET", "/orders/7")
    assert answer.status == 200
    assert answer.json() == {"id": "7"}
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"  # an HTTP API statusCode answer without one
    assert fixture.http_url.startswith("http://127.0.0.1:")


def test_the_fixture_reaches_a_function_url_with_a_json_body(fixture: LsimFixture) -> None:
    url = fixture.function_url("echo")
    assert url.endswith("/") and url != fixture.http_url + "/"
    answer = fixture.http("POST", url + "any/path", json={"a": 1})
    assert answer.status == 201
    assert answer.json() == {"a": 1}
    assert answer.headers["x-seen"] == "POST"
    assert answer.text == '{"a": 1}'


# -- lsim load-test --url ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BlockingSimulator, str, str]]:
    folder = write_project(tmp_path_factory.mktemp("faces-load"))
    lsim = BlockingSimulator(load_project(folder), backend="process", store=Store(folder / ".lsim"))
    try:
        server = lsim.call(start_front_door(lsim.simulator, port=0))
        try:
            yield lsim, server.url, server.url_of("slow")
        finally:
            lsim.call(server.close())
    finally:
        lsim.close()


def test_reserved_concurrency_of_1_is_429_behind_a_url_and_500_behind_an_http_api(
    door: tuple[BlockingSimulator, str, str],
) -> None:
    lsim, api_url, function_url = door
    lsim.call(lsim.simulator.put_function_concurrency("slow", 1))
    try:
        common = ("load-test", "--concurrency", "4", "--max-requests", "12", "--duration", "20s")
        through_url = run_lsim(*common, "--url", function_url)
        assert through_url.returncode == 0, through_url.stderr
        assert "answers by status: 200 " in through_url.stdout
        assert ", 429 " in through_url.stdout
        assert "balanced: 12 sent" in through_url.stdout, through_url.stdout
        through_api = run_lsim(*common, "--url", f"{api_url}/slow")
        assert through_api.returncode == 0, through_api.stderr
        assert "answers by status: 200 " in through_api.stdout
        statuses = through_api.stdout.split("answers by status:")[1].splitlines()[0]
        assert ", 500 " in statuses and "429" not in statuses
        assert "HTTP 500" in through_api.stdout
    finally:
        lsim.call(lsim.simulator.delete_function_concurrency("slow"))


def test_load_test_url_refuses_what_http_cannot_send(door: tuple[BlockingSimulator, str, str]) -> None:
    _, api_url, _ = door
    ran = run_lsim("load-test", "order", "--url", f"{api_url}/orders/1")
    assert ran.returncode != 0 and "--url sends HTTP requests" in ran.stderr
    ran = run_lsim("load-test", "--url", f"{api_url}/orders/1", "--header", "novalue")
    assert ran.returncode != 0 and "NAME:VALUE" in ran.stderr


# -- a real lsim serve ---------------------------------------------------------------------------------------
class ServeProcess:
    def __init__(self, project: Path, *options: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "simulator.cli", "--project", str(project), "serve", "--port", "0", "--backend",
             "process", *options],
            env=lsim_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = STARTUP_WAIT_S) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} from lsim serve: {''.join(self.lines)}") from None
            if line is None:
                raise AssertionError(f"lsim serve exited before {text!r}: {''.join(self.lines)}")
            if text in line:
                return line

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=60)


def test_serve_prints_the_route_table_and_watch_serves_a_new_route(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "project")
    serve = ServeProcess(folder, "--http-port", "0", "--watch")
    try:
        line = serve.wait_for("API routes on ")
        base = line.split("API routes on ", 1)[1].split()[0]
        serve.wait_for("press Ctrl+C to stop")
        said = "".join(serve.lines)
        assert "GET /orders/{id} -> order (API ServerlessHttpApi, HTTP, payload 2.0, stage $default)" in said
        assert "-> echo (auth NONE)" in said and "-> slow (auth NONE)" in said
        with urllib.request.urlopen(f"{base}/orders/3", timeout=60) as answer:
            assert answer.status == 200 and answer.read() == b'{"id": "3"}'
        serve.wait_for("GET /orders/3 -> order 200")
        project = folder / "lsim.toml"
        project.write_text(project.read_text().replace('path = "/orders/{id}"', 'path = "/orders/{id}/items"'))
        serve.wait_for("route + GET /orders/{id}/items -> order", timeout=30)
        assert any("route - GET /orders/{id} -> order" in line for line in serve.lines)
        with urllib.request.urlopen(f"{base}/orders/4/items", timeout=60) as answer:
            assert answer.read() == b'{"id": "4"}'
    finally:
        serve.stop()


def test_serve_opens_no_http_port_for_a_project_without_routes(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (folder / "lsim.toml").write_text('[functions.f]\nhandler = "app.handler"\nruntime = "python3.11"\ncode = "src"\n')
    serve = ServeProcess(folder, "--quiet")
    try:
        serve.wait_for("press Ctrl+C to stop")
        assert not any("HTTP APIs on" in line or "function URLs" in line for line in serve.lines)
    finally:
        serve.stop()


def test_an_explicit_busy_http_port_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    folder = write_project(tmp_path / "project")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve = ServeProcess(folder, "--http-port", str(port))
        try:
            serve.process.wait(timeout=120)
        finally:
            serve.stop()
        said = "".join(serve.lines)
    assert serve.process.returncode != 0
    assert f"port {port} is already in use" in said and "--http-port" in said
