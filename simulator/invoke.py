"""Lambda's Invoke, top to bottom: the path every invocation takes, whichever face asked.

    invoke()        check the request as the Invoke API does: type, log type, payload, client context
      resolve       the function and version: $LATEST, a published version, an alias (services/lookup.py)
      DryRun        204, nothing runs;  Event: kept durably and answered 202 (services/events.py)
    run()           the synchronous path, and the event queue's:
      VPC check     409 while the function's ENIs are made, 502 when they could not be (services/vpcs.py)
      admission     a concurrency slot, or Lambda's 429 with its reason (admission.py, concurrency.py)
      placement     a provisioned, warm or new execution environment for the slot (placement.py)
      invoke        the environment runs it: init on a cold start, the Runtime API, timeout (environment.py)
      record        Invocations, Errors and Duration, as CloudWatch counts them (metrics.py)

It speaks no wire format: the faces translate requests and results.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import os
import secrets
import sys
import time
from typing import Any

from .admission import Admission
from .config import FunctionConfig, ProjectConfig
from .errors import InvalidParameterValueException, InvalidRequestContentException, RequestTooLargeException
from .events import QueuedEvent
from .invocation import INVOCATION_TYPES, LATEST, Invocation, InvocationResult, new_request_id, payload_bytes
from .metrics import DURATION, ERRORS, INVOCATIONS, Metrics
from .placement import Placement
from .services.events import EventService
from .services.lookup import FunctionLookup, qualifier_of
from .services.vpcs import VpcService
from .tenancy import check_tenant, environments_key

CLIENT_CONTEXT_MAX_BYTES = 3583


class Invoker:
    """Invokes the project's functions as Lambda does."""

    def __init__(
        self,
        project: ProjectConfig,
        lookup: FunctionLookup,
        vpcs: VpcService,
        admission: Admission,
        placement: Placement,
        metrics: Metrics,
        events: EventService,
    ) -> None:
        self.project = project
        self.lookup = lookup
        self.vpcs = vpcs
        self.admission = admission
        self.placement = placement
        self.metrics = metrics
        self.events = events
        self.turn: asyncio.Lock | None = None  # --debug-port: invocations run one at a time (debugging.py)

    async def invoke(
        self,
        function_name: str,
        payload: bytes | str | Any = b"",
        *,
        qualifier: str | None = None,
        invocation_type: str = "RequestResponse",
        log_type: str = "None",
        client_context: str | None = None,
        complete_logs: bool | None = None,
        tenant_id: str | None = None,
    ) -> InvocationResult:
        """Invoke a function as Lambda's Invoke API does. `payload` is JSON bytes/text, or any
        JSON-serialisable value; `client_context` is base64 of a JSON object, as on the wire.

        `complete_logs` (default: when log_type is "Tail") waits until the runtime asks for its next event and
        fences its output there (sandbox/fence.py), so `result.logs` holds exactly what it printed; without it
        the log holds what had arrived by then, and the invocation returns a little sooner. `tenant_id` is
        Invoke's TenantId: required for a tenant-isolated function, refused for the others (tenancy.py)."""
        if invocation_type not in INVOCATION_TYPES:
            raise InvalidParameterValueException(
                f"InvocationType {invocation_type!r} is invalid: use RequestResponse, Event or DryRun"
            )
        if log_type not in ("None", "Tail"):
            raise InvalidParameterValueException(f"LogType {log_type!r} is invalid: use None or Tail")
        function, version = self.lookup.resolve(function_name, qualifier)
        check_tenant(function.tenancy_config is not None, tenant_id)
        body = self._check_payload(payload, invocation_type)
        context = _decode_client_context(client_context)
        named = qualifier or qualifier_of(function_name)
        invocation = Invocation(
            request_id=new_request_id(),
            payload=body,
            invoked_function_arn=self.project.function_arn(function.name, named),
            timeout_s=float(function.timeout),
            trace_id=_trace_id(),
            client_context=context,
            tenant_id=tenant_id,
        )
        if invocation_type == "DryRun":
            return InvocationResult(invocation.request_id, 204, b"", version)
        if invocation_type == "Event":  # kept durably, run by the event queue with Lambda's retries
            await self.events.enqueue(function, named or LATEST, invocation)
            return InvocationResult(invocation.request_id, 202, b"", version)
        if complete_logs is None:
            complete_logs = log_type == "Tail"
        return await self.run(function, version, invocation, want_logs=complete_logs)

    async def run(
        self,
        function: FunctionConfig,
        version: str,
        invocation: Invocation,
        *,
        want_logs: bool,
        synchronous: bool = True,
    ) -> InvocationResult:
        """Admit (or raise TooManyRequestsException) and run in a provisioned, warm or new environment; the
        concurrency slot is held until the invocation ends, cold start included."""
        async with self.turn or contextlib.nullcontext():  # with a debugger, one invocation at a time
            self.vpcs.check_invocable(function)
            # a tenant's environments are its own: on the warm book under the version and the tenant
            key = environments_key(version, invocation.tenant_id)
            admitted = self.admission.admit(function.name, key, synchronous)
            async with self.placement.lease(function, version, admitted) as environment:
                result = await environment.invoke(invocation, want_logs=want_logs)
        self._record(function.name, result)
        return result

    def _record(self, function_name: str, result: InvocationResult) -> None:
        """Invocations, Errors and Duration, as CloudWatch counts them (throttles are not invocations)."""
        self.metrics.put(function_name, INVOCATIONS)
        if result.function_error is not None:
            self.metrics.put(function_name, ERRORS)
        if result.report is not None:
            self.metrics.put(function_name, DURATION, result.report.duration_ms)

    # -- what the event queue runs (services/events.py) ----------------------------------------------------
    async def run_event(self, event: QueuedEvent) -> InvocationResult:
        function, version = self.lookup.resolve(event.function_name, event.qualifier)
        invocation = Invocation(
            request_id=event.request_id,
            payload=event.payload,
            invoked_function_arn=event.invoked_function_arn,
            timeout_s=float(function.timeout),
            trace_id=event.trace_id,
            client_context=event.client_context,
            tenant_id=event.tenant_id,
        )
        return await self.run(function, version, invocation, want_logs=False, synchronous=False)

    async def send_event(self, function_name: str, payload: bytes) -> InvocationResult:
        return await self.invoke(function_name, payload, invocation_type="Event")

    # -- the request's checks --------------------------------------------------------------------------------
    def _check_payload(self, payload: bytes | str | Any, invocation_type: str) -> bytes:
        body = payload_bytes(payload) or b"{}"  # Lambda hands an empty payload to the function as {}
        self.check_payload_size(len(body), invocation_type)
        try:
            json.loads(body)
        except ValueError as exc:
            raise InvalidRequestContentException(
                f"Could not parse request body into json: Could not parse payload into json: {exc}"
            ) from None
        except RecursionError:
            raise InvalidRequestContentException(
                "Could not parse request body into json: Could not parse payload into json: it nests deeper than "
                f"lsim's parser goes (Python's recursion limit, {sys.getrecursionlimit()}); flatten the event"
            ) from None
        return body

    def check_payload_size(self, size: int, invocation_type: str) -> None:
        """Refuse a payload over the invocation limit (6 MB synchronous, 1 MB for events). The HTTP API
        calls it with the request's Content-Length, before it reads the body."""
        limits = self.project.limits
        limit = limits.async_payload_bytes if invocation_type == "Event" else limits.sync_payload_bytes
        if size > limit:
            raise RequestTooLargeException(
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation "
                f"(this payload is {size} bytes)"
            )


def _decode_client_context(encoded: str | None) -> str | None:
    """X-Amz-Client-Context is base64 of a JSON object of at most 3,583 bytes; the runtime gets the JSON."""
    if encoded is None:
        return None
    if len(encoded) > CLIENT_CONTEXT_MAX_BYTES:
        raise InvalidParameterValueException(
            f"Client context must be at most {CLIENT_CONTEXT_MAX_BYTES} bytes (base64); it is {len(encoded)}"
        )
    try:
        text = base64.b64decode(encoded, validate=True).decode()
        json.loads(text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidParameterValueException("Client context must be a valid Base64-encoded JSON object.") from None
    return text


def _trace_id() -> str:
    """An X-Ray trace header in Lambda's form: Root=1-<epoch hex>-<96 bits>;Parent=<64 bits>;Sampled=0."""
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled=0;Lineage=1:{os.getpid() & 0xFFFFFFFF:x}:0"
