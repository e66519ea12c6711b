"""The Simulator: the one facade every face (CLI, HTTP API, pytest fixture, load test) calls.

It resolves a function and qualifier, checks the request as Lambda's Invoke API checks it, takes an
execution environment from the function version's pool (warm, or a cold start) and returns an
InvocationResult. It speaks no wire format: the faces translate requests and results.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .clock import Clock
from .config import FunctionConfig, ProjectConfig
from .environment import ExecutionEnvironment, LogSink, lambda_environment
from .errors import (
    AccessDeniedException,
    InvalidParameterValueException,
    InvalidRequestContentException,
    RequestTooLargeException,
    ResourceNotFoundException,
)
from .facade.concurrency import ConcurrencyOperations
from .facade.functions import FunctionOperations
from .facade.layers import LayerOperations
from .facade.versions import VersionOperations
from .facade.vpc import VpcOperations
from .invocation import INVOCATION_TYPES, Invocation, InvocationResult, new_request_id
from .layer_cache import LayerCache
from .layers import LayerRegistry
from .lifetime import project_id, release_run_folder
from .pool import EnvironmentPool
from .runtime_api import RuntimeApiServer
from .sandbox import SandboxBackend, SandboxSpec, select_backend
from .store import Store
from .versions import VersionRegistry

LATEST = "$LATEST"
# arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>], or a partial form of it.
FUNCTION_REFERENCE = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:)?(?:(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d):)?(?:(?P<account>\d{12}):)?(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_-]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?$"
)
# botocore's Qualifier shape: pattern (|[a-zA-Z0-9$_-]+), length 1-128
QUALIFIER = re.compile(r"[a-zA-Z0-9$_-]{1,128}")
CLIENT_CONTEXT_MAX_BYTES = 3583
REAP_EVERY_S = 10.0


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


class Simulator(LayerOperations, FunctionOperations, ConcurrencyOperations, VersionOperations, VpcOperations):
    """A running simulated Lambda service for one project.

    Use it as an async context manager; `close()` stops every execution environment it started.
    """

    def __init__(
        self,
        project: ProjectConfig,
        *,
        backend: str | SandboxBackend = "auto",
        log_sink: LogSink | None = None,
        warn: Callable[[str], None] = _stderr,
        progress: Callable[[str], None] | None = None,
        store: Store | None = None,
        clock: Clock | None = None,  # a VirtualClock runs retries and backoff in virtual time
        event_queue: bool = True,  # run queued Event invocations (a one-shot `lsim invoke` does not)
    ) -> None:
        self.project = project
        self.store = store or Store.for_project(project.root)
        self.layer_cache = LayerCache(self.store)
        self.layers = LayerRegistry(self.store, project, self.layer_cache.extract_package)
        self.versions = VersionRegistry(self.store, project, self.layers)
        self._backend_choice = backend
        self.backend: SandboxBackend | None = backend if isinstance(backend, SandboxBackend) else None
        self.log_sink = log_sink
        self.warn = warn
        self.progress = progress
        self.runtime_api = RuntimeApiServer()
        self._pools: dict[tuple[str, str], EnvironmentPool] = {}
        self._retiring: set[EnvironmentPool] = set()  # retired pools whose busy environments still run
        self._prepared: set[tuple[str, str]] = set()
        self._prepare_lock = asyncio.Lock()
        self._background: set[asyncio.Task[Any]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._warned: set[str] = set()
        self._init_concurrency(clock, event_queue)

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        if self.backend is None:
            name = self._backend_choice if isinstance(self._backend_choice, str) else "auto"
            self.backend = await asyncio.to_thread(select_backend, name, self.warn)
        self.backend.adopt_project(project_id(self.project.root))
        await asyncio.to_thread(self._remove_leftovers)  # before VPCs: a dead process's networks hold CIDRs
        await self.runtime_api.start()
        self._reaper = asyncio.create_task(self._reap_forever())
        await self._auto_publish()  # before concurrency: provisioned concurrency may name the alias
        await self._start_concurrency()
        await self._start_vpcs()  # Hyperplane ENIs, created in the background (facade/vpc.py)

    async def close(self) -> None:
        await self._stop_concurrency()
        if self._reaper is not None:
            self._reaper.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        pools = [*self._pools.values(), *self._retiring]
        await asyncio.gather(*(pool.close() for pool in pools), return_exceptions=True)
        self._pools.clear()
        self._retiring.clear()
        await self._close_vpcs()  # ENIs, resources, VPC networks (facade/vpc.py)
        if self.backend is not None:
            await self.backend.close()
        await self.runtime_api.close()
        with contextlib.suppress(OSError):
            release_run_folder(self.store.folder)

    def _remove_leftovers(self) -> None:
        """Remove what killed lsim processes left of this project (never a live process's objects)."""
        from .sandbox import leftovers

        client = getattr(self.backend, "client", None) if getattr(self.backend, "name", "") == "docker" else None
        try:
            found = leftovers.find(client, {project_id(self.project.root)}, state_folder=self.store.folder)
            gone = leftovers.remove(client, found) if found else found
        except Exception as error:  # never a reason not to start
            self.warn(f"lsim: could not remove what an earlier lsim left of this project: {error}")
            return
        if gone:
            self.warn(
                f"lsim: removed what an lsim process that is gone left of this project: {len(gone.containers)} "
                f"container(s), {len(gone.networks)} network(s), {len(gone.disks)} /tmp disk folder(s), "
                f"{len(gone.staging)} staging folder(s)"
            )

    # -- lookups ------------------------------------------------------------------------------------
    def function(self, name: str) -> FunctionConfig:
        """$LATEST of a function: lsim.toml's, with the configuration updates made since."""
        return self.versions.latest(name)

    def resolve(
        self, reference: str, qualifier: str | None = None, *, route: bool = True
    ) -> tuple[FunctionConfig, str]:
        """(configuration, version) for a name, `name:qualifier` or ARN, and an optional Qualifier: $LATEST,
        a published version (its frozen configuration; `code` is None, the snapshot is mounted instead), or
        an alias, routed by its weights (`route=False`: the alias's own version, as GetFunction reports)."""
        match = FUNCTION_REFERENCE.match(reference)
        if match is None:
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{reference}' at 'functionName' failed to satisfy "
                "constraint: give a function name (1-64 letters, digits, '-', '_'), name:qualifier or an ARN"
            )
        if qualifier is not None and not QUALIFIER.fullmatch(qualifier):
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+) and have "
                "length 1-128: give $LATEST, a version number or an alias name"
            )
        self._check_home(reference, match)
        if match["qualifier"] and qualifier and match["qualifier"] != qualifier:
            raise InvalidParameterValueException(
                "The derived qualifier from the function name does not match the specified qualifier."
            )
        name = match["name"]
        wanted = qualifier or match["qualifier"] or LATEST
        if wanted == LATEST:
            return self.function(name), LATEST
        if wanted.isdigit():
            return self.versions.version(name, wanted).config, wanted
        alias = self.versions.get_alias(name, wanted)
        version = self.versions.route(alias) if route else alias.function_version
        if version == LATEST:
            return self.function(name), LATEST
        return self.versions.version(name, version).config, version

    def _check_home(self, reference: str, match: re.Match[str]) -> None:
        """A reference that names a Region or account names where the function lives: lsim is one account
        in one Region ([settings] of lsim.toml), and answers for the others as Lambda does."""
        settings = self.project.settings
        if match["region"] and match["region"] != settings.region:
            # aws-cli issue 3954: GetFunction of a us-east-1 ARN against us-east-2
            raise ResourceNotFoundException(
                f"Functions from '{match['region']}' are not reachable in this region ('{settings.region}') "
                f"(lsim simulates {settings.region}, lsim.toml [settings] region: use an ARN of that Region, or "
                "the function's name)"
            )
        if match["account"] and match["account"] != settings.account_id:
            raise AccessDeniedException(
                f"User: arn:aws:iam::{settings.account_id}:root is not authorized to access resource: {reference} "
                f"because no resource-based policy allows it (lsim simulates the account {settings.account_id}, "
                "lsim.toml [settings] account_id: use an ARN of that account, or the function's name)"
            )

    # -- invoke -------------------------------------------------------------------------------------
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
    ) -> InvocationResult:
        """Invoke a function as Lambda's Invoke API does. `payload` is JSON bytes/text, or any
        JSON-serialisable value; `client_context` is base64 of a JSON object, as on the wire.

        `complete_logs` (default: when log_type is "Tail") waits a few milliseconds after the outcome so
        that the last lines the function printed are in `result.logs`; without it the log holds what
        had arrived by then, and the invocation returns sooner."""
        if invocation_type not in INVOCATION_TYPES:
            raise InvalidParameterValueException(
                f"InvocationType {invocation_type!r} is invalid: use RequestResponse, Event or DryRun"
            )
        if log_type not in ("None", "Tail"):
            raise InvalidParameterValueException(f"LogType {log_type!r} is invalid: use None or Tail")
        function, version = self.resolve(function_name, qualifier)
        body = self._check_payload(payload, invocation_type)
        context = _decode_client_context(client_context)
        invocation = Invocation(
            request_id=new_request_id(),
            payload=body,
            invoked_function_arn=self.project.function_arn(function.name, qualifier or _qualifier_of(function_name)),
            timeout_s=float(function.timeout),
            trace_id=_trace_id(),
            client_context=context,
        )
        if invocation_type == "DryRun":
            return InvocationResult(invocation.request_id, 204, b"", version)
        if invocation_type == "Event":  # kept durably, run by the event queue with Lambda's retries
            await self._enqueue_event(function, qualifier or _qualifier_of(function_name) or LATEST, invocation)
            return InvocationResult(invocation.request_id, 202, b"", version)
        if complete_logs is None:
            complete_logs = log_type == "Tail"
        return await self._execute(function, version, invocation, want_logs=complete_logs)

    def _check_payload(self, payload: bytes | str | Any, invocation_type: str) -> bytes:
        if isinstance(payload, str):
            payload = payload.encode()
        elif not isinstance(payload, bytes | bytearray):
            payload = json.dumps(payload).encode()
        body = bytes(payload) or b"{}"  # Lambda hands an empty payload to the function as {}
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

    async def _execute(
        self,
        function: FunctionConfig,
        version: str,
        invocation: Invocation,
        *,
        want_logs: bool,
        synchronous: bool = True,
    ) -> InvocationResult:
        """Admit (or raise TooManyRequestsException), run in a provisioned, warm or new environment, and
        hold the concurrency slot until the invocation ends, cold start included."""
        self._check_vpc_invocable(function)  # VPC (issue 8): 409 while Pending, 502 while Failed
        lease = self._admit(function, version, synchronous)
        try:
            pool = await self._pool(function, version)
        except BaseException:
            self._release(lease, reusable=False)
            raise
        provisioned = self._provisioned_environment(lease)
        environment = provisioned or pool.acquire()
        try:
            result = await environment.invoke(invocation, want_logs=want_logs)
        except BaseException:
            await environment.stop()
            raise
        finally:

            def release() -> None:
                if not self._give_back(lease, environment, provisioned is not None):
                    pool.release(environment)

            self._when_idle(environment, release)
        self._record_invocation(function.name, result)
        return result

    def _when_idle(self, environment: ExecutionEnvironment, release: Callable[[], None]) -> None:
        """Release an environment (and its concurrency) now, or once its extensions are done with the
        invocation: the caller has its answer already, the environment is not free yet."""
        pending = environment.after_invoke()
        if pending is None:
            release()
            return
        task = asyncio.ensure_future(pending)
        self._background.add(task)

        def done(finished: asyncio.Future[None]) -> None:
            self._background.discard(finished)
            release()

        task.add_done_callback(done)

    # -- environments -------------------------------------------------------------------------------
    def sandbox_spec(self, function: FunctionConfig, version: str, opt_dir: Path | None = None) -> SandboxSpec:
        assert self.backend is not None
        cpus = function.memory_size / self.project.limits.memory_per_vcpu_mb
        host = self.backend.host_cpus()
        if cpus > host and function.name not in self._warned:
            self._warned.add(function.name)
            self.warn(
                f"note: {function.name} has {function.memory_size} MB, which buys {cpus:.2f} vCPU on Lambda; "
                f"this host has {host} cores, so it gets {host}"
            )
        return SandboxSpec(
            function_name=function.name,
            runtime=function.runtime,
            image=function.image,
            code_dir=function.code,
            opt_dir=opt_dir,
            environment=lambda_environment(function, version, self.project),
            memory_mb=function.memory_size,
            cpus=min(cpus, host),
            ephemeral_storage_mb=function.ephemeral_storage,
            network=self.vpc_network(function),  # its Hyperplane ENI's namespace, or None (facade/vpc.py)
            attach_delay_s=self.vpc_cold_start_s(function),
            architecture=function.architecture,
            image_build=function.image_build,
        )

    async def prepare(self, function_name: str) -> None:
        """Build what the function needs (its runtime image) ahead of the first invocation."""
        function, version = self.resolve(function_name)
        await self._pool(function, version)

    async def _pool(self, function: FunctionConfig, version: str) -> EnvironmentPool:
        key = (function.name, version)
        pool = self._pools.get(key)
        if pool is not None:
            return pool
        assert self.backend is not None, "start() the simulator first"
        async with self._prepare_lock:
            if key not in self._pools:
                if version != LATEST and function.image is None:  # a published version runs its snapshot
                    snapshot = self.versions.version(function.name, version).code_sha256
                    what = f"version {version} of function {function.name}"
                    code = await asyncio.to_thread(self.layer_cache.extract_package, snapshot, what)
                    function = function.model_copy(update={"code": code})
                opt_dir = await asyncio.to_thread(self._opt_dir, function)
                spec = self.sandbox_spec(function, version, opt_dir)
                await self.backend.prepare(spec, self.progress)
                backend, limits = self.backend, self.project.limits

                def make() -> ExecutionEnvironment:
                    return ExecutionEnvironment(
                        function=function,
                        version=version,
                        spec=spec,
                        backend=backend,
                        runtime_api=self.runtime_api,
                        limits=limits,
                        log_sink=self.log_sink,
                    )

                self._pools[key] = EnvironmentPool(make)
        return self._pools[key]

    def _opt_dir(self, function: FunctionConfig) -> Path | None:
        """The function's layers, checked as Lambda checks them at attach time, merged for /opt."""
        return self.layer_cache.opt_dir(self.layers.resolve_all(function))

    def pools(self) -> dict[tuple[str, str], EnvironmentPool]:
        return dict(self._pools)

    async def retire(self, function_name: str, version: str | None = None) -> int:
        """Make the next invocations of a function (or of one of its versions) start fresh environments
        (its code or configuration changed); in-flight invocations finish in the environments they
        started in. Returns how many pools were retired."""
        retired = [key for key in self._pools if key[0] == function_name and version in (None, key[1])]
        pools = [self._pools.pop(key) for key in retired]
        self._retiring.update(pools)
        await asyncio.gather(*(pool.retire() for pool in pools), return_exceptions=True)
        return len(pools)

    async def _reap_forever(self) -> None:
        """Stop environments idle for longer than `idle_timeout_s`, checking every 10 s (or more often
        when the idle timeout is shorter)."""
        every = min(REAP_EVERY_S, max(0.1, self.project.limits.idle_timeout_s / 2))
        while True:
            await asyncio.sleep(every)
            for pool in list(self._pools.values()):
                with contextlib.suppress(Exception):
                    await pool.reap(self.project.limits.idle_timeout_s)


def _qualifier_of(reference: str) -> str | None:
    match = FUNCTION_REFERENCE.match(reference)
    return match["qualifier"] if match else None


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
