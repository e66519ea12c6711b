"""The front door's wire formats, as pure functions: routing, the events API Gateway and function URLs send a
function, how its answer comes back, and the gateway's own failure answers.

The expected values are AWS's own, taken verbatim from recordings and captures (source keys in
simulator/gateway/__init__.py: LSAL = LocalStack's validated snapshots of API Gateway against AWS, LSL = of
function URLs, RR = the Rust runtime's captured fixtures). Milliseconds each: no server, no container.
"""

from __future__ import annotations

import base64
import json

import pytest

from simulator.gateway.answers import api_answer, explain, url_answer
from simulator.gateway.events import api_event, api_id_of, request_time, url_event
from simulator.gateway.models import ApiDeclaration, FrontDoor, FunctionUrl, FunctionUrlConfig, Route
from simulator.gateway.request import GatewayAnswer, GatewayRequest
from simulator.gateway.responses import apigw_id, gateway_error, id_headers
from simulator.gateway.routing import Refusal, RouteMatch, match_route

REQUEST_ID = "fbcaf9e5-d535-40a1-891c-7b70118cf7e8"


def header(answer: GatewayAnswer, name: str) -> str | None:
    return answer.header(name)


# --- the request --------------------------------------------------------------------------------------------


def test_request_header_lookup_ignores_case_and_takes_the_first_value() -> None:
    request = GatewayRequest(
        method="GET", raw_path="/", raw_query="", body=b"", source_ip="127.0.0.1",
        headers=(("tEsT-HEADeR", "aValUE"), ("Cookie", "a=1"), ("cookie", "b=2")),
    )  # fmt: skip
    assert request.header("test-header") == "aValUE"
    assert request.header("COOKIE") == "a=1"
    assert request.header_values("cookie") == ["a=1", "b=2"]
    assert request.header("missing") is None


# --- gateway answers ----------------------------------------------------------------------------------------


def test_rest_function_error_is_the_captured_502() -> None:
    # captured: HTTP 502, Content-Type application/json, Content-Length 36, x-amzn-RequestId,
    # x-amzn-ErrorType: InternalServerErrorException, x-amz-apigw-id; body {"message": "Internal server error"}
    answer = gateway_error("rest", "FUNCTION_ERROR", REQUEST_ID)
    assert answer.status == 502
    assert answer.body == b'{"message": "Internal server error"}'
    assert len(answer.body) == 36
    assert header(answer, "content-type") == "application/json"
    assert header(answer, "x-amzn-ErrorType") == "InternalServerErrorException"
    assert header(answer, "x-amzn-RequestId") == REQUEST_ID
    assert header(answer, "x-amz-apigw-id") == apigw_id(REQUEST_ID)
    assert gateway_error("rest", "MALFORMED_ANSWER", REQUEST_ID).body == answer.body


def test_rest_rejected_invoke_is_500_with_the_same_body() -> None:
    for name in ("LAMBDA_THROTTLED", "LAMBDA_REJECTED"):
        answer = gateway_error("rest", name, REQUEST_ID)
        assert (answer.status, answer.body) == (500, b'{"message": "Internal server error"}')


def test_rest_integration_timeout_is_the_captured_504() -> None:
    # captured 2025: HTTP/2 504, content-length: 41, x-amzn-errortype: InternalServerErrorException
    answer = gateway_error("rest", "INTEGRATION_TIMEOUT", REQUEST_ID)
    assert answer.status == 504
    assert answer.body == b'{"message": "Endpoint request timed out"}'
    assert len(answer.body) == 41
    assert header(answer, "x-amzn-ErrorType") == "InternalServerErrorException"


def test_rest_unknown_route_and_wrong_method_say_missing_authentication_token() -> None:
    # LSAC test_routing_not_found: {"message":"Missing Authentication Token"} + MissingAuthenticationTokenException
    for name in ("MISSING_AUTHENTICATION_TOKEN", "NOT_FOUND"):
        answer = gateway_error("rest", name, REQUEST_ID)
        assert answer.status == 403
        assert answer.body == b'{"message":"Missing Authentication Token"}'
        assert header(answer, "x-amzn-ErrorType") == "MissingAuthenticationTokenException"


def test_rest_authorizer_answers_as_captured() -> None:
    unauthorized = gateway_error("rest", "UNAUTHORIZED", REQUEST_ID)
    assert (unauthorized.status, unauthorized.body, len(unauthorized.body)) == (
        401, b'{"message":"Unauthorized"}', 26,
    )  # fmt: skip
    assert header(unauthorized, "x-amzn-ErrorType") == "UnauthorizedException"
    deny = gateway_error("rest", "ACCESS_DENIED", REQUEST_ID)
    assert deny.status == 403 and len(deny.body) == 82  # captured content-length: 82
    assert deny.body == b'{"Message":"User is not authorized to access this resource with an explicit deny"}'
    assert header(deny, "x-amzn-ErrorType") == "AccessDeniedException"
    implicit = gateway_error("rest", "NOT_AUTHORIZED", REQUEST_ID)
    assert implicit.body == b'{"Message":"User is not authorized to access this resource"}'
    broken = gateway_error("rest", "AUTHORIZER_CONFIGURATION_ERROR", REQUEST_ID)
    assert (broken.status, broken.body) == (500, b'{"message":null}')
    assert header(broken, "x-amzn-ErrorType") == "AuthorizerConfigurationException"


def test_rest_throttle_and_too_large() -> None:
    throttled = gateway_error("rest", "THROTTLED", REQUEST_ID)
    assert (throttled.status, throttled.body) == (429, b'{"message":"Too Many Requests"}')
    assert header(throttled, "x-amzn-ErrorType") == "TooManyRequestsException"
    too_large = gateway_error("rest", "REQUEST_TOO_LARGE", REQUEST_ID)
    assert (too_large.status, too_large.body) == (413, b"HTTP content length exceeded 10485760 bytes.")
    assert (header(too_large, "content-type") or "").startswith("text/")


def test_http_api_answers() -> None:
    not_found = gateway_error("http", "NOT_FOUND", REQUEST_ID)
    assert (not_found.status, not_found.body) == (404, b'{"message":"Not Found"}')
    assert header(not_found, "apigw-requestid") == apigw_id(REQUEST_ID)
    assert header(not_found, "x-amzn-ErrorType") is None
    assert header(not_found, "x-amzn-RequestId") is None
    for name in ("FUNCTION_ERROR", "MALFORMED_ANSWER", "LAMBDA_THROTTLED", "AUTHORIZER_CONFIGURATION_ERROR"):
        answer = gateway_error("http", name, REQUEST_ID)
        assert (answer.status, answer.body) == (500, b'{"message":"Internal Server Error"}')
    timeout = gateway_error("http", "INTEGRATION_TIMEOUT", REQUEST_ID)
    assert (timeout.status, timeout.body) == (503, b'{"message":"Service Unavailable"}')
    assert gateway_error("http", "FORBIDDEN", REQUEST_ID).status == 403
    assert gateway_error("http", "THROTTLED", REQUEST_ID).status == 429


