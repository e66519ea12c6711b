"""One project's concurrency across every lsim process that runs it: a small shared ledger in SQLite.

Each started Simulator is a member of its project's ledger (``.lsim/run/concurrency.db``, WAL). While it is
the only live member it admits from memory alone, as before: the warm path pays nothing. As soon as another
live member is registered, every admission becomes one short write transaction (``BEGIN IMMEDIATE``): read
the other members' in-use counts of the function and of the unreserved pool, let the ConcurrencyController
decide with them (its ``peers``), and write this member's new counts; a release writes the counts again. So
the account pool and reserved concurrency hold across processes exactly, as they do across Lambda's fleet.

Joining: a newcomer bumps the ledger's generation and waits (bounded) until every live member has noticed
and published what it holds, so nothing is admitted on counts not yet written. Members notice within
``WATCH_EVERY_S`` (a background task reads the generation). A member whose process is gone (lifetime.py:
pid and start time) is dropped with its counts by whichever member notices first, which gives its slots back.

Not shared: the scaling-rate and request-rate buckets (per process), and provisioned concurrency, whose
initialised environments are per process (each process keeps its own); provisioned invocations still count
against the function's reserved concurrency across processes. Configuration changed by command in one
process reaches the others when they restart. No Docker, no HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from .concurrency import ConcurrencyController, Lease, Throttle
from .lifetime import RUN_FOLDER, current_owner, make_state_folder, owner_alive

LEDGER_FILE = "concurrency.db"
WATCH_EVERY_S = 0.2
LIVENESS_EVERY_S = 1.0
JOIN_WAIT_S = 5.0
UNRESERVED = ""  # the key of the unreserved pool's count (function names are never empty)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS members (member TEXT PRIMARY KEY, owner TEXT NOT NULL, acked INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS usage (member TEXT NOT NULL, key TEXT NOT NULL, in_use INTEGER NOT NULL, "
    "PRIMARY KEY (member, key))",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)


class ConcurrencyLedger:
    """This Simulator's membership of its project's ledger. Use it from the event loop's thread only."""

    def __init__(self, state_folder: Path, warn: Callable[[str], None] | None = None) -> None:
        self.path = state_folder / RUN_FOLDER / LEDGER_FILE
        self.owner = current_owner()
        self.member = f"{self.owner}#{uuid.uuid4().hex[:8]}"
        self.warn = warn
        #: another live member is registered: admissions go through the ledger
        self.shared = False
        self._db: sqlite3.Connection | None = None
        self._generation = -1
        self._checked_liveness = 0.0
        self._others: dict[str, int] = {}  # the other members' counts, inside an admission

    # -- peers, as the ConcurrencyController asks for them (concurrency.PeerUsage) -----------------------
    def function_in_use(self, function: str) -> int:
        return self._others.get(function, 0)

    def unreserved_in_use(self) -> int:
        return self._others.get(UNRESERVED, 0)

    # -- membership ------------------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            make_state_folder(self.path.parent.parent)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = self._open()
            except sqlite3.DatabaseError:  # only live processes' counts: a damaged file is started afresh
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = OFF")  # counts of live processes: nothing to keep past a crash
            for statement in _SCHEMA:
                db.execute(statement)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    async def join(self, controller: ConcurrencyController) -> None:
        """Register, publish what this member holds, and wait (bounded) until every live member has seen it."""
        with self._transaction() as db:
            self._drop_dead(db)
            generation = self._bump(db)
            db.execute("INSERT OR REPLACE INTO members VALUES (?, ?, ?)", (self.member, self.owner, generation))
            self._publish_all(db, controller)
            self._generation = generation
            others = self._live_others(db)
        self.shared = bool(others)
        deadline = time.monotonic() + JOIN_WAIT_S
        while self.shared and time.monotonic() < deadline:
            waiting = [m for m, acked in self._acks().items() if m != self.member and acked < generation]
            if not waiting:
                return
            await asyncio.sleep(0.02)  # the other members may run on this very loop
        if self.shared and self.warn is not None:
            self.warn(
                "lsim: another lsim process on this project did not answer within "
                f"{JOIN_WAIT_S:.0f} s; concurrency limits may be exceeded until it does"
            )

    def leave(self) -> None:
        """Deregister (a clean stop): the counts go, the others notice and may go back to memory alone."""
        if self._db is None:
            return
        with contextlib.suppress(sqlite3.Error), self._transaction() as db:
            db.execute("DELETE FROM usage WHERE member = ?", (self.member,))
            db.execute("DELETE FROM members WHERE member = ?", (self.member,))
            self._bump(db)
        self._db.close()
        self._db = None
        self.shared = False

    def watch(self, controller: ConcurrencyController) -> None:
        """Called every WATCH_EVERY_S: notice members that came, left or died; publish and acknowledge."""
        db = self._connect()
        now = time.monotonic()
        row = db.execute("SELECT value FROM meta WHERE name = 'generation'").fetchone()
        generation = row[0] if row else 0
        check_liveness = now - self._checked_liveness >= LIVENESS_EVERY_S
        if generation == self._generation and not (check_liveness and self.shared):
            return
        self._checked_liveness = now
        with self._transaction() as db:
            if self._drop_dead(db):
                self._bump(db)
            row = db.execute("SELECT value FROM meta WHERE name = 'generation'").fetchone()
            generation = row[0] if row else 0
            others = self._live_others(db)
            if others:
                self._publish_all(db, controller)
            db.execute(
                "INSERT OR REPLACE INTO members VALUES (?, ?, ?)", (self.member, self.owner, generation)
            )  # re-registers a member another process took for dead (it was not)
            self._generation = generation
        self.shared = bool(others)

    # -- the invoke path (shared mode only) -----------------------------------------------------------------
    def try_admit(
        self, controller: ConcurrencyController, function: str, version: str, synchronous: bool
    ) -> Lease | Throttle:
        """Admit against every member's counts, atomically across processes."""
        with self._transaction() as db:
            self._others = dict(
                db.execute(
                    "SELECT key, SUM(in_use) FROM usage WHERE member != ? AND key IN (?, ?) GROUP BY key",
                    (self.member, function, UNRESERVED),
                ).fetchall()
            )
            controller.peers = self
            try:
                decision = controller.try_admit(function, version, synchronous)
            finally:
                controller.peers = None
            if isinstance(decision, Lease):
                self._publish(db, controller, function)
        return decision

    def released(self, controller: ConcurrencyController, function: str) -> None:
        with self._transaction() as db:
            self._publish(db, controller, function)

    # -- rows ---------------------------------------------------------------------------------------------
    def _publish(self, db: sqlite3.Connection, controller: ConcurrencyController, function: str) -> None:
        db.executemany(
            "INSERT OR REPLACE INTO usage VALUES (?, ?, ?)",
            (
                (self.member, function, controller.in_use_of(function)),
                (self.member, UNRESERVED, controller.unreserved_in_use),
            ),
        )

    def _publish_all(self, db: sqlite3.Connection, controller: ConcurrencyController) -> None:
        db.execute("DELETE FROM usage WHERE member = ?", (self.member,))
        rows = [(self.member, name, controller.in_use_of(name)) for name in controller.function_names()]
        rows.append((self.member, UNRESERVED, controller.unreserved_in_use))
        db.executemany("INSERT OR REPLACE INTO usage VALUES (?, ?, ?)", [r for r in rows if r[2]])

    def _bump(self, db: sqlite3.Connection) -> int:
        db.execute("INSERT INTO meta VALUES ('generation', 1) ON CONFLICT(name) DO UPDATE SET value = value + 1")
        return int(db.execute("SELECT value FROM meta WHERE name = 'generation'").fetchone()[0])

    def _drop_dead(self, db: sqlite3.Connection) -> bool:
        """Remove members whose process is gone, and their counts: their slots are free again."""
        dead = [
            member
            for member, owner in db.execute("SELECT member, owner FROM members").fetchall()
            if owner != self.owner and not owner_alive(owner)
        ]
        for member in dead:
            db.execute("DELETE FROM usage WHERE member = ?", (member,))
            db.execute("DELETE FROM members WHERE member = ?", (member,))
        return bool(dead)

    def _live_others(self, db: sqlite3.Connection) -> list[str]:
        return [m for (m,) in db.execute("SELECT member FROM members WHERE member != ?", (self.member,))]

    def _acks(self) -> dict[str, int]:
        return dict(self._connect().execute("SELECT member, acked FROM members").fetchall())
