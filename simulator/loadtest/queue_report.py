"""What a queue load test saw, the same for real mode and model mode: the backlog, the age of the oldest
message, the dead-letter queue, and the function's concurrency and throttles, over time.

The gauges are the queue's own metrics under AWS's names (ApproximateNumberOfMessagesVisible,
ApproximateNumberOfMessagesNotVisible, ApproximateAgeOfOldestMessage), read once a bucket. Accounting
balances when every message sent was processed (deleted after the function succeeded), filtered out,
moved to the dead-letter queue, or is still in the queue when the test stopped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .report import Summary


@dataclass(frozen=True)
class QueueTimelineRow:
    """One bucket: messages sent and processed in it, and the gauges at its start."""

    t: float
    sent: int
    processed: int
    visible: int  # ApproximateNumberOfMessagesVisible
    in_flight: int  # ApproximateNumberOfMessagesNotVisible
    oldest_age_s: float  # ApproximateAgeOfOldestMessage
    dead_letters: int  # messages in the dead-letter queue
    concurrency: int  # the function's invocations running
    allowed_batches: int  # what the mapping's scaling allowed
    throttles: int  # invokes of batches throttled in the bucket


class QueueRecorder:
    """Counts a queue load test as it happens; both modes call it the same way."""

    def __init__(self, bucket_s: float) -> None:
        self.bucket_s = bucket_s
        self.sent_by: list[int] = []
        self.processed_by: list[int] = []
        self.throttles_by: list[int] = []
        self.peak_by: list[int] = []
        self.gauges_by: list[tuple[int, int, float, int, int, int] | None] = []
        self.invocations = 0
        self.failed_batches = 0
        self.throttles = 0
        self.dropped_total = 0
        self.received_total = 0
        self.processed_total = 0
        self.durations_ms: list[float] = []
        self.max_age_s = 0.0
        self.max_visible = 0
        self.peak = 0
        self.last_activity = 0.0

    def _bucket(self, t: float) -> int:
        b = int(t / self.bucket_s) if t > 0 else 0
        while len(self.sent_by) <= b:
            for series in (self.sent_by, self.processed_by, self.throttles_by, self.peak_by):
                series.append(0)
            self.gauges_by.append(None)
        return b

    def sent(self, t: float, n: int = 1) -> None:
        self.sent_by[self._bucket(t)] += n

    def received(self, t: float, n: int) -> None:
        self.received_total += n

    def throttled(self, t: float) -> None:
        self.throttles += 1
        self.throttles_by[self._bucket(t)] += 1

    def dropped(self, t: float, n: int) -> None:
        """A throttled batch of `n` messages went back to the queue at the end of its visibility timeout."""
        self.dropped_total += n

    def invoked(self, t: float, n: int, duration_ms: float | None, failed: bool) -> None:
        self.invocations += 1
        if failed:
            self.failed_batches += 1
        if duration_ms is not None:
            self.durations_ms.append(duration_ms)

    def processed(self, t: float, n: int) -> None:
        if n:
            self.processed_by[self._bucket(t)] += n
            self.processed_total += n
            self.last_activity = max(self.last_activity, t)

    def concurrency(self, t: float, running: int) -> None:
        b = self._bucket(t)
        if running > self.peak_by[b]:
            self.peak_by[b] = running
        self.peak = max(self.peak, running)

    def gauges(
        self,
        t: float,
        *,
        visible: int,
        in_flight: int,
        oldest_age_s: float,
        dead_letters: int,
        concurrency: int,
        allowed_batches: int,
    ) -> None:
        b = self._bucket(t)
        if self.gauges_by[b] is None:
            self.gauges_by[b] = (visible, in_flight, oldest_age_s, dead_letters, concurrency, allowed_batches)
        self.max_age_s = max(self.max_age_s, oldest_age_s)
        self.max_visible = max(self.max_visible, visible)
        self.concurrency(t, concurrency)

    def timeline(self) -> list[QueueTimelineRow]:
        rows, last = [], (0, 0, 0.0, 0, 0, 0)
        for b in range(len(self.sent_by)):
            gauges = self.gauges_by[b] or last
            last = gauges
            visible, in_flight, age, dead, _, allowed = gauges
            rows.append(
                QueueTimelineRow(
                    t=round(b * self.bucket_s, 6),
                    sent=self.sent_by[b],
                    processed=self.processed_by[b],
                    visible=visible,
                    in_flight=in_flight,
                    oldest_age_s=round(age, 3),
                    dead_letters=dead,
                    concurrency=self.peak_by[b],
                    allowed_batches=allowed,
                    throttles=self.throttles_by[b],
                )
            )
        return rows

    def report(self, mode: str, **fields: Any) -> QueueReport:
        counted: dict[str, Any] = {
            "processed": self.processed_total,
            "received": self.received_total,
            "invocations": self.invocations,
            "failed_batches": self.failed_batches,
            "throttles": self.throttles,
            "returned_after_throttles": self.dropped_total,
            "max_oldest_age_s": self.max_age_s,
            "max_visible": self.max_visible,
            "peak_concurrency": self.peak,
            "drained_at_s": self.last_activity,
            "duration_ms": Summary.of(self.durations_ms),
            "bucket_s": self.bucket_s,
            "timeline": self.timeline(),
        }
        return QueueReport(mode=mode, **{**counted, **fields})


@dataclass
class QueueReport:
    """The result of one queue load test, in either mode."""

    mode: str
    function_name: str
    queue_name: str
    load: str
    planned_duration_s: float
    sending_s: float
    elapsed_s: float
    sent_total: int
    processed: int
    dead_letters: int
    left_in_queue: int
    received: int
    invocations: int
    failed_batches: int
    throttles: int
    returned_after_throttles: int
    max_oldest_age_s: float
    max_visible: int
    peak_concurrency: int
    drained_at_s: float
    concurrency_limit: int | None
    duration_ms: Summary | None
    bucket_s: float
    timeline: Sequence[QueueTimelineRow]
    filtered_out: int = 0
    init_duration_ms: Summary | None = None  # the cold starts' Init Duration
    assumptions: Sequence[str] = ()
    notes: Sequence[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.sent_total == self.processed + self.filtered_out + self.dead_letters + self.left_in_queue

    def accounting(self) -> str:
        verdict = "balanced" if self.balanced else "DOES NOT BALANCE"
        relation = "=" if self.balanced else "!="
        parts = [f"{self.processed:,} processed"]
        if self.filtered_out:
            parts.append(f"{self.filtered_out:,} filtered out")
        parts += [f"{self.dead_letters:,} to the DLQ", f"{self.left_in_queue:,} left in the queue"]
        return f"{verdict}: {self.sent_total:,} sent {relation} " + " + ".join(parts)

    def figures(self) -> dict[str, float]:
        """The answers, as numbers: what a comparison of two runs (model and real) looks at."""
        return {
            "ApproximateAgeOfOldestMessage max (s)": self.max_oldest_age_s,
            "ApproximateNumberOfMessagesVisible max": float(self.max_visible),
            "messages to the DLQ": float(self.dead_letters),
            "processed": float(self.processed),
            "drained at (s)": self.drained_at_s,
        }

    def rows(self) -> list[tuple[str, str]]:
        window = max(self.sending_s, self.planned_duration_s)
        rate = self.sent_total / window if window > 0 else 0.0
        limit = f"  (limit {self.concurrency_limit:,})" if self.concurrency_limit is not None else ""
        rows = [
            ("messages sent", f"{self.sent_total:,}  ({rate:,.1f}/s over {window:,.1f} s)"),
            ("processed", f"{self.processed:,}  (deleted after success; the last at {self.drained_at_s:,.1f} s)"),
            ("to the DLQ", f"{self.dead_letters:,}"),
            ("left in the queue", f"{self.left_in_queue:,}  (when the test stopped at {self.elapsed_s:,.1f} s)"),
            ("accounting", self.accounting()),
            ("oldest message", f"ApproximateAgeOfOldestMessage max {self.max_oldest_age_s:,.1f} s"),
            ("backlog", f"ApproximateNumberOfMessagesVisible max {self.max_visible:,}"),
            ("invocations", f"{self.invocations:,} batches, {self.failed_batches:,} failed as a whole"),
            ("throttles", f"{self.throttles:,}  ({self.returned_after_throttles:,} messages returned to the "
             "queue after their visibility timeout)"),
            ("function Duration", self.duration_ms.line() if self.duration_ms else "-"),
            ("Init Duration", self.init_duration_ms.line() if self.init_duration_ms else "-"),
            ("peak concurrency", f"{self.peak_concurrency:,}{limit}"),
        ]  # fmt: skip
        if self.filtered_out:
            rows.insert(2, ("filtered out", f"{self.filtered_out:,}  (no filter matched: deleted)"))
        return rows

    def title(self) -> str:
        return f"lsim load-test {self.function_name} ({self.mode} mode): {self.load} to queue {self.queue_name}"

    def text(self) -> str:
        rows = self.rows()
        width = max(len(what) for what, _ in rows)
        lines = [self.title()]
        lines += [f"  {what:<{width}}  {figure}" for what, figure in rows]
        lines += [f"  assumption: {line}" for line in self.assumptions]
        lines += [f"  note: {line}" for line in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        shape = asdict(self)
        shape["timeline"] = [asdict(row) for row in self.timeline]
        shape["balanced"] = self.balanced
        shape["accounting"] = self.accounting()
        shape["figures"] = self.figures()
        shape["assumptions"] = list(self.assumptions)
        shape["notes"] = list(self.notes)
        return shape

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    def plot(self, path: Path) -> None:
        """The backlog, the age of the oldest message, and concurrency with throttles, as a PNG."""
        from .plot import draw_queue

        draw_queue(self, path)


__all__ = ["QueueRecorder", "QueueReport", "QueueTimelineRow"]
