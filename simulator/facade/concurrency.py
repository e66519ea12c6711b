"""Concurrency, asynchronous invocation and metrics on the Simulator facade (a mixin, one file per feature).

Lambda's operations PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency,
PutProvisionedConcurrencyConfig, GetProvisionedConcurrencyConfig, DeleteProvisionedConcurrencyConfig and
ListProvisionedConcurrencyConfigs, plus lsim's own: the metrics and the dead-letter queue. Like the layer
operations they need no running simulator (`lsim concurrency ...` calls them on one it never starts);
what runs in the background (the event queue, provisioned environments, the metrics writer) starts with
`Simulator.start()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..clock import Clock, RealClock
from ..concurrency import ConcurrencyController, Lease, Throttle
from ..concurrency_ledger import WATCH_EVERY_S, ConcurrencyLedger
from ..concurrency_settings import (
    ConcurrencySettings,
    FunctionConcurrency,
    ProvisionedConcurrencyConfig,
    timestamp,
)
from ..config import FunctionConfig, ProjectConfig
from ..environment import ExecutionEnvironment, State
from ..errors import (
    InvalidParameterValueException,
    LambdaError,
    ProjectFileError,
    ProvisionedConcurrencyConfigNotFoundException,
)
from ..events import DeadLetter, EventDispatcher, EventQueue, QueuedEvent
from ..invocation import Invocation, InvocationResult
from ..metrics import ASYNC_EVENTS_RECEIVED, DURATION, ERRORS, INVOCATIONS, FunctionMetrics, Metrics
from ..store import Store

if TYPE_CHECKING:
    from ..simulator import Simulator

LATEST = "$LATEST"
METRICS_FLUSH_S = 5.0
# AWS's answer to PutProvisionedConcurrencyConfig on $LATEST
#: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
INIT_TYPE = "provisioned-concurrency"
UNPUBLISHED = "Provisioned Concurrency Configs cannot be applied to unpublished function versions."


class ConcurrencyOperations:
    """The concurrency operations of Lambda's API, the event queue and the metrics, on the facade."""

    project: ProjectConfig
    store: Store
    warn: Callable[[str], None]

    # -- life cycle (called by Simulator.__init__, start and close) -------------------------------------
    def _init_concurrency(self, clock: Clock | None, event_queue: bool = True) -> None:
        self.clock = clock or RealClock()
        self._run_event_queue = event_queue
        self.metrics = Metrics(self.store, self.clock)
        self.concurrency = ConcurrencyController(
            self.project.limits, self.clock, region=self.project.settings.region, metrics=self.metrics
        )
        self.concurrency_settings = ConcurrencySettings(self.store)
        self.events = EventQueue(self.store)
        self._dispatcher: EventDispatcher | None = None
        self._metrics_writer: asyncio.Task[None] | None = None
        self._provisioned_idle: dict[tuple[str, str], list[ExecutionEnvironment]] = {}
        self._provisioned_failed: dict[tuple[str, str], str] = {}
        self._provisioning: set[asyncio.Task[None]] = set()
        self._provisioned_modified: dict[tuple[str, str], str] = {}  # applied from lsim.toml, at start
        self._reserved_source: dict[str, str] = {}
        self._ledger: ConcurrencyLedger | None = None  # shared with other lsim processes (once started)
        self._ledger_watch: asyncio.Task[None] | None = None
        self._apply_reserved_concurrency()

    def _apply_reserved_concurrency(self) -> None:
        """lsim.toml's reserved concurrency, then what commands set since (which takes its place)."""
        for function in self.project.functions.values():
            if function.reserved_concurrency is None:
                continue
            try:
                self.concurrency.set_reserved(function.name, function.reserved_concurrency)
            except InvalidParameterValueException as error:
                declared = ", ".join(
                    f"functions.{f.name}.reserved_concurrency = {f.reserved_concurrency}"
                    for f in self.project.functions.values()
                    if f.reserved_concurrency is not None
                )
                raise ProjectFileError(
                    f"lsim.toml: {declared}: {error.message} "
                    f"Reserve less, or raise [limits] concurrent_executions "
                    f"({self.project.limits.concurrent_executions})."
                ) from None
            self._reserved_source[function.name] = "lsim.toml"
        for name, reserved in self.concurrency_settings.reserved_overrides().items():
            if name not in self.project.functions:
                continue
            try:
                self.concurrency.set_reserved(name, reserved)
            except InvalidParameterValueException as error:
                self.warn(
                    f"lsim: the reserved concurrency {reserved} set for {name} by command no longer fits "
                    f"the account ({error.message}); using lsim.toml's value. Set it again with "
                    f"`lsim concurrency put {name} N`."
                )
                continue
            self._reserved_source[name] = "command"

    async def _start_concurrency(self) -> None:
        simulator: Simulator = self  # type: ignore[assignment]
        try:
            ledger = ConcurrencyLedger(self.store.folder, self.warn)
            await ledger.join(self.concurrency)
        except sqlite3.Error as error:
            self.warn(f"lsim: concurrency is not shared with other lsim processes on this project: {error}")
        else:
            self._ledger = ledger
            self._ledger_watch = asyncio.create_task(self._watch_ledger_forever(), name="lsim-ledger")
        self._metrics_writer = asyncio.create_task(self._write_metrics_forever(), name="lsim-metrics")
        await self._start_provisioned()
        if not self._run_event_queue:
            return
        self._dispatcher = EventDispatcher(
            self.events,
            self.clock,
            self.project.limits,
            self._run_event,
            self.project.functions.get,
            metrics=self.metrics,
            send_to_function=self._send_to_destination,
            warn=simulator.warn,
        )
        await self._dispatcher.start()

    async def _stop_concurrency(self) -> None:
        for task in (*self._provisioning, self._metrics_writer, self._ledger_watch):
            if task is not None:
                task.cancel()
        await asyncio.gather(*self._provisioning, return_exceptions=True)
        if self._dispatcher is not None:
            await self._dispatcher.close()
        if self._metrics_writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._metrics_writer
        await self._flush_metrics()
        if self._ledger_watch is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._ledger_watch
        if self._ledger is not None:
            self._ledger.leave()

    async def _watch_ledger_forever(self) -> None:
        """Notice other lsim processes on the project coming, going and dying (concurrency_ledger.py)."""
        assert self._ledger is not None
        while True:
            await asyncio.sleep(WATCH_EVERY_S)
            try:
                self._ledger.watch(self.concurrency)
            except sqlite3.Error as error:
                self.warn(f"lsim: the shared concurrency ledger failed ({error}); retrying")

    async def _write_metrics_forever(self) -> None:
        while True:
            await asyncio.sleep(METRICS_FLUSH_S)
            with contextlib.suppress(Exception):
                await self._flush_metrics()

    async def _flush_metrics(self) -> None:
        """Take the buffered points on the loop (where they are put), write them on a thread."""
        await asyncio.to_thread(self.metrics.write, self.metrics.take())

    # -- the invoke path (Simulator._execute and invoke call these) ---------------------------------------
    def _admit(self, function: FunctionConfig, version: str, synchronous: bool) -> Lease:
        """A concurrency slot for the whole invocation, or TooManyRequestsException with AWS's reason."""
        ledger = self._ledger
        if ledger is None or not ledger.shared:  # the only lsim on the project: memory alone
            return self.concurrency.admit(function.name, version, synchronous)
        try:
            decision = ledger.try_admit(self.concurrency, function.name, version, synchronous)
        except sqlite3.Error as error:  # never a reason to fail an invocation: admit from memory alone
            self.warn(f"lsim: the shared concurrency ledger failed ({error}); admitting from this process's counts")
            return self.concurrency.admit(function.name, version, synchronous)
        if isinstance(decision, Throttle):
            raise decision.error()
        return decision

    def _release(self, lease: Lease, reusable: bool) -> None:
        self.concurrency.release(lease, reusable=reusable)
        ledger = self._ledger
        if ledger is not None and ledger.shared:
            try:
                ledger.released(self.concurrency, lease.function_name)
            except sqlite3.Error as error:  # the watcher publishes every count again within a second
                self.warn(f"lsim: the shared concurrency ledger failed ({error})")

    def _provisioned_environment(self, lease: Lease) -> ExecutionEnvironment | None:
        if not lease.provisioned:
            return None
        idle = self._provisioned_idle.get((lease.function_name, lease.version))
        return idle.pop() if idle else None

    def _give_back(self, lease: Lease, environment: ExecutionEnvironment, provisioned: bool) -> bool:
        """Return the slot; True when the environment went back to the provisioned ones (else the
        caller gives it back to its pool)."""
        reusable = environment.state is State.IDLE
        self._release(lease, reusable)
        if not provisioned:
            return False
        if environment.state is not State.DEAD:
            self._provisioned_idle.setdefault((lease.function_name, lease.version), []).append(environment)
            return True
        # Lambda replaces a provisioned environment that went away; the pool forgets the dead one
        statistics = self.concurrency.provisioned(lease.function_name, lease.version)
        if statistics is not None:
            self.concurrency.set_allocated(lease.function_name, lease.version, statistics.allocated - 1)
            self._provision(environment.function, lease.version)
        return False

    def _record_invocation(self, function_name: str, result: InvocationResult) -> None:
        """Invocations, Errors and Duration, as CloudWatch counts them (throttles are not invocations)."""
        self.metrics.put(function_name, INVOCATIONS)
        if result.function_error is not None:
            self.metrics.put(function_name, ERRORS)
        if result.report is not None:
            self.metrics.put(function_name, DURATION, result.report.duration_ms)

    async def _enqueue_event(self, function: FunctionConfig, qualifier: str, invocation: Invocation) -> None:
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
        )
        await asyncio.to_thread(self.events.enqueue, event)
        self.metrics.put(function.name, ASYNC_EVENTS_RECEIVED)
        if self._dispatcher is not None:
            self._dispatcher.wake()

    async def _run_event(self, event: QueuedEvent) -> InvocationResult:
        simulator: Simulator = self  # type: ignore[assignment]
        function, version = simulator.resolve(event.function_name, event.qualifier)
        invocation = Invocation(
            request_id=event.request_id,
            payload=event.payload,
            invoked_function_arn=event.invoked_function_arn,
            timeout_s=float(function.timeout),
            trace_id=event.trace_id,
            client_context=event.client_context,
        )
        return await simulator._execute(function, version, invocation, want_logs=False, synchronous=False)

    async def _send_to_destination(self, destination: str, letter: DeadLetter) -> bool:
        """An on-failure destination that is a function of this project gets the invocation record as an
        Event invocation; any other destination (SQS, SNS, EventBridge, S3) is only kept locally."""
        name = destination.split(":function:", 1)[1].split(":")[0] if ":function:" in destination else destination
        if ":" in name or name not in self.project.functions:
            return False
        simulator: Simulator = self  # type: ignore[assignment]
        await simulator.invoke(name, json.dumps(letter.record()).encode(), invocation_type="Event")
        return True

    # -- reserved concurrency --------------------------------------------------------------------------
    def _function_named(self, function_name: str) -> FunctionConfig:
        simulator: Simulator = self  # type: ignore[assignment]
        return simulator.resolve(function_name)[0]

    async def put_function_concurrency(
        self, function_name: str, reserved_concurrent_executions: int
    ) -> FunctionConcurrency:
        """PutFunctionConcurrency: reserve concurrency for a function (its floor and its ceiling). Kept in
        `.lsim/state.db`, so later `lsim` commands and restarts see it."""
        function = self._function_named(function_name)
        self.concurrency.set_reserved(function.name, reserved_concurrent_executions)
        await asyncio.to_thread(self.concurrency_settings.set_reserved, function.name, reserved_concurrent_executions)
        self._reserved_source[function.name] = "command"
        return FunctionConcurrency(function.name, reserved_concurrent_executions, "command")

    async def get_function_concurrency(self, function_name: str) -> FunctionConcurrency:
        function = self._function_named(function_name)
        reserved = self.concurrency.reserved(function.name)
        return FunctionConcurrency(function.name, reserved, self._reserved_source.get(function.name))

    async def delete_function_concurrency(self, function_name: str) -> None:
        """DeleteFunctionConcurrency: the function draws on the unreserved pool again."""
        function = self._function_named(function_name)
        self.concurrency.set_reserved(function.name, None)
        await asyncio.to_thread(self.concurrency_settings.set_reserved, function.name, None)
        self._reserved_source[function.name] = "command"

    def reserved_concurrency_of(self, function_name: str) -> int | None:
        """The reserved concurrency in force (lsim.toml's, or the last one set by command)."""
        return self.concurrency.reserved(function_name)

    # -- provisioned concurrency -----------------------------------------------------------------------
    def _published(self, function_name: str, qualifier: str | None) -> tuple[FunctionConfig, str, str]:
        """(function, version, qualifier) for a published version or alias; $LATEST is refused as AWS
        refuses it."""
        simulator: Simulator = self  # type: ignore[assignment]
        if not qualifier or qualifier == LATEST:
            raise InvalidParameterValueException(UNPUBLISHED)
        function, version = simulator.resolve(function_name, qualifier, route=False)
        if version == LATEST:  # an alias of $LATEST
            raise InvalidParameterValueException(UNPUBLISHED)
        return function, version, qualifier

    async def put_provisioned_concurrency_config(
        self, function_name: str, qualifier: str, provisioned_concurrent_executions: int
    ) -> ProvisionedConcurrencyConfig:
        """PutProvisionedConcurrencyConfig: keep that many environments of a version or alias initialised.
        The answer comes at once with Status IN_PROGRESS; the environments start in the background (on a
        started simulator) and the status turns READY, or FAILED with the reason."""
        function, version, qualifier = self._published(function_name, qualifier)
        self.concurrency.set_provisioned(function.name, version, provisioned_concurrent_executions)
        stored = await asyncio.to_thread(
            self.concurrency_settings.put_provisioned, function.name, qualifier, provisioned_concurrent_executions
        )
        self._provision(function, version)
        return self._provisioned_config(function.name, qualifier, version, stored.last_modified)

    async def get_provisioned_concurrency_config(
        self, function_name: str, qualifier: str
    ) -> ProvisionedConcurrencyConfig:
        function, version, qualifier = self._published(function_name, qualifier)
        if self.concurrency.provisioned(function.name, version) is None:
            raise ProvisionedConcurrencyConfigNotFoundException(
                "No Provisioned Concurrency Config found for this function"
            )
        stored = {
            (p.function_name, p.qualifier): p for p in await asyncio.to_thread(self.concurrency_settings.provisioned)
        }.get((function.name, qualifier))
        modified = stored.last_modified if stored else self._provisioned_modified.get((function.name, version), "")
        return self._provisioned_config(function.name, qualifier, version, modified)

    async def delete_provisioned_concurrency_config(self, function_name: str, qualifier: str) -> None:
        function, version, qualifier = self._published(function_name, qualifier)
        self.concurrency.remove_provisioned(function.name, version)
        await asyncio.to_thread(self.concurrency_settings.delete_provisioned, function.name, qualifier)
        for environment in self._provisioned_idle.pop((function.name, version), []):
            await environment.stop()

    def _provisioned_config(
        self, function_name: str, qualifier: str, version: str, last_modified: str
    ) -> ProvisionedConcurrencyConfig:
        statistics = self.concurrency.provisioned(function_name, version)
        assert statistics is not None
        failure = self._provisioned_failed.get((function_name, version))
        return ProvisionedConcurrencyConfig(
            function_name=function_name,
            qualifier=qualifier,
            requested=statistics.requested,
            allocated=statistics.allocated,
            available=statistics.available,
            status="FAILED" if failure else statistics.status,
            last_modified=last_modified,
            status_reason=failure,
        )

    async def _start_provisioned(self) -> None:
        """Apply lsim.toml's provisioned_concurrency and the configs stored by command."""
        wanted = {
            (function.name, qualifier): count
            for function in self.project.functions.values()
            for qualifier, count in function.provisioned_concurrency.items()
        }
        for stored in await asyncio.to_thread(self.concurrency_settings.provisioned):
            wanted[(stored.function_name, stored.qualifier)] = stored.requested
        for (name, qualifier), count in sorted(wanted.items()):
            try:
                function, version, qualifier = self._published(name, qualifier)
                self.concurrency.set_provisioned(function.name, version, count)
                self._provisioned_modified[(function.name, version)] = timestamp()
            except LambdaError as error:
                self.warn(f"lsim: provisioned concurrency {count} for {name}:{qualifier} not applied: {error}")
                continue
            self._provision(function, version)

    def _provision(self, function: FunctionConfig, version: str) -> None:
        """Start (or stop) environments until the version has as many initialised as it asks for."""
        simulator: Simulator = self  # type: ignore[assignment]
        if simulator.backend is None:  # not started: environments start with the simulator
            return
        task = asyncio.create_task(self._keep_provisioned(function, version))
        self._provisioning.add(task)
        task.add_done_callback(self._provisioning.discard)

    async def _keep_provisioned(self, function: FunctionConfig, version: str) -> None:
        try:
            await self._allocate_provisioned(function, version)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the status says why, as AWS's StatusReason does
            self._provisioned_failed[(function.name, version)] = f"FUNCTION_ERROR_INIT_FAILURE: {error}"
            self.warn(f"lsim: provisioned concurrency for {function.name}:{version} failed: {error}")

    async def _allocate_provisioned(self, function: FunctionConfig, version: str) -> None:
        simulator: Simulator = self  # type: ignore[assignment]
        key = (function.name, version)
        self._provisioned_failed.pop(key, None)
        statistics = self.concurrency.provisioned(function.name, version)
        if statistics is None:
            return
        idle = self._provisioned_idle.setdefault(key, [])
        await simulator.wait_function_active(function.name)  # a VPC function: its ENI first
        pool = await simulator._pool(function, version)
        while len(idle) + statistics.in_use > statistics.requested and idle:
            await idle.pop().stop()
        while len(idle) + statistics.in_use < statistics.requested:
            environment = pool.acquire()  # kept out of the pool: it serves provisioned invocations only
            if environment.state is State.NEW:
                variables = {**environment.spec.environment, "AWS_LAMBDA_INITIALIZATION_TYPE": INIT_TYPE}
                environment.spec = dataclasses.replace(environment.spec, environment=variables)
                # the init phase of provisioned concurrency has no 10 s limit, only the function timeout's cap
                outcome = await environment.init(float(self.project.limits.timeout_max_s))
                if outcome.status != "ready":
                    await environment.stop()
                    self._provisioned_failed[key] = (
                        f"FUNCTION_ERROR_INIT_FAILURE: the init phase ended with {outcome.status}"
                    )
                    return
            idle.append(environment)
            statistics = self.concurrency.provisioned(function.name, version) or statistics
            self.concurrency.set_allocated(function.name, version, len(idle) + statistics.in_use)

    # -- metrics and dead letters ------------------------------------------------------------------------
    async def get_metrics(
        self, function_name: str | None = None, start: float | None = None, end: float | None = None
    ) -> list[FunctionMetrics]:
        """CloudWatch's statistics per function (and "" for the account) between `start` and `end`
        (epoch seconds; default: everything kept in `.lsim/state.db`)."""
        await self._flush_metrics()
        return await asyncio.to_thread(self.metrics.read, function_name, start, end)

    async def list_dead_letters(self, function_name: str | None = None) -> list[DeadLetter]:
        return await asyncio.to_thread(self.events.dead_letters, function_name)

    async def replay_dead_letters(
        self, request_ids: Sequence[str] = (), function_name: str | None = None
    ) -> list[QueuedEvent]:
        """Put dead letters back on the asynchronous queue as new events (all those not yet replayed, or
        the ones named). A started simulator runs them at once; otherwise the next one to start does."""

        def chosen() -> list[DeadLetter]:
            if request_ids:
                letters = [self.events.dead_letter_by_id(request_id) for request_id in request_ids]
                missing = [rid for rid, letter in zip(request_ids, letters, strict=True) if letter is None]
                if missing:
                    raise InvalidParameterValueException(
                        f"no dead letter with request ID {', '.join(missing)}: `lsim dlq list` shows them"
                    )
                return [letter for letter in letters if letter is not None]
            return self.events.dead_letters(function_name, include_replayed=False)

        letters = await asyncio.to_thread(chosen)
        events = await asyncio.to_thread(self.events.replay, letters, self.clock.time())
        if self._dispatcher is not None:
            self._dispatcher.wake()
        return events

    async def event_status(self, request_id: str) -> str:
        """Where an asynchronous event is: queued, running, dead-lettered or done."""
        return await asyncio.to_thread(self.events.status, request_id)
