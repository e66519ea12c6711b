"""The HTTP server of the Lambda Runtime API (2018-06-01) and Extensions API (2020-01-01): the wire format.

Each execution environment's runtime (and its extensions) talk to lsim over HTTP on one listening port per
environment, so an environment is known by the port its runtime connected to. On Docker the port is bound
to the gateway address of the environment's network: that address stays reachable from a container even
on an `--internal` network.

This module reads requests and renders answers; what they mean is decided by the environment's channels
(simulator/channels/: RuntimeChannel, ExtensionsChannel), which speak in domain values and know nothing of
HTTP. Paths, headers, status codes and error bodies follow AWS's OpenAPI specs, so AWS's own runtime
interface clients and extensions work unchanged; this module is the only place that knows that wire format.
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html

On AWS the Runtime API is reachable only from inside its own sandbox. Here every container on the host can
reach every port, so each connection is checked once, when it is accepted: it must come from the address the
environment's sandbox has (and, where environments share an address, from a socket the environment owns).
Anything else is reset before a byte is read. The warm path pays nothing for it: a runtime keeps its
connection open.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiohttp import web

from .channels import (
    RESPONSE_LIMIT_SLACK,
    Accepted,
    EnvironmentGone,
    ExtensionEvent,
    Refused,
    Registered,
    RuntimeChannel,
    Subscription,
)
from .invocation import error_body

__all__ = ["RESPONSE_LIMIT_SLACK", "RuntimeApiServer", "RuntimeChannel"]

PREFIX = "/2018-06-01"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
# AWS's runtime clients send an error's X-Ray cause (Lambda-Runtime-Function-XRay-Error-Cause) as a header
# of up to 1 MiB (awslambdaric drops a larger one): aiohttp's 8 KB default refused a long error message.
XRAY_CAUSE_MAX_BYTES = 1024 * 1024 + 1024

EXTENSIONS = "/2020-01-01/extension"
NAME_HEADER = "Lambda-Extension-Name"
IDENTIFIER_HEADER = "Lambda-Extension-Identifier"
EXTENSION_ERROR_TYPE_HEADER = "Lambda-Extension-Function-Error-Type"
EVENT_IDENTIFIER_HEADER = "Lambda-Extension-Event-Identifier"
TELEMETRY = "/2022-07-01/telemetry"
LOGS = "/2020-08-15/logs"

#: The status code of each refusal a channel gives, as AWS's specs answer them.
REFUSAL_STATUS = {
    "InvalidRequestID": 400,
    "InvalidStateTransition": 403,
    "RequestEntityTooLarge": 413,
    "InvalidRequest": 400,
    "InvalidEventType": 400,
    "Extension.RegistrationForbidden": 403,
    "Extension.TooManyExtensions": 403,
    "Extension.UnknownExtensionIdentifier": 403,
    "Extension.MissingExtensionIdentifier": 403,
    "ValidationError": 400,
    "Logs.ValidationError": 400,
    "Telemetry.SubscriptionClosed": 403,
    "Logs.SubscriptionClosed": 403,
}

#: How long a connection that arrives before lsim knows the sandbox's address waits for it (the address comes
#: right after the container starts: one inspect).
ADMISSION_WAIT_S = 30.0


def _render(answer: Accepted | Refused | Registered | ExtensionEvent | Subscription) -> web.Response:
    """A channel's answer on the wire."""
    if isinstance(answer, Subscription):  # the Telemetry and Logs APIs answer 200 with the JSON string "OK"
        return web.Response(status=200, text='"OK"', content_type="application/json")
    if isinstance(answer, Accepted):
        return web.Response(status=202, text='{"status":"OK"}', content_type="application/json")
    if isinstance(answer, Refused):
        return web.Response(
            status=REFUSAL_STATUS[answer.error_type],
            body=error_body(answer.error_type, answer.message),
            content_type="application/json",
            charset="utf-8",
        )
    if isinstance(answer, Registered):
        return web.json_response(dict(answer.identity), headers={IDENTIFIER_HEADER: answer.extension_id})
    return web.json_response(answer.event, headers={EVENT_IDENTIFIER_HEADER: answer.event_id})


