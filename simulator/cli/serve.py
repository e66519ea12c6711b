"""`lsim serve`: the Lambda API on a local port, for boto3, the AWS CLI and any SDK; `--watch` reloads
code as it changes.

SIGINT/SIGTERM stop it gracefully: the port closes, requests on open connections get a 503, the
synchronous calls in flight finish (bounded by their functions' timeouts) and are answered, then the
execution environments are removed. A second signal stops at once.
"""

import signal
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import LsimError
from .common import DebugPort, describe, exit_code, fail, project_of

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..api.front_door import FrontDoorServer
    from ..config import ProjectConfig
    from ..simulator import Simulator


def _say(line: str) -> None:
    """Console lines, time-stamped, on stderr; flushed at once so a pipe sees them as they happen."""
    sys.stderr.write(f"{datetime.now():%H:%M:%S} {line}\n")
    sys.stderr.flush()


_partial: dict[str, str] = {}  # per function, the start of a line whose end has not arrived yet
# A line longer than this is written out in pieces: a function printing without newlines must not grow
# lsim's memory. CloudWatch Logs splits at its event size, 256 KB
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html).
PARTIAL_LINE_MAX = 256 * 1024


def _function_output(function_name: str, text: str) -> None:
    """What a function prints, as it arrives, each whole line marked with the function's name."""
    *lines, rest = (_partial.pop(function_name, "") + text).split("\n")
    if len(rest) > PARTIAL_LINE_MAX:
        lines.append(rest)
    elif rest:
        _partial[function_name] = rest
    if lines:
        sys.stderr.write("".join(f"  {function_name} | {line}\n" for line in lines))
        sys.stderr.flush()


@dataclass
class Options:
    """What `lsim serve` was asked for, besides the project."""

    host: str = "127.0.0.1"
    port: int = 9001
    watch: bool = False
    backend: str = "auto"
    quiet: bool = False
    allow_hosts: list[str] = field(default_factory=list)
    credentials: dict[str, str] | None = None
    max_connections: int | None = None
    project_files: list[Path] = field(default_factory=list)  # what --watch reads again when it changes
    reload_project: "Callable[[], ProjectConfig] | None" = None
    debug_port: int | None = None
    loaded_as: dict[str, object] = field(default_factory=dict)  # --project/--template, overrides, env-vars
    only: tuple[str, ...] = ()  # `lsim serve F1 F2`
    http_port: int | None = None  # the front door's port; None: 3000, or a free one when 3000 is taken
    http: bool = True  # --no-http: no front door


def read_credentials(
    verify: bool, access_key_id: str | None, secret_access_key: str | None, credentials_file: Path | None
) -> dict[str, str] | None:
    """The access key id -> secret pairs --verify-sigv4 checks signatures against: the pair given as
    options (or LSIM_ACCESS_KEY_ID / LSIM_SECRET_ACCESS_KEY) and every section of an AWS-style
    credentials file. None when signatures are not verified."""
    import configparser

    if not verify:
        if access_key_id or credentials_file:
            raise fail("--access-key-id and --credentials-file take effect with --verify-sigv4: add it")
        return None
    pairs: dict[str, str] = {}
    if access_key_id or secret_access_key:
        if not (access_key_id and secret_access_key):
            raise fail("--verify-sigv4: give both --access-key-id and --secret-access-key (or LSIM_ACCESS_KEY_ID "
                       "and LSIM_SECRET_ACCESS_KEY)")  # fmt: skip
        pairs[access_key_id] = secret_access_key
    if credentials_file is not None:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(credentials_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, configparser.Error) as error:
            raise fail(f"--credentials-file {credentials_file}: cannot read it: {error}") from None
        for name in parser.sections():
            section = parser[name]
            key, secret = section.get("aws_access_key_id"), section.get("aws_secret_access_key")
            if not (key and secret):
                raise fail(f"--credentials-file {credentials_file}: [{name}] needs aws_access_key_id and "
                           "aws_secret_access_key")  # fmt: skip
            pairs[key.strip()] = secret.strip()
    if not pairs:
        raise fail("--verify-sigv4 needs credentials to verify against: --access-key-id with LSIM_SECRET_ACCESS_KEY "
                   "set, or --credentials-file FILE ([NAME] sections with aws_access_key_id and "
                   "aws_secret_access_key, as ~/.aws/credentials)")  # fmt: skip
    return pairs