def test_function_url_answers() -> None:
    # LST test_lambda_url_invocation_exception: 502, body exactly "Internal Server Error"
    error = gateway_error("url", "FUNCTION_ERROR", REQUEST_ID)
    assert (error.status, error.body) == (502, b"Internal Server Error")
    assert header(error, "x-amzn-RequestId") == REQUEST_ID
    # LST test_lambda_url_non_existing_url
    unknown = gateway_error("url", "URL_NOT_FOUND", REQUEST_ID)
    assert (unknown.status, unknown.body) == (403, b'{"Message":null}')
    assert header(unknown, "x-amzn-ErrorType") == "AccessDeniedException"
    forbidden = gateway_error("url", "URL_FORBIDDEN", REQUEST_ID)
    assert forbidden.status == 403
    assert json.loads(forbidden.body) == {
        "Message": "Forbidden. For troubleshooting Function URL authorization issues, see: "
        "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
    }
    assert gateway_error("url", "LAMBDA_THROTTLED", REQUEST_ID).status == 429


@pytest.mark.parametrize("kind", ["rest", "http", "url"])
def test_every_error_name_answers_for_every_kind(kind: str) -> None:
    from typing import get_args

    from simulator.gateway.responses import GatewayErrorName

    for name in get_args(GatewayErrorName):
        answer = gateway_error(kind, name, REQUEST_ID)  # type: ignore[arg-type]
        assert 400 <= answer.status < 600
        assert answer.header("content-type")
    with pytest.raises(ValueError):
        gateway_error(kind, "NO_SUCH_ERROR", REQUEST_ID)  # type: ignore[arg-type]


def test_id_headers_per_kind() -> None:
    assert id_headers("rest", REQUEST_ID) == (
        ("x-amzn-RequestId", REQUEST_ID), ("x-amz-apigw-id", apigw_id(REQUEST_ID)),
    )  # fmt: skip
    assert id_headers("http", REQUEST_ID) == (("apigw-requestid", apigw_id(REQUEST_ID)),)
    assert id_headers("url", REQUEST_ID) == (("x-amzn-RequestId", REQUEST_ID),)
    short = apigw_id(REQUEST_ID)
    assert len(short) == 16 and short.endswith("=")  # the form of "MIZRNhJtIAMEMDw="
    assert apigw_id(REQUEST_ID) == short and apigw_id("other") != short


# --- routing ------------------------------------------------------------------------------------------------



def route(method: str, path: str, *, api: str = "api", api_type: str = "http", function: str = "") -> Route:
    return Route(
        api=api, api_type=api_type, method=method, path=path, function=function or f"{method} {path}",
        qualifier=None, payload_format_version="1.0" if api_type == "rest" else "2.0",
        timeout_ms=29_000 if api_type == "rest" else 30_000, authorizer=None,
    )  # fmt: skip


def door(*routes: Route) -> FrontDoor:
    apis = {r.api: ApiDeclaration(type=r.api_type) for r in routes}  # type: ignore[arg-type]
    return FrontDoor(apis=apis, routes=list(routes))


def reached(front_door: FrontDoor, method: str, path: str) -> RouteMatch:
    result = match_route(front_door, method, path, request_id=REQUEST_ID)
    assert isinstance(result, RouteMatch), result
    return result


def test_http_api_priorities_as_in_aws_worked_table() -> None:
    # AGD23 http-api-develop-routes: the example routes and the route each request selects
    table = door(
        route("GET", "/pets/dog/1"), route("GET", "/pets/dog/{id}"), route("GET", "/pets/{proxy+}"),
        route("ANY", "/{proxy+}"), route("ANY", "$default"),
    )  # fmt: skip
    assert reached(table, "GET", "/pets/dog/1").route.path == "/pets/dog/1"
    assert reached(table, "GET", "/pets/dog/2").route.path == "/pets/dog/{id}"
    assert reached(table, "GET", "/pets/dog/2").path_parameters == {"id": "2"}
    assert reached(table, "GET", "/pets/cat/1").route.path == "/pets/{proxy+}"
    assert reached(table, "GET", "/pets/cat/1").path_parameters == {"proxy": "cat/1"}
    post = reached(table, "POST", "/test/5")
    assert (post.route.method, post.route.path) == ("ANY", "/{proxy+}")
    assert reached(table, "GET", "/").route.path == "$default"  # a greedy variable needs a segment
    assert reached(table, "GET", "/").path_parameters is None


def test_http_api_specific_method_beats_any_and_unknown_is_404() -> None:
    table = door(route("ANY", "/orders"), route("GET", "/orders"), route("POST", "/orders/{id}"))
    assert reached(table, "GET", "/orders").route.method == "GET"
    assert reached(table, "DELETE", "/orders").route.method == "ANY"
    refused = match_route(table, "GET", "/orders/1", request_id=REQUEST_ID)  # no GET route: not found
    assert isinstance(refused, Refusal)
    assert (refused.answer.status, refused.answer.body) == (404, b'{"message":"Not Found"}')


def test_http_api_decodes_the_path_for_routing_and_parameters() -> None:
    table = door(route("GET", "/users/{name}"))
    assert reached(table, "GET", "/users/john%20doe").path_parameters == {"name": "john doe"}


def test_rest_recorded_paths_and_proxy_values() -> None:
    # LSAL test_lambda_aws_proxy_integration: resources /{proxy+} and /hardcoded, both ANY
    table = door(route("ANY", "/{proxy+}", api_type="rest"), route("ANY", "/hardcoded", api_type="rest"))
    recorded = {
        "/proxy-value": {"proxy": "proxy-value"},
        "/proxy-value/": {"proxy": "proxy-value"},
        "/proxy-value//double-slash": {"proxy": "proxy-value//double-slash"},
        "//proxy-value": {"proxy": "proxy-value"},
        "/proxy-value/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com": {
            "proxy": "proxy-value/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com"
        },
    }
    for path, parameters in recorded.items():
        match = reached(table, "GET", path)
        assert (match.route.path, match.path_parameters) == ("/{proxy+}", parameters), path
    hardcoded = reached(table, "GET", "//hardcoded")
    assert (hardcoded.route.path, hardcoded.path_parameters) == ("/hardcoded", None)


def test_rest_keeps_simple_variables_encoded() -> None:
    table = door(route("GET", "/posts/{id}", api_type="rest"))
    assert reached(table, "GET", "/posts/%40").path_parameters == {"id": "%40"}


