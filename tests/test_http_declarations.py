"""The HTTP front door read from template.yaml (sam/http.py): a function's `Events` of Type Api / HttpApi,
AWS::Serverless::Api / ::HttpApi with Globals.Api / Globals.HttpApi, FunctionUrlConfig and AWS::Lambda::Url
become the same models lsim.toml gives (gateway/models.py), as SAM's transform makes them (checked with
aws-sam-translator 1.110 on these fixtures); what lsim does not serve is said once with its line, and a route
lsim cannot serve stops the load with file, line and fix. Pure loads: no Docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.config import ProjectConfig
from simulator.errors import ProjectFileError
from simulator.gateway.events import api_id_of
from simulator.gateway.models import Cors, FrontDoor, front_door
from simulator.project import load_project

from .test_sam import TEMPLATES, line, write

REST = TEMPLATES / "http-rest" / "template.yaml"
HTTP = TEMPLATES / "http-api" / "template.yaml"
CHILD = TEMPLATES / "http-rest" / "child" / "template.yaml"


def load(path: Path) -> tuple[ProjectConfig, list[str]]:
    said: list[str] = []
    return load_project(path, warn=said.append), said


def said_at(said: list[str], path: Path, snippet: str, message: str) -> bool:
    """Something was said about the line of `snippet`."""
    at = f"{path.name}:{line(path, snippet)}: "
    return any(at in m and message in m for m in said)


def routes_of(door: FrontDoor) -> dict[tuple[str, str, str], tuple[str, str | None, str | None, str, int]]:
    return {(r.api, r.method, r.path): (r.function, r.qualifier, r.authorizer, r.payload_format_version, r.timeout_ms)
            for r in door.routes}  # fmt: skip


# -- REST APIs -----------------------------------------------------------------------------------------
def test_rest_api_routes_as_sam_makes_them() -> None:
    project, _ = load(REST)
    door = front_door(project)
    assert routes_of(door) == {
        # the integration invokes the AutoPublishAlias; the DefaultAuthorizer unless the event says otherwise
        ("OrdersApi", "GET", "/orders/{id}"): ("OrdersFunction", "live", "TokenAuth", "1.0", 5000),
        ("OrdersApi", "POST", "/orders"): ("OrdersFunction", "live", "RequestAuth", "1.0", 29000),
        ("OrdersApi", "GET", "/health"): ("OrdersFunction", "live", None, "1.0", 29000),  # Authorizer: NONE
        ("OrdersApi", "ANY", "/admin/{proxy+}"): ("OrdersFunction", "live", "AWS_IAM", "1.0", 29000),
        ("OrdersApi", "GET", "/profile"): ("OrdersFunction", "live", None, "1.0", 29000),  # Cognito: served open
        ("OpenApi", "ANY", "/{proxy+}"): ("OrdersFunction", "live", None, "1.0", 29000),
        ("ServerlessRestApi", "GET", "/hello"): ("OrdersFunction", "live", None, "1.0", 29000),
        # a nested application's routes, on its own APIs, under its stack path
        ("SubApp/ChildApi", "GET", "/items"): ("SubApp-ChildFunction", None, None, "1.0", 29000),
        ("SubApp/ServerlessRestApi", "GET", "/child-hello"): ("SubApp-ChildFunction", None, None, "1.0", 29000),
    }
    event = project.functions["OrdersFunction"].http_events["GetOrder"]
    where = f"http-rest/template.yaml:{line(REST, 'GetOrder:')} Resources.OrdersFunction.Properties.Events.GetOrder"
    assert event.declared_at is not None and event.declared_at.endswith(where)
    child = project.functions["SubApp-ChildFunction"].http_events["Items"].declared_at
    assert child is not None and f"child/template.yaml:{line(CHILD, 'Items:')} " in child
    assert {route.declared_at for route in door.routes} >= {event.declared_at, child}


def test_rest_api_properties() -> None:
    project, _ = load(REST)
    orders = project.apis["OrdersApi"]
    assert orders.type == "rest" and orders.stage_name == "v1"
    assert orders.stage_variables == {"from_globals": "yes", "table": "orders"}  # Globals.Api maps merge
    # Globals' list first, then the API's own; `~1` is SAM's `/`
    assert orders.binary_media_types == ["image/png", "application/octet-stream", "*/*"]
    # SAM's Cors values are quoted literals of the mock OPTIONS answer's headers
    assert orders.cors == Cors(allow_origins=["https://app.example"], allow_methods=["GET", "POST", "OPTIONS"],
                               allow_headers=["Content-Type", "X-Key"], max_age=600, allow_credentials=True)  # fmt: skip
    assert orders.default_authorizer == "TokenAuth" and not orders.authorize_preflight
    token, request = orders.authorizers["TokenAuth"], orders.authorizers["RequestAuth"]
    assert (token.function, token.payload_type, token.identity_sources) == (
        "AuthorizeFunction", "TOKEN", ["method.request.header.X-Token"],
    )  # fmt: skip
    assert (token.validation_expression, token.ttl_seconds) == ("^(allow|deny)$", 60)
    assert request.function == "AuthorizeFunction"  # from !Sub "arn:...:function:${AuthorizeFunction}"
    assert request.payload_type == "REQUEST" and request.ttl_seconds == 0
    assert request.identity_sources == [  # SAM's order: headers, query strings, stage variables, context
        "method.request.header.X-Key", "method.request.querystring.tenant", "stageVariables.table",
        "context.sourceIp",
    ]  # fmt: skip
    assert set(orders.authorizers) == {"TokenAuth", "RequestAuth"}  # the Cognito one is left out, and said
    open_api = project.apis["OpenApi"]
    assert open_api.stage == "http-rest-stage" and open_api.cors == Cors(allow_origins=["*"])  # Cors: "'*'"
    implicit = project.apis["ServerlessRestApi"]  # SAM's, with Globals.Api; an event's Stage names no stage
    assert implicit.stage_name == "Prod" and implicit.stage_variables == {"from_globals": "yes"}
    assert implicit.binary_media_types == ["image/png"]
    assert project.apis["SubApp/ChildApi"].stage == "dev"
    assert project.apis["SubApp/ServerlessRestApi"].stage_variables == {}  # the child's own (empty) Globals


def test_rest_what_lsim_does_not_serve_is_said_once_with_its_line() -> None:
    _, said = load(REST)
    expected = {
        "TracingEnabled: true": "Globals.Api.TracingEnabled not supported by lsim",
        "Models:": "Resources.OrdersApi.Properties.Models not supported by lsim: ignored (lsim does not validate",
        "UserPool:": "Auth.Authorizers.UserPool (Cognito user pool authorizer) not supported by lsim: ignored "
        "(routes that use it run without authorization",
        "Authorizer: UserPool": "Events.Profile.Properties.Auth.Authorizer: UserPool is a Cognito user pool "
        "authorizer, which lsim does not check: the route runs without authorization",
        "UsagePlan:": "Auth.UsagePlan not supported by lsim: ignored (lsim checks no API keys or usage plans)",
        "ApiKeySourceType": "Properties.ApiKeySourceType not supported by lsim",
        "RequestParameters:": "Events.CreateOrder.Properties.RequestParameters not supported by lsim: ignored "
        "(lsim does not check required request parameters)",
        "RequestModel:": "Events.CreateOrder.Properties.RequestModel not supported by lsim",
        "  RawApi:": "Resources.RawApi (AWS::ApiGateway::RestApi) not supported by lsim: "
        "ignored (lsim serves SAM's Api and HttpApi events and function URLs, not raw API Gateway resources)",
        "  RawResource:": "Resources.RawResource (AWS::ApiGateway::Resource) not supported",
    }
    for snippet, message in expected.items():
        assert said_at(said, REST, snippet, message), (snippet, said)
    assert len(said) == len(expected), said  # ApiKeyRequired: false, Stage, InvokeRole: nothing to say
    assert not any("generate-event apigateway" in m for m in said)


# -- HTTP APIs and function URLs -----------------------------------------------------------------------
def test_http_api_routes_as_sam_makes_them() -> None:
    project, _ = load(HTTP)
    assert routes_of(front_door(project)) == {
        ("OrdersHttpApi", "GET", "/orders/{id}"): ("OrdersFunction", "live", "SimpleAuth", "2.0", 8000),
        ("OrdersHttpApi", "POST", "/orders"): ("OrdersFunction", "live", "PolicyAuth", "1.0", 30000),
        ("OrdersHttpApi", "GET", "/health"): ("OrdersFunction", "live", None, "2.0", 30000),
        ("OrdersHttpApi", "GET", "/me"): ("OrdersFunction", "live", None, "2.0", 30000),  # JWT: served open
        ("PublicHttpApi", "ANY", "$default"): ("OrdersFunction", "live", None, "2.0", 30000),  # no Path/Method
        ("ServerlessHttpApi", "GET", "/hello"): ("OrdersFunction", "live", None, "2.0", 30000),
    }


def test_http_api_properties() -> None:
    project, _ = load(HTTP)
    orders = project.apis["OrdersHttpApi"]
    assert orders.type == "http" and orders.stage_name == "v2"
    assert orders.stage_variables == {"from_globals": "yes", "table": "orders"}
    assert orders.cors == Cors(
        allow_origins=["https://app.example"], allow_methods=["GET", "POST"],
        allow_headers=["authorization", "content-type"], expose_headers=["x-request-id"], max_age=600,
        allow_credentials=True,
    )  # fmt: skip
    simple, policy = orders.authorizers["SimpleAuth"], orders.authorizers["PolicyAuth"]
    assert (simple.payload_type, simple.payload_format_version, simple.enable_simple_responses) == ("REQUEST", "2.0", True)
    assert simple.identity_sources == ["$request.header.Authorization"] and simple.ttl_seconds == 30
    assert (policy.payload_format_version, policy.enable_simple_responses, policy.ttl_seconds) == ("1.0", False, None)
    assert policy.identity_sources == [
        "$request.header.X-Key", "$request.querystring.tenant", "$stageVariables.table", "$context.routeKey",
    ]  # fmt: skip
    assert set(orders.authorizers) == {"SimpleAuth", "PolicyAuth"}  # not the JWT one
    # `CorsConfiguration: true`: SAM allows every origin, and nothing more
    assert project.apis["PublicHttpApi"].cors == Cors(allow_origins=["*"])
    assert project.apis["PublicHttpApi"].stage_name == "$default"
    assert project.apis["ServerlessHttpApi"].stage_variables == {"from_globals": "yes"}  # Globals.HttpApi


def test_function_urls() -> None:
    project, _ = load(HTTP)
    url = project.functions["OrdersFunction"].url
    assert url is not None
    assert (url.auth_type, url.invoke_mode, url.qualifier) == ("AWS_IAM", "BUFFERED", "live")  # SAM: the alias
    assert url.cors == Cors(allow_origins=["https://app.example"], allow_methods=["GET", "POST"],
                            allow_headers=["content-type"], expose_headers=["x-request-id"], max_age=300,
                            allow_credentials=True)  # fmt: skip
    stream = project.functions["StreamFunction"].url  # an AWS::Lambda::Url resource
    assert stream is not None
    assert (stream.auth_type, stream.invoke_mode, stream.qualifier) == ("NONE", "RESPONSE_STREAM", None)
    assert stream.declared_at is not None and f"http-api/template.yaml:{line(HTTP, 'StreamUrl:')} " in stream.declared_at
    assert [u.function for u in front_door(project).urls] == ["OrdersFunction", "StreamFunction"]


def test_http_what_lsim_does_not_serve_is_said_once_with_its_line() -> None:
    _, said = load(HTTP)
    expected = {
        "DefaultRouteSettings:": "Globals.HttpApi.DefaultRouteSettings not supported by lsim: ignored (lsim does "
        "not apply API Gateway's stage or route throttling)",
        "          Jwt:": "Auth.Authorizers.Jwt (JWT authorizer) not supported by lsim",
        "Authorizer: Jwt": "Events.Me.Properties.Auth.Authorizer: Jwt is a JWT authorizer, which lsim does not check",
        "Domain:": "Resources.OrdersHttpApi.Properties.Domain not supported by lsim",
        "            RouteSettings:": "Events.GetOrder.Properties.RouteSettings not supported by lsim",
        "  RawHttpApi:": "Resources.RawHttpApi (AWS::ApiGatewayV2::Api) not supported by lsim",
        "  RawRoute:": "Resources.RawRoute (AWS::ApiGatewayV2::Route) not supported by lsim",
    }
    for snippet, message in expected.items():
        assert said_at(said, HTTP, snippet, message), (snippet, said)
    assert len(said) == len(expected), said


# -- the implicit APIs and Globals ---------------------------------------------------------------------
GLOBALS = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Api:
    Cors:
      AllowOrigin: "'*'"
    Auth:
      DefaultAuthorizer: Tokens
      Authorizers:
        Tokens:
          FunctionArn: !GetAtt Authorize.Arn
  HttpApi:
    CorsConfiguration:
      AllowOrigins: ["*"]
Resources:
  Authorize:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src/, Handler: app.handler, Runtime: python3.12}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      FunctionUrlConfig:
        AuthType: NONE
      Events:
        Rest:
          Type: Api
          Properties: {Path: /a, Method: post}
        Open:
          Type: Api
          Properties: {Path: /b, Method: get, Auth: {Authorizer: NONE}}
        Http:
          Type: HttpApi
          Properties: {Path: /c, Method: any, PayloadFormatVersion: 1.0}
        Queue:
          Type: SNS
          Properties: {Topic: arn:aws:sns:us-east-1:123456789012:t}
"""


