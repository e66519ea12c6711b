"""The Lambda Runtime API (2018-06-01) that each execution environment's runtime talks to.

lsim serves it on the host, one listening port per execution environment, so an environment is known by
the port its runtime connected to. On Docker the port is bound to the gateway address of the
environment's network: that address stays reachable from a container even on an `--internal` network.

On AWS the Runtime API is reachable only from inside its own sandbox. Here every container on the host can
reach every port, so each connection is checked once, when it is accepted: it must come from the address the
environment's sandbox has (and, where environments share an address, from a socket the environment owns).
Anything else is reset before a byte is read. The warm path pays nothing for it: a runtime keeps its
connection open.

Paths, headers, status codes and error bodies follow AWS's OpenAPI spec of the Runtime API
(https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html), so AWS's own runtime interface
clients work unchanged. This module is the only place that knows that wire format.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

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
#: How long a connection that arrives before lsim knows the sandbox's address waits for it (the address comes
#: right after the container starts: one inspect).
ADMISSION_WAIT_S = 30.0

#: Whether a connection ((peer host, port), (local host, port)) belongs to the environment, for environments
#: that share one address (the execution environments of a Hyperplane ENI).
ConnectionCheck = Callable[[tuple[str, int], tuple[str, int]], bool]


@dataclass(frozen=True)
class Admission:
    """Who may connect to an environment's Runtime API: `address` (None: anyone, for a backend that cannot tell
    sandboxes apart), and `owns` to tell apart environments sharing that address."""

    address: str | None
    owns: ConnectionCheck | None = None

    def admits(self, peer: Any, local: Any) -> bool:
        if self.address is None:
            return True
        if not peer or peer[0] != self.address:
            return False
        return self.owns is None or self.owns(peer, local)


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
        self.admission: Admission | None = None  # None until the sandbox has started
        self.admitted = asyncio.Event()  # set once `admission` is known, or the environment closes

    def admit(self, address: str | None, owns: ConnectionCheck | None = None) -> None:
        """Accept connections from the environment's own sandbox only, from now on (see Admission)."""
        self.admission = Admission(address, owns)
        self.admitted.set()

    def close(self) -> None:
        """The environment is going away: wake a runtime waiting in `next` so its request ends."""
        self.closed = True
        self._queue.put_nowait(_CLOSED)
        self.admitted.set()

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


class _Doorman(asyncio.Protocol):
    """The first protocol of every accepted connection: hands it to aiohttp if the environment's own sandbox
    made it, resets it otherwise. Until the sandbox's address is known it reads nothing (the bytes wait in the
    kernel) and waits for it."""

    def __init__(self, server: RuntimeApiServer, port: int) -> None:
        self.server = server
        self.port = port
        self.transport: asyncio.Transport | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        channel = self.server._channels.get(self.port)
        if channel is None or channel.closed:
            transport.abort()
        elif channel.admission is not None:
            self._decide(channel)
        else:
            transport.pause_reading()
            task = asyncio.ensure_future(self._wait(channel))
            self.server._waiting.add(task)
            task.add_done_callback(self.server._waiting.discard)

    async def _wait(self, channel: RuntimeChannel) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(channel.admitted.wait(), ADMISSION_WAIT_S)
        if not self.lost:
            self._decide(channel)

    def _decide(self, channel: RuntimeChannel) -> None:
        transport = self.transport
        assert transport is not None
        admission = channel.admission
        peer, local = transport.get_extra_info("peername"), transport.get_extra_info("sockname")
        if admission is None or channel.closed or not admission.admits(peer, local):
            transport.abort()
            return
        assert self.server._runner is not None and self.server._runner.server is not None
        handler = self.server._runner.server()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        self.server._connections.setdefault(self.port, set()).add(transport)
        if not transport.is_reading():
            transport.resume_reading()

    def data_received(self, data: bytes) -> None:  # never: reading starts with aiohttp's protocol
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


