"""A function's answer mapped back to HTTP, as API Gateway (REST, HTTP APIs) and function URLs do it, and the
gateway's own answer when the function failed or answered something it cannot map.

Sources by the keys in gateway/__init__.py: REST from LSAL test_aws_proxy_response_payload_format_validation
(recorded on AWS) and AGD23 set-up-lambda-proxy-integrations; HTTP APIs from AGD23
http-api-develop-integrations-lambda and the repost KC api-gateway-status-codes-http-api; function URLs from
LSL test_lambda_url_invocation[...] (recorded on AWS) and DG23 urls-invocation.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .events import media_type_matches
from .models import ApiDeclaration, Route
from .request import GatewayAnswer, GatewayRequest
from .responses import Kind, gateway_error, id_headers

#: the keys a REST (payload 1.0) answer may have; any other is a malformed answer (LSAL invoke-api-wrong-format)
_V1_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
#: headers the server writes itself: a function's value would contradict the body lsim sends
_SERVER_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
JSON = "application/json"
#: the type HTTP APIs give a structured answer (statusCode, payload 1.0 or 2.0) that names none: "api gateway v2
#: defaults to this content type if none is provided" (aws/aws-lambda-dotnet's LambdaTestTool-v2, written by
#: AWS with integration tests against API Gateway: Extensions/ApiGatewayResponseExtensions.cs). REST says
#: application/json (LSAL) and function URLs too (LSL test_lambda_url_invocation[http-response]).
HTTP_API_DEFAULT_TYPE = "text/plain; charset=utf-8"


class MalformedAnswer(ValueError):
    """The function answered something the front door cannot turn into HTTP ("Malformed Lambda proxy
    response"); the message says what, for lsim's log."""


def api_answer(
    route: Route, api: ApiDeclaration, request: GatewayRequest, result_body: bytes, *, function_error: bool
) -> GatewayAnswer:
    """The HTTP answer of an API route to the function's result: REST or HTTP API payload 1.0, or 2.0.

    A function error gives REST's 502 `{"message": "Internal server error"}` or an HTTP API's 500
    `{"message":"Internal Server Error"}`; so does an answer the format does not allow (MalformedAnswer)."""
    kind: Kind = api.type
    if function_error:
        return gateway_error(kind, "FUNCTION_ERROR", request.request_id)
    try:
        if kind == "http" and route.payload_format_version == "2.0":
            status, headers, body = _v2_answer(result_body, default_type=HTTP_API_DEFAULT_TYPE, reserialize=False)
        else:
            status, headers, body = _v1_answer(result_body, api, request, rest=kind == "rest")
    except MalformedAnswer:
        return gateway_error(kind, "MALFORMED_ANSWER", request.request_id)
    return GatewayAnswer(status=status, headers=(*headers, *id_headers(kind, request.request_id)), body=body)


def url_answer(request: GatewayRequest, result_body: bytes, *, function_error: bool) -> GatewayAnswer:
    """A function URL's HTTP answer (the payload 2.0 format, DG23 urls-invocation); a function error or a
    malformed answer gives 502 `Internal Server Error` (LST test_lambda_url_invocation_exception)."""
    if function_error:
        return gateway_error("url", "FUNCTION_ERROR", request.request_id)
    try:
        status, headers, body = _v2_answer(result_body, default_type=JSON, reserialize=True)
    except MalformedAnswer:
        return gateway_error("url", "MALFORMED_ANSWER", request.request_id)
    return GatewayAnswer(status=status, headers=(*headers, *id_headers("url", request.request_id)), body=body)


def explain(route: Route | None, api: ApiDeclaration | None, result_body: bytes) -> str | None:
    """Why an answer is malformed (None when it is not), for the line lsim logs beside AWS's bare 502/500,
    as API Gateway's execution log says "Malformed Lambda proxy response"."""
    try:
        if route is not None and api is not None and not (api.type == "http" and route.payload_format_version == "2.0"):
            _v1_answer(result_body, api, None, rest=api.type == "rest")
        else:
            _v2_answer(result_body, default_type=JSON, reserialize=True)
    except MalformedAnswer as error:
        return str(error)
    return None


# --- payload 1.0 --------------------------------------------------------------------------------------------


def _v1_answer(
    result_body: bytes, api: ApiDeclaration, request: GatewayRequest | None, *, rest: bool
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Payload 1.0: `{statusCode, headers, multiValueHeaders, body, isBase64Encoded}`.

    REST (LSAL): statusCode defaults to 200 (`{"headers": {...}}` alone -> 200) and may be a string of
    digits (`"201"` -> 201, `"test"` -> 502); any other top-level key -> 502; a bare JSON value (not an
    object) -> 502; `headers` may be null, its booleans are sent as text (`true`); `multiValueHeaders`
    values must be lists (else 502); both are merged, multiValueHeaders first and its casing kept, a value
    already there not repeated (`value-multi, value-solo`; AGD23); Content-Type defaults to
    application/json; `isBase64Encoded: true` is decoded only when the API has binary media types and the
    request's first Accept type matches one (else the client gets the base64 text, LSAL
    invoke-api-b64-encoded-true; AGD lambda-proxy-binary-media).
    HTTP APIs: statusCode is required, else 500 ("API Gateway doesn't make assumptions", repost KC
    api-gateway-status-codes-http-api); Content-Type defaults to HTTP_API_DEFAULT_TYPE; isBase64Encoded is
    always honoured (HTTP APIs have no binary media types: ministackorg/ministack#766)."""
    answer = _json(result_body)
    if not isinstance(answer, dict):
        raise MalformedAnswer(f"the answer is a JSON {type(answer).__name__}, not an object with statusCode")
    if rest:
        extra = sorted(set(answer) - _V1_KEYS)
        if extra:
            raise MalformedAnswer(f"unexpected key(s) {', '.join(extra)}; allowed: {', '.join(sorted(_V1_KEYS))}")
    elif "statusCode" not in answer:
        raise MalformedAnswer("an HTTP API payload 1.0 answer needs statusCode")
    status = _status(answer.get("statusCode", 200))
    merged: dict[str, tuple[str, list[str]]] = {}  # lower-case name -> (casing, values)
    multi = answer.get("multiValueHeaders")
    if multi is not None:
        if not isinstance(multi, dict):
            raise MalformedAnswer("multiValueHeaders must be an object of lists")
        for name, values in multi.items():
            if not isinstance(values, list):
                raise MalformedAnswer(f"multiValueHeaders[{name!r}] must be a list")
            entry = merged.setdefault(name.lower(), (name, []))
            entry[1].extend(_header_value(name, value) for value in values)
    single = answer.get("headers")
    if single is not None:
        if not isinstance(single, dict):
            raise MalformedAnswer("headers must be an object")
        for name, value in single.items():
            text = _header_value(name, value)
            entry = merged.setdefault(name.lower(), (name, []))
            if text not in entry[1]:
                entry[1].append(text)
    headers = [(name, value) for lower, (name, values) in merged.items() if lower not in _SERVER_HEADERS
               for value in values]  # fmt: skip
    if "content-type" not in merged:
        headers.insert(0, ("Content-Type", JSON if rest else HTTP_API_DEFAULT_TYPE))
    body_text = answer.get("body")
    if body_text is not None and not isinstance(body_text, str):
        raise MalformedAnswer("body must be a string (serialize JSON yourself: json.dumps)")
    encoded = _flag(answer.get("isBase64Encoded", False))
    body = (body_text or "").encode()
    if encoded and body_text:
        decode = True if not rest else request is not None and _accepts_binary(request, api)
        if decode:
            body = _b64decode(body_text)
    return status, headers, body


def _accepts_binary(request: GatewayRequest, api: ApiDeclaration) -> bool:
    """Whether REST decodes a base64 answer: "API Gateway uses the first Accept header from clients to
    determine if a response should return binary media" (AGD lambda-proxy-binary-media) against the API's
    binaryMediaTypes."""
    if not api.binary_media_types:
        return False
    accept = request.header("accept")
    if not accept:
        return False
    first = accept.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return bool(first) and media_type_matches(first, api.binary_media_types)


# --- payload 2.0: HTTP APIs and function URLs ---------------------------------------------------------------


def _v2_answer(result_body: bytes, *, default_type: str, reserialize: bool) -> tuple[int, list[tuple[str, str]], bytes]:
    """Payload 2.0 (AGD23, DG23 urls-invocation). An object with statusCode is the structured answer:
    statusCode (a digit string allowed: `"418"`, LST test_lambda_url_headers_and_status), headers, cookies
    (each one `set-cookie` header), body, isBase64Encoded (decoded whenever true).

    Any other valid JSON is the shortcut: 200, `content-type: application/json`, the value as the body, a
    string without its quotes. Function URLs re-serialize the value compactly: `{"hello": "world"}` ->
    `{"hello":"world"}` (17 bytes; the Python runtime sends 18), `["hello", 3, True]` -> `["hello",3,true]`,
    `"hello"` -> `hello`, `True` -> `true` (LSL test_lambda_url_invocation[dict, list-mixed, string, boolean],
    recorded on AWS 2025-11-24). HTTP APIs pass the function's text through: AGD23's example keeps
    `{ "message": "Hello from Lambda!" }` with its spaces (no recording either way; `reserialize=False`)."""
    answer = _json(result_body)
    if not isinstance(answer, dict) or "statusCode" not in answer:
        if isinstance(answer, str):
            body = answer.encode()
        elif reserialize:
            body = json.dumps(answer, separators=(",", ":"), ensure_ascii=False).encode()
        else:
            body = result_body.strip()
        return 200, [("content-type", JSON)], body
    status = _status(answer["statusCode"])
    headers: list[tuple[str, str]] = []
    given = answer.get("headers")
    if given is not None:
        if not isinstance(given, dict):
            raise MalformedAnswer("headers must be an object")
        headers = [(name, _header_value(name, value)) for name, value in given.items()
                   if name.lower() not in _SERVER_HEADERS]  # fmt: skip
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.insert(0, ("content-type", default_type))  # HTTP_API_DEFAULT_TYPE, or a URL's JSON
    cookies = answer.get("cookies")
    if cookies is not None:
        if not isinstance(cookies, list) or not all(isinstance(cookie, str) for cookie in cookies):
            raise MalformedAnswer("cookies must be a list of strings")
        headers.extend(("set-cookie", cookie) for cookie in cookies)
    body_text = answer.get("body")
    if body_text is not None and not isinstance(body_text, str):
        raise MalformedAnswer("body must be a string (serialize JSON yourself: json.dumps)")
    body = (body_text or "").encode()
    if body_text and _flag(answer.get("isBase64Encoded", False)):
        body = _b64decode(body_text)
    return status, headers, body


# --- shared checks ------------------------------------------------------------------------------------------


def _json(result_body: bytes) -> Any:
    try:
        return json.loads(result_body)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedAnswer(f"the answer is not JSON: {error}") from None


def _status(value: object) -> int:
    """statusCode: an integer or a string of digits, 100-599 (LSAL `"201"` -> 201, `"test"` -> 502)."""
    if isinstance(value, bool):
        raise MalformedAnswer(f"statusCode {value!r} is not a number")
    if isinstance(value, int):
        status = value
    elif isinstance(value, str) and value.strip().isdigit():
        status = int(value.strip())
    else:
        raise MalformedAnswer(f"statusCode {value!r} is not a number")
    if not 100 <= status <= 599:
        raise MalformedAnswer(f"statusCode {status} is not an HTTP status (100-599)")
    return status


def _header_value(name: str, value: object) -> str:
    """A header value as text: strings as they are, booleans as `true`/`false` (LSAL `"header-bool": true`
    -> `header-bool: true`), numbers as written; objects and lists are malformed."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value
    elif isinstance(value, int | float):
        text = json.dumps(value)
    else:
        raise MalformedAnswer(f"header {name!r}: {type(value).__name__} value; send a string")
    if "\r" in text or "\n" in text:
        raise MalformedAnswer(f"header {name!r}: a value may not contain a line break")
    return text


def _flag(value: object) -> bool:
    """isBase64Encoded: a boolean (the strings "true"/"false" are accepted too, as `sam local` does;
    AWS's handling of strings is unverified)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value is None:
        return False
    raise MalformedAnswer(f"isBase64Encoded {value!r} is not a boolean")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedAnswer("isBase64Encoded is true but body is not base64") from None
