"""Lambda authorizers and CORS at the front door, as pure functions: identity sources, the authorizer's event,
what its answer decides, the context the protected function sees, the result cache in virtual time, and who
answers a preflight with which headers.

Sources are in the modules' docstrings (keys in simulator/gateway/__init__.py). Milliseconds each: no server, no
container.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from simulator.gateway import authorizers
from simulator.gateway.authorizers import (
    AuthorizerCache,
    authorizer_context,
    authorizer_decision,
    authorizer_event,
    identity_values,
    method_arn_of,
    ttl_of,
)
from simulator.gateway.cors import preflight, with_cors
from simulator.gateway.models import ApiDeclaration, Authorizer, Cors, Route
from simulator.gateway.request import GatewayAnswer, GatewayRequest
from simulator.gateway.routing import RouteMatch

REQUEST_ID = "fbcaf9e5-d535-40a1-891c-7b70118cf7e8"
ACCOUNT, REGION, API_ID = "123456789012", "us-east-1", "abcdef123"
ARN_PREFIX = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}"


def request(
    method: str = "GET", path: str = "/pets/1", query: str = "", headers: tuple[tuple[str, str], ...] = ()
) -> GatewayRequest:
    return GatewayRequest(
        method=method, raw_path=path, raw_query=query, headers=headers, body=b'{"a": 1}', source_ip="10.0.0.7",
        host="localhost:3000", received_ms=1583349317135, request_id=REQUEST_ID,
    )  # fmt: skip


def route(api_type: str = "rest", method: str = "GET", path: str = "/pets/{id}", version: str = "1.0") -> RouteMatch:
    declared = Route(
        api="pets", api_type=api_type, method=method, path=path, function="get_pet", qualifier=None,  # type: ignore[arg-type]
        payload_format_version=version, timeout_ms=29_000, authorizer="auth",  # type: ignore[arg-type]
    )  # fmt: skip
    return RouteMatch(route=declared, path_parameters={"id": "1"} if "{id}" in path else None)


REST = ApiDeclaration(type="rest", stage="test", stage_variables={"tenant": "blue"})
HTTP = ApiDeclaration(type="http", stage_variables={"tenant": "blue"})
TOKEN = Authorizer(function="auth")
REQUEST_AUTH = Authorizer(
    function="auth", payload_type="REQUEST",
    identity_sources=["method.request.header.X-Key", "method.request.querystring.user", "stageVariables.tenant"],
)  # fmt: skip


def http_authorizer(
    version: str = "2.0", simple: bool = False, sources: list[str] | None = None, **more: Any
) -> Authorizer:
    return Authorizer(
        function="auth", payload_type="REQUEST", payload_format_version=version,  # type: ignore[arg-type]
        enable_simple_responses=simple, identity_sources=sources or ["$request.header.Authorization"], **more,
    )  # fmt: skip


def policy(effect: str, resource: object, action: object = "execute-api:Invoke", **more: Any) -> bytes:
    statement = {"Action": action, "Effect": effect, "Resource": resource}
    return json.dumps({"principalId": "user-7", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
                       **more}).encode()  # fmt: skip


def decide(answer: bytes, *, api: ApiDeclaration = REST, authorizer: Authorizer = TOKEN, arn: str = "",
           function_error: bool = False) -> authorizers.Decision:  # fmt: skip
    arn = arn or f"{ARN_PREFIX}/test/GET/pets/1"
    return authorizer_decision(authorizer, api, route(api.type), answer, function_error=function_error, method_arn=arn)


# --- identity sources ---------------------------------------------------------------------------------------


def test_token_authorizer_reads_the_authorization_header_by_default() -> None:
    assert identity_values(TOKEN, REST, request(headers=(("authorization", "Bearer abc"),)), route()) == ["Bearer abc"]


@pytest.mark.parametrize("headers", [(), (("Authorization", ""),)])
def test_missing_or_empty_token_is_refused_before_invoking(headers: tuple[tuple[str, str], ...]) -> None:
    assert identity_values(TOKEN, REST, request(headers=headers), route()) is None


def test_token_must_match_the_validation_expression_whole() -> None:
    checked = Authorizer(function="auth", validation_expression="Bearer [a-z]+")
    assert identity_values(checked, REST, request(headers=(("Authorization", "Bearer abc"),)), route()) == [
        "Bearer abc"
    ]
    assert identity_values(checked, REST, request(headers=(("Authorization", "Bearer abc9"),)), route()) is None
    assert identity_values(checked, REST, request(headers=(("Authorization", "Basic xyz"),)), route()) is None


def test_rest_request_sources_header_query_and_stage_variable() -> None:
    sent = request(query="user=a&user=b+c", headers=(("x-key", "k1"),))
    assert identity_values(REQUEST_AUTH, REST, sent, route()) == ["k1", "b c", "blue"]
    assert identity_values(REQUEST_AUTH, REST, request(headers=(("X-Key", "k1"),)), route()) is None
    unstaged = ApiDeclaration(type="rest")
    assert identity_values(REQUEST_AUTH, unstaged, sent, route()) is None


def test_rest_context_source() -> None:
    by_method = Authorizer(function="auth", payload_type="REQUEST", identity_sources=["context.httpMethod"])
    assert identity_values(by_method, REST, request(method="DELETE"), route()) == ["DELETE"]
    by_path = Authorizer(function="auth", payload_type="REQUEST", identity_sources=["context.path"])
    assert identity_values(by_path, REST, request(), route()) == ["/test/pets/1"]
    unknown = Authorizer(function="auth", payload_type="REQUEST", identity_sources=["context.noSuchThing"])
    assert identity_values(unknown, REST, request(), route()) is None


def test_http_sources_headers_ignore_case_query_names_do_not() -> None:
    sources = ["$request.header.X-Key", "$request.querystring.user", "$stageVariables.tenant", "$context.routeKey"]
    declared = http_authorizer(sources=sources)
    sent = request(query="user=a&user=b", headers=(("x-KEY", "1"), ("X-Key", "2")))
    match = route("http", path="/pets/{id}", version="2.0")
    assert identity_values(declared, HTTP, sent, match) == ["1,2", "a,b", "blue", "GET /pets/{id}"]
    assert identity_values(declared, HTTP, request(query="User=a", headers=(("x-key", "1"),)), match) is None


def test_http_authorizer_without_sources_checks_nothing() -> None:
    bare = Authorizer(function="auth")  # payload_type keeps its TOKEN default: REST's header default must not apply
    assert identity_values(bare, HTTP, request(), route("http", version="2.0")) == []


# --- the event ----------------------------------------------------------------------------------------------


def test_method_arn_has_stage_method_and_requested_path() -> None:
    arn = method_arn_of(REST, request(path="/pets/1"), account_id=ACCOUNT, region=REGION, api_id=API_ID)
    assert arn == f"{ARN_PREFIX}/test/GET/pets/1"
    root = method_arn_of(HTTP, request(method="POST", path="/"), account_id=ACCOUNT, region=REGION, api_id=API_ID)
    assert root == f"{ARN_PREFIX}/$default/POST/"


def test_rest_token_event_is_exactly_three_keys() -> None:
    sent = request(headers=(("Authorization", "allow"),))
    event = authorizer_event(TOKEN, REST, sent, route(), account_id=ACCOUNT, region=REGION, api_id=API_ID)
    assert event == {"type": "TOKEN", "authorizationToken": "allow", "methodArn": f"{ARN_PREFIX}/test/GET/pets/1"}


def test_rest_request_event_is_the_proxy_event_without_body() -> None:
    sent = request(query="user=a", headers=(("X-Key", "k1"),))
    event = authorizer_event(REQUEST_AUTH, REST, sent, route(), account_id=ACCOUNT, region=REGION, api_id=API_ID)
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == f"{ARN_PREFIX}/test/GET/pets/1"
    assert event["httpMethod"] == "GET" and event["resource"] == "/pets/{id}" and event["path"] == "/pets/1"
    assert event["queryStringParameters"] == {"user": "a"} and event["stageVariables"] == {"tenant": "blue"}
    assert "body" not in event and "isBase64Encoded" not in event and "version" not in event


def test_http_v1_event_joins_identity_values_with_commas() -> None:
    declared = http_authorizer("1.0", sources=["$request.header.X-User", "$request.querystring.n"])
    sent = request(query="n=123", headers=(("X-User", "user1"),))
    match = route("http", version="2.0")  # the route's own payload version does not shape the authorizer's event
    event = authorizer_event(declared, HTTP, sent, match, account_id=ACCOUNT, region=REGION, api_id=API_ID)
    assert (event["version"], event["type"]) == ("1.0", "REQUEST")
    assert event["identitySource"] == event["authorizationToken"] == "user1,123"
    assert event["methodArn"] == f"{ARN_PREFIX}/$default/GET/pets/1"
    assert event["httpMethod"] == "GET" and "body" not in event


def test_http_v2_event_lists_identity_values_and_names_the_route_arn() -> None:
    declared = http_authorizer("2.0", sources=["$request.header.X-User", "$request.querystring.n"])
    sent = request(query="n=123", headers=(("X-User", "user1"),))
    match = route("http", version="1.0")
    event = authorizer_event(declared, HTTP, sent, match, account_id=ACCOUNT, region=REGION, api_id=API_ID)
    assert (event["version"], event["type"]) == ("2.0", "REQUEST")
    assert event["identitySource"] == ["user1", "123"]
    assert event["routeArn"] == f"{ARN_PREFIX}/$default/GET/pets/1"
    assert event["routeKey"] == "GET /pets/{id}" and event["rawQueryString"] == "n=123"
    assert "body" not in event and "methodArn" not in event


# --- the decision: IAM policies -----------------------------------------------------------------------------


def test_allow_on_the_method_arn_passes_with_its_context() -> None:
    decision = decide(policy("Allow", f"{ARN_PREFIX}/test/GET/pets/1", context={"tier": "gold"}))
    assert (decision.allowed, decision.error, decision.principal_id) == (True, None, "user-7")
    assert decision.context == {"tier": "gold"}


@pytest.mark.parametrize(
    "resource",
    [f"{ARN_PREFIX}/test/GET/*", f"{ARN_PREFIX}/*", "arn:aws:execute-api:*", f"{ARN_PREFIX}/test/???/pets/?",
     ["arn:aws:s3:::bucket", f"{ARN_PREFIX}/test/*/pets/*"]],
)  # fmt: skip
def test_resource_wildcards_and_lists(resource: object) -> None:
    assert decide(policy("Allow", resource)).allowed


@pytest.mark.parametrize("action", ["*", "execute-api:*", "Execute-Api:invoke", ["s3:GetObject", "execute-api:Invoke"]])
def test_action_forms(action: object) -> None:
    assert decide(policy("Allow", "*", action=action)).allowed


def test_allow_for_another_action_or_resource_is_an_implicit_deny() -> None:
    assert decide(policy("Allow", "*", action="s3:GetObject")).error == "NOT_AUTHORIZED"
    decision = decide(policy("Allow", f"{ARN_PREFIX}/test/POST/pets/1"))
    assert (decision.allowed, decision.error) == (False, "NOT_AUTHORIZED")


def test_explicit_deny_wins_over_allow() -> None:
    both = {"principalId": "u", "policyDocument": {"Statement": [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"},
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": f"{ARN_PREFIX}/test/GET/pets/*"},
    ]}}  # fmt: skip
    assert decide(json.dumps(both).encode()).error == "ACCESS_DENIED"
    assert decide(json.dumps(both).encode(), arn=f"{ARN_PREFIX}/test/GET/owners/1").allowed


def test_single_statement_object_is_accepted() -> None:
    single = {"principalId": "u", "policyDocument": {"Statement": {"Action": "*", "Effect": "Allow", "Resource": "*"}}}
    assert decide(json.dumps(single).encode()).allowed


def test_http_api_policy_denies_are_forbidden_and_principal_is_optional() -> None:
    declared = http_authorizer("1.0")
    deny = policy("Deny", "*")
    assert decide(deny, api=HTTP, authorizer=declared).error == "FORBIDDEN"
    assert decide(policy("Allow", "arn:nothing"), api=HTTP, authorizer=declared).error == "FORBIDDEN"
    unnamed = {"policyDocument": {"Statement": [{"Action": "*", "Effect": "Allow", "Resource": "*"}]}}
    assert decide(json.dumps(unnamed).encode(), api=HTTP, authorizer=declared).allowed


# --- the decision: simple responses, failures, malformed answers --------------------------------------------


def test_simple_responses() -> None:
    simple = http_authorizer(simple=True)
    yes = decide(b'{"isAuthorized": true, "context": {"k": ["v"]}}', api=HTTP, authorizer=simple)
    assert (yes.allowed, yes.context) == (True, {"k": ["v"]})
    assert decide(b'{"isAuthorized": false}', api=HTTP, authorizer=simple).error == "FORBIDDEN"
    for malformed in (b'{"isAuthorized": "true"}', b"{}", b'{"isAuthorized": 1}'):
        assert decide(malformed, api=HTTP, authorizer=simple).error == "AUTHORIZER_CONFIGURATION_ERROR"


def test_unauthorized_error_is_401_any_other_failure_is_500() -> None:
    said = json.dumps({"errorMessage": "Unauthorized", "errorType": "Exception", "stackTrace": []}).encode()
    assert decide(said, function_error=True).error == "UNAUTHORIZED"
    assert decide(b'"Unauthorized"').error == "UNAUTHORIZED"
    other = json.dumps({"errorMessage": "token expired", "errorType": "Exception"}).encode()
    assert decide(other, function_error=True).error == "AUTHORIZER_CONFIGURATION_ERROR"
    assert decide(said, api=HTTP, authorizer=http_authorizer(), function_error=True).error == "UNAUTHORIZED"


@pytest.mark.parametrize(
    "answer",
    [b"not json", b"[]", b'"Allow"', b'{"policyDocument": {"Statement": []}}',  # REST needs principalId
     b'{"principalId": "u"}', b'{"principalId": "u", "policyDocument": {"Statement": "Allow"}}',
     b'{"principalId": "u", "policyDocument": {"Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}]}}',
     b'{"principalId": "u", "policyDocument": {"Statement": [{"Effect": "Allow", "Action": 3, "Resource": "*"}]}}',
     b'{"principalId": {"id": 1}, "policyDocument": {"Statement": []}}'],
)  # fmt: skip
def test_malformed_answers_are_configuration_errors(answer: bytes) -> None:
    decision = decide(answer)
    assert (decision.allowed, decision.error, decision.answer) == (False, "AUTHORIZER_CONFIGURATION_ERROR", None)


def test_context_values_must_be_scalars_on_payload_1() -> None:
    for context in ({"k": {"a": 1}}, {"k": [1]}):
        assert decide(policy("Allow", "*", context=context)).error == "AUTHORIZER_CONFIGURATION_ERROR"
    assert decide(policy("Allow", "*", context="text")).error == "AUTHORIZER_CONFIGURATION_ERROR"
    v1 = http_authorizer("1.0")
    assert decide(policy("Allow", "*", context={"k": [1]}), api=HTTP, authorizer=v1).error is not None
    v2 = http_authorizer("2.0")
    assert decide(policy("Allow", "*", context={"k": [1], "m": {"a": 1}}), api=HTTP, authorizer=v2).allowed


def test_http_answers_over_8_kb_are_refused() -> None:
    filler = {"pad": "x" * 8200}
    large = policy("Allow", "*", context=filler)
    assert decide(large, api=HTTP, authorizer=http_authorizer()).error == "AUTHORIZER_CONFIGURATION_ERROR"
    assert decide(large).allowed  # REST documents no such limit


# --- what the protected function sees -----------------------------------------------------------------------


def test_rest_context_is_flat_and_stringified_with_principal() -> None:
    decision = decide(policy("Allow", "*", context={"s": "v", "n": 1, "b": True, "f": 1.5}))
    context = authorizer_context("rest", "1.0", decision, integration_latency_ms=12)
    assert context == {"s": "v", "n": "1", "b": "true", "f": "1.5", "principalId": "user-7", "integrationLatency": 12}


def test_http_v1_context_is_flat_and_v2_is_under_lambda() -> None:
    decision = decide(policy("Allow", "*", context={"n": 1}), api=HTTP, authorizer=http_authorizer("1.0"))
    assert authorizer_context("http", "1.0", decision, integration_latency_ms=3) == {"n": "1", "principalId": "user-7"}
    as_v2 = decide(policy("Allow", "*", context={"n": 1, "l": [1]}), api=HTTP, authorizer=http_authorizer("2.0"))
    assert authorizer_context("http", "2.0", as_v2) == {"lambda": {"n": 1, "l": [1]}}
    simple = decide(b'{"isAuthorized": true}', api=HTTP, authorizer=http_authorizer(simple=True))
    assert authorizer_context("http", "2.0", simple) == {"lambda": {}}


# --- the cache ----------------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rest_answers_are_kept_300_s_and_judged_again_for_each_method_arn() -> None:
    clock = FakeClock()
    cache = AuthorizerCache(clock)
    get_arn, post_arn = f"{ARN_PREFIX}/test/GET/pets/1", f"{ARN_PREFIX}/test/POST/pets/1"
    decision = decide(policy("Allow", get_arn, context={"k": "v"}), arn=get_arn)
    assert ttl_of(TOKEN, REST) == 300
    cache.store("pets", "auth", TOKEN, REST, ["tok"], decision)
    clock.now += 299
    kept = cache.lookup("pets", "auth", ["tok"], get_arn)
    assert kept is not None and kept.allowed and kept.context == {"k": "v"}
    denied = cache.lookup("pets", "auth", ["tok"], post_arn)
    assert denied is not None and denied.error == "NOT_AUTHORIZED"
    assert cache.lookup("pets", "auth", ["other"], get_arn) is None
    assert cache.lookup("pets", "other-authorizer", ["tok"], get_arn) is None
    clock.now += 1
    assert cache.lookup("pets", "auth", ["tok"], get_arn) is None
    assert len(cache) == 0


def test_what_is_not_kept() -> None:
    cache = AuthorizerCache(FakeClock())
    allowed = decide(policy("Allow", "*"))
    cache.store("pets", "auth", Authorizer(function="auth", ttl_seconds=0), REST, ["tok"], allowed)
    cache.store("pets", "auth", TOKEN, REST, ["tok"], decide(b"broken"))
    cache.store("pets", "auth", TOKEN, REST, [], allowed)
    assert ttl_of(http_authorizer(), HTTP) == 0
    cache.store("pets", "auth", http_authorizer(), HTTP, ["tok"], allowed)
    assert len(cache) == 0


def test_http_simple_answers_are_kept_for_every_route_and_denials_too() -> None:
    clock = FakeClock()
    cache = AuthorizerCache(clock)
    simple = http_authorizer(simple=True, ttl_seconds=60)
    cache.store("pets", "auth", simple, HTTP, ["a"], decide(b'{"isAuthorized": true}', api=HTTP, authorizer=simple))
    cache.store("pets", "auth", simple, HTTP, ["b"], decide(b'{"isAuthorized": false}', api=HTTP, authorizer=simple))
    yes = cache.lookup("pets", "auth", ["a"], f"{ARN_PREFIX}/$default/DELETE/anything")
    no = cache.lookup("pets", "auth", ["b"], f"{ARN_PREFIX}/$default/GET/pets/1")
    assert yes is not None and yes.allowed
    assert no is not None and no.error == "FORBIDDEN"
    clock.now += 60
    assert cache.lookup("pets", "auth", ["a"], f"{ARN_PREFIX}/$default/GET/") is None


def test_cache_keeps_at_most_its_capacity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(authorizers, "CACHE_CAPACITY", 3)
    cache = AuthorizerCache(FakeClock())
    allowed = decide(policy("Allow", "*"))
    for token in "abcde":
        cache.store("pets", "auth", TOKEN, REST, [token], allowed)
    assert len(cache) == 3
    assert cache.lookup("pets", "auth", ["a"], "x") is None
    assert cache.lookup("pets", "auth", ["e"], "x") is not None


# --- CORS: preflights ---------------------------------------------------------------------------------------

ORIGIN = "https://app.example"
PREFLIGHT_HEADERS = (("Origin", ORIGIN), ("Access-Control-Request-Method", "PUT"),
                     ("Access-Control-Request-Headers", "content-type,x-key"))  # fmt: skip


def headers_of(answer: GatewayAnswer) -> dict[str, str]:
    return {name.lower(): value for name, value in answer.headers}


def test_rest_preflight_is_sams_mock_with_static_headers() -> None:
    cors = Cors(allow_origins=["https://other.example"], allow_headers=["Content-Type", "X-Key"], max_age=600)
    answer = preflight(cors, "rest", request("OPTIONS", headers=PREFLIGHT_HEADERS), ["GET", "POST"])
    assert answer is not None and (answer.status, answer.body) == (200, b"{}")
    headers = headers_of(answer)
    assert headers["access-control-allow-origin"] == "https://other.example"  # whatever the Origin
    assert headers["access-control-allow-methods"] == "GET,OPTIONS,POST"
    assert headers["access-control-allow-headers"] == "Content-Type,X-Key"
    assert headers["access-control-max-age"] == "600"
    assert "access-control-allow-credentials" not in headers
    assert headers["content-type"] == "application/json" and headers["x-amzn-requestid"] == REQUEST_ID
    plain = preflight(cors, "rest", request("OPTIONS"), ["ANY"])  # no Origin: still the mock
    assert plain is not None
    assert headers_of(plain)["access-control-allow-methods"] == "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"


def test_rest_preflight_gives_way() -> None:
    cors = Cors(allow_origins=["*"], allow_methods=["GET"])
    sent = request("OPTIONS", headers=PREFLIGHT_HEADERS)
    assert preflight(cors, "rest", sent, ["OPTIONS", "GET"]) is None  # the path's own OPTIONS method
    assert preflight(cors, "rest", sent, []) is None  # no such resource: Missing Authentication Token
    assert preflight(None, "rest", sent, ["GET"]) is None
    assert preflight(cors, "rest", request("GET", headers=PREFLIGHT_HEADERS), ["GET"]) is None
    configured = preflight(cors, "rest", sent, ["GET", "POST"])
    assert configured is not None and headers_of(configured)["access-control-allow-methods"] == "GET"


def test_http_api_answers_preflights_itself() -> None:
    cors = Cors(allow_origins=[ORIGIN], allow_methods=["GET", "PUT"], allow_headers=["*"], expose_headers=["x-id"],
                max_age=300, allow_credentials=True)  # fmt: skip
    answer = preflight(cors, "http", request("OPTIONS", headers=PREFLIGHT_HEADERS), ["GET"])
    assert answer is not None and (answer.status, answer.body) == (204, b"")
    headers = headers_of(answer)
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-methods"] == "GET,PUT"
    assert headers["access-control-allow-headers"] == "content-type,x-key"
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["access-control-max-age"] == "300"
    assert "apigw-requestid" in headers


def test_http_api_preflight_from_another_origin_gets_no_cors_headers() -> None:
    cors = Cors(allow_origins=["https://trusted.example"])
    answer = preflight(cors, "http", request("OPTIONS", headers=PREFLIGHT_HEADERS), [])
    assert answer is not None and answer.status == 204
    assert not [name for name, _ in answer.headers if name.lower().startswith("access-control-")]


def test_http_api_preflight_goes_to_a_route_that_takes_options() -> None:
    cors = Cors(allow_origins=["*"])
    sent = request("OPTIONS", headers=PREFLIGHT_HEADERS)
    assert preflight(cors, "http", sent, ["ANY"]) is None  # an ANY route or $default
    assert preflight(cors, "http", sent, ["OPTIONS"]) is None
    plain = preflight(cors, "http", request("OPTIONS"), [])  # no Origin: still answered, without CORS headers
    assert plain is not None and plain.status == 204 and plain.body == b""
    assert [name for name, _ in plain.headers] == ["apigw-requestid"]
    star = preflight(cors, "http", sent, ["GET"])
    assert star is not None and headers_of(star)["access-control-allow-origin"] == "*"


def test_function_url_preflight_echoes_the_origin() -> None:
    cors = Cors(allow_origins=["*"], allow_methods=["*"])
    answer = preflight(cors, "url", request("OPTIONS", headers=PREFLIGHT_HEADERS), [])
    assert answer is not None and answer.status == 200
    headers = headers_of(answer)
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-methods"] == "PUT"
    assert headers["x-amzn-requestid"] == REQUEST_ID
    assert preflight(None, "url", request("OPTIONS", headers=PREFLIGHT_HEADERS), []) is None


# --- CORS: ordinary answers ---------------------------------------------------------------------------------

FUNCTION_ANSWER = GatewayAnswer(200, (("Content-Type", "application/json"), ("Access-Control-Allow-Origin", "*"),
                                      ("access-control-allow-methods", "GET")), b"{}")  # fmt: skip


def test_rest_proxy_answers_are_left_as_the_function_made_them() -> None:
    cors = Cors(allow_origins=[ORIGIN])
    assert with_cors(cors, "rest", request(headers=(("Origin", ORIGIN),)), FUNCTION_ANSWER) is FUNCTION_ANSWER
    assert with_cors(None, "http", request(headers=(("Origin", ORIGIN),)), FUNCTION_ANSWER) is FUNCTION_ANSWER


def test_http_api_replaces_the_functions_cors_headers() -> None:
    cors = Cors(allow_origins=[ORIGIN], expose_headers=["x-id", "date"], allow_credentials=True, max_age=9)
    answer = with_cors(cors, "http", request(headers=(("origin", ORIGIN),)), FUNCTION_ANSWER)
    assert answer.status == 200 and answer.body == b"{}"
    assert answer.headers == (("Content-Type", "application/json"), ("Access-Control-Allow-Origin", ORIGIN),
                              ("Access-Control-Allow-Credentials", "true"),
                              ("Access-Control-Expose-Headers", "x-id,date"))  # fmt: skip


def test_no_cors_headers_without_an_allowed_origin() -> None:
    cors = Cors(allow_origins=[ORIGIN])
    for sent in (request(), request(headers=(("Origin", "https://evil.example"),))):
        for kind in ("http", "url"):
            answer = with_cors(cors, kind, sent, FUNCTION_ANSWER)  # type: ignore[arg-type]
            assert answer.headers == (("Content-Type", "application/json"),)


def test_function_url_echoes_the_origin_on_answers() -> None:
    cors = Cors(allow_origins=["*"])
    answer = with_cors(cors, "url", request(headers=(("Origin", ORIGIN),)), FUNCTION_ANSWER)
    assert headers_of(answer)["access-control-allow-origin"] == ORIGIN
    assert [name for name, _ in answer.headers].count("Access-Control-Allow-Origin") == 1
