"""The layer operations of Lambda's API on the Simulator facade (a mixin: one file per feature keeps the
facade readable). Registry calls touch SQLite and files, so they run off the event loop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ..layers import LayerRegistry, LayerVersion


class LayerOperations:
    """The layer operations of Lambda's API, on the facade. They need no running simulator (no Docker):
    `lsim layer ...` calls them on a Simulator it never starts."""

    layers: LayerRegistry

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
            self.layers.publish_layer_version,
            layer_name,
            zip_file,
            description=description,
            compatible_runtimes=compatible_runtimes,
            compatible_architectures=compatible_architectures,
            license_info=license_info,
        )

    async def get_layer_version(self, layer_name: str, version_number: int) -> LayerVersion:
        return await asyncio.to_thread(self.layers.get_layer_version, layer_name, version_number)

    async def get_layer_version_by_arn(self, arn: str) -> LayerVersion:
        return await asyncio.to_thread(self.layers.get_layer_version_by_arn, arn)

    async def list_layers(
        self, compatible_runtime: str | None = None, compatible_architecture: str | None = None
    ) -> list[LayerVersion]:
        return await asyncio.to_thread(self.layers.list_layers, compatible_runtime, compatible_architecture)

    async def list_layer_versions(
        self,
        layer_name: str,
        compatible_runtime: str | None = None,
        compatible_architecture: str | None = None,
    ) -> list[LayerVersion]:
        return await asyncio.to_thread(
            self.layers.list_layer_versions, layer_name, compatible_runtime, compatible_architecture
        )

    async def delete_layer_version(self, layer_name: str, version_number: int) -> None:
        await asyncio.to_thread(self.layers.delete_layer_version, layer_name, version_number)
