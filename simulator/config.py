"""The project's functions and settings as pydantic models, validated against Lambda's rules.

Every default is AWS's default and every limit lives in `Limits`, which a project file may override for
what-if runs (`[limits]` in lsim.toml). Nothing here knows about Docker, HTTP or the command line.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .execution_role import ExecutionRole, default_role, missing_eni_permission
from .gateway.models import ApiDeclaration, FunctionUrlConfig, HttpEvent
from .logging_config import LoggingConfig
from .mappings.declarations import SqsEventSource
from .queues.declarations import QueueDeclaration
from .tenancy import TenancyConfig
from .vpc import FunctionVpcConfig, VpcConfig

# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
MB = 1024 * 1024


class Limits(BaseModel):
    """Lambda's quotas. Defaults are AWS's; each one can be changed in `[limits]` of lsim.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_min_mb: int = 128
    memory_max_mb: int = 10240
    timeout_max_s: int = 900
    ephemeral_storage_min_mb: int = 512
    ephemeral_storage_max_mb: int = 10240
    environment_max_bytes: int = 4096
    layers_per_function: int = 5
    sync_payload_bytes: int = 6 * MB
    async_payload_bytes: int = 1 * MB
    #: 1,769 MB of memory buys one vCPU; https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
    memory_per_vcpu_mb: int = 1769
    init_timeout_s: float = 10.0
    #: how long an idle execution environment stays warm before lsim stops it (AWS does not publish this)
    idle_timeout_s: float = 600.0
    # -- concurrency and scaling: https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
    #: the account's concurrency quota per Region, shared by every function
    concurrent_executions: int = Field(default=1000, ge=1)
    #: reserved concurrency must leave at least this much unreserved
    unreserved_concurrency_min: int = Field(default=100, ge=0)
    #: "function": each function adds `scaling_environments` every `scaling_window_s` (AWS since Nov 2023,
    #: https://docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html); "burst": the older account-wide
    #: initial burst (`burst_concurrency`) then `burst_increase_per_minute`
    scaling_model: Literal["function", "burst"] = "function"
    scaling_environments: int = Field(default=1000, ge=1)
    scaling_window_s: float = Field(default=10.0, gt=0)
    #: the legacy initial burst; None = AWS's figure for the Region (3000, 1000 or 500)
    burst_concurrency: int | None = Field(default=None, ge=1)
    burst_increase_per_minute: int = Field(default=500, ge=1)
    #: synchronous requests per second are capped at this many times the concurrency
    requests_per_concurrency: float = Field(default=10.0, gt=0)
    # -- asynchronous invocation: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
    #: waits before the retries of an event whose function failed (AWS: about 1 and 2 minutes)
    async_retry_delays_s: tuple[float, ...] = (60.0, 120.0)
    #: a throttled or system-failed event is retried after 1 s, doubling up to 5 minutes
    async_backoff_initial_s: float = Field(default=1.0, gt=0)
    async_backoff_max_s: float = Field(default=300.0, gt=0)
    # -- VPC: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    #: elastic network interfaces per VPC: Lambda's Hyperplane ENIs and the resources' interfaces
    enis_per_vpc: int = Field(default=500, ge=1)
    #: how long creating a Hyperplane ENI keeps its functions Pending, on top of the real time it takes
    #: (AWS publishes no figure; reports say about 90 s, so 0 keeps local runs fast: set 90 to feel it)
    eni_creation_delay_s: float = Field(default=0.0, ge=0)
    #: added to each cold start of a function in a VPC, before its init: the pre-2019 ENI attachment cost
    #: (AWS: Hyperplane made it negligible, hence 0; set it to 10000 for the old VPC cold start)
    vpc_cold_start_ms: float = Field(default=0.0, ge=0)
    # -- event source mappings: https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
    #: filters per event source mapping (AWS: 5 by default, raised to 10 on request)
    event_source_mapping_filters: int = Field(default=5, ge=1)


