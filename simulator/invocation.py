"""What one invocation carries in and brings back, and the platform log lines Lambda writes around it.

The START / END / REPORT / INIT_START / INIT_REPORT lines are a wire format of their own (users grep
CloudWatch for them), so they are written here and nowhere else; so is the Lambda error body
(`error_body`), which the platform's failures, the Runtime API and the Extensions API all answer with.
https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

InvocationType = Literal["RequestResponse", "Event", "DryRun"]
INVOCATION_TYPES: tuple[str, ...] = ("RequestResponse", "Event", "DryRun")
#: the unpublished version of a function, which UpdateFunctionConfiguration changes
LATEST = "$LATEST"


def payload_bytes(payload: bytes | bytearray | str | Any) -> bytes:
    """An Invoke payload as the bytes on the wire: bytes as they are, text as UTF-8, any other value as JSON."""
    if isinstance(payload, str):
        return payload.encode()
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    return json.dumps(payload).encode()


def new_request_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Invocation:
    """One request as the Runtime API hands it to the runtime."""

    request_id: str
    payload: bytes
    invoked_function_arn: str
    timeout_s: float
    trace_id: str = ""
    client_context: str | None = None  # the decoded JSON text, as Lambda-Runtime-Client-Context carries it
    cognito_identity: str | None = None
    tenant_id: str | None = None  # Invoke's TenantId (tenancy.py), as Lambda-Runtime-Aws-Tenant-Id carries it


@dataclass(frozen=True)
class Report:
    """The figures of the REPORT line."""

    request_id: str
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None
    status: str | None = None  # "timeout" or "error" when the invocation failed
    error_type: str | None = None

    @property
    def billed_duration_ms(self) -> int:
        # Since Aug 2025 the init phase is billed too: ceil(Duration + Init Duration).
        return math.ceil(self.duration_ms + (self.init_duration_ms or 0.0))

    def line(self) -> str:
        parts = [
            f"REPORT RequestId: {self.request_id}",
            f"Duration: {self.duration_ms:.2f} ms",
            f"Billed Duration: {self.billed_duration_ms} ms",
            f"Memory Size: {self.memory_size_mb} MB",
            f"Max Memory Used: {self.max_memory_used_mb} MB",
        ]
        if self.init_duration_ms is not None:
            parts.append(f"Init Duration: {self.init_duration_ms:.2f} ms")
        line = "\t".join(parts)
        if self.status:
            line += f"\tStatus: {self.status}"
            if self.error_type:
                line += f"\tError Type: {self.error_type}"
        return line


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def init_start_line(runtime: str) -> str:
    return f"INIT_START Runtime Version: {runtime}.lsim"


def init_report_line(duration_ms: float, phase: str, status: str, error_type: str | None = None) -> str:
    line = f"INIT_REPORT Init Duration: {duration_ms:.2f} ms\tPhase: {phase}\tStatus: {status}"
    return f"{line}\tError Type: {error_type}" if error_type else line


def error_body(error_type: str, message: str, stack_trace: list[str] | None = None) -> bytes:
    """A Lambda error body, `{"errorMessage", "errorType"(, "stackTrace")}`: what Lambda returns for an
    error the platform (not the function) reports, and what the Runtime and Extensions APIs answer with.
    https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html (ErrorRequest, ErrorResponse)"""
    body: dict[str, Any] = {"errorMessage": message, "errorType": error_type}
    if stack_trace is not None:
        body["stackTrace"] = stack_trace
    return json.dumps(body).encode()


def error_type_of(body: bytes | None) -> str | None:
    """The errorType of an error body, None when it has none (or is not JSON)."""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        return None
    return str(parsed["errorType"]) if isinstance(parsed, dict) and parsed.get("errorType") else None


@dataclass
class InvocationResult:
    """What an invocation returned, the same whichever face asked (CLI, HTTP API, fixture, load test)."""

    request_id: str
    status_code: int
    body: bytes  # the response payload as on the wire
    executed_version: str
    function_error: str | None = None  # "Unhandled" when the function failed, as X-Amz-Function-Error
    logs: str = ""
    report: Report | None = None
    cold_start: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.function_error is None

    @property
    def payload(self) -> Any:
        """The response payload parsed as JSON (None for an empty one)."""
        return json.loads(self.body) if self.body else None

    @property
    def error(self) -> dict[str, Any] | None:
        """For a function error, its body: errorType, errorMessage (and stackTrace, requestId)."""
        if self.function_error is None:
            return None
        try:
            parsed = self.payload
        except ValueError:
            parsed = None
        return parsed if isinstance(parsed, dict) else {"errorMessage": self.body.decode("utf-8", "replace")}

    @property
    def error_type(self) -> str | None:
        error = self.error
        return str(error.get("errorType")) if error and error.get("errorType") else None
