"""Long polling: a waiting ReceiveMessage sleeps until a send or a change of visibility on its queue
wakes it, or until the next delayed or in-flight message becomes visible on the clock, or the wait ends.

Sends may come from any thread (the HTTP API runs the blocking service calls on worker threads), so a
wake-up goes through `call_soon_threadsafe`. Sleeping is the clock's, so a VirtualClock's model run
long-polls in virtual time.
"""

from __future__ import annotations

import asyncio
import threading

from ..clock import Clock


class Wakeups:
    """Who is waiting for a message on which queue."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._waiting: dict[str, set[asyncio.Future[None]]] = {}
        self._lock = threading.Lock()

    def notify(self, queue: str) -> None:
        """Messages may be visible on `queue`: wake everyone waiting on it."""
        with self._lock:
            waiting = self._waiting.pop(queue, set())
        for future in waiting:
            if not future.done():
                future.get_loop().call_soon_threadsafe(_wake, future)

    async def wait(self, queue: str, seconds: float) -> None:
        """Until `notify(queue)` or `seconds` have passed on the clock, whichever is first."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            self._waiting.setdefault(queue, set()).add(future)
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait({future, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            with self._lock:
                self._waiting.get(queue, set()).discard(future)
            if not future.done():
                future.cancel()


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
