"""Real mode: drive real invocations through the Simulator, in its own event loop, and count them.

Each request is an asyncio task calling `Simulator.invoke` (the path `lsim invoke` and the HTTP API take:
admission, throttles, warm or cold execution environments), without HTTP in between, so the generator
costs little beside lsim. Open loop sends on the shape's schedule whatever the answers; closed loop keeps
N clients busy back to back. Either way nothing is sent after the duration, and what is still running
then gets the function's timeout (plus its init) to finish before it is counted unfinished.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import LsimError, TooManyRequestsException
from ..invocation import InvocationResult, error_type_of
from ..retry import retry_async
from ..simulator import Simulator
from .plan import THROTTLED_CLIENT_PAUSE_S, LoadPlan
from .report import (
    FUNCTION_ERROR,
    SUCCEEDED,
    THROTTLED,
    TIMEOUT,
    TIMEOUT_ERROR_TYPE,
    UNFINISHED,
    LoadReport,
    Recorder,
    Summary,
    bucket_width,
)

DRAIN_MARGIN_S = 5.0
EVENT_POLL_S = 0.25
SAMPLE_S = 0.1


class InvokeTarget(Protocol):
    """What the runner calls: `Simulator.invoke` (a test or benchmark may stand something else in)."""

    def invoke(
        self,
        function_name: str,
        payload: bytes | str | Any = b"",
        *,
        qualifier: str | None = None,
        invocation_type: str = "RequestResponse",
        complete_logs: bool | None = None,
    ) -> Awaitable[InvocationResult]: ...


@dataclass
class Progress:
    """Live counts for a progress display, updated as answers come."""

    started_at: float = 0.0
    sent: int = 0
    succeeded: int = 0
    errors: int = 0  # function errors and timeouts
    throttles: int = 0  # throttled attempts, retried or not
    running: int = 0  # requests sent and not yet answered (backoff waits included)
    done: bool = False

    def elapsed(self) -> float:
        return time.monotonic() - self.started_at if self.started_at else 0.0


class LoadRunner:
    """Runs one LoadPlan against a started Simulator (or any InvokeTarget) and reports."""

    def __init__(
        self,
        target: InvokeTarget,
        plan: LoadPlan,
        *,
        drain_s: float | None = None,
    ) -> None:
        self.target = target
        self.plan = plan
        self.progress = Progress()
        self._simulator: Simulator | None = target if isinstance(target, Simulator) else None
        self._drain_s = drain_s
        self._recorder = Recorder(bucket_width(plan.duration_s), plan.duration_s)
        self._tasks: set[asyncio.Task[bool]] = set()
        self._starts = array.array("d")  # when each admitted attempt began and ended: concurrency
        self._ends = array.array("d")
        self._lags = array.array("d")  # how late the open loop sent each request
        self._events: dict[str, tuple[float, float]] = {}  # Event: request id -> (sent at, 202 latency)
        self._rng = random.Random(plan.seed)
        self._start = 0.0
        self._last_answer = 0.0
        self._issued = 0
        self._send_end = 0.0
        self._last_sent = 0.0
        self._invoke_errors: dict[str, int] = {}

    def current_concurrency(self) -> int:
        """ConcurrentExecutions of the function now, as lsim's controller counts it."""
        if self._simulator is not None:
            return int(self._simulator.concurrency.controller.function_statistics(self.plan.function_name).in_use)
        return self.progress.running

    # -- the run ------------------------------------------------------------------------------------------
    async def run(self) -> LoadReport:
        plan = self.plan
        loop = asyncio.get_running_loop()
        before = await self._lsim_counters()
        cpu_before = time.process_time()
        self._start = loop.time()
        self.progress.started_at = time.monotonic()
        sampler = asyncio.create_task(self._sample_concurrency()) if plan.invocation_type == "Event" else None
        try:
            if plan.concurrency is not None:
                await self._closed_loop()
            else:
                await self._open_loop()
            self._send_end = loop.time() - self._start
            await self._drain()
            if plan.invocation_type == "Event":
                await self._settle_events()
        finally:
            if sampler is not None:
                sampler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sampler
            self.progress.done = True
        cpu_s = time.process_time() - cpu_before
        after = await self._lsim_counters()
        return self._report(before, after, cpu_s)

    async def _open_loop(self) -> None:
        plan = self.plan
        assert plan.shape is not None
        loop = asyncio.get_running_loop()
        start, sleep, spawn, lags = self._start, asyncio.sleep, self._spawn, self._lags
        limit = plan.max_requests
        for at in plan.shape.arrivals(plan.seed):
            if limit is not None and self._issued >= limit:
                break
            wait = start + at - loop.time()
            if wait > 0:
                await sleep(wait)
                lags.append(loop.time() - start - at)
                spawn()
            else:  # behind schedule: send at once, but let the requests run between sends
                lags.append(-wait)
                spawn()
                await sleep(0)

    async def _closed_loop(self) -> None:
        plan = self.plan
        assert plan.concurrency is not None
        loop = asyncio.get_running_loop()
        end = self._start + plan.duration_s
        limit = plan.max_requests

        async def client() -> None:
            while loop.time() < end and (limit is None or self._issued < limit):
                index = self._issued
                self._issued += 1
                if not await self._one(index):  # throttled: a 429 takes a round trip to come back
                    await asyncio.sleep(THROTTLED_CLIENT_PAUSE_S)

        clients = [asyncio.create_task(client()) for _ in range(plan.concurrency)]
        _, pending = await asyncio.wait(clients, timeout=plan.duration_s + self.drain_seconds())
        for task in pending:  # bounded: a request still running after its timeout and init is unfinished
            task.cancel()
        await asyncio.gather(*clients, return_exceptions=True)

    def _spawn(self) -> None:
        index = self._issued
        self._issued += 1
        task: asyncio.Task[bool] = asyncio.get_running_loop().create_task(self._one(index))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _one(self, index: int) -> bool:
        """One request: its attempts (with --retry), its outcome, its figures. False if it was throttled."""
        plan, recorder, progress = self.plan, self._recorder, self.progress
        loop = asyncio.get_running_loop()
        payload = plan.payloads[index % len(plan.payloads)]
        sent_at = self._last_sent = loop.time() - self._start
        recorder.request(sent_at)
        progress.sent += 1
        progress.running += 1
        attempt_at = sent_at
        throttled_before = False

        def attempt() -> Awaitable[InvocationResult]:
            nonlocal attempt_at
            attempt_at = loop.time() - self._start
            return self.target.invoke(
                plan.function_name,
                payload,
                qualifier=plan.qualifier,
                invocation_type=plan.invocation_type,
                complete_logs=False,
            )

        def on_retry(error: BaseException, _delay: float) -> None:
            nonlocal throttled_before
            throttled_before = True
            progress.throttles += 1
            recorder.throttled_attempt(getattr(error, "reason", "TooManyRequestsException"))

        try:
            if plan.retries:
                result = await retry_async(attempt, attempts=plan.retries + 1, on_retry=on_retry, rng=self._rng.random)
            else:
                result = await attempt()
        except TooManyRequestsException as error:
            progress.throttles += 1
            recorder.outcome(sent_at, THROTTLED, error.reason)
            return False
        except asyncio.CancelledError:
            recorder.outcome(sent_at, UNFINISHED)
            raise
        except LsimError as error:  # the Invoke API refused it (not the function): counted as unfinished
            self._note_invoke_error(error)
            recorder.outcome(sent_at, UNFINISHED)
            return True
        finally:
            progress.running -= 1
        answered = loop.time() - self._start
        self._last_answer = max(self._last_answer, answered)
        if result.status_code == 202:  # Event: queued; what became of it is read from the queue later
            self._events[result.request_id] = (sent_at, answered - sent_at)
            return True
        self._starts.append(attempt_at)
        self._ends.append(answered)
        report = result.report
        recorder.ran(
            report.duration_ms if report else None, report.init_duration_ms if report else None, result.cold_start
        )
        if throttled_before:
            recorder.recovered += 1
        latency = answered - sent_at
        if result.function_error is None:
            progress.succeeded += 1
            recorder.outcome(sent_at, SUCCEEDED, None, latency)
        elif result.error_type == TIMEOUT_ERROR_TYPE or (report is not None and report.status == "timeout"):
            progress.errors += 1
            recorder.outcome(sent_at, TIMEOUT, TIMEOUT_ERROR_TYPE, latency)
        else:
            progress.errors += 1
            recorder.outcome(sent_at, FUNCTION_ERROR, result.error_type or result.function_error, latency)
        return True

    def _note_invoke_error(self, error: LsimError) -> None:
        name = getattr(error, "type", type(error).__name__)
        self._invoke_errors[name] = self._invoke_errors.get(name, 0) + 1

    def drain_seconds(self) -> float:
        """How long answers are awaited after the last request: the function's timeout and init phase,
        plus the client's backoff waits."""
        if self._drain_s is not None:
            return self._drain_s
        timeout, init = 3.0, 10.0
        if self._simulator is not None:
            function, _ = self._simulator.resolve(self.plan.function_name, self.plan.qualifier, route=False)
            timeout, init = float(function.timeout), float(self._simulator.project.limits.init_timeout_s)
        backoff = sum(min(20.0, 0.1 * 2**n) for n in range(self.plan.retries))
        return (timeout + init) * (self.plan.retries + 1) + backoff + DRAIN_MARGIN_S

    async def _drain(self) -> None:
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=self.drain_seconds())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _settle_events(self) -> None:
        """Event: wait (bounded) for the queue to finish the events sent, then read what became of each:
        done, dead-lettered (retries exhausted, or too old), or still queued."""
        simulator = self._simulator
        recorder = self._recorder
        if simulator is None:  # nothing to ask: count the 202s as succeeded
            for sent_at, latency in self._events.values():
                recorder.outcome(sent_at, SUCCEEDED, None, latency)
            return
        queue, name = simulator.events.queue, self.plan.function_name
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.drain_seconds()
        ours = set(self._events)
        while True:
            waiting = {event.request_id for event in await asyncio.to_thread(queue.queued, name)} & ours
            if not waiting or loop.time() >= deadline:
                break
            await asyncio.sleep(EVENT_POLL_S)
        self._last_answer = loop.time() - self._start
        letters = {letter.request_id: letter for letter in await asyncio.to_thread(queue.dead_letters, name)}
        for request_id, (sent_at, latency) in self._events.items():
            letter = letters.get(request_id)
            if request_id in waiting:
                recorder.outcome(sent_at, UNFINISHED)
            elif letter is None:
                self.progress.succeeded += 1
                recorder.outcome(sent_at, SUCCEEDED, None, latency)
            elif letter.condition == "EventAgeExceeded":
                recorder.outcome(sent_at, THROTTLED, "EventAgeExceeded")
            else:
                error_type = error_type_of(letter.response_payload) or letter.function_error
                kind = TIMEOUT if error_type == TIMEOUT_ERROR_TYPE else FUNCTION_ERROR
                self.progress.errors += 1
                recorder.outcome(sent_at, kind, error_type, latency)

    async def _sample_concurrency(self) -> None:
        """Event mode: the queue runs the invocations, so concurrency is sampled from lsim's controller."""
        loop = asyncio.get_running_loop()
        while True:
            self._recorder.concurrency(loop.time() - self._start, self.current_concurrency())
            await asyncio.sleep(SAMPLE_S)

    # -- figures ------------------------------------------------------------------------------------------
    async def _lsim_counters(self) -> dict[str, Any]:
        """The simulator's own counts for the function: CloudWatch's metrics (Invocations, Errors,
        Throttles by reason), its controller's cold starts, and environments its pools created."""
        simulator = self._simulator
        if simulator is None:
            return {}
        name = self.plan.function_name
        metrics = {m.function_name: m for m in await simulator.get_metrics(name)}.get(name)
        statistics = simulator.concurrency.controller.function_statistics(name)
        return {
            "Invocations": metrics.invocations if metrics else 0,
            "Errors": metrics.errors if metrics else 0,
            "Throttles": metrics.throttles if metrics else 0,
            "cold_starts": statistics.cold_starts,
            "environments": sum(pool.created for (function, _), pool in simulator.pools().items() if function == name),
            "peak": statistics.peak_in_use,
            "limit": statistics.reserved
            if statistics.reserved is not None
            else simulator.concurrency.controller.statistics().unreserved_limit,
        }

    def _report(self, before: dict[str, Any], after: dict[str, Any], cpu_s: float) -> LoadReport:
        plan, recorder = self.plan, self._recorder
        if plan.invocation_type != "Event":
            _sweep(self._starts, self._ends, recorder)
        delta = (
            {
                key: after[key] - before[key]
                for key in ("Invocations", "Errors", "Throttles", "cold_starts", "environments")
            }
            if after
            else {}
        )
        peak = max(recorder.peak_by, default=0)
        cold_starts = recorder.cold_starts
        if plan.invocation_type == "Event" and delta:
            cold_starts = delta["cold_starts"]  # the queue ran them: only lsim saw the cold starts
        environments = delta.get("environments", cold_starts)
        lags = Summary.of(lag * 1000 for lag in self._lags)
        sent_rate = recorder.sent / self._send_end if self._send_end > 0 else 0.0
        generator: dict[str, float] = {"rate_per_s": round(sent_rate, 1), "cpu_s": round(cpu_s, 3)}
        if recorder.sent:
            generator["cpu_ms_per_request"] = round(cpu_s * 1000 / recorder.sent, 3)
        if lags is not None:
            generator["lag_p99_ms"] = round(lags.p99, 2)
            generator["lag_max_ms"] = round(lags.max, 2)
        notes = []
        if lags is not None and lags.p99 > 50:
            notes.append(
                f"the load generator fell behind its schedule (p99 {lags.p99:.0f} ms late): this machine could "
                "not send faster; the rate achieved is in 'load generator'"
            )
        if self._invoke_errors:
            notes.append(
                "the Invoke API refused some requests (not throttles, not function errors), counted as "
                f"unfinished: {', '.join(f'{k} {v}' for k, v in sorted(self._invoke_errors.items()))}"
            )
        if recorder.unfinished and plan.invocation_type == "Event":
            notes.append(
                "some events were still queued when the load test stopped (a function error is retried after "
                "about 1 and 2 minutes): wait longer with --drain, or lower [limits] async_retry_delays_s"
            )
        counters: dict[str, Any] = {}
        if delta:
            counters = {f"{key} +": value for key, value in delta.items()}
            notes += _cross_check(plan, recorder, delta)
        limit = after["limit"] if after else None
        return recorder.report(
            "real",
            function_name=plan.function_name,
            qualifier=plan.qualifier_name,
            invocation_type=plan.invocation_type,
            load=plan.describe(),
            planned_duration_s=plan.duration_s,
            sending_s=self._last_sent,
            elapsed_s=max(self._last_answer, self._send_end),
            cold_starts=cold_starts,
            peak_concurrency=peak,
            environments_created=environments,
            concurrency_limit=limit,
            generator=generator,
            lsim_counters=counters,
            notes=notes,
        )