def test_globals_apply_to_the_implicit_apis(tmp_path: Path) -> None:
    path = write(tmp_path, GLOBALS)
    project, said = load(path)
    rest, http = project.apis["ServerlessRestApi"], project.apis["ServerlessHttpApi"]
    assert rest.cors == Cors(allow_origins=["*"]) and rest.default_authorizer == "Tokens"
    assert rest.authorizers["Tokens"].identity_sources == ["method.request.header.Authorization"]  # SAM's default
    assert rest.authorizers["Tokens"].ttl_seconds is None  # API Gateway's default (300 s) applies
    assert http.cors == Cors(allow_origins=["*"])
    routes = routes_of(front_door(project))
    assert routes[("ServerlessRestApi", "POST", "/a")][2] == "Tokens"
    assert routes[("ServerlessRestApi", "GET", "/b")][2] is None
    assert routes[("ServerlessHttpApi", "ANY", "/c")][3] == "1.0"  # `1.0` unquoted is a YAML number
    url = project.functions["Fn"].url
    assert url is not None and url.auth_type == "NONE" and url.qualifier is None and url.cors is None
    # other event sources keep their hint
    assert any("Events.Queue (SNS) not supported by lsim: ignored (invoke it with `lsim generate-event sns "
               "notification`)" in m for m in said), said  # fmt: skip
    assert not any("Globals.Api" in m or "Globals.HttpApi" in m for m in said), said


