"""The Python runtime client (runtimes/python/bootstrap.py) against a Runtime API test double.

The bootstrap runs as a real subprocess, as lsim starts it; the peer is a small HTTP/1.1 server written
here with http.server (the real server is simulator/runtime_api.py, tested on its own).
"""

from __future__ import annotations

import glob
import json
import os
import queue
import select
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

BOOTSTRAP = Path(__file__).resolve().parents[1] / "runtimes" / "python" / "bootstrap.py"
API = "/2018-06-01/runtime"
NBSP = "\u00a0"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"
TRACE_ID = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419"


class Post:
    """One POST the runtime made: which endpoint, its headers (lower-case names) and body."""

    def __init__(self, path: str, headers: dict[str, str], body: bytes) -> None:
        self.path = path
        self.headers = headers
        self.body = body

    @property
    def kind(self) -> str:
        return self.path.rsplit("/", 1)[-1]  # "response", "error" (invocation or init)

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"Post({self.path!r}, {self.body[:200]!r})"


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a runtime killed in the middle of a long poll is expected here


class FakeRuntimeAPI:
    """A Runtime API double: events are queued by the test, posts are collected for it to check."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, bytes, dict[str, str]]] = queue.Queue()
        self.posts: queue.Queue[Post] = queue.Queue()
        self.status_for: dict[str, int] = {}  # endpoint kind ("response", "error") -> status to answer
        self.close_after_next = False  # answer the next /next with Connection: close
        self.next_requests = 0
        self.connections = 0
        self.timeline: list[tuple[str, float]] = []  # ("get-in"|"get-out"|"post-in"|"post-out", time)
        self._stopping = threading.Event()
        self.server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def stop(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def queue_event(
        self, event: Any = None, *, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> str:
        request_id = str(uuid.uuid4())
        payload = body if body is not None else json.dumps(event).encode()
        self.events.put((request_id, payload, headers or {}))
        return request_id

    def invoke(self, event: Any = None, **kwargs: Any) -> Post:
        """Queue one event and wait for what the runtime posts about it."""
        request_id = self.queue_event(event, **kwargs)
        post = self.wait_post()
        assert f"/invocation/{request_id}/" in post.path, post
        return post

    def wait_post(self, timeout: float = 15) -> Post:
        return self.posts.get(timeout=timeout)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                api.connections += 1

            def parse_request(self) -> bool:
                self._arrived = time.perf_counter()  # before header parsing: the server's own cost
                return super().parse_request()

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str], close: bool = False) -> None:
                """The whole answer in one write, so the double adds no Nagle delay of its own."""
                lines = [f"HTTP/1.1 {status} {'OK' if status < 300 else 'Error'}"]
                lines += [f"{k}: {v}" for k, v in headers.items()]
                lines.append(f"Content-Length: {len(body)}")
                if close:
                    lines.append("Connection: close")
                    self.close_connection = True
                self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

            def _peer_gone(self) -> bool:
                readable, _, _ = select.select([self.connection], [], [], 0)
                return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""

            def do_GET(self) -> None:
                if self.path != API + "/invocation/next":
                    self._send(404, b"{}", {"Content-Type": "application/json"})
                    return
                api.timeline.append(("get-in", self._arrived))
                api.next_requests += 1
                while True:
                    try:
                        request_id, body, extra = api.events.get(timeout=0.05)
                    except queue.Empty:
                        if api._stopping.is_set() or self._peer_gone():
                            self.close_connection = True
                            return
                        continue
                    if self._peer_gone():  # a runtime stopped mid-poll: the event is for another one
                        api.events.put((request_id, body, extra))
                        self.close_connection = True
                        return
                    break
                headers = {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 3000),
                    "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                    "Lambda-Runtime-Trace-Id": TRACE_ID,
                }
                headers.update(extra)
                headers = {k: v for k, v in headers.items() if v is not None}
                close = api.close_after_next
                api.close_after_next = False
                self._send(200, body, headers, close=close)
                api.timeline.append(("get-out", time.perf_counter()))

            def do_POST(self) -> None:
                api.timeline.append(("post-in", self._arrived))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                post = Post(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                status = api.status_for.get(post.kind, 202)
                answer = b'{"status":"OK"}' if status == 202 else b'{"errorType":"X","errorMessage":"no"}'
                self._send(status, answer, {"Content-Type": "application/json"})
                api.timeline.append(("post-out", time.perf_counter()))
                api.posts.put(post)

        return Handler


class Runtime:
    """A running bootstrap process and its captured output."""

    def __init__(self, proc: subprocess.Popen[bytes], out: Path, err: Path) -> None:
        self.proc = proc
        self._out = out
        self._err = err

    @property
    def stdout(self) -> str:
        return self._out.read_text(encoding="utf-8")

    @property
    def stderr(self) -> str:
        return self._err.read_text(encoding="utf-8")

    def wait(self, timeout: float = 15) -> int:
        return self.proc.wait(timeout=timeout)

    def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=15)


@pytest.fixture
def api() -> Iterator[FakeRuntimeAPI]:
    server = FakeRuntimeAPI()
    yield server
    server.stop()


@pytest.fixture
def launch(tmp_path: Path, api: FakeRuntimeAPI) -> Iterator[Any]:
    """Write a function's code and start the bootstrap on it, as lsim's process backend does."""
    started: list[Runtime] = []

    def start(
        files: dict[str, str],
        handler: str = "app.handler",
        env: dict[str, str] | None = None,
        layer_files: dict[str, str] | None = None,
        python: str = sys.executable,
    ) -> Runtime:
        task = tmp_path / "task"
        opt = tmp_path / "opt"
        for root, tree in ((task, files), (opt, layer_files or {})):
            root.mkdir(exist_ok=True)
            for name, text in tree.items():
                path = root / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(textwrap.dedent(text))
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_LAMBDA_RUNTIME_API": api.address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": str(task),
            "_LSIM_OPT_ROOT": str(opt),
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef",
            "AWS_REGION": "us-east-1",
            **(env or {}),
        }
        n = len(started)
        out, err = tmp_path / f"stdout{n}.txt", tmp_path / f"stderr{n}.txt"
        with out.open("wb") as out_file, err.open("wb") as err_file:
            proc = subprocess.Popen(
                [python, "-u", str(BOOTSTRAP)], env=environment, stdout=out_file, stderr=err_file
            )
        runtime = Runtime(proc, out, err)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        if runtime.proc.poll() is None:
            runtime.proc.kill()
            runtime.proc.wait()


def _eventually(check: Any, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# --------------------------------------------------------------------------------------------------
# Success path


def test_return_value_is_posted_as_json(launch: Any, api: FakeRuntimeAPI) -> None:
    runtime = launch({"app.py": "def handler(event, context):\n    return {'got': event, 'ok': True}\n"})
    post = api.invoke({"name": "été", "n": [1, 2.5, None]})
    assert post.kind == "response"
    assert post.headers["content-type"] == "application/json"
    assert post.json() == {"got": {"name": "été", "n": [1, 2.5, None]}, "ok": True}
    assert runtime.terminate() == 0
    assert runtime.stderr == ""


def test_none_bytes_and_decimal_results(launch: Any, api: FakeRuntimeAPI) -> None:
    launch(
        {
            "app.py": """
            import decimal

            def handler(event, context):
                if event == "none":
                    return None
                if event == "bytes":
                    return b"\\x00raw"
                return {"price": decimal.Decimal("1.50"), "nan": decimal.Decimal("NaN")}
            """
        }
    )
    assert api.invoke("none").body == b"null"
    raw = api.invoke("bytes")
    assert raw.body == b"\x00raw"
    assert raw.headers["content-type"] == "application/unknown"
    assert api.invoke("decimal").body == b'{"price": 1.5, "nan": NaN}'


UTF8_APP = """
def handler(event, context):
    if event == "fail":
        raise ValueError("bœuf")
    return "été"
