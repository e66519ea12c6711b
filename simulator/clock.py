"""Time as an interface, so the same concurrency model and event queue run in real time and in virtual time.

`RealClock` reads the machine's clocks and sleeps with asyncio. `VirtualClock` only moves when it is told
to (`advance(seconds)`, `jump(instant)`), waking whoever sleeps on it: a property test or the load test's
model mode can play hours of traffic, retries and backoff in milliseconds. The shape follows trio's
`Clock` / `MockClock` (python-trio/trio `_core/_mock_clock.py`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time as _time
from abc import ABC, abstractmethod


class Clock(ABC):
    """What lsim's domain asks of time."""

    @abstractmethod
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; only differences mean something."""

    @abstractmethod
    def time(self) -> float:
        """Seconds since the Unix epoch: what is stored, so it survives a restart."""

    @abstractmethod
    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` on this clock."""


class RealClock(Clock):
    """The machine's clocks."""

    def monotonic(self) -> float:
        return _time.monotonic()

    def time(self) -> float:
        return _time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VirtualClock(Clock):
    """A clock that stands still until moved. `monotonic()` and `time()` are the same instant.

    Sleepers may be on any event loop and the clock may be moved from any thread (a test thread drives a
    BlockingSimulator's loop): waking goes through `call_soon_threadsafe`.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        await future

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` and wake every sleeper whose time has come."""
        if seconds < 0:
            raise ValueError(f"a clock does not go back: advance({seconds})")
        self.jump(self._now + seconds)

    def jump(self, instant: float) -> None:
        """Move time forward to `instant` (seconds since the epoch) and wake the sleepers due by then."""
        if instant < self._now:
            raise ValueError(f"a clock does not go back: jump({instant}) is before {self._now}")
        with self._lock:
            self._now = instant
            due = []
            while self._sleepers and self._sleepers[0][0] <= instant:
                due.append(heapq.heappop(self._sleepers)[2])
        for future in due:
            if not future.done():
                future.get_loop().call_soon_threadsafe(_wake, future)

    def next_deadline(self) -> float | None:
        """When the earliest sleeper wakes, or None: lets a driver jump straight to the next event."""
        with self._lock:
            while self._sleepers and self._sleepers[0][2].done():
                heapq.heappop(self._sleepers)  # a cancelled sleeper
            return self._sleepers[0][0] if self._sleepers else None


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
