"""One execution environment: a sandbox running a runtime, plus the channel its runtime talks to.

It carries Lambda's lifecycle: the init phase (at most 10 s, unthrottled CPU), invocations handed out
through the Runtime API, the timeout (the environment is stopped and the next invocation is a cold
start), a runtime that exits (Runtime.ExitError), and the platform log lines around each invocation.
https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html

The environment speaks to its runtime and extensions through a RuntimeChannel (channels/), in domain
values; the HTTP endpoint that carries them (runtime_api.py) is reached through the small RuntimeEndpoints
interface, so this module needs no web framework (nor Docker: the sandbox seam has that).

Long because: the lifecycle is one state machine (init, suppressed re-init, invoke, timeout, reset) and the
output that belongs to each phase is settled where the phase ends; split, each half would reach into the other.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from . import platform_log as events
from . import secrets
from .channels import RuntimeChannel, RuntimeOutcome
from .config import FunctionConfig, Limits, ProjectConfig
from .credentials import Credentials
from .debugging import Debugger, wait_first
from .invocation import (
    Invocation,
    InvocationResult,
    Report,
    end_line,
    error_body,
    error_type_of,
    init_report_line,
    init_start_line,
    start_line,
)
from .platform_log import ApplicationFilter, ConsoleLines, PlatformLog
from .sandbox import ExitStatus, Sandbox, SandboxBackend, SandboxSpec
from .sandbox.scratch import ScratchDisk

LogSink = Callable[[str, str], None]  # (function name, text as it arrives)
# With complete logs asked for, the output is fenced once the runtime asks for its next event (at most the
# cap after the outcome); a sandbox that cannot fence its output is waited on until it has been quiet this
# long (the runtime's last lines travel through Docker's pipe separately from its HTTP request).
OUTPUT_SETTLE_S = 0.015
OUTPUT_SETTLE_CAP_S = 0.25
FAILED_INIT_EXIT_WAIT_S = 0.5  # a runtime exits right after it reports an init error
# What an environment keeps of its output for the invocation's log (result.logs); all of it goes to the
# log sink as it arrives, as CloudWatch Logs receives it. Lambda returns only the last 4 KB to the caller
# (X-Amz-Log-Result, https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html): an invocation keeps
# its last 1 MB, and what a function prints between invocations (lsim does not freeze an idle
# environment as Lambda does) its last 64 KB, shown in the next invocation's log.
INVOCATION_OUTPUT_CAP = 1024 * 1024
IDLE_OUTPUT_CAP = 64 * 1024


def lambda_environment(
    function: FunctionConfig,
    version: str,
    project: ProjectConfig,
    credentials: Credentials | None = None,
    endpoint_url: str | None = None,
) -> dict[str, str]:
    """The variables Lambda sets in every execution environment (the role's `credentials` among them), then
    the function's own. `endpoint_url`: lsim's API where the environment reaches it (service_endpoints).
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
    """
    region = project.settings.region
    day = datetime.now(UTC).strftime("%Y/%m/%d")
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": function.logging_config.group(function.name),
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{day}/[{version}]{uuid.uuid4().hex}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        # Set by Lambda but not reserved: a function may override them. The X-Ray daemon's address is
        # Lambda's link-local one (nothing answers it in lsim); LOG_ERROR keeps the X-Ray SDK from
        # raising when there is no segment ("to avoid throwing runtime errors from the X-Ray SDK").
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
    if function.image is None:
        env["_HANDLER"] = function.handler or ""
        env["PATH"] = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"
        env["LD_LIBRARY_PATH"] = (
            "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
        )
        if (function.runtime or "").startswith("python"):
            # PYTHONPATH is not set here: AWS's runtime sets it to /var/runtime for the function once it has
            # built sys.path, and leaves the layers off sys.path when the function sets it itself.
            env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{function.runtime}"
    if credentials is not None:
        env.update(credentials.environment())
    if endpoint_url is not None:
        env.update(service_endpoints(endpoint_url, function.environment))
    if function.logging_config.is_json:  # the runtime formats and filters its log records by these
        env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
        env["AWS_LAMBDA_LOG_LEVEL"] = function.logging_config.application_level or "INFO"
    env.update(secrets.resolve(function.environment, project))
    return env


#: the AWS services lsim answers on its API, as the SDKs name their endpoint variables (AWS_ENDPOINT_URL_ and
#: the service id in upper snake case; botocore 1.31.0 is the first to read them:
#: https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html)
SERVICE_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_SQS")


def service_endpoints(url: str, configured: Mapping[str, str]) -> dict[str, str]:
    """AWS_ENDPOINT_URL_LAMBDA and AWS_ENDPOINT_URL_SQS at lsim's API, so that boto3 in the function reaches
    lsim's functions and queues with no endpoint_url in code. They are not Lambda's reserved keys, so the
    function's own configuration wins: a variable of its own replaces lsim's, and a global AWS_ENDPOINT_URL
    (or AWS_IGNORE_CONFIGURED_ENDPOINT_URLS) of its own means it chose its endpoints itself."""
    if "AWS_ENDPOINT_URL" in configured or "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" in configured:
        return {}
    return {name: url for name in SERVICE_ENDPOINT_VARIABLES}


class RuntimeEndpoints(Protocol):
    """Where runtimes reach their Runtime API: one endpoint per environment (runtime_api.RuntimeApiServer)."""

    async def open(self, host: str, channel: RuntimeChannel) -> str:
        """Listen on `host` for the environment whose state is `channel`; returns `host:port`."""
        ...

    async def close_endpoint(self, address: str) -> None:
        """Stop serving the endpoint `open` returned."""
        ...


class State(enum.Enum):
    NEW = "new"
    IDLE = "idle"
    BUSY = "busy"
    DEAD = "dead"


@dataclass
class InitOutcome:
    """How an init phase ended: "ready", "error" (the runtime posted init/error), "exit", "timeout"."""

    status: str
    duration_ms: float
    error: RuntimeOutcome | None = None
    exit: ExitStatus | None = None


class ExecutionEnvironment:
    """A sandbox plus its Runtime API channel, for one version of one function."""

    def __init__(
        self,
        *,
        function: FunctionConfig,
        version: str,
        spec: SandboxSpec,
        backend: SandboxBackend,
        runtime_api: RuntimeEndpoints,
        limits: Limits,
        log_sink: LogSink | None = None,
        debugger: Debugger | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.debugger = debugger
        self._held_by = debugger.clock if debugger is not None else None  # its timeouts wait while paused
        self.function = function
        self.version = version
        self.spec = spec
        self.backend = backend
        self.runtime_api = runtime_api
        self.limits = limits
        self.log_sink = log_sink
        self.state = State.NEW
        self.last_used = time.monotonic()
        self.invocations = 0
        self._sandbox: Sandbox | None = None
        self._channel: RuntimeChannel | None = None
        self._address: str | None = None
        self._output: collections.deque[bytes] = collections.deque()
        self._output_bytes = 0  # in self._output
        self._output_dropped = 0  # bytes dropped from the front since the last _take_output
        self._last_output = 0.0
        self._disposals: set[asyncio.Future[None]] = set()
        self._generation = 0  # bumped per sandbox: late output of a stopped one is dropped
        self._scratch: ScratchDisk | None = None
        self._init_started = 0.0  # when the last init began (its sandbox started)
        self.platform_log = PlatformLog(function.logging_config)
        # With JSON, the application log level drops lines below it (print() counts as INFO).
        self._app_filter = ApplicationFilter(function.logging_config) if function.logging_config.is_json else None
        self._console = ConsoleLines(self._to_sink)

    # -- output ---------------------------------------------------------------------------------------
    def _sink(self) -> Callable[[bytes], None]:
        generation = self._generation

        def on_output(chunk: bytes) -> None:
            if generation == self._generation:
                self._on_output(chunk)

        return on_output

    def _on_output(self, chunk: bytes) -> None:
        """Keep the last INVOCATION_OUTPUT_CAP bytes (IDLE_OUTPUT_CAP while idle) for the log; whole
        chunks are dropped from the front, so this stays O(1) however much a function prints."""
        self.platform_log.output(chunk)  # to the Telemetry and Logs API subscribers, if any
        if self._app_filter is not None and not (chunk := self._app_filter.feed(chunk)):
            return
        self._output.append(chunk)
        self._output_bytes += len(chunk)
        cap = IDLE_OUTPUT_CAP if self.state is State.IDLE else INVOCATION_OUTPUT_CAP
        while self._output_bytes - len(self._output[0]) >= cap:
            self._output_bytes -= len(dropped := self._output.popleft())
            self._output_dropped += len(dropped)
        self._last_output = time.monotonic()
        if self.log_sink is not None:
            self._console.feed(chunk)

    def _to_sink(self, text: str) -> None:
        if self.log_sink is not None:
            self.log_sink(self.function.name, text)

    @property
    def _console_shown(self) -> bool:
        """A console shows the output: every invocation's end is fenced then, its log asked for or not, so the
        console has each invocation's last line (flushed, newline or not) as it ends."""
        return self.log_sink is not None

    def _take_output(self) -> str:
        if self._app_filter is not None and (rest := self._app_filter.flush()):
            self._output.append(rest)
        data = b"".join(self._output)
        dropped = self._output_dropped
        if len(data) > INVOCATION_OUTPUT_CAP:
            dropped += len(data) - INVOCATION_OUTPUT_CAP
            data = data[-INVOCATION_OUTPUT_CAP:]
        self._output.clear()
        self._output_bytes = self._output_dropped = 0
        if not dropped:
            return data.decode("utf-8", "replace")
        newline = data.find(b"\n") + 1  # start at a whole line
        dropped, data = dropped + newline, data[newline:]
        return f"[lsim: {dropped} bytes of output left out of this log; it keeps the last ones]\n" + data.decode(
            "utf-8", "replace"
        )

    async def _settle_output(self, since: float) -> None:
        """Take in all the output written before the runtime finished: wait until it asks for its next
        event (it is done with this one; what it writes later is the next invocation's, as on Lambda, where
        the environment is frozen until then), then fence the sandbox's output there (sandbox/fence.py).
        A sandbox that cannot fence is waited on until its output is quiet."""
        deadline = time.monotonic() + OUTPUT_SETTLE_CAP_S
        if self._channel is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._channel.polling.wait(), OUTPUT_SETTLE_CAP_S)
        if self._sandbox is not None and await self._sandbox.fence():
            return
        while time.monotonic() < deadline:
            quiet_since = max(self._last_output, since)
            wait = quiet_since + OUTPUT_SETTLE_S - time.monotonic()
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def _settle_failed_init(self) -> None:
        """A runtime that reported its init error exits (AWS's clients do): once its exit is known, all it
        wrote has been read. One that lingers (or hangs, at an init timeout) is fenced where it stands."""
        if self._sandbox is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._sandbox.wait()), FAILED_INIT_EXIT_WAIT_S)
        if not await self._sandbox.fence():
            await self._settle_output(time.monotonic())

    # -- lifecycle ------------------------------------------------------------------------------------
    async def _start_sandbox(self) -> None:
        identity = {
            "functionName": self.function.name,
            "functionVersion": self.version,
            "handler": self.function.handler or "",
        }
        self._channel = RuntimeChannel(self.limits.sync_payload_bytes, identity, _external_extensions(self.spec))
        self._channel.telemetry.attach = self.platform_log.subscribe
        self._channel.telemetry.announce = self.platform_log.publish
        host = self.backend.runtime_api_host(self.spec)
        self._address = await self.runtime_api.open(host, self._channel)
        if self._scratch is None:  # /tmp outlives the sandbox: it survives a reset, as on Lambda
            self._scratch = await asyncio.to_thread(self.backend.scratch_disk, self.spec)
        self._sandbox = self.backend.create(self.spec, self._scratch.path if self._scratch else None)
        self._generation += 1
        await self._sandbox.start(self._address, self._sink())
        if self.debugger is not None:
            self.debugger.environment_started(self._sandbox.debug_address)
        # Its Runtime API answers this sandbox only, as on AWS (channels/runtime.py, runtime_api.py).
        self._channel.admit(self._sandbox.runtime_address, self._sandbox.owns_connection)

    async def init(self, timeout_s: float) -> InitOutcome:
        """Start the sandbox and wait for the runtime's first `next` (init done), an init error, an
        exit or the timeout."""
        try:
            await self._start_sandbox()
        except BaseException:
            await self.stop()
            raise
        assert self._channel is not None and self._sandbox is not None
        started = self._sandbox.started_at or time.monotonic()
        self._init_started = started
        ready: asyncio.Future[Any] = asyncio.ensure_future(self._channel.initialized())
        exited: asyncio.Future[Any] = asyncio.ensure_future(self._sandbox.wait())
        init_error: asyncio.Future[Any] = self._channel.init_error
        done = await wait_first({ready, exited, init_error}, timeout_s, self._held_by)
        ready.cancel()
        exited.cancel()
        duration_ms = ((self._channel.ready_at or time.monotonic()) - started) * 1000
        if init_error in done or init_error.done():
            return InitOutcome("error", duration_ms, error=init_error.result())
        if ready in done:
            self._sandbox.end_init_phase()
            self.state = State.IDLE
            return InitOutcome("ready", duration_ms)
        if exited in done:
            return InitOutcome("exit", duration_ms, exit=exited.result())
        return InitOutcome("timeout", duration_ms)

    async def reset(self, reason: str = "spindown") -> None:
        """Stop the sandbox so the next init starts afresh (after a timeout, a crash or an init failure).
        Extensions subscribed to SHUTDOWN hear `reason` (spindown, timeout, failure) first."""
        await self._dispose(*self._detach(), reason)

    def reset_soon(self, reason: str = "failure") -> None:
        """Like reset(), but the old sandbox is removed in the background, off the caller's path."""
        task = asyncio.ensure_future(self._dispose(*self._detach(), reason))
        self._disposals.add(task)
        task.add_done_callback(self._disposals.discard)

    def _detach(self) -> tuple[Sandbox | None, str | None, RuntimeChannel | None]:
        sandbox, address, channel = self._sandbox, self._address, self._channel
        self._sandbox = self._channel = self._address = None
        self._generation += 1
        if self.state is not State.DEAD:
            self.state = State.NEW
        return sandbox, address, channel

    async def _dispose(
        self, sandbox: Sandbox | None, address: str | None, channel: RuntimeChannel | None, reason: str
    ) -> None:
        if channel is not None and sandbox is not None and channel.extensions.extensions:
            await channel.telemetry.flush()  # what the subscribers are owed, before they hear SHUTDOWN
            await channel.extensions.shutdown(reason)
        if address is not None:
            await self.runtime_api.close_endpoint(address)
        if sandbox is not None:
            await sandbox.stop()

    def after_invoke(self) -> Awaitable[None] | None:
        """What must finish before this environment takes another invocation: its extensions' work on
        the last one (None when it has no extensions)."""
        if self._channel is not None and self._channel.extensions.extensions:
            return self._channel.extensions.idle()
        return None

    async def stop(self) -> None:
        self.state = State.DEAD
        await self.reset()
        if self._disposals:
            await asyncio.gather(*self._disposals, return_exceptions=True)
        if self._scratch is not None:
            scratch, self._scratch = self._scratch, None
            await asyncio.to_thread(scratch.remove)

    # -- invoke ---------------------------------------------------------------------------------------
    @property
    def sandbox_exited(self) -> bool:
        """Its runtime exited while the environment had a sandbox (e.g. it died while idle)."""
        return self._sandbox is not None and self._sandbox.exited

    async def invoke(self, invocation: Invocation, *, want_logs: bool = True) -> InvocationResult:
        """Run one invocation, with the init phase first when this environment is new (a cold start).
        If the runtime exits before it takes the invocation (it died while idle, racing the hand-out),
        the invocation never ran: it runs once more in a fresh sandbox, as Lambda would, instead of
        being charged a Runtime.ExitError."""
        self.state = State.BUSY
        self.invocations += 1
        began = time.monotonic()
        for retry in (False, True):
            logs: list[str] = []
            init = _ColdInit()
            budget = invocation.timeout_s
            cold = self._sandbox is None
            if cold:
                init = await self._cold_init(invocation, logs, want_logs)
                budget -= init.spent_s
            self.platform_log.emit(
                logs,
                events.start(time.time(), invocation.request_id, self.version),
                start_line(invocation.request_id, self.version),
            )
            if init.failure is not None:  # init failed twice: the invocation fails with it
                return await self._finish(invocation, logs, began, init.failure, init, cold, want_logs)
            outcome = await self._run(invocation, budget, may_retry=not retry)
            if outcome is not _NOT_TAKEN:
                break
            self._take_output()  # the dead sandbox's last words went to the log sink already
            self.reset_soon("failure")
        assert not isinstance(outcome, _NotTaken)
        return await self._finish(invocation, logs, began, outcome, init, cold, want_logs)

    async def _cold_init(self, invocation: Invocation, logs: list[str], want_logs: bool = True) -> _ColdInit:
        """The init phase. When it fails or passes 10 s, Lambda runs it again inside the invocation
        ("suppressed init"), bounded by the function's timeout; if that fails too, so does the
        invocation. The failed init is the init phase's; the re-init is the invoke phase's, so REPORT's
        Duration counts it (from its start) and REPORT has no Init Duration."""
        first = await self._init_phase(logs, "init", self.limits.init_timeout_s, want_logs)
        if first.status == "ready":
            return _ColdInit(init_ms=first.duration_ms)
        await self.reset()
        retried = time.monotonic()
        second = await self._init_phase(logs, "invoke", invocation.timeout_s, want_logs)
        began = max(self._init_started, retried)  # lsim's own restart of the sandbox is not Lambda's
        if second.status == "ready":
            return _ColdInit(spent_s=time.monotonic() - retried, invoke_began=began)
        return _ColdInit(_init_failure(invocation, second), invoke_began=began)

    async def _init_phase(self, logs: list[str], phase: str, timeout_s: float, want_logs: bool) -> InitOutcome:
        """One init, with its platform lines: INIT_START (the first only, as Lambda prints it), what the
        init printed, and INIT_REPORT when it failed (with JSON: initStart, initRuntimeDone, initReport)."""
        runtime_version = init_start_line(self.function.runtime or "image")
        self.platform_log.begin_init()
        start = events.init_start(
            time.time(), runtime_version.partition(": ")[2], self.function.name, self.version, phase
        )
        self.platform_log.emit(logs, start, runtime_version if phase == "init" else None)
        outcome = await self.init(timeout_s)
        if (want_logs or self._console_shown) and outcome.status == "ready":  # init's output may still be in a pipe
            await self._settle_output(time.monotonic())
        elif want_logs or self._console_shown:
            await self._settle_failed_init()
        logs.append(self._take_output().rstrip("\n"))
        self._console.flush()
        status = "success" if outcome.status == "ready" else _init_status(outcome)
        error_type = _init_error_type(outcome)
        now = time.time()
        self.platform_log.emit(logs, events.init_runtime_done(now, phase, status, error_type))
        for extension in self._channel.extensions.extensions.values() if self._channel is not None else ():
            self.platform_log.emit(logs, events.extension(now, extension.name, sorted(extension.events)))
        self.platform_log.end_init()
        text = None if status == "success" else init_report_line(outcome.duration_ms, phase, status, error_type)
        self.platform_log.emit(logs, events.init_report(now, phase, status, outcome.duration_ms, error_type), text)
        return outcome

    async def _run(
        self, invocation: Invocation, budget_s: float, may_retry: bool = False
    ) -> RuntimeOutcome | _Failure | _NotTaken:
        """Hand the invocation to the runtime; wait for its outcome, its exit or the deadline.
        _NOT_TAKEN (with `may_retry`) when the runtime exited without ever taking it."""
        assert self._channel is not None and self._sandbox is not None
        response: asyncio.Future[Any] = self._channel.submit(invocation)
        exited: asyncio.Future[Any] = asyncio.ensure_future(self._sandbox.wait())
        done = await wait_first({response, exited}, max(budget_s, 0.001), self._held_by)
        exited.cancel()
        if response in done:
            return response.result()
        response.cancel()
        if exited in done:
            if may_retry and self._channel.handed_out_id != invocation.request_id:
                return _NOT_TAKEN
            return _exit_failure(invocation, exited.result())
        seconds = f"{invocation.timeout_s:.2f}"
        return _Failure(
            "Sandbox.Timedout",
            f"RequestId: {invocation.request_id} Error: Task timed out after {seconds} seconds",
            status="timeout",
            log=f"{_timestamp()} {invocation.request_id} Task timed out after {seconds} seconds",
        )

    async def _finish(
        self,
        invocation: Invocation,
        logs: list[str],
        began: float,
        outcome: RuntimeOutcome | _Failure,
        init: _ColdInit,
        cold: bool,
        want_logs: bool,
    ) -> InvocationResult:
        ended = outcome.at if isinstance(outcome, RuntimeOutcome) else time.monotonic()
        handed_out = self._channel.handed_out_at if self._channel is not None else began
        since = init.invoke_began if init.invoke_began is not None else max(handed_out, began)
        duration_ms = max(0.0, (ended - since) * 1000)
        max_memory = self._sandbox.max_memory_used_mb() if self._sandbox is not None else 0
        status: str | None = None
        error_type: str | None = None
        function_error: str | None
        if isinstance(outcome, _Failure):
            payload = outcome.body or error_body(outcome.error_type, outcome.message)
            function_error, status, error_type = "Unhandled", outcome.status, outcome.error_type
            if status == "timeout" and (want_logs or self._console_shown) and self._sandbox is not None:
                await self._sandbox.fence()  # what it printed until the deadline, before it goes
            self.reset_soon("timeout" if status == "timeout" else "failure")  # Lambda resets it after a failure
        else:
            payload = outcome.body
            function_error = "Unhandled" if outcome.kind == "error" else None
        if (want_logs or self._console_shown) and self._sandbox is not None:
            await self._settle_output(ended)
        output = self._take_output().rstrip("\n")
        self._console.flush()
        if output:
            logs.append(output)
        if isinstance(outcome, _Failure) and outcome.log:
            logs.append(outcome.log)
        report = Report(
            request_id=invocation.request_id,
            duration_ms=duration_ms,
            memory_size_mb=self.function.memory_size,
            max_memory_used_mb=max_memory,
            init_duration_ms=init.init_ms,
            status=status,
            error_type=error_type,
        )
        now = time.time()
        taken = self._channel is not None and self._channel.handed_out_id == invocation.request_id
        latency = (now - (time.monotonic() - handed_out), (ended - handed_out) * 1000) if taken else None
        done_status = status or ("error" if function_error else "success")
        done_type = error_type or (error_type_of(payload) if function_error else None)
        produced = len(payload) if function_error is None else None
        done = events.runtime_done(now, invocation.request_id, done_status, done_type, duration_ms, produced, latency)
        self.platform_log.emit(logs, done, end_line(invocation.request_id))
        self.platform_log.emit(logs, events.report(now, report), report.line())
        self.last_used = time.monotonic()
        if self.state is State.BUSY:
            self.state = State.IDLE
        return InvocationResult(
            request_id=invocation.request_id,
            status_code=200,
            body=payload,
            executed_version=self.version,
            function_error=function_error,
            logs="\n".join(line for line in logs if line) + "\n",
            report=report,
            cold_start=cold,
        )