"""


def test_utf8_output_follows_the_python_version(launch: Any, api: FakeRuntimeAPI) -> None:
    """AWS's python3.12+ runtimes write UTF-8 as is; python3.11's escape it."""
    older = launch({"app.py": UTF8_APP}, env={"AWS_EXECUTION_ENV": "AWS_Lambda_python3.11"})
    assert api.invoke("x").body == b'"\\u00e9t\\u00e9"'
    assert older.terminate() == 0

    launch({"app.py": UTF8_APP}, env={"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"})
    assert api.invoke("x").body == '"été"'.encode()
    error = api.invoke("fail")  # non-ASCII in the error document and the X-Ray cause header
    assert error.json()["errorMessage"] == "bœuf"
    assert "bœuf" in error.body.decode()


def test_module_level_code_runs_once(launch: Any, api: FakeRuntimeAPI) -> None:
    runtime = launch(
        {
            "app.py": """
            imports = 0
            imports += 1
            calls = 0
            print("init ran")

            def handler(event, context):
                global calls
                calls += 1
                return {"imports": imports, "calls": calls}
            """
        }
    )
    results = [api.invoke({}).json() for _ in range(3)]
    assert results == [{"imports": 1, "calls": n} for n in (1, 2, 3)]
    assert runtime.stdout.count("init ran") == 1
    assert _eventually(lambda: api.next_requests == 4)  # the fourth long poll is waiting


CONTEXT_APP = """
import os

