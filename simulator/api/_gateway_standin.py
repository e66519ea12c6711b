"""A minimal stand-in for the gateway core (request, routing, events, answers, responses, authorizers, cors)
while those modules are written on their own branches; removed once they land."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from ..gateway.models import ApiDeclaration, Authorizer, Cors, FrontDoor, FunctionUrl, Route


@dataclass(frozen=True)
class GatewayRequest:
    method: str
    raw_path: str
    raw_query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    host: str = ""
    received_ms: int = 0
    request_id: str = ""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


@dataclass(frozen=True)
class GatewayAnswer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str] | None


@dataclass(frozen=True)
class Refusal:
    answer: GatewayAnswer


_ERRORS = {
    "MISSING_AUTHENTICATION_TOKEN": (403, {"message": "Missing Authentication Token"}),
    "NOT_FOUND": (404, {"message": "Not Found"}),
    "INTEGRATION_TIMEOUT": (504, {"message": "Endpoint request timed out"}),
    "LAMBDA_THROTTLED": (500, {"message": "Internal server error"}),
    "LAMBDA_REJECTED": (500, {"message": "Internal server error"}),
    "FUNCTION_ERROR": (502, {"message": "Internal server error"}),
    "MALFORMED_ANSWER": (502, {"message": "Internal server error"}),
    "REQUEST_TOO_LARGE": (413, {"message": "Request Too Long"}),
    "UNAUTHORIZED": (401, {"message": "Unauthorized"}),
    "ACCESS_DENIED": (403, {"Message": "User is not authorized to access this resource with an explicit deny"}),
    "NOT_AUTHORIZED": (403, {"Message": "User is not authorized to access this resource"}),
    "FORBIDDEN": (403, {"message": "Forbidden"}),
    "AUTHORIZER_CONFIGURATION_ERROR": (500, {"message": None}),
    "URL_FORBIDDEN": (403, {"Message": "Forbidden"}),
    "URL_NOT_FOUND": (403, {"Message": None}),
}


def gateway_error(kind: str, error: str, request_id: str) -> GatewayAnswer:
    status, body = _ERRORS[error]
    if kind == "url" and error == "LAMBDA_THROTTLED":
        status, body = 429, {"Reason": "ConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."}
    if kind == "url" and error == "FUNCTION_ERROR":
        return GatewayAnswer(502, (("Content-Type", "text/plain"), *id_headers(kind, request_id)), b"Internal Server Error")
    headers = (("Content-Type", "application/json"), *id_headers(kind, request_id))
    return GatewayAnswer(status, headers, json.dumps(body, separators=(",", ":")).encode())


def id_headers(kind: str, request_id: str) -> tuple[tuple[str, str], ...]:
    if kind == "rest":
        return (("x-amzn-RequestId", request_id), ("x-amz-apigw-id", request_id[:16]))
    if kind == "http":
        return (("apigw-requestid", request_id[:16]),)
    return (("x-amzn-RequestId", request_id),)


def _pattern(path: str) -> re.Pattern[str]:
    out = ""
    for segment in path.strip("/").split("/"):
        if segment.endswith("+}"):
            out += "/(?P<%s>.+)" % segment[1:-2]
        elif segment.startswith("{"):
            out += "/(?P<%s>[^/]+)" % segment[1:-1]
        elif segment:
            out += "/" + re.escape(segment)
    return re.compile((out or "/") + "/?")


def match_route(front_door: FrontDoor, method: str, raw_path: str) -> RouteMatch | Refusal:
    for any_method in (False, True):
        for route in front_door.routes:
            if route.path == "$default":
                continue
            if (route.method == "ANY") != any_method or (not any_method and route.method != method):
                continue
            found = _pattern(route.path).fullmatch(raw_path)
            if found:
                return RouteMatch(route, found.groupdict() or None)
    for route in front_door.routes:
        if route.path == "$default":
            return RouteMatch(route, None)
    kind = "http" if any(api.type == "http" for api in front_door.apis.values()) else "rest"
    return Refusal(gateway_error(kind, "NOT_FOUND" if kind == "http" else "MISSING_AUTHENTICATION_TOKEN", ""))


def _body(request: GatewayRequest) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    try:
        return request.body.decode(), False
    except UnicodeDecodeError:
        return base64.b64encode(request.body).decode(), True


def api_event(request: GatewayRequest, match: RouteMatch, api: ApiDeclaration, *, account_id: str, region: str,
              api_id: str, authorizer_context: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    body, encoded = _body(request)
    query = dict(parse_qsl(request.raw_query)) or None
    if match.route.payload_format_version == "1.0":
        context: dict[str, Any] = {"accountId": account_id, "apiId": api_id, "stage": api.stage_name,
                                   "requestId": request.request_id, "identity": {"sourceIp": request.source_ip}}  # fmt: skip
        if authorizer_context is not None:
            context["authorizer"] = authorizer_context
        return {"resource": match.route.path, "path": request.raw_path, "httpMethod": request.method,
                "headers": dict(request.headers), "queryStringParameters": query,
                "pathParameters": match.path_parameters, "requestContext": context, "body": body,
                "isBase64Encoded": encoded}  # fmt: skip
    event: dict[str, Any] = {"version": "2.0", "routeKey": match.route.route_key, "rawPath": request.raw_path,
                             "rawQueryString": request.raw_query,
                             "headers": {k.lower(): v for k, v in request.headers}, "isBase64Encoded": encoded,
                             "requestContext": {"accountId": account_id, "apiId": api_id,
                                                "http": {"method": request.method, "path": request.raw_path,
                                                         "sourceIp": request.source_ip},
                                                "requestId": request.request_id}}  # fmt: skip
    if authorizer_context is not None:
        event["requestContext"]["authorizer"] = authorizer_context
    if query:
        event["queryStringParameters"] = query
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    if body is not None:
        event["body"] = body
    return event


def url_event(request: GatewayRequest, url: FunctionUrl, *, account_id: str, region: str,
              iam: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    body, encoded = _body(request)
    event: dict[str, Any] = {"version": "2.0", "routeKey": "$default", "rawPath": request.raw_path,
                             "rawQueryString": request.raw_query,
                             "headers": {k.lower(): v for k, v in request.headers}, "isBase64Encoded": encoded,
                             "requestContext": {"accountId": account_id, "apiId": url.url_id,
                                                "authorizer": {"iam": iam} if iam else None,
                                                "http": {"method": request.method, "path": request.raw_path,
                                                         "sourceIp": request.source_ip},
                                                "requestId": request.request_id}}  # fmt: skip
    if body is not None:
        event["body"] = body
    return event


def api_id_of(api_name: str, account_id: str, region: str) -> str:
    import hashlib

    return hashlib.sha256(f"{account_id}{region}{api_name}".encode()).hexdigest()[:10]


def _answer(kind: str, request: GatewayRequest, body: bytes, function_error: bool) -> GatewayAnswer:
    if function_error:
        return gateway_error(kind, "FUNCTION_ERROR", request.request_id)
    try:
        value = json.loads(body) if body else None
    except ValueError:
        return gateway_error(kind, "MALFORMED_ANSWER", request.request_id)
    ids = id_headers(kind, request.request_id)
    if not isinstance(value, dict) or "statusCode" not in value:
        if kind == "rest":
            return gateway_error(kind, "MALFORMED_ANSWER", request.request_id)
        return GatewayAnswer(200, (("Content-Type", "application/json"), *ids), body)
    headers = tuple((k, str(v)) for k, v in (value.get("headers") or {}).items())
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers += (("Content-Type", "application/json"),)
    raw = value.get("body") or ""
    data = base64.b64decode(raw) if value.get("isBase64Encoded") else str(raw).encode()
    return GatewayAnswer(int(value["statusCode"]), (*headers, *ids), data)


def api_answer(route: Route, api: ApiDeclaration, request: GatewayRequest, result_body: bytes, *,
               function_error: bool) -> GatewayAnswer:  # fmt: skip
    return _answer(api.type, request, result_body, function_error)


def url_answer(request: GatewayRequest, result_body: bytes, *, function_error: bool) -> GatewayAnswer:
    return _answer("url", request, result_body, function_error)


# -- authorizers and CORS: nothing but the shapes -------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    allowed: bool
    context: dict[str, Any] | None
    error: str | None
    principal_id: str | None = None


class AuthorizerCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock


def identity_values(authorizer: Authorizer, api: ApiDeclaration, request: GatewayRequest, match: RouteMatch) -> list[str] | None:  # fmt: skip
    header = request.header("Authorization")
    return [header] if header else None


def preflight(cors: Cors | None, kind: str, request: GatewayRequest, route_methods: list[str]) -> GatewayAnswer | None:  # fmt: skip
    return None


def with_cors(cors: Cors | None, kind: str, request: GatewayRequest, answer: GatewayAnswer) -> GatewayAnswer:
    return answer
