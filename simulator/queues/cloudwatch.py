"""The queues' CloudWatch metrics (namespace AWS/SQS, dimension QueueName), kept per minute beside Lambda's.

The gauges (ApproximateNumberOfMessagesVisible, ...NotVisible, ...Delayed, ApproximateAgeOfOldestMessage)
are sampled; the counters (NumberOfMessagesSent/Received/Deleted, NumberOfEmptyReceives, SentMessageSize)
are kept exactly in the queue's row, in the same transaction as the operation, and each sample adds what
they grew by since the last one. So every point is put from one place (the sampler, on the event loop or
the model's driver), and `lsim metrics` in another process reads the same numbers.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .models import QueueMetrics

if TYPE_CHECKING:
    from ..metrics import Metrics

#: queue metrics are kept in the metric table under this prefix + the queue name (a function's name
#: cannot hold a colon, so the two never meet)
KEY_PREFIX = "sqs:"
GAUGES = (
    "ApproximateNumberOfMessagesVisible",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateAgeOfOldestMessage",
)
COUNTERS = ("NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted", "NumberOfEmptyReceives")
SENT_MESSAGE_SIZE = "SentMessageSize"


def metric_key(queue: str) -> str:
    return KEY_PREFIX + queue


def queue_of_key(key: str) -> str | None:
    """The queue a metric key belongs to, or None for a function's (or the account's) key."""
    return key[len(KEY_PREFIX) :] if key.startswith(KEY_PREFIX) else None


class MetricRecorder:
    """Puts samples into Metrics: gauges as they are, counters as their growth since the last sample."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._last: dict[str, dict[str, float]] = {}

    def record(self, samples: Sequence[QueueMetrics]) -> None:
        for sample in samples:
            values = sample.by_name()
            key = metric_key(sample.queue_name)
            for name in GAUGES:
                self.metrics.put(key, name, float(values[name]))
            before = self._last.get(sample.queue_name)
            now = {name: float(values[name]) for name in (*COUNTERS, SENT_MESSAGE_SIZE)}
            self._last[sample.queue_name] = now
            if before is None:  # the first sample of this process: growth is counted from here on
                continue
            for name in COUNTERS:
                grown = now[name] - before[name]
                if grown > 0:
                    self.metrics.put(key, name, grown)
            sent = now["NumberOfMessagesSent"] - before["NumberOfMessagesSent"]
            if sent > 0:  # CloudWatch's SentMessageSize is per message; a sample gives their average
                self.metrics.put(key, SENT_MESSAGE_SIZE, (now[SENT_MESSAGE_SIZE] - before[SENT_MESSAGE_SIZE]) / sent)

    def start(self, queue: str) -> None:
        """A queue created now: its counters grow from zero."""
        self._last[queue] = dict.fromkeys((*COUNTERS, SENT_MESSAGE_SIZE), 0.0)

    def forget(self, queue: str) -> None:
        self._last.pop(queue, None)
