"""Lambda's CloudWatch metrics, counted where lsim decides and kept in the project's state.

Every data point goes into a one-minute statistic set (SampleCount, Sum, Minimum, Maximum), as CloudWatch
keeps them, per function and metric (and per throttle reason for Throttles). Points are buffered in
memory and written to `.lsim/state.db` every few seconds and when the simulator closes, so `lsim metrics`
in another process, the HTTP API and the load test all read the same numbers.
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: `lsim metrics` reads these names without the store's machinery
    from .clock import Clock
    from .store import Store

PERIOD_S = 60
ACCOUNT = ""  # the function name under which account-wide metrics are kept

INVOCATIONS = "Invocations"  # throttled requests are not counted
ERRORS = "Errors"
THROTTLES = "Throttles"
DURATION = "Duration"  # milliseconds
CONCURRENT_EXECUTIONS = "ConcurrentExecutions"
UNRESERVED_CONCURRENT_EXECUTIONS = "UnreservedConcurrentExecutions"
CLAIMED_ACCOUNT_CONCURRENCY = "ClaimedAccountConcurrency"
PROVISIONED_INVOCATIONS = "ProvisionedConcurrencyInvocations"
PROVISIONED_SPILLOVER = "ProvisionedConcurrencySpilloverInvocations"
PROVISIONED_UTILIZATION = "ProvisionedConcurrencyUtilization"
DEAD_LETTER_ERRORS = "DeadLetterErrors"
DESTINATION_DELIVERY_FAILURES = "DestinationDeliveryFailures"
ASYNC_EVENTS_RECEIVED = "AsyncEventsReceived"
ASYNC_EVENT_AGE = "AsyncEventAge"  # milliseconds
ASYNC_EVENTS_DROPPED = "AsyncEventsDropped"

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS metric_data (
        function_name TEXT NOT NULL,
        metric TEXT NOT NULL,
        dimension TEXT NOT NULL,
        period REAL NOT NULL,
        sample_count REAL NOT NULL,
        sum REAL NOT NULL,
        minimum REAL NOT NULL,
        maximum REAL NOT NULL,
        PRIMARY KEY (function_name, metric, dimension, period)
    )""",
]

_Key = tuple[str, str, str, float]


@dataclass(frozen=True)
class StatisticSet:
    """CloudWatch's statistics of a metric over a time range."""

    sample_count: float
    sum: float
    minimum: float
    maximum: float

    @property
    def average(self) -> float:
        return self.sum / self.sample_count if self.sample_count else 0.0

    def merge(self, other: StatisticSet) -> StatisticSet:
        return StatisticSet(
            self.sample_count + other.sample_count,
            self.sum + other.sum,
            min(self.minimum, other.minimum),
            max(self.maximum, other.maximum),
        )


@dataclass(frozen=True)
class FunctionMetrics:
    """One function's metrics over a time range, by CloudWatch name. `function_name` "" is the account."""

    function_name: str
    statistics: Mapping[str, StatisticSet]
    throttles_by_reason: Mapping[str, int]

    def sum(self, metric: str) -> float:
        found = self.statistics.get(metric)
        return found.sum if found else 0.0

    def maximum(self, metric: str) -> float:
        found = self.statistics.get(metric)
        return found.maximum if found else 0.0

    @property
    def invocations(self) -> int:
        return int(self.sum(INVOCATIONS))

    @property
    def errors(self) -> int:
        return int(self.sum(ERRORS))

    @property
    def throttles(self) -> int:
        return int(self.sum(THROTTLES))

    @property
    def duration(self) -> StatisticSet | None:
        return self.statistics.get(DURATION)