def _container_error() -> web.HTTPInternalServerError:
    """AWS's answer once the environment is broken or going away (EnvironmentGone); the runtime should exit."""
    message = "Container error. Non-recoverable state. Runtime should exit promptly."
    return web.HTTPInternalServerError(
        text=error_body("Runtime.ExitError", message).decode(), content_type="application/json"
    )


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
        app.router.add_put(TELEMETRY, self._subscribe)
        app.router.add_put(LOGS, self._subscribe)
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
        try:
            handed = await channel.next(lambda: _connected(request))
        except EnvironmentGone:
            raise _container_error() from None
        invocation = handed.invocation
        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(handed.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.invoked_function_arn,
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
        }
        if invocation.client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = invocation.client_context
        if invocation.tenant_id is not None:  # aws-lambda-python-runtime-interface-client: context.tenant_id
            headers["Lambda-Runtime-Aws-Tenant-Id"] = invocation.tenant_id
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
        body = await self._read_limited(request, channel.accepted_bytes)
        request_id = request.match_info["request_id"]
        if body is None:
            return _render(channel.too_large(request_id))
        return _render(channel.respond(request_id, body))

    async def _error(self, request: web.Request) -> web.Response:
        """An error payload counts against the same limit as a response."""
        channel = self._channel(request)
        body = await self._read_limited(request, channel.accepted_bytes)
        request_id = request.match_info["request_id"]
        if body is None:
            return _render(channel.too_large(request_id))
        return _render(channel.fail(request_id, body, request.headers.get(ERROR_TYPE_HEADER)))

    async def _init_error(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        body = await self._read_limited(request, channel.accepted_bytes)
        if body is None:
            return _render(channel.too_large(None))
        return _render(channel.runtime_init_error(body, request.headers.get(ERROR_TYPE_HEADER)))

    # -- the Extensions API (channels/extensions.py holds its state) --------------------------------------
    async def _extension_register(self, request: web.Request) -> web.Response:
        extensions = self._channel(request).extensions
        body = await request.read()
        name = request.headers.get(NAME_HEADER, "")
        if not name:
            return _render(Refused("InvalidRequest", f"missing header {NAME_HEADER}: give the extension's file name"))
        return _render(extensions.register(name, body))

    async def _extension_next(self, request: web.Request) -> web.Response:
        extensions = self._channel(request).extensions
        extension = extensions.find(request.headers.get(IDENTIFIER_HEADER, ""))
        if extension is None:
            return _render(_UNKNOWN_EXTENSION)
        return _render(await extensions.next_event(extension))

    async def _extension_init_error(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        extension = channel.extensions.find(request.headers.get(IDENTIFIER_HEADER, ""))
        if extension is None:
            return _render(_UNKNOWN_EXTENSION)
        return _render(channel.extension_init_error(extension, request.headers.get(EXTENSION_ERROR_TYPE_HEADER)))

    async def _extension_exit_error(self, request: web.Request) -> web.Response:
        extensions = self._channel(request).extensions
        extension = extensions.find(request.headers.get(IDENTIFIER_HEADER, ""))
        if extension is None:
            return _render(_UNKNOWN_EXTENSION)
        extensions.error(extension, request.headers.get(EXTENSION_ERROR_TYPE_HEADER), "exit")
        return _render(Accepted())

    async def _subscribe(self, request: web.Request) -> web.Response:
        """PUT /2022-07-01/telemetry or /2020-08-15/logs, by a registered extension."""
        channel = self._channel(request)
        identifier = request.headers.get(IDENTIFIER_HEADER, "")
        if not identifier:
            return _render(Refused("Extension.MissingExtensionIdentifier", f"Missing {IDENTIFIER_HEADER} header"))
        extension = channel.extensions.find(identifier)
        if extension is None:
            return _render(Refused("Extension.UnknownExtensionIdentifier", f"Unknown extension {identifier}"))
        api = "telemetry" if request.path == TELEMETRY else "logs"
        body = await request.read()
        return _render(channel.telemetry.subscribe(api, extension.id, extension.name, body))


_UNKNOWN_EXTENSION = Refused("Extension.UnknownExtensionIdentifier", f"{IDENTIFIER_HEADER} is missing or unknown")


def _connected(request: web.Request) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()
