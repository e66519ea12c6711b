"""The route table: each line maps a method and AWS's REST path (botocore's `requestUri`) to an operation,
and names the service and method of the Simulator that serve it (`"functions.get_function_configuration"`).

A request to a route calls that method with the request's members in snake_case, and `shapes.<output>`
turns what it returns into the JSON body (or a presenter here, for a shape that needs the project, such
as an alias's ARN). When the service has no such method yet, the answer is AWS's for an operation it does
not serve (404 UnknownOperationException), never a fake success: a feature that adds the method and its
output shape lights its route up.

`adapt` reshapes the parsed members where the wire and the service differ (a structure the service takes
as plain arguments).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .. import shapes
from ..config import ProjectConfig
from ..errors import InvalidParameterValueException, ValidationException
from ..logging_config import APPLICATION_LOG_LEVELS, LOG_FORMATS, SYSTEM_LOG_LEVELS, from_api

Members = dict[str, Any]


def snake_case(name: str) -> str:
    """AWS's member and operation names in Python's style: KMSKeyArn -> kms_key_arn."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def layer_content(members: Members) -> Members:
    """PublishLayerVersion's Content{ZipFile | S3Bucket, S3Key, S3ObjectVersion} -> zip_file bytes."""
    content = members.pop("Content", None) or {}
    if "ZipFile" not in content:
        raise InvalidParameterValueException(
            "Content: lsim takes a layer as Content.ZipFile (the zip's bytes); S3Bucket/S3Key are not "
            "simulated: download the object and pass --zip-file fileb://layer.zip"
        )
    members["ZipFile"] = content["ZipFile"]
    return members


#: botocore's LayerVersionArn (1-140 characters) and the pattern Lambda's answer quotes, awslayer included
LAYER_VERSION_ARN_PATTERN = r"arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+"
_LAYER_CONSTRAINT = (
    "Member must satisfy constraint: [Member must have length less than or equal to 140, Member must have "
    f"length greater than or equal to 1, Member must satisfy regular expression pattern: "
    f"({LAYER_VERSION_ARN_PATTERN})|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)]"
)


def check_layer_arns(layers: list[str]) -> None:
    """Through the API a layer is a layer version ARN, as on AWS: never a host folder or zip (those are
    for lsim.toml and template.yaml, which the user wrote). AWS's front end answers ValidationException,
    quoting the whole list, e.g. (aws-cli, 2021): `1 validation error detected: Value '[arn:...:layer:x:]' at
    'layers' failed to satisfy constraint: Member must satisfy constraint: [...]`."""
    if all(1 <= len(arn) <= 140 and re.fullmatch(LAYER_VERSION_ARN_PATTERN, arn) for arn in layers):
        return
    raise ValidationException(
        f"1 validation error detected: Value '[{', '.join(layers)}]' at 'layers' failed to satisfy constraint: "
        f"{_LAYER_CONSTRAINT} (through the API a layer is a layer version ARN: publish a folder with "
        "PublishLayerVersion or `lsim layer publish NAME --zip FILE` and pass its LayerVersionArn)"
    )


def configuration_changes(members: Members) -> Members:
    """UpdateFunctionConfiguration's nested members as the service takes them (lsim.toml's keys):
    Environment{Variables} -> environment, EphemeralStorage{Size} -> ephemeral_storage. Layers must be
    layer version ARNs."""
    if "Layers" in members:
        check_layer_arns(members["Layers"])
    if "Environment" in members:
        members["Environment"] = dict(members["Environment"].get("Variables") or {})
    if "EphemeralStorage" in members:
        members["EphemeralStorage"] = members["EphemeralStorage"].get("Size")
    if "LoggingConfig" in members:
        members["LoggingConfig"] = logging_config_member(members["LoggingConfig"])
    return members


def logging_config_member(given: Members) -> Members:
    """LoggingConfig's members in lsim.toml's keys; a value outside an enum is AWS's ValidationException."""
    enums = {
        "LogFormat": LOG_FORMATS,
        "ApplicationLogLevel": APPLICATION_LOG_LEVELS,
        "SystemLogLevel": SYSTEM_LOG_LEVELS,
    }
    for member, allowed in enums.items():
        value = given.get(member)
        if value is not None and value not in allowed:
            where = f"loggingConfig.{member[0].lower()}{member[1:]}"
            raise ValidationException(
                f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(allowed)}]"
            )
    return from_api(given)


