"""A load test's scenario, the same for real mode and model mode: what to invoke, how, and how much."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..invocation import LATEST
from .shapes import LoadTestError, Shape, format_duration

MAX_RETRIES = 10
#: a closed-loop client that was throttled sends its next request this much later (a 429's round trip),
#: in both modes: without it a throttled client would spin
THROTTLED_CLIENT_PAUSE_S = 0.001


@dataclass(frozen=True)
class LoadPlan:
    """Open loop (`shape`: requests sent on a schedule, whatever the answers) or closed loop
    (`concurrency` clients, each sending its next request when the last one is answered). Always bounded:
    nothing is sent after `duration_s`, nor beyond `max_requests`."""

    function_name: str
    duration_s: float
    shape: Shape | None = None
    concurrency: int | None = None
    max_requests: int | None = None
    payloads: Sequence[bytes] = (b"{}",)
    qualifier: str | None = None
    invocation_type: str = "RequestResponse"
    retries: int = 0  # client retries of a throttle, with backoff and full jitter (simulator.retry)
    seed: int = 1

    def __post_init__(self) -> None:
        if (self.shape is None) == (self.concurrency is None):
            raise LoadTestError("give a load shape (--rate, --shape) or a closed loop (--concurrency N), not both")
        if self.concurrency is not None and self.concurrency < 1:
            raise LoadTestError(f"--concurrency {self.concurrency}: give 1 or more clients")
        if self.max_requests is not None and self.max_requests < 1:
            raise LoadTestError(f"--max-requests {self.max_requests}: give 1 or more")
        if not self.duration_s > 0:
            raise LoadTestError(f"--duration {self.duration_s:g}s: give a duration above 0, e.g. --duration 30s")
        if self.invocation_type not in ("RequestResponse", "Event"):
            raise LoadTestError(f"--invocation-type {self.invocation_type}: a load test sends RequestResponse or Event")
        if not 0 <= self.retries <= MAX_RETRIES:
            raise LoadTestError(f"--retry {self.retries}: give 0-{MAX_RETRIES} retries")
        if self.retries and self.invocation_type == "Event":
            raise LoadTestError(
                "--retry is for synchronous invocations: Lambda's queue retries a throttled Event itself"
            )
        if not self.payloads:
            raise LoadTestError("no events to send: give --event FILE or --events DIR with *.json files")

    @property
    def qualifier_name(self) -> str:
        return self.qualifier or LATEST

    def describe(self) -> str:
        if self.shape is not None:
            load = self.shape.describe()
        else:
            load = f"closed loop, {self.concurrency} clients for {format_duration(self.duration_s)}"
        if self.max_requests is not None:
            load += f", at most {self.max_requests:,} requests"
        if self.retries:
            load += f", {self.retries} retries"
        return load