def test_rest_wrong_method_and_unknown_path_are_missing_authentication_token() -> None:
    table = door(route("GET", "/orders/{id}", api_type="rest"), route("ANY", "/{proxy+}", api_type="rest"))
    assert reached(table, "GET", "/orders/7").route.path == "/orders/{id}"
    # the resource /orders/{id} is chosen by its path; it has no POST
    wrong = match_route(table, "POST", "/orders/7", request_id=REQUEST_ID)
    assert isinstance(wrong, Refusal)
    assert (wrong.answer.status, wrong.answer.body) == (403, b'{"message":"Missing Authentication Token"}')
    only_rest = door(route("GET", "/orders", api_type="rest"))
    unknown = match_route(only_rest, "GET", "/nothing", request_id=REQUEST_ID)
    assert isinstance(unknown, Refusal) and unknown.answer.status == 403
    assert isinstance(match_route(only_rest, "GET", "/", request_id=REQUEST_ID), Refusal)


def test_rest_static_beats_variable_beats_greedy_and_method_beats_any() -> None:
    table = door(
        route("ANY", "/{proxy+}", api_type="rest"), route("GET", "/a/{id}", api_type="rest"),
        route("GET", "/a/b", api_type="rest"), route("ANY", "/a/b", api_type="rest"),
        route("GET", "/a/{id}/{proxy+}", api_type="rest"),
    )  # fmt: skip
    assert (reached(table, "GET", "/a/b").route.method, reached(table, "GET", "/a/b").route.path) == ("GET", "/a/b")
    assert reached(table, "PUT", "/a/b").route.method == "ANY"
    assert reached(table, "GET", "/a/c").route.path == "/a/{id}"
    assert reached(table, "GET", "/a/c/d/e").path_parameters == {"id": "c", "proxy": "d/e"}
    assert reached(table, "GET", "/x/y").route.path == "/{proxy+}"
    assert reached(table, "GET", "/a/b/").route.path == "/a/b"  # a trailing slash is ignored


def test_shared_port_ties_go_to_the_first_route_and_no_match_follows_the_apis_kinds() -> None:
    first = route("GET", "/same", api="one", function="first")
    second = route("GET", "/same", api="two", function="second")
    assert reached(door(first, second), "GET", "/same").route.function == "first"
    mixed = door(route("GET", "/r", api="rest", api_type="rest"), route("GET", "/h", api="http"))
    refused = match_route(mixed, "GET", "/neither", request_id=REQUEST_ID)
    assert isinstance(refused, Refusal) and refused.answer.status == 404


# --- events -------------------------------------------------------------------------------------------------

ACCOUNT = "111111111111"
RECEIVED_MS = 1583349317135  # AGD23's example: requestTime "04/Mar/2020:19:15:17 +0000"
REST_KEYS = {
    "resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
    "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext", "body",
    "isBase64Encoded",
}  # fmt: skip
REST_CONTEXT_KEYS = {
    "accountId", "apiId", "deploymentId", "domainName", "domainPrefix", "extendedRequestId", "httpMethod",
    "identity", "path", "protocol", "requestId", "requestTime", "requestTimeEpoch", "resourceId", "resourcePath",
    "stage",
}  # fmt: skip
IDENTITY_KEYS = {
    "accessKey", "accountId", "caller", "cognitoAuthenticationProvider", "cognitoAuthenticationType",
    "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId", "sourceIp", "user", "userAgent", "userArn",
}  # fmt: skip
# what python-requests sends in LSAL test_lambda_aws_proxy_integration's invoke_api
LSAL_HEADERS = (
    ("Host", "abcdef1234.execute-api.us-east-1.amazonaws.com"), ("User-Agent", "python-requests/testing"),
    ("Accept-Encoding", "gzip, deflate"), ("Accept", "*/*"), ("Connection", "keep-alive"),
    ("tEsT-HEADeR", "aValUE"), ("authorization", "random-value"),
)  # fmt: skip


def gateway_request(method: str, target: str, headers: tuple[tuple[str, str], ...] = (), body: bytes = b"") -> GatewayRequest:
    path, _, query = target.partition("?")
    host = next((value for name, value in headers if name.lower() == "host"), "127.0.0.1:3000")
    return GatewayRequest(
        method=method, raw_path=path, raw_query=query.partition("#")[0], headers=headers, body=body,
        source_ip="203.0.113.10", host=host, received_ms=RECEIVED_MS, request_id=REQUEST_ID,
    )  # fmt: skip


def rest_event(target: str, *, method: str = "GET", headers=LSAL_HEADERS, body: bytes = b"", api=None, table=None):
    table = table or door(route("ANY", "/{proxy+}", api_type="rest"), route("ANY", "/hardcoded", api_type="rest"))
    api = api or ApiDeclaration(type="rest", stage="stage")
    request = gateway_request(method, target, headers, body)
    match = reached(table, method, request.raw_path)
    return api_event(request, match, api, account_id=ACCOUNT, region="us-east-1", api_id="abcdef1234")


def test_rest_event_key_set_casing_and_nulls_as_recorded() -> None:
    event = rest_event("/hardcoded")
    assert set(event) == REST_KEYS  # no "version" in a REST event
    assert set(event["requestContext"]) == REST_CONTEXT_KEYS
    assert set(event["requestContext"]["identity"]) == IDENTITY_KEYS
    # LSAL invocation-hardcoded (requested as //hardcoded there; see the path test)
    assert event["resource"] == "/hardcoded" and event["path"] == "/hardcoded"
    assert event["pathParameters"] is None and event["stageVariables"] is None
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["body"] is None and event["isBase64Encoded"] is False
    headers = event["headers"]
    for name, value in {"Accept": "*/*", "Accept-Encoding": "gzip, deflate", "Authorization": "random-value",
                        "User-Agent": "python-requests/testing", "tEsT-HEADeR": "aValUE"}.items():  # fmt: skip
        assert headers[name] == value
        assert event["multiValueHeaders"][name] == [value]
    assert "Connection" not in headers and "authorization" not in headers
    assert {"X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto", "X-Amzn-Trace-Id"} <= set(headers)
    context = event["requestContext"]
    assert context["httpMethod"] == "GET" and context["protocol"] == "HTTP/1.1"
    assert context["accountId"] == ACCOUNT and context["apiId"] == context["domainPrefix"] == "abcdef1234"
    assert context["domainName"] == "abcdef1234.execute-api.us-east-1.amazonaws.com"  # = Host
    assert context["requestId"] == REQUEST_ID and context["stage"] == "stage"
    assert context["resourcePath"] == "/hardcoded"
    assert context["requestTime"] == "04/Mar/2020:19:15:17 +0000" and context["requestTimeEpoch"] == RECEIVED_MS
    assert context["identity"]["userAgent"] == "python-requests/testing"
    assert context["identity"]["sourceIp"] == "203.0.113.10"