def routing_config(members: Members) -> Members:
    """RoutingConfig{AdditionalVersionWeights: {version: weight}} -> routing_config={version: weight}."""
    if "RoutingConfig" in members:
        members["RoutingConfig"] = dict(members["RoutingConfig"].get("AdditionalVersionWeights") or {})
    return members


def alias_output(alias: Any, project: ProjectConfig) -> dict[str, Any]:
    """AliasConfiguration, with the alias's ARN in the project's Region and account."""
    return shapes.alias_configuration(alias, project.function_arn(alias.function_name, alias.name))


def aliases_output(aliases: list[Any], project: ProjectConfig) -> dict[str, Any]:
    return shapes.list_aliases([(a, project.function_arn(a.function_name, a.name)) for a in aliases])


def _mapping_arns(mapping: Any, project: ProjectConfig) -> tuple[str, str]:
    settings = project.settings
    return (
        project.function_arn(mapping.function_name, mapping.qualifier),
        f"arn:aws:lambda:{settings.region}:{settings.account_id}:event-source-mapping:{mapping.uuid}",
    )


def mapping_output(mapping: Any, project: ProjectConfig) -> dict[str, Any]:
    """EventSourceMappingConfiguration, with the function's and the mapping's ARNs."""
    return shapes.event_source_mapping_configuration(mapping, *_mapping_arns(mapping, project))


def mappings_output(page: Any, project: ProjectConfig) -> dict[str, Any]:
    return shapes.list_event_source_mappings_response(page, [_mapping_arns(m, project) for m in page.mappings])


#: builds the JSON body from what the service returned: a shapes.py function's name (called with the
#: result), or a function of (result, project) for shapes that need the project (ARNs)
Output = str | Callable[[Any, ProjectConfig], Any] | None


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # AWS's requestUri; a "?name=value" suffix is a query parameter the route requires
    operation: str
    serves: str = ""  # "service.method" of the Simulator; "" for an operation lsim does not simulate
    status: int = 200  # botocore's responseCode
    output: Output = None  # what builds the body; None: no body
    adapt: Callable[[Members], Members] | None = None
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    query: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        path, _, query = self.path.partition("?")
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", re.escape(path).replace(r"\{", "{").replace(r"\}", "}"))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))
        pairs = tuple(tuple(pair.split("=", 1)) for pair in query.split("&") if pair)
        object.__setattr__(self, "query", pairs)

    @property
    def service(self) -> str:
        """The Simulator's attribute that serves the operation (e.g. "functions")."""
        return self.serves.partition(".")[0]

    @property
    def service_method(self) -> str:
        """The service's method that serves it (e.g. "get_function_configuration")."""
        return self.serves.partition(".")[2]

    def presenter(self) -> Callable[[Any, ProjectConfig], Any] | None:
        """The body builder, or None when shapes.py does not have it yet (the route is not lit)."""
        if self.output is None or callable(self.output):
            return self.output
        build = getattr(shapes, self.output, None)
        return None if build is None else (lambda result, _project: build(result))


F = "/2015-03-31/functions/{FunctionName}"
LAYER = "/2018-10-31/layers/{LayerName}/versions"
PC = "/2019-09-30/functions/{FunctionName}/provisioned-concurrency"
ESM = "/2015-03-31/event-source-mappings"