def handler(event, context):
    cc = context.client_context
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
        "client_context": None if cc is None else {
            "custom": cc.custom, "env": cc.env,
            "client": None if cc.client is None else [cc.client.app_title, cc.client.installation_id],
        },
        "w3c": context.w3c(),
        "tenant_id": context.tenant_id,
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "repr": repr(context),
        "cwd": os.getcwd(),
    }
"""


def test_context_attributes(launch: Any, api: FakeRuntimeAPI, tmp_path: Path) -> None:
    launch({"app.py": CONTEXT_APP})
    client_context = {
        "client": {"installation_id": "inst-1", "app_title": "Demo"},
        "custom": {"k": "v"},
        "env": {"platform": "Android"},
        "w3c": {"traceparent": "00-abc-def-01", "baggage": 5},
    }
    request_id = api.queue_event(
        {},
        headers={
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 5000),
            "Lambda-Runtime-Client-Context": json.dumps(client_context),
            "Lambda-Runtime-Cognito-Identity": json.dumps(
                {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
            ),
            "Lambda-Runtime-Aws-Tenant-Id": "blue",
        },
    )
    got = api.wait_post().json()
    assert got["aws_request_id"] == request_id
    assert got["function_name"] == "fn"
    assert got["function_version"] == "$LATEST"
    assert got["invoked_function_arn"] == FUNCTION_ARN
    assert got["memory_limit_in_mb"] == "256"  # a str, as AWS's runtime gives it
    assert got["log_group_name"] == "/aws/lambda/fn"
    assert got["log_stream_name"] == "2026/01/01/[$LATEST]0123456789abcdef"
    assert 4000 < got["remaining"] <= 5000
    assert got["identity"] == ["id-1", "pool-1"]
    assert got["client_context"] == {
        "custom": {"k": "v"},
        "env": {"platform": "Android"},
        "client": ["Demo", "inst-1"],
    }
    assert got["w3c"] == {"traceparent": "00-abc-def-01"}
    assert got["tenant_id"] == "blue"
    assert got["trace"] == TRACE_ID
    assert got["repr"].startswith(
        f"LambdaContext([aws_request_id={request_id},log_group_name=/aws/lambda/fn,"
    )
    assert got["repr"].endswith(
        "identity=CognitoIdentity([cognito_identity_id=id-1,cognito_identity_pool_id=pool-1]),tenant_id=blue])"
    )
    assert got["cwd"] == str(tmp_path / "task")

    # No trace header, no identity, a deadline already past: the variable goes, the rest defaults.
    past = str(int(time.time() * 1000) - 1000)
    got = api.invoke({}, headers={"Lambda-Runtime-Trace-Id": None, "Lambda-Runtime-Deadline-Ms": past}).json()
    assert got["trace"] is None
    assert got["remaining"] == 0
    assert got["identity"] == [None, None]
    assert got["client_context"] is None
    assert got["tenant_id"] is None


def test_handler_in_subfolder_package_and_layers(launch: Any, api: FakeRuntimeAPI, tmp_path: Path) -> None:
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    app = """
    import sys
    import both, shared, sitelib

    def handler(event, context):
        return {"path": sys.path[:3], "libs": [shared.NAME, sitelib.NAME, both.NAME]}
    """
    site = f"python/lib/{version}/site-packages"
    launch(
        {"sub/dir/app.py": app},
        handler="sub/dir/app.handler",
        layer_files={
            "python/shared.py": "NAME = 'opt/python'\n",
            f"{site}/sitelib.py": "NAME = 'site-packages'\n",
            # The same module in both: the site-packages folder comes first on AWS.
            "python/both.py": "NAME = 'opt/python'\n",
            f"{site}/both.py": "NAME = 'site-packages'\n",
        },
    )
    got = api.invoke({}).json()
    task, opt = str(tmp_path / "task"), str(tmp_path / "opt")
    assert got["path"] == [task, f"{opt}/{site}", f"{opt}/python"]
    assert got["libs"] == ["opt/python", "site-packages", "site-packages"]


def test_dotted_package_handler(launch: Any, api: FakeRuntimeAPI) -> None:
    launch(
        {"pkg/__init__.py": "", "pkg/mod.py": "def run(event, context):\n    return __name__\n"},
        handler="pkg.mod.run",
    )
    assert api.invoke({}).json() == "pkg.mod"


# --------------------------------------------------------------------------------------------------
# Errors during an invocation


def test_exception_is_posted_to_error(launch: Any, api: FakeRuntimeAPI, tmp_path: Path) -> None:
    runtime = launch(
        {
            "app.py": """
            def helper(event):
                raise ValueError("boom")

            def handler(event, context):
                if event.get("fail"):
                    helper(event)
                return "fine"
            """
        }
    )
    app_path = str(tmp_path / "task" / "app.py")
    request_id = api.queue_event({"fail": True})
    post = api.wait_post()
    assert post.path == f"{API}/invocation/{request_id}/error"
    assert post.headers["lambda-runtime-function-error-type"] == "ValueError"
    assert post.headers["content-type"] == "application/json"
    error = post.json()
    assert error == {
        "errorMessage": "boom",
        "errorType": "ValueError",
        "requestId": request_id,
        "stackTrace": [
            f'  File "{app_path}", line 7, in handler\n    helper(event)\n',
            f'  File "{app_path}", line 3, in helper\n    raise ValueError("boom")\n',
        ],
    }
    cause = json.loads(post.headers["lambda-runtime-function-xray-error-cause"])
    assert cause["exceptions"][0]["type"] == "ValueError"
    assert [frame["label"] for frame in cause["exceptions"][0]["stack"]] == ["handler", "helper"]

    # Logged as AWS does, one block, indentation in NO-BREAK SPACEs; and the loop goes on.
    assert (
        "[ERROR] ValueError: boom\n"
        "Traceback (most recent call last):\n"
        f'{NBSP * 2}File "{app_path}", line 7, in handler\n'
        f"{NBSP * 4}helper(event)\n"
        f'{NBSP * 2}File "{app_path}", line 3, in helper\n'
        f'{NBSP * 4}raise ValueError("boom")\n'
    ) in runtime.stdout
    assert api.invoke({}).json() == "fine"


def test_unserializable_result_is_a_marshal_error(launch: Any, api: FakeRuntimeAPI) -> None:
    runtime = launch({"app.py": "def handler(event, context):\n    return {'s': {1, 2}}\n"})
    request_id = api.queue_event({})
    post = api.wait_post()
    assert post.kind == "error"
    assert post.headers["lambda-runtime-function-error-type"] == "Runtime.MarshalError"
    assert post.json() == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": request_id,
        "stackTrace": [],
    }
    message = "Unable to marshal response: Object of type set is not JSON serializable"
    assert f"[ERROR] Runtime.MarshalError: {message}\nTraceback (most recent call last):\n" in runtime.stdout


def test_invalid_json_event_is_an_unmarshal_error(launch: Any, api: FakeRuntimeAPI) -> None:
    launch({"app.py": "def handler(event, context):\n    return event\n"})
    post = api.invoke(body=b"")
    assert post.kind == "error"
    assert post.json()["errorType"] == "Runtime.UnmarshalError"
    assert (
        post.json()["errorMessage"] == "Unable to unmarshal input: Expecting value: line 1 column 1 (char 0)"
    )


def test_bad_client_context_is_a_context_unmarshal_error(launch: Any, api: FakeRuntimeAPI) -> None:
    launch({"app.py": "def handler(event, context):\n    return event\n"})
    post = api.invoke({}, headers={"Lambda-Runtime-Client-Context": "{not json"})
    assert post.json()["errorType"] == "Runtime.LambdaContextUnmarshalError"
    assert post.json()["errorMessage"].startswith("Unable to parse Client Context JSON: ")


# --------------------------------------------------------------------------------------------------
# Errors during init

INIT_ERRORS = {
    "import error": (
        {"other.py": "x = 1\n"},
        "app.handler",
        "Runtime.ImportModuleError",
        "Unable to import module 'app': No module named 'app'",
    ),
    "missing dependency": (
        {"app.py": "import requests_not_there\n"},
        "app.handler",
        "Runtime.ImportModuleError",
        "Unable to import module 'app': No module named 'requests_not_there'",
    ),
    "missing handler": (
        {"app.py": "def handler(event, context):\n    pass\n"},
        "app.nope",
        "Runtime.HandlerNotFound",
        "Handler 'nope' missing on module 'app'",
    ),
    "syntax error": (
        {"app.py": "def handler(event, context)\n    pass\n"},
        "app.handler",
        "Runtime.UserCodeSyntaxError",
        "Syntax error in module 'app': ",
    ),
    "malformed handler name": (
        {"app.py": "def handler(event, context):\n    pass\n"},
        "apphandler",
        "Runtime.MalformedHandlerName",
        "Bad handler 'apphandler': not enough values to unpack (expected 2, got 1)",
    ),
    "built-in module": (
        {},
        "sys.handler",
        "Runtime.BuiltInModuleConflict",
        "Cannot use built-in module sys as a handler module",
    ),
    "module-level exception": (
        {"app.py": "raise RuntimeError('no config')\n"},
        "app.handler",
        "RuntimeError",
        "no config",
    ),
}


@pytest.mark.parametrize("case", INIT_ERRORS, ids=list(INIT_ERRORS))
def test_init_errors(case: str, launch: Any, api: FakeRuntimeAPI, tmp_path: Path) -> None:
    files, handler, error_type, message = INIT_ERRORS[case]
    runtime = launch(files, handler=handler)
    post = api.wait_post()
    assert post.path == f"{API}/init/error"
    assert post.headers["lambda-runtime-function-error-type"] == error_type
    error = post.json()
    assert error["errorType"] == error_type
    assert error["errorMessage"].startswith(message)
    assert error["requestId"] == ""
    assert runtime.wait() == 1
    assert api.next_requests == 0

    out = runtime.stdout
    assert "LAMBDA_WARNING: Unhandled exception." in out
    assert f"[ERROR] {error_type}: {message}" in out
    assert "Traceback (most recent call last):" in out
    if case == "syntax error":
        app_path = tmp_path / "task" / "app.py"
        assert error["stackTrace"] == [f'  File "{app_path}" Line 1\n    def handler(event, context)\n']
    elif case == "module-level exception":
        # AWS keeps importlib's frames and drops only the runtime's own.
        assert "bootstrap.py" not in "".join(error["stackTrace"])
        assert error["stackTrace"][-1].endswith("in <module>\n    raise RuntimeError('no config')\n")
    else:
        assert error["stackTrace"] == []


# --------------------------------------------------------------------------------------------------
# Logging


LOGGING_APP = """
import logging

