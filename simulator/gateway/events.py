"""The events API Gateway and function URLs send a function: REST proxy events (payload 1.0), HTTP API events
(payload 1.0 or 2.0) and function URL events (2.0), built from one GatewayRequest.

Shapes are AWS's recorded ones (sources by the keys in gateway/__init__.py): REST 1.0 from LSAL
test_lambda_aws_proxy_integration (key set, header casing, null rules, query decoding, paths); HTTP API 1.0
and 2.0 from AGD23 http-api-develop-integrations-lambda and the captured minimal 2.0 event (RR
apigw_v2_proxy_request_minimal.json: empty keys omitted, the short request id); function URLs from DG23
urls-invocation, LSL test_lambda_url_echo_http_fixture_default and RR lambda_function_url_request.json.
All three API kinds also from events AWS's .NET team captured on API Gateway in April 2025
(aws/aws-lambda-dotnet Tools/LambdaTestTool-v2/tests/Amazon.Lambda.TestTool.UnitTests/Snapshots/: REGIONAL
REST headers, HTTP API 1.0 casing and paths, decoded 2.0 paths, the Cookie header moved to `cookies`).

Where lsim differs on purpose: the X-Forwarded-Proto/-Port headers say what the client really used (http and
lsim's port, as `sam local start-api` does) where AWS says https/443, and no CloudFront or TLS headers are
invented.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from .models import DEFAULT_ROUTE, ApiDeclaration, FunctionUrl
from .request import GatewayRequest
from .responses import apigw_id
from .routing import RouteMatch

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: hop-by-hop headers a proxy consumes (RFC 9110 §7.6.1): none reaches the function (LSAL: the client's
#: `Connection: keep-alive` is absent from the recorded events)
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)
#: the request content types HTTP APIs and function URLs pass as text; every other type, a missing one and
#: application/x-www-form-urlencoded included, arrives base64-encoded (checked against AWS for HTTP APIs:
#: ministackorg/ministack#766; function URLs: text/plain and application/json as text (LST
#: test_lambda_url_echo_invoke, localstack/localstack#9842), multipart/form-data base64 (LSL
#: test_lambda_url_form_payload); the same rule assumed for the other types of function URLs)
_TEXT_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})


def api_id_of(api_name: str, account_id: str, region: str) -> str:
    """A stable 10-character API id (`a1b2c3d4e5`: lowercase letters and digits, as AWS's), so the id in
    events, method ARNs and logs stays the same across restarts."""
    digest = hashlib.sha256(f"{account_id}:{region}:{api_name}".encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[byte % len(alphabet)] for byte in digest[:10])


def request_time(received_ms: int) -> str:
    """API Gateway's requestTime / time: `04/Mar/2020:19:15:17 +0000` (English month, whatever the locale)."""
    moment = datetime.fromtimestamp(received_ms / 1000, UTC)
    return f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year}:{moment:%H:%M:%S} +0000"


def api_event(
    request: GatewayRequest,
    match: RouteMatch,
    api: ApiDeclaration,
    *,
    account_id: str,
    region: str,
    api_id: str,
    authorizer_context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The event an API's Lambda proxy integration sends: REST (1.0), or an HTTP API's 1.0 or 2.0 by the
    route's payload format version. `authorizer_context` is requestContext.authorizer as the authorizer
    made it (authorizers.authorizer_context)."""
    if api.type == "http" and match.route.payload_format_version == "2.0":
        return _http_v2_event(request, match, api, account_id=account_id, region=region, api_id=api_id,
                              authorizer_context=authorizer_context)  # fmt: skip
    return _v1_event(request, match, api, account_id=account_id, api_id=api_id,
                     authorizer_context=authorizer_context)  # fmt: skip


def url_event(
    request: GatewayRequest,
    url: FunctionUrl,
    *,
    account_id: str,
    region: str,
    iam: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A function URL's event (payload 2.0, DG23 urls-invocation): routeKey `$default` whatever the path,
    rawPath as sent (percent-encoded: `/pa2%Fth/1` stays so, LSL), the Cookie header kept in `headers` AND
    listed in `cookies` (RR lambda_function_url_request.json), requestId the invocation's uuid, apiId and
    domainPrefix the url-id, domainName `<url-id>.lambda-url.<region>.on.aws`. `iam` is the caller for
    AuthType AWS_IAM: requestContext.authorizer.iam {accessKey, accountId, callerId, cognitoIdentity,
    principalOrgId, userArn, userId}."""
    domain = f"{url.url_id}.lambda-url.{region}.on.aws"
    headers = _v2_headers(request, keep_cookie=True, content_length=False)
    context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": url.url_id,
        "domainName": domain,
        "domainPrefix": url.url_id,
        "http": _http_context(request, request.raw_path),
        "requestId": request.request_id,
        "routeKey": DEFAULT_ROUTE,
        "stage": "$default",
        "time": request_time(request.received_ms),
        "timeEpoch": request.received_ms,
    }
    if iam is not None:
        context["authorizer"] = {"iam": iam}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": DEFAULT_ROUTE,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    _add_v2_rest(event, request, headers, context, path_parameters=None, stage_variables=None)
    return event


