"""Provisioned concurrency's execution environments: initialised ahead, kept on the book's provisioned shelf
(warm.py), replaced when one goes away.

PutProvisionedConcurrencyConfig answers at once with Status IN_PROGRESS; the environments start here in the
background, and the ConcurrencyController counts them as allocated as they become ready, so the status
turns READY, or FAILED with AWS's StatusReason. Their init phase runs with
AWS_LAMBDA_INITIALIZATION_TYPE=provisioned-concurrency and no 10-second limit (only the function timeout's
cap). https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

from .concurrency import ConcurrencyController
from .config import FunctionConfig, Limits
from .environment import ExecutionEnvironment, State
from .pool import EnvironmentPools, VpcAttachments
from .warm import PROVISIONED, WarmEnvironments

#: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
INIT_TYPE = "provisioned-concurrency"


class ProvisionedEnvironments:
    """Keeps as many environments initialised for each provisioned version as its configuration asks."""

    def __init__(
        self,
        pools: EnvironmentPools,
        warm: WarmEnvironments[Any],
        controller: ConcurrencyController,
        vpcs: VpcAttachments,
        limits: Limits,
        warn: Callable[[str], None],
    ) -> None:
        self.pools = pools
        self.warm = warm
        self.controller = controller
        self.vpcs = vpcs
        self.limits = limits
        self.warn = warn
        self._failed: dict[tuple[str, str], str] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def provision(self, function: FunctionConfig, version: str) -> None:
        """Start (or stop) environments until the version has as many initialised as it asks for."""
        if not self.pools.started:  # environments start with the simulator
            return
        task = asyncio.create_task(self._keep(function, version))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def failure(self, function_name: str, version: str) -> str | None:
        """Why the version's environments could not be initialised (StatusReason), if they could not."""
        return self._failed.get((function_name, version))

    async def remove(self, function_name: str, version: str) -> None:
        """DeleteProvisionedConcurrencyConfig: stop the idle ones (busy ones finish their invocation)."""
        await self.pools.stop(self.warm.retire(function_name, version, (PROVISIONED,)))

    def give_back(self, environment: ExecutionEnvironment, version: str) -> None:
        """A provisioned environment finished an invocation: back on its shelf, or replaced when it went away."""
        name = environment.function.name
        if environment.state is not State.DEAD:
            self.warm.put(name, version, environment, PROVISIONED)
            return
        # Lambda replaces a provisioned environment that went away
        statistics = self.controller.provisioned(name, version)
        if statistics is not None:
            self.controller.set_allocated(name, version, statistics.allocated - 1)
            self.provision(environment.function, version)

    async def _keep(self, function: FunctionConfig, version: str) -> None:
        try:
            await self._allocate(function, version)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the status says why, as AWS's StatusReason does
            self._failed[(function.name, version)] = f"FUNCTION_ERROR_INIT_FAILURE: {error}"
            self.warn(f"lsim: provisioned concurrency for {function.name}:{version} failed: {error}")

    async def _allocate(self, function: FunctionConfig, version: str) -> None:
        name = function.name
        self._failed.pop((name, version), None)
        statistics = self.controller.provisioned(name, version)
        if statistics is None:
            return
        await self.vpcs.wait_function_active(name)  # a VPC function: its ENI first
        pool = await self.pools.pool(function, version)

        def idle() -> int:
            return self.warm.idle(name, version, PROVISIONED)

        while idle() + statistics.in_use > statistics.requested and idle():
            surplus = self.warm.take(name, version, PROVISIONED)
            if surplus is not None:
                await pool.stop([surplus])
        while idle() + statistics.in_use < statistics.requested:
            environment = pool.new()  # never on the on-demand shelves: it serves provisioned invocations only
            variables = {**environment.spec.environment, "AWS_LAMBDA_INITIALIZATION_TYPE": INIT_TYPE}
            environment.spec = dataclasses.replace(environment.spec, environment=variables)
            # the init phase of provisioned concurrency has no 10 s limit, only the function timeout's cap
            outcome = await environment.init(float(self.limits.timeout_max_s))
            if outcome.status != "ready":
                await pool.stop([environment])
                self._failed[(name, version)] = (
                    f"FUNCTION_ERROR_INIT_FAILURE: the init phase ended with {outcome.status}"
                )
                return
            self.warm.put(name, version, environment, PROVISIONED)
            statistics = self.controller.provisioned(name, version) or statistics
            self.controller.set_allocated(name, version, idle() + statistics.in_use)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
