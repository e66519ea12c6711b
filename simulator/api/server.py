"""The runner that binds the Lambda API to a socket, on the event loop the Simulator runs on.

Every connection aiohttp's server accepts gets TCP_NODELAY (aiohttp's `BaseProtocol.connection_made`
sets it), without which each answer would wait ~40 ms for a delayed ACK.

File descriptors are bounded so that idle clients cannot stall the server: idle keep-alive connections
close after KEEPALIVE_TIMEOUT, at most `max_connections` are open (a new one closes the longest-idle
one), and when accept() still fails with EMFILE/ENFILE (descriptors taken elsewhere in the process)
idle connections are closed so that asyncio's retry, a second later, finds room.
"""

from __future__ import annotations

import asyncio
import errno
import resource
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..errors import PortInUseError
from .app import API, LambdaApi, Say, make_app
from .guard import Guard
from .sigv4 import Verifier

if TYPE_CHECKING:
    from ..simulator import Simulator

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9001
#: seconds an idle keep-alive connection (or one that never sends a request) stays open: aiohttp's
#: `run_app` default; SDKs' pools notice a closed connection and open another
KEEPALIVE_TIMEOUT = 75.0
CONNECTIONS_CEILING = 1024
_OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def raise_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit, as servers commonly do; the soft limit after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY or soft >= hard:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (OSError, ValueError):
        return soft
    return hard