# Environment variables Lambda sets itself and refuses from the user.
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
RESERVED_ENVIRONMENT_KEYS = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_EXECUTION_ENV", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    }
)  # fmt: skip
ENVIRONMENT_KEY = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")  # botocore: EnvironmentVariableName
FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
HANDLER = re.compile(r"[^\s]{1,128}")
Architecture = Literal["x86_64", "arm64"]
#: the runtimes lsim can run; the others Lambda knows (nodejs, java...) are refused by name
#: (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html, supported runtimes)
RUNTIMES = ("python3.10", "python3.11", "python3.12", "python3.13", "python3.14", "provided.al2023", "provided.al2")


def _limits(info: ValidationInfo) -> Limits:
    return (info.context or {}).get("limits") or Limits()


def check_environment(variables: dict[str, str], limits: Limits) -> None:
    """Apply Lambda's rules to environment variables; raise ValueError in AWS's words."""
    reserved = sorted(k for k in variables if k in RESERVED_ENVIRONMENT_KEYS)
    if reserved:
        raise ValueError(
            "Lambda was unable to configure your environment variables because the environment variables "
            "you have provided contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {','.join(reserved)}"
        )
    for key in variables:
        if not ENVIRONMENT_KEY.fullmatch(key):
            raise ValueError(
                f"environment variable name {key!r} is invalid: names start with a letter, have at least "
                "2 characters and use only letters, digits and '_'"
            )
    size = len(json.dumps(variables, separators=(",", ":")).encode())
    if size > limits.environment_max_bytes:
        raise ValueError(
            "Lambda was unable to configure your environment variables because the environment variables "
            f"you have provided exceeded the 4KB limit. String measured: {size} bytes "
            f"(limit {limits.environment_max_bytes}); move large values to a file or a secrets store"
        )


