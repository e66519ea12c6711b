"""The execution environments of one function version: warm ones are reused, new ones cold-started."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from .environment import ExecutionEnvironment, State


class EnvironmentPool:
    """Idle environments wait here for the next invocation. The most recently used one is taken first,
    so that under falling load the others go idle and are reaped, as Lambda scales in."""

    def __init__(self, make: Callable[[], ExecutionEnvironment]) -> None:
        self._make = make
        self._idle: list[ExecutionEnvironment] = []
        self._all: set[ExecutionEnvironment] = set()
        self._retired = False
        self._stopping: set[asyncio.Task[None]] = set()
        self.created = 0

    def acquire(self) -> ExecutionEnvironment:
        """A warm idle environment, else a new one (which will cold-start on its first invocation).
        An idle environment whose runtime exited meanwhile (a crash, a kill) is dropped, not handed
        out: Lambda starts a fresh one instead of failing an invocation that never ran."""
        while self._idle:
            environment = self._idle.pop()
            if environment.state is State.DEAD:
                continue
            if environment.sandbox_exited:
                self._all.discard(environment)
                self._stop_soon(environment)
                continue
            return environment
        environment = self._make()
        self._all.add(environment)
        self.created += 1
        return environment

    def release(self, environment: ExecutionEnvironment) -> None:
        if environment.state is State.DEAD:
            self._all.discard(environment)
        elif self._retired:  # its code or configuration changed while it ran: it serves no one else
            self._all.discard(environment)
            self._stop_soon(environment)
        else:
            self._idle.append(environment)

    def _stop_soon(self, environment: ExecutionEnvironment) -> None:
        task = asyncio.ensure_future(environment.stop())
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def retire(self) -> None:
        """Stop idle environments now and busy ones when their invocation ends (hot reload, a new
        configuration): in-flight invocations finish where they started."""
        self._retired = True
        idle, self._idle = self._idle, []
        for environment in idle:
            self._all.discard(environment)
        await asyncio.gather(*(e.stop() for e in idle), return_exceptions=True)

    @property
    def size(self) -> int:
        return len(self._all)

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def reap(self, idle_timeout_s: float) -> int:
        """Stop environments idle for longer than `idle_timeout_s`; returns how many."""
        now = time.monotonic()
        old = [e for e in self._idle if now - e.last_used > idle_timeout_s]
        self._idle = [e for e in self._idle if e not in old]
        for environment in old:
            self._all.discard(environment)
        await asyncio.gather(*(e.stop() for e in old), return_exceptions=True)
        return len(old)

    async def close(self) -> None:
        environments, self._idle, self._all = list(self._all), [], set()
        await asyncio.gather(*(e.stop() for e in environments), *self._stopping, return_exceptions=True)
