"""The `lsim` pytest fixture, registered through the `pytest11` entry point: installing lsim is enough.

    def test_orders(lsim):
        result = lsim.invoke("orders", {"id": 1})
        assert result.payload == {...} and result.report.max_memory_used_mb < 128
        with lsim.concurrency("orders", reserved=1):
            ...
        lambda_client = lsim.client()          # boto3, bound to a local Lambda API started on first use
        answer = lsim.http("GET", "/orders/1")  # through the project's API Gateway routes, over real HTTP
        assert answer.status == 200 and answer.json() == {...}
        lsim.http("POST", lsim.function_url("orders") + "any/path", json={...})   # a function URL

One simulator per test session (per pytest-xdist worker: each worker is its own session), started on
first use and closed at the end, which removes every execution environment it started. Each session
keeps its state (`.lsim/`: versions, aliases; and the account's layers) in a folder of its own under
pytest's temporary directory, seeded from the project's own `.lsim/` and the account's store (`~/.lsim`),
so parallel workers never share a database and a test never publishes into the developer's account;
containers are labelled per session.

Options (command line, or the same names in the ini file without the dashes, with `lsim_` and `_`):
`--lsim-project PATH` (default: the nearest lsim.toml from pytest's rootdir upwards; a relative path is
relative to the folder pytest runs in, or in the ini file to the ini file's folder) and
`--lsim-backend docker|process|auto` (default auto).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .blocking import BlockingSimulator
    from .config import ProjectConfig
    from .invocation import InvocationResult


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lsim", "lsim: a local AWS Lambda simulator")
    group.addoption("--lsim-project", default=None, help="lsim.toml (or its folder) for the lsim fixture")
    group.addoption("--lsim-backend", default=None, help="docker, process or auto (default auto)")
    parser.addini("lsim_project", "lsim.toml (or its folder) for the lsim fixture", default="")
    parser.addini("lsim_backend", "docker, process or auto", default="auto")


@dataclass(frozen=True)
class HttpResponse:
    """An answer of the HTTP front door: `status`, `headers` (case-insensitive, repeats kept: `get_all`),
    `body` (bytes), `text`, `json()`."""

    status: int
    headers: Any  # http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class LsimFixture:
    """The simulator a test session shares: invoke functions, scope configuration, get a boto3 client."""

    def __init__(self, project: ProjectConfig, backend: str, state_folder: Path) -> None:
        from .account import account_folder
        from .blocking import BlockingSimulator
        from .store import Store

        self.project = project
        self.state_folder = state_folder
        # The account's layers as they are when the session starts; what the session publishes stays in it.
        account = state_folder / "account"
        account.mkdir(parents=True, exist_ok=True)
        seed_state(account_folder(project.settings), account)
        self.simulator: BlockingSimulator = BlockingSimulator(
            project, backend=backend, store=Store(state_folder), warn=_warn, account=Store(account)
        )
        self._server: Any = None
        self._front_door: Any = None

    # -- invoking -------------------------------------------------------------------------------------
    def invoke(self, function_name: str, payload: Any = b"", **options: Any) -> InvocationResult:
        """Invoke and wait: `.payload`, `.error`, `.function_error`, `.logs`, `.report` (duration, billed
        duration, max memory used, init duration), `.cold_start`. Options as Simulator.invoke:
        qualifier, invocation_type, log_type, client_context, tenant_id (a tenant-isolated function's tenant)."""
        return self.simulator.invoke(function_name, payload, **options)

    def call(self, operation: str, *args: Any, **kwargs: Any) -> Any:
        """Any other operation of the facade, by its name (e.g. "get_function_configuration")."""
        method = getattr(self.simulator.simulator, operation)
        result = method(*args, **kwargs)
        if hasattr(result, "__await__"):
            return self.simulator.call(result)
        return result

    # -- scoped configuration -------------------------------------------------------------------------
    @contextlib.contextmanager
    def concurrency(self, function_name: str, reserved: int | None) -> Iterator[None]:
        """Reserve concurrency for a function inside the block (PutFunctionConcurrency), and restore what
        it had afterwards (DeleteFunctionConcurrency, or the previous reservation)."""
        facade = self.simulator.simulator
        for needed in ("put_function_concurrency", "delete_function_concurrency"):
            if not hasattr(facade, needed):
                raise NotImplementedError(
                    f"this version of lsim has no {needed} operation: reserved concurrency is not simulated yet"
                )
        previous = self._reserved(function_name)
        if reserved is None:
            self.call("delete_function_concurrency", function_name)
        else:
            self.call("put_function_concurrency", function_name, reserved_concurrent_executions=reserved)
        try:
            yield
        finally:
            if previous is None:
                self.call("delete_function_concurrency", function_name)
            else:
                self.call("put_function_concurrency", function_name, reserved_concurrent_executions=previous)

    def _reserved(self, function_name: str) -> int | None:
        facade = self.simulator.simulator
        if hasattr(facade, "get_function_concurrency"):
            current = self.call("get_function_concurrency", function_name)
            value = getattr(current, "reserved_concurrent_executions", current)
            return value if isinstance(value, int) else None
        return self.call("get_function_configuration", function_name).reserved_concurrency  # type: ignore[no-any-return]

    # -- the Lambda API -------------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        """The URL of this session's Lambda API (started on first use, on a free loopback port)."""
        if self._server is None:
            from .api import ApiServer

            server = ApiServer(self.simulator.simulator, port=0)
            self.simulator.call(server.start())
            self._server = server
        return str(self._server.url)

    def client(self, **config: Any) -> Any:
        """A boto3 Lambda client bound to this session's simulator, with dummy credentials and the
        project's Region. `config` goes to botocore's Config (e.g. retries={"max_attempts": 0})."""
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise pytest.UsageError("lsim.client() needs boto3: pip install boto3") from None

        longest = max((f.timeout for f in self.project.functions.values()), default=3)
        options = {"read_timeout": longest + 60, "connect_timeout": 5, **config}
        return boto3.client(
            "lambda",
            endpoint_url=self.endpoint_url,
            region_name=self.project.settings.region,
            aws_access_key_id="lsim",
            aws_secret_access_key="lsim",
            config=Config(**options),
        )

    # -- the HTTP front door ---------------------------------------------------------------------------
    @property
    def front_door(self) -> Any:
        """The project's APIs and function URLs over HTTP (api/front_door.py), started on first use on free
        loopback ports."""
        if self._front_door is None:
            from .api import start_front_door

            self._front_door = self.simulator.call(start_front_door(self.simulator.simulator, port=0))
        return self._front_door

    @property
    def http_url(self) -> str:
        """The base URL of the project's API routes (no stage in the path, as `sam local start-api`)."""
        return str(self.front_door.url)

    def function_url(self, function_name: str) -> str:
        """A function's URL (FunctionUrlConfig), ending in `/`: any path under it reaches the function."""
        return str(self.front_door.url_of(function_name))

    def http(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | str | None = None,
        json: Any = None,
        timeout: float | None = None,
    ) -> HttpResponse:
        """One request through the front door, as a browser or curl would send it: `path` is relative to
        `http_url` (`/orders/1?x=y`), or a whole URL (`lsim.function_url("f") + "path"`). `json` is sent as
        the body with Content-Type application/json."""
        import http.client
        import json as json_module
        from urllib.parse import urlsplit

        url = path if path.startswith(("http://", "https://")) else self.http_url + path
        parts = urlsplit(url)
        sent = dict(headers or {})
        data = body.encode() if isinstance(body, str) else body
        if json is not None:
            data = json_module.dumps(json).encode()
            if not any(name.lower() == "content-type" for name in sent):
                sent["Content-Type"] = "application/json"
        longest = max((f.timeout for f in self.project.functions.values()), default=3)
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80,
                                                timeout=timeout or longest + 60)  # fmt: skip
        try:
            target = parts.path or "/"
            if parts.query:
                target += f"?{parts.query}"
            connection.request(method.upper(), target, body=data, headers=sent)
            response = connection.getresponse()
            return HttpResponse(response.status, response.headers, response.read())
        finally:
            connection.close()

    def close(self) -> None:
        if self._front_door is not None:
            front_door, self._front_door = self._front_door, None
            self.simulator.call(front_door.close(), timeout=30)
        if self._server is not None:
            server, self._server = self._server, None
            self.simulator.call(server.close(), timeout=30)
        self.simulator.close()


