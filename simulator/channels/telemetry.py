"""The Telemetry API (2022-07-01) and Logs API (2020-08-15) subscriptions of one execution environment.

An extension subscribes during init (PUT /2022-07-01/telemetry or /2020-08-15/logs, runtime_api.py reads
it); from then on Lambda buffers the events of the types it asked for (platform, function, extension) and
POSTs them as a JSON array to its listener at sandbox.localdomain:<port>, a batch when `maxItems` events or
`maxBytes` bytes are buffered or `timeoutMs` has passed since the first, and everything left on shutdown.
Events since the init phase began are replayed to a new subscriber. A failed POST is retried with backoff;
when a subscriber falls too far behind, its oldest events are dropped and platform.logsDropped says so.
https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-logs-api.html

The delivery is a plain HTTP/1.1 POST written with asyncio streams: the listener is the extension's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .. import platform_log as events
from ..platform_log import PlatformEvent
from .answers import Refused

TELEMETRY_SCHEMAS = ("2022-07-01", "2022-12-13", "2025-01-29")
LOGS_SCHEMAS = ("2020-08-15", "2021-03-18")
TYPES = ("platform", "function", "extension")
#: (default, least, most), DG telemetry-api "Configuring memory usage and buffering" (the same for the Logs API)
BUFFERING = {
    "maxItems": (10_000, 1_000, 10_000),
    "maxBytes": (262_144, 262_144, 1_048_576),
    "timeoutMs": (1_000, 25, 30_000),
}
HOSTS = ("sandbox.localdomain", "sandbox")
RESERVED_PORT = 9001  # the Runtime API's, on Lambda
RETRY_DELAYS_S = (0.1, 0.3, 1.0)
#: a subscriber that falls this many batches behind loses its oldest events
BACKLOG_BATCHES = 4

Attach = Callable[[Callable[[PlatformEvent], None]], None]


@dataclass
class Subscription:
    api: str  # "telemetry" or "logs"
    name: str  # the extension's
    types: list[str]
    schema_version: str
    max_items: int
    max_bytes: int
    timeout_ms: int
    port: int
    path: str
    pending: list[tuple[Any, int]] = field(default_factory=list)  # (event on the wire, its bytes)
    pending_bytes: int = 0
    dropped_records: int = 0
    dropped_bytes: int = 0
    timer: asyncio.TimerHandle | None = None
    sending: asyncio.Lock = field(default_factory=asyncio.Lock)

    def wants(self, event: PlatformEvent) -> bool:
        return event.type.partition(".")[0] in self.types


class TelemetryChannel:
    """The subscriptions of one environment and their deliveries."""

    def __init__(self) -> None:
        self.open = True  # subscriptions are taken during init only
        self.subscriptions: dict[str, Subscription] = {}  # by extension id
        self.attach: Attach | None = None  # the environment's PlatformLog.subscribe
        self.announce: Callable[[PlatformEvent], None] | None = None  # the environment's PlatformLog.publish
        self.address: Callable[[], str | None] = lambda: None  # the sandbox's address
        self._tasks: set[asyncio.Future[Any]] = set()

    # -- the extensions' side ------------------------------------------------------------------------------
    def subscribe(self, api: str, extension_id: str, name: str, body: bytes) -> Subscription | Refused:
        """PUT /2022-07-01/telemetry (api "telemetry") or /2020-08-15/logs ("logs")."""
        prefix = "ValidationError" if api == "telemetry" else "Logs.ValidationError"
        if not self.open:
            closed = "Telemetry" if api == "telemetry" else "Logs"
            return Refused(f"{closed}.SubscriptionClosed", f"{closed} API subscription is closed")
        if any(s.api != api for s in self.subscriptions.values()):
            return Refused(prefix, "this function's extensions subscribed to the other API: use one of the two")
        problem, subscription = _parse(api, name, body)
        if subscription is None:
            return Refused(prefix, problem)
        self.subscriptions[extension_id] = subscription
        if self.attach is not None:
            self.attach(lambda event: self._publish(subscription, event))
        if self.announce is not None:
            self.announce(events.subscription(time.time(), api, name, list(subscription.types)))
        return subscription

    # -- lsim's side ---------------------------------------------------------------------------------------
    def _publish(self, subscription: Subscription, event: PlatformEvent) -> None:
        items = _wire(subscription, event)
        if not items:
            return
        for wire in items:
            size = len(json.dumps(wire, separators=(",", ":")).encode())
            subscription.pending.append((wire, size))
            subscription.pending_bytes += size
        most_items, most_bytes = BACKLOG_BATCHES * subscription.max_items, BACKLOG_BATCHES * subscription.max_bytes
        while len(subscription.pending) > most_items or subscription.pending_bytes > most_bytes:
            _, lost = subscription.pending.pop(0)
            subscription.pending_bytes -= lost
            subscription.dropped_records += 1
            subscription.dropped_bytes += lost
        if len(subscription.pending) >= subscription.max_items or subscription.pending_bytes >= subscription.max_bytes:
            self._send_soon(subscription)
        elif subscription.timer is None:
            loop = asyncio.get_running_loop()
            subscription.timer = loop.call_later(subscription.timeout_ms / 1000, self._send_soon, subscription)

    def _send_soon(self, subscription: Subscription) -> None:
        task = asyncio.ensure_future(self._send(subscription))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, subscription: Subscription) -> None:
        """POST what is buffered, a batch of at most maxItems / maxBytes at a time."""
        async with subscription.sending:
            if subscription.timer is not None:
                subscription.timer.cancel()
                subscription.timer = None
            if subscription.dropped_records:
                dropped = events.logs_dropped(time.time(), subscription.dropped_records, subscription.dropped_bytes)
                subscription.dropped_records = subscription.dropped_bytes = 0
                wire = dropped.wire()
                subscription.pending.insert(0, (wire, dropped.size))
                subscription.pending_bytes += dropped.size
            while subscription.pending:
                batch: list[Any] = []
                size = 0
                for item, item_size in subscription.pending:
                    if batch and (len(batch) >= subscription.max_items or size + item_size > subscription.max_bytes):
                        break
                    batch.append(item)
                    size += item_size
                del subscription.pending[: len(batch)]
                subscription.pending_bytes -= size
                await self._post(subscription, json.dumps(batch).encode())

    async def _post(self, subscription: Subscription, body: bytes) -> None:
        """One POST, retried with backoff when nothing listens or the listener answers an error."""
        host = self.address() or "127.0.0.1"
        for delay in (*RETRY_DELAYS_S, None):
            with contextlib.suppress(OSError, ValueError, asyncio.IncompleteReadError):
                if await _http_post(host, subscription.port, subscription.path, body) < 400:
                    return
            if delay is None:
                return
            await asyncio.sleep(delay)

    async def flush(self) -> None:
        """Deliver everything buffered (before SHUTDOWN reaches the extensions)."""
        for subscription in list(self.subscriptions.values()):
            await self._send(subscription)

    def close(self) -> None:
        for subscription in self.subscriptions.values():
            if subscription.timer is not None:
                subscription.timer.cancel()
        for task in list(self._tasks):
            task.cancel()


async def _http_post(host: str, port: int, path: str, body: bytes) -> int:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
    try:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: sandbox.localdomain:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer.write(head.encode() + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 30)
        return int(status_line.split()[1])
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def _wire(subscription: Subscription, event: PlatformEvent) -> list[Any]:
    """The event as this subscription receives it (the Logs API has fewer platform events, its own records)."""
    if not subscription.wants(event):
        return []
    if subscription.api == "telemetry":
        return [event.wire()]
    at = events.event_time(event.time)
    record = event.record
    if event.type in ("function", "extension"):
        if not isinstance(record, str):
            record = json.dumps(record) + "\n"
    elif event.type == "platform.start":
        record = {"requestId": record["requestId"], "version": record.get("version")}
    elif event.type == "platform.report":
        record = {"requestId": record["requestId"], "metrics": record["metrics"]}
    elif event.type == "platform.runtimeDone":  # the Logs API's platform.end (and runtimeDone since 2021-03-18)
        end = {"time": at, "type": "platform.end", "record": {"requestId": record["requestId"]}}
        if subscription.schema_version != "2021-03-18":
            return [end]
        done = {"requestId": record["requestId"], "status": record["status"]}
        return [{"time": at, "type": "platform.runtimeDone", "record": done}, end]
    elif event.type not in ("platform.extension", "platform.logsSubscription", "platform.logsDropped"):
        return []  # the init events are the Telemetry API's
    return [{"time": at, "type": event.type, "record": record}]


def _parse(api: str, name: str, body: bytes) -> tuple[str, Subscription | None]:
    """The subscription a request asks for, or what is wrong with it (every problem, joined by "; ")."""
    try:
        request = json.loads(body or b"null")
    except ValueError:
        request = None
    if not isinstance(request, dict):
        return "the body is a JSON object: schemaVersion, types, buffering, destination", None
    problems: list[str] = []
    schemas = TELEMETRY_SCHEMAS if api == "telemetry" else LOGS_SCHEMAS
    schema = request.get("schemaVersion", None if api == "telemetry" else "2020-08-15")
    if schema not in schemas:
        problems.append(f"schemaVersion must be one of {', '.join(schemas)}")
    types = request.get("types")
    if not isinstance(types, list) or not types:
        problems.append("types should not be empty")
    elif any(t not in TYPES for t in types):
        problems.append(f"types must be among {', '.join(TYPES)}")
    buffering = request.get("buffering") or {}
    values: dict[str, int] = {}
    for key, (default, least, most) in BUFFERING.items():
        value = buffering.get(key, default) if isinstance(buffering, dict) else default
        if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= most:
            problems.append(f"buffering.{key} must be between {least} and {most}")
        else:
            values[key] = value
    destination = request.get("destination")
    port, path = 0, "/"
    if not isinstance(destination, dict) or destination.get("protocol") != "HTTP":
        problems.append('destination.protocol must be "HTTP"')
    else:
        uri = urlsplit(str(destination.get("URI", "")))
        if uri.scheme != "http" or uri.hostname not in HOSTS:
            problems.append("destination.URI host must be sandbox.localdomain")
        try:
            port = uri.port or 0
        except ValueError:
            port = 0
        if not port:
            problems.append("URI port is not provided")
        elif port == RESERVED_PORT:
            problems.append(f"URI port {RESERVED_PORT} is reserved")
        path = uri.path or "/"
    if problems:
        return "; ".join(problems), None
    assert isinstance(types, list)
    subscription = Subscription(
        api, name, list(types), str(schema), values["maxItems"], values["maxBytes"], values["timeoutMs"], port, path
    )
    return "", subscription
