"""What each operation's request carries, and where, as botocore's model of the Lambda API says
(`lambda/2015-03-31/service-2.json`, botocore 1.43): path parameters, query string, headers and JSON
body members with their types. requests.py parses a request by this table; routes.py says which path
and method reach which operation.

Every member is named as AWS names it; the service method receives it in snake_case (FunctionName ->
function_name). Nested structures stay as AWS's JSON with AWS's member names, blobs decoded to bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# botocore shape types: "string", "integer", "long", "boolean", "structure", "list", "map", "blob"
MemberType = str


@dataclass(frozen=True)
class OperationInput:
    """The input shape of one operation, by location."""

    uri: dict[str, MemberType] = field(default_factory=dict)  # {Member: type}
    query: dict[str, tuple[str, MemberType]] = field(default_factory=dict)  # {name on the wire: (Member, type)}
    headers: dict[str, str] = field(default_factory=dict)  # {Header-Name: Member}
    body: dict[str, MemberType] = field(default_factory=dict)  # JSON body members {Member: type}
    payload: str | None = None  # the member that is the whole body (Invoke's Payload)
    blobs: tuple[tuple[str, ...], ...] = ()  # paths to base64 blobs inside body structures
    required: tuple[str, ...] = ()  # required members besides the path's


#: CreateEventSourceMapping's and UpdateEventSourceMapping's body members (botocore 1.43)
_MAPPING_MEMBERS: dict[str, MemberType] = {
    "FunctionName": "string", "Enabled": "boolean", "BatchSize": "integer", "FilterCriteria": "structure",
    "MaximumBatchingWindowInSeconds": "integer", "FunctionResponseTypes": "list", "ScalingConfig": "structure",
    "DestinationConfig": "structure", "ParallelizationFactor": "integer", "StartingPosition": "string",
    "StartingPositionTimestamp": "timestamp", "MaximumRecordAgeInSeconds": "integer",
    "BisectBatchOnFunctionError": "boolean", "MaximumRetryAttempts": "integer", "Tags": "map",
    "TumblingWindowInSeconds": "integer", "Topics": "list", "Queues": "list", "SourceAccessConfigurations": "list",
    "SelfManagedEventSource": "structure", "AmazonManagedKafkaEventSourceConfig": "structure",
    "SelfManagedKafkaEventSourceConfig": "structure", "DocumentDBEventSourceConfig": "structure",
    "KMSKeyArn": "string", "MetricsConfig": "structure", "LoggingConfig": "structure",
    "ProvisionedPollerConfig": "structure",
}  # fmt: skip

OPERATIONS: dict[str, OperationInput] = {
    "Invoke": OperationInput(
        uri={"FunctionName": "string"},
        query={"Qualifier": ("Qualifier", "string")},
        headers={
            "X-Amz-Invocation-Type": "InvocationType",
            "X-Amz-Log-Type": "LogType",
            "X-Amz-Client-Context": "ClientContext",
            "X-Amz-Durable-Execution-Name": "DurableExecutionName",
            "X-Amz-Tenant-Id": "TenantId",
        },
        payload="Payload",
    ),
    "GetFunction": OperationInput(uri={"FunctionName": "string"}, query={"Qualifier": ("Qualifier", "string")}),
    "GetFunctionConfiguration": OperationInput(
        uri={"FunctionName": "string"}, query={"Qualifier": ("Qualifier", "string")}
    ),
    "ListFunctions": OperationInput(
        query={
            "MasterRegion": ("MasterRegion", "string"),
            "FunctionVersion": ("FunctionVersion", "string"),
            "Marker": ("Marker", "string"),
            "MaxItems": ("MaxItems", "integer"),
        }
    ),
    "UpdateFunctionConfiguration": OperationInput(
        uri={"FunctionName": "string"},
        body={
            "Role": "string",
            "Handler": "string",
            "Description": "string",
            "Timeout": "integer",
            "MemorySize": "integer",
            "VpcConfig": "structure",
            "Environment": "structure",
            "Runtime": "string",
            "DeadLetterConfig": "structure",
            "KMSKeyArn": "string",
            "TracingConfig": "structure",
            "RevisionId": "string",
            "Layers": "list",
            "FileSystemConfigs": "list",
            "ImageConfig": "structure",
            "EphemeralStorage": "structure",
            "SnapStart": "structure",
            "LoggingConfig": "structure",
            "CapacityProviderConfig": "structure",
            "DurableConfig": "structure",
        },
    ),
    "PublishVersion": OperationInput(
        uri={"FunctionName": "string"},
        body={"CodeSha256": "string", "Description": "string", "RevisionId": "string", "PublishTo": "string"},
    ),
    "ListVersionsByFunction": OperationInput(
        uri={"FunctionName": "string"}, query={"Marker": ("Marker", "string"), "MaxItems": ("MaxItems", "integer")}
    ),
    "CreateAlias": OperationInput(
        uri={"FunctionName": "string"},
        body={"Name": "string", "FunctionVersion": "string", "Description": "string", "RoutingConfig": "structure"},
        required=("Name", "FunctionVersion"),
    ),
    "UpdateAlias": OperationInput(
        uri={"FunctionName": "string", "Name": "string"},
        body={
            "FunctionVersion": "string",
            "Description": "string",
            "RoutingConfig": "structure",
            "RevisionId": "string",
        },
    ),
    "GetAlias": OperationInput(uri={"FunctionName": "string", "Name": "string"}),
    "DeleteAlias": OperationInput(uri={"FunctionName": "string", "Name": "string"}),
    "ListAliases": OperationInput(
        uri={"FunctionName": "string"},
        query={
            "FunctionVersion": ("FunctionVersion", "string"),
            "Marker": ("Marker", "string"),
            "MaxItems": ("MaxItems", "integer"),
        },
    ),
    "PublishLayerVersion": OperationInput(
        uri={"LayerName": "string"},
        body={
            "Description": "string",
            "Content": "structure",
            "CompatibleRuntimes": "list",
            "LicenseInfo": "string",
            "CompatibleArchitectures": "list",
        },
        blobs=(("Content", "ZipFile"),),
        required=("Content",),
    ),
    "GetLayerVersion": OperationInput(uri={"LayerName": "string", "VersionNumber": "long"}),
    "GetLayerVersionByArn": OperationInput(query={"Arn": ("Arn", "string")}, required=("Arn",)),
    "ListLayers": OperationInput(
        query={
            "CompatibleRuntime": ("CompatibleRuntime", "string"),
            "Marker": ("Marker", "string"),
            "MaxItems": ("MaxItems", "integer"),
            "CompatibleArchitecture": ("CompatibleArchitecture", "string"),
        }
    ),
    "ListLayerVersions": OperationInput(
        uri={"LayerName": "string"},
        query={
            "CompatibleRuntime": ("CompatibleRuntime", "string"),
            "Marker": ("Marker", "string"),
            "MaxItems": ("MaxItems", "integer"),
            "CompatibleArchitecture": ("CompatibleArchitecture", "string"),
        },
    ),
    "DeleteLayerVersion": OperationInput(uri={"LayerName": "string", "VersionNumber": "long"}),
    "PutFunctionConcurrency": OperationInput(
        uri={"FunctionName": "string"},
        body={"ReservedConcurrentExecutions": "integer"},
        required=("ReservedConcurrentExecutions",),
    ),
    "GetFunctionConcurrency": OperationInput(uri={"FunctionName": "string"}),
    "DeleteFunctionConcurrency": OperationInput(uri={"FunctionName": "string"}),
    "PutProvisionedConcurrencyConfig": OperationInput(
        uri={"FunctionName": "string"},
        query={"Qualifier": ("Qualifier", "string")},
        body={"ProvisionedConcurrentExecutions": "integer"},
        required=("Qualifier", "ProvisionedConcurrentExecutions"),
    ),
    "GetProvisionedConcurrencyConfig": OperationInput(
        uri={"FunctionName": "string"}, query={"Qualifier": ("Qualifier", "string")}, required=("Qualifier",)
    ),
    "GetAccountSettings": OperationInput(),
    # event source mappings: the members an SQS mapping takes; the others (streams, Kafka, MQ) are parsed so
    # that a call naming one is refused by name
    "CreateEventSourceMapping": OperationInput(body={**_MAPPING_MEMBERS, "EventSourceArn": "string"}),
    "UpdateEventSourceMapping": OperationInput(uri={"UUID": "string"}, body=_MAPPING_MEMBERS),
    "GetEventSourceMapping": OperationInput(uri={"UUID": "string"}),
    "DeleteEventSourceMapping": OperationInput(uri={"UUID": "string"}),
    "ListEventSourceMappings": OperationInput(
        query={
            "EventSourceArn": ("EventSourceArn", "string"),
            "FunctionName": ("FunctionName", "string"),
            "Marker": ("Marker", "string"),
            "MaxItems": ("MaxItems", "integer"),
        }
    ),
}


#: What lies inside the body members lsim reads, by member name (the same name is the same shape in
#: every operation lsim serves): a type name, {"list": inner}, {"map": value type} or {Member: inner} for
#: a structure. botocore's model, cut to these; parse_members refuses a value of another JSON type.
Nested = str | dict[str, "Nested"]
NESTED: dict[str, Nested] = {
    "Environment": {"Variables": {"map": "string"}},
    "EphemeralStorage": {"Size": "integer"},
    "RoutingConfig": {"AdditionalVersionWeights": {"map": "double"}},
    "Content": {"S3Bucket": "string", "S3Key": "string", "S3ObjectVersion": "string", "ZipFile": "blob"},
    "Layers": {"list": "string"},
    "CompatibleRuntimes": {"list": "string"},
    "CompatibleArchitectures": {"list": "string"},
    "FileSystemConfigs": {"list": {"Arn": "string", "LocalMountPath": "string"}},
    "VpcConfig": {
        "SubnetIds": {"list": "string"},
        "SecurityGroupIds": {"list": "string"},
        "Ipv6AllowedForDualStack": "boolean",
    },
    "DeadLetterConfig": {"TargetArn": "string"},
    "TracingConfig": {"Mode": "string"},
    "ImageConfig": {"EntryPoint": {"list": "string"}, "Command": {"list": "string"}, "WorkingDirectory": "string"},
    "SnapStart": {"ApplyOn": "string"},
    "FilterCriteria": {"Filters": {"list": {"Pattern": "string"}}},
    "FunctionResponseTypes": {"list": "string"},
    "ScalingConfig": {"MaximumConcurrency": "integer"},
    "LoggingConfig": {
        "LogFormat": "string",
        "ApplicationLogLevel": "string",
        "SystemLogLevel": "string",
        "LogGroup": "string",
    },
}
