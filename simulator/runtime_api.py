"""The Lambda Runtime API (2018-06-01) that each execution environment's runtime talks to.

lsim serves it on the host, one listening port per execution environment, so an environment is known by
the port its runtime connected to. On Docker the port is bound to the gateway address of the
environment's network: that address stays reachable from a container even on an `--internal` network.

Paths, headers, status codes and error bodies follow AWS's OpenAPI spec of the Runtime API
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), so AWS's own runtime interface
clients work unchanged. This module is the only place that knows that wire format.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

from aiohttp import web

from .extensions_api import PREFIX as EXTENSIONS
from .extensions_api import ExtensionsChannel
from .invocation import Invocation

PREFIX = "/2018-06-01"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
# AWS's runtime clients send an error's X-Ray cause (Lambda-Runtime-Function-XRay-Error-Cause) as a header
# of up to 1 MiB (awslambdaric drops a larger one): aiohttp's 8 KB default refused a long error message.
XRAY_CAUSE_MAX_BYTES = 1024 * 1024 + 1024
# AWS answers 413 on a response (or error) of more than 6 MB plus a little framing: 6291556 bytes, the
# figure in its message "Exceeded maximum allowed payload size (6291556 bytes)."
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (6 MB each way, synchronous)
RESPONSE_LIMIT_SLACK = 100


@dataclass(frozen=True)
class RuntimeOutcome:
    """What the runtime posted for an invocation (or at init)."""

    kind: Literal["response", "error"]
    body: bytes
    error_type: str | None = None
    at: float = 0.0  # time.monotonic() when it arrived


def _json_error(status: int, error_type: str, message: str) -> web.Response:
    body = json.dumps({"errorMessage": message, "errorType": error_type})
    return web.Response(status=status, text=body, content_type="application/json")


def _container_error() -> web.HTTPInternalServerError:
    """AWS's answer once the environment is broken or going away; the runtime should exit."""
    return web.HTTPInternalServerError(
        text='{"errorMessage":"Container error. Non-recoverable state. Runtime should exit promptly.",'
        '"errorType":"Runtime.ExitError"}',
        content_type="application/json",
    )


_CLOSED = object()  # queued to wake a waiting `next` when the environment closes


def _accepted() -> web.Response:
    return web.Response(status=202, text='{"status":"OK"}', content_type="application/json")