def serve(
    ctx: typer.Context,
    functions: Annotated[
        list[str] | None,
        typer.Argument(help="serve only these functions; the others are unknown to this server (default: all)"),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="address to listen on (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port to listen on; 0 picks a free one")] = 9001,
    watch: Annotated[
        bool, typer.Option("--watch", help="reload a function when its code or a local layer folder changes")
    ] = False,
    backend: Annotated[str, typer.Option("--backend", help="docker, process or auto")] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no line per invocation, no function output")] = False,
    allow_host: Annotated[
        list[str] | None,
        typer.Option("--allow-host", help="a Host name to serve besides loopback and --host (repeatable)"),
    ] = None,
    verify_sigv4: Annotated[
        bool, typer.Option("--verify-sigv4", help="check SigV4 signatures against the credentials given")
    ] = False,
    access_key_id: Annotated[
        str | None, typer.Option("--access-key-id", envvar="LSIM_ACCESS_KEY_ID", help="with --verify-sigv4")
    ] = None,
    secret_access_key: Annotated[
        str | None,
        typer.Option(
            "--secret-access-key",
            envvar="LSIM_SECRET_ACCESS_KEY",
            help="with --verify-sigv4; prefer the environment variable, which `ps` does not show",
            show_envvar=True,
        ),
    ] = None,
    credentials_file: Annotated[
        Path | None,
        typer.Option("--credentials-file", help="with --verify-sigv4: [NAME] sections as in ~/.aws/credentials"),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option("--max-connections", min=1, help="open connections at most; the longest-idle make room"),
    ] = None,
    debug_port: DebugPort = None,
    http_port: Annotated[
        int | None,
        typer.Option(
            "--http-port",
            min=0,
            max=65535,
            help="the APIs' routes (API Gateway) on this port, function URLs on the next ones; 0 picks a free "
            "one (default 3000, as `sam local start-api`; a free one when 3000 is taken)",
        ),
    ] = None,
    no_http: Annotated[bool, typer.Option("--no-http", help="no HTTP front door (APIs, function URLs)")] = False,
) -> None:
    """Serve the Lambda API (Invoke, GetFunction, ListFunctions, ...) for boto3 and the AWS CLI, and the
    project's API Gateway routes and function URLs over plain HTTP."""
    import asyncio

    from ..project import only_functions

    try:
        project = only_functions(project_of(ctx), functions or ())
    except LsimError as error:
        raise fail(describe(error), exit_code(error)) from None
    project_files, reload_project = _project_reader(ctx, functions or ()) if watch else ([], None)
    options = Options(
        host, port, watch, backend, quiet, list(allow_host or ()),
        read_credentials(verify_sigv4, access_key_id, secret_access_key, credentials_file), max_connections,
        project_files, reload_project,
    )  # fmt: skip
    options.debug_port = debug_port
    options.only = tuple(functions or ())
    options.http_port, options.http = http_port, not no_http
    options.loaded_as = dict(ctx.find_root().obj or {})
    try:
        asyncio.run(_serve(project, options))
    except LsimError as error:
        raise fail(describe(error), exit_code(error)) from None


def _project_reader(ctx: typer.Context, functions: "list[str] | tuple[str, ...]") -> "tuple[list[Path], Any]":
    """The files `--watch` reads again (the project file, an --env-vars file) and how: with the same
    options, and the same function filter."""
    from ..project import load_project, only_functions, project_file_of

    options = ctx.find_root().obj or {}
    project_file = project_file_of(options.get("project"))
    env_vars = options.get("env_vars")

    def reload_project() -> "ProjectConfig":
        project = load_project(
            project_file, parameter_overrides=options.get("parameter_overrides") or (), env_vars=env_vars, warn=_say
        )
        return only_functions(project, functions)

    return [project_file, *([env_vars] if env_vars is not None else [])], reload_project


def _drain_bound(simulator: "Simulator", project: "ProjectConfig") -> float:
    """How long the calls in flight may take: the longest function timeout, a cold start and a margin."""
    timeouts = [function.timeout for function in project.functions.values()]
    for name in project.functions:  # a timeout raised through UpdateFunctionConfiguration counts
        try:
            timeouts.append(simulator.function(name).timeout)
        except LsimError:  # the project's figure stands
            continue
    return max(timeouts, default=3) + project.limits.init_timeout_s + 10.0


def _served_names(project: "ProjectConfig") -> tuple[str, ...]:
    """The names an invoke may use for the functions this serve serves: theirs and their other names."""
    return tuple(sorted({*project.functions, *project.function_ids}))