def test_rest_event_paths_as_recorded() -> None:
    # LSAL: request path after the stage -> (path, requestContext.path, pathParameters)
    recorded = {
        "/proxy-value": ("/proxy-value", "/stage/proxy-value", {"proxy": "proxy-value"}),
        "/proxy-value/": ("/proxy-value/", "/stage/proxy-value/", {"proxy": "proxy-value"}),
        "/proxy-value//double-slash": (
            "/proxy-value//double-slash", "/stage/proxy-value//double-slash", {"proxy": "proxy-value//double-slash"},
        ),
        "//proxy-value": ("/proxy-value", "/stage//proxy-value", {"proxy": "proxy-value"}),
        "/proxy-value/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com": (
            "/proxy-value/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com",
            "/stage/proxy-value/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com",
            {"proxy": "proxy-value/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com"},
        ),
        "//hardcoded": ("/hardcoded", "/stage//hardcoded", None),
    }  # fmt: skip
    for target, (path, context_path, parameters) in recorded.items():
        event = rest_event(target)
        assert (event["path"], event["requestContext"]["path"], event["pathParameters"]) == (
            path, context_path, parameters,
        ), target  # fmt: skip
    with_query = rest_event("/proxy-value/?urlparam=test")
    assert with_query["queryStringParameters"] == {"urlparam": "test"}
    assert with_query["multiValueQueryStringParameters"] == {"urlparam": ["test"]}


def test_rest_event_query_decoding_as_recorded() -> None:
    # LSAL invocation-payload-with-params-encoding: the raw query up to "#", and AWS's decoded values
    target = (
        "/proxy-value/api?dateTimeOffset=2023-06-12T18:05:10.123456+00:00&email=test%2Balias@gmail.com"
        "&plus=test+alias@gmail.com&url=https://www.google.com/&whitespace=foo bar&zhash=abort/"
        "#&ignored=this-does-not-appear-after-the-hash"
    )
    event = rest_event(target)
    assert event["queryStringParameters"] == {
        "dateTimeOffset": "2023-06-12T18:05:10.123456 00:00",
        "email": "test+alias@gmail.com",
        "plus": "test alias@gmail.com",
        "url": "https://www.google.com/",
        "whitespace": "foo bar",
        "zhash": "abort/",
    }
    assert event["multiValueQueryStringParameters"]["plus"] == ["test alias@gmail.com"]
    assert event["pathParameters"] == {"proxy": "proxy-value/api"}


def test_rest_event_multi_values_and_post_body_as_recorded() -> None:
    # LSAL invocation-payload-with-params-encoding-multi: requests.post(params=..., data=json.dumps(...))
    body = json.dumps({"message": "hello world"}).encode()
    headers = (
        ("Host", "abcdef1234.execute-api.us-east-1.amazonaws.com"), ("User-Agent", "python-requests/testing"),
        ("Accept-Encoding", "gzip, deflate"), ("Accept", "*/*"), ("Connection", "keep-alive"),
        ("Content-Type", "application/json;charset=utf-8"), ("aUThorization", "Bearer token123;API key456"),
        ("Content-Length", str(len(body))),
    )  # fmt: skip
    event = rest_event("/proxy-value?category=electronics&category=books&price=10&price=20&price=30",
                       method="POST", headers=headers, body=body)  # fmt: skip
    assert event["queryStringParameters"] == {"category": "books", "price": "30"}
    assert event["multiValueQueryStringParameters"] == {
        "category": ["electronics", "books"], "price": ["10", "20", "30"],
    }  # fmt: skip
    assert event["headers"]["Authorization"] == "Bearer token123;API key456"
    assert event["headers"]["Content-Type"] == "application/json;charset=utf-8"
    assert "Content-Length" not in event["headers"]  # absent from the recorded event
    assert event["body"] == '{"message": "hello world"}' and event["isBase64Encoded"] is False
    assert event["httpMethod"] == "POST"


def test_rest_event_repeated_headers_binary_bodies_and_stage_variables() -> None:
    headers = (("Accept", "a/b"), ("accept", "c/d"), ("Content-Type", "image/png"))
    api = ApiDeclaration(type="rest", stage="v1", binary_media_types=["image/*"], stage_variables={"env": "local"})
    event = rest_event("/proxy-value", method="POST", headers=headers, body=b"\x89PNG\x00", api=api)
    assert event["headers"]["Accept"] == "c/d"  # the last value
    assert event["multiValueHeaders"]["Accept"] == ["a/b", "c/d"]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x89PNG\x00"
    assert event["stageVariables"] == {"env": "local"}
    assert event["requestContext"]["path"] == "/v1/proxy-value"
    text = rest_event("/proxy-value", method="POST", headers=(("Content-Type", "text/plain"),), body=b"hi", api=api)
    assert (text["body"], text["isBase64Encoded"]) == ("hi", False)


def http_event(target: str, *, method: str = "GET", headers=(), body: bytes = b"", version: str = "2.0",
               table=None, api=None):  # fmt: skip
    table = table or door(route("GET", "/pets/{id}"), route("ANY", "$default"))
    api = api or ApiDeclaration(type="http")
    request = gateway_request(method, target, headers, body)
    match = reached(table, method, request.raw_path)
    if version == "1.0":
        match = RouteMatch(route=match.route.model_copy(update={"payload_format_version": "1.0"}),
                           path_parameters=match.path_parameters)  # fmt: skip
    return api_event(request, match, api, account_id=ACCOUNT, region="us-east-1", api_id="xxx")


