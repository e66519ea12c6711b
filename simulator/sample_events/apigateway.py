"""API Gateway proxy events: REST APIs (payload format 1.0) and HTTP APIs (payload format 2.0).

https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl

from ._common import Account, random_base64, request_id, token

USER_AGENT = "curl/8.5.0"
SOURCE_IP = "203.0.113.10"  # an address from TEST-NET-3 (RFC 5737), as documentation uses


def _headers(pairs: list[str]) -> list[tuple[str, str]]:
    """`Name: value` strings; a malformed one is refused with the form to use."""
    headers = []
    for pair in pairs:
        name, sep, value = pair.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"header {pair!r}: write it as 'Name: value'")
        headers.append((name.strip(), value.strip()))
    return headers


def _body(body: str | None, base64_encode: bool) -> tuple[str | None, bool]:
    if body is None or not base64_encode:
        return body, False
    return base64.b64encode(body.encode()).decode(), True


def aws_proxy(
    account: Account,
    *,
    method: str = "GET",
    path: str = "/hello",
    resource: str | None = None,
    body: str | None = None,
    query: str = "",
    headers: list[str] | None = None,
    path_parameters: dict[str, str] | None = None,
    stage: str = "prod",
    base64_body: bool = False,
) -> dict[str, Any]:
    """A REST API request through a Lambda proxy integration (payload format 1.0)."""
    api_id = token(10)
    domain = f"{api_id}.execute-api.{account.region}.amazonaws.com"
    pairs = [
        ("Accept", "*/*"),
        ("Host", domain),
        ("User-Agent", USER_AGENT),
        ("X-Amzn-Trace-Id", f"Root=1-{int(account.now.timestamp()):08x}-{token(24, '0123456789abcdef')}"),
        ("X-Forwarded-For", SOURCE_IP),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Proto", "https"),
    ]
    if body is not None:
        pairs.append(("Content-Type", "application/json"))
    pairs += _headers(headers or [])
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value  # the last value of a repeated header, as API Gateway gives it
        multi.setdefault(name, []).append(value)
    query_pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    query_single: dict[str, str] = {}
    query_multi: dict[str, list[str]] = {}
    for name, value in query_pairs:
        query_single[name] = value
        query_multi.setdefault(name, []).append(value)
    payload, encoded = _body(body, base64_body)
    resource = resource or path
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method.upper(),
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": query_single or None,
        "multiValueQueryStringParameters": query_multi or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": account.account_id,
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": api_id,
            "extendedRequestId": random_base64(10),
            "httpMethod": method.upper(),
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": SOURCE_IP,
                "user": None,
                "userAgent": USER_AGENT,
                "userArn": None,
            },
            "path": f"/{stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id(),
            "requestTime": account.clf(),
            "requestTimeEpoch": account.epoch_ms,
            "resourceId": token(6),
            "resourcePath": resource,
            "stage": stage,
        },
        "body": payload,
        "isBase64Encoded": encoded,
    }


def http_api_proxy(
    account: Account,
    *,
    method: str = "GET",
    path: str = "/hello",
    route_key: str | None = None,
    body: str | None = None,
    query: str = "",
    headers: list[str] | None = None,
    path_parameters: dict[str, str] | None = None,
    stage: str = "$default",
    base64_body: bool = False,
) -> dict[str, Any]:
    """An HTTP API request (payload format 2.0): header names in lower case, repeated values joined with
    commas, cookies in their own list."""
    api_id = token(10)
    domain = f"{api_id}.execute-api.{account.region}.amazonaws.com"
    pairs = [
        ("accept", "*/*"),
        ("content-length", str(len((body or "").encode()))),
        ("host", domain),
        ("user-agent", USER_AGENT),
        ("x-amzn-trace-id", f"Root=1-{int(account.now.timestamp()):08x}-{token(24, '0123456789abcdef')}"),
        ("x-forwarded-for", SOURCE_IP),
        ("x-forwarded-port", "443"),
        ("x-forwarded-proto", "https"),
    ]
    if body is not None:
        pairs.append(("content-type", "application/json"))
    cookies: list[str] = []
    joined: dict[str, str] = {}
    for name, value in [*pairs, *((n.lower(), v) for n, v in _headers(headers or []))]:
        if name == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    query = query.lstrip("?")
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    payload, encoded = _body(body, base64_body)
    route_key = route_key or f"{method.upper()} {path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path if stage == "$default" else f"/{stage}{path}",
        "rawQueryString": query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = joined
    if parameters:
        event["queryStringParameters"] = parameters
    event["requestContext"] = {
        "accountId": account.account_id,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": api_id,
        "http": {
            "method": method.upper(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": SOURCE_IP,
            "userAgent": USER_AGENT,
        },
        "requestId": random_base64(10),
        "routeKey": route_key,
        "stage": stage,
        "time": account.clf(),
        "timeEpoch": account.epoch_ms,
    }
    if payload is not None:
        event["body"] = payload
    if path_parameters:
        event["pathParameters"] = path_parameters
    event["isBase64Encoded"] = encoded
    return event