#: The operations lsim serves; each line lights up when its service has the method.
ROUTES: tuple[Route, ...] = (
    Route("POST", f"{F}/invocations", "Invoke", "invoker.invoke"),
    Route("GET", F, "GetFunction", "functions.get_function", output="get_function_response"),
    Route("GET", f"{F}/configuration", "GetFunctionConfiguration", "functions.get_function_configuration",
          output="function_configuration"),
    Route("PUT", f"{F}/configuration", "UpdateFunctionConfiguration", "versions.update_function_configuration",
          output="function_configuration", adapt=configuration_changes),
    Route("GET", "/2015-03-31/functions", "ListFunctions", "functions.list_functions",
          output="list_functions_response"),
    Route("POST", f"{F}/versions", "PublishVersion", "versions.publish_version", 201, "function_configuration"),
    Route("GET", f"{F}/versions", "ListVersionsByFunction", "versions.list_versions_by_function",
          output="list_versions_by_function_response"),
    Route("POST", f"{F}/aliases", "CreateAlias", "versions.create_alias", 201, alias_output, adapt=routing_config),
    Route("GET", f"{F}/aliases", "ListAliases", "versions.list_aliases", output=aliases_output),
    Route("GET", f"{F}/aliases/{{Name}}", "GetAlias", "versions.get_alias", output=alias_output),
    Route("PUT", f"{F}/aliases/{{Name}}", "UpdateAlias", "versions.update_alias", output=alias_output,
          adapt=routing_config),
    Route("DELETE", f"{F}/aliases/{{Name}}", "DeleteAlias", "versions.delete_alias", 204),
    Route("POST", LAYER, "PublishLayerVersion", "layers.publish_layer_version", 201, "layer_version",
          adapt=layer_content),
    Route("GET", f"{LAYER}/{{VersionNumber}}", "GetLayerVersion", "layers.get_layer_version",
          output="layer_version"),
    Route("GET", "/2018-10-31/layers?find=LayerVersion", "GetLayerVersionByArn", "layers.get_layer_version_by_arn",
          output="layer_version"),
    Route("GET", "/2018-10-31/layers", "ListLayers", "layers.list_layers", output="list_layers"),
    Route("GET", LAYER, "ListLayerVersions", "layers.list_layer_versions", output="list_layer_versions"),
    Route("DELETE", f"{LAYER}/{{VersionNumber}}", "DeleteLayerVersion", "layers.delete_layer_version", 204),
    Route("PUT", "/2017-10-31/functions/{FunctionName}/concurrency", "PutFunctionConcurrency",
          "concurrency.put_function_concurrency", output="concurrency"),
    Route("GET", "/2019-09-30/functions/{FunctionName}/concurrency", "GetFunctionConcurrency",
          "concurrency.get_function_concurrency", output="get_function_concurrency_response"),
    Route("DELETE", "/2017-10-31/functions/{FunctionName}/concurrency", "DeleteFunctionConcurrency",
          "concurrency.delete_function_concurrency", 204),
    Route("PUT", PC, "PutProvisionedConcurrencyConfig", "concurrency.put_provisioned_concurrency_config", 202,
          "put_provisioned_concurrency_config_response"),
    Route("GET", PC, "GetProvisionedConcurrencyConfig", "concurrency.get_provisioned_concurrency_config",
          output="get_provisioned_concurrency_config_response"),
    Route("GET", "/2016-08-19/account-settings", "GetAccountSettings", "functions.get_account_settings",
          output="get_account_settings_response"),
    Route("POST", ESM, "CreateEventSourceMapping", "mappings.create_event_source_mapping", 202, mapping_output),
    Route("GET", ESM, "ListEventSourceMappings", "mappings.list_event_source_mappings", output=mappings_output),
    Route("GET", f"{ESM}/{{UUID}}", "GetEventSourceMapping", "mappings.get_event_source_mapping",
          output=mapping_output),
    Route("PUT", f"{ESM}/{{UUID}}", "UpdateEventSourceMapping", "mappings.update_event_source_mapping", 202,
          mapping_output),
    Route("DELETE", f"{ESM}/{{UUID}}", "DeleteEventSourceMapping", "mappings.delete_event_source_mapping", 202,
          mapping_output),
)  # fmt: skip

