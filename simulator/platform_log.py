"""The platform's events around an execution environment's life, and how they reach the function's log.

Lambda describes each step (init start and end, an invocation's start, the runtime being done, the report)
as a Telemetry API event, `{"time", "type", "record"}`. With the JSON log format those events are the log's
system lines (filtered by the system log level); with Text the same steps print INIT_START, START, END,
REPORT (invocation.py writes those). Extensions subscribed to the Telemetry or Logs API receive every event,
whatever LoggingConfig says. So this module is the one place that writes an event's record.
https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html
https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html

The system level of each event follows AWS's "event mapping for system log levels" as transcribed by a third
party (the AWS table itself could not be read): success steps of init and runtimeDone are DEBUG, initStart,
start and a successful report INFO, anything that failed WARN.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .invocation import Report
from .logging_config import LoggingConfig

INITIALIZATION_TYPE = "on-demand"


def event_time(epoch: float) -> str:
    """Telemetry's time: UTC with milliseconds, `2024-05-20T16:29:45.008Z`."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class PlatformEvent:
    """One Telemetry API event: its type (`platform.start`, `function`...), record and system level."""

    type: str
    record: Any
    time: float  # epoch seconds
    level: str = "INFO"  # the system log level it is logged at (DEBUG, INFO, WARN)

    def wire(self) -> dict[str, Any]:
        return {"time": event_time(self.time), "type": self.type, "record": self.record}

    def json_line(self) -> str:
        """The log line of the JSON format: compact, as CloudWatch shows it."""
        return json.dumps(self.wire(), separators=(",", ":"), ensure_ascii=False)

    @property
    def size(self) -> int:
        """Its bytes on the wire, for the subscribers' maxBytes."""
        return len(json.dumps(self.wire(), separators=(",", ":")).encode())


def _status(status: str | None) -> str:
    return status or "success"


def _failed(record: dict[str, Any], status: str | None, error_type: str | None) -> dict[str, Any]:
    record["status"] = _status(status)
    if status and status != "success" and error_type:
        record["errorType"] = error_type
    return record


def init_start(at: float, runtime_version: str, function_name: str, version: str, phase: str) -> PlatformEvent:
    record = {
        "initializationType": INITIALIZATION_TYPE,
        "phase": phase,
        "runtimeVersion": runtime_version,
        "functionName": function_name,
        "functionVersion": version,
    }
    return PlatformEvent("platform.initStart", record, at, "INFO")


def init_runtime_done(at: float, phase: str, status: str | None, error_type: str | None = None) -> PlatformEvent:
    record = _failed({"initializationType": INITIALIZATION_TYPE, "phase": phase}, status, error_type)
    return PlatformEvent("platform.initRuntimeDone", record, at, "DEBUG" if record["status"] == "success" else "WARN")


def init_report(
    at: float, phase: str, status: str | None, duration_ms: float, error_type: str | None = None
) -> PlatformEvent:
    record = _failed({"initializationType": INITIALIZATION_TYPE, "phase": phase}, status, error_type)
    record["metrics"] = {"durationMs": round(duration_ms, 3)}
    return PlatformEvent("platform.initReport", record, at, "DEBUG" if record["status"] == "success" else "WARN")


def start(at: float, request_id: str, version: str, trace_id: str = "") -> PlatformEvent:
    """`trace_id` only with active tracing (lsim's functions are PassThrough: none)."""
    record: dict[str, Any] = {"requestId": request_id, "version": version}
    if trace_id:
        record["tracing"] = {"type": "X-Amzn-Trace-Id", "value": trace_id}
    return PlatformEvent("platform.start", record, at, "INFO")


def runtime_done(
    at: float,
    request_id: str,
    status: str | None,
    error_type: str | None,
    duration_ms: float,
    produced_bytes: int | None,
    response_latency: tuple[float, float] | None = None,
) -> PlatformEvent:
    """`response_latency`: (start epoch, milliseconds) from the invocation's hand-out to the runtime's answer."""
    record = _failed({"requestId": request_id}, status, error_type)
    metrics: dict[str, Any] = {"durationMs": round(duration_ms, 3)}
    if produced_bytes is not None:
        metrics["producedBytes"] = produced_bytes
    record["metrics"] = metrics
    if response_latency is not None:
        began, latency_ms = response_latency
        record["spans"] = [{"name": "responseLatency", "start": event_time(began), "durationMs": round(latency_ms, 3)}]
    return PlatformEvent("platform.runtimeDone", record, at, "DEBUG" if record["status"] == "success" else "WARN")


def report(at: float, figures: Report) -> PlatformEvent:
    metrics: dict[str, Any] = {
        "durationMs": round(figures.duration_ms, 3),
        "billedDurationMs": figures.billed_duration_ms,
        "memorySizeMB": figures.memory_size_mb,
        "maxMemoryUsedMB": figures.max_memory_used_mb,
    }
    if figures.init_duration_ms is not None:
        metrics["initDurationMs"] = round(figures.init_duration_ms, 3)
    record = _failed({"requestId": figures.request_id}, figures.status, figures.error_type)
    record["metrics"] = metrics
    return PlatformEvent("platform.report", record, at, "INFO" if record["status"] == "success" else "WARN")