class RuntimeChannel:
    """The state one execution environment shares with its runtime: the queue of invocations handed to
    it, the ones in flight, and whether init has finished (the runtime's first `next`) or failed."""

    def __init__(
        self, response_limit: int, identity: dict[str, str] | None = None, expected_extensions: int = 0
    ) -> None:
        self.response_limit = response_limit
        self.extensions = ExtensionsChannel(identity or {}, expected_extensions)
        self.ready = asyncio.Event()  # set when the runtime first asks for work: init is done
        self.polling = asyncio.Event()  # set while the runtime waits in `next`: done with its last event
        self.init_error: asyncio.Future[RuntimeOutcome] = asyncio.get_running_loop().create_future()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._in_flight: dict[str, asyncio.Future[RuntimeOutcome]] = {}
        self._finished: set[str] = set()
        self.handed_out_at: float = 0.0
        self.handed_out_id: str | None = None  # the last invocation the runtime took
        self.ready_at: float = 0.0
        self.closed = False

    def close(self) -> None:
        """The environment is going away: wake a runtime waiting in `next` so its request ends."""
        self.closed = True
        self._queue.put_nowait(_CLOSED)

    # -- lsim's side -------------------------------------------------------------------------------
    def submit(self, invocation: Invocation) -> asyncio.Future[RuntimeOutcome]:
        """Queue an invocation for the runtime's next `next`; the future resolves with its outcome."""
        future: asyncio.Future[RuntimeOutcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((invocation, future))
        return future

    # -- the runtime's side ------------------------------------------------------------------------
    async def next(self, alive: Callable[[], bool] | None = None) -> tuple[Invocation, int]:
        """Wait for the next invocation; returns it with its deadline in epoch milliseconds. `alive`
        says whether the runtime that asked is still connected: a runtime that died while waiting
        never takes the invocation, which stays queued (its environment is then found dead)."""
        if not self.ready.is_set():
            self.ready_at = time.monotonic()
            self.ready.set()
        self.polling.set()
        while True:
            item = await self._queue.get()
            if item is _CLOSED or self.closed:
                self._queue.put_nowait(_CLOSED)  # for any other waiter too
                raise _container_error()
            invocation, future = item
            if future.done():  # a cancelled invocation is never handed out
                continue
            if alive is not None and not alive():
                self._queue.put_nowait(item)
                raise _container_error()
            break
        self.polling.clear()
        self.handed_out_at = time.monotonic()
        self.handed_out_id = invocation.request_id
        self._in_flight[invocation.request_id] = future
        deadline_ms = int((time.time() + invocation.timeout_s) * 1000)
        self.extensions.invoke(invocation, deadline_ms)
        return invocation, deadline_ms

    async def initialized(self) -> None:
        """The init phase is over: the runtime and every registered extension asked for their next
        event. `ready_at` is then when the last of them did."""
        await self.ready.wait()
        if self.extensions.expected or self.extensions.extensions:
            await self.extensions.initialized()
            self.ready_at = time.monotonic()
        self.extensions.registration_open = False

    def resolve(self, request_id: str, outcome: RuntimeOutcome) -> web.Response:
        future = self._in_flight.pop(request_id, None)
        if future is None:
            if request_id in self._finished:
                return _json_error(
                    403,
                    "InvalidStateTransition",
                    "State transition from ResponseSent to InvocationResponse failed for runtime. "
                    "Error: State transition is not allowed",
                )
            return _json_error(400, "InvalidRequestID", "Invalid request ID")
        self._finished.add(request_id)
        if len(self._finished) > 1024:
            self._finished.clear()
            self._finished.add(request_id)
        if not future.done():
            future.set_result(outcome)
        return _accepted()

    def fail_init(self, outcome: RuntimeOutcome) -> web.Response:
        if self.ready.is_set() or self.init_error.done():
            return _json_error(
                403, "InvalidStateTransition", "State transition from Ready to InitError failed for runtime."
            )
        self.init_error.set_result(outcome)
        return _accepted()


class RuntimeApiServer:
    """One aiohttp application serving the Runtime API on many ports, one per execution environment."""

    def __init__(self) -> None:
        self._channels: dict[int, RuntimeChannel] = {}
        self._sites: dict[int, web.TCPSite] = {}
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        # The body limit is enforced per route (413 for responses over 6 MB), not by aiohttp.
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get(f"{PREFIX}/runtime/invocation/next", self._next)
        app.router.add_post(f"{PREFIX}/runtime/invocation/{{request_id}}/response", self._response)
        app.router.add_post(f"{PREFIX}/runtime/invocation/{{request_id}}/error", self._error)
        app.router.add_post(f"{PREFIX}/runtime/init/error", self._init_error)
        app.router.add_post(f"{EXTENSIONS}/register", self._extension_register)
        app.router.add_get(f"{EXTENSIONS}/event/next", self._extension_next)
        app.router.add_post(f"{EXTENSIONS}/init/error", self._extension_init_error)
        app.router.add_post(f"{EXTENSIONS}/exit/error", self._extension_exit_error)
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
            max_line_size=XRAY_CAUSE_MAX_BYTES,
            max_field_size=XRAY_CAUSE_MAX_BYTES,
        )
        await self._runner.setup()

    async def open(self, host: str, channel: RuntimeChannel) -> str:
        """Listen for one environment on `host` (a free port); returns `host:port` for
        AWS_LAMBDA_RUNTIME_API."""
        if self._runner is None:
            await self.start()
        assert self._runner is not None
        site = web.TCPSite(self._runner, host, 0, reuse_address=True)
        await site.start()
        server = cast(asyncio.Server, site._server)  # the only way aiohttp exposes the bound port
        assert server is not None and server.sockets
        port = server.sockets[0].getsockname()[1]
        self._channels[port] = channel
        self._sites[port] = site
        return f"{host}:{port}"

    async def close_endpoint(self, address: str) -> None:
        port = int(address.rsplit(":", 1)[1])
        channel = self._channels.pop(port, None)
        if channel is not None:
            channel.close()
        site = self._sites.pop(port, None)
        if site is not None:
            await site.stop()

    async def close(self) -> None:
        for address in [f"x:{port}" for port in list(self._sites)]:
            await self.close_endpoint(address)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _channel(self, request: web.Request) -> RuntimeChannel:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        channel = self._channels.get(sockname[1]) if sockname else None
        if channel is None:
            raise _container_error()
        return channel

    async def _next(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        invocation, deadline_ms = await channel.next(lambda: _connected(request))
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.invoked_function_arn,
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
        }
        if invocation.client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = invocation.client_context
        if invocation.cognito_identity is not None:
            headers["Lambda-Runtime-Cognito-Identity"] = invocation.cognito_identity
        return web.Response(body=invocation.payload, headers=headers, content_type="application/json")

    async def _read_limited(self, request: web.Request, limit: int) -> bytes | None:
        """The whole body, or None when it exceeds `limit` (AWS answers 413 then). Reads until the end
        of the body, not what has arrived so far: a runtime may write a large response in many pieces,
        with or without a Content-Length (chunked)."""
        if request.content_length is not None and request.content_length > limit:
            return None
        body = bytearray()
        while chunk := await request.content.readany():
            body += chunk
            if len(body) > limit:
                return None
        return bytes(body)

    async def _response(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body = await self._read_limited(request, channel.response_limit + RESPONSE_LIMIT_SLACK)
        request_id = request.match_info["request_id"]
        if body is None:
            return _too_large(channel, request_id)
        return channel.resolve(request_id, RuntimeOutcome("response", body, None, time.monotonic()))

    async def _error(self, request: web.Request) -> web.Response:
        """An error payload counts against the same limit as a response."""
        channel = self._channel(request)
        body = await self._read_limited(request, channel.response_limit + RESPONSE_LIMIT_SLACK)
        request_id = request.match_info["request_id"]
        if body is None:
            return _too_large(channel, request_id)
        outcome = RuntimeOutcome("error", body, _error_type(request, body), time.monotonic())
        return channel.resolve(request_id, outcome)

    async def _init_error(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body = await self._read_limited(request, channel.response_limit + RESPONSE_LIMIT_SLACK)
        if body is None:
            return _too_large(channel, None)
        return channel.fail_init(RuntimeOutcome("error", body, _error_type(request, body), time.monotonic()))

    # -- the Extensions API (extensions_api.py holds its state) -----------------------------------------
    async def _extension_register(self, request: web.Request) -> web.Response:
        return self._channel(request).extensions.register(request, await request.read())

    async def _extension_next(self, request: web.Request) -> web.Response:
        extensions = self._channel(request).extensions
        extension = extensions.find(request)
        return extension if isinstance(extension, web.Response) else await extensions.next_event(extension)

    async def _extension_init_error(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        extension = channel.extensions.find(request)
        if isinstance(extension, web.Response):
            return extension
        error_type = channel.extensions.error(extension, request, "init")
        message = f"extension {extension.name} failed to initialize: {error_type}"
        body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
        return channel.fail_init(RuntimeOutcome("error", body, error_type, time.monotonic()))

    async def _extension_exit_error(self, request: web.Request) -> web.Response:
        extensions = self._channel(request).extensions
        extension = extensions.find(request)
        if isinstance(extension, web.Response):
            return extension
        extensions.error(extension, request, "exit")
        return _accepted()


def _connected(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


def _too_large(channel: RuntimeChannel, request_id: str | None) -> web.Response:
    """A body over the limit: the invocation (or the init phase, when `request_id` is None) fails with
    Function.ResponseSizeTooLarge, and the runtime is answered 413 as AWS answers it."""
    limit = channel.response_limit + RESPONSE_LIMIT_SLACK
    message = f"Response payload size exceeded maximum allowed payload size ({limit} bytes)."
    error = json.dumps({"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"}).encode()
    outcome = RuntimeOutcome("error", error, "Function.ResponseSizeTooLarge", time.monotonic())
    if request_id is None:
        refused = channel.fail_init(outcome)
        if refused.status != 202:  # init was already over: the runtime hears that instead
            return refused
    else:
        channel.resolve(request_id, outcome)
    return _json_error(413, "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({limit} bytes).")


def _error_type(request: web.Request, body: bytes) -> str:
    """The error type: the body's errorType if it has one, else the header, else AWS's fallback."""
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict) and isinstance(parsed.get("errorType"), str):
            return parsed["errorType"]
    except ValueError:
        pass
    return request.headers.get(ERROR_TYPE_HEADER) or "Runtime.Unknown"