def _sweep(starts: array.array[float], ends: array.array[float], recorder: Recorder) -> None:
    """Concurrency over time from the intervals the admitted attempts held their slots."""
    points = sorted([(end, -1) for end in ends] + [(start, 1) for start in starts])
    running = 0
    for at, step in points:
        running += step
        recorder.concurrency(at, running)


def _cross_check(plan: LoadPlan, recorder: Recorder, delta: dict[str, Any]) -> list[str]:
    """The load test's own counts against lsim's metrics: they must agree (synchronous runs)."""
    if plan.invocation_type == "Event":
        return []
    ran = recorder.succeeded + sum(recorder.function_errors.values()) + recorder.timeouts
    throttles = sum(recorder.throttles.values()) + sum(recorder.throttled_attempts.values())
    notes = []
    if delta["Invocations"] != ran:
        notes.append(f"lsim's Invocations metric counted {delta['Invocations']}, the load test {ran}")
    if delta["Throttles"] != throttles:
        notes.append(f"lsim's Throttles metric counted {delta['Throttles']}, the load test {throttles}")
    return notes


async def run_load_test(target: InvokeTarget, plan: LoadPlan) -> LoadReport:
    """Run `plan` against a started Simulator (a live display uses `LoadRunner` and its `progress`)."""
    return await LoadRunner(target, plan).run()