def _record_serve(simulator: "Simulator", port: int, token: str, options: Options) -> Path | None:
    """Record this serve in the project's .lsim/run/, so that `lsim invoke` goes through it; the path, or
    None when the project file cannot be told (the serve runs, invokes stay in process)."""
    import os

    from ..through_serve.record import ServeRecord, locate_project_file, process_start, write_record

    loaded = options.loaded_as
    project_file = locate_project_file(loaded.get("project"))  # type: ignore[arg-type]
    if project_file is None:
        return None
    env_vars = loaded.get("env_vars")
    key, secret = next(iter((options.credentials or {}).items()), (None, None))
    record = ServeRecord(
        pid=os.getpid(),
        host=options.host,
        port=port,
        token=token,
        project_file=str(project_file),
        parameter_overrides=tuple(str(item) for item in loaded.get("parameter_overrides") or []),  # type: ignore[attr-defined]
        env_vars=str(Path(str(env_vars)).resolve()) if env_vars is not None else None,
        backend=simulator.backend.name if simulator.backend is not None else options.backend,
        region=simulator.project.settings.region,
        process_start=process_start(os.getpid()),
        access_key_id=key,
        secret_access_key=secret,
        functions=_served_names(simulator.project) if options.only else None,
        credentials=loaded.get("credentials"),  # type: ignore[arg-type]
        profile=loaded.get("profile"),  # type: ignore[arg-type]
    )
    try:
        return write_record(project_file.parent, record)
    except OSError as error:
        _say(f"note: cannot record this serve in {project_file.parent / '.lsim'} ({error}): `lsim invoke` runs in "
             "process")  # fmt: skip
        return None