logger = logging.getLogger("app")

def handler(event, context):
    logger.debug("debug line")
    logger.info("info line")
    logger.warning("warn %s", "line")
    print("printed")
    return "ok"
"""


def test_logging_default_level_and_format(launch: Any, api: FakeRuntimeAPI) -> None:
    runtime = launch({"app.py": LOGGING_APP})
    request_id = api.queue_event({})
    api.wait_post()
    lines = runtime.stdout.splitlines()
    assert "printed" in lines
    warning = next(line for line in lines if line.startswith("[WARNING]"))
    _level, stamp, rid, message = warning.split("\t")
    assert (rid, message) == (request_id, "warn line")
    assert time.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    assert not any("info line" in line or "debug line" in line for line in lines)


def test_logging_level_from_environment(launch: Any, api: FakeRuntimeAPI) -> None:
    runtime = launch({"app.py": LOGGING_APP}, env={"AWS_LAMBDA_LOG_LEVEL": "TRACE"})
    api.invoke({})
    out = runtime.stdout
    assert "\tdebug line\n" in out and "\tinfo line\n" in out


def test_logging_json_format(launch: Any, api: FakeRuntimeAPI) -> None:
    runtime = launch(
        {"app.py": LOGGING_APP}, env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"}
    )
    request_id = api.queue_event({})
    api.wait_post()
    records = [json.loads(line) for line in runtime.stdout.splitlines() if line.startswith("{")]
    assert [(r["level"], r["message"], r["logger"], r["requestId"]) for r in records] == [
        ("INFO", "info line", "app", request_id),
        ("WARNING", "warn line", "app", request_id),
    ]


# --------------------------------------------------------------------------------------------------
# The Runtime API connection


def test_posts_refused_with_413_or_403_are_logged_and_the_loop_goes_on(
    launch: Any, api: FakeRuntimeAPI
) -> None:
    runtime = launch({"app.py": "def handler(event, context):\n    return event\n"})
    api.status_for["response"] = 413
    assert api.invoke("too big").kind == "response"
    api.status_for["response"] = 403
    assert api.invoke("again").kind == "response"
    api.status_for.clear()
    assert api.invoke("fine").json() == "fine"
    assert (
        "LAMBDA_RUNTIME Failed to post handler success response. Http response code: 413." in runtime.stdout
    )
    assert runtime.proc.poll() is None


def test_a_500_on_a_post_ends_the_runtime(launch: Any, api: FakeRuntimeAPI) -> None:
    runtime = launch({"app.py": "def handler(event, context):\n    return event\n"})
    api.status_for["response"] = 500
    api.invoke({})
    assert runtime.wait() == 1
    assert "500" in runtime.stderr


def test_reconnects_when_the_connection_is_closed(launch: Any, api: FakeRuntimeAPI) -> None:
    launch({"app.py": "def handler(event, context):\n    return event\n"})
    assert api.invoke(1).json() == 1
    assert api.connections == 1  # keep-alive: the next and the response on one connection
    api.close_after_next = True
    assert api.invoke(2).json() == 2
    assert api.invoke(3).json() == 3
    assert api.connections == 2


def test_connection_has_nagle_off(api: FakeRuntimeAPI) -> None:
    """TCP_NODELAY on the runtime's socket, or small posts can wait ~40 ms for a delayed ACK."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("lsim_bootstrap_under_test", BOOTSTRAP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    client = module.RuntimeClient(api.address)
    request_id = api.queue_event({})
    invocation = client.next_invocation()
    assert invocation.request_id == request_id
    assert client._conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    client.post_response(request_id, b"{}", "application/json")
    assert api.wait_post().body == b"{}"
    client._conn.close()


