"""Every error lsim raises, named as AWS names it where AWS has a name.

    LsimError                         anything lsim refuses; the message names the problem and the fix
    ├── LambdaError                   an error of the Lambda API: AWS's type name and HTTP status
    │   ├── ResourceNotFoundException           404  unknown function, version, alias or layer
    │   ├── InvalidParameterValueException      400  a value outside AWS's rules
    │   ├── InvalidRequestContentException      400  an event that is not JSON
    │   ├── RequestTooLargeException            413  a payload over the invocation limit
    │   ├── UnsupportedMediaTypeException       415
    │   ├── ResourceConflictException           409  e.g. the function is still Pending
    │   ├── PreconditionFailedException         412
    │   ├── TooManyRequestsException            429  a throttle, with its Reason
    │   └── ServiceException                    500  lsim itself failed
    ├── ProjectFileError              lsim.toml is missing or invalid
    ├── DockerUnavailableError        no Docker engine answers
    └── RuntimeUnavailableError       a runtime image cannot be built on this machine

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

    @classmethod
    def named(cls) -> str:
        return cls.__name__


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


class UnsupportedMediaTypeException(LambdaError):
    type = "UnsupportedMediaTypeException"
    status = 415


class ResourceConflictException(LambdaError):
    type = "ResourceConflictException"
    status = 409


class PreconditionFailedException(LambdaError):
    type = "PreconditionFailedException"
    status = 412


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


class ProjectFileError(LsimError):
    """The project file is missing or breaks AWS's rules; the message names file, field and fix."""


class DockerUnavailableError(LsimError):
    """No Docker engine answered."""


class RuntimeUnavailableError(LsimError):
    """A runtime's image cannot be had on this machine (e.g. python3.12 with no registry)."""
