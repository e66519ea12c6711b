"""How many batches an SQS event source mapping processes at once, as Lambda scales it.

Pure and driven by the instants it is given (no asyncio, no I/O), so the real poller (poller.py) and the
load test's model mode play exactly the same rules, one on a RealClock and one in virtual time.

AWS's words (docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html, services-sqs-errorhandling.html):
- "When messages are available, Lambda starts processing five batches at a time with five concurrent
  invocations of your function. If messages are still available, Lambda increases the number of processes
  that are reading batches by up to 300 more instances per minute. The maximum number of batches that an
  event source mapping can process simultaneously is 1,000. When traffic is low, Lambda scales back the
  processing to five concurrent batches."
- ScalingConfig MaximumConcurrency (2-1,000) caps the concurrent invocations of one mapping.
- On a function error or a throttle "Lambda backs off" by reducing the concurrency of the mapping; with
  ReportBatchItemFailures "Lambda doesn't scale down message polling when function invocation fails".
- A throttled batch is retried "until the message's timestamp exceeds your queue's visibility timeout, at
  which point Lambda drops the message" (it becomes visible again, its receive count already raised).

What AWS does not say, and lsim chooses (stated so a model's report can repeat it): the scale-up is
continuous (5 batches a second, whole batches only); a back-off halves the allowed batches, never below the
starting five (or MaximumConcurrency when lower), and scaling up resumes from there; "traffic is low" is a
long poll that came back empty; a throttled batch is retried after 1 s, 2 s, 4 s... while it is in flight,
or sooner: when one of the mapping's own invocations ends, the freed concurrency goes to the throttled batch
received first (`batch_for_freed_slot`), before the mapping receives a new batch. Without that rule a
throttled batch would get a slot only when the queue ran dry (a reader that finishes receives again at once),
so whether it waited out its visibility timeout would hang on a few milliseconds of timing.
The optimisation "to as few as 2 concurrent batches" is not modelled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

Held = TypeVar("Held")

START_BATCHES = 5  # concurrent batches when messages first appear, and after an idle spell
BATCHES_PER_MINUTE = 300  # the scale-up while messages remain (60 before November 2023)
MAX_BATCHES = 1000  # per mapping: the current DG's figure (a newer copy says 1,250 invocations)
MIN_MAXIMUM_CONCURRENCY, MAX_MAXIMUM_CONCURRENCY = 2, 1000  # ScalingConfig.MaximumConcurrency's range
THROTTLE_RETRY_FIRST_S = 1.0  # lsim's choice: AWS documents the retries, not their spacing
THROTTLE_RETRY_MAX_S = 60.0
VISIBILITY_EXTRA_S = 30.0  # window + timeout + 30 s when a batching window would outlast the visibility timeout


@dataclass(frozen=True)
class ScalingStatistics:
    """What a mapping's scaling stands at: for a report, `lsim` output and tests."""

    allowed: int  # batches it may process at once now
    ceiling: int  # what it may reach: 1,000 or MaximumConcurrency
    scaling_up: bool  # messages were found and no long poll has come back empty since
    backoffs: int  # function errors and throttles that made it back off