def _warn(message: str) -> None:
    import warnings

    warnings.warn(message, stacklevel=2)


def _project_path(config: pytest.Config) -> Path | None:
    """The project the options name. A relative path is read as pytest reads its own: on the command line,
    from the folder pytest was started in (as `--basetemp`); in the ini file, from that file's folder (as
    pytest's `paths` ini values), so it means the same wherever pytest is started."""
    given = config.getoption("--lsim-project")
    base = Path(config.invocation_params.dir)
    if not given:
        given = config.getini("lsim_project")
        if config.inipath is not None:
            base = Path(config.inipath).parent
    if not given:
        return None
    path = Path(given).expanduser()
    return path if path.is_absolute() else base / path


def seed_state(project_state: Path, state: Path) -> None:
    """Start a session's state from the project's own (`.lsim/`), so layers and versions published with
    `lsim layer publish` are there: the database is copied (SQLite's backup API: a consistent copy even
    while another process writes), the content-addressed blobs are shared (written once, never changed)."""
    import sqlite3

    database = project_state / "state.db"
    if database.is_file():
        source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        target = sqlite3.connect(state / "state.db")
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
    blobs = project_state / "blobs"
    if blobs.is_dir():
        (state / "blobs").symlink_to(blobs.resolve(), target_is_directory=True)


def _worker() -> str:
    """pytest-xdist's worker id (gw0, gw1...), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def lsim(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LsimFixture]:
    """A local Lambda simulator for the project under test, shared by the session (one per xdist worker)."""
    from .errors import LsimError
    from .project import find_project_file, load_project
    from .store import STATE_FOLDER

    config = request.config
    try:
        path = _project_path(config) or find_project_file(Path(config.rootpath))
        project = load_project(path)
    except LsimError as error:
        raise pytest.UsageError(f"lsim fixture: {error}") from None
    backend = config.getoption("--lsim-backend") or config.getini("lsim_backend") or "auto"
    state = tmp_path_factory.mktemp(f"lsim-state-{_worker()}", numbered=True)
    seed_state(project.root / STATE_FOLDER, state)
    fixture = LsimFixture(project, backend, state)
    try:
        yield fixture
    finally:
        fixture.close()