def test_a_lambda_url_of_an_alias_and_a_second_url(tmp_path: Path) -> None:
    template = """\
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties: {Code: src/, Handler: app.handler, Runtime: python3.12}
  Live:
    Type: AWS::Lambda::Alias
    Properties: {FunctionName: !Ref Fn, FunctionVersion: "1", Name: live}
  Url:
    Type: AWS::Lambda::Url
    Properties:
      TargetFunctionArn: !Ref Live
      AuthType: NONE
  Again:
    Type: AWS::Lambda::Url
    Properties:
      TargetFunctionArn: !GetAtt Fn.Arn
      Qualifier: other
      AuthType: AWS_IAM
"""
    path = write(tmp_path, template)
    project, said = load(path)
    url = project.functions["Fn"].url
    assert url is not None and (url.qualifier, url.auth_type) == ("live", "NONE")
    assert any(f"template.yaml:{line(path, 'Again:')}: Resources.Again: a second URL for Fn not supported by lsim"
               in m for m in said), said  # fmt: skip


# -- routes lsim cannot serve stop the load, with file, line and fix ------------------------------------
EVENT = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Other:
    Type: AWS::SNS::Topic
  Api:
    Type: AWS::Serverless::HttpApi
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Route:
          Type: {kind}
          Properties:
{properties}
"""

REFUSED = [
    ("Api", "RestApiId: !Ref Other\nPath: /a\nMethod: get", "RestApiId:",
     "Events.Route.RestApiId must be !Ref of an AWS::Serverless::Api of this template"),
    ("Api", "RestApiId: abc123\nPath: /a\nMethod: get", "RestApiId:",
     "or leave RestApiId out for the implicit one"),
    ("HttpApi", "ApiId: !Ref Api\nPath: /a", "Route:", "give both path and method, or neither"),
    ("Api", "Path: /a", "Route:", "an Api event needs both path and method"),
    ("Api", "Path: a\nMethod: get", "Route:", "path 'a' must start with /"),
    ("Api", "Path: /a\nMethod: fetch", "Route:", "method 'fetch': write one of get, post"),
    ("Api", "Path: /a\nMethod: get\nTimeoutInMillis: 29001", "Route:", "API Gateway allows 50-29000 ms for REST"),
    ("HttpApi", "ApiId: !Ref Api\nPath: /a\nMethod: get\nAuth:\n  Authorizer: Nope", "Authorizer:",
     "Auth.Authorizer: Nope is not an authorizer of API Api (none declared): declare it under the API's"),
    ("HttpApi", "ApiId: !Ref Api\nPath: /a\nMethod: get\nAuth:\n  Authorizer: AWS_IAM", "Authorizer:",
     "AWS_IAM on an HTTP API needs Auth.EnableIamAuthorizer: true"),
    ("Api", "Path: /{proxy+}/x\nMethod: get", "Route:", "the greedy variable {proxy+} must be the last segment"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "properties", "snippet", "message"), REFUSED)
def test_a_route_lsim_cannot_serve_names_file_line_and_fix(
    tmp_path: Path, kind: str, properties: str, snippet: str, message: str
) -> None:
    indented = "\n".join(" " * 12 + row for row in properties.splitlines())
    path = write(tmp_path, EVENT.format(kind=kind, properties=indented))
    with pytest.raises(ProjectFileError) as raised:
        load_project(path, warn=lambda _: None)
    assert f"template.yaml:{line(path, snippet)}: " in str(raised.value), str(raised.value)
    assert message in str(raised.value), str(raised.value)


API = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: {kind}
    Properties:
{properties}
"""