def default_max_connections() -> int:
    """Half the descriptors the process may open (the rest is the simulator's: containers, Runtime API
    ports, pipes), between 16 and CONNECTIONS_CEILING."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return CONNECTIONS_CEILING
    return max(16, min(CONNECTIONS_CEILING, soft // 2))


def bind_error(host: str, port: int, exc: OSError, option: str = "--port") -> PortInUseError:
    """Why a port cannot be listened on, naming the option that picks another (`--port`, `--http-port`)."""
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return PortInUseError(
            f"port {port} is already in use on {host} (another `lsim serve`, or another program: "
            f"`ss -ltnp 'sport = :{port}'` shows which): stop it, or pick another port with {option} "
            f"(e.g. {option} {port + 1}, or {option} 0 for any free one)"
        )
    if exc.errno == errno.EACCES:
        return PortInUseError(
            f"not allowed to listen on {where}: ports below 1024 need root; pick {option} 1024 or above"
        )
    return PortInUseError(
        f"cannot listen on {where}: {exc.strerror or exc}; check --host (an address of this machine, "
        f"e.g. {DEFAULT_HOST}) and {option}"
    )


class ApiServer:
    """`await ApiServer(simulator).start()` serves the Lambda API until `close()`. Port 0 picks a free
    port; `url` says which."""

    def __init__(
        self,
        simulator: Simulator,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        say: Say | None = None,
        log_invocations: bool = False,
        allow_hosts: Iterable[str] = (),
        credentials: Mapping[str, str] | None = None,
        max_connections: int | None = None,
        serve_token: str | None = None,
    ) -> None:
        """`allow_hosts`: Host names served besides loopback and `host`. `credentials` (access key id ->
        secret): verify SigV4 signatures against them; None accepts any credentials. `serve_token`: see
        LambdaApi."""
        self.simulator = simulator
        self.host = host
        self.port = port
        self.say = say
        self.guard = Guard(allow_hosts)
        self.app = make_app(
            simulator,
            say=say,
            log_invocations=log_invocations,
            guard=self.guard,
            verifier=Verifier(credentials, simulator.environments.credentials.issued)
            if credentials is not None
            else None,
            serve_token=serve_token,
        )
        self.api: LambdaApi = self.app[API]
        self.max_connections = max_connections or default_max_connections()
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.AbstractServer | None = None
        self._previous_handler: Any = None
        self._out_of_descriptors_said = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> str:
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=2.0, keepalive_timeout=KEEPALIVE_TIMEOUT
        )
        await runner.setup()
        loop = asyncio.get_running_loop()
        try:
            # Our own listener rather than a TCPSite: each accept passes through `_accepted`.
            self._listener = await loop.create_server(
                self._accepted, self.host, self.port, reuse_address=True, backlog=128
            )
        except OSError as exc:
            await runner.cleanup()
            raise bind_error(self.host, self.port, exc) from None
        self._runner = runner
        sockets = self._listener.sockets
        if sockets:  # the port the system chose, for port 0
            self.port = sockets[0].getsockname()[1]
        self.guard.bind(self.host, self.port)
        self._previous_handler = loop.get_exception_handler()
        loop.set_exception_handler(self._loop_exception)
        return self.url

    # -- file descriptors -------------------------------------------------------------------------------
    def _accepted(self) -> asyncio.BaseProtocol:
        """A new connection: over `max_connections`, the longest-idle ones make room for it."""
        assert self._runner is not None and self._runner.server is not None
        server = self._runner.server
        over = len(server.connections) + 1 - self.max_connections
        if over > 0:
            self._close_idle(over)
        return server()

    def _close_idle(self, count: int) -> int:
        """Close up to `count` connections that are not serving a request, longest-open first."""
        if self._runner is None or self._runner.server is None:
            return 0
        closed = 0
        for handler in self._runner.server.connections:
            if closed >= count:
                break
            if getattr(handler, "_request_in_progress", False):
                continue
            handler.force_close()
            closed += 1
        return closed

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """accept() out of descriptors: asyncio stops accepting for a second and tries again; make that
        retry succeed by closing half the idle connections, and say so once."""
        error = context.get("exception")
        if (
            isinstance(error, OSError)
            and error.errno in _OUT_OF_DESCRIPTORS
            and "accept" in context.get("message", "")
            and self._accepts_on(context.get("socket"))
        ):
            assert self._runner is not None and self._runner.server is not None
            idle = sum(1 for h in self._runner.server.connections if not getattr(h, "_request_in_progress", False))
            closed = self._close_idle(max(1, idle // 2))
            if self.say is not None and not self._out_of_descriptors_said:
                self._out_of_descriptors_said = True
                limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
                self.say(
                    f"note: out of file descriptors ({error.strerror}; the limit is {limit}): closed {closed} idle "
                    f"connections and went on serving. Raise the limit (ulimit -n) or lower --max-connections"
                )
            return
        if self._previous_handler is not None:
            self._previous_handler(loop, context)
        else:
            loop.default_exception_handler(context)

    def _accepts_on(self, sock: Any) -> bool:
        """Whether an accept() error is this server's: another server of the process (the simulator's API
        for its functions beside `lsim serve`'s) makes room among its own connections."""
        if sock is None:
            return True
        return any(sock.fileno() == own.fileno() for own in getattr(self._listener, "sockets", None) or ())

    # -- stopping ---------------------------------------------------------------------------------------
    def stop_listening(self) -> None:
        """New connections are refused from now on; requests on open ones get a 503."""
        self.api.draining = True
        if self._listener is not None:
            self._listener.close()

    async def drain(self, timeout: float) -> bool:
        """Stop taking requests and wait, up to `timeout` seconds, for those in flight to be answered;
        False if some were still running."""
        self.stop_listening()
        try:
            await asyncio.wait_for(self.api.drained(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Stop at once: calls still in flight are cut after two seconds (`drain` first to avoid that)."""
        self.stop_listening()
        self._listener = None
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
            loop = asyncio.get_running_loop()
            if loop.get_exception_handler() == self._loop_exception:
                loop.set_exception_handler(self._previous_handler)


async def start_functions_api(
    simulator: Simulator, host: str, port: int = 0, say: Say | None = None, log_invocations: bool = False
) -> ApiServer:
    """lsim's API where the simulator's execution environments reach it (AWS_ENDPOINT_URL_LAMBDA, _SQS), on
    `host` (the address the backend gives containers for this machine) and `port` when it is free, else any
    free port. Every container of the machine can reach that address, so it answers only requests signed
    with the credentials lsim gave the functions' roles (an empty set of others to verify against)."""
    for candidate in dict.fromkeys((port, 0)):
        server = ApiServer(
            simulator, host, candidate, say=say, log_invocations=log_invocations and say is not None, credentials={}
        )
        try:
            await server.start()
        except PortInUseError:
            if candidate == 0:
                raise
            continue
        return server
    raise AssertionError("unreachable: port 0 either binds or raises")