# --- payload 1.0: REST APIs and HTTP APIs with PayloadFormatVersion 1.0 -------------------------------------


def _v1_event(
    request: GatewayRequest,
    match: RouteMatch,
    api: ApiDeclaration,
    *,
    account_id: str,
    api_id: str,
    authorizer_context: dict[str, Any] | None,
) -> dict[str, Any]:
    """Payload 1.0. REST (LSAL): header names keep the client's casing (`tEsT-HEADeR`; `authorization` comes
    as `Authorization`), `headers` holds a repeated header's last value and `multiValueHeaders` all of them,
    Content-Length is not passed; query values are decoded with `+` as a space, `queryStringParameters`
    holds the last value; empty maps and an empty body are null; `path` is the request path without the
    stage (extra leading slashes dropped) and requestContext.path `/{stage}` + the path as sent.
    HTTP APIs (captured on AWS 2025-04, aws/aws-lambda-dotnet LambdaTestTool-v2
    UnitTests/Snapshots/V1_SpecialCharactersInPathHttpV1.json) add `"version": "1.0"`, keep the header names
    as sent (AGD23's "Header names are lowercased" holds for 2.0 only) and Content-Length, keep `path`
    percent-encoded but decode requestContext.path and the path parameters, show their short request id as
    requestId and extendedRequestId, the route key as resourceId, `""` as a missing User-Agent, and no
    deploymentId; the same capture for REST confirms the encoded path and parameters."""
    rest = api.type == "rest"
    stage = api.stage_name
    route = match.route
    if rest:
        path = "/" + request.raw_path.lstrip("/")
        context_path = f"/{stage}{request.raw_path}"
    else:
        path = _http_path(request, api, decode=False)
        context_path = _http_path(request, api)
    resource = route.path if route.path != DEFAULT_ROUTE else path
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in _v1_headers(request, rest=rest):
        single[name] = value
        multi.setdefault(name, []).append(value)
    query_single: dict[str, str] = {}
    query_multi: dict[str, list[str]] = {}
    for name, value in _query(request.raw_query):
        query_single[name] = value
        query_multi.setdefault(name, []).append(value)
    body, encoded = _body(request, binary=_rest_binary(request, api) if rest else _binary_by_type(request))
    short_id = apigw_id(request.request_id)
    context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": request.host or f"{api_id}.execute-api.amazonaws.com",
        "domainPrefix": api_id,
        "extendedRequestId": short_id,
        "httpMethod": request.method,
        "identity": _identity(request, missing_agent=None if rest else ""),
        "path": context_path,
        "protocol": request.protocol,
        "requestId": request.request_id if rest else short_id,
        "requestTime": request_time(request.received_ms),
        "requestTimeEpoch": request.received_ms,
        "resourceId": _short_hash(f"{api_id}:{resource}", 6) if rest else route.route_key,
        "resourcePath": resource,
        "stage": stage,
    }
    if rest:
        context["deploymentId"] = _short_hash(f"{api_id}:{stage}", 6)
    if authorizer_context is not None:
        context["authorizer"] = authorizer_context
    event: dict[str, Any] = {} if rest else {"version": "1.0"}
    event.update(
        {
            "resource": resource,
            "path": path,
            "httpMethod": request.method,
            "headers": single or None,
            "multiValueHeaders": multi or None,
            "queryStringParameters": query_single or None,
            "multiValueQueryStringParameters": query_multi or None,
            "pathParameters": match.path_parameters or None,
            "stageVariables": dict(api.stage_variables) or None,
            "requestContext": dict(sorted(context.items())),
            "body": body,
            "isBase64Encoded": encoded,
        }
    )
    return event


def _v1_headers(request: GatewayRequest, *, rest: bool) -> list[tuple[str, str]]:
    """The headers of a 1.0 event, names merged case-insensitively under their first casing, with the
    headers API Gateway adds; REST drops Content-Length (absent from both captures)."""
    casing: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    for name, value in _forwarded(request):
        lower = name.lower()
        if lower in _HOP_BY_HOP or (rest and lower == "content-length"):
            continue
        if rest and lower == "authorization":
            name = "Authorization"  # LSAL: `authorization` and `aUThorization` both arrive so
        pairs.append((casing.setdefault(lower, name), value))
    return pairs


