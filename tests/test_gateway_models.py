"""The front door in lsim.toml: [apis.NAME], API events and function URLs become one route table, and what
it cannot serve is refused at load, naming the place and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.errors import ProjectFileError
from simulator.gateway.models import front_door
from simulator.project import load_project, only_functions

FUNCTION = '[functions.{name}]\nhandler = "app.handler"\nruntime = "python3.12"\ncode = "src"\n'


def project(tmp_path: Path, text: str, *functions: str) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    path = tmp_path / "lsim.toml"
    path.write_text("".join(FUNCTION.format(name=name) for name in functions) + text)
    return path


def test_events_of_both_kinds_and_a_url_make_the_route_table(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
[apis.orders]
type = "HTTP"
stage_variables = { env = "local" }
default_authorizer = "tokens"
[apis.orders.authorizers.tokens]
function = "arn:aws:lambda:us-east-1:123456789012:function:auth"
identity_sources = ["$request.header.Authorization"]
enable_simple_responses = true
payload_format_version = "2.0"

[functions.orders.events.get]
type = "httpapi"
path = "/orders/{id}"
method = "get"
api = "orders"

[functions.orders.events.rest]
type = "Api"
path = "/legacy/{proxy+}"
method = "any"
timeout_in_millis = 5000

[functions.orders.events.queue]
type = "sqs"
queue = "jobs"

[functions.orders.url]
auth_type = "aws_iam"
cors = { allow_origins = ["*"], max_age = 300 }
""",
        "orders",
        "auth",
    )
    loaded = load_project(path)
    orders = loaded.functions["orders"]
    assert set(orders.http_events) == {"get", "rest"} and set(orders.events) == {"queue"}
    table = front_door(loaded)
    by_key = {(route.api, route.route_key): route for route in table.routes}
    get = by_key[("orders", "GET /orders/{id}")]
    assert (get.payload_format_version, get.timeout_ms, get.authorizer) == ("2.0", 30_000, "tokens")
    rest = by_key[("ServerlessRestApi", "ANY /legacy/{proxy+}")]
    assert (rest.api_type, rest.payload_format_version, rest.timeout_ms, rest.authorizer) == ("rest", "1.0", 5000, None)
    assert table.apis["ServerlessRestApi"].stage_name == "Prod" and table.apis["orders"].stage_name == "$default"
    assert table.apis["orders"].authorizers["tokens"].function == "auth"
    (url,) = table.urls
    assert url.function == "orders" and url.config.auth_type == "AWS_IAM" and len(url.url_id) == 32
    assert url.url_id == front_door(load_project(path)).urls[0].url_id  # stable across loads


def test_an_httpapi_event_without_path_is_the_default_route(tmp_path: Path) -> None:
    path = project(tmp_path, '[functions.f.events.all]\ntype = "httpapi"\n', "f")
    (route,) = front_door(load_project(path)).routes
    assert (route.route_key, route.method, route.api) == ("$default", "ANY", "ServerlessHttpApi")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[functions.f.events.e]\ntype = "httpapi"\npath = "/a"\nmethod = "get"\napi = "nope"\n',
            r"lsim.toml \[functions.f.events.e\]: api 'nope' is not declared; declare \[apis.nope\]",
        ),
        ('[functions.f.events.e]\ntype = "api"\npath = "/a"\n', "an Api event needs both path and method"),
        (
            '[functions.f.events.e]\ntype = "httpapi"\npath = "/a/{proxy+}/b"\nmethod = "get"\n',
            "the greedy variable {proxy\\+} must be the last segment",
        ),
        ('[functions.f.events.e]\ntype = "httpapi"\npath = "a"\nmethod = "get"\n', "must start with /"),
        ('[functions.f.events.e]\ntype = "httpapi"\npath = "/a"\nmethod = "fetch"\n', "method 'fetch': write one of"),
        (
            '[functions.f.events.e]\ntype = "api"\npath = "/a"\nmethod = "get"\ntimeout_in_millis = 29001\n',
            "API Gateway allows 50-29000 ms for REST APIs",
        ),
        (
            '[functions.f.events.e]\ntype = "httpapi"\npath = "/a/{id}"\nmethod = "get"\n'
            '[functions.f.events.g]\ntype = "httpapi"\npath = "/a/{key}"\nmethod = "get"\n',
            r"GET /a/\{key\} on API ServerlessHttpApi is also declared at .*\[functions.f.events.e\]",
        ),
        ('[apis.a]\ntype = "rest"\ndefault_authorizer = "x"\n', "default_authorizer 'x' is not one of"),
        (
            '[apis.a]\ntype = "http"\n[apis.a.authorizers.t]\nfunction = "ghost"\n',
            r"\[apis.a.authorizers.t\]: authorizer function 'ghost' is not a function of this project",
        ),
        (
            '[apis.a]\ntype = "rest"\n[functions.f.events.e]\ntype = "httpapi"\napi = "a"\n',
            "an HttpApi event cannot name the REST API 'a'",
        ),
        ('[functions.f.url]\nauth_type = "PUBLIC"\n', "auth_type"),
    ],
)
def test_what_the_front_door_cannot_serve_is_refused_at_load(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ProjectFileError, match=message):
        load_project(project(tmp_path, text, "f"))


def test_serving_some_functions_keeps_the_authorizers_their_routes_need(tmp_path: Path) -> None:
    path = project(
        tmp_path,
        """
[apis.a]
type = "rest"
default_authorizer = "tokens"
[apis.a.authorizers.tokens]
function = "auth"
[functions.f.events.e]
type = "api"
path = "/a"
method = "get"
api = "a"
""",
        "f",
        "g",
        "auth",
    )
    served = only_functions(load_project(path), ["f"])
    assert sorted(served.functions) == ["auth", "f"]
    assert [route.function for route in front_door(served).routes] == ["f"]