class RuntimeApiServer:
    """One aiohttp application serving the Runtime API on many ports, one per execution environment."""

    def __init__(self) -> None:
        self._channels: dict[int, RuntimeChannel] = {}
        self._listeners: dict[int, asyncio.Server] = {}
        self._hosts: dict[int, str] = {}  # port -> the address it listens on
        self._connections: dict[int, set[asyncio.Transport]] = {}  # admitted, by port
        self._waiting: set[asyncio.Future[None]] = set()
        # Ports reserved for the environments of a host address (a VPC's gateway): those the ENIs' packet
        # filters let through. `_grow` reserves more and tells the filters when they run out.
        self._reserved: dict[str, list[int]] = {}
        self._reserved_ports: set[int] = set()
        self._grow: dict[str, Callable[[list[int]], Awaitable[None]]] = {}
        self._grow_locks: dict[str, asyncio.Lock] = {}
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        if self._runner is not None:
            return
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

    async def _listen(self, host: str) -> int:
        """A new listening port on `host`; every connection to it goes through a _Doorman."""
        await self.start()
        port = 0

        def doorman() -> _Doorman:
            return _Doorman(self, port)

        listener = await asyncio.get_running_loop().create_server(doorman, host, 0, reuse_address=True)
        port = listener.sockets[0].getsockname()[1]
        self._listeners[port] = listener
        self._hosts[port] = host
        return int(port)

    async def reserve(self, host: str, count: int, grow: Callable[[list[int]], Awaitable[None]]) -> list[int]:
        """Reserve `count` ports on `host` for its environments (lsim holds them, so no other service on the
        host answers there); when they are all taken, `count` more are reserved and passed to `grow` first."""
        ports = [await self._listen(host) for _ in range(count)]
        self._reserved.setdefault(host, []).extend(ports)
        self._reserved_ports.update(ports)
        self._grow[host] = grow
        self._grow_locks.setdefault(host, asyncio.Lock())
        return ports

    def reserved(self, host: str) -> list[int]:
        """Every port reserved on `host`, taken or free."""
        return sorted(p for p in self._reserved_ports if self._hosts[p] == host)

    async def open(self, host: str, channel: RuntimeChannel) -> str:
        """Listen for one environment on `host` (a free port, or one reserved for `host`); returns `host:port`
        for AWS_LAMBDA_RUNTIME_API. Only the sandbox that `channel.admit` names may connect."""
        free = self._reserved.get(host)
        if free is None:
            port = await self._listen(host)
        else:
            async with self._grow_locks[host]:
                if not free:  # double the reservation; the packet filters learn the new ports first
                    ports = [await self._listen(host) for _ in self.reserved(host)]
                    try:
                        await self._grow[host](ports)
                    except BaseException:
                        for port in ports:
                            self._listeners.pop(port).close()
                        raise
                    free.extend(ports)
                    self._reserved_ports.update(ports)
                port = free.pop()
        self._channels[port] = channel
        return f"{host}:{port}"

    async def close_endpoint(self, address: str) -> None:
        port = int(address.rsplit(":", 1)[1])
        channel = self._channels.pop(port, None)
        if channel is not None:
            channel.close()
        for transport in self._connections.pop(port, ()):  # a reserved port serves another environment next
            transport.abort()
        if port in self._reserved_ports:
            if channel is not None:
                self._reserved[self._hosts[port]].append(port)
            return
        self._hosts.pop(port, None)
        listener = self._listeners.pop(port, None)
        if listener is not None:
            listener.close()

    async def close(self) -> None:
        for port in list(self._channels):
            await self.close_endpoint(f"x:{port}")
        for listener in self._listeners.values():
            listener.close()
        self._listeners.clear()
        self._hosts.clear()
        self._reserved.clear()
        self._reserved_ports.clear()
        for task in list(self._waiting):
            task.cancel()
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