REFUSED_APIS = [
    ("AWS::Serverless::HttpApi", "Auth:\n  Authorizers:\n    A:\n      FunctionArn: arn:aws:lambda:us-east-1:1:function:a",
     "    A:", "Resources.Api.Properties.Auth.Authorizers.A: a Lambda authorizer of an HTTP API needs "
     "AuthorizerPayloadFormatVersion"),
    ("AWS::Serverless::Api", "StageName: v1\nAuth:\n  Authorizers:\n    A:\n      Identity: {Header: X}", "    A:",
     "a Lambda authorizer needs FunctionArn"),
    ("AWS::Serverless::Api", "StageName: v1\nAuth:\n  DefaultAuthorizer: Missing", "DefaultAuthorizer:",
     "DefaultAuthorizer: Missing is not one of Resources.Api.Properties.Auth.Authorizers (none declared)"),
    ("AWS::Serverless::Api", "Cors: \"'*'\"", "  Api:", "Resources.Api: Missing required property 'StageName'"),
    ("AWS::Serverless::HttpApi", "CorsConfiguration:\n  MaxAge: 90000", "CorsConfiguration:",
     "Resources.Api.Properties.CorsConfiguration: max_age: Input should be less than or equal to 86400"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "properties", "snippet", "message"), REFUSED_APIS)
