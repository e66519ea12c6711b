"""The Lambda API's JSON shapes, in one place: what the HTTP API sends and what the CLI prints.

Each function turns a domain object the Simulator facade returned into the JSON of AWS's output shape,
named after that shape in botocore's model (`lambda/2015-03-31/service-2.json`): FunctionConfiguration,
GetFunctionResponse, ListFunctionsResponse, GetAccountSettingsResponse; plus Invoke's response headers
and the error body and headers every operation shares. A feature that adds an operation adds its output
shape here, as `<snake_case shape name>(result) -> dict`, and names it in the route table
(`simulator/api/routes.py`).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import secrets
from .errors import LambdaError, TooManyRequestsException

if TYPE_CHECKING:  # annotations only: the CLI imports this module and should not load the domain for it
    from .concurrency_settings import FunctionConcurrency, ProvisionedConcurrencyConfig
    from .descriptions import AccountSettings, FunctionDescription, FunctionPage
    from .invocation import InvocationResult
    from .layers import LayerVersion
    from .mappings.models import EventSourceMapping
    from .mappings.service import MappingPage
    from .versions import Alias

LOG_TAIL_BYTES = 4096  # X-Amz-Log-Result carries the last 4 KB of the log

# Error shapes whose message member is "Message"; every other Lambda error uses "message". botocore reads
# either, but fills the modeled field (ClientError.response["Message"] / ["message"]) only by its name.
CAPITALISED_MESSAGE = frozenset(
    {
        "CallbackTimeoutException", "CodeSigningConfigNotFoundException", "CodeVerificationFailedException",
        "DurableExecutionAlreadyStartedException", "EC2AccessDeniedException", "EC2ThrottledException",
        "EC2UnexpectedException", "EFSIOException", "EFSMountConnectivityException",
        "EFSMountFailureException", "EFSMountTimeoutException", "ENILimitReachedException",
        "InvalidCodeSignatureException", "InvalidRuntimeException", "InvalidSecurityGroupIDException",
        "InvalidSubnetIDException", "InvalidZipFileException", "KMSAccessDeniedException",
        "KMSDisabledException", "KMSInvalidStateException", "KMSNotFoundException",
        "NoPublishedVersionException", "RecursiveInvocationException", "ResourceInUseException",
        "ResourceNotFoundException", "S3FilesMountConnectivityException", "S3FilesMountFailureException",
        "S3FilesMountTimeoutException", "ServiceException", "SnapStartException",
        "SnapStartNotReadyException", "SnapStartTimeoutException", "SubnetIPAddressLimitReachedException",
    }
)  # fmt: skip


def timestamp(epoch_seconds: float) -> str:
    """Lambda's LastModified format: ISO-8601 with milliseconds and a +0000 offset."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