class FunctionConfig(BaseModel):
    """One `[functions.NAME]` table: a zip function (handler, runtime, code) or an image function."""

    model_config = ConfigDict(extra="forbid")

    name: str
    handler: str | None = None
    runtime: str | None = None
    code: Path | None = None
    image: str | None = None
    #: the `docker build` command that makes `image` (from a SAM template's Metadata), named in the error when
    #: the image is missing; not part of the function's configuration on AWS
    image_build: str | None = Field(default=None, exclude=True)
    memory_size: int = 128
    timeout: int = 3
    ephemeral_storage: int = 512
    architecture: Architecture = "x86_64"
    layers: list[str] = Field(default_factory=list)
    environment: dict[str, str] = Field(default_factory=dict)
    description: str = ""
    #: SAM's AutoPublishAlias: when a simulator starts, $LATEST is published (a new version only if it
    #: changed) and this alias is pointed at it
    auto_publish_alias: str | None = None
    # -- concurrency and asynchronous invocation
    reserved_concurrency: int | None = None  # PutFunctionConcurrency: the function's floor and ceiling
    provisioned_concurrency: dict[str, int] = Field(default_factory=dict)  # qualifier -> environments
    maximum_event_age_in_seconds: int = 21600  # PutFunctionEventInvokeConfig: 60-21600 (6 h)
    maximum_retry_attempts: int = 2  # 0-2
    on_failure: str | None = None  # a destination ARN (kept locally), or a function of this project
    vpc: FunctionVpcConfig | None = None  # VpcConfig: subnets and security groups (vpc/)
    #: LoggingConfig: log format, levels, log group (logging_config.py)
    logging_config: LoggingConfig = Field(default_factory=LoggingConfig)
    #: the execution role (execution_role.py): an ARN, or its ARN and policies; None is the default role
    role: ExecutionRole | None = None
    #: TenancyConfig (tenancy.py): set when the function is created, never changed
    tenancy_config: TenancyConfig | None = None
    #: event source mappings from SQS queues (mappings/declarations.py), by the declaration's name; not part
    #: of the function's configuration on AWS (a mapping is a resource of its own), hence excluded
    events: dict[str, SqsEventSource] = Field(default_factory=dict, exclude=True)
    #: API Gateway routes to this function (gateway/models.py): `[functions.F.events.NAME]` with type "api" or
    #: "httpapi" land here; like mappings, they are resources of their own on AWS
    http_events: dict[str, HttpEvent] = Field(default_factory=dict, exclude=True)
    #: FunctionUrlConfig: the function's own URL (gateway/models.py)
    url: FunctionUrlConfig | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _split_events(cls, data: Any) -> Any:
        """`[functions.F.events.NAME]` holds SQS mappings and API routes alike, as SAM's Events does."""
        if not isinstance(data, dict) or not isinstance(data.get("events"), dict):
            return data
        http = {name: event for name, event in data["events"].items()
                if isinstance(event, dict) and str(event.get("type", "")).lower() in ("api", "httpapi")}  # fmt: skip
        if not http:
            return data
        rest = {name: event for name, event in data["events"].items() if name not in http}
        return {**data, "events": rest, "http_events": {**data.get("http_events", {}), **http}}

    @field_validator("role", mode="before")
    @classmethod
    def _role(cls, value: Any) -> Any:
        return {"arn": value} if isinstance(value, str) else value

    @field_validator("reserved_concurrency")
    @classmethod
    def _reserved(cls, value: int | None, info: ValidationInfo) -> int | None:
        limits = _limits(info)
        most = limits.concurrent_executions - limits.unreserved_concurrency_min
        if value is not None and not 0 <= value <= most:
            raise ValueError(
                f"{value} is out of range: reserve 0-{most} (the account's {limits.concurrent_executions} "
                f"minus the {limits.unreserved_concurrency_min} Lambda keeps unreserved)"
            )
        return value

    @field_validator("provisioned_concurrency")
    @classmethod
    def _provisioned(cls, value: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        if "$LATEST" in value:
            # the error PutProvisionedConcurrencyConfig gives for $LATEST
            raise ValueError(
                "Provisioned Concurrency Configs cannot be applied to unpublished function versions: "
                "give a published version or an alias instead of $LATEST"
            )
        if any(count < 1 for count in value.values()):
            raise ValueError("ProvisionedConcurrentExecutions must be at least 1")
        reserved = info.data.get("reserved_concurrency")
        if reserved is not None and sum(value.values()) > reserved:
            raise ValueError(
                f"{sum(value.values())} provisioned environments exceed the function's reserved concurrency "
                f"of {reserved}: provision at most the reserved amount, or reserve more"
            )
        return value

    @field_validator("maximum_event_age_in_seconds")
    @classmethod
    def _event_age(cls, value: int) -> int:
        if not 60 <= value <= 21600:
            raise ValueError(f"{value} is out of range: MaximumEventAgeInSeconds is 60-21600 seconds")
        return value

    @field_validator("maximum_retry_attempts")
    @classmethod
    def _retry_attempts(cls, value: int) -> int:
        if not 0 <= value <= 2:
            raise ValueError(f"{value} is out of range: MaximumRetryAttempts is 0-2")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not FUNCTION_NAME.fullmatch(value):
            raise ValueError("a function name is 1-64 characters of letters, digits, '-' and '_'")
        return value

    @field_validator("handler")
    @classmethod
    def _handler(cls, value: str | None) -> str | None:
        if value is not None and not HANDLER.fullmatch(value):
            raise ValueError("a handler is 1-128 characters with no spaces, like 'app.handler'")
        return value

    @field_validator("runtime")
    @classmethod
    def _runtime(cls, value: str | None) -> str | None:
        if value is not None and value not in RUNTIMES:
            raise ValueError(f"runtime {value!r} is not one lsim runs: choose one of {', '.join(RUNTIMES)}")
        return value

    @field_validator("memory_size")
    @classmethod
    def _memory(cls, value: int, info: ValidationInfo) -> int:
        limits = _limits(info)
        if not limits.memory_min_mb <= value <= limits.memory_max_mb:
            raise ValueError(
                f"{value} MB is out of range: Lambda allows {limits.memory_min_mb}-{limits.memory_max_mb} MB "
                "in 1 MB steps"
            )
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: int, info: ValidationInfo) -> int:
        limits = _limits(info)
        if not 1 <= value <= limits.timeout_max_s:
            raise ValueError(f"{value} s is out of range: Lambda allows 1-{limits.timeout_max_s} seconds")
        return value

    @field_validator("ephemeral_storage")
    @classmethod
    def _ephemeral(cls, value: int, info: ValidationInfo) -> int:
        limits = _limits(info)
        low, high = limits.ephemeral_storage_min_mb, limits.ephemeral_storage_max_mb
        if not low <= value <= high:
            raise ValueError(f"{value} MB is out of range: Lambda allows {low}-{high} MB of /tmp")
        return value

    @field_validator("environment", mode="before")
    @classmethod
    def _environment(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, dict):
            value = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
            check_environment(value, _limits(info))
        return value

    @field_validator("layers")
    @classmethod
    def _layers(cls, value: list[str], info: ValidationInfo) -> list[str]:
        limit = _limits(info).layers_per_function
        if len(value) > limit:
            raise ValueError(f"{len(value)} layers given: a function can use at most {limit} layers")
        return value

    @model_validator(mode="after")
    def _vpc_role(self) -> FunctionConfig:
        if self.vpc is not None and self.role is not None and (problem := missing_eni_permission(self.role)):
            raise ValueError(problem)
        if self.tenancy_config is not None and self.provisioned_concurrency:
            raise ValueError(
                "a tenant-isolated function (TenancyConfig) cannot have provisioned concurrency: Lambda does not "
                "support them together"
            )
        return self

    @model_validator(mode="after")
    def _package(self) -> FunctionConfig:
        if self.image:
            if self.handler or self.code:
                raise ValueError("an image function takes 'image' only: remove 'handler' and 'code'")
            return self
        missing = [k for k in ("handler", "runtime", "code") if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a zip function needs {', '.join(missing)} (or give 'image' instead)")
        return self

    @property
    def package_type(self) -> Literal["Zip", "Image"]:
        return "Image" if self.image else "Zip"


class Settings(BaseModel):
    """`[settings]`: where this simulated account lives."""

    model_config = ConfigDict(extra="forbid")

    region: str = "us-east-1"
    account_id: str = Field(default="123456789012", pattern=r"^\d{12}$")
    #: a dotenv file of secrets; an environment value `secret:NAME` refers to one (see secrets.py)
    secrets_file: Path | None = None
    #: the AWS credentials a function gets (credentials.py): "local" ones lsim makes for its role, or the
    #: "developer"'s own (AWS_PROFILE / `profile`, ~/.aws, the shell's AWS_* variables), as `sam local` passes
    credentials: Literal["local", "developer"] = "local"
    #: with credentials = "developer": the profile of ~/.aws/credentials and ~/.aws/config to take them from
    profile: str | None = None


class ProjectConfig(BaseModel):
    """A whole lsim.toml: settings, limits and functions. `root` is the folder paths are relative to."""

    model_config = ConfigDict(extra="forbid")

    root: Path
    settings: Settings = Field(default_factory=Settings)
    limits: Limits = Field(default_factory=Limits)
    functions: dict[str, FunctionConfig] = Field(default_factory=dict)
    vpcs: dict[str, VpcConfig] = Field(default_factory=dict)  # [vpcs.NAME] (vpc/)
    queues: dict[str, QueueDeclaration] = Field(default_factory=dict)  # [queues.NAME] (queues/declarations.py)
    apis: dict[str, ApiDeclaration] = Field(default_factory=dict)  # [apis.NAME] (gateway/models.py)
    #: other names that find a function, as `sam local` finds it: a template's logical ID when FunctionName
    #: names the function, a nested application's path (SubApp/FunctionA), a CDK construct's id; each -> the
    #: names of the functions it finds (more than one: the name is ambiguous, and lookup says so)
    function_ids: dict[str, list[str]] = Field(default_factory=dict)

    def role_of(self, function: FunctionConfig) -> ExecutionRole:
        """The function's execution role, with an ARN: its own, or the default one Lambda's console makes."""
        default = default_role(function.name, self.settings.account_id, function.vpc is not None)
        if function.role is None:
            return default
        return function.role if function.role.arn else function.role.model_copy(update={"arn": default.arn})

    def known_role(self, arn: str) -> ExecutionRole:
        """The role with this ARN as the project describes it (its policies), or an ARN lsim cannot see into."""
        for function in self.functions.values():
            role = self.role_of(function)
            if role.arn == arn:
                return role
        return ExecutionRole(arn=arn)

    def function_arn(self, name: str, qualifier: str | None = None) -> str:
        arn = f"arn:aws:lambda:{self.settings.region}:{self.settings.account_id}:function:{name}"
        return f"{arn}:{qualifier}" if qualifier else arn