# --- payload 2.0: HTTP APIs ---------------------------------------------------------------------------------


def _http_v2_event(
    request: GatewayRequest,
    match: RouteMatch,
    api: ApiDeclaration,
    *,
    account_id: str,
    region: str,
    api_id: str,
    authorizer_context: dict[str, Any] | None,
) -> dict[str, Any]:
    """Payload 2.0 (AGD23): routeKey, rawPath (decoded, the stage in front for a named stage), rawQueryString
    as sent, lower-case headers with repeats comma-joined, query values comma-joined, cookies as a list,
    requestContext.http; cookies, queryStringParameters, pathParameters, stageVariables and body are left out
    when empty (RR minimal capture). The Cookie header goes to `cookies` only (the double cookie header is
    function URLs' own: RR commit "Fix double cookie header for Lambda Function URL requests"; unverified for
    HTTP APIs)."""
    route = match.route
    path = _http_path(request, api)
    headers = _v2_headers(request, keep_cookie=False, content_length=True)
    context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": request.host or f"{api_id}.execute-api.{region}.amazonaws.com",
        "domainPrefix": api_id,
        "http": _http_context(request, path),
        "requestId": apigw_id(request.request_id),
        "routeKey": route.route_key,
        "stage": api.stage_name,
        "time": request_time(request.received_ms),
        "timeEpoch": request.received_ms,
    }
    if authorizer_context is not None:
        context["authorizer"] = authorizer_context
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": request.raw_query,
    }
    _add_v2_rest(event, request, headers, dict(sorted(context.items())), path_parameters=match.path_parameters,
                 stage_variables=dict(api.stage_variables) or None)  # fmt: skip
    return event


def _add_v2_rest(
    event: dict[str, Any],
    request: GatewayRequest,
    headers: dict[str, str],
    context: dict[str, Any],
    *,
    path_parameters: dict[str, str] | None,
    stage_variables: dict[str, str] | None,
) -> None:
    """The keys payload 2.0 events share, empty ones left out."""
    cookies = _cookies(request)
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query: dict[str, str] = {}
    for name, value in _query(request.raw_query):
        query[name] = f"{query[name]},{value}" if name in query else value
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = context
    body, encoded = _body(request, binary=_binary_by_type(request))
    if body is not None:
        event["body"] = body
    if path_parameters:
        event["pathParameters"] = path_parameters
    event["isBase64Encoded"] = encoded
    if stage_variables:
        event["stageVariables"] = stage_variables


def _v2_headers(request: GatewayRequest, *, keep_cookie: bool, content_length: bool) -> dict[str, str]:
    """Lower-case names, a repeated header's values joined with "," (AGD23: `"header2": "value1,value2"`)."""
    headers: dict[str, str] = {}
    for name, value in _forwarded(request):
        lower = name.lower()
        if lower in _HOP_BY_HOP or (lower == "cookie" and not keep_cookie) or lower == "content-length":
            continue
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    if content_length or request.header("content-length") is not None:
        # HTTP APIs state the length even of an empty GET (RR minimal capture: "content-length": "0")
        headers["content-length"] = str(len(request.body))
    return dict(sorted(headers.items()))


def _cookies(request: GatewayRequest) -> list[str]:
    """Every `name=value` of every Cookie header, in order (DG23 urls-invocation `["Cookie_1=Value_1", ...]`)."""
    cookies: list[str] = []
    for header in request.header_values("cookie"):
        cookies.extend(part.strip() for part in header.split(";") if part.strip())
    return cookies


def _http_context(request: GatewayRequest, path: str) -> dict[str, Any]:
    return {
        "method": request.method,
        "path": path,
        "protocol": request.protocol,
        "sourceIp": request.source_ip,
        "userAgent": request.header("user-agent") or "",
    }


def _http_path(request: GatewayRequest, api: ApiDeclaration, *, decode: bool = True) -> str:
    """An HTTP API's path as its events show it: percent-decoded (rawPath, http.path, 1.0's
    requestContext.path: captured `/test13/api/users/**** Doe/orders/Summer Sale 2023` for `%20`,
    aws-lambda-dotnet V2_SpecialCharactersInPath.json; honojs/hono#2156) except 1.0's `path` (kept encoded,
    same captures), with a named stage in front (`/Prod/my/path`, RR
    apigw_v2_proxy_request_with_stage_in_path.json; unverified on AWS), not for `$default`."""
    path = (unquote(request.raw_path) if decode else request.raw_path) or "/"
    stage = api.stage_name
    return path if stage == "$default" else f"/{stage}{path}"


