"""Where an admitted invocation runs, and how its environment is given back.

`lease()` is the one place an invocation meets an execution environment: a provisioned one when its lease is
provisioned, else the warm one admission took off the book (warm.py) for it, else a new one, which cold
starts (reusing the /tmp of one reset after a failure, as Lambda does). When the invocation is over, and its
extensions are done with it, the environment goes back where it came from and its concurrency slot is
released, at the same moment: warm on the book, reset after a failure, stopped when its function changed
meanwhile, replaced when a provisioned one went away. A reaper stops what stays idle past the idle timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from .admission import Admission
from .concurrency import Lease
from .config import FunctionConfig, Limits
from .environment import ExecutionEnvironment, State
from .pool import EnvironmentPool, EnvironmentPools
from .provisioned import ProvisionedEnvironments
from .tenancy import environment_limit, too_many_environments
from .warm import PROVISIONED, RESET, WarmEnvironments

REAP_EVERY_S = 10.0


class Placement:
    """Leases execution environments to admitted invocations and takes them back."""

    def __init__(
        self,
        pools: EnvironmentPools,
        warm: WarmEnvironments[Any],
        admission: Admission,
        provisioned: ProvisionedEnvironments,
        limits: Limits,
    ) -> None:
        self.pools = pools
        self.warm = warm
        self.admission = admission
        self.provisioned = provisioned
        self.limits = limits
        self._background: set[asyncio.Future[None]] = set()  # extensions finishing an invocation
        self._reaper: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def lease(
        self, function: FunctionConfig, version: str, admitted: Lease
    ) -> AsyncIterator[ExecutionEnvironment]:
        """The environment `admitted` runs in, for the body of the `async with`; given back afterwards."""
        try:
            pool = await self.pools.pool(function, version)
            if function.tenancy_config is not None:
                self._check_tenant_environments(function, admitted, pool)
        except BaseException:
            self.admission.release(admitted, reusable=False)
            raise
        environment, provisioned = self._take(admitted, pool)
        try:
            yield environment
        except BaseException:
            await environment.stop()
            raise
        finally:
            self._when_idle(environment, lambda: self._give_back(admitted, environment, pool, provisioned))

    def _check_tenant_environments(self, function: FunctionConfig, admitted: Lease, pool: EnvironmentPool) -> None:
        """A new tenant environment beyond 2,500 per 1,000 of the function's concurrency: Lambda's 429."""
        if admitted.environment is not None or self.warm.idle(function.name, admitted.version, RESET):
            return  # a warm one of the tenant, or one of its own reset after a failure
        reserved = self.admission.controller.reserved(function.name)
        concurrency = reserved if reserved is not None else self.limits.concurrent_executions
        if pool.size >= environment_limit(concurrency):
            raise too_many_environments()

    def _take(self, admitted: Lease, pool: EnvironmentPool) -> tuple[ExecutionEnvironment, bool]:
        """(environment, whether it is a provisioned one). Warm and reset environments are taken from the
        lease's place on the book (the version's, or a tenant's own)."""
        name, version, warm = pool.function.name, admitted.version, self.warm
        environment: ExecutionEnvironment | None
        if admitted.provisioned:
            environment = warm.take(name, version, PROVISIONED)
            if environment is not None:
                return environment, True
            environment = warm.take(name, version)  # none initialised yet: an on-demand one
        else:
            environment = admitted.environment
        # An idle environment whose runtime exited meanwhile (a crash, a kill) is not handed out: Lambda
        # starts a fresh one instead of failing an invocation that never ran.
        while environment is not None and (environment.state is State.DEAD or environment.sandbox_exited):
            pool.stop_soon(environment)
            environment = warm.take(name, version)
        if environment is None:
            environment = warm.take(name, version, RESET) or pool.new()
        return environment, False

    def _give_back(
        self, admitted: Lease, environment: ExecutionEnvironment, pool: EnvironmentPool, provisioned: bool
    ) -> None:
        """Release the slot and put the environment where it belongs, at the same moment."""
        name, version = pool.function.name, pool.version
        key = admitted.version  # where its idle environments wait: the version's place, or its tenant's
        if provisioned:
            self.admission.release(admitted, reusable=environment.state is State.IDLE)
            if environment.state is State.DEAD:
                pool.discard(environment)
            self.provisioned.give_back(environment, version)
            return
        warm = environment.state is State.IDLE and not pool.retired
        if admitted.provisioned:  # on-demand for a provisioned lease: the controller shelves nothing for it
            self.admission.release(admitted, reusable=warm)
            if warm:
                self.warm.put(name, version, environment)
        else:
            admitted.environment = environment
            self.admission.release(admitted, reusable=warm)  # warm: the controller shelves it on the book
        if warm:
            return
        if environment.state is State.DEAD:
            pool.discard(environment)
        elif pool.retired:  # its code or configuration changed while it ran: it serves no one else
            pool.stop_soon(environment)
        else:  # reset after a failure: the next cold start (of its tenant) runs in it, with its /tmp
            self.warm.put(name, key, environment, RESET)

    def _when_idle(self, environment: ExecutionEnvironment, give_back: Callable[[], None]) -> None:
        """Give an environment back now, or once its extensions are done with the invocation: the caller
        has its answer already, the environment is not free yet."""
        pending = environment.after_invoke()
        if pending is None:
            give_back()
            return
        task = asyncio.ensure_future(pending)
        self._background.add(task)

        def done(finished: asyncio.Future[None]) -> None:
            self._background.discard(finished)
            give_back()

        task.add_done_callback(done)

    # -- scaling in -----------------------------------------------------------------------------------------
    def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_forever(), name="lsim-reaper")

    async def reap(self) -> int:
        """Stop the environments idle past `idle_timeout_s` (Lambda scales them in); returns how many."""
        environments = self.warm.reap()
        await self.pools.stop(environments)
        return len(environments)

    async def _reap_forever(self) -> None:
        """Reap every 10 s (or more often when the idle timeout is shorter)."""
        every = min(REAP_EVERY_S, max(0.1, self.limits.idle_timeout_s / 2))
        while True:
            await asyncio.sleep(every)
            with contextlib.suppress(Exception):
                await self.reap()

    async def close(self) -> None:
        """Stop reaping, and let the extensions finish the invocations they are working on."""
        if self._reaper is not None:
            self._reaper.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
