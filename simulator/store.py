"""lsim's local state: SQLite in `.lsim/state.db` and content-addressed blobs in `.lsim/blobs/sha256/`.

Every feature that keeps state (layers, function versions and aliases, the asynchronous event queue)
declares its own tables with `Store.ensure_schema(feature, statements)`; the store only knows how to
open the database safely, run transactions that serialise writers across processes (`BEGIN
IMMEDIATE` + WAL), and keep blobs. Immutable things are written once and never rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import stat
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from .errors import LsimError
from .lifetime import make_state_folder, staging_folder

STATE_FOLDER = ".lsim"
BUSY_TIMEOUT_MS = 30_000


class StoreCorruptError(LsimError):
    """The state database cannot be read; the message says how to recover without losing blobs."""


class Store:
    """The state of one project, under `<project root>/.lsim` (or any folder given)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.blobs = folder / "blobs" / "sha256"
        self.database = folder / "state.db"
        self._local = threading.local()
        self._schemas: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def for_project(cls, root: Path) -> Store:
        return cls(root / STATE_FOLDER)

    # -- the database -------------------------------------------------------------------------------
    def connection(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections must not cross threads)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            make_state_folder(self.folder)
            self._check_database_file()
            try:
                connection = sqlite3.connect(self.database, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            except sqlite3.DatabaseError as exc:
                raise self._corrupt(exc) from exc
            connection.row_factory = sqlite3.Row
            try:
                connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                connection.execute("PRAGMA journal_mode = WAL")
                # In WAL mode NORMAL keeps every committed transaction through a crash or SIGKILL of lsim (the
                # log is written before COMMIT returns); only a power cut may undo the last ones. FULL would fsync
                # every commit: 2 ms each here, the largest cost of an SQS message.
                connection.execute("PRAGMA synchronous = NORMAL")
                connection.execute("PRAGMA foreign_keys = ON")
                connection.execute("CREATE TABLE IF NOT EXISTS schema (feature TEXT PRIMARY KEY, version INTEGER)")
            except sqlite3.DatabaseError as exc:
                connection.close()
                raise self._corrupt(exc) from exc
            self._local.connection = connection
        return connection

    def _check_database_file(self) -> None:
        """SQLite opens an empty file as a new database, and fails on a folder with a bare "unable to open":
        both are reported as a corrupt database is. An empty state.db is lsim's own only while nothing
        was ever stored (no blob yet): beside stored blobs it is state that was lost, not a fresh start."""
        try:
            info = os.stat(self.database)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(info.st_mode):
            raise self._corrupt(OSError("it is a folder, not lsim's SQLite database"))
        if not stat.S_ISREG(info.st_mode):
            raise self._corrupt(OSError("it is not a regular file"))
        if info.st_size == 0 and self.blobs.is_dir() and any(self.blobs.iterdir()):
            raise self._corrupt(
                OSError(f"it is empty, yet {self.blobs} holds stored zips: the layer versions, function versions "
                        "and aliases that named them are gone")
            )  # fmt: skip

    def _corrupt(self, exc: Exception) -> StoreCorruptError:
        return StoreCorruptError(
            f"{self.database} cannot be read ({exc}). Nothing has been changed or deleted. To recover: stop "
            f"lsim, move the file aside (mv {self.database} {self.database}.corrupt) and run the command "
            "again: lsim starts a new database, the blobs in "
            f"{self.blobs} are kept, and `lsim layer publish` / `lsim publish-version` can store them again. "
            "`sqlite3 state.db.corrupt .recover` may rescue the rows."
        )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: it takes the database's write lock at once, so two processes that read
        a counter and then write it never interleave."""
        connection = self.connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise self._corrupt(exc) from exc
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        else:
            connection.execute("COMMIT")

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[sqlite3.Row]:
        try:
            return self.connection().execute(sql, parameters).fetchall()
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "no such table" not in str(exc):
                raise
            raise self._corrupt(exc) from exc

    def ensure_schema(self, feature: str, version: int, statements: Sequence[str]) -> None:
        """Create a feature's tables once. Statements must be idempotent (CREATE ... IF NOT EXISTS); a
        higher `version` runs them again, for additive migrations."""
        key = f"{feature}:{version}"
        if key in self._schemas:
            return
        with self._lock:
            with self.transaction() as db:
                row = db.execute("SELECT version FROM schema WHERE feature = ?", (feature,)).fetchone()
                if row is None or row["version"] < version:
                    for statement in statements:
                        db.execute(statement)
                    db.execute("INSERT OR REPLACE INTO schema (feature, version) VALUES (?, ?)", (feature, version))
            self._schemas.add(key)

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # -- blobs --------------------------------------------------------------------------------------
    def blob_path(self, sha256: str) -> Path:
        return self.blobs / sha256[:2] / sha256

    def put_blob(self, source: Path | bytes) -> tuple[str, int]:
        """Store bytes by their SHA-256 (once: the same content is kept one time); returns (hash, size)."""
        digest = hashlib.sha256()
        make_state_folder(self.folder)
        self.blobs.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=staging_folder(self.folder), prefix="blob-")  # lifetime.py
        size = 0
        try:
            with os.fdopen(handle, "wb") as out:
                if isinstance(source, bytes):
                    digest.update(source)
                    out.write(source)
                    size = len(source)
                else:
                    with source.open("rb") as data:
                        while chunk := data.read(1024 * 1024):
                            digest.update(chunk)
                            out.write(chunk)
                            size += len(chunk)
            sha256 = digest.hexdigest()
            target = self.blob_path(sha256)
            if target.exists():
                os.unlink(temporary)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(temporary, 0o444)
                os.replace(temporary, target)  # atomic: a reader never sees half a blob
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return sha256, size


class ScratchStore(Store):
    """A store for a throwaway run, such as the load test's model: the database lives in memory (blobs, if
    any, in the folder given), so a transaction writes no file and costs a few microseconds; nothing
    survives the run, which is what a throwaway store is for. One connection, made by the first thread
    that asks: use it from that thread only (the model's loop)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self._opened = False

    def connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self._opened:
                raise LsimError("a ScratchStore is used from one thread only: its database lives in that connection")
            self._opened = True
            connection = sqlite3.connect(":memory:", isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA foreign_keys = ON")
            connection.execute("CREATE TABLE schema (feature TEXT PRIMARY KEY, version INTEGER)")
            self._local.connection = connection
        return connection
