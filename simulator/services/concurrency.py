"""Lambda's concurrency operations and the metrics: PutFunctionConcurrency, GetFunctionConcurrency,
DeleteFunctionConcurrency, PutProvisionedConcurrencyConfig, GetProvisionedConcurrencyConfig,
DeleteProvisionedConcurrencyConfig, and lsim's own reading of the CloudWatch metrics.

Settings set by command are kept in `.lsim/state.db` (concurrency_settings.py), so later `lsim` commands and
restarts see them; like the other operations they need no started simulator (`lsim concurrency ...` calls
them on one it never starts). What runs in the background starts with the simulator: the shared ledger
(admission.py), provisioned environments (provisioned.py) and the metrics writer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from ..admission import Admission
from ..concurrency_settings import ConcurrencySettings, FunctionConcurrency, ProvisionedConcurrencyConfig, timestamp
from ..config import ProjectConfig
from ..errors import (
    InvalidParameterValueException,
    LambdaError,
    ProjectFileError,
    ProvisionedConcurrencyConfigNotFoundException,
)
from ..metrics import FunctionMetrics, Metrics
from ..provisioned import ProvisionedEnvironments
from .lookup import FunctionLookup

METRICS_FLUSH_S = 5.0


class ConcurrencyService:
    """Reserved and provisioned concurrency as Lambda's API sets and reports them, and the metrics."""

    def __init__(
        self,
        project: ProjectConfig,
        lookup: FunctionLookup,
        admission: Admission,
        settings: ConcurrencySettings,
        metrics: Metrics,
        provisioned: ProvisionedEnvironments,
        warn: Callable[[str], None],
    ) -> None:
        self.project = project
        self.lookup = lookup
        self.admission = admission
        self.controller = admission.controller
        self.settings = settings
        self.metrics = metrics
        self.provisioned = provisioned
        self.warn = warn
        self._reserved_source: dict[str, str] = {}  # lsim.toml | command
        self._provisioned_modified: dict[tuple[str, str], str] = {}  # applied from lsim.toml, at start
        self._metrics_writer: asyncio.Task[None] | None = None
        self._apply_reserved_concurrency()

    def _apply_reserved_concurrency(self) -> None:
        """lsim.toml's reserved concurrency, then what commands set since (which takes its place)."""
        functions = self.project.functions
        for function in functions.values():
            if function.reserved_concurrency is None:
                continue
            try:
                self.controller.set_reserved(function.name, function.reserved_concurrency)
            except InvalidParameterValueException as error:
                declared = ", ".join(
                    f"functions.{f.name}.reserved_concurrency = {f.reserved_concurrency}"
                    for f in functions.values()
                    if f.reserved_concurrency is not None
                )
                raise ProjectFileError(
                    f"lsim.toml: {declared}: {error.message} "
                    f"Reserve less, or raise [limits] concurrent_executions "
                    f"({self.project.limits.concurrent_executions})."
                ) from None
            self._reserved_source[function.name] = "lsim.toml"
        for name, reserved in self.settings.reserved_overrides().items():
            if name not in functions:
                continue
            try:
                self.controller.set_reserved(name, reserved)
            except InvalidParameterValueException as error:
                self.warn(
                    f"lsim: the reserved concurrency {reserved} set for {name} by command no longer fits "
                    f"the account ({error.message}); using lsim.toml's value. Set it again with "
                    f"`lsim concurrency put {name} N`."
                )
                continue
            self._reserved_source[name] = "command"

    # -- life cycle -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Join the project's shared ledger, start writing metrics, and provision what is configured."""
        await self.admission.join()
        self._metrics_writer = asyncio.create_task(self._write_metrics_forever(), name="lsim-metrics")
        await self._start_provisioned()

    async def stop(self) -> None:
        if self._metrics_writer is not None:
            self._metrics_writer.cancel()
        await self.provisioned.close()
        if self._metrics_writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._metrics_writer
        await self.flush_metrics()
        await self.admission.leave()

    async def _write_metrics_forever(self) -> None:
        while True:
            await asyncio.sleep(METRICS_FLUSH_S)
            with contextlib.suppress(Exception):
                await self.flush_metrics()

    async def flush_metrics(self) -> None:
        """Take the buffered points on the loop (where they are put), write them on a thread."""
        await asyncio.to_thread(self.metrics.write, self.metrics.take())

    # -- reserved concurrency ----------------------------------------------------------------------------------
    async def put_function_concurrency(
        self, function_name: str, reserved_concurrent_executions: int
    ) -> FunctionConcurrency:
        """PutFunctionConcurrency: reserve concurrency for a function (its floor and its ceiling)."""
        function = self.lookup.resolve(function_name)[0]
        self.controller.set_reserved(function.name, reserved_concurrent_executions)
        await asyncio.to_thread(self.settings.set_reserved, function.name, reserved_concurrent_executions)
        self._reserved_source[function.name] = "command"
        return FunctionConcurrency(function.name, reserved_concurrent_executions, "command")

    async def get_function_concurrency(self, function_name: str) -> FunctionConcurrency:
        function = self.lookup.resolve(function_name)[0]
        reserved = self.controller.reserved(function.name)
        return FunctionConcurrency(function.name, reserved, self._reserved_source.get(function.name))

    async def delete_function_concurrency(self, function_name: str) -> None:
        """DeleteFunctionConcurrency: the function draws on the unreserved pool again."""
        function = self.lookup.resolve(function_name)[0]
        self.controller.set_reserved(function.name, None)
        await asyncio.to_thread(self.settings.set_reserved, function.name, None)
        self._reserved_source[function.name] = "command"

    def reserved_concurrency_of(self, function_name: str) -> int | None:
        """The reserved concurrency in force (lsim.toml's, or the last one set by command)."""
        return self.controller.reserved(function_name)

    # -- provisioned concurrency -------------------------------------------------------------------------------
    async def put_provisioned_concurrency_config(
        self, function_name: str, qualifier: str, provisioned_concurrent_executions: int
    ) -> ProvisionedConcurrencyConfig:
        """PutProvisionedConcurrencyConfig: keep that many environments of a version or alias initialised.
        The answer comes at once with Status IN_PROGRESS; the environments start in the background (on a
        started simulator) and the status turns READY, or FAILED with the reason."""
        function, version, qualifier = self.lookup.published(function_name, qualifier)
        self.controller.set_provisioned(function.name, version, provisioned_concurrent_executions)
        stored = await asyncio.to_thread(
            self.settings.put_provisioned, function.name, qualifier, provisioned_concurrent_executions
        )
        self.provisioned.provision(function, version)
        return self._provisioned_config(function.name, qualifier, version, stored.last_modified)

    async def get_provisioned_concurrency_config(
        self, function_name: str, qualifier: str
    ) -> ProvisionedConcurrencyConfig:
        function, version, qualifier = self.lookup.published(function_name, qualifier)
        if self.controller.provisioned(function.name, version) is None:
            raise ProvisionedConcurrencyConfigNotFoundException(
                "No Provisioned Concurrency Config found for this function"
            )
        stored = {(p.function_name, p.qualifier): p for p in await asyncio.to_thread(self.settings.provisioned)}.get(
            (function.name, qualifier)
        )
        modified = stored.last_modified if stored else self._provisioned_modified.get((function.name, version), "")
        return self._provisioned_config(function.name, qualifier, version, modified)

    async def delete_provisioned_concurrency_config(self, function_name: str, qualifier: str) -> None:
        function, version, qualifier = self.lookup.published(function_name, qualifier)
        self.controller.remove_provisioned(function.name, version)
        await asyncio.to_thread(self.settings.delete_provisioned, function.name, qualifier)
        await self.provisioned.remove(function.name, version)

    def _provisioned_config(
        self, function_name: str, qualifier: str, version: str, last_modified: str
    ) -> ProvisionedConcurrencyConfig:
        statistics = self.controller.provisioned(function_name, version)
        assert statistics is not None
        failure = self.provisioned.failure(function_name, version)
        return ProvisionedConcurrencyConfig(
            function_name=function_name,
            qualifier=qualifier,
            requested=statistics.requested,
            allocated=statistics.allocated,
            available=statistics.available,
            status="FAILED" if failure else statistics.status,
            last_modified=last_modified,
            status_reason=failure,
        )

    async def _start_provisioned(self) -> None:
        """Apply lsim.toml's provisioned_concurrency and the configs stored by command."""
        wanted = {
            (function.name, qualifier): count
            for function in self.project.functions.values()
            for qualifier, count in function.provisioned_concurrency.items()
        }
        for stored in await asyncio.to_thread(self.settings.provisioned):
            wanted[(stored.function_name, stored.qualifier)] = stored.requested
        for (name, qualifier), count in sorted(wanted.items()):
            try:
                function, version, qualifier = self.lookup.published(name, qualifier)
                self.controller.set_provisioned(function.name, version, count)
                self._provisioned_modified[(function.name, version)] = timestamp()
            except LambdaError as error:
                self.warn(f"lsim: provisioned concurrency {count} for {name}:{qualifier} not applied: {error}")
                continue
            self.provisioned.provision(function, version)

    # -- metrics -------------------------------------------------------------------------------------------------
    async def get_metrics(
        self, function_name: str | None = None, start: float | None = None, end: float | None = None
    ) -> list[FunctionMetrics]:
        """CloudWatch's statistics per function (and "" for the account) between `start` and `end`
        (epoch seconds; default: everything kept in `.lsim/state.db`)."""
        await self.flush_metrics()
        return await asyncio.to_thread(self.metrics.read, function_name, start, end)