class Metrics:
    """Collects data points; `store=None` keeps them in memory only (a model run)."""

    def __init__(self, store: Store | None, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._pending: dict[_Key, list[float]] = {}
        self._kept: dict[_Key, list[float]] = {}  # flushed points when there is no store
        self._lock = threading.Lock()
        if store is not None:
            store.ensure_schema("metrics", 1, SCHEMA)

    def put(self, function: str, name: str, value: float = 1.0, dimension: str = "") -> None:
        """One data point (PutMetricData, in effect)."""
        period = self.clock.time() // PERIOD_S * PERIOD_S
        key = (function, name, dimension, period)
        bucket = self._pending.get(key)
        if bucket is None:
            self._pending[key] = [1.0, value, value, value]
        else:
            bucket[0] += 1.0
            bucket[1] += value
            if value < bucket[2]:
                bucket[2] = value
            if value > bucket[3]:
                bucket[3] = value

    def take(self) -> dict[_Key, list[float]]:
        """The points buffered so far, removed from the buffer. Call it on the thread that puts (the
        event loop's): `put` takes no lock, to stay cheap."""
        pending, self._pending = self._pending, {}
        return pending

    def write(self, pending: dict[_Key, list[float]]) -> None:
        """Keep points taken with `take()` (blocking: run it off the event loop)."""
        if not pending:
            return
        with self._lock:
            if self.store is None:
                for key, bucket in pending.items():
                    _merge_into(self._kept, key, bucket)
                return
            with self.store.transaction() as db:
                db.executemany(
                    "INSERT INTO metric_data (function_name, metric, dimension, period, sample_count, sum, "
                    "minimum, maximum) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (function_name, metric, dimension, period) DO UPDATE SET "
                    "sample_count = sample_count + excluded.sample_count, sum = sum + excluded.sum, "
                    "minimum = min(minimum, excluded.minimum), maximum = max(maximum, excluded.maximum)",
                    [(*key, *bucket) for key, bucket in pending.items()],
                )

    def flush(self) -> None:
        """take() and write() in one go, for code that puts and reads on one thread."""
        self.write(self.take())

    def read(
        self, function: str | None = None, start: float | None = None, end: float | None = None
    ) -> list[FunctionMetrics]:
        """Statistics per function between `start` and `end` (epoch seconds, whole minutes as CloudWatch
        keeps them); the account's own metrics come as function "". Points not yet written are not
        included: flush (or take and write) first. Blocking: call it off the event loop."""
        with self._lock:
            rows: list[tuple[Any, ...]] = []
            if self.store is not None:
                sql = "SELECT * FROM metric_data WHERE period >= ? AND period < ?"
                parameters: list[object] = [start or 0.0, end if end is not None else float("inf")]
                if function is not None:
                    sql += " AND function_name = ?"
                    parameters.append(function)
                rows = [tuple(r) for r in self.store.query(sql, parameters)]
            else:
                low, high = start or 0.0, end if end is not None else float("inf")
                rows = [
                    (*key, *bucket)
                    for key, bucket in self._kept.items()
                    if low <= key[3] < high and (function is None or key[0] == function)
                ]
        collected: dict[str, dict[str, StatisticSet]] = {}
        reasons: dict[str, dict[str, int]] = {}
        for name, metric, dimension, _period, count, total, low_value, high_value in rows:
            statistic = StatisticSet(count, total, low_value, high_value)
            per_function = collected.setdefault(name, {})
            current = per_function.get(metric)
            per_function[metric] = current.merge(statistic) if current else statistic
            if metric == THROTTLES and dimension:
                by_reason = reasons.setdefault(name, {})
                by_reason[dimension] = by_reason.get(dimension, 0) + int(total)
        return [
            FunctionMetrics(
                name,
                MappingProxyType(collected[name]),
                MappingProxyType(reasons.get(name, {})),
            )
            for name in sorted(collected)
        ]


def _merge_into(target: dict[_Key, list[float]], key: _Key, bucket: list[float]) -> None:
    current = target.get(key)
    if current is None:
        target[key] = list(bucket)
    else:
        current[0] += bucket[0]
        current[1] += bucket[1]
        current[2] = min(current[2], bucket[2])
        current[3] = max(current[3], bucket[3])