def test_http_v2_event_decodes_path_and_query_as_captured() -> None:
    # aws-lambda-dotnet V2_SpecialCharactersInPath.json and V2_UrlEncodedQueryString.json (captured on AWS)
    table = door(route("POST", "/test13/api/users/{username}/orders/{orderName}"), route("POST", "/test12/api/search"))
    event = http_event("/test13/api/users/****%20Doe/orders/Summer%20Sale%202023", method="POST", table=table)
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/test13/api/users/**** Doe/orders/Summer Sale 2023"
    assert event["pathParameters"] == {"orderName": "Summer Sale 2023", "username": "**** Doe"}
    assert event["routeKey"] == "POST /test13/api/users/{username}/orders/{orderName}"
    assert event["requestContext"]["http"]["userAgent"] == ""
    search = http_event("/test12/api/search?q=Hello%20World&tag=C%23%20Programming&tag=.NET%20Core", method="POST",
                        table=table)  # fmt: skip
    assert search["rawQueryString"] == "q=Hello%20World&tag=C%23%20Programming&tag=.NET%20Core"
    assert search["queryStringParameters"] == {"q": "Hello World", "tag": "C# Programming,.NET Core"}
    assert search["headers"]["content-length"] == "0"


def test_http_v2_minimal_event_matches_the_capture() -> None:
    # RR apigw_v2_proxy_request_minimal.json: GET / with curl, no query, no cookies, no body
    headers = (("Host", "xxx.execute-api.us-east-1.amazonaws.com"), ("User-Agent", "curl/7.64.1"), ("Accept", "*/*"))
    event = http_event("/", headers=headers)
    assert set(event) == {"version", "routeKey", "rawPath", "rawQueryString", "headers", "requestContext",
                          "isBase64Encoded"}  # fmt: skip
    assert (event["version"], event["routeKey"], event["rawPath"], event["rawQueryString"]) == ("2.0", "$default", "/", "")
    assert event["isBase64Encoded"] is False
    assert event["headers"]["content-length"] == "0" and event["headers"]["accept"] == "*/*"
    assert event["headers"]["host"] == "xxx.execute-api.us-east-1.amazonaws.com"
    context = event["requestContext"]
    assert set(context) == {"accountId", "apiId", "domainName", "domainPrefix", "http", "requestId", "routeKey",
                            "stage", "time", "timeEpoch"}  # fmt: skip
    assert context["http"] == {"method": "GET", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10",
                               "userAgent": "curl/7.64.1"}  # fmt: skip
    assert len(context["requestId"]) == 16 and context["requestId"].endswith("=")
    assert (context["stage"], context["routeKey"]) == ("$default", "$default")
    assert context["time"] == "04/Mar/2020:19:15:17 +0000" and context["timeEpoch"] == RECEIVED_MS


def test_http_v2_event_joins_repeats_lists_cookies_and_names_the_route() -> None:
    headers = (("Header2", "value1"), ("header2", "value2"), ("Cookie", "cookie1=a; cookie2=b"),
               ("Content-Type", "application/json"))  # fmt: skip
    event = http_event("/pets/7?parameter1=value1&parameter1=value2&parameter2=value", method="GET",
                       headers=headers, body=b'{"a":1}')  # fmt: skip
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /pets/{id}"
    assert event["headers"]["header2"] == "value1,value2"  # AGD23's example
    assert event["queryStringParameters"] == {"parameter1": "value1,value2", "parameter2": "value"}
    assert event["rawQueryString"] == "parameter1=value1&parameter1=value2&parameter2=value"
    assert event["cookies"] == ["cookie1=a", "cookie2=b"]
    assert "cookie" not in event["headers"]
    assert event["pathParameters"] == {"id": "7"}
    assert (event["body"], event["isBase64Encoded"]) == ('{"a":1}', False)


def test_http_api_text_or_base64_by_content_type() -> None:
    # text/*, application/json, application/xml, application/javascript as text; anything else base64
    for content_type, encoded in [("text/plain", False), ("text/html; charset=utf-8", False),
                                  ("application/json", False), ("application/xml", False),
                                  ("application/javascript", False), ("application/octet-stream", True),
                                  ("application/x-www-form-urlencoded", True), ("image/png", True)]:  # fmt: skip
        event = http_event("/x", method="POST", headers=(("Content-Type", content_type),), body=b"hello world")
        assert event["isBase64Encoded"] is encoded, content_type
        assert event["body"] == ("aGVsbG8gd29ybGQ=" if encoded else "hello world")  # floci-io/floci#2172's event
    untyped = http_event("/x", method="POST", body=b"hello world")
    assert untyped["isBase64Encoded"] is True


def test_http_api_named_stage_decoded_path_and_stage_variables() -> None:
    api = ApiDeclaration(type="http", stage="Prod", stage_variables={"a": "b"})
    event = http_event("/my/pa%20th", api=api)
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/Prod/my/pa th"
    assert event["requestContext"]["stage"] == "Prod"
    assert event["stageVariables"] == {"a": "b"}


