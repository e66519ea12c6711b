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
RUNTIMES = ("python3.11", "python3.12", "python3.13", "provided.al2023", "provided.al2")


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
    memory_size: int = 128
    timeout: int = 3
    ephemeral_storage: int = 512
    architecture: Architecture = "x86_64"
    layers: list[str] = Field(default_factory=list)
    environment: dict[str, str] = Field(default_factory=dict)
    description: str = ""

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


class ProjectConfig(BaseModel):
    """A whole lsim.toml: settings, limits and functions. `root` is the folder paths are relative to."""

    model_config = ConfigDict(extra="forbid")

    root: Path
    settings: Settings = Field(default_factory=Settings)
    limits: Limits = Field(default_factory=Limits)
    functions: dict[str, FunctionConfig] = Field(default_factory=dict)

    def function_arn(self, name: str, qualifier: str | None = None) -> str:
        arn = f"arn:aws:lambda:{self.settings.region}:{self.settings.account_id}:function:{name}"
        return f"{arn}:{qualifier}" if qualifier else arn