# -- functions ----------------------------------------------------------------------------------------
def function_configuration(description: FunctionDescription) -> dict[str, Any]:
    """FunctionConfiguration: GetFunctionConfiguration, UpdateFunctionConfiguration, PublishVersion and
    each item of ListFunctions / ListVersionsByFunction."""
    function = description.function
    code = description.code
    shape: dict[str, Any] = {
        "FunctionName": function.name,
        "FunctionArn": description.function_arn,
    }
    if function.runtime is not None:
        shape["Runtime"] = function.runtime
    if description.role_arn is not None:
        shape["Role"] = description.role_arn
    if function.handler is not None:
        shape["Handler"] = function.handler
    shape.update(
        {
            "CodeSize": code.size if code else 0,
            "Description": function.description,
            "Timeout": function.timeout,
            "MemorySize": function.memory_size,
            "LastModified": timestamp(code.last_modified if code else 0.0),
            "CodeSha256": code.sha256 if code else "",
            "Version": description.version,
        }
    )
    if function.environment:
        shape["Environment"] = {"Variables": secrets.masked(function.environment)}
    shape["TracingConfig"] = {"Mode": "PassThrough"}
    shape["RevisionId"] = description.revision_id
    if description.layers:
        shape["Layers"] = [{"Arn": layer.arn, "CodeSize": layer.code_size} for layer in description.layers]
    if function.vpc is not None:  # VpcConfigResponse; lsim's VPCs are named, so no VpcId
        shape["VpcConfig"] = {
            "SubnetIds": list(function.vpc.subnets),
            "SecurityGroupIds": list(function.vpc.security_groups),
            "Ipv6AllowedForDualStack": False,
        }
    shape.update(
        {
            "State": description.state,
            **({"StateReasonCode": description.state_reason_code} if description.state_reason_code else {}),
            **({"StateReason": description.state_reason} if description.state_reason else {}),
            "LastUpdateStatus": description.last_update_status,
            "PackageType": function.package_type,
            "Architectures": [function.architecture],
            "EphemeralStorage": {"Size": function.ephemeral_storage},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": function.logging_config.shape(function.name),
        }
    )
    if function.tenancy_config is not None:
        shape["TenancyConfig"] = {"TenantIsolationMode": function.tenancy_config.tenant_isolation_mode}
    return shape


def function_code_location(description: FunctionDescription) -> dict[str, Any]:
    """FunctionCodeLocation. Lambda gives a presigned S3 URL of the zip; lsim's package is a local folder,
    so Location is that folder's file:// URL. An image function names its image, as ECR functions do."""
    function = description.function
    if function.image is not None:
        return {"RepositoryType": "ECR", "ImageUri": function.image}
    assert function.code is not None
    return {"RepositoryType": "S3", "Location": function.code.resolve().as_uri()}


def get_function_response(description: FunctionDescription) -> dict[str, Any]:
    """GetFunctionResponse: the configuration, where the code is, and the reserved concurrency if any."""
    shape: dict[str, Any] = {
        "Configuration": function_configuration(description),
        "Code": function_code_location(description),
    }
    if description.reserved_concurrency is not None:
        shape["Concurrency"] = {"ReservedConcurrentExecutions": description.reserved_concurrency}
    return shape


def list_functions_response(page: FunctionPage) -> dict[str, Any]:
    """ListFunctionsResponse."""
    shape: dict[str, Any] = {"Functions": [function_configuration(d) for d in page.functions]}
    if page.next_marker is not None:
        shape["NextMarker"] = page.next_marker
    return shape


def list_versions_by_function_response(versions: list[FunctionDescription]) -> dict[str, Any]:
    """ListVersionsByFunctionResponse: $LATEST, then each published version."""
    return {"Versions": [function_configuration(d) for d in versions]}


def get_account_settings_response(settings: AccountSettings) -> dict[str, Any]:
    """GetAccountSettingsResponse."""
    return {
        "AccountLimit": {
            "TotalCodeSize": settings.total_code_size_limit,
            "CodeSizeUnzipped": settings.code_size_unzipped,
            "CodeSizeZipped": settings.code_size_zipped,
            "ConcurrentExecutions": settings.concurrent_executions,
            "UnreservedConcurrentExecutions": settings.unreserved_concurrent_executions,
        },
        "AccountUsage": {
            "TotalCodeSize": settings.total_code_size,
            "FunctionCount": settings.function_count,
        },
    }


