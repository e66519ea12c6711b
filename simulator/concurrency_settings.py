"""Concurrency settings changed by command or API (PutFunctionConcurrency, PutProvisionedConcurrencyConfig),
kept in the project's Store so that every later `lsim` process sees them.

lsim.toml declares a function's `reserved_concurrency`; `lsim concurrency put/delete` (or the API) records
a value that takes its place until it is set again. Provisioned concurrency configs live only here and in
lsim.toml's `provisioned_concurrency` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from .store import Store

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS function_concurrency (
        function_name TEXT PRIMARY KEY,
        reserved INTEGER,
        last_modified TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS provisioned_concurrency (
        function_name TEXT NOT NULL,
        qualifier TEXT NOT NULL,
        requested INTEGER NOT NULL,
        last_modified TEXT NOT NULL,
        PRIMARY KEY (function_name, qualifier)
    )""",
]


@dataclass(frozen=True)
class StoredProvisioned:
    function_name: str
    qualifier: str
    requested: int
    last_modified: str


@dataclass(frozen=True)
class FunctionConcurrency:
    """GetFunctionConcurrency: the reserved concurrency (None: the function draws on the unreserved pool)."""

    function_name: str
    reserved_concurrent_executions: int | None
    source: str | None = None  # "lsim.toml" or "command": where the value comes from


@dataclass(frozen=True)
class ProvisionedConcurrencyConfig:
    """GetProvisionedConcurrencyConfig for one version or alias."""

    function_name: str
    qualifier: str
    requested: int
    allocated: int
    available: int
    status: str  # IN_PROGRESS | READY | FAILED
    last_modified: str
    status_reason: str | None = None


def timestamp() -> str:
    """Lambda's LastModified format, e.g. 2024-05-01T12:00:00.000+0000."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


class ConcurrencySettings:
    """Reads and writes the two tables; every method blocks on SQLite."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.ensure_schema("concurrency", 1, SCHEMA)

    def reserved_overrides(self) -> dict[str, int | None]:
        """function -> reserved concurrency set by command (None: deleted by command)."""
        rows = self.store.query("SELECT function_name, reserved FROM function_concurrency")
        return {row["function_name"]: row["reserved"] for row in rows}

    def set_reserved(self, function_name: str, reserved: int | None) -> None:
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO function_concurrency (function_name, reserved, last_modified) VALUES (?, ?, ?)",
                (function_name, reserved, timestamp()),
            )

    def provisioned(self) -> list[StoredProvisioned]:
        rows = self.store.query("SELECT * FROM provisioned_concurrency ORDER BY function_name, qualifier")
        return [
            StoredProvisioned(row["function_name"], row["qualifier"], row["requested"], row["last_modified"])
            for row in rows
        ]

    def put_provisioned(self, function_name: str, qualifier: str, requested: int) -> StoredProvisioned:
        stored = StoredProvisioned(function_name, qualifier, requested, timestamp())
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO provisioned_concurrency (function_name, qualifier, requested, "
                "last_modified) VALUES (?, ?, ?, ?)",
                (function_name, qualifier, requested, stored.last_modified),
            )
        return stored

    def delete_provisioned(self, function_name: str, qualifier: str) -> None:
        with self.store.transaction() as db:
            db.execute(
                "DELETE FROM provisioned_concurrency WHERE function_name = ? AND qualifier = ?",
                (function_name, qualifier),
            )