@dataclass
class _ColdInit:
    """How a cold start's init went: the failure of a suppressed init too, the Init Duration for REPORT (a
    successful first init), the time a suppressed init took from the invocation, and when it began."""

    failure: _Failure | None = None
    init_ms: float | None = None
    spent_s: float = 0.0
    invoke_began: float | None = None


class _NotTaken:
    """The runtime exited before it took the invocation: nothing ran."""


_NOT_TAKEN = _NotTaken()


@dataclass
class _Failure:
    """A failure the platform reports (not the function): timeout, crash, init failure."""

    error_type: str
    message: str
    status: str = "error"
    log: str | None = None
    body: bytes | None = None  # the runtime's own init error body, returned as is

    @property
    def at(self) -> float:
        return time.monotonic()


def _exit_failure(invocation: Invocation, exit: ExitStatus) -> _Failure:
    message = f"RequestId: {invocation.request_id} Error: Runtime exited with error: {exit.describe()}"
    return _Failure("Runtime.ExitError", message, log=f"{message}\nRuntime.ExitError")


def _init_failure(invocation: Invocation, init: InitOutcome) -> _Failure:
    if init.status == "error" and init.error is not None:
        return _InitError(init.error)
    if init.status == "exit" and init.exit is not None:
        return _exit_failure(invocation, init.exit)
    return _Failure(
        "Sandbox.Timedout",
        f"RequestId: {invocation.request_id} Error: Task timed out after {invocation.timeout_s:.2f} seconds",
        status="timeout",
    )


class _InitError(_Failure):
    """The runtime posted /runtime/init/error: the caller gets that body as the error payload."""

    def __init__(self, outcome: RuntimeOutcome) -> None:
        super().__init__(outcome.error_type or "Runtime.Unknown", "", body=outcome.body)


def _init_status(init: InitOutcome) -> str:
    return "timeout" if init.status == "timeout" else "error"


def _init_error_type(init: InitOutcome) -> str | None:
    if init.status == "error" and init.error is not None:
        return init.error.error_type
    if init.status == "exit":
        return "Runtime.ExitError"
    return None


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _external_extensions(spec: SandboxSpec) -> int:
    """How many extensions the environment starts: the executables in the layers' extensions/ folder."""
    folder = spec.opt_dir / "extensions" if spec.opt_dir is not None else None
    if folder is None or not folder.is_dir():
        return 0
    return sum(1 for path in folder.iterdir() if path.is_file() and os.access(path, os.X_OK))