# --- shared pieces ------------------------------------------------------------------------------------------


def _forwarded(request: GatewayRequest) -> list[tuple[str, str]]:
    """The client's headers plus those API Gateway and function URLs add (X-Amzn-Trace-Id, X-Forwarded-For,
    -Port, -Proto; LSAL, LSL): the client's address is appended to an X-Forwarded-For it sent."""
    pairs = [(name, value) for name, value in request.headers if name.lower() != "x-forwarded-for"]
    sent_for = request.header_values("x-forwarded-for")
    forwarded_for = ", ".join([*sent_for, request.source_ip]) if sent_for else request.source_ip
    added = {
        "X-Amzn-Trace-Id": _trace_id(request),
        "X-Forwarded-For": forwarded_for,
        "X-Forwarded-Port": _port(request.host),
        "X-Forwarded-Proto": "http",
    }
    present = {name.lower() for name, _ in pairs}
    pairs.extend((name, value) for name, value in added.items() if name.lower() not in present)
    return pairs


def _trace_id(request: GatewayRequest) -> str:
    """X-Amzn-Trace-Id `Root=1-<8 hex of epoch seconds>-<24 hex>`, derived from the request id."""
    digest = hashlib.sha256(request.request_id.encode()).hexdigest()[:24]
    return f"Root=1-{request.received_ms // 1000:08x}-{digest}"


def _port(host: str) -> str:
    _, sep, port = host.rpartition(":")
    return port if sep and port.isdigit() else "80"


def _identity(request: GatewayRequest, *, missing_agent: str | None) -> dict[str, Any]:
    """requestContext.identity without IAM auth: every caller field null (LSAL); a missing User-Agent is
    null for REST and "" for HTTP APIs (both captured)."""
    return {
        "accessKey": None,
        "accountId": None,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "sourceIp": request.source_ip,
        "user": None,
        "userAgent": request.header("user-agent") if request.header("user-agent") is not None else missing_agent,
        "userArn": None,
    }


def _query(raw_query: str) -> list[tuple[str, str]]:
    """Query parameters decoded, `+` as a space (`plus=test+alias@gmail.com` -> `test alias@gmail.com`,
    `email=test%2Balias@gmail.com` -> `test+alias@gmail.com`; LSAL), blank values kept."""
    return parse_qsl(raw_query, keep_blank_values=True) if raw_query else []


def _body(request: GatewayRequest, *, binary: bool) -> tuple[str | None, bool]:
    """The body as text, or base64 with isBase64Encoded true; None (null, or left out in 2.0) when empty."""
    if not request.body:
        return None, False
    if binary:
        return base64.b64encode(request.body).decode("ascii"), True
    return request.body.decode("utf-8", errors="replace"), False


def _media_type(request: GatewayRequest) -> str | None:
    content_type = request.header("content-type")
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def media_type_matches(media_type: str, patterns: list[str]) -> bool:
    """Whether a media type is one of an API's binary media types: exact, `image/*` or `*/*`
    (AGD23 api-gateway-payload-encodings; SAM writes `~1` for `/`, sam/http.py turns it back)."""
    kind, _, _ = media_type.partition("/")
    for pattern in patterns:
        pattern = pattern.strip().lower().replace("~1", "/")
        if pattern in ("*/*", media_type) or (pattern.endswith("/*") and pattern[:-2] == kind):
            return True
    return False


def _rest_binary(request: GatewayRequest, api: ApiDeclaration) -> bool:
    """REST: base64 when the request's Content-Type matches the API's binaryMediaTypes, else UTF-8 text
    (AGD23 api-gateway-payload-encodings-workflow). A request without Content-Type matches only `*/*`."""
    if not api.binary_media_types:
        return False
    media_type = _media_type(request)
    if media_type is None:
        return "*/*" in api.binary_media_types
    return media_type_matches(media_type, api.binary_media_types)


def _binary_by_type(request: GatewayRequest) -> bool:
    """HTTP APIs and function URLs have no binary media types: text/* and JSON, XML and JavaScript arrive as
    text, anything else (a missing type too) base64-encoded (see _TEXT_TYPES)."""
    media_type = _media_type(request)
    if media_type is None:
        return True
    return not (media_type.startswith("text/") or media_type in _TEXT_TYPES)


def _short_hash(text: str, length: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[byte % len(alphabet)] for byte in hashlib.sha256(text.encode()).digest()[:length])
