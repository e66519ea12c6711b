"""The queues' tables in the project's SQLite state, and how a message row becomes a message.

One row per message, in send order (`id`). The receive path is one indexed range query on
(queue, visible_at): a message is visible when `visible_at <= now`, in flight when it is not visible
and has been received (`receive_count > 0`), delayed when it is not visible and never received. So a
visibility timeout, a delay and a return to the queue are all one column, and nothing needs a timer.
FIFO queues walk each message group in send order through a partial index on (queue, group_id, id).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import sqlite3
from collections.abc import Mapping
from typing import Any

from .errors import ReceiptHandleIsInvalid
from .models import MessageAttributeValue

FEATURE, VERSION = "queues", 2

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS sqs_queues (
        name TEXT PRIMARY KEY,
        arn TEXT NOT NULL,
        fifo INTEGER NOT NULL,
        attributes TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '{}',
        created REAL NOT NULL,
        last_modified REAL NOT NULL,
        purged_at REAL,
        sequence INTEGER NOT NULL DEFAULT 0,
        sent INTEGER NOT NULL DEFAULT 0,
        sent_bytes INTEGER NOT NULL DEFAULT 0,
        received INTEGER NOT NULL DEFAULT 0,
        deleted INTEGER NOT NULL DEFAULT 0,
        empty_receives INTEGER NOT NULL DEFAULT 0,
        declared TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS sqs_deleted_queues (name TEXT PRIMARY KEY, deleted_at REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sqs_messages (
        id INTEGER PRIMARY KEY,
        queue TEXT NOT NULL,
        message_id TEXT NOT NULL,
        body TEXT NOT NULL,
        size INTEGER NOT NULL,
        message_attributes TEXT,
        system_attributes TEXT,
        sent_at REAL NOT NULL,
        enqueued_at REAL NOT NULL,
        arrived_at REAL NOT NULL,
        visible_at REAL NOT NULL,
        receive_count INTEGER NOT NULL DEFAULT 0,
        first_received_at REAL,
        received_at REAL,
        receipt TEXT,
        group_id TEXT,
        deduplication_id TEXT,
        sequence_number TEXT,
        sender_id TEXT NOT NULL,
        dead_letter_source_arn TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS sqs_messages_visible ON sqs_messages (queue, visible_at, receive_count)",
    "CREATE INDEX IF NOT EXISTS sqs_messages_arrived ON sqs_messages (queue, arrived_at)",
    "DROP INDEX IF EXISTS sqs_messages_groups",
    "CREATE INDEX IF NOT EXISTS sqs_messages_group_order ON sqs_messages (queue, group_id, id) "
    "WHERE group_id IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS sqs_deduplication (
        queue TEXT NOT NULL,
        scope TEXT NOT NULL,
        deduplication_id TEXT NOT NULL,
        expires_at REAL NOT NULL,
        message_id TEXT NOT NULL,
        sequence_number TEXT,
        PRIMARY KEY (queue, scope, deduplication_id)
    )""",
    "CREATE INDEX IF NOT EXISTS sqs_deduplication_expiry ON sqs_deduplication (queue, expires_at)",
    # the message groups a FIFO queue may hold messages of (a group whose messages are all gone is removed
    # when a receive finds it empty)
    """CREATE TABLE IF NOT EXISTS sqs_groups (
        queue TEXT NOT NULL,
        group_id TEXT NOT NULL,
        PRIMARY KEY (queue, group_id)
    ) WITHOUT ROWID""",
]

MESSAGE_COLUMNS = (
    "id, queue, message_id, body, message_attributes, system_attributes, sent_at, enqueued_at, visible_at, "
    "receive_count, first_received_at, group_id, deduplication_id, sequence_number, sender_id, "
    "dead_letter_source_arn"
)


def attributes_to_json(attributes: Mapping[str, MessageAttributeValue] | None) -> str | None:
    if not attributes:
        return None
    return json.dumps(
        {
            name: [
                value.data_type,
                value.string_value,
                base64.b64encode(value.binary_value).decode() if value.binary_value is not None else None,
                list(value.string_list_values),
                [base64.b64encode(b).decode() for b in value.binary_list_values],
            ]
            for name, value in attributes.items()
        }
    )


def attributes_from_json(text: str | None) -> dict[str, MessageAttributeValue]:
    if not text:
        return {}
    stored: dict[str, list[Any]] = json.loads(text)
    return {
        name: MessageAttributeValue(
            data_type,
            string_value,
            base64.b64decode(binary) if binary is not None else None,
            tuple(strings),
            tuple(base64.b64decode(b) for b in blobs),
        )
        for name, (data_type, string_value, binary, strings, blobs) in stored.items()
    }


_TOKEN = re.compile(r"[0-9a-f]{16}")  # secrets.token_hex(8), one per receive


def receipt_handle(queue: str, row_id: int, token: str) -> str:
    """An opaque handle naming the queue, the message row and this receive (AWS's are opaque too)."""
    return base64.urlsafe_b64encode(f"{queue}\n{row_id}\n{token}".encode()).decode()


def parse_receipt_handle(handle: str) -> tuple[str, int, str]:
    """(queue, row id, receive token), or AWS's ReceiptHandleIsInvalid."""
    try:
        queue, row_id, token = base64.urlsafe_b64decode(handle.encode("ascii")).decode().split("\n")
        if _TOKEN.fullmatch(token) and row_id.isdigit():
            return queue, int(row_id), token
    except (ValueError, UnicodeError, binascii.Error):
        pass
    raise ReceiptHandleIsInvalid(f'The input receipt handle "{handle}" is not a valid receipt handle.')


def row_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {key: row[key] for key in row.keys()}  # noqa: SIM118 (sqlite3.Row is not a Mapping)