async def _serve(project: "ProjectConfig", options: Options) -> None:
    import asyncio

    from ..api import ApiServer
    from ..api.front_door import FrontDoorServer
    from ..api.server import raise_file_limit
    from ..simulator import Simulator
    from ..through_serve.record import new_token, remove_record
    from ..watch import CodeWatcher

    raise_file_limit()
    loop = asyncio.get_running_loop()
    stop, now = asyncio.Event(), asyncio.Event()

    def signalled() -> None:
        (now if stop.is_set() else stop).set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, signalled)
    simulator = Simulator(
        project, backend=options.backend, progress=_say, warn=_say,
        log_sink=None if options.quiet else _function_output, debug_port=options.debug_port,
    )  # fmt: skip
    # Functions reach the API on the containers' address of this machine, with the same port number when free.
    simulator.functions_api_port = options.port
    simulator.functions_api_say = None if options.quiet else _say
    await simulator.start()
    host = options.host
    token = new_token()
    server = ApiServer(
        simulator, host, options.port, say=_say, log_invocations=not options.quiet, allow_hosts=options.allow_hosts,
        credentials=options.credentials, max_connections=options.max_connections, serve_token=token,
    )  # fmt: skip
    watcher: CodeWatcher | None = None
    record: Path | None = None
    front: FrontDoorServer | None = None
    try:
        url = await server.start()
        record = _record_serve(simulator, server.port, token, options)
        functions = ", ".join(sorted(project.functions)) or "none (add [functions.NAME] to lsim.toml)"
        region = project.settings.region
        _say(f"lsim serve: the Lambda API on {url} (project {project.root}, Region {region})")
        _say(f"functions: {functions}")
        queues = ", ".join(queue.name for queue in simulator.queues.list_queues()) or "none yet"
        _say(f'queues: {queues}; the SQS API answers on the same URL: boto3.client("sqs", endpoint_url="{url}")')
        if options.credentials is None:
            _say("accepting any AWS credentials: requests must be SigV4-signed, signatures are not checked "
                 "(--verify-sigv4 checks them)")  # fmt: skip
        else:
            _say(f"verifying SigV4 signatures: {len(options.credentials)} access key(s) accepted")
        if project.settings.credentials == "developer":
            profile = f" (profile {project.settings.profile})" if project.settings.profile else ""
            _say(f"functions get your own AWS credentials{profile}, as `sam local` passes them, and reach AWS's "
                 "own endpoints (lsim sets no AWS_ENDPOINT_URL_LAMBDA / _SQS for them)")  # fmt: skip
        else:
            _say("functions get local AWS credentials for their execution roles (lsim's own, unknown to AWS; "
                 "--credentials developer gives them yours)")  # fmt: skip
        hosts = ", ".join(["loopback", *([] if host in ("127.0.0.1", "localhost", "::1") else [host]),
                           *options.allow_hosts])  # fmt: skip
        _say(f"serving Host names: {hosts}; the Lambda API refuses browsers' cross-origin requests")
        functions_url = await simulator.functions_api_url() if project.settings.credentials == "local" else None
        if functions_url is not None:
            _say(f"functions reach this API at {functions_url} (AWS_ENDPOINT_URL_LAMBDA and AWS_ENDPOINT_URL_SQS, "
                 "boto3's own variables), signed with their roles' local credentials")  # fmt: skip
        _say(f'boto3.client("lambda", endpoint_url="{url}", region_name="{region}")  |  '
             f"aws lambda invoke --endpoint-url {url} --function-name NAME out.json")  # fmt: skip
        if host not in ("127.0.0.1", "localhost", "::1"):
            _say(f"note: listening on {host}, not only loopback: anyone who reaches it can run your functions")
        front = await _start_front_door(simulator, options)
        if options.watch:
            watcher = CodeWatcher(
                simulator, loop, _say, project_files=options.project_files, reload_project=options.reload_project,
                on_project=_front_door_reloader(front),
            )  # fmt: skip
            await asyncio.to_thread(watcher.start)
            _say(f"watching {watcher.describe} for changes")
        if options.debug_port is not None:
            _say(f"debugger: Python functions run under debugpy; attach your IDE to 127.0.0.1:{options.debug_port}. "
                 "While debugging, invocations run one at a time (concurrency 1): "
                 "each waits for the one before")  # fmt: skip
        if record is not None:
            _say("`lsim invoke` in this project goes through this serve, warm (--no-serve runs it in process)")
        _say("press Ctrl+C to stop")
        await stop.wait()
        if record is not None:  # `lsim invoke` runs in process from now on
            remove_record(record, token)
        bound = _drain_bound(simulator, project)
        if server.api.in_flight:
            _say(f"stopping: finishing {server.api.in_flight} call(s) in flight (at most {bound:.0f} s; Ctrl+C "
                 "again stops at once), taking no new ones")  # fmt: skip
        drained = asyncio.ensure_future(server.drain(bound))
        forced = asyncio.ensure_future(now.wait())
        await asyncio.wait({drained, forced}, return_when=asyncio.FIRST_COMPLETED)
        forced.cancel()
        if not drained.done() or not drained.result():
            drained.cancel()
            _say("stopping now: calls still in flight are cut")
        _say("stopping: closing the API and removing execution environments")
    finally:
        if record is not None:
            remove_record(record, token)
        if watcher is not None:
            await asyncio.to_thread(watcher.stop)
            await watcher.wait_idle()
        if front is not None:
            await front.close()
        await server.close()
        await simulator.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _start_front_door(simulator: "Simulator", options: Options) -> "FrontDoorServer | None":
    """The project's APIs and function URLs over HTTP, and the route table said; None with --no-http or when
    the project declares neither. An explicit --http-port that is taken is an error; the default 3000 taken
    falls back to a free port, said."""
    from ..api.front_door import DEFAULT_PORT, FrontDoorServer
    from ..errors import PortInUseError
    from ..gateway.models import FrontDoorError, front_door

    if not options.http:
        return None
    try:
        table = front_door(simulator.project)
    except FrontDoorError as error:
        raise ProjectRoutesError(str(error)) from None
    if table.empty:
        return None

    def on_port(port: int) -> FrontDoorServer:
        return FrontDoorServer(
            simulator, options.host, port, say=_say, log_requests=not options.quiet,
            allow_hosts=options.allow_hosts, credentials=options.credentials, table=table,
        )  # fmt: skip

    front = on_port(options.http_port if options.http_port is not None else DEFAULT_PORT)
    try:
        await front.start()
    except PortInUseError:
        if options.http_port is not None:
            raise
        front = on_port(0)
        await front.start()
        _say(f"note: port {DEFAULT_PORT} is taken, so the APIs answer on port {front.port} instead "
             f"(--http-port PORT picks one)")  # fmt: skip
    if table.routes:
        _say(f"API routes on {front.url} (API Gateway's REST and HTTP APIs, without the stage in the path):")
    else:
        _say(f"function URLs (no API route declared; {front.url} answers Not Found):")
    for line in front.route_table():
        _say(f"  {line}")
    return front


def _front_door_reloader(front: "FrontDoorServer | None") -> "Callable[[ProjectConfig], Any] | None":
    """For --watch: the route table of the project read again, served at once; the lines that changed."""
    if front is None:
        return None

    async def reload(project: "ProjectConfig") -> list[str]:
        from ..gateway.models import FrontDoorError, front_door

        try:
            table = front_door(project)
        except FrontDoorError as error:
            return [f"the routes stay as they were: {error}"]
        return [f"route {line}" for line in await front.reload(table)]

    return reload


class ProjectRoutesError(LsimError):
    """A route or function URL the front door cannot serve (gateway/models.py says where and why)."""
