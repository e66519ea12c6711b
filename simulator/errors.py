"""Every error lsim raises, named as AWS names it where AWS has a name.

    LsimError                         anything lsim refuses; the message names the problem and the fix
    ├── LambdaError                   an error of the Lambda API: AWS's type name and HTTP status
    │   ├── ResourceNotFoundException           404  unknown function, version, alias or layer
    │   ├── InvalidParameterValueException      400  a value outside AWS's rules
    │   ├── InvalidRequestContentException      400  an event that is not JSON
    │   ├── RequestTooLargeException            413  a payload over the invocation limit
    │   ├── ValidationException                 400  a member breaks the model's pattern (Layers)
    │   ├── SerializationException              400  a JSON member of the wrong type
    │   ├── AccessDeniedException               403  an ARN of another account
    │   ├── UnsupportedMediaTypeException       415
    │   ├── ResourceConflictException           409  e.g. the function is still Pending
    │   ├── PreconditionFailedException         412
    │   ├── ProvisionedConcurrencyConfigNotFoundException  404
    │   ├── TooManyRequestsException            429  a throttle, with its Reason
    │   ├── UnknownOperationException           404  a route or operation lsim's API does not serve
    │   ├── SubnetIPAddressLimitReachedException  502  a VPC function's subnet has no free address
    │   ├── ENILimitReachedException              502  the VPC's network interface quota is used up
    │   ├── InvalidSubnetIDException              502  a VPC function names an unknown subnet
    │   ├── InvalidSecurityGroupIDException       502  ... or an unknown security group
    │   └── ServiceException                    500  lsim itself failed
    ├── ProjectFileError              lsim.toml is missing or invalid
    ├── DockerUnavailableError        no Docker engine answers
    ├── PortInUseError                `lsim serve` cannot bind its port
    ├── RuntimeUnavailableError       a runtime image cannot be built on this machine
    └── VpcUnavailableError           a VPC function on a backend that has no networks (process)

The domain raises these; each face (CLI, HTTP API, fixture) translates them into its own wire format.
"""

from __future__ import annotations


class LsimError(Exception):
    """Base of every error a user can cause or meet."""


class LambdaError(LsimError):
    """An error of the Lambda API. `type` is AWS's error name, `status` its HTTP status."""

    type: str = "ServiceException"
    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ResourceNotFoundException(LambdaError):
    type = "ResourceNotFoundException"
    status = 404


class InvalidParameterValueException(LambdaError):
    type = "InvalidParameterValueException"
    status = 400


class InvalidRequestContentException(LambdaError):
    type = "InvalidRequestContentException"
    status = 400


class RequestTooLargeException(LambdaError):
    type = "RequestTooLargeException"
    status = 413


class ValidationException(LambdaError):
    """A member that breaks the API model's constraints (pattern, length) where Lambda's front end checks
    them itself, e.g. `Layers` of UpdateFunctionConfiguration (AWS answers this type there, not
    InvalidParameterValueException)."""

    type = "ValidationException"
    status = 400


class SerializationException(LambdaError):
    """A JSON member of the wrong type (a string where the model has a map, a number where it has a
    string): rest-json's deserializer refuses it with 400 before the operation runs."""

    type = "SerializationException"
    status = 400


class AccessDeniedException(LambdaError):
    """A resource of another account, which no resource-based policy shares with the caller."""

    type = "AccessDeniedException"
    status = 403


class UnsupportedMediaTypeException(LambdaError):
    type = "UnsupportedMediaTypeException"
    status = 415


class ResourceConflictException(LambdaError):
    type = "ResourceConflictException"
    status = 409


class PreconditionFailedException(LambdaError):
    type = "PreconditionFailedException"
    status = 412


class ProvisionedConcurrencyConfigNotFoundException(LambdaError):
    type = "ProvisionedConcurrencyConfigNotFoundException"
    status = 404


class ServiceException(LambdaError):
    type = "ServiceException"
    status = 500


class TooManyRequestsException(LambdaError):
    """A throttle. `reason` is one of AWS's ThrottleReason values."""

    type = "TooManyRequestsException"
    status = 429

    def __init__(self, reason: str, retry_after_seconds: int = 1) -> None:
        super().__init__("Rate Exceeded.")
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds


class UnknownOperationException(LambdaError):
    """A request for a route or an operation the API does not serve: AWS's restJson1 servers answer
    404 with `X-Amzn-ErrorType: UnknownOperationException` (smithy-rs, aws-smithy-http-server
    `protocol/rest_json_1/router.rs`)."""

    type = "UnknownOperationException"
    status = 404


# -- VPC: Invoke answers these with 502 while the function is Failed (botocore's model)
class SubnetIPAddressLimitReachedException(LambdaError):
    type = "SubnetIPAddressLimitReachedException"
    status = 502


class ENILimitReachedException(LambdaError):
    type = "ENILimitReachedException"
    status = 502


class InvalidSubnetIDException(LambdaError):
    type = "InvalidSubnetIDException"
    status = 502


class InvalidSecurityGroupIDException(LambdaError):
    type = "InvalidSecurityGroupIDException"
    status = 502


class ProjectFileError(LsimError):
    """The project file is missing or breaks AWS's rules; the message names file, field and fix."""


class DockerUnavailableError(LsimError):
    """No Docker engine answered."""


class PortInUseError(LsimError):
    """The address `lsim serve` should listen on is taken; the message names it and the fix."""


class RuntimeUnavailableError(LsimError):
    """A runtime's image cannot be had on this machine (e.g. python3.12 with no registry)."""


class VpcUnavailableError(LsimError):
    """A function attached to a VPC on a backend that cannot give it one (--backend process)."""
