"""The Simulator: one project's simulated Lambda service, composed of services, which every face calls.

It builds the services, each given its collaborators here and owning its own state, and starts and stops
them in order; its methods are the operations of Lambda's API (and lsim's own), each handed to the service
that owns it. The invocation path reads top to bottom in invoke.py. Nothing here speaks a wire format: the
faces (CLI, HTTP API, pytest fixture, load test) translate requests and results.

    services/lookup.py      which function and version a request names
    services/functions.py   GetFunction(Configuration), ListFunctions, GetAccountSettings
    services/versions.py    UpdateFunctionConfiguration, PublishVersion, aliases
    services/layers.py      the layer operations
    services/concurrency.py reserved and provisioned concurrency, metrics
    services/events.py      Event invocations, retries, dead letters
    services/vpcs.py        VPC functions' states, ENIs, networks
    queues/service.py       SQS queues (Simulator.queues), declared ones created at start
    mappings/service.py     event source mappings from SQS queues (Create/Get/List/Update/Delete, declarations)
    mappings/poller.py      the pollers of enabled mappings (Simulator.pollers)
    invoke.py               Invoke: admission.py, placement.py (pool.py, provisioned.py, warm.py)
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .account import account_store
from .admission import Admission
from .clock import Clock, RealClock, VirtualClock
from .concurrency import ConcurrencyController
from .concurrency_settings import ConcurrencySettings, FunctionConcurrency, ProvisionedConcurrencyConfig
from .config import FunctionConfig, ProjectConfig
from .debugging import Debugger
from .descriptions import AccountSettings, FunctionDescription, FunctionPage
from .environment import LogSink
from .events import DeadLetter, QueuedEvent
from .invocation import InvocationResult
from .invoke import Invoker
from .layer_cache import LayerCache
from .layers import LayerRegistry, LayerVersion
from .lifetime import project_id, release_run_folder, remove_dead_run_folders
from .mappings.declarations import declarations
from .mappings.poller import MappingPollers
from .mappings.service import FunctionTarget, MappingService, QueuesOf
from .metrics import FunctionMetrics, Metrics
from .placement import Placement
from .pool import EnvironmentPool, EnvironmentPools
from .provisioned import ProvisionedEnvironments
from .queues import QueueService
from .runtime_api import RuntimeApiServer
from .sandbox import SandboxBackend, SandboxSpec, select_backend
from .services.concurrency import ConcurrencyService
from .services.events import EventService
from .services.functions import FunctionService
from .services.layers import LayerService
from .services.lookup import FunctionLookup, qualifier_of
from .services.versions import VersionService
from .services.vpcs import VpcDescription, VpcService, VpcState
from .store import Store
from .versions import Alias, VersionRegistry
from .warm import WarmEnvironments

QUEUE_METRICS_S = 10.0  # how often the queues' gauges are sampled


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


class Simulator:
    """A running simulated Lambda service for one project.

    Use it as an async context manager; `close()` stops every execution environment it started. The
    operations that only read or write the project's store (layers, versions, aliases, configuration,
    concurrency settings) work on a Simulator that is never started.
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
        clock: Clock | None = None,  # a VirtualClock runs retries, backoff and idle timeouts in virtual time
        event_queue: bool = True,  # run queued Event invocations (a one-shot `lsim invoke` does not)
        account: Store | None = None,  # the account's store (layer versions); default: account.py's
        debug_port: int | None = None,  # Python functions run under debugpy; an IDE attaches here (debugging.py)
    ) -> None:
        self.project = project
        self.store = store or Store.for_project(project.root)
        self.clock = clock or RealClock()
        self.warn = warn
        self._backend_choice = backend
        self.backend: SandboxBackend | None = backend if isinstance(backend, SandboxBackend) else None
        self.runtime_api = RuntimeApiServer()
        self.account = account if account is not None else account_store(project.settings)  # layers live there
        self.layer_cache = LayerCache(self.store, self.account)
        layers = LayerRegistry(self.store, project, self.layer_cache.extract_layer, account=self.account)
        versions = VersionRegistry(self.store, project, layers)
        self.lookup = FunctionLookup(project, versions)
        self.metrics = Metrics(self.store, self.clock)
        self.warm: WarmEnvironments[Any] = WarmEnvironments(
            self.clock, project.limits.idle_timeout_s, keep_expired=True
        )
        controller = ConcurrencyController(
            project.limits, self.clock, region=project.settings.region, metrics=self.metrics, warm=self.warm
        )
        self.admission = Admission(controller, self.store.folder, warn)
        self.vpcs = VpcService(project, self.lookup, self.runtime_api, warn, progress)
        self.environments = EnvironmentPools(
            project, self.layer_cache, layers, versions, self.runtime_api, self.vpcs, self.warm,
            log_sink=log_sink, warn=warn, progress=progress,
        )  # fmt: skip
        self.provisioned = ProvisionedEnvironments(
            self.environments, self.warm, controller, self.vpcs, project.limits, warn
        )
        self.placement = Placement(self.environments, self.warm, self.admission, self.provisioned, project.limits)
        self.layers = LayerService(layers)
        self.functions = FunctionService(project, self.lookup, layers, versions, controller, self.vpcs)
        self.versions = VersionService(self.lookup, versions, self.functions, self.environments)
        self.concurrency = ConcurrencyService(
            project, self.lookup, self.admission, ConcurrencySettings(self.store), self.metrics, self.provisioned, warn
        )
        self.events = EventService(project, self.store, self.clock, self.metrics, warn, deliver=event_queue)
        self.queues = QueueService(
            self.store, self.clock, region=project.settings.region, account_id=project.settings.account_id,
            metrics=self.metrics, poll_s=None if isinstance(self.clock, VirtualClock) else 1.0,
        )  # fmt: skip
        self.mappings = MappingService(
            self.store, self.clock, region=project.settings.region, account_id=project.settings.account_id,
            resolve_function=self._mapping_target, queues=QueuesOf(self.queues),
            filters_max=project.limits.event_source_mapping_filters,
        )  # fmt: skip
        self.invoker = Invoker(
            project, self.lookup, self.vpcs, self.admission, self.placement, self.metrics, self.events
        )
        # lsim's API where the execution environments reach it, started when the first needs it: boto3 in a
        # function finds it through AWS_ENDPOINT_URL_LAMBDA and _SQS. `lsim serve` asks for its own port number
        # (on the containers' address) and console. With the developer's credentials functions reach AWS.
        self.functions_api_port = 0
        self.functions_api_say: Callable[[str], None] | None = None
        self._functions_api: Any = None
        self._functions_api_lock = asyncio.Lock()
        if project.settings.credentials == "local":
            self.environments.endpoint = self.functions_api_url
            self.vpcs.public_api = self.functions_api_address
        self.pollers = MappingPollers(
            self.mappings.enabled, self.queues, self._invoke_batch, self.clock, region=project.settings.region,
            function_timeout_s=lambda name, qualifier: self.resolve(name, qualifier, route=False)[0].timeout,
            warn=warn,
        )  # fmt: skip
        self.debugger = Debugger(debug_port, warn) if debug_port is not None else None
        self._queue_sampler: asyncio.Task[None] | None = None
        if self.debugger is not None:
            self.environments.debugger, self.invoker.turn = self.debugger, self.debugger.turn

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        if self.backend is None:
            name = self._backend_choice if isinstance(self._backend_choice, str) else "auto"
            self.backend = await asyncio.to_thread(select_backend, name, self.warn)
        backend = self.backend
        backend.adopt_project(project_id(self.project.root))
        await asyncio.to_thread(self._remove_leftovers, backend)  # before VPCs: a dead process's networks hold CIDRs
        await self.runtime_api.start()
        if self.debugger is not None:
            await self.debugger.start()
        self.environments.start(backend)
        self.placement.start()
        await self.versions.auto_publish()  # before concurrency: provisioned concurrency may name the alias
        await self.concurrency.start()
        await self.declare_queues()
        await self.events.start(self.invoker)
        self.mappings.apply_declarations(declarations(self.project))  # after the declared queues exist
        await self.pollers.start()
        self.mappings.subscribe(self.pollers.changed)
        self._queue_sampler = asyncio.create_task(self._sample_queue_metrics())
        await self.vpcs.start(backend)  # Hyperplane ENIs, created in the background

    async def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.mappings.unsubscribe(self.pollers.changed)
        await self.pollers.close()  # batches in flight return to their queues after their visibility timeout
        if self._queue_sampler is not None:
            self._queue_sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._queue_sampler
            with contextlib.suppress(Exception):  # the last points, before the metrics are flushed
                self.queues.record_metrics(await asyncio.to_thread(self.queues.sample_metrics))
        await self.events.close()
        await self.concurrency.stop()
        await self.placement.close()
        await self.environments.close()
        if self._functions_api is not None:
            functions_api, self._functions_api = self._functions_api, None
            await functions_api.close()
        await self.vpcs.close()  # ENIs, resources, VPC networks
        if self.backend is not None:
            await self.backend.close()
        await self.runtime_api.close()
        if self.debugger is not None:
            await self.debugger.close()
        for folder in (self.store.folder, self.account.folder):
            with contextlib.suppress(OSError):
                release_run_folder(folder)

    async def functions_api_address(self) -> tuple[str, int] | None:
        """(host, port) of lsim's API where this simulator's execution environments reach it, started on the
        first call; None before the simulator starts."""
        async with self._functions_api_lock:
            if self._functions_api is None:
                if self.backend is None:
                    return None
                # The one place the facade starts a face: its environments call back into lsim through it.
                from .api.server import start_functions_api

                host = await self.backend.service_host()
                say = self.functions_api_say
                self._functions_api = await start_functions_api(self, host, self.functions_api_port, say, True)
            return str(self._functions_api.host), int(self._functions_api.port)

    async def functions_api_url(self) -> str | None:
        """The URL of functions_api_address, as AWS_ENDPOINT_URL_LAMBDA and _SQS carry it."""
        address = await self.functions_api_address()
        if address is None:
            return None
        host, port = address
        return f"http://{host}:{port}"

    async def declare_queues(self) -> None:
        """Create the queues the project declares, or bring up to date those whose declaration changed
        (queues/declarations.py); start() does it, and a command that needs them on a Simulator it does
        not start may too."""
        done = await asyncio.to_thread(self.queues.declare, list(self.project.queues.values()))
        for line in done:
            if line.startswith("updated"):
                self.warn(f"lsim: {line}")

    async def _sample_queue_metrics(self) -> None:
        """The queues' gauges every QUEUE_METRICS_S on the clock (queues/cloudwatch.py)."""
        while True:
            with contextlib.suppress(Exception):
                self.queues.record_metrics(await asyncio.to_thread(self.queues.sample_metrics))
            await self.clock.sleep(QUEUE_METRICS_S)

    def _remove_leftovers(self, backend: SandboxBackend) -> None:
        """Remove what killed lsim processes left of this project (never a live process's objects), and the
        layer extractions they were staging in the account's folder."""
        with contextlib.suppress(OSError):
            remove_dead_run_folders(self.account.folder)
        try:
            gone = backend.remove_leftovers(project_id(self.project.root), self.store.folder)
        except Exception as error:  # never a reason not to start
            self.warn(f"lsim: could not remove what an earlier lsim left of this project: {error}")
            return
        if gone:
            self.warn(
                f"lsim: removed what an lsim process that is gone left of this project: {len(gone.containers)} "
                f"container(s), {len(gone.networks)} network(s), {len(gone.disks)} /tmp disk folder(s), "
                f"{len(gone.staging)} staging folder(s)"
            )

    async def _invoke_batch(self, function_name: str, payload: bytes, qualifier: str | None) -> InvocationResult:
        """How an SQS mapping invokes its function: synchronously, through admission like any caller."""
        return await self.invoke(function_name, payload, qualifier=qualifier)

    def _mapping_target(self, reference: str) -> FunctionTarget:
        """The function an event source mapping's FunctionName names (ResourceNotFoundException if none)."""
        function, _ = self.lookup.resolve(reference, route=False)
        return FunctionTarget(function.name, qualifier_of(self.lookup.function_name(reference)), function.timeout)

    # -- functions and invocation -------------------------------------------------------------------------
    def function(self, name: str) -> FunctionConfig:
        """$LATEST of a function: lsim.toml's, with the configuration updates made since."""
        return self.lookup.function(name)

    def resolve(
        self, reference: str, qualifier: str | None = None, *, route: bool = True
    ) -> tuple[FunctionConfig, str]:
        """(configuration, version) for a name, `name:qualifier` or ARN, and a Qualifier (services/lookup.py)."""
        return self.lookup.resolve(reference, qualifier, route=route)

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
        """Invoke a function as Lambda's Invoke API does (invoke.py); `tenant_id` is Invoke's TenantId."""
        return await self.invoker.invoke(
            function_name,
            payload,
            qualifier=qualifier,
            invocation_type=invocation_type,
            log_type=log_type,
            client_context=client_context,
            complete_logs=complete_logs,
            tenant_id=tenant_id,
        )

    def check_payload_size(self, size: int, invocation_type: str) -> None:
        """Refuse a payload over the invocation limit, before it is read (the HTTP API calls it)."""
        self.invoker.check_payload_size(size, invocation_type)

    # -- execution environments ---------------------------------------------------------------------------
    def sandbox_spec(self, function: FunctionConfig, version: str, opt_dir: Path | None = None) -> SandboxSpec:
        return self.environments.sandbox_spec(function, version, opt_dir)

    async def prepare(self, function_name: str) -> None:
        """Build what the function needs (its runtime image) ahead of the first invocation."""
        function, version = self.resolve(function_name)
        await self.environments.pool(function, version)

    def pools(self) -> dict[tuple[str, str], EnvironmentPool]:
        return self.environments.pools()

    async def retire(self, function_name: str, version: str | None = None) -> int:
        """The next invocations of a function (or one of its versions) start fresh environments; in-flight
        ones finish where they started. Returns how many pools were retired."""
        return await self.environments.retire(function_name, version)

    # -- Lambda's API: functions (services/functions.py) ------------------------------------------------------
    async def get_function_configuration(self, function_name: str, qualifier: str | None = None) -> FunctionDescription:
        return await self.functions.get_function_configuration(function_name, qualifier)

    async def get_function(self, function_name: str, qualifier: str | None = None) -> FunctionDescription:
        return await self.functions.get_function(function_name, qualifier)

    async def list_functions(
        self,
        master_region: str | None = None,
        function_version: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> FunctionPage:
        return await self.functions.list_functions(master_region, function_version, marker, max_items)

    async def get_account_settings(self) -> AccountSettings:
        return await self.functions.get_account_settings()

    # -- versions and aliases (services/versions.py) ----------------------------------------------------------
    async def update_function_configuration(
        self, function_name: str, revision_id: str | None = None, **changes: Any
    ) -> FunctionDescription:
        return await self.versions.update_function_configuration(function_name, revision_id, **changes)

    async def reset_function_configuration(self, function_name: str) -> FunctionDescription:
        return await self.versions.reset_function_configuration(function_name)

    async def publish_version(
        self,
        function_name: str,
        description: str = "",
        code_sha256: str | None = None,
        revision_id: str | None = None,
    ) -> FunctionDescription:
        return await self.versions.publish_version(function_name, description, code_sha256, revision_id)

    async def list_versions_by_function(self, function_name: str) -> list[FunctionDescription]:
        return await self.versions.list_versions_by_function(function_name)

    async def create_alias(
        self,
        function_name: str,
        name: str,
        function_version: str,
        description: str = "",
        routing_config: dict[str, float] | None = None,
    ) -> Alias:
        return await self.versions.create_alias(function_name, name, function_version, description, routing_config)

    async def update_alias(
        self,
        function_name: str,
        name: str,
        function_version: str | None = None,
        description: str | None = None,
        routing_config: dict[str, float] | None = None,
        revision_id: str | None = None,
    ) -> Alias:
        return await self.versions.update_alias(
            function_name, name, function_version, description, routing_config, revision_id
        )

    async def get_alias(self, function_name: str, name: str) -> Alias:
        return await self.versions.get_alias(function_name, name)

    async def delete_alias(self, function_name: str, name: str) -> None:
        await self.versions.delete_alias(function_name, name)

    async def list_aliases(self, function_name: str, function_version: str | None = None) -> list[Alias]:
        return await self.versions.list_aliases(function_name, function_version)

    # -- layers (services/layers.py) ------------------------------------------------------------------------
    async def publish_layer_version(
        self,
        layer_name: str,
        zip_file: Path | bytes,
        description: str = "",
        compatible_runtimes: list[str] | None = None,
        compatible_architectures: list[str] | None = None,
        license_info: str | None = None,
    ) -> LayerVersion:
        return await self.layers.publish_layer_version(
            layer_name, zip_file, description, compatible_runtimes, compatible_architectures, license_info
        )

    async def get_layer_version(self, layer_name: str, version_number: int) -> LayerVersion:
        return await self.layers.get_layer_version(layer_name, version_number)

    async def get_layer_version_by_arn(self, arn: str) -> LayerVersion:
        return await self.layers.get_layer_version_by_arn(arn)

    async def list_layers(
        self, compatible_runtime: str | None = None, compatible_architecture: str | None = None
    ) -> list[LayerVersion]:
        return await self.layers.list_layers(compatible_runtime, compatible_architecture)

    async def list_layer_versions(
        self,
        layer_name: str,
        compatible_runtime: str | None = None,
        compatible_architecture: str | None = None,
    ) -> list[LayerVersion]:
        return await self.layers.list_layer_versions(layer_name, compatible_runtime, compatible_architecture)

    async def delete_layer_version(self, layer_name: str, version_number: int) -> None:
        await self.layers.delete_layer_version(layer_name, version_number)

    # -- concurrency and metrics (services/concurrency.py) ---------------------------------------------------
    async def put_function_concurrency(
        self, function_name: str, reserved_concurrent_executions: int
    ) -> FunctionConcurrency:
        return await self.concurrency.put_function_concurrency(function_name, reserved_concurrent_executions)

    async def get_function_concurrency(self, function_name: str) -> FunctionConcurrency:
        return await self.concurrency.get_function_concurrency(function_name)

    async def delete_function_concurrency(self, function_name: str) -> None:
        await self.concurrency.delete_function_concurrency(function_name)

    def reserved_concurrency_of(self, function_name: str) -> int | None:
        return self.concurrency.reserved_concurrency_of(function_name)

    async def put_provisioned_concurrency_config(
        self, function_name: str, qualifier: str, provisioned_concurrent_executions: int
    ) -> ProvisionedConcurrencyConfig:
        return await self.concurrency.put_provisioned_concurrency_config(
            function_name, qualifier, provisioned_concurrent_executions
        )

    async def get_provisioned_concurrency_config(
        self, function_name: str, qualifier: str
    ) -> ProvisionedConcurrencyConfig:
        return await self.concurrency.get_provisioned_concurrency_config(function_name, qualifier)

    async def delete_provisioned_concurrency_config(self, function_name: str, qualifier: str) -> None:
        await self.concurrency.delete_provisioned_concurrency_config(function_name, qualifier)

    async def get_metrics(
        self, function_name: str | None = None, start: float | None = None, end: float | None = None
    ) -> list[FunctionMetrics]:
        return await self.concurrency.get_metrics(function_name, start, end)

    # -- asynchronous invocation (services/events.py) ------------------------------------------------------
    async def list_dead_letters(self, function_name: str | None = None) -> list[DeadLetter]:
        return await self.events.list_dead_letters(function_name)

    async def replay_dead_letters(
        self, request_ids: Sequence[str] = (), function_name: str | None = None
    ) -> list[QueuedEvent]:
        return await self.events.replay_dead_letters(request_ids, function_name)

    async def event_status(self, request_id: str) -> str:
        return await self.events.event_status(request_id)

    # -- VPCs (services/vpcs.py) ---------------------------------------------------------------------------
    def vpc_state(self, function_name: str) -> VpcState | None:
        return self.vpcs.vpc_state(function_name)

    async def wait_function_active(self, function_name: str, timeout_s: float | None = None) -> VpcState | None:
        return await self.vpcs.wait_function_active(function_name, timeout_s)

    def describe_vpcs(self) -> list[VpcDescription]:
        return self.vpcs.describe_vpcs()
