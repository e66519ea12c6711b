"""The state one execution environment shares with its runtime (the Runtime API's state).

lsim's side submits invocations and waits for their outcomes; the runtime's side (through the HTTP server,
runtime_api.py) asks for the next invocation, posts a response or an error, or reports that init failed.
The rules of AWS's Runtime API live here: one answer per invocation (a second is InvalidStateTransition),
an unknown request id is InvalidRequestID, init/error only before the first `next`, a response or error
over 6 MB fails the invocation with Function.ResponseSizeTooLarge.
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..invocation import Invocation, error_body
from .answers import Accepted, EnvironmentGone, NextInvocation, Refused
from .extensions import Extension, ExtensionsChannel
from .telemetry import TelemetryChannel

# AWS answers 413 on a response (or error) of more than 6 MB plus a little framing: 6291556 bytes, the
# figure in its message "Exceeded maximum allowed payload size (6291556 bytes)."
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html (6 MB each way, synchronous)
RESPONSE_LIMIT_SLACK = 100
TOO_LARGE = "Function.ResponseSizeTooLarge"


@dataclass(frozen=True)
class RuntimeOutcome:
    """What the runtime posted for an invocation (or at init)."""

    kind: Literal["response", "error"]
    body: bytes
    error_type: str | None = None
    at: float = 0.0  # time.monotonic() when it arrived


#: Whether a connection ((peer host, port), (local host, port)) belongs to the environment, for environments
#: that share one address (the execution environments of a Hyperplane ENI).
ConnectionCheck = Callable[[tuple[str, int], tuple[str, int]], bool]


@dataclass(frozen=True)
class Admission:
    """Who may connect to an environment's Runtime API: `address` (None: anyone, for a backend that cannot tell
    sandboxes apart), and `owns` to tell apart environments sharing that address."""

    address: str | None
    owns: ConnectionCheck | None = None

    def admits(self, peer: Any, local: Any) -> bool:
        if self.address is None:
            return True
        if not peer or peer[0] != self.address:
            return False
        return self.owns is None or self.owns(peer, local)


_CLOSED = object()  # queued to wake a waiting `next` when the environment closes


class RuntimeChannel:
    """The state one execution environment shares with its runtime: the queue of invocations handed to
    it, the ones in flight, and whether init has finished (the runtime's first `next`) or failed."""

    def __init__(
        self, response_limit: int, identity: dict[str, str] | None = None, expected_extensions: int = 0
    ) -> None:
        self.response_limit = response_limit
        self.extensions = ExtensionsChannel(identity or {}, expected_extensions)
        self.telemetry = TelemetryChannel()
        self.telemetry.address = lambda: self.admission.address if self.admission is not None else None
        self.ready = asyncio.Event()  # set when the runtime first asks for work: init is done
        self.polling = asyncio.Event()  # set while the runtime waits in `next`: done with its last event
        self.init_error: asyncio.Future[RuntimeOutcome] = asyncio.get_running_loop().create_future()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._in_flight: dict[str, asyncio.Future[RuntimeOutcome]] = {}
        self._finished: set[str] = set()
        self.handed_out_at: float = 0.0
        self.handed_out_id: str | None = None  # the last invocation the runtime took
        self.ready_at: float = 0.0
        self.closed = False
        self.admission: Admission | None = None  # None until the sandbox has started
        self.admitted = asyncio.Event()  # set once `admission` is known, or the environment closes

    @property
    def accepted_bytes(self) -> int:
        """The largest response or error body the runtime may post (AWS's 6 MB and its framing slack)."""
        return self.response_limit + RESPONSE_LIMIT_SLACK

    def admit(self, address: str | None, owns: ConnectionCheck | None = None) -> None:
        """Accept connections from the environment's own sandbox only, from now on (see Admission)."""
        self.admission = Admission(address, owns)
        self.admitted.set()

    def close(self) -> None:
        """The environment is going away: wake a runtime waiting in `next` so its request ends."""
        self.closed = True
        self._queue.put_nowait(_CLOSED)
        self.admitted.set()
        self.telemetry.close()

    # -- lsim's side -------------------------------------------------------------------------------
    def submit(self, invocation: Invocation) -> asyncio.Future[RuntimeOutcome]:
        """Queue an invocation for the runtime's next `next`; the future resolves with its outcome."""
        future: asyncio.Future[RuntimeOutcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((invocation, future))
        return future

    async def initialized(self) -> None:
        """The init phase is over: the runtime and every registered extension asked for their next
        event. `ready_at` is then when the last of them did."""
        await self.ready.wait()
        if self.extensions.expected or self.extensions.extensions:
            await self.extensions.initialized()
            self.ready_at = time.monotonic()
        self.extensions.registration_open = False
        self.telemetry.open = False

    # -- the runtime's side ------------------------------------------------------------------------
    async def next(self, alive: Callable[[], bool] | None = None) -> NextInvocation:
        """Wait for the next invocation. `alive` says whether the runtime that asked is still connected: a
        runtime that died while waiting never takes the invocation, which stays queued (its environment is
        then found dead). Raises EnvironmentGone when the environment closes."""
        if not self.ready.is_set():
            self.ready_at = time.monotonic()
            self.ready.set()
        self.polling.set()
        while True:
            item = await self._queue.get()
            if item is _CLOSED or self.closed:
                self._queue.put_nowait(_CLOSED)  # for any other waiter too
                raise EnvironmentGone()
            invocation, future = item
            if future.done():  # a cancelled invocation is never handed out
                continue
            if alive is not None and not alive():
                self._queue.put_nowait(item)
                raise EnvironmentGone()
            break
        self.polling.clear()
        self.handed_out_at = time.monotonic()
        self.handed_out_id = invocation.request_id
        self._in_flight[invocation.request_id] = future
        deadline_ms = int((time.time() + invocation.timeout_s) * 1000)
        self.extensions.invoke(invocation, deadline_ms)
        return NextInvocation(invocation, deadline_ms)

    def respond(self, request_id: str, body: bytes) -> Accepted | Refused:
        """The runtime posted the invocation's response."""
        return self.resolve(request_id, RuntimeOutcome("response", body, None, time.monotonic()))

    def fail(self, request_id: str, body: bytes, reported_type: str | None) -> Accepted | Refused:
        """The runtime posted the invocation's error (`reported_type`: the error type header, if any)."""
        outcome = RuntimeOutcome("error", body, reported_error_type(body, reported_type), time.monotonic())
        return self.resolve(request_id, outcome)

    def resolve(self, request_id: str, outcome: RuntimeOutcome) -> Accepted | Refused:
        """The invocation's outcome, once: a second answer or an unknown request id is refused."""
        future = self._in_flight.pop(request_id, None)
        if future is None:
            if request_id in self._finished:
                return Refused(
                    "InvalidStateTransition",
                    "State transition from ResponseSent to InvocationResponse failed for runtime. "
                    "Error: State transition is not allowed",
                )
            return Refused("InvalidRequestID", "Invalid request ID")
        self._finished.add(request_id)
        if len(self._finished) > 1024:
            self._finished.clear()
            self._finished.add(request_id)
        if not future.done():
            future.set_result(outcome)
        return Accepted()

    def fail_init(self, outcome: RuntimeOutcome) -> Accepted | Refused:
        """init/error: refused once init is over (the runtime asked for work) or already failed."""
        if self.ready.is_set() or self.init_error.done():
            return Refused("InvalidStateTransition", "State transition from Ready to InitError failed for runtime.")
        self.init_error.set_result(outcome)
        return Accepted()

    def runtime_init_error(self, body: bytes, reported_type: str | None) -> Accepted | Refused:
        """The runtime posted /runtime/init/error."""
        return self.fail_init(RuntimeOutcome("error", body, reported_error_type(body, reported_type), time.monotonic()))

    def extension_init_error(self, extension: Extension, reported_type: str | None) -> Accepted | Refused:
        """An extension posted /extension/init/error: the init phase fails with its error type."""
        error_type = self.extensions.error(extension, reported_type, "init")
        body = error_body(error_type, f"extension {extension.name} failed to initialize: {error_type}")
        return self.fail_init(RuntimeOutcome("error", body, error_type, time.monotonic()))

    def too_large(self, request_id: str | None) -> Refused:
        """A body over `accepted_bytes`: the invocation (or the init phase, when `request_id` is None) fails
        with Function.ResponseSizeTooLarge, and the runtime is refused as AWS refuses it."""
        limit = self.accepted_bytes
        message = f"Response payload size exceeded maximum allowed payload size ({limit} bytes)."
        outcome = RuntimeOutcome("error", error_body(TOO_LARGE, message), TOO_LARGE, time.monotonic())
        if request_id is None:
            refused = self.fail_init(outcome)
            if isinstance(refused, Refused):  # init was already over: the runtime hears that instead
                return refused
        else:
            self.resolve(request_id, outcome)
        return Refused("RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({limit} bytes).")


def reported_error_type(body: bytes, reported: str | None) -> str:
    """An error's type: the body's errorType if it has one, else the one reported beside it (a header),
    else AWS's fallback."""
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict) and isinstance(parsed.get("errorType"), str):
            return parsed["errorType"]
    except ValueError:
        pass
    return reported or "Runtime.Unknown"
