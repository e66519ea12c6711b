"""A synchronous handle on a Simulator, for code that is not async (tests, scripts, the fixture).

The Simulator runs on an event loop in a thread of its own; each call here is that one coroutine run
there and waited for. No second copy of any logic: every method forwards to the async facade.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .config import ProjectConfig
from .invocation import InvocationResult
from .simulator import Simulator

T = TypeVar("T")


class BlockingSimulator:
    """`with BlockingSimulator(project) as lsim: lsim.invoke("hello", {...})`."""

    def __init__(self, project: ProjectConfig, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="lsim-loop", daemon=True)
        self._thread.start()
        self.simulator = self.call(self._make(project, options))

    async def _make(self, project: ProjectConfig, options: dict[str, Any]) -> Simulator:
        simulator = Simulator(project, **options)
        await simulator.start()
        return simulator

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run a coroutine on the simulator's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def invoke(self, function_name: str, payload: Any = b"", **options: Any) -> InvocationResult:
        """Invoke and wait; the log is complete (see Simulator.invoke's `complete_logs`)."""
        options.setdefault("complete_logs", True)
        return self.call(self.simulator.invoke(function_name, payload, **options))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self.call(self.simulator.close(), timeout=120)
            self.call(_cancel_remaining(), timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    def __enter__(self) -> BlockingSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _cancel_remaining() -> None:
    """Cancel what is left on the loop (e.g. a request a dying runtime left open) before it closes."""
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