#: Every other operation of Lambda's API (botocore 1.43), so that a call to one is named in the answer.
OTHER_OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("POST", "/2015-03-31/functions", "CreateFunction"),
    ("DELETE", F, "DeleteFunction"),
    ("PUT", f"{F}/code", "UpdateFunctionCode"),
    ("POST", "/2014-11-13/functions/{FunctionName}/invoke-async", "InvokeAsync"),
    ("POST", "/2021-11-15/functions/{FunctionName}/response-streaming-invocations", "InvokeWithResponseStream"),
    ("GET", f"{PC}?List=ALL", "ListProvisionedConcurrencyConfigs"),
    ("DELETE", PC, "DeleteProvisionedConcurrencyConfig"),
    ("POST", f"{LAYER}/{{VersionNumber}}/policy", "AddLayerVersionPermission"),
    ("GET", f"{LAYER}/{{VersionNumber}}/policy", "GetLayerVersionPolicy"),
    ("DELETE", f"{LAYER}/{{VersionNumber}}/policy/{{StatementId}}", "RemoveLayerVersionPermission"),
    ("POST", f"{F}/policy", "AddPermission"),
    ("GET", f"{F}/policy", "GetPolicy"),
    ("DELETE", f"{F}/policy/{{StatementId}}", "RemovePermission"),
    ("PUT", "/2019-09-25/functions/{FunctionName}/event-invoke-config", "PutFunctionEventInvokeConfig"),
    ("POST", "/2019-09-25/functions/{FunctionName}/event-invoke-config", "UpdateFunctionEventInvokeConfig"),
    ("GET", "/2019-09-25/functions/{FunctionName}/event-invoke-config", "GetFunctionEventInvokeConfig"),
    ("DELETE", "/2019-09-25/functions/{FunctionName}/event-invoke-config", "DeleteFunctionEventInvokeConfig"),
    ("GET", "/2019-09-25/functions/{FunctionName}/event-invoke-config/list", "ListFunctionEventInvokeConfigs"),
    ("POST", "/2021-10-31/functions/{FunctionName}/url", "CreateFunctionUrlConfig"),
    ("GET", "/2021-10-31/functions/{FunctionName}/url", "GetFunctionUrlConfig"),
    ("PUT", "/2021-10-31/functions/{FunctionName}/url", "UpdateFunctionUrlConfig"),
    ("DELETE", "/2021-10-31/functions/{FunctionName}/url", "DeleteFunctionUrlConfig"),
    ("GET", "/2021-10-31/functions/{FunctionName}/urls", "ListFunctionUrlConfigs"),
    ("GET", "/2017-03-31/tags/{Resource}", "ListTags"),
    ("POST", "/2017-03-31/tags/{Resource}", "TagResource"),
    ("DELETE", "/2017-03-31/tags/{Resource}", "UntagResource"),
    ("POST", "/2020-04-22/code-signing-configs", "CreateCodeSigningConfig"),
    ("GET", "/2020-04-22/code-signing-configs", "ListCodeSigningConfigs"),
    ("GET", "/2020-04-22/code-signing-configs/{CodeSigningConfigArn}", "GetCodeSigningConfig"),
    ("PUT", "/2020-04-22/code-signing-configs/{CodeSigningConfigArn}", "UpdateCodeSigningConfig"),
    ("DELETE", "/2020-04-22/code-signing-configs/{CodeSigningConfigArn}", "DeleteCodeSigningConfig"),
    ("GET", "/2020-04-22/code-signing-configs/{CodeSigningConfigArn}/functions", "ListFunctionsByCodeSigningConfig"),
    ("GET", "/2020-06-30/functions/{FunctionName}/code-signing-config", "GetFunctionCodeSigningConfig"),
    ("PUT", "/2020-06-30/functions/{FunctionName}/code-signing-config", "PutFunctionCodeSigningConfig"),
    ("DELETE", "/2020-06-30/functions/{FunctionName}/code-signing-config", "DeleteFunctionCodeSigningConfig"),
    ("GET", "/2021-07-20/functions/{FunctionName}/runtime-management-config", "GetRuntimeManagementConfig"),
    ("PUT", "/2021-07-20/functions/{FunctionName}/runtime-management-config", "PutRuntimeManagementConfig"),
    ("GET", "/2024-08-31/functions/{FunctionName}/recursion-config", "GetFunctionRecursionConfig"),
    ("PUT", "/2024-08-31/functions/{FunctionName}/recursion-config", "PutFunctionRecursionConfig"),
    ("POST", "/2025-11-30/capacity-providers", "CreateCapacityProvider"),
    ("GET", "/2025-11-30/capacity-providers", "ListCapacityProviders"),
    ("GET", "/2025-11-30/capacity-providers/{CapacityProviderName}", "GetCapacityProvider"),
    ("PUT", "/2025-11-30/capacity-providers/{CapacityProviderName}", "UpdateCapacityProvider"),
    ("DELETE", "/2025-11-30/capacity-providers/{CapacityProviderName}", "DeleteCapacityProvider"),
    ("GET", "/2025-11-30/capacity-providers/{CapacityProviderName}/function-versions",
     "ListFunctionVersionsByCapacityProvider"),
    ("GET", "/2025-11-30/functions/{FunctionName}/function-scaling-config", "GetFunctionScalingConfig"),
    ("PUT", "/2025-11-30/functions/{FunctionName}/function-scaling-config", "PutFunctionScalingConfig"),
    ("GET", "/2025-12-01/functions/{FunctionName}/durable-executions", "ListDurableExecutionsByFunction"),
    ("GET", "/2025-12-01/durable-executions/{DurableExecutionArn}", "GetDurableExecution"),
    ("GET", "/2025-12-01/durable-executions/{DurableExecutionArn}/history", "GetDurableExecutionHistory"),
    ("GET", "/2025-12-01/durable-executions/{DurableExecutionArn}/state", "GetDurableExecutionState"),
    ("POST", "/2025-12-01/durable-executions/{DurableExecutionArn}/checkpoint", "CheckpointDurableExecution"),
    ("POST", "/2025-12-01/durable-executions/{DurableExecutionArn}/stop", "StopDurableExecution"),
    ("POST", "/2025-12-01/durable-execution-callbacks/{CallbackId}/succeed", "SendDurableExecutionCallbackSuccess"),
    ("POST", "/2025-12-01/durable-execution-callbacks/{CallbackId}/fail", "SendDurableExecutionCallbackFailure"),
    ("POST", "/2025-12-01/durable-execution-callbacks/{CallbackId}/heartbeat",
     "SendDurableExecutionCallbackHeartbeat"),
)  # fmt: skip