def test_http_v1_event_as_captured() -> None:
    # aws-lambda-dotnet V1_SpecialCharactersInPathHttpV1.json (captured on AWS): POST to
    # /test5/api/users/****%20Doe/orders/Summer%20Sale%202023, no User-Agent, .NET's headers
    table = door(route("POST", "/test5/api/users/{username}/orders/{orderName}"))
    headers = (("Host", "0awrsfc302.execute-api.us-west-2.amazonaws.com"),
               ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "0"))  # fmt: skip
    event = http_event("/test5/api/users/****%20Doe/orders/Summer%20Sale%202023", method="POST", headers=headers,
                       version="1.0", table=table)  # fmt: skip
    assert event["version"] == "1.0" and set(event) == REST_KEYS | {"version"}
    assert event["resource"] == "/test5/api/users/{username}/orders/{orderName}"
    assert event["path"] == "/test5/api/users/****%20Doe/orders/Summer%20Sale%202023"
    assert event["pathParameters"] == {"orderName": "Summer Sale 2023", "username": "**** Doe"}
    assert event["headers"]["Content-Length"] == "0" and event["headers"]["Content-Type"] == "text/plain; charset=utf-8"
    assert {"X-Amzn-Trace-Id", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto"} <= set(event["headers"])
    assert event["queryStringParameters"] is None and event["body"] is None and event["stageVariables"] is None
    context = event["requestContext"]
    assert context["path"] == "/test5/api/users/**** Doe/orders/Summer Sale 2023"
    assert context["resourceId"] == "POST /test5/api/users/{username}/orders/{orderName}"
    assert context["resourcePath"] == "/test5/api/users/{username}/orders/{orderName}"
    assert context["stage"] == "$default" and "deploymentId" not in context and "authorizer" not in context
    assert context["requestId"].endswith("=") and context["extendedRequestId"] == context["requestId"]
    assert context["identity"]["userAgent"] == ""
    repeated = http_event("/pets/7?a=1&a=2", headers=(("X-Custom", "v"),), version="1.0")
    assert repeated["headers"]["X-Custom"] == "v"
    assert repeated["multiValueQueryStringParameters"] == {"a": ["1", "2"]} and repeated["queryStringParameters"] == {"a": "2"}


def test_rest_event_keeps_simple_parameters_encoded_as_captured() -> None:
    # aws-lambda-dotnet V1_SpecialCharactersInPathRest.json (captured on AWS, stage "test")
    table = door(route("POST", "/test5/api/users/{username}/orders/{orderName}", api_type="rest"))
    event = rest_event("/test5/api/users/****%20Doe/orders/Summer%20Sale%202023", method="POST", headers=(),
                       api=ApiDeclaration(type="rest", stage="test"), table=table)  # fmt: skip
    assert event["path"] == "/test5/api/users/****%20Doe/orders/Summer%20Sale%202023"
    assert event["pathParameters"] == {"username": "****%20Doe", "orderName": "Summer%20Sale%202023"}
    assert event["requestContext"]["path"] == "/test/test5/api/users/****%20Doe/orders/Summer%20Sale%202023"
    assert event["requestContext"]["identity"]["userAgent"] is None


def test_authorizer_context_goes_to_the_request_context() -> None:
    request = gateway_request("GET", "/pets/1")
    match = reached(door(route("GET", "/pets/{id}")), "GET", "/pets/1")
    event = api_event(request, match, ApiDeclaration(type="http"), account_id=ACCOUNT, region="us-east-1",
                      api_id="xxx", authorizer_context={"lambda": {"user": "u1"}})  # fmt: skip
    assert event["requestContext"]["authorizer"] == {"lambda": {"user": "u1"}}


def function_url(function: str = "echo") -> FunctionUrl:
    return FunctionUrl(function=function, config=FunctionUrlConfig(), url_id="0123456789abcdefghijklmnopqrstuv")


def test_function_url_event_as_recorded() -> None:
    # LSL test_lambda_url_echo_http_fixture_default: requests.post(json={"foo": "bar"}) with these headers
    body = json.dumps({"foo": "bar"}).encode()
    headers = (
        ("Host", "0123456789abcdefghijklmnopqrstuv.lambda-url.us-east-1.on.aws"), ("user-agent", "test/echo"),
        ("Accept-Encoding", "gzip, deflate"), ("Accept", "*/*"), ("Connection", "keep-alive"),
        ("content-type", "application/json"), ("ExTrA-HeadErs", "With WeiRd CapS"), ("Content-Length", "14"),
    )  # fmt: skip
    request = gateway_request("POST", "/pa2%Fth/1?q=query&multiQuery=foo&multiQuery=%2Fbar", headers, body)
    event = url_event(request, function_url(), account_id=ACCOUNT, region="us-east-1")
    client_headers = {name: event["headers"][name] for name in
                      ("accept", "accept-encoding", "content-length", "content-type", "extra-headers", "host",
                       "user-agent")}  # fmt: skip
    assert client_headers == {
        "accept": "*/*", "accept-encoding": "gzip, deflate", "content-length": "14",
        "content-type": "application/json", "extra-headers": "With WeiRd CapS",
        "host": "0123456789abcdefghijklmnopqrstuv.lambda-url.us-east-1.on.aws", "user-agent": "test/echo",
    }  # fmt: skip
    assert "connection" not in event["headers"]
    assert {"x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"} <= set(event["headers"])
    assert event["queryStringParameters"] == {"multiQuery": "foo,/bar", "q": "query"}
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/pa2%Fth/1"
    assert json.loads(event["body"]) == {"foo": "bar"} and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert event["routeKey"] == context["routeKey"] == "$default" and context["stage"] == "$default"
    assert context["domainName"] == "0123456789abcdefghijklmnopqrstuv.lambda-url.us-east-1.on.aws"
    assert context["apiId"] == context["domainPrefix"] == "0123456789abcdefghijklmnopqrstuv"
    assert context["requestId"] == REQUEST_ID  # function URLs show the invocation's uuid
    assert "authorizer" not in context and "pathParameters" not in event and "stageVariables" not in event


def test_function_url_event_cookies_stay_in_headers_and_forms_are_base64() -> None:
    # RR lambda_function_url_request.json: "cookie": "test=hi" and "cookies": ["test=hi"]
    request = gateway_request("GET", "/my/path", (("cookie", "test=hi"),))
    event = url_event(request, function_url(), account_id=ACCOUNT, region="eu-west-2")
    assert event["headers"]["cookie"] == "test=hi" and event["cookies"] == ["test=hi"]
    assert "body" not in event and event["isBase64Encoded"] is False
    # LSL test_lambda_url_form_payload: the multipart body arrives base64-encoded
    form = (
        b"\r\n--4efd159eae0c4f4e125a5a509e073d85\r\n"
        b'Content-Disposition: form-data; name="formfield"\r\n\r\n'
        b"not a file, just a field"
        b"\r\n--4efd159eae0c4f4e125a5a509e073d85\r\n"
        b'Content-Disposition: form-data; name="foo"; filename="foo"\r\n'
        b"Content-Type: text/plain;\r\n\r\n"
        b"bar"
        b"\r\n\r\n--4efd159eae0c4f4e125a5a509e073d85--\r\n"
    )
    content_type = ("Content-Type", "multipart/form-data; boundary=4efd159eae0c4f4e125a5a509e073d85")
    posted = url_event(gateway_request("POST", "/test/value", (content_type,), form), function_url(),
                       account_id=ACCOUNT, region="us-east-1")  # fmt: skip
    assert posted["isBase64Encoded"] is True
    assert posted["body"] == (
        "DQotLTRlZmQxNTllYWUwYzRmNGUxMjVhNWE1MDllMDczZDg1DQpDb250ZW50LURpc3Bvc2l0aW9uOiBmb3JtLWRhdGE7IG5hbWU9ImZvcm1m"
        "aWVsZCINCg0Kbm90IGEgZmlsZSwganVzdCBhIGZpZWxkDQotLTRlZmQxNTllYWUwYzRmNGUxMjVhNWE1MDllMDczZDg1DQpDb250ZW50LURp"
        "c3Bvc2l0aW9uOiBmb3JtLWRhdGE7IG5hbWU9ImZvbyI7IGZpbGVuYW1lPSJmb28iDQpDb250ZW50LVR5cGU6IHRleHQvcGxhaW47DQoNCmJh"
        "cg0KDQotLTRlZmQxNTllYWUwYzRmNGUxMjVhNWE1MDllMDczZDg1LS0NCg=="
    )
    iam = {"accessKey": "AKIA", "accountId": ACCOUNT, "callerId": "AIDA", "cognitoIdentity": None,
           "principalOrgId": None, "userArn": f"arn:aws:iam::{ACCOUNT}:user/u", "userId": "AIDA"}  # fmt: skip
    signed = url_event(request, function_url(), account_id=ACCOUNT, region="us-east-1", iam=iam)
    assert signed["requestContext"]["authorizer"] == {"iam": iam}


def test_api_id_and_request_time() -> None:
    api_id = api_id_of("orders", ACCOUNT, "us-east-1")
    assert len(api_id) == 10 and api_id.isalnum() and api_id == api_id.lower()
    assert api_id == api_id_of("orders", ACCOUNT, "us-east-1") != api_id_of("other", ACCOUNT, "us-east-1")
    assert request_time(1588804615616) == "06/May/2020:22:36:55 +0000"  # RR's capture


# --- answers ------------------------------------------------------------------------------------------------

REST_ROUTE = route("ANY", "/{proxy+}", api_type="rest")
REST_API = ApiDeclaration(type="rest", stage="test")


def rest_answer(answer: object, *, api: ApiDeclaration = REST_API, accept: str | None = None,
                function_error: bool = False) -> GatewayAnswer:  # fmt: skip
    headers = (("Accept", accept),) if accept else ()
    request = gateway_request("POST", "/test", headers)
    raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    return api_answer(REST_ROUTE, api, request, raw, function_error=function_error)


def names(answer: GatewayAnswer) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in answer.headers:
        found.setdefault(name, []).append(value)
    return found


def test_rest_answers_as_recorded() -> None:
    # LSAL test_aws_proxy_response_payload_format_validation: the handler's answer -> what the client got
    no_body = rest_answer({"statusCode": 200})
    assert (no_body.status, no_body.body) == (200, b"")
    assert no_body.header("Content-Type") == "application/json"
    assert no_body.header("x-amzn-RequestId") == REQUEST_ID and no_body.header("x-amz-apigw-id")
    with_headers = rest_answer({"statusCode": 200, "headers": {"test-header": "value", "header-bool": True}})
    assert names(with_headers)["test-header"] == ["value"] and names(with_headers)["header-bool"] == ["true"]
    assert rest_answer({"statusCode": 200, "headers": None}).status == 200
    multi = rest_answer({"statusCode": 200, "multiValueHeaders": {"test-multi": ["value1", "value2"]}})
    assert names(multi)["test-multi"] == ["value1", "value2"]  # the client joins them: "value1, value2"
    overwrite = rest_answer({"statusCode": 200, "multiValueHeaders": {"test-multi": ["value-multi"]},
                             "headers": {"test-multi": "value-solo"}})  # fmt: skip
    assert names(overwrite)["test-multi"] == ["value-multi", "value-solo"]
    casing = rest_answer({"statusCode": 200, "multiValueHeaders": {"tesT-Multi": ["value-multi"]},
                          "headers": {"test-multi": "value-solo"}})  # fmt: skip
    assert names(casing)["tesT-Multi"] == ["value-multi", "value-solo"] and "test-multi" not in names(casing)
    assert rest_answer({"statusCode": "201"}).status == 201
    assert rest_answer({"headers": {"test-header": "value"}}).status == 200  # statusCode defaults to 200
    b64 = base64.b64encode(b"test-data").decode()
    assert rest_answer({"statusCode": 200, "body": b64, "isBase64Encoded": True}).body == b"dGVzdC1kYXRh"
    assert rest_answer({"statusCode": 200, "body": b64}).body == b"dGVzdC1kYXRh"
    for malformed in ({"statusCode": 200, "wrongValue": "value"},
                      {"statusCode": 200, "multiValueHeaders": {"test-multi-invalid": "value1"}},
                      {"statusCode": "test"}, "justAString"):  # fmt: skip
        answer = rest_answer(malformed)
        assert (answer.status, answer.body) == (502, b'{"message": "Internal server error"}'), malformed
        assert answer.header("x-amzn-ErrorType") == "InternalServerErrorException"


def test_rest_answer_same_value_in_both_header_maps_appears_once_and_body_must_be_text() -> None:
    both = rest_answer({"statusCode": 200, "multiValueHeaders": {"a": ["1"]}, "headers": {"A": "1"}})
    assert names(both)["a"] == ["1"]
    typed = rest_answer({"statusCode": 404, "headers": {"Content-Type": "text/html"}, "body": "<p>no</p>"})
    assert (typed.status, typed.header("content-type"), typed.body) == (404, "text/html", b"<p>no</p>")
    assert rest_answer({"statusCode": 200, "body": {"message": "hi"}}).status == 502  # body must be a string
    assert rest_answer(b"not json").status == 502
    assert rest_answer({"statusCode": 700}).status == 502


def test_rest_decodes_base64_only_for_a_binary_accept() -> None:
    api = ApiDeclaration(type="rest", binary_media_types=["image/png"])
    png = {"statusCode": 200, "headers": {"Content-Type": "image/png"},
           "body": base64.b64encode(b"\x89PNG").decode(), "isBase64Encoded": True}  # fmt: skip
    assert rest_answer(png, api=api, accept="image/png").body == b"\x89PNG"
    # only the first Accept type counts: a browser's text/html,... gets the base64 text
    assert rest_answer(png, api=api, accept="text/html,image/png").body == png["body"].encode()
    assert rest_answer(png, api=api, accept="*/*").body == png["body"].encode()
    anything = ApiDeclaration(type="rest", binary_media_types=["*/*"])
    assert rest_answer(png, api=anything, accept="text/html").body == b"\x89PNG"


def test_rest_function_error_is_502() -> None:
    failed = rest_answer({"errorMessage": "boom", "errorType": "Exception"}, function_error=True)
    assert (failed.status, failed.body) == (502, b'{"message": "Internal server error"}')


def http_answer(answer: object, *, version: str = "2.0", function_error: bool = False) -> GatewayAnswer:
    http_route = route("GET", "/x").model_copy(update={"payload_format_version": version})
    raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    return api_answer(http_route, ApiDeclaration(type="http"), gateway_request("GET", "/x"), raw,
                      function_error=function_error)  # fmt: skip


def test_http_v2_answers_and_shortcut() -> None:
    # AGD23: "Hello from Lambda!" -> body Hello from Lambda!; an object without statusCode is the body
    shortcut = http_answer("Hello from Lambda!")
    assert (shortcut.status, shortcut.body, shortcut.header("content-type")) == (
        200, b"Hello from Lambda!", "application/json",
    )  # fmt: skip
    assert http_answer(b'{ "message": "Hello from Lambda!" }').body == b'{ "message": "Hello from Lambda!" }'
    assert http_answer({"body": "x", "headers": {"a": "b"}}).body == b'{"body": "x", "headers": {"a": "b"}}'
    full = http_answer({"statusCode": 201, "headers": {"X-A": "1"}, "body": "hi",
                        "cookies": ["a=1; Max-Age=60", "b=2"]})  # fmt: skip
    assert (full.status, full.body) == (201, b"hi")
    assert full.header("content-type") == "text/plain; charset=utf-8"  # an HTTP API's default for statusCode answers
    assert names(full)["set-cookie"] == ["a=1; Max-Age=60", "b=2"] and names(full)["X-A"] == ["1"]
    assert full.header("apigw-requestid") == apigw_id(REQUEST_ID)
    binary = http_answer({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True})
    assert binary.body == b"\x00\x01"  # decoded whatever the Accept: HTTP APIs have no binary media types
    for failure in (http_answer({"statusCode": "x"}), http_answer(b"{oops"), http_answer({}, function_error=True)):
        assert (failure.status, failure.body) == (500, b'{"message":"Internal Server Error"}')


def test_http_v1_answer_needs_a_status_code() -> None:
    assert http_answer({"headers": {"a": "b"}}, version="1.0").status == 500
    ok = http_answer({"statusCode": 200, "body": "x", "multiValueHeaders": {"a": ["1", "2"]}}, version="1.0")
    assert (ok.status, ok.body, names(ok)["a"]) == (200, b"x", ["1", "2"])
    assert ok.header("content-type") == "text/plain; charset=utf-8"


def url_result(answer: object, *, function_error: bool = False) -> GatewayAnswer:
    raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    return url_answer(gateway_request("POST", "/custom_path/extend"), raw, function_error=function_error)


def test_function_url_answers_as_recorded() -> None:
    # LSL test_lambda_url_invocation[...]: what the Python handler returned (as the runtime serializes it,
    # spaced) -> the body and Content-Length the client got, all 200 application/json
    recorded = [
        (b'{"hello": "world"}', b'{"hello":"world"}', 17),
        (b'{"statusCode": 200, "body": "body123"}', b"body123", 7),
        (b'{"statusCode": 200, "body": "{\\"hello\\": \\"world\\"}"}', b'{"hello": "world"}', 18),
        (b'["hello", 3, true]', b'["hello",3,true]', 16),
        (b'"hello"', b"hello", 5),
        (b"3", b"3", 1),
        (b"3.1", b"3.1", 3),
        (b"true", b"true", 4),
    ]
    for result, body, length in recorded:
        answer = url_result(result)
        assert (answer.status, answer.body, len(answer.body)) == (200, body, length), result
        assert answer.header("content-type") == "application/json"
        assert answer.header("x-amzn-RequestId") == REQUEST_ID
    # LST test_lambda_url_headers_and_status
    custom = url_result({"statusCode": 201, "headers": {"Content-Type": "application/json",
                         "My-Custom-Header": "Custom Value"}, "body": json.dumps({"message": "hello-world"}),
                         "isBase64Encoded": False})  # fmt: skip
    assert custom.status == 201 and custom.header("my-custom-header") == "Custom Value"
    assert json.loads(custom.body) == {"message": "hello-world"}
    teapot = url_result({"statusCode": "418", "body": "i'm a teapot", "isBase64Encoded": False})
    assert (teapot.status, teapot.body) == (418, b"i'm a teapot")
    failed = url_result({"errorMessage": "boom"}, function_error=True)
    assert (failed.status, failed.body) == (502, b"Internal Server Error")
    assert url_result({"statusCode": "x"}).status == 502


def test_explain_names_what_is_malformed() -> None:
    assert "wrongValue" in (explain(REST_ROUTE, REST_API, b'{"statusCode": 200, "wrongValue": 1}') or "")
    assert explain(REST_ROUTE, REST_API, b'{"statusCode": 200}') is None
    assert "statusCode" in (explain(None, None, b'{"statusCode": "x"}') or "")


# aws-lambda-dotnet LambdaTestTool-v2 UnitTests/Snapshots/V1_SimpleGetRequestRest.json, _HttpV1.json and
# V2_SimpleGetRequest.json: events captured on AWS (REGIONAL REST API stage "test", HTTP API $default stage)
SIMPLE_HEADERS = (
    ("Host", "s902u1zkkl.execute-api.us-west-2.amazonaws.com"), ("User-Agent", "TestAgent"),
    ("X-Custom-Header", "value1"), ("Cookie", "session=abc123; theme=dark"),
    ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "0"),
)  # fmt: skip
SIMPLE_TARGET = "/test1/api/users/123/orders?status=pending&tag=important&tag=urgent"


