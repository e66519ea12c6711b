"""The front door's wire formats, as pure functions: routing, the events API Gateway and function URLs send a
function, how its answer comes back, and the gateway's own failure answers.

The expected values are AWS's own, taken verbatim from recordings and captures (sources in
/work/notes/facts-http.md: LSAL = LocalStack's validated snapshots of API Gateway against AWS, LSL = of
function URLs, RR = the Rust runtime's captured fixtures). Milliseconds each: no server, no container.
"""

from __future__ import annotations

import json

import pytest

from simulator.gateway.models import ApiDeclaration, FrontDoor, Route
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
