"""Amazon SQS queues, kept durably in the project's state: standard and FIFO queues, visibility, delays,
retention, redrive to a dead-letter queue, long polling and the queue metrics (namespace AWS/SQS).

The domain only: no HTTP (the wire protocols render these errors and results) and no Docker.
"""

from . import errors
from .models import (
    BatchResult,
    BatchResultErrorEntry,
    ChangeMessageVisibilityBatchEntry,
    DeleteMessageBatchEntry,
    MessageAttributeValue,
    Queue,
    QueueAttributes,
    QueueMetrics,
    ReceivedMessage,
    RedrivePolicy,
    SendMessageBatchEntry,
    SentMessage,
)
from .service import QueueService

__all__ = [
    "BatchResult",
    "BatchResultErrorEntry",
    "ChangeMessageVisibilityBatchEntry",
    "DeleteMessageBatchEntry",
    "MessageAttributeValue",
    "Queue",
    "QueueAttributes",
    "QueueMetrics",
    "QueueService",
    "ReceivedMessage",
    "RedrivePolicy",
    "SendMessageBatchEntry",
    "SentMessage",
    "errors",
]
