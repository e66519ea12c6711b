"""UpdateFunctionConfiguration, PublishVersion, ListVersionsByFunction and the alias operations on the
Simulator facade. They need no running simulator; when one runs, a configuration change makes the next
invocations of $LATEST start fresh environments (in-flight ones finish on the old configuration)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..descriptions import FunctionDescription
from ..versions import LATEST, Alias, VersionRegistry

if TYPE_CHECKING:
    from ..simulator import Simulator


class VersionOperations:
    versions: VersionRegistry

    @property
    def _simulator(self) -> Simulator:
        return self  # type: ignore[return-value]

    async def update_function_configuration(
        self, function_name: str, revision_id: str | None = None, **changes: Any
    ) -> FunctionDescription:
        """Change $LATEST: memory_size, timeout, ephemeral_storage, environment, handler, runtime, layers,
        description (lsim.toml's keys). Environment replaces the whole set of variables, as on Lambda."""
        name = self._simulator.resolve(function_name)[0].name
        await asyncio.to_thread(self.versions.update_function_configuration, name, changes, revision_id=revision_id)
        await self._simulator.retire(name, version=LATEST)
        return await self._simulator.get_function_configuration(name)

    async def reset_function_configuration(self, function_name: str) -> FunctionDescription:
        """lsim's own: forget the updates, $LATEST is lsim.toml's function again."""
        name = self._simulator.resolve(function_name)[0].name
        await asyncio.to_thread(self.versions.reset_configuration, name)
        await self._simulator.retire(name, version=LATEST)
        return await self._simulator.get_function_configuration(name)

    async def publish_version(
        self,
        function_name: str,
        description: str = "",
        code_sha256: str | None = None,
        revision_id: str | None = None,
    ) -> FunctionDescription:
        name = self._simulator.resolve(function_name)[0].name
        version = await asyncio.to_thread(
            self.versions.publish_version,
            name,
            description=description,
            code_sha256=code_sha256,
            revision_id=revision_id,
        )
        return await self._simulator.get_function_configuration(name, version.version)

    async def list_versions_by_function(self, function_name: str) -> list[FunctionDescription]:
        """$LATEST, then every published version in order."""
        name = self._simulator.resolve(function_name)[0].name
        published = await asyncio.to_thread(self.versions.list_versions, name)
        versions = [LATEST, *(v.version for v in published)]
        return [await self._simulator.get_function_configuration(name, v) for v in versions]

    async def create_alias(
        self,
        function_name: str,
        name: str,
        function_version: str,
        description: str = "",
        routing_config: dict[str, float] | None = None,
    ) -> Alias:
        function = self._simulator.resolve(function_name)[0].name
        return await asyncio.to_thread(
            self.versions.create_alias,
            function,
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
        function = self._simulator.resolve(function_name)[0].name
        return await asyncio.to_thread(
            self.versions.update_alias,
            function,
            name,
            function_version=function_version,
            description=description,
            weights=routing_config,
            revision_id=revision_id,
        )

    async def get_alias(self, function_name: str, name: str) -> Alias:
        function = self._simulator.resolve(function_name)[0].name
        return await asyncio.to_thread(self.versions.get_alias, function, name)

    async def delete_alias(self, function_name: str, name: str) -> None:
        function = self._simulator.resolve(function_name)[0].name
        await asyncio.to_thread(self.versions.delete_alias, function, name)

    async def list_aliases(self, function_name: str, function_version: str | None = None) -> list[Alias]:
        function = self._simulator.resolve(function_name)[0].name
        return await asyncio.to_thread(self.versions.list_aliases, function, function_version)

    async def _auto_publish(self) -> None:
        """SAM's AutoPublishAlias, at start: publish each such function's $LATEST (nothing new when it did
        not change) and point its alias at the result, as a `sam deploy` does."""
        for function in list(self._simulator.project.functions.values()):
            alias = function.auto_publish_alias
            if not alias:
                continue
            version = await asyncio.to_thread(self.versions.publish_version, function.name)
            existing = {a.name: a for a in await asyncio.to_thread(self.versions.list_aliases, function.name)}
            if alias not in existing:
                await asyncio.to_thread(self.versions.create_alias, function.name, alias, version.version)
            elif existing[alias].function_version != version.version:
                await asyncio.to_thread(
                    self.versions.update_alias, function.name, alias, function_version=version.version, weights={}
                )
