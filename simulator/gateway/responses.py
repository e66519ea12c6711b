"""Every answer lsim gives in API Gateway's or a function URL's own name, in one place: status, body bytes,
Content-Type, x-amzn-ErrorType and the request-id headers of each kind of front door.

The bytes are AWS's, spacing included: API Gateway's gateway responses are compact JSON
(`{"message":"Missing Authentication Token"}`), but the integration failures of a Lambda proxy carry a
space (`{"message": "Internal server error"}`, 36 bytes; `{"message": "Endpoint request timed out"}`,
41 bytes), as raw captures of AWS answers show. Sources, by the keys in gateway/__init__.py:

- REST: AGD supported-gateway-response-types (statuses), DG23 services-apigateway (500 for a rejected
  invoke, 502 for a function error or malformed answer), LSAC test_routing_not_found (Missing
  Authentication Token for an unknown path and a wrong method), captured AWS answers: 502 and 500 with
  `x-amzn-ErrorType: InternalServerErrorException` and Content-Length 36 (2020, 2022, 2023), 504 with
  Content-Length 41 and the same error type (2025), 401/403 authorizer answers (§3.1), 413 with the text
  `HTTP content length exceeded 10485760 bytes.` (several projects' tests assert it with a text type).
- HTTP APIs: AGD23 http-api-develop-routes (Not Found), http-api-troubleshooting-lambda (Internal Server
  Error, capital S); timeout 503 Service Unavailable (users' reports; a KC says 504: unverified).
- Function URLs: LST test_lambda_url_invocation_exception (502, plain `Internal Server Error`),
  test_lambda_url_non_existing_url (403 `{"Message":null}`), LSL test_lambda_permission_url_invocation
  (403 Forbidden with the troubleshooting link), DG23 urls-configuration (429 when throttled).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Literal

from .request import GatewayAnswer

Kind = Literal["rest", "http", "url"]
GatewayErrorName = Literal[
    "MISSING_AUTHENTICATION_TOKEN",
    "NOT_FOUND",
    "INTEGRATION_TIMEOUT",
    "THROTTLED",  # API Gateway's own throttle (stage, route or account limits)
    "LAMBDA_THROTTLED",  # Lambda refused the invoke with 429
    "LAMBDA_REJECTED",  # any other refusal of the invoke, e.g. an event over 6 MB
    "FUNCTION_ERROR",
    "MALFORMED_ANSWER",
    "REQUEST_TOO_LARGE",
    "UNAUTHORIZED",
    "ACCESS_DENIED",  # an authorizer's explicit Deny
    "NOT_AUTHORIZED",  # no Allow matched (implicit deny)
    "FORBIDDEN",  # an HTTP API simple response {"isAuthorized": false}
    "AUTHORIZER_CONFIGURATION_ERROR",
    "URL_FORBIDDEN",  # AWS_IAM function URL: missing or bad SigV4
    "URL_NOT_FOUND",
]

JSON = "application/json"
#: the type of the plain-text answers; AWS's exact value is unverified (a text type is all that is known)
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class _Error:
    status: int
    body: bytes
    content_type: str = JSON
    error_type: str | None = None  # x-amzn-ErrorType


_INTERNAL_SPACED = b'{"message": "Internal server error"}'  # 36 bytes, as captured
_TOO_LARGE_TEXT = b"HTTP content length exceeded 10485760 bytes."

_REST: dict[str, _Error] = {
    "MISSING_AUTHENTICATION_TOKEN": _Error(
        403, b'{"message":"Missing Authentication Token"}', error_type="MissingAuthenticationTokenException"
    ),
    "INTEGRATION_TIMEOUT": _Error(
        504, b'{"message": "Endpoint request timed out"}', error_type="InternalServerErrorException"
    ),
    # the default body of THROTTLED: the header is captured, the body only reported (near-certain)
    "THROTTLED": _Error(429, b'{"message":"Too Many Requests"}', error_type="TooManyRequestsException"),
    "LAMBDA_THROTTLED": _Error(500, _INTERNAL_SPACED, error_type="InternalServerErrorException"),
    "LAMBDA_REJECTED": _Error(500, _INTERNAL_SPACED, error_type="InternalServerErrorException"),
    "FUNCTION_ERROR": _Error(502, _INTERNAL_SPACED, error_type="InternalServerErrorException"),
    "MALFORMED_ANSWER": _Error(502, _INTERNAL_SPACED, error_type="InternalServerErrorException"),
    # answered before any gateway response applies: plain text, no error type (the type's value unverified)
    "REQUEST_TOO_LARGE": _Error(413, _TOO_LARGE_TEXT, content_type=TEXT),
    "UNAUTHORIZED": _Error(401, b'{"message":"Unauthorized"}', error_type="UnauthorizedException"),
    "ACCESS_DENIED": _Error(
        403,
        b'{"Message":"User is not authorized to access this resource with an explicit deny"}',
        error_type="AccessDeniedException",
    ),
    "NOT_AUTHORIZED": _Error(
        403, b'{"Message":"User is not authorized to access this resource"}', error_type="AccessDeniedException"
    ),
    "AUTHORIZER_CONFIGURATION_ERROR": _Error(500, b'{"message":null}', error_type="AuthorizerConfigurationException"),
}
# REST has no 404 for routes: an unknown path and a wrong method both get Missing Authentication Token
_REST["NOT_FOUND"] = _REST["URL_NOT_FOUND"] = _REST["MISSING_AUTHENTICATION_TOKEN"]
_REST["FORBIDDEN"] = _REST["URL_FORBIDDEN"] = _REST["NOT_AUTHORIZED"]

# HTTP APIs send no x-amzn-ErrorType (none seen in captured answers; unverified)
_HTTP_INTERNAL = _Error(500, b'{"message":"Internal Server Error"}')
_HTTP_FORBIDDEN = _Error(403, b'{"message":"Forbidden"}')  # body unverified
_HTTP_NOT_FOUND = _Error(404, b'{"message":"Not Found"}')
_HTTP: dict[str, _Error] = {
    "MISSING_AUTHENTICATION_TOKEN": _HTTP_NOT_FOUND,
    "NOT_FOUND": _HTTP_NOT_FOUND,
    "URL_NOT_FOUND": _HTTP_NOT_FOUND,
    "INTEGRATION_TIMEOUT": _Error(503, b'{"message":"Service Unavailable"}'),  # users' reports; unverified
    "THROTTLED": _Error(429, b'{"message":"Too Many Requests"}'),  # body unverified
    "LAMBDA_THROTTLED": _HTTP_INTERNAL,  # unverified: only function URLs pass Lambda's 429 through
    "LAMBDA_REJECTED": _HTTP_INTERNAL,
    "FUNCTION_ERROR": _HTTP_INTERNAL,
    "MALFORMED_ANSWER": _HTTP_INTERNAL,
    "AUTHORIZER_CONFIGURATION_ERROR": _HTTP_INTERNAL,  # AGD23 http-api-lambda-authorizer "Troubleshooting"
    "REQUEST_TOO_LARGE": _Error(413, _TOO_LARGE_TEXT, content_type=TEXT),  # as REST's (unverified for HTTP)
    "UNAUTHORIZED": _Error(401, b'{"message":"Unauthorized"}'),  # body unverified
    "ACCESS_DENIED": _HTTP_FORBIDDEN,
    "NOT_AUTHORIZED": _HTTP_FORBIDDEN,
    "FORBIDDEN": _HTTP_FORBIDDEN,
    "URL_FORBIDDEN": _HTTP_FORBIDDEN,
}

_URL_INTERNAL = _Error(502, b"Internal Server Error", content_type=TEXT)
_URL_FORBIDDEN = _Error(
    403,
    b'{"Message":"Forbidden. For troubleshooting Function URL authorization issues, see: '
    b'https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}',
    error_type="AccessDeniedException",
)
_URL_NOT_FOUND = _Error(403, b'{"Message":null}', error_type="AccessDeniedException")
_URL_THROTTLED = _Error(429, b'{"Message":"Rate Exceeded."}', error_type="TooManyRequestsException")  # body unverified
_URL: dict[str, _Error] = {
    "MISSING_AUTHENTICATION_TOKEN": _URL_NOT_FOUND,
    "NOT_FOUND": _URL_NOT_FOUND,
    "URL_NOT_FOUND": _URL_NOT_FOUND,
    # a function URL has no integration timeout of its own: the function's timeout is a function error
    "INTEGRATION_TIMEOUT": _URL_INTERNAL,
    "THROTTLED": _URL_THROTTLED,
    "LAMBDA_THROTTLED": _URL_THROTTLED,
    "LAMBDA_REJECTED": _URL_INTERNAL,
    "FUNCTION_ERROR": _URL_INTERNAL,
    "MALFORMED_ANSWER": _URL_INTERNAL,
    "AUTHORIZER_CONFIGURATION_ERROR": _URL_INTERNAL,
    # BUFFERED URLs take 6 MB; the answer is unverified: Lambda's own RequestTooLargeException message
    "REQUEST_TOO_LARGE": _Error(
        413,
        b'{"Message":"Request must be smaller than 6291456 bytes for the InvokeFunction operation"}',
        error_type="RequestTooLargeException",
    ),
    "UNAUTHORIZED": _URL_FORBIDDEN,
    "ACCESS_DENIED": _URL_FORBIDDEN,
    "NOT_AUTHORIZED": _URL_FORBIDDEN,
    "FORBIDDEN": _URL_FORBIDDEN,
    "URL_FORBIDDEN": _URL_FORBIDDEN,
}

_TABLES: dict[str, dict[str, _Error]] = {"rest": _REST, "http": _HTTP, "url": _URL}


def apigw_id(request_id: str) -> str:
    """API Gateway's short request id (`MIZRNhJtIAMEMDw=`: 16 base64 characters ending in `=`), derived
    from the request's uuid so every place that shows it agrees: REST's `x-amz-apigw-id` header and
    `requestContext.extendedRequestId`, HTTP APIs' `apigw-requestid` header and `requestContext.requestId`
    (RR apigw_v2_proxy_request_minimal.json; captured `Apigw-Requestid: WSg1ihmdliAEJXA=`)."""
    return base64.urlsafe_b64encode(hashlib.sha256(request_id.encode()).digest()[:11]).decode()


def id_headers(kind: Kind, request_id: str) -> tuple[tuple[str, str], ...]:
    """The request-id headers every answer of the kind carries, success or error: REST `x-amzn-RequestId`
    (the uuid) and `x-amz-apigw-id`; HTTP APIs `apigw-requestid`; function URLs `x-amzn-RequestId`."""
    if kind == "rest":
        return (("x-amzn-RequestId", request_id), ("x-amz-apigw-id", apigw_id(request_id)))
    if kind == "http":
        return (("apigw-requestid", apigw_id(request_id)),)
    return (("x-amzn-RequestId", request_id),)


def gateway_error(kind: Kind, error: GatewayErrorName | str, request_id: str) -> GatewayAnswer:
    """The answer API Gateway (REST or HTTP API) or a function URL gives for one of its own failures.

    Every name answers for every kind (a REST API's NOT_FOUND is its Missing Authentication Token, a
    function URL's FORBIDDEN its AccessDeniedException); an unknown name is a programming error."""
    try:
        spec = _TABLES[kind][error]
    except KeyError:
        raise ValueError(f"no gateway answer {error!r} for kind {kind!r}") from None
    headers: list[tuple[str, str]] = [("Content-Type", spec.content_type)]
    ids = id_headers(kind, request_id)
    headers.append(ids[0])
    if spec.error_type is not None:
        headers.append(("x-amzn-ErrorType", spec.error_type))
    headers.extend(ids[1:])
    return GatewayAnswer(status=spec.status, headers=tuple(headers), body=spec.body)
