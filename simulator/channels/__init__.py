"""What one execution environment shares with the processes inside its sandbox, in the domain's words.

The runtime and the extensions talk to lsim over HTTP (the Runtime API and the Extensions API), but what
they say is a short list of domain events: "give me the next invocation", "here is its response", "init
failed", "register me". The channels hold that state and decide the answers (answers.py); the HTTP server
(simulator/runtime_api.py) is the only place that reads requests and renders answers as AWS's wire format.
So the execution environment (environment.py) drives its runtime without importing a web framework, and
the rules (one answer per invocation, registration during init only, the 6 MB response limit) read in one
place.

- `runtime.py`: RuntimeChannel, the invocations handed to the runtime and what it posted back.
- `extensions.py`: ExtensionsChannel, the registered extensions and the events they are owed.
- `telemetry.py`: TelemetryChannel, the Telemetry and Logs API subscriptions and their deliveries.
- `answers.py`: the answers both give (Accepted, Refused, NextInvocation, Registered, ExtensionEvent).
"""

from __future__ import annotations

from .answers import Accepted, EnvironmentGone, ExtensionEvent, NextInvocation, Refused, Registered
from .extensions import Extension, ExtensionsChannel
from .runtime import RESPONSE_LIMIT_SLACK, Admission, ConnectionCheck, RuntimeChannel, RuntimeOutcome
from .telemetry import Subscription, TelemetryChannel

__all__ = [
    "RESPONSE_LIMIT_SLACK",
    "Accepted",
    "Admission",
    "ConnectionCheck",
    "EnvironmentGone",
    "Extension",
    "ExtensionEvent",
    "ExtensionsChannel",
    "NextInvocation",
    "Refused",
    "Registered",
    "RuntimeChannel",
    "RuntimeOutcome",
    "Subscription",
    "TelemetryChannel",
]
