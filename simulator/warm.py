"""The one book of idle execution environments, so that what admission counts as warm is what really is.

Admission (concurrency.py) decides between a warm start and a cold start by taking an idle environment off
this book, and the invocation runs in exactly that environment (placement.py): the count that spends the
scaling allowance and the environments that are really warm cannot disagree, whatever retires or reaps
them. Real mode keeps execution environments here; model mode (the load test in virtual time) keeps
tokens, through the same verbs: `take`, `put`, `retire`, `reap`. Idle time is measured on the injected
clock, so the idle timeout runs in virtual time under a VirtualClock.

Three shelves per function version:
- WARM: initialised environments, the most recently used taken first, so that under falling load the others
  stay idle past `idle_timeout_s` and are scaled in, as Lambda does;
- RESET: environments whose runtime was stopped after a failure (a timeout, a crash); they keep their /tmp
  and serve the next cold start, and are scaled in like warm ones;
- PROVISIONED: environments provisioned concurrency keeps initialised; never scaled in.

A tenant-isolated function's environments wait under their version and tenant (tenancy.py), so that no
tenant is handed another's; retiring or counting a version covers all its tenants.

No asyncio, no Docker: stopping what leaves the book is the caller's business.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar

from .clock import Clock
from .tenancy import of_version

E = TypeVar("E")

WARM, RESET, PROVISIONED = "warm", "reset", "provisioned"
SHELVES = (WARM, RESET, PROVISIONED)


class VirtualEnvironment:
    """An execution environment in model mode: nothing runs; only its place on the book counts."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "VirtualEnvironment()"


#: what a model's lease puts back when nothing real ran (concurrency.py)
VIRTUAL = VirtualEnvironment()


class Shelf(Generic[E]):
    """The idle environments of one function version of one kind, oldest first. It sits on admission's hot
    path (every invocation takes and puts), so it keeps two parallel deques rather than pairs."""

    __slots__ = ("_environments", "_expired", "_since", "idle_timeout_s")

    def __init__(self, idle_timeout_s: float, expired: list[E] | None) -> None:
        self.idle_timeout_s = idle_timeout_s
        self._since: deque[float] = deque()  # when each became idle
        self._environments: deque[E] = deque()
        self._expired = expired  # where scaled-in environments go, to be stopped (None: dropped)

    def take(self, now: float) -> E | None:
        """The most recently used environment that is still within its idle timeout, or None."""
        since = self._since
        if not since:
            return None
        if since[0] < now - self.idle_timeout_s:
            self.expire(now)
            if not since:
                return None
        since.pop()
        return self._environments.pop()

    def put(self, environment: E, now: float) -> None:
        self._since.append(now)
        self._environments.append(environment)

    def expire(self, now: float) -> None:
        """Scale in the environments idle for longer than the idle timeout."""
        since, environments, expired = self._since, self._environments, self._expired
        before = now - self.idle_timeout_s
        while since and since[0] < before:
            since.popleft()
            environment = environments.popleft()
            if expired is not None:
                expired.append(environment)

    def clear(self) -> list[E]:
        environments = list(self._environments)
        self._since.clear()
        self._environments.clear()
        return environments

    def __len__(self) -> int:
        return len(self._since)

    def __iter__(self) -> Iterator[E]:
        """The environments, oldest first."""
        return iter(self._environments)


class WarmEnvironments(Generic[E]):
    """Every idle environment of a simulator (or of a model run), by function, version and shelf.

    `keep_expired`: environments scaled in while being taken (`take` found them too old) are kept until
    `reap()` hands them out, for a caller that must stop them; a model drops them.
    """

    def __init__(self, clock: Clock, idle_timeout_s: float, *, keep_expired: bool = False) -> None:
        self.clock = clock
        self.idle_timeout_s = idle_timeout_s
        self._shelves: dict[tuple[str, str, str], Shelf[E]] = {}
        self._expired: list[E] | None = [] if keep_expired else None

    def shelf(self, function: str, version: str, kind: str = WARM) -> Shelf[E]:
        """The shelf itself, for a caller on a hot path (admission keeps a reference)."""
        key = (kind, function, version)
        shelf = self._shelves.get(key)
        if shelf is None:
            timeout = math.inf if kind == PROVISIONED else self.idle_timeout_s
            shelf = self._shelves[key] = Shelf(timeout, self._expired)
        return shelf

    def take(self, function: str, version: str, kind: str = WARM) -> E | None:
        """An idle environment of the version (the most recently used), or None."""
        shelf = self._shelves.get((kind, function, version))
        return shelf.take(self.clock.monotonic()) if shelf is not None else None

    def put(self, function: str, version: str, environment: E, kind: str = WARM) -> None:
        """An environment is idle again (its idle time starts now)."""
        self.shelf(function, version, kind).put(environment, self.clock.monotonic())

    def retire(self, function: str, version: str | None = None, kinds: tuple[str, ...] = (WARM, RESET)) -> list[E]:
        """Take every idle environment of a function (or of one of its versions) off the book, to be
        stopped: its code or configuration changed, or its provisioned concurrency was removed."""
        retired: list[E] = []
        for (kind, name, shelf_version), shelf in self._shelves.items():
            if kind in kinds and name == function and of_version(shelf_version, version):
                retired += shelf.clear()
        return retired

    def reap(self) -> list[E]:
        """Take the environments idle past the idle timeout off the book (and those `take` found too
        old), to be stopped."""
        now = self.clock.monotonic()
        for shelf in self._shelves.values():
            shelf.expire(now)
        if self._expired is None:
            return []
        reaped = list(self._expired)
        self._expired.clear()  # the shelves share this list
        return reaped

    def idle_environments(self, function: str, version: str, kind: str = WARM) -> list[E]:
        """What is idle on one shelf now, the most recently used last (to look at, not to take)."""
        shelf = self._shelves.get((kind, function, version))
        return list(shelf) if shelf is not None else []

    def idle(self, function: str, version: str | None = None, kind: str = WARM) -> int:
        """How many idle environments of that kind the function (or one version) has now."""
        now = self.clock.monotonic()
        count = 0
        for (shelf_kind, name, shelf_version), shelf in self._shelves.items():
            if shelf_kind == kind and name == function and of_version(shelf_version, version):
                shelf.expire(now)
                count += len(shelf)
        return count
