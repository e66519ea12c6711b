"""The runner that binds the Lambda API to a socket, on the event loop the Simulator runs on.

Every connection aiohttp's server accepts gets TCP_NODELAY (aiohttp's `BaseProtocol.connection_made`
sets it), without which each answer would wait ~40 ms for a delayed ACK.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from aiohttp import web

from ..errors import PortInUseError
from .app import Say, make_app

if TYPE_CHECKING:
    from ..simulator import Simulator

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9001


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
    ) -> None:
        self.simulator = simulator
        self.host = host
        self.port = port
        self.app = make_app(simulator, say=say, log_invocations=log_invocations)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> str:
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_port=False)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise self._bind_error(exc) from None
        self._runner = runner
        if runner.addresses:  # the port the system chose, for port 0
            self.port = runner.addresses[0][1]
        return self.url

    def _bind_error(self, exc: OSError) -> PortInUseError:
        where = f"{self.host}:{self.port}"
        if exc.errno == errno.EADDRINUSE:
            return PortInUseError(
                f"port {self.port} is already in use on {self.host} (another `lsim serve`, or another "
                f"program: `ss -ltnp 'sport = :{self.port}'` shows which): stop it, or pick another port "
                f"with --port (e.g. --port {self.port + 1}, or --port 0 for any free one)"
            )
        if exc.errno == errno.EACCES:
            return PortInUseError(
                f"not allowed to listen on {where}: ports below 1024 need root; pick --port 1024 or above"
            )
        return PortInUseError(
            f"cannot listen on {where}: {exc.strerror or exc}; check --host (an address of this machine, "
            f"e.g. {DEFAULT_HOST}) and --port"
        )

    async def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
