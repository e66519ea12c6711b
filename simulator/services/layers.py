"""Lambda's layer operations: PublishLayerVersion, GetLayerVersion(ByArn), ListLayers, ListLayerVersions,
DeleteLayerVersion. The registry (layers.py) touches SQLite and files, so its calls run off the event loop.
They need no started simulator (no Docker): `lsim layer ...` calls them on one it never starts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ..layers import LayerRegistry, LayerVersion


class LayerService:
    """The layer operations of Lambda's API over the project's layer registry."""

    def __init__(self, registry: LayerRegistry) -> None:
        self.registry = registry

    async def publish_layer_version(
        self,
        layer_name: str,
        zip_file: Path | bytes,
        description: str = "",
        compatible_runtimes: list[str] | None = None,
        compatible_architectures: list[str] | None = None,
        license_info: str | None = None,
    ) -> LayerVersion:
        return await asyncio.to_thread(
            self.registry.publish_layer_version,
            layer_name,
            zip_file,
            description=description,
            compatible_runtimes=compatible_runtimes,
            compatible_architectures=compatible_architectures,
            license_info=license_info,
        )

    async def get_layer_version(self, layer_name: str, version_number: int) -> LayerVersion:
        return await asyncio.to_thread(self.registry.get_layer_version, layer_name, version_number)

    async def get_layer_version_by_arn(self, arn: str) -> LayerVersion:
        return await asyncio.to_thread(self.registry.get_layer_version_by_arn, arn)

    async def list_layers(
        self, compatible_runtime: str | None = None, compatible_architecture: str | None = None
    ) -> list[LayerVersion]:
        return await asyncio.to_thread(self.registry.list_layers, compatible_runtime, compatible_architecture)

    async def list_layer_versions(
        self,
        layer_name: str,
        compatible_runtime: str | None = None,
        compatible_architecture: str | None = None,
    ) -> list[LayerVersion]:
        return await asyncio.to_thread(
            self.registry.list_layer_versions, layer_name, compatible_runtime, compatible_architecture
        )

    async def delete_layer_version(self, layer_name: str, version_number: int) -> None:
        await asyncio.to_thread(self.registry.delete_layer_version, layer_name, version_number)