def test_an_api_lsim_cannot_serve_names_file_line_and_fix(
    tmp_path: Path, kind: str, properties: str, snippet: str, message: str
) -> None:
    indented = "\n".join(" " * 6 + row for row in properties.splitlines())
    path = write(tmp_path, API.format(kind=kind, properties=indented))
    with pytest.raises(ProjectFileError) as raised:
        load_project(path, warn=lambda _: None)
    assert f"template.yaml:{line(path, snippet)}: " in str(raised.value), str(raised.value)
    assert message in str(raised.value), str(raised.value)


def test_an_image_function_built_from_metadata_has_its_routes(tmp_path: Path) -> None:
    template = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      FunctionUrlConfig: {AuthType: NONE}
      Events:
        Get:
          Type: HttpApi
    Metadata: {Dockerfile: Dockerfile, DockerContext: ., DockerTag: v1}
"""
    project, _ = load(write(tmp_path, template))
    function = project.functions["Fn"]
    assert function.image == "fn:v1" and function.url is not None
    assert function.http_events["Get"].path is None  # the $default route


def test_an_unquoted_rest_cors_value_is_said(tmp_path: Path) -> None:
    path = write(tmp_path, API.format(kind="AWS::Serverless::Api", properties="      StageName: v1\n      Cors: '*'"))
    project, said = load(path)
    assert project.apis["Api"].cors == Cors(allow_origins=["*"])
    assert any(f"template.yaml:{line(path, 'Cors:')}: Resources.Api.Properties.Cors: * is not quoted" in m
               for m in said), said  # fmt: skip


def test_openapi_definitions_api_keys_and_policies_are_said(tmp_path: Path) -> None:
    template = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      DefinitionUri: openapi.yaml
      Auth:
        ApiKeyRequired: true
        ResourcePolicy:
          IpRangeWhitelist: [10.0.0.0/8]
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Get:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /a
            Method: get
            Auth:
              ApiKeyRequired: true
"""
    path = write(tmp_path, template)
    project, said = load(path)
    assert front_door(project).routes[0].path == "/a"  # the event's route is served; the definition's are not
    expected = {
        "DefinitionUri:": "Resources.Api.Properties.DefinitionUri not supported by lsim: ignored (lsim serves the "
        "routes of the functions' Api/HttpApi events, not an OpenAPI definition)",
        "        ApiKeyRequired: true": "Resources.Api.Properties.Auth.ApiKeyRequired not supported by lsim: "
        "ignored (lsim checks no API keys)",
        "ResourcePolicy:": "Auth.ResourcePolicy not supported by lsim: ignored (lsim evaluates no resource policies)",
        "              ApiKeyRequired: true": "Events.Get.Properties.Auth.ApiKeyRequired not supported by lsim",
    }
    for snippet, message in expected.items():
        assert said_at(said, path, snippet, message), (snippet, said)
    assert len(said) == len(expected), said


