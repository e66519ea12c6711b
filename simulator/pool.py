"""The execution environments a simulator makes: one pool per function version, and what each is made from.

A pool is prepared once per function version (the runtime image, the published version's code snapshot, the
layers merged for /opt, the SandboxSpec) and then makes environments on demand and knows every one it made,
so that `close()` leaves none behind. Which of them are idle is not kept here but on the one book of warm
environments (warm.py), which admission takes from; retiring a function takes its idle environments off
that book and stops them, while busy ones finish where they started.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from .config import FunctionConfig, ProjectConfig
from .credentials import Credentials, FunctionCredentials
from .debugging import Debugger, debugpy_folder
from .dependencies import install_dependencies, requirements_of
from .environment import ExecutionEnvironment, LogSink, State, lambda_environment
from .invocation import LATEST
from .layer_cache import LayerCache
from .layers import LayerRegistry
from .runtime_api import RuntimeApiServer
from .sandbox import SandboxBackend, SandboxSpec
from .versions import VersionRegistry
from .warm import RESET, SHELVES, WARM, WarmEnvironments


class VpcAttachments(Protocol):
    """What making and provisioning environments asks of the VPC service (services/vpcs.py), which sits above
    them: the network a function's environments join, the cost of attaching one, and the wait for its ENI."""

    def network(self, function: FunctionConfig) -> str | None: ...

    def cold_start_s(self, function: FunctionConfig) -> float: ...

    async def wait_function_active(self, function_name: str, timeout_s: float | None = None) -> object: ...


class EnvironmentPool:
    """The execution environments of one function version: how a new one is made, and which exist."""

    def __init__(
        self,
        function: FunctionConfig,
        version: str,
        make: Callable[[], ExecutionEnvironment],
        warm: WarmEnvironments[Any],
    ) -> None:
        self.function = function
        self.version = version
        self._make = make
        self._warm = warm
        self._environments: set[ExecutionEnvironment] = set()
        self._stopping: set[asyncio.Future[None]] = set()
        self.retired = False  # its code or configuration changed: its environments serve no one else
        self.created = 0

    def new(self) -> ExecutionEnvironment:
        """A new environment, which cold-starts on its first invocation."""
        environment = self._make()
        self._environments.add(environment)
        self.created += 1
        return environment

    def discard(self, environment: ExecutionEnvironment) -> None:
        """Forget an environment that has stopped."""
        self._environments.discard(environment)

    def stop_soon(self, environment: ExecutionEnvironment) -> None:
        """Stop an environment in the background, off the caller's path."""
        self._environments.discard(environment)
        task = asyncio.ensure_future(environment.stop())
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    async def stop(self, environments: Iterable[ExecutionEnvironment]) -> None:
        environments = list(environments)
        for environment in environments:
            self._environments.discard(environment)
        await asyncio.gather(*(e.stop() for e in environments), return_exceptions=True)

    @property
    def size(self) -> int:
        """Environments that exist, busy or idle."""
        return sum(1 for e in self._environments if e.state is not State.DEAD)

    @property
    def idle(self) -> int:
        """Environments waiting on the book for an invocation (warm, or reset after a failure)."""
        if self.retired:
            return 0
        name, version = self.function.name, self.version
        return self._warm.idle(name, version, WARM) + self._warm.idle(name, version, RESET)

    async def close(self) -> None:
        """Stop every environment of the version, busy or idle (the next invocation starts a new one)."""
        if not self.retired:
            self._warm.retire(self.function.name, self.version, SHELVES)
        environments, self._environments = list(self._environments), set()
        await asyncio.gather(*(e.stop() for e in environments), *self._stopping, return_exceptions=True)