#: Why lsim has no route for some operations, where there is more to say than "not simulated".
NOT_SIMULATED_BECAUSE: dict[str, str] = {
    "CreateFunction": "functions are defined in lsim.toml: add a [functions.NAME] table",
    "DeleteFunction": "functions are defined in lsim.toml: remove the [functions.NAME] table",
    "UpdateFunctionCode": "lsim runs the code folder of lsim.toml: edit the files (`lsim serve --watch` reloads them)",
    "InvokeAsync": "it is deprecated: use Invoke with InvocationType Event",
}


@dataclass(frozen=True)
class Match:
    route: Route
    path_members: dict[str, str]


class Router:
    """Finds the route of a request: routes that require a query parameter are tried first, so that
    `GET /2018-10-31/layers?find=LayerVersion` is GetLayerVersionByArn and not ListLayers."""

    def __init__(self, routes: tuple[Route, ...], others: tuple[tuple[str, str, str], ...] = ()) -> None:
        every = [*routes, *(Route(method, path, operation) for method, path, operation in others)]
        self.served = frozenset(route.operation for route in routes)
        self._by_method: dict[str, list[Route]] = {}
        for route in sorted(every, key=lambda r: not r.query):  # stable: table order otherwise
            self._by_method.setdefault(route.method, []).append(route)

    def match(self, method: str, raw_path: str, query: Any) -> Match | None:
        for route in self._by_method.get(method, ()):
            found = route.pattern.match(raw_path)
            if found is None or any(query.get(name) != value for name, value in route.query):
                continue
            return Match(route, {name: unquote(value) for name, value in found.groupdict().items()})
        return None

    def operations_at(self, raw_path: str) -> list[str]:
        """The operations served at this path with another method (for a clear 404)."""
        return [
            f"{route.method} {route.operation}"
            for routes in self._by_method.values()
            for route in routes
            if route.operation in self.served and route.pattern.match(raw_path)
        ]


ROUTER = Router(ROUTES, OTHER_OPERATIONS)
