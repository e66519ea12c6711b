"""Lambda's read operations on functions: GetFunctionConfiguration, GetFunction, ListFunctions and
GetAccountSettings. They describe the project as its lsim.toml and code folders are now, with the reserved
concurrency in force and a VPC function's state; walking a code folder touches the disk, so that runs off
the event loop. They need no started simulator.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from datetime import datetime
from typing import Any

from ..concurrency import ConcurrencyController
from ..config import FunctionConfig, ProjectConfig
from ..descriptions import (
    AccountSettings,
    CodeFingerprint,
    FunctionDescription,
    FunctionPage,
    LayerReference,
    fingerprint_code,
    revision_id,
)
from ..errors import InvalidParameterValueException, LambdaError
from ..invocation import LATEST
from ..layers import DIRECT_UPLOAD_LIMIT, UNZIPPED_LIMIT, LayerRegistry
from ..versions import VersionRegistry
from .lookup import FunctionLookup, qualifier_of
from .vpcs import VpcService

#: "Function and layer storage: 75 GB" https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
TOTAL_CODE_SIZE_LIMIT = 75 * 1024**3
#: ListFunctions returns up to 50 functions a call; MaxItems may ask for 1-10,000
#: https://docs.aws.amazon.com/lambda/latest/api/API_ListFunctions.html
LIST_PAGE_SIZE = 50
LIST_MAX_ITEMS = 10_000


class FunctionService:
    """Describes functions and the account."""

    def __init__(
        self,
        project: ProjectConfig,
        lookup: FunctionLookup,
        layers: LayerRegistry,
        versions: VersionRegistry,
        controller: ConcurrencyController,
        vpcs: VpcService,
    ) -> None:
        self.project = project
        self.lookup = lookup
        self.layers = layers
        self.versions = versions
        self.controller = controller
        self.vpcs = vpcs

    async def get_function_configuration(self, function_name: str, qualifier: str | None = None) -> FunctionDescription:
        """The version-specific settings of a function, version or alias."""
        function, version = self.lookup.resolve(function_name, qualifier)
        arn_qualifier = qualifier or qualifier_of(function_name)
        return await asyncio.to_thread(self.describe, function, version, arn_qualifier)

    async def get_function(self, function_name: str, qualifier: str | None = None) -> FunctionDescription:
        """GetFunction: the configuration, where the code is, and the reserved concurrency (shapes.py
        builds the three parts from one description)."""
        return await self.get_function_configuration(function_name, qualifier)

    async def list_functions(
        self,
        master_region: str | None = None,
        function_version: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> FunctionPage:
        """The project's functions in name order, a page at a time. `FunctionVersion=ALL` would add every
        published version; `MasterRegion` filters Lambda@Edge replicas, of which lsim has none."""
        if function_version is not None and function_version != "ALL":
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{function_version}' at 'functionVersion' failed to "
                "satisfy constraint: Member must satisfy enum value set: [ALL]"
            )
        if master_region is not None:
            if function_version != "ALL":
                raise InvalidParameterValueException(
                    "MasterRegion requires FunctionVersion to be ALL: pass FunctionVersion=ALL as well"
                )
            return FunctionPage(())  # no Lambda@Edge replicas here
        if max_items is not None and not 1 <= max_items <= LIST_MAX_ITEMS:
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{max_items}' at 'maxItems' failed to satisfy "
                f"constraint: Member must have value between 1 and {LIST_MAX_ITEMS}"
            )
        names = sorted(self.project.functions)
        start = _decode_marker(marker, names)
        size = max_items or LIST_PAGE_SIZE
        chosen = names[start : start + size]
        functions = [self.lookup.resolve(name, None)[0] for name in chosen]  # $LATEST as updated, not as read
        described = await asyncio.to_thread(lambda: [self.describe(f, LATEST, None) for f in functions])
        following = start + size
        next_marker = _encode_marker(names[following]) if following < len(names) else None
        return FunctionPage(tuple(described), next_marker)

    async def get_account_settings(self) -> AccountSettings:
        """The account's limits (AWS's defaults, or [limits] of lsim.toml) and what the project uses:
        its functions, their code, and the layer versions it stored."""
        limits = self.project.limits
        functions = list(self.project.functions.values())

        def usage() -> int:
            code = sum(fingerprint_code(f.code).size for f in functions if f.code is not None)
            layer_bytes = sum(
                version.code_size
                for layer in self.layers.list_layers()
                for version in self.layers.list_layer_versions(layer.layer_name)
            )
            return code + layer_bytes

        return AccountSettings(
            total_code_size_limit=TOTAL_CODE_SIZE_LIMIT,
            code_size_unzipped=UNZIPPED_LIMIT,
            code_size_zipped=DIRECT_UPLOAD_LIMIT,
            concurrent_executions=limits.concurrent_executions,
            unreserved_concurrent_executions=self.controller.statistics().unreserved_limit,
            total_code_size=await asyncio.to_thread(usage),
            function_count=len(functions),
        )

    def describe(self, function: FunctionConfig, version: str, qualifier: str | None) -> FunctionDescription:
        """One version of a function as Lambda's read operations describe it (blocking: reads the code)."""
        if version != LATEST:  # a published version describes its snapshot
            return self._describe_published(function, version, qualifier)
        code = fingerprint_code(function.code) if function.code is not None else None
        layers: tuple[LayerReference, ...] = ()
        if function.layers:
            try:
                layers = tuple(
                    LayerReference(layer.arn, layer.code_size) for layer in self.layers.resolve_all(function)
                )
            except LambdaError:  # an invalid reference fails the invocation, with the reason, not this read
                layers = ()
        return FunctionDescription(
            function=function,
            version=version,
            function_arn=self.project.function_arn(function.name, qualifier),
            code=code,
            revision_id=revision_id(function, code),
            region=self.project.settings.region,
            layers=layers,
            reserved_concurrency=self.controller.reserved(function.name),
            role_arn=self.project.role_of(function).arn,
            **self._state_of(function),
        )

    def _describe_published(self, function: FunctionConfig, version: str, qualifier: str | None) -> FunctionDescription:
        published = self.versions.version(function.name, version)
        if published.description:  # PublishVersion's description overrides the function's for that version
            function = function.model_copy(update={"description": published.description})
        modified = datetime.strptime(published.last_modified, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        sha256 = base64.b64encode(bytes.fromhex(published.code_sha256)).decode()
        code = CodeFingerprint(sha256, published.code_size, modified)
        lookup = self.layers.get_layer_version_by_arn
        layers = tuple(LayerReference(arn, lookup(arn, include_deleted=True).code_size) for arn in function.layers)
        return FunctionDescription(
            function=function,
            version=version,
            function_arn=self.project.function_arn(function.name, qualifier or version),
            code=code if function.image is None else None,
            revision_id=published.revision_id,
            region=self.project.settings.region,
            layers=layers,
            reserved_concurrency=function.reserved_concurrency,
            role_arn=self.project.role_of(function).arn,
            **self._state_of(function),
        )

    def _state_of(self, function: FunctionConfig) -> dict[str, Any]:
        """State, StateReasonCode and StateReason: Active unless the function's VPC attachment says otherwise
        (Pending while its ENI is created, Failed when it cannot be)."""
        found = self.vpcs.vpc_state(function.name)
        if found is None:
            return {}
        state, code, reason = found
        return {"state": state, "state_reason_code": code, "state_reason": reason}


def _encode_marker(name: str) -> str:
    """An opaque pagination token, as Lambda's NextMarker is: here the next function's name."""
    return base64.urlsafe_b64encode(name.encode()).decode()


def _decode_marker(marker: str | None, names: list[str]) -> int:
    if not marker:
        return 0
    try:
        name = base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidParameterValueException(
            f"Marker {marker!r} is invalid: pass the NextMarker of the previous page unchanged"
        ) from None
    # The first name at or after the marker's, so a function removed meanwhile does not end the listing.
    return next((i for i, candidate in enumerate(names) if candidate >= name), len(names))