# -- layers -------------------------------------------------------------------------------------------
def _code_sha256(hex_digest: str) -> str:
    """Lambda shows CodeSha256 as base64 of the SHA-256; the store keeps it hex."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def layer_version(layer: LayerVersion) -> dict[str, Any]:
    """PublishLayerVersionResponse / GetLayerVersionResponse."""
    shape: dict[str, Any] = {
        "Content": {
            "Location": layer.location,
            "CodeSha256": _code_sha256(layer.code_sha256),
            "CodeSize": layer.code_size,
        },
        "LayerArn": layer.layer_arn,
        "LayerVersionArn": layer.arn,
        "Description": layer.description,
        "CreatedDate": layer.created_date,
        "Version": layer.version,
        "CompatibleRuntimes": list(layer.compatible_runtimes),
        "CompatibleArchitectures": list(layer.compatible_architectures),
    }
    if layer.license_info is not None:
        shape["LicenseInfo"] = layer.license_info
    return shape


def layer_versions_list_item(layer: LayerVersion) -> dict[str, Any]:
    """LayerVersionsListItem: one entry of ListLayerVersions, and ListLayers' LatestMatchingVersion."""
    shape: dict[str, Any] = {
        "LayerVersionArn": layer.arn,
        "Version": layer.version,
        "Description": layer.description,
        "CreatedDate": layer.created_date,
        "CompatibleRuntimes": list(layer.compatible_runtimes),
        "CompatibleArchitectures": list(layer.compatible_architectures),
    }
    if layer.license_info is not None:
        shape["LicenseInfo"] = layer.license_info
    return shape


def list_layers(latest: list[LayerVersion]) -> dict[str, Any]:
    """ListLayersResponse: each layer with its latest matching version."""
    return {
        "Layers": [
            {
                "LayerName": layer.layer_name,
                "LayerArn": layer.layer_arn,
                "LatestMatchingVersion": layer_versions_list_item(layer),
            }
            for layer in latest
        ]
    }


def list_layer_versions(versions: list[LayerVersion]) -> dict[str, Any]:
    """ListLayerVersionsResponse."""
    return {"LayerVersions": [layer_versions_list_item(layer) for layer in versions]}


# -- Invoke -------------------------------------------------------------------------------------------
def log_result(logs: str) -> str:
    """X-Amz-Log-Result: base64 of the last 4 KB of the log."""
    return base64.b64encode(logs.encode()[-LOG_TAIL_BYTES:]).decode()


def invoke_headers(result: InvocationResult, log_type: str) -> dict[str, str]:
    """Invoke's response headers (InvocationResponse): X-Amz-Executed-Version, X-Amz-Function-Error when
    the function failed, X-Amz-Log-Result when the caller asked for LogType Tail."""
    headers = {
        "Content-Type": "application/json",
        "X-Amzn-RequestId": result.request_id,
        "X-Amz-Executed-Version": result.executed_version,
    }
    if result.function_error is not None:
        headers["X-Amz-Function-Error"] = result.function_error
    if log_type == "Tail" and result.status_code == 200:
        headers["X-Amz-Log-Result"] = log_result(result.logs)
    return headers


# -- errors -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorShape:
    """An error as the wire carries it: status, headers (X-Amzn-ErrorType names it) and JSON body."""

    status: int
    headers: dict[str, str]
    body: bytes


def error_shape(error: LambdaError, request_id: str) -> ErrorShape:
    """The error body and headers of the Lambda API. botocore's rest-json parser takes the error code
    from X-Amzn-ErrorType and the message from the body's "message" or "Message", so a boto3 caller
    gets ClientError with AWS's Code and Message. A throttle carries Retry-After and its Reason."""
    headers = {
        "Content-Type": "application/json",
        "X-Amzn-ErrorType": error.type,
        "X-Amzn-RequestId": request_id,
    }
    body: dict[str, Any]
    if isinstance(error, TooManyRequestsException):
        headers["Retry-After"] = str(error.retry_after_seconds)
        body = {"Reason": error.reason, "Type": "User", "message": error.message}
    else:
        key = "Message" if error.type in CAPITALISED_MESSAGE else "message"
        body = {"Type": "Service" if error.status >= 500 and error.type == "ServiceException" else "User"}
        body[key] = error.message
    return ErrorShape(error.status, headers, json.dumps(body).encode())