def test_lsim_private_variables_are_hidden(launch: Any, api: FakeRuntimeAPI) -> None:
    app = "import os\n\ndef handler(event, context):\n    return [k for k in os.environ if 'LSIM' in k]\n"
    launch({"app.py": app})
    assert api.invoke({}).json() == []


def test_sigterm_exits_quietly(launch: Any, api: FakeRuntimeAPI) -> None:
    runtime = launch({"app.py": "def handler(event, context):\n    return event\n"})
    api.invoke({})
    assert runtime.terminate() == 0
    assert runtime.stderr == ""


# --------------------------------------------------------------------------------------------------
# Other interpreters and speed


def _other_pythons() -> list[str]:
    """Interpreters 3.9+ on this machine other than the one running the tests (one per version)."""
    candidates = [shutil.which(f"python3.{minor}") for minor in range(9, 16)]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    found: dict[str, str] = {}
    for candidate in filter(None, candidates):
        try:
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[1], sys.executable)"],
                capture_output=True,
                text=True,
                timeout=20,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode != 0 or not probe.stdout.strip():
            continue
        minor, executable = probe.stdout.split(maxsplit=1)
        if int(minor) >= 9 and int(minor) != sys.version_info[1]:
            found.setdefault(minor, executable.strip())
    return sorted(found.values())