def test_the_template_and_lsim_toml_give_the_same_front_door(tmp_path: Path) -> None:
    """Nothing downstream knows where the declarations came from."""
    template = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  orders:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageVariables: {env: local}
      CorsConfiguration: {AllowOrigins: ["https://app.example"], AllowMethods: [GET]}
      Auth:
        DefaultAuthorizer: tokens
        Authorizers:
          tokens:
            FunctionArn: !GetAtt authorize.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity: {Headers: [Authorization]}
  authorize:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src/, Handler: app.handler, Runtime: python3.12}
  get_order:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      FunctionUrlConfig: {AuthType: NONE, Cors: {AllowOrigins: ["*"]}}
      Events:
        get:
          Type: HttpApi
          Properties: {ApiId: !Ref orders, Path: "/orders/{id}", Method: get}
"""
    toml = """\
[apis.orders]
type = "http"
stage_variables = { env = "local" }
cors = { allow_origins = ["https://app.example"], allow_methods = ["GET"] }
default_authorizer = "tokens"
[apis.orders.authorizers.tokens]
function = "authorize"
payload_type = "REQUEST"
payload_format_version = "2.0"
identity_sources = ["$request.header.Authorization"]
enable_simple_responses = true

[functions.authorize]
handler = "app.handler"
runtime = "python3.12"
code = "src"

[functions.get_order]
handler = "app.handler"
runtime = "python3.12"
code = "src"
url = { auth_type = "NONE", cors = { allow_origins = ["*"] } }
[functions.get_order.events.get]
type = "httpapi"
path = "/orders/{id}"
method = "get"
api = "orders"
"""
    (tmp_path / "sam").mkdir()
    (tmp_path / "toml").mkdir()
    from_template = front_door(load(write(tmp_path / "sam", template))[0])
    from_toml = front_door(load(write(tmp_path / "toml", toml, "lsim.toml"))[0])
    # model_dump() leaves out declared_at, the one difference
    assert {n: a.model_dump() for n, a in from_template.apis.items()} == {
        n: a.model_dump() for n, a in from_toml.apis.items()
    }
    assert [r.model_dump(exclude={"declared_at"}) for r in from_template.routes] == [
        r.model_dump(exclude={"declared_at"}) for r in from_toml.routes
    ]
    assert [u.model_dump() for u in from_template.urls] == [u.model_dump() for u in from_toml.urls]


def test_ref_of_an_api_gives_the_id_its_events_carry(tmp_path: Path) -> None:
    """`sam init`'s templates name SAM's implicit API (`${ServerlessRestApi}`) in Outputs and environment
    variables: it resolves to the API's id, the same apiId the front door puts in the events."""
    path = write(tmp_path, """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Orders:
    Type: AWS::Serverless::HttpApi
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables:
          API_URL: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod/hello/"
          ORDERS_API: !Ref Orders
      Events:
        Hello:
          Type: Api
          Properties: {Path: /hello, Method: get}
        Order:
          Type: HttpApi
          Properties: {Path: /orders, Method: get, ApiId: !Ref Orders}
""")
    project, _ = load(path)
    assert {(route.api, route.path) for route in front_door(project).routes} == {
        ("ServerlessRestApi", "/hello"), ("Orders", "/orders")
    }
    settings = project.settings
    rest_id = api_id_of("ServerlessRestApi", settings.account_id, settings.region)
    variables = project.functions["Hello"].environment
    assert variables["API_URL"] == f"https://{rest_id}.execute-api.{settings.region}.amazonaws.com/Prod/hello/"
    assert variables["ORDERS_API"] == api_id_of("Orders", settings.account_id, settings.region)
    assert len(rest_id) == 10 and rest_id.isalnum()
