"""Tenant isolation: a function created with TenancyConfig {TenantIsolationMode: PER_TENANT} runs each
tenant's invocations in execution environments of that tenant alone, never shared with another tenant.

The tenant is the Invoke request's TenantId (header X-Amz-Tenant-Id), required for such a function and
refused for any other; the runtime hears it in `lambda-runtime-aws-tenant-id` (context.tenant_id). Lambda
keeps at most 2,500 tenant environments (active or idle) for every 1,000 concurrent executions of the
function, and answers TooManyRequestsException "Rate exceeded" beyond.
https://docs.aws.amazon.com/lambda/latest/dg/tenant-isolation.html,
https://docs.aws.amazon.com/lambda/latest/dg/tenant-isolation-troubleshooting.html
"""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .errors import InvalidParameterValueException, TooManyRequestsException

#: botocore's TenantId: 1-256 characters of these
TENANT_ID = re.compile(r"[a-zA-Z0-9\._:\/=+\-@ ]{1,256}")
#: joins a version and a tenant into the key of the tenant's environments on the warm book; not a character
#: a TenantId may hold, so no tenant's key is another's
TENANT_SEPARATOR = "#"
#: tenant environments Lambda allows per 1,000 concurrent executions of the function
ENVIRONMENTS_PER_1000_CONCURRENCY = 2500
#: the troubleshooting page's words for both InvalidParameterValueException cases
TENANT_ID_MISMATCH = (
    "Tenant ID configuration not specified or passed to a function when tenant isolation is not enabled."
)
RATE_EXCEEDED = "Rate exceeded"


class TenancyConfig(BaseModel):
    """`tenancy_config = {tenant_isolation_mode = "PER_TENANT"}` (a template's TenancyConfig); set at
    creation only (UpdateFunctionConfiguration has no such member)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant_isolation_mode: Literal["PER_TENANT"] = Field(default="PER_TENANT")


def check_tenant(isolated: bool, tenant_id: str | None) -> None:
    """Invoke's rule: a TenantId for a tenant-isolated function, none for the others."""
    if tenant_id is not None and not TENANT_ID.fullmatch(tenant_id):
        raise InvalidParameterValueException(
            f"TenantId {tenant_id!r} is invalid: 1-256 characters of letters, digits, spaces and . _ : / = + - @"
        )
    if isolated != (tenant_id is not None):
        raise InvalidParameterValueException(TENANT_ID_MISMATCH)


def environments_key(version: str, tenant_id: str | None) -> str:
    """Where a version's idle environments wait on the warm book: per tenant for an isolated function."""
    return version if tenant_id is None else f"{version}{TENANT_SEPARATOR}{tenant_id}"


def of_version(key: str, version: str | None) -> bool:
    """Whether a warm-book key belongs to `version` (any tenant's); None matches every version."""
    return version is None or key == version or key.startswith(version + TENANT_SEPARATOR)


def environment_limit(concurrency: int) -> int:
    """How many tenant environments a function with this much concurrency may have."""
    return max(1, math.floor(concurrency * ENVIRONMENTS_PER_1000_CONCURRENCY / 1000))


def too_many_environments() -> TooManyRequestsException:
    """Over the tenant-environment limit: Lambda's 429 "Rate exceeded" (its Reason is not documented; lsim
    gives the account-limit one)."""
    error = TooManyRequestsException("ConcurrentInvocationLimitExceeded")
    error.args = (RATE_EXCEEDED,)
    error.message = RATE_EXCEEDED
    return error