def test_rest_regional_event_as_captured() -> None:
    table = door(route("POST", "/test1/api/users/{userId}/orders", api_type="rest"))
    event = rest_event(SIMPLE_TARGET, method="POST", headers=SIMPLE_HEADERS, table=table,
                       api=ApiDeclaration(type="rest", stage="test"))  # fmt: skip
    assert set(event["headers"]) == {
        "Content-Type", "Cookie", "Host", "User-Agent", "X-Amzn-Trace-Id", "X-Custom-Header", "X-Forwarded-For",
        "X-Forwarded-Port", "X-Forwarded-Proto",
    }  # fmt: skip
    assert event["headers"]["Cookie"] == "session=abc123; theme=dark"
    assert event["queryStringParameters"] == {"status": "pending", "tag": "urgent"}
    assert event["multiValueQueryStringParameters"] == {"status": ["pending"], "tag": ["important", "urgent"]}
    assert event["pathParameters"] == {"userId": "123"} and event["body"] is None
    assert event["requestContext"]["path"] == "/test/test1/api/users/123/orders"
    assert event["requestContext"]["identity"]["userAgent"] == "TestAgent"


def test_http_v1_and_v2_simple_events_as_captured() -> None:
    table = door(route("POST", "/test1/api/users/{userId}/orders"))
    v1 = http_event(SIMPLE_TARGET, method="POST", headers=SIMPLE_HEADERS, version="1.0", table=table)
    assert set(v1["headers"]) == {
        "Content-Length", "Content-Type", "Cookie", "Host", "User-Agent", "X-Amzn-Trace-Id", "X-Custom-Header",
        "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto",
    }  # fmt: skip
    assert v1["requestContext"]["resourceId"] == "POST /test1/api/users/{userId}/orders"
    assert v1["requestContext"]["path"] == "/test1/api/users/123/orders"
    v2 = http_event(SIMPLE_TARGET, method="POST", headers=(*SIMPLE_HEADERS, ("Accept", "text/html, application/json")),
                    table=table)  # fmt: skip
    assert v2["cookies"] == ["session=abc123", "theme=dark"]
    assert set(v2["headers"]) == {
        "accept", "content-length", "content-type", "host", "user-agent", "x-amzn-trace-id", "x-custom-header",
        "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto",
    }  # fmt: skip
    assert v2["headers"]["accept"] == "text/html, application/json"
    assert v2["queryStringParameters"] == {"status": "pending", "tag": "important,urgent"}
    assert v2["rawQueryString"] == "status=pending&tag=important&tag=urgent"
    assert v2["routeKey"] == "POST /test1/api/users/{userId}/orders" and v2["pathParameters"] == {"userId": "123"}
    assert "body" not in v2 and "stageVariables" not in v2
