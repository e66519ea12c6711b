"""Asynchronous invocation as a service: Event invocations kept durably, run by the dispatcher with
Lambda's retries, and the local dead-letter queue (`lsim dlq list`, `lsim dlq replay`).

The rules and the storage are events.py's; this service owns the queue and the dispatcher of one simulator.
The dispatcher runs events through the invocation path it is given when the simulator starts (invoke.py),
which in turn queues Event invocations here: the one cycle of the house, closed at start, not at
construction.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Protocol

from ..clock import Clock
from ..config import FunctionConfig, ProjectConfig
from ..errors import InvalidParameterValueException
from ..events import DeadLetter, EventDispatcher, EventQueue, QueuedEvent
from ..invocation import Invocation, InvocationResult
from ..metrics import ASYNC_EVENTS_RECEIVED, Metrics
from ..store import Store


class EventRunner(Protocol):
    """What the dispatcher delivers events through (invoke.Invoker)."""

    async def run_event(self, event: QueuedEvent) -> InvocationResult:
        """Run one queued event as an asynchronous invocation (TooManyRequestsException on a throttle)."""

    async def send_event(self, function_name: str, payload: bytes) -> InvocationResult:
        """An Event invocation of a function of the project (an on-failure destination)."""


class EventService:
    """The event queue of one simulator: enqueue, deliver (once started), dead letters."""

    def __init__(
        self,
        project: ProjectConfig,
        store: Store,
        clock: Clock,
        metrics: Metrics,
        warn: Callable[[str], None],
        *,
        deliver: bool = True,  # run queued events (a one-shot `lsim invoke` does not)
    ) -> None:
        self.project = project
        self.queue = EventQueue(store)
        self.clock = clock
        self.metrics = metrics
        self.warn = warn
        self.deliver = deliver
        self._runner: EventRunner | None = None
        self._dispatcher: EventDispatcher | None = None

    async def start(self, runner: EventRunner) -> None:
        """Deliver queued events (those a stopped simulator left too) through `runner`."""
        if not self.deliver:
            return
        self._runner = runner
        self._dispatcher = EventDispatcher(
            self.queue,
            self.clock,
            self.project.limits,
            runner.run_event,
            self.project.functions.get,
            metrics=self.metrics,
            send_to_function=self._send_to_destination,
            warn=self.warn,
        )
        await self._dispatcher.start()

    async def close(self) -> None:
        """Stop delivering; events running now go back on the queue, for the next start."""
        if self._dispatcher is not None:
            await self._dispatcher.close()

    async def enqueue(self, function: FunctionConfig, qualifier: str, invocation: Invocation) -> None:
        """Keep an Event invocation durably before it is answered 202."""
        now = self.clock.time()
        event = QueuedEvent(
            request_id=invocation.request_id,
            function_name=function.name,
            qualifier=qualifier,
            invoked_function_arn=invocation.invoked_function_arn,
            payload=invocation.payload,
            received_at=now,
            due_at=now,
            client_context=invocation.client_context,
            trace_id=invocation.trace_id,
            tenant_id=invocation.tenant_id,
        )
        await asyncio.to_thread(self.queue.enqueue, event)
        self.metrics.put(function.name, ASYNC_EVENTS_RECEIVED)
        if self._dispatcher is not None:
            self._dispatcher.wake()

    async def _send_to_destination(self, destination: str, letter: DeadLetter) -> bool:
        """An on-failure destination that is a function of this project gets the invocation record as an
        Event invocation; any other destination (SQS, SNS, EventBridge, S3) is only kept locally."""
        name = destination.split(":function:", 1)[1].split(":")[0] if ":function:" in destination else destination
        if ":" in name or name not in self.project.functions or self._runner is None:
            return False
        await self._runner.send_event(name, json.dumps(letter.record()).encode())
        return True

    # -- dead letters ---------------------------------------------------------------------------------------
    async def list_dead_letters(self, function_name: str | None = None) -> list[DeadLetter]:
        return await asyncio.to_thread(self.queue.dead_letters, function_name)

    async def replay_dead_letters(
        self, request_ids: Sequence[str] = (), function_name: str | None = None
    ) -> list[QueuedEvent]:
        """Put dead letters back on the asynchronous queue as new events (all those not yet replayed, or
        the ones named). A started simulator runs them at once; otherwise the next one to start does."""

        def chosen() -> list[DeadLetter]:
            if request_ids:
                letters = [self.queue.dead_letter_by_id(request_id) for request_id in request_ids]
                missing = [rid for rid, letter in zip(request_ids, letters, strict=True) if letter is None]
                if missing:
                    raise InvalidParameterValueException(
                        f"no dead letter with request ID {', '.join(missing)}: `lsim dlq list` shows them"
                    )
                return [letter for letter in letters if letter is not None]
            return self.queue.dead_letters(function_name, include_replayed=False)

        letters = await asyncio.to_thread(chosen)
        events = await asyncio.to_thread(self.queue.replay, letters, self.clock.time())
        if self._dispatcher is not None:
            self._dispatcher.wake()
        return events

    async def event_status(self, request_id: str) -> str:
        """Where an asynchronous event is: queued, running, dead-lettered or done."""
        return await asyncio.to_thread(self.queue.status, request_id)