class EnvironmentPools:
    """Every function version's pool, prepared on first use; retiring, reaping and closing them."""

    def __init__(
        self,
        project: ProjectConfig,
        layer_cache: LayerCache,
        layers: LayerRegistry,
        versions: VersionRegistry,
        runtime_api: RuntimeApiServer,
        vpcs: VpcAttachments,
        warm: WarmEnvironments[Any],
        *,
        log_sink: LogSink | None = None,
        warn: Callable[[str], None],
        progress: Callable[[str], None] | None = None,
        credentials: FunctionCredentials | None = None,
    ) -> None:
        self.project = project
        settings = project.settings
        self.credentials = credentials or FunctionCredentials(settings.credentials, settings.profile)
        self.layer_cache = layer_cache
        self.layers = layers
        self.versions = versions
        self.runtime_api = runtime_api
        self.vpcs = vpcs
        self.warm = warm
        self.log_sink = log_sink
        self.debugger: Debugger | None = None  # --debug-port: Python runtimes start under debugpy
        self.warn = warn
        self.progress = progress
        self.backend: SandboxBackend | None = None
        # lsim's API where environments reach it (AWS_ENDPOINT_URL_LAMBDA, _SQS): `endpoint` starts it on the
        # first pool prepared (the Simulator sets it); None gives environments no such variables
        self.endpoint: Callable[[], Awaitable[str | None]] | None = None
        self.endpoint_url: str | None = None
        self._pools: dict[tuple[str, str], EnvironmentPool] = {}
        self._retiring: set[EnvironmentPool] = set()  # retired pools whose busy environments still run
        self._prepare_lock = asyncio.Lock()
        self._warned: set[str] = set()
        self._sdk_warned = False

    def start(self, backend: SandboxBackend) -> None:
        self.backend = backend

    @property
    def started(self) -> bool:
        return self.backend is not None

    def sandbox_spec(
        self, function: FunctionConfig, version: str, opt_dir: Path | None = None, dependencies_dir: Path | None = None
    ) -> SandboxSpec:
        """What a backend needs to start one of the version's environments."""
        assert self.backend is not None
        cpus = function.memory_size / self.project.limits.memory_per_vcpu_mb
        host = self.backend.host_cpus()
        if cpus > host and function.name not in self._warned:
            self._warned.add(function.name)
            self.warn(
                f"note: {function.name} has {function.memory_size} MB, which buys {cpus:.2f} vCPU on Lambda; "
                f"this host has {host} cores, so it gets {host}"
            )
        self._check_sdk(function)
        return SandboxSpec(
            function_name=function.name,
            runtime=function.runtime,
            image=function.image,
            code_dir=function.code,
            opt_dir=opt_dir,
            environment=lambda_environment(
                function, version, self.project, self._credentials(function), self.endpoint_url
            ),
            memory_mb=function.memory_size,
            cpus=min(cpus, host),
            ephemeral_storage_mb=function.ephemeral_storage,
            network=self.vpcs.network(function),  # its Hyperplane ENI's, or None
            attach_delay_s=self.vpcs.cold_start_s(function),
            architecture=function.architecture,
            image_build=function.image_build,
            dependencies_dir=dependencies_dir,
        )

    def _check_sdk(self, function: FunctionConfig) -> None:
        """Say once when the runtime's boto3 is too old to read AWS_ENDPOINT_URL_LAMBDA and _SQS (botocore
        1.31.0 is the first that reads them): its calls would go to AWS's own endpoints instead of lsim's."""
        assert self.backend is not None
        runtime = function.runtime or ""
        if self.endpoint_url is None or self.backend.name != "docker" or not runtime.startswith("python"):
            return
        from .sandbox.sdk import sdk_for

        botocore = sdk_for(runtime).botocore
        try:
            old = tuple(int(part) for part in botocore.split(".")[:3]) < (1, 31, 0)
        except ValueError:
            return
        if old and not self._sdk_warned:
            self._sdk_warned = True
            self.warn(
                f"note: botocore {botocore} (LSIM_BOTO3_VERSION) does not read AWS_ENDPOINT_URL_LAMBDA and "
                "AWS_ENDPOINT_URL_SQS (1.31.0 is the first that does): boto3 in your functions calls AWS, not lsim, "
                "unless the code gives endpoint_url"
            )

    def _credentials(self, function: FunctionConfig) -> Credentials:
        """The credentials of the function's execution role (or the developer's), as Lambda sets them."""
        role_arn = self.project.role_of(function).arn
        assert role_arn is not None
        return self.credentials.for_role(role_arn)

    async def pool(self, function: FunctionConfig, version: str) -> EnvironmentPool:
        """The version's pool, prepared (runtime image built, code and layers in place) on first use."""
        key = (function.name, version)
        pool = self._pools.get(key)
        if pool is not None:
            return pool
        assert self.backend is not None, "start() the simulator first"
        async with self._prepare_lock:
            if self.endpoint_url is None and self.endpoint is not None:
                self.endpoint_url = await self.endpoint()
            if key not in self._pools:
                if version != LATEST and function.image is None:  # a published version runs its snapshot
                    snapshot = self.versions.version(function.name, version).code_sha256
                    what = f"version {version} of function {function.name}"
                    code = await asyncio.to_thread(self.layer_cache.extract_package, snapshot, what)
                    function = function.model_copy(update={"code": code})
                opt_dir = await asyncio.to_thread(self._opt_dir, function)
                dependencies = await asyncio.to_thread(self._dependencies, function)
                spec = self.sandbox_spec(function, version, opt_dir, dependencies)
                if self.debugger is not None:
                    spec = await self._with_debugpy(function, spec)
                await self.backend.prepare(spec, self.progress)
                self._pools[key] = EnvironmentPool(function, version, self._maker(function, version, spec), self.warm)
        return self._pools[key]

    def _maker(self, function: FunctionConfig, version: str, spec: SandboxSpec) -> Callable[[], ExecutionEnvironment]:
        backend, limits = self.backend, self.project.limits
        assert backend is not None

        def make() -> ExecutionEnvironment:
            return ExecutionEnvironment(
                function=function,
                version=version,
                spec=spec,
                backend=backend,
                runtime_api=self.runtime_api,
                limits=limits,
                log_sink=self.log_sink,
                debugger=self.debugger,
            )

        return make

    async def _with_debugpy(self, function: FunctionConfig, spec: SandboxSpec) -> SandboxSpec:
        """The spec with debugpy for the runtime's Python (this machine's, on the process backend)."""
        assert self.backend is not None
        from .sandbox.rootfs import resolve_source

        why = None
        if not (function.runtime or "").startswith("python"):
            why = "is not a Python function (a .zip on a python3.X runtime)"
        elif self.backend.name == "docker" and resolve_source("auto") == "aws":
            why = "runs on AWS's base image (LSIM_BASE=aws), whose runtime lsim does not start"
        elif str(spec.network or "").startswith("container:"):
            why = "is in a VPC: its environment shares its Hyperplane ENI's network, which the IDE cannot reach"
        if why is not None:
            self.warn(f"note: --debug-port: {function.name} {why}; it runs without a debugger")
            return spec
        python = function.runtime.removeprefix("python") if function.runtime else ""
        if self.backend.name == "process":
            python = f"{sys.version_info.major}.{sys.version_info.minor}"
        folder = await asyncio.to_thread(debugpy_folder, python, function.architecture)
        return dataclasses.replace(spec, debugpy_dir=folder)

    def _dependencies(self, function: FunctionConfig) -> Path | None:
        """The packages of the code's requirements.txt, installed for Lambda's platform (once per content)."""
        requirements = requirements_of(function.code, function.runtime) if function.image is None else None
        if requirements is None:
            return None
        return install_dependencies(
            requirements, function.runtime or "", function.architecture, function.name, self.progress
        )

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
        for pool in pools:
            pool.retired = True
        self._retiring.update(pools)
        idle = self.warm.retire(function_name, version)
        for pool in pools:
            for environment in idle:
                pool.discard(environment)
        await _stop_all(idle)
        return len(pools)

    async def stop(self, environments: Iterable[ExecutionEnvironment]) -> None:
        """Stop environments that left the book (scaled in), each forgotten by its pool."""
        by_pool: dict[EnvironmentPool | None, list[ExecutionEnvironment]] = {}
        for environment in environments:
            pool = self._pools.get((environment.function.name, environment.version))
            by_pool.setdefault(pool, []).append(environment)
        await asyncio.gather(
            *(pool.stop(found) if pool is not None else _stop_all(found) for pool, found in by_pool.items()),
            return_exceptions=True,
        )

    async def close(self) -> None:
        pools = [*self._pools.values(), *self._retiring]
        await asyncio.gather(*(pool.close() for pool in pools), return_exceptions=True)
        self._pools.clear()
        self._retiring.clear()


async def _stop_all(environments: Iterable[ExecutionEnvironment]) -> None:
    await asyncio.gather(*(e.stop() for e in environments), return_exceptions=True)
