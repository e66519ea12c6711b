"""Event source mappings in the project's SQLite state (`.lsim/state.db`): every change is committed
before the call returns, so a killed lsim keeps every mapping it answered for."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

from ..store import Store
from .models import EventSourceMapping

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS event_source_mappings (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        uuid TEXT NOT NULL UNIQUE,
        function_name TEXT NOT NULL,
        qualifier TEXT,
        queue_name TEXT NOT NULL,
        event_source_arn TEXT NOT NULL,
        batch_size INTEGER NOT NULL,
        maximum_batching_window_s INTEGER NOT NULL,
        maximum_concurrency INTEGER,
        report_batch_item_failures INTEGER NOT NULL,
        enabled INTEGER NOT NULL,
        filter_patterns TEXT NOT NULL,
        state TEXT NOT NULL,
        last_modified REAL NOT NULL,
        state_transition_reason TEXT NOT NULL,
        declared_by TEXT UNIQUE,
        declaration TEXT
    )""",
)
_COLUMNS = (
    "uuid", "function_name", "qualifier", "queue_name", "event_source_arn", "batch_size",
    "maximum_batching_window_s", "maximum_concurrency", "report_batch_item_failures", "enabled",
    "filter_patterns", "state", "last_modified", "state_transition_reason", "declared_by",
)  # fmt: skip


def _row(mapping: EventSourceMapping) -> tuple[object, ...]:
    values = {name: getattr(mapping, name) for name in _COLUMNS}
    values["filter_patterns"] = json.dumps(list(mapping.filter_patterns))
    values["report_batch_item_failures"] = int(mapping.report_batch_item_failures)
    values["enabled"] = int(mapping.enabled)
    return tuple(values[name] for name in _COLUMNS)


def _mapping(row: sqlite3.Row) -> EventSourceMapping:
    values = {name: row[name] for name in _COLUMNS}
    values["filter_patterns"] = tuple(json.loads(row["filter_patterns"]))
    values["report_batch_item_failures"] = bool(row["report_batch_item_failures"])
    values["enabled"] = bool(row["enabled"])
    return EventSourceMapping(**values)


class MappingStore:
    """The table of mappings; listing is in creation order (`seq`), which a list's Marker names."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _ready(self) -> None:
        self.store.ensure_schema("event_source_mappings", 1, SCHEMA)

    def get(self, uuid: str) -> EventSourceMapping | None:
        self._ready()
        rows = self.store.query("SELECT * FROM event_source_mappings WHERE uuid = ?", (uuid,))
        return _mapping(rows[0]) if rows else None

    def declared(self) -> dict[str, tuple[EventSourceMapping, str | None]]:
        """The mappings made by declarations: declared_by -> (mapping, the declaration last applied)."""
        self._ready()
        rows = self.store.query("SELECT * FROM event_source_mappings WHERE declared_by IS NOT NULL")
        return {row["declared_by"]: (_mapping(row), row["declaration"]) for row in rows}

    def page(self, after: int, limit: int) -> list[tuple[int, EventSourceMapping]]:
        """Up to `limit` mappings created after sequence number `after`, with their sequence numbers."""
        self._ready()
        rows = self.store.query(
            "SELECT * FROM event_source_mappings WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
        )
        return [(row["seq"], _mapping(row)) for row in rows]

    def all(self) -> Iterator[EventSourceMapping]:
        self._ready()
        for row in self.store.query("SELECT * FROM event_source_mappings ORDER BY seq"):
            yield _mapping(row)

    def find(self, event_source_arn: str, function_name: str, qualifier: str | None) -> EventSourceMapping | None:
        self._ready()
        rows = self.store.query(
            "SELECT * FROM event_source_mappings WHERE event_source_arn = ? AND function_name = ? AND qualifier IS ?",
            (event_source_arn, function_name, qualifier),
        )
        return _mapping(rows[0]) if rows else None

    def insert(self, mapping: EventSourceMapping, declaration: str | None = None) -> None:
        self._ready()
        with self.store.transaction() as db:
            db.execute(
                f"INSERT INTO event_source_mappings ({', '.join(_COLUMNS)}, declaration) "
                f"VALUES ({', '.join('?' * (len(_COLUMNS) + 1))})",
                (*_row(mapping), declaration),
            )

    def replace(self, mapping: EventSourceMapping, declaration: str | None = None) -> None:
        """Write a changed mapping (its uuid names it); a declaration's mapping keeps its declaration unless
        a new one is given."""
        self._ready()
        assignments = ", ".join(f"{name} = ?" for name in _COLUMNS[1:])
        with self.store.transaction() as db:
            db.execute(
                f"UPDATE event_source_mappings SET {assignments}, declaration = COALESCE(?, declaration) "
                "WHERE uuid = ?",
                (*_row(mapping)[1:], declaration, mapping.uuid),
            )

    def delete(self, uuid: str) -> None:
        self._ready()
        with self.store.transaction() as db:
            db.execute("DELETE FROM event_source_mappings WHERE uuid = ?", (uuid,))
