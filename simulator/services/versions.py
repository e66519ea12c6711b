"""UpdateFunctionConfiguration, PublishVersion, ListVersionsByFunction and the alias operations, plus SAM's
AutoPublishAlias at start. They need no started simulator; when one runs, a configuration change retires
$LATEST's environments, so the next invocations start fresh ones (in-flight ones finish on the old
configuration). The registry (versions.py) touches SQLite and files, so its calls run off the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..descriptions import FunctionDescription
from ..invocation import LATEST
from ..pool import EnvironmentPools
from ..versions import Alias, VersionRegistry
from .functions import FunctionService
from .lookup import FunctionLookup


class VersionService:
    """$LATEST's configuration, published versions and aliases."""

    def __init__(
        self,
        lookup: FunctionLookup,
        registry: VersionRegistry,
        functions: FunctionService,
        pools: EnvironmentPools,
    ) -> None:
        self.lookup = lookup
        self.registry = registry
        self.functions = functions
        self.pools = pools

    def _name(self, function_name: str) -> str:
        return self.lookup.resolve(function_name)[0].name

    async def update_function_configuration(
        self, function_name: str, revision_id: str | None = None, **changes: Any
    ) -> FunctionDescription:
        """Change $LATEST: memory_size, timeout, ephemeral_storage, environment, handler, runtime, layers,
        description (lsim.toml's keys). Environment replaces the whole set of variables, as on Lambda."""
        name = self._name(function_name)
        await asyncio.to_thread(self.registry.update_function_configuration, name, changes, revision_id=revision_id)
        await self.pools.retire(name, version=LATEST)
        return await self.functions.get_function_configuration(name)

    async def reset_function_configuration(self, function_name: str) -> FunctionDescription:
        """lsim's own: forget the updates, $LATEST is lsim.toml's function again."""
        name = self._name(function_name)
        await asyncio.to_thread(self.registry.reset_configuration, name)
        await self.pools.retire(name, version=LATEST)
        return await self.functions.get_function_configuration(name)

    async def publish_version(
        self,
        function_name: str,
        description: str = "",
        code_sha256: str | None = None,
        revision_id: str | None = None,
    ) -> FunctionDescription:
        name = self._name(function_name)
        version = await asyncio.to_thread(
            self.registry.publish_version,
            name,
            description=description,
            code_sha256=code_sha256,
            revision_id=revision_id,
        )
        return await self.functions.get_function_configuration(name, version.version)

    async def list_versions_by_function(self, function_name: str) -> list[FunctionDescription]:
        """$LATEST, then every published version in order."""
        name = self._name(function_name)
        published = await asyncio.to_thread(self.registry.list_versions, name)
        versions = [LATEST, *(v.version for v in published)]
        return [await self.functions.get_function_configuration(name, v) for v in versions]

    async def create_alias(
        self,
        function_name: str,
        name: str,
        function_version: str,
        description: str = "",
        routing_config: dict[str, float] | None = None,
    ) -> Alias:
        return await asyncio.to_thread(
            self.registry.create_alias,
            self._name(function_name),
            name,
            function_version,
            description=description,
            weights=routing_config,
        )

    async def update_alias(
        self,
        function_name: str,
        name: str,
        function_version: str | None = None,
        description: str | None = None,
        routing_config: dict[str, float] | None = None,
        revision_id: str | None = None,
    ) -> Alias:
        return await asyncio.to_thread(
            self.registry.update_alias,
            self._name(function_name),
            name,
            function_version=function_version,
            description=description,
            weights=routing_config,
            revision_id=revision_id,
        )

    async def get_alias(self, function_name: str, name: str) -> Alias:
        return await asyncio.to_thread(self.registry.get_alias, self._name(function_name), name)

    async def delete_alias(self, function_name: str, name: str) -> None:
        await asyncio.to_thread(self.registry.delete_alias, self._name(function_name), name)

    async def list_aliases(self, function_name: str, function_version: str | None = None) -> list[Alias]:
        return await asyncio.to_thread(self.registry.list_aliases, self._name(function_name), function_version)

    async def auto_publish(self) -> None:
        """SAM's AutoPublishAlias, at start: publish each such function's $LATEST (nothing new when it did
        not change) and point its alias at the result, as a `sam deploy` does."""
        for function in list(self.lookup.project.functions.values()):
            alias = function.auto_publish_alias
            if not alias:
                continue
            version = await asyncio.to_thread(self.registry.publish_version, function.name)
            existing = {a.name: a for a in await asyncio.to_thread(self.registry.list_aliases, function.name)}
            if alias not in existing:
                await asyncio.to_thread(self.registry.create_alias, function.name, alias, version.version)
            elif existing[alias].function_version != version.version:
                await asyncio.to_thread(
                    self.registry.update_alias, function.name, alias, function_version=version.version, weights={}
                )
