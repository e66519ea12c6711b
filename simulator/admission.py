"""Admission of one invocation: this process's ConcurrencyController, and the ledger it shares with the other
lsim processes on the project (concurrency_ledger.py).

Why a module of its own: the invocation path (invoke.py) asks one question, "may this run now?", and gets
a Lease or Lambda's 429; whether the answer came from memory alone (the only lsim on the project: the warm
path pays nothing) or from the shared ledger is decided here, and a ledger that fails is never a reason
to fail an invocation.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

from .concurrency import ConcurrencyController, Lease, Throttle
from .concurrency_ledger import WATCH_EVERY_S, ConcurrencyLedger


class Admission:
    """Admits and releases invocations for one simulator; `join()` makes it a member of the project's
    ledger, `leave()` gives its slots back."""

    def __init__(self, controller: ConcurrencyController, state_folder: Path, warn: Callable[[str], None]) -> None:
        self.controller = controller
        self.state_folder = state_folder
        self.warn = warn
        self._ledger: ConcurrencyLedger | None = None  # shared with other lsim processes, once joined
        self._watch: asyncio.Task[None] | None = None

    def admit(self, function_name: str, version: str, synchronous: bool = True) -> Lease:
        """A concurrency slot for the whole invocation, or TooManyRequestsException with AWS's reason."""
        ledger = self._ledger
        if ledger is None or not ledger.shared:  # the only lsim on the project: memory alone
            return self.controller.admit(function_name, version, synchronous)
        try:
            decision = ledger.try_admit(self.controller, function_name, version, synchronous)
        except sqlite3.Error as error:  # never a reason to fail an invocation: admit from memory alone
            self.warn(f"lsim: the shared concurrency ledger failed ({error}); admitting from this process's counts")
            return self.controller.admit(function_name, version, synchronous)
        if isinstance(decision, Throttle):
            raise decision.error()
        return decision

    def release(self, lease: Lease, reusable: bool) -> None:
        """The invocation ended (see ConcurrencyController.release)."""
        self.controller.release(lease, reusable=reusable)
        ledger = self._ledger
        if ledger is not None and ledger.shared:
            try:
                ledger.released(self.controller, lease.function_name)
            except sqlite3.Error as error:  # the watcher publishes every count again within a second
                self.warn(f"lsim: the shared concurrency ledger failed ({error})")

    async def join(self) -> None:
        """Share the project's limits with the other lsim processes on it (or say why not)."""
        try:
            ledger = ConcurrencyLedger(self.state_folder, self.warn)
            await ledger.join(self.controller)
        except sqlite3.Error as error:
            self.warn(f"lsim: concurrency is not shared with other lsim processes on this project: {error}")
            return
        self._ledger = ledger
        self._watch = asyncio.create_task(self._watch_forever(), name="lsim-ledger")

    async def _watch_forever(self) -> None:
        """Notice other lsim processes on the project coming, going and dying."""
        assert self._ledger is not None
        while True:
            await asyncio.sleep(WATCH_EVERY_S)
            try:
                self._ledger.watch(self.controller)
            except sqlite3.Error as error:
                self.warn(f"lsim: the shared concurrency ledger failed ({error}); retrying")

    async def leave(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._ledger is not None:
            self._ledger.leave()