def extension(at: float, name: str, events: list[str], error_type: str | None = None) -> PlatformEvent:
    record: dict[str, Any] = {"name": name, "state": "Ready", "events": events}
    if error_type:
        record["errorType"] = error_type
    return PlatformEvent("platform.extension", record, at, "INFO")


def subscription(at: float, api: str, name: str, types: list[str], state: str = "Subscribed") -> PlatformEvent:
    """platform.telemetrySubscription (Telemetry API) or platform.logsSubscription (Logs API)."""
    kind = "platform.telemetrySubscription" if api == "telemetry" else "platform.logsSubscription"
    return PlatformEvent(kind, {"name": name, "state": state, "types": types}, at, "INFO")


def logs_dropped(at: float, dropped_records: int, dropped_bytes: int) -> PlatformEvent:
    reason = "Some logs were dropped because the downstream consumer is slower than the logs production rate"
    record = {"droppedBytes": dropped_bytes, "droppedRecords": dropped_records, "reason": reason}
    return PlatformEvent("platform.logsDropped", record, at, "WARN")


def output_line(at: float, source: str, line: str, is_json: bool = False) -> PlatformEvent:
    """A line the function (or an extension) printed: a string with its newline, or, with the JSON log
    format and a line that is a JSON object, that object."""
    record: Any = line
    if is_json and line.startswith("{"):
        try:
            parsed = json.loads(line)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            record = parsed
    return PlatformEvent(source, record if isinstance(record, dict) else line + "\n", at, "INFO")


Subscriber = Callable[[PlatformEvent], None]


@dataclass
class PlatformLog:
    """Where one environment's platform events go: its log lines (rendered per LoggingConfig) and the
    subscribers of the Telemetry and Logs APIs."""

    config: LoggingConfig
    subscribers: list[Subscriber] = field(default_factory=list)
    #: the events since the init phase began, replayed to a new subscriber; None once init is over
    recording: list[PlatformEvent] | None = None
    _partial: bytes = b""

    def begin_init(self) -> None:
        """A new sandbox: its subscribers start afresh, and hear the events from here on."""
        self.subscribers.clear()
        self.recording = []
        self._partial = b""

    def end_init(self) -> None:
        self.recording = None

    def subscribe(self, subscriber: Subscriber) -> None:
        for event in self.recording or ():
            subscriber(event)
        self.subscribers.append(subscriber)

    def publish(self, event: PlatformEvent) -> None:
        """To the subscribers only (an event with no log line)."""
        if self.recording is not None:
            self.recording.append(event)
        for subscriber in self.subscribers:
            subscriber(event)

    def output(self, chunk: bytes) -> None:
        """What the sandbox printed, line by line as `function` records, when someone subscribed."""
        if not self.subscribers and self.recording is None:
            return
        data = self._partial + chunk
        cut = data.rfind(b"\n") + 1
        self._partial = data[cut:]
        now = time.time()
        for line in data[:cut].decode("utf-8", "replace").splitlines():
            self.publish(output_line(now, "function", line, self.config.is_json))

    def emit(self, logs: list[str], event: PlatformEvent, text_line: str | None = None) -> None:
        """Send `event` to the subscribers and put its line in `logs`: the JSON line if the system log
        level lets it through, or with Text the classic line (`text_line`; None when Text has none)."""
        self.publish(event)
        if self.config.is_json:
            if self.config.system_allows(event.level):
                logs.append(event.json_line())
        elif text_line is not None:
            logs.append(text_line)


class ApplicationFilter:
    """The JSON format's application log level, applied by the platform to what the function prints: a
    JSON line with a valid "level" is kept at that level, any other line counts as INFO. Lines are kept
    whole across chunks."""

    def __init__(self, config: LoggingConfig) -> None:
        self.config = config
        self._partial = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._partial + chunk
        cut = data.rfind(b"\n") + 1
        self._partial = data[cut:]
        return b"".join(line for line in data[:cut].splitlines(keepends=True) if self._allows(line))

    def flush(self) -> bytes:
        rest, self._partial = self._partial, b""
        return rest if rest and self._allows(rest) else b""

    def _allows(self, line: bytes) -> bool:
        level: str | None = None
        if line.startswith(b"{"):
            try:
                parsed = json.loads(line)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                value = parsed.get("level", parsed.get("log_level"))
                level = value if isinstance(value, str) else None
        return self.config.application_allows(level)


class ConsoleLines:
    """What one execution environment prints, as whole lines for a console (`lsim serve`): a line is sent
    once its newline arrives, and a line without one when the invocation ends (flush), so neither is lost
    nor mixed with another environment's. A line longer than `longest` goes in pieces."""

    def __init__(self, send: Callable[[str], None], longest: int = 64 * 1024) -> None:
        self.send = send
        self.longest = longest
        self._partial = b""

    def feed(self, chunk: bytes) -> None:
        data = self._partial + chunk
        end = data.rfind(b"\n") + 1
        if len(data) - end > self.longest:
            end = len(data)
        self._partial = data[end:]
        if end:
            self.send(data[:end].decode("utf-8", "replace"))

    def flush(self) -> None:
        if self._partial:
            rest, self._partial = self._partial, b""
            self.send(rest.decode("utf-8", "replace") + "\n")