OTHER_PYTHONS = _other_pythons()


@pytest.mark.parametrize(
    "python", OTHER_PYTHONS or [pytest.param(None, marks=pytest.mark.skip(reason="no other Python 3.9+"))]
)
def test_runs_on_other_python_versions(python: str, launch: Any, api: FakeRuntimeAPI) -> None:
    app = (
        CONTEXT_APP
        + "\ndef entry(event, context):\n    return handler(event, context) if event else {}['k']\n"
    )
    runtime = launch({"app.py": app}, handler="app.entry", python=python)
    got = api.invoke({"x": 1}).json()
    assert got["memory_limit_in_mb"] == "256"
    assert got["identity"] == [None, None]
    error = api.invoke(None).json()
    assert error["errorType"] == "KeyError"
    assert error["stackTrace"][0].endswith(
        "in entry\n    return handler(event, context) if event else {}['k']\n"
    )
    assert runtime.terminate() == 0


# --------------------------------------------------------------------------------------------------
# The shell custom runtime sample

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "custom-runtime"


@pytest.mark.skipif(shutil.which("curl") is None, reason="the sample needs curl")
def test_custom_runtime_sample(api: FakeRuntimeAPI, tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "_HANDLER": "function.handler",
        "LAMBDA_TASK_ROOT": str(SAMPLE / "src"),
        "TMPDIR": str(tmp_path),
    }
    log = tmp_path / "log.txt"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["/bin/sh", str(SAMPLE / "runtime" / "bootstrap")], env=env, stdout=out, stderr=out
        )
    try:
        first = api.invoke({"message": "hi"}).json()
        assert first["echo"] == {"message": "hi"}
        failed = api.invoke("fail")
        assert failed.kind == "error"
        assert failed.json()["errorType"] == "HandlerError"
        second = api.invoke([1, 2]).json()
        assert second["echo"] == [1, 2]
        assert second["coldStartAt"] == first["coldStartAt"]  # function.sh was sourced once
        assert second["requestId"] != first["requestId"]
        assert "asked to fail" in log.read_text()
    finally:
        proc.kill()
        proc.wait()

    env["_HANDLER"] = "function.nope"
    init = subprocess.run(
        ["/bin/sh", str(SAMPLE / "runtime" / "bootstrap")], env=env, capture_output=True, timeout=30
    )
    assert init.returncode == 1
    post = api.wait_post()
    assert post.path == f"{API}/init/error"
    assert post.headers["lambda-runtime-function-error-type"] == "Runtime.HandlerNotFound"
