"""What a load test saw, the same for real mode and model mode: counted as it happens, reported at the end.

`Recorder` counts per time bucket (by the instant each request was first sent): sent, succeeded, errors,
throttles, peak concurrency and latencies. `LoadReport` is the result: the table a user reads, the JSON
of `--json`, the PNG of `--plot`. Accounting must balance: every request sent is exactly one of
succeeded, function error, timeout, throttled (or, when the test stopped first, unfinished), and the
report says whether it does.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..invocation import LATEST

# What became of a request (its last attempt).
SUCCEEDED, FUNCTION_ERROR, TIMEOUT, THROTTLED, UNFINISHED = range(5)
TIMEOUT_ERROR_TYPE = "Sandbox.Timedout"  # Lambda's error type for a function that ran out of time


def bucket_width(duration_s: float, buckets: int = 120) -> float:
    """A round bucket width giving at most about `buckets` points over the run (at least half a second,
    so that a rate in a bucket means something)."""
    for width in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600):
        if duration_s / width <= buckets:
            return float(width)
    return 3600.0


@dataclass(frozen=True)
class Summary:
    """Percentiles (nearest rank) of a set of figures, in milliseconds."""

    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Summary | None:
        ordered = sorted(values)
        if not ordered:
            return None
        n = len(ordered)

        def rank(q: float) -> float:
            return ordered[min(n - 1, max(0, math.ceil(q * n) - 1))]

        return cls(n, math.fsum(ordered) / n, rank(0.5), rank(0.9), rank(0.99), ordered[-1])

    def line(self) -> str:
        return f"p50 {_ms(self.p50)}  p90 {_ms(self.p90)}  p99 {_ms(self.p99)}  max {_ms(self.max)}"


@dataclass(frozen=True)
class TimelineRow:
    """One bucket of the run: requests first sent in it and what became of them, the peak concurrency
    and the latency of those that ran."""

    t: float
    sent: int
    succeeded: int
    errors: int  # function errors and timeouts
    throttled: int
    concurrency: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None


class Recorder:
    """Counts a run as it happens. Both modes call it the same way; model mode calls it a million times,
    so it stays plain lists and integers."""

    def __init__(self, bucket_s: float, horizon_s: float = 0.0) -> None:
        self.bucket_s = bucket_s
        n = int(horizon_s / bucket_s) + 1
        self.sent_by = [0] * n
        self.succeeded_by = [0] * n
        self.errors_by = [0] * n
        self.throttled_by = [0] * n
        self.peak_by = [0] * n
        self.level_by = [-1] * n  # concurrency after the last change in the bucket (-1: none)
        self.latency_by: list[list[float]] = [[] for _ in range(n)]
        self.sent = 0
        self.succeeded = 0
        self.timeouts = 0
        self.unfinished = 0
        self.function_errors: dict[str, int] = {}
        self.throttles: dict[str, int] = {}
        self.throttled_attempts: dict[str, int] = {}
        self.retries = 0
        self.recovered = 0  # requests throttled at least once that ran in the end
        self.cold_starts = 0
        self.init_ms: list[float] = []
        self.duration_ms: list[float] = []

    def _bucket(self, t: float) -> int:
        b = int(t / self.bucket_s) if t > 0 else 0
        if b >= len(self.sent_by):
            grow = b + 1 - len(self.sent_by)
            for series in (self.sent_by, self.succeeded_by, self.errors_by, self.throttled_by, self.peak_by):
                series.extend([0] * grow)
            self.level_by.extend([-1] * grow)
            self.latency_by.extend([] for _ in range(grow))
        return b

    def request(self, t: float) -> None:
        """A request is sent for the first time at `t` (seconds from the start)."""
        self.sent += 1
        self.sent_by[self._bucket(t)] += 1

    def outcome(self, sent_at: float, kind: int, detail: str | None = None, latency_s: float = 0.0) -> None:
        """What became of the request first sent at `sent_at`: `detail` is the error type of a function
        error, the Reason of a throttle. `latency_s` counts for requests that ran."""
        b = self._bucket(sent_at)
        if kind == SUCCEEDED:
            self.succeeded += 1
            self.succeeded_by[b] += 1
            self.latency_by[b].append(latency_s * 1000)
        elif kind == THROTTLED:
            reason = detail or "TooManyRequestsException"
            self.throttles[reason] = self.throttles.get(reason, 0) + 1
            self.throttled_by[b] += 1
        elif kind in (FUNCTION_ERROR, TIMEOUT):
            if kind == TIMEOUT:
                self.timeouts += 1
            else:
                error_type = detail or "Unhandled"
                self.function_errors[error_type] = self.function_errors.get(error_type, 0) + 1
            self.errors_by[b] += 1
            self.latency_by[b].append(latency_s * 1000)
        else:
            self.unfinished += 1

    def concurrency(self, t: float, running: int) -> None:
        """From `t` on, `running` invocations hold a concurrency slot (call it at every change, in time
        order: a bucket's peak counts what was already running when it began)."""
        b = self._bucket(t)
        if running > self.peak_by[b]:
            self.peak_by[b] = running
        self.level_by[b] = running

    def peaks(self) -> list[int]:
        """The peak concurrency of each bucket, invocations carried over from the one before included."""
        peaks, level = [], 0
        for peak, last in zip(self.peak_by, self.level_by, strict=True):
            peaks.append(max(peak, level))
            if last >= 0:
                level = last
        return peaks

    def throttled_attempt(self, reason: str) -> None:
        """An attempt was throttled and will be retried (its request is not counted here)."""
        self.throttled_attempts[reason] = self.throttled_attempts.get(reason, 0) + 1
        self.retries += 1

    def ran(self, duration_ms: float | None, init_ms: float | None, cold: bool) -> None:
        """An invocation ran: its REPORT's Duration and, on a cold start, Init Duration."""
        if duration_ms is not None:
            self.duration_ms.append(duration_ms)
        if cold:
            self.cold_starts += 1
            if init_ms is not None:
                self.init_ms.append(init_ms)

    def timeline(self) -> list[TimelineRow]:
        rows = []
        peaks = self.peaks()
        for b in range(len(self.sent_by)):
            latencies = Summary.of(self.latency_by[b])
            rows.append(
                TimelineRow(
                    t=round(b * self.bucket_s, 6),
                    sent=self.sent_by[b],
                    succeeded=self.succeeded_by[b],
                    errors=self.errors_by[b],
                    throttled=self.throttled_by[b],
                    concurrency=peaks[b],
                    latency_p50_ms=latencies.p50 if latencies else None,
                    latency_p99_ms=latencies.p99 if latencies else None,
                )
            )
        while len(rows) > 1 and not rows[-1].sent and not rows[-1].concurrency:
            rows.pop()
        return rows

    def latencies_ms(self) -> list[float]:
        return [latency for bucket in self.latency_by for latency in bucket]

    def report(self, mode: str, **fields: Any) -> LoadReport:
        """A LoadReport of what this recorder counted; each mode adds what only it knows (its plan's
        description, elapsed times, environments created...) and may override a count."""
        counted: dict[str, Any] = {
            "sent": self.sent,
            "succeeded": self.succeeded,
            "function_errors": dict(self.function_errors),
            "timeouts": self.timeouts,
            "throttled": dict(self.throttles),
            "unfinished": self.unfinished,
            "retries": self.retries,
            "throttled_attempts": dict(self.throttled_attempts),
            "recovered_by_retry": self.recovered,
            "cold_starts": self.cold_starts,
            "init_duration_ms": Summary.of(self.init_ms),
            "latency_ms": Summary.of(self.latencies_ms()),
            "duration_ms": Summary.of(self.duration_ms),
            "peak_concurrency": max(self.peak_by, default=0),
            "bucket_s": self.bucket_s,
            "timeline": self.timeline(),
        }
        return LoadReport(mode=mode, **{**counted, **fields})


@dataclass
class LoadReport:
    """The result of one load test, in either mode."""

    mode: str  # "real" or "model"
    function_name: str
    qualifier: str
    invocation_type: str
    load: str  # the shape or closed loop, described
    planned_duration_s: float
    sending_s: float  # from the first request sent to the last (wall time, or virtual time in a model)
    elapsed_s: float  # from the first request to the last answer
    sent: int
    succeeded: int
    function_errors: Mapping[str, int]
    timeouts: int
    throttled: Mapping[str, int]
    unfinished: int
    retries: int
    throttled_attempts: Mapping[str, int]
    recovered_by_retry: int
    cold_starts: int
    init_duration_ms: Summary | None
    latency_ms: Summary | None
    duration_ms: Summary | None
    peak_concurrency: int
    environments_created: int
    concurrency_limit: int | None  # the reserved concurrency, or what the account leaves unreserved
    bucket_s: float
    timeline: Sequence[TimelineRow]
    generator: Mapping[str, float] = field(default_factory=dict)  # real mode: rate achieved, lag, CPU
    lsim_counters: Mapping[str, Any] = field(default_factory=dict)  # the simulator's own counters
    assumptions: Sequence[str] = ()
    notes: Sequence[str] = ()

    # -- accounting ---------------------------------------------------------------------------------------
    @property
    def function_error_count(self) -> int:
        return sum(self.function_errors.values())

    @property
    def throttled_count(self) -> int:
        return sum(self.throttled.values())

    @property
    def accounted(self) -> int:
        return self.succeeded + self.function_error_count + self.timeouts + self.throttled_count + self.unfinished

    @property
    def balanced(self) -> bool:
        """Every request sent is exactly one of succeeded, function error, timeout, throttled, unfinished."""
        return self.accounted == self.sent

    def accounting(self) -> str:
        verdict = "balanced" if self.balanced else "DOES NOT BALANCE"
        parts = [
            f"{self.succeeded:,} succeeded",
            f"{self.function_error_count:,} function errors",
            f"{self.timeouts:,} timeouts",
            f"{self.throttled_count:,} throttled",
        ]
        if self.unfinished:
            parts.append(f"{self.unfinished:,} unfinished")
        relation = "=" if self.balanced else "!="
        return f"{verdict}: {self.sent:,} sent {relation} " + " + ".join(parts)

    # -- outputs --------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        shape = asdict(self)
        shape["timeline"] = [asdict(row) for row in self.timeline]
        shape["balanced"] = self.balanced
        shape["accounting"] = self.accounting()
        shape["function_errors"] = dict(self.function_errors)
        shape["throttled"] = dict(self.throttled)
        shape["throttled_attempts"] = dict(self.throttled_attempts)
        shape["generator"] = dict(self.generator)
        shape["lsim_counters"] = dict(self.lsim_counters)
        shape["assumptions"] = list(self.assumptions)
        shape["notes"] = list(self.notes)
        return shape

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    def rows(self) -> list[tuple[str, str]]:
        """The report as (what, figure) rows: the same table in both modes."""
        window = max(self.sending_s, self.planned_duration_s)
        rate = self.sent / window if window > 0 else 0.0
        sent = f"{self.sent:,}  ({rate:,.1f}/s over {window:,.1f} s; last answer at {self.elapsed_s:,.1f} s)"
        rows = [("sent", sent)]
        if self.invocation_type == "Event":
            rows.append(("", "Event: each was answered 202 and queued; below, what the queue made of it"))
        rows.append(("succeeded", f"{self.succeeded:,}"))
        rows.append(("function errors", _by(self.function_error_count, self.function_errors)))
        rows.append(("timeouts", f"{self.timeouts:,}"))
        rows.append(("throttled", _by(self.throttled_count, self.throttled)))
        if self.unfinished:
            rows.append(("unfinished", f"{self.unfinished:,}  (no answer yet when the load test stopped)"))
        rows.append(("accounting", self.accounting()))
        if self.retries or self.throttled_attempts:
            retried = ", ".join(f"{reason} {n:,}" for reason, n in sorted(self.throttled_attempts.items()))
            what = "retried by the queue" if self.invocation_type == "Event" else "retried"
            rows.append(
                (
                    "throttled attempts",
                    f"{self.retries:,} {what} ({retried}); {self.recovered_by_retry:,} requests ran in the end",
                )
            )
        cold = f"{self.cold_starts:,}"
        if self.init_duration_ms:
            cold += f"  Init Duration {self.init_duration_ms.line()}"
        rows.append(("cold starts", cold))
        what = "latency"
        if self.invocation_type == "Event":
            what = "latency (queued to done)" if self.mode == "model" else "latency (202 answer)"
        rows.append((what, self.latency_ms.line() if self.latency_ms else "-"))
        rows.append(("function Duration", self.duration_ms.line() if self.duration_ms else "-"))
        limit = f"  (limit {self.concurrency_limit:,})" if self.concurrency_limit is not None else ""
        rows.append(("peak concurrency", f"{self.peak_concurrency:,}{limit}"))
        rows.append(("environments created", f"{self.environments_created:,}"))
        if self.generator:
            rows.append(("load generator", ", ".join(f"{k} {_figure(v)}" for k, v in self.generator.items())))
        if self.lsim_counters:
            rows.append(("lsim's counters", ", ".join(f"{k} {_figure(v)}" for k, v in self.lsim_counters.items())))
        return rows

    def title(self) -> str:
        qualifier = f":{self.qualifier}" if self.qualifier and self.qualifier != LATEST else ""
        return f"lsim load-test {self.function_name}{qualifier} ({self.mode} mode): {self.load}, {self.invocation_type}"

    def text(self) -> str:
        """The report as plain text (what the CLI prints, without colours)."""
        width = max(len(what) for what, _ in self.rows())
        lines = [self.title()]
        lines += [f"  {what:<{width}}  {figure}" for what, figure in self.rows()]
        lines += [f"  assumption: {line}" for line in self.assumptions]
        lines += [f"  note: {line}" for line in self.notes]
        return "\n".join(lines)

    def plot(self, path: Path) -> None:
        """Concurrency, requests and throttles, and latency over time, as a PNG."""
        from .plot import draw

        draw(self, path)


def _by(total: int, detail: Mapping[str, int]) -> str:
    if not detail:
        return f"{total:,}"
    return f"{total:,}  (" + ", ".join(f"{name} {count:,}" for name, count in sorted(detail.items())) + ")"


def _ms(value: float) -> str:
    return f"{value:,.1f} ms" if value < 10_000 else f"{value / 1000:,.2f} s"


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


__all__ = [
    "FUNCTION_ERROR",
    "SUCCEEDED",
    "THROTTLED",
    "TIMEOUT",
    "UNFINISHED",
    "LoadReport",
    "Recorder",
    "Summary",
    "TimelineRow",
    "bucket_width",
]