# -- concurrency ----------------------------------------------------------------------------------------
def concurrency(setting: FunctionConcurrency) -> dict[str, Any]:
    """Concurrency: PutFunctionConcurrency's output."""
    return {"ReservedConcurrentExecutions": setting.reserved_concurrent_executions}


def get_function_concurrency_response(setting: FunctionConcurrency) -> dict[str, Any]:
    """GetFunctionConcurrencyResponse: empty when the function has no reserved concurrency."""
    if setting.reserved_concurrent_executions is None:
        return {}
    return {"ReservedConcurrentExecutions": setting.reserved_concurrent_executions}


def provisioned_concurrency_config(config: ProvisionedConcurrencyConfig) -> dict[str, Any]:
    """Put/GetProvisionedConcurrencyConfigResponse."""
    shape: dict[str, Any] = {
        "RequestedProvisionedConcurrentExecutions": config.requested,
        "AvailableProvisionedConcurrentExecutions": config.available,
        "AllocatedProvisionedConcurrentExecutions": config.allocated,
        "Status": config.status,
        "LastModified": config.last_modified,
    }
    if config.status_reason:
        shape["StatusReason"] = config.status_reason
    return shape


put_provisioned_concurrency_config_response = provisioned_concurrency_config
get_provisioned_concurrency_config_response = provisioned_concurrency_config


# -- aliases ------------------------------------------------------------------------------------------
def alias_configuration(alias: Alias, alias_arn: str) -> dict[str, Any]:
    """CreateAlias / GetAlias / UpdateAlias output (AliasConfiguration)."""
    shape: dict[str, Any] = {
        "AliasArn": alias_arn,
        "Name": alias.name,
        "FunctionVersion": alias.function_version,
        "Description": alias.description,
        "RevisionId": alias.revision_id,
    }
    if alias.weights:
        shape["RoutingConfig"] = {"AdditionalVersionWeights": dict(alias.weights)}
    return shape


def list_aliases(aliases: list[tuple[Alias, str]]) -> dict[str, Any]:
    return {"Aliases": [alias_configuration(alias, arn) for alias, arn in aliases]}


# -- event source mappings ------------------------------------------------------------------------------
def event_source_mapping_configuration(
    mapping: EventSourceMapping, function_arn: str, mapping_arn: str
) -> dict[str, Any]:
    """EventSourceMappingConfiguration of an SQS mapping: exactly the members AWS's recorded answer has,
    ScalingConfig and FilterCriteria only when set; LastModified in epoch seconds (rest-json's timestamps).
    SQS mappings have no LastProcessingResult."""
    shape: dict[str, Any] = {
        "UUID": mapping.uuid,
        "BatchSize": mapping.batch_size,
        "MaximumBatchingWindowInSeconds": mapping.maximum_batching_window_s,
        "EventSourceArn": mapping.event_source_arn,
    }
    if mapping.filter_patterns:
        shape["FilterCriteria"] = {"Filters": [{"Pattern": pattern} for pattern in mapping.filter_patterns]}
    shape.update(
        {
            "FunctionArn": function_arn,
            "LastModified": round(mapping.last_modified, 3),
            "State": mapping.state,
            "StateTransitionReason": mapping.state_transition_reason,
            "FunctionResponseTypes": mapping.function_response_types,
        }
    )
    if mapping.maximum_concurrency is not None:
        shape["ScalingConfig"] = {"MaximumConcurrency": mapping.maximum_concurrency}
    shape["EventSourceMappingArn"] = mapping_arn
    return shape


def list_event_source_mappings_response(page: MappingPage, arns: list[tuple[str, str]]) -> dict[str, Any]:
    """ListEventSourceMappings: `arns` are each mapping's (function ARN, mapping ARN)."""
    pairs = zip(page.mappings, arns, strict=True)
    shape: dict[str, Any] = {"EventSourceMappings": [event_source_mapping_configuration(m, *a) for m, a in pairs]}
    if page.next_marker is not None:
        shape["NextMarker"] = page.next_marker
    return shape