class PollerScaling:
    """The number of batches one SQS mapping may have in flight, instant by instant.

    The poller tells it what happens (`found_messages`, `found_none`, `function_error`, `throttled`) and
    asks `allowed(now)` before it starts another batch. Instants are seconds on any clock that does not go
    back; the object reads no clock itself.
    """

    def __init__(
        self,
        *,
        maximum_concurrency: int | None = None,
        report_batch_item_failures: bool = False,
        start: int = START_BATCHES,
        per_minute: float = BATCHES_PER_MINUTE,
        ceiling: int = MAX_BATCHES,
    ) -> None:
        if maximum_concurrency is not None and not (
            MIN_MAXIMUM_CONCURRENCY <= maximum_concurrency <= MAX_MAXIMUM_CONCURRENCY
        ):
            raise ValueError(
                f"MaximumConcurrency {maximum_concurrency}: give {MIN_MAXIMUM_CONCURRENCY}-{MAX_MAXIMUM_CONCURRENCY}"
            )
        if start < 1 or ceiling < 1 or per_minute < 0:
            raise ValueError(f"start {start}, ceiling {ceiling}, per_minute {per_minute}: give positive figures")
        self.maximum_concurrency = maximum_concurrency
        self.report_batch_item_failures = report_batch_item_failures
        self.per_second = per_minute / 60.0
        self.ceiling = min(ceiling, maximum_concurrency) if maximum_concurrency is not None else ceiling
        self.floor = min(start, self.ceiling)
        self._level = self.floor  # batches allowed at the instant `_since`
        self._since: float | None = None  # None: idle, no scaling up
        self.backoffs = 0

    def allowed(self, now: float) -> int:
        """Batches the mapping may process at once at `now`."""
        if self._since is None:
            return self._level
        grown = self._level + int(max(0.0, now - self._since) * self.per_second + 1e-9)
        return min(self.ceiling, grown)

    def next_increase(self, now: float) -> float | None:
        """When `allowed` next grows by one (None: it is not growing, or at its ceiling)."""
        if self._since is None or self.per_second <= 0 or self.allowed(now) >= self.ceiling:
            return None
        steps = int(max(0.0, now - self._since) * self.per_second + 1e-9) + 1
        return self._since + steps / self.per_second

    def found_messages(self, now: float) -> None:
        """A receive returned messages: if the mapping was idle, it starts scaling up from here."""
        if self._since is None:
            self._since = now

    def found_none(self, now: float) -> None:
        """A long poll came back empty: traffic is low, so back to the starting batches."""
        self._level = self.floor
        self._since = None

    def function_error(self, now: float) -> None:
        """A batch failed as a whole (function error or timeout): back off, unless the mapping reports
        batch item failures (then Lambda does not scale polling down)."""
        if not self.report_batch_item_failures:
            self._back_off(now)

    def throttled(self, now: float) -> None:
        """An invocation of a batch was throttled (TooManyRequestsException): back off."""
        self._back_off(now)

    def _back_off(self, now: float) -> None:
        self.backoffs += 1
        current = self.allowed(now)
        self._level = max(self.floor, current // 2)
        if self._since is not None:
            self._since = now  # scaling up resumes from the lower level

    def statistics(self, now: float) -> ScalingStatistics:
        return ScalingStatistics(self.allowed(now), self.ceiling, self._since is not None, self.backoffs)


def throttle_retry_delay(throttles: int) -> float:
    """The wait before retrying a throttled batch, after its `throttles`-th throttle in a row."""
    exponent = min(max(throttles - 1, 0), 16)
    return min(THROTTLE_RETRY_MAX_S, THROTTLE_RETRY_FIRST_S * 2**exponent)


def batch_for_freed_slot(waiting: Sequence[Held], received_at: Callable[[Held], float]) -> Held | None:
    """Which throttled batch retries now that one of the mapping's invocations ended: the one received first
    (None: none is waiting, so a reader may receive a new batch). The poller and the model both ask this."""
    return min(waiting, key=received_at, default=None)


def effective_visibility_timeout(queue_visibility_s: float, function_timeout_s: float, window_s: float) -> float:
    """The visibility timeout the mapping receives with: the queue's, unless a batching window plus the
    function's timeout would outlast it; then window + timeout + 30 s (DG with-sqs, "Batching window")."""
    if window_s > 0 and window_s + function_timeout_s > queue_visibility_s:
        return window_s + function_timeout_s + VISIBILITY_EXTRA_S
    return queue_visibility_s


__all__ = [
    "BATCHES_PER_MINUTE",
    "MAX_BATCHES",
    "START_BATCHES",
    "PollerScaling",
    "ScalingStatistics",
    "batch_for_freed_slot",
    "effective_visibility_timeout",
    "throttle_retry_delay",
]
