"""The answers the Runtime and Extensions channels give, as plain values.

A channel decides what a runtime's or an extension's request means; the HTTP server (runtime_api.py) turns
each answer into AWS's status code, headers and JSON. Keeping them apart keeps aiohttp out of the domain:
these are dataclasses and one exception, nothing more.
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..invocation import Invocation


@dataclass(frozen=True)
class Accepted:
    """A response, an error or an init error was taken (AWS answers 202 {"status":"OK"})."""


@dataclass(frozen=True)
class Refused:
    """The request breaks the API's rules. `error_type` is AWS's name for the refusal (InvalidRequestID,
    InvalidStateTransition, RequestEntityTooLarge, InvalidRequest, InvalidEventType, Extension.*), the
    server knows its status code; `message` is the errorMessage."""

    error_type: str
    message: str


@dataclass(frozen=True)
class NextInvocation:
    """The invocation handed to the runtime's `next`, with its deadline in epoch milliseconds."""

    invocation: Invocation
    deadline_ms: int


@dataclass(frozen=True)
class Registered:
    """An extension was registered: its identifier, and the function's identity it is told."""

    extension_id: str
    identity: Mapping[str, str]


@dataclass(frozen=True)
class ExtensionEvent:
    """The next event for an extension (INVOKE or SHUTDOWN), with a fresh event identifier."""

    event: dict[str, Any]
    event_id: str


class EnvironmentGone(Exception):
    """The environment is broken or going away, so the runtime's request has no answer but "exit"
    (AWS: 500 Runtime.ExitError, "Container error. Non-recoverable state.")."""
