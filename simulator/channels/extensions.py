"""The extensions of one execution environment and the events they are owed (the Extensions API's state).

External extensions are executables in /opt/extensions (usually from a layer); the environment starts
them before the runtime. Each registers and then long-polls for INVOKE and SHUTDOWN events. As on Lambda:
- the init phase ends when the runtime and every registered extension have asked for their next event;
- registration closes with the init phase; at most 10 extensions;
- after an invocation the environment is busy until every extension subscribed to INVOKE has asked for
  its next event again (the caller has its response already);
- on shutdown, extensions subscribed to SHUTDOWN get it and 2,000 ms to finish.
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html

The wire format (paths, headers) is runtime_api.py's; here are the rules, answered with answers.py's values.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..invocation import Invocation
from .answers import ExtensionEvent, Refused, Registered

MAX_EXTENSIONS = 10
SHUTDOWN_GRACE_S = 2.0  # external extensions get 2,000 ms after SHUTDOWN
EVENTS = frozenset({"INVOKE", "SHUTDOWN"})


@dataclass
class Extension:
    id: str
    name: str
    events: frozenset[str]
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    polling: asyncio.Event = field(default_factory=asyncio.Event)  # waiting in event/next: idle


class ExtensionsChannel:
    """The extensions of one execution environment and the events they are owed."""

    def __init__(self, identity: dict[str, str], expected: int = 0) -> None:
        self.identity = identity  # functionName, functionVersion, handler
        self.expected = expected  # executables in /opt/extensions: the platform started them
        self.registered = asyncio.Event()  # set on each registration
        self.extensions: dict[str, Extension] = {}
        self.registration_open = True
        self.exit_error: str | None = None

    # -- lsim's side -------------------------------------------------------------------------------
    async def initialized(self) -> None:
        """Every extension the environment started has registered and asked for its first event."""
        while len(self.extensions) < self.expected:
            self.registered.clear()
            await self.registered.wait()
        self.registration_open = False
        for extension in list(self.extensions.values()):
            await extension.polling.wait()

    def invoke(self, invocation: Invocation, deadline_ms: int) -> None:
        event = {
            "eventType": "INVOKE",
            "deadlineMs": deadline_ms,
            "requestId": invocation.request_id,
            "invokedFunctionArn": invocation.invoked_function_arn,
            "tracing": {"type": "X-Amzn-Trace-Id", "value": invocation.trace_id},
        }
        for extension in self.extensions.values():
            if "INVOKE" in extension.events:
                extension.polling.clear()
                extension.queue.put_nowait(event)

    async def idle(self) -> None:
        """Every extension has finished with the last invocation (asked for its next event again)."""
        for extension in list(self.extensions.values()):
            await extension.polling.wait()

    async def shutdown(self, reason: str) -> None:
        """Send SHUTDOWN to the extensions that asked for it and give them their grace period."""
        listening = [e for e in self.extensions.values() if "SHUTDOWN" in e.events]
        if not listening:
            return
        deadline_ms = int((time.time() + SHUTDOWN_GRACE_S) * 1000)
        for extension in listening:
            extension.polling.clear()
            extension.queue.put_nowait({"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": deadline_ms})
        waits = [asyncio.ensure_future(e.polling.wait()) for e in listening]
        await asyncio.wait(waits, timeout=SHUTDOWN_GRACE_S)
        for wait in waits:
            wait.cancel()

    # -- the extensions' side ----------------------------------------------------------------------
    def register(self, name: str, body: bytes) -> Registered | Refused:
        """Register the extension called `name` (its file name) for the events `body` lists."""
        if not self.registration_open:
            return Refused("Extension.RegistrationForbidden", "extensions register during the init phase only")
        if len(self.extensions) >= MAX_EXTENSIONS:
            return Refused("Extension.TooManyExtensions", f"at most {MAX_EXTENSIONS} extensions per function")
        try:
            events = frozenset(json.loads(body or b"{}").get("events", []))
        except (ValueError, AttributeError):
            return Refused("InvalidRequest", 'the body is JSON: {"events": ["INVOKE", "SHUTDOWN"]}')
        if not events <= EVENTS:
            return Refused("InvalidEventType", f"unknown events {sorted(events - EVENTS)}")
        extension = Extension(str(uuid.uuid4()), name, events)
        self.extensions[extension.id] = extension
        self.registered.set()
        return Registered(extension.id, self.identity)

    def find(self, identifier: str) -> Extension | None:
        """The registered extension with this identifier, if any."""
        return self.extensions.get(identifier)

    async def next_event(self, extension: Extension) -> ExtensionEvent:
        """The extension is idle until its next event arrives."""
        extension.polling.set()
        event = await extension.queue.get()
        return ExtensionEvent(event, str(uuid.uuid4()))

    def error(self, extension: Extension, reported: str | None, phase: str) -> str:
        """init/error or exit/error: the error type the extension reported (or Lambda's default)."""
        error_type = reported or f"Extension.{'Init' if phase == 'init' else 'Exit'}Error"
        if phase == "exit":
            self.exit_error = error_type
        extension.polling.set()
        return error_type
