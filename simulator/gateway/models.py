"""The HTTP front door a project declares: API Gateway REST and HTTP APIs, their routes, authorizers and CORS,
and Lambda function URLs. lsim.toml and template.yaml (sam/http.py) both become these models; `front_door()`
gathers them into the route table `lsim serve --http-port` serves.

    [apis.orders]                       # AWS::Serverless::Api (type = "rest") or ::HttpApi (type = "http")
    type = "http"
    stage = "$default"                  # StageName; HTTP APIs default to $default, REST APIs to Prod
    stage_variables = { env = "local" }
    binary_media_types = ["image/png"]
    cors = { allow_origins = ["https://app.example"], allow_methods = ["GET"] }
    default_authorizer = "tokens"
    [apis.orders.authorizers.tokens]
    function = "authorize"              # a function of this project (or its ARN)
    identity_sources = ["$request.header.Authorization"]
    enable_simple_responses = true

    [functions.get_order.events.get]    # SAM's Events: Type: Api / HttpApi
    type = "httpapi"                    # "api" (REST, payload 1.0) or "httpapi" (payload 2.0 by default)
    path = "/orders/{id}"
    method = "get"
    api = "orders"                      # none: the implicit ServerlessRestApi / ServerlessHttpApi

    [functions.get_order.url]           # FunctionUrlConfig
    auth_type = "NONE"                  # or "AWS_IAM"
    cors = { allow_origins = ["*"] }

https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-api.html
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-httpapi.html
https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from ..config import ProjectConfig

#: the APIs SAM makes for events that name none (samtranslator's implicit APIs)
IMPLICIT_REST_API = "ServerlessRestApi"
IMPLICIT_HTTP_API = "ServerlessHttpApi"
#: SAM's stage for its implicit REST API; an HTTP API's default stage is $default
DEFAULT_REST_STAGE = "Prod"
DEFAULT_HTTP_STAGE = "$default"
#: the route key of an HTTP API's catch-all route, and of every function URL request
DEFAULT_ROUTE = "$default"
#: API Gateway's integration timeout: REST 50-29,000 ms (default 29,000), HTTP APIs 50-30,000 ms (default
#: 30,000) (API Gateway's PutIntegration / CreateIntegration references)
REST_TIMEOUT_MS = 29_000
HTTP_TIMEOUT_MS = 30_000
MIN_TIMEOUT_MS = 50
#: Lambda authorizers' result cache: 0-3600 s, REST's default 300 (CreateAuthorizer)
AUTHORIZER_TTL_MAX_S = 3600
REST_AUTHORIZER_TTL_S = 300
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
_PATH_VARIABLE = re.compile(r"\{([A-Za-z0-9._-]+)(\+?)\}")


class Cors(BaseModel):
    """CORS as an HTTP API's CorsConfiguration, a function URL's Cors or a REST API's Cors (SAM) says it.

    REST values arrive unquoted here (SAM's `"'*'"` becomes `"*"`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_origins: list[str] = Field(default_factory=list)
    allow_methods: list[str] = Field(default_factory=list)
    allow_headers: list[str] = Field(default_factory=list)
    expose_headers: list[str] = Field(default_factory=list)
    max_age: int | None = Field(default=None, ge=-1, le=86400)
    allow_credentials: bool = False


class Authorizer(BaseModel):
    """A Lambda authorizer of an API. REST: `payload_type` TOKEN (one header, `Authorization` by default) or
    REQUEST; HTTP APIs: REQUEST with `payload_format_version` 1.0 or 2.0 and, for 2.0, simple responses.

    Identity sources are written as AWS writes them: `method.request.header.X` / `method.request.querystring.q`
    / `stageVariables.v` / `context.v` for REST, `$request.header.X` / `$request.querystring.q` /
    `$stageVariables.v` / `$context.v` for HTTP APIs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    function: str  # the authorizer function's name in this project (an ARN is reduced to it)
    payload_type: Literal["TOKEN", "REQUEST"] = "TOKEN"
    payload_format_version: Literal["1.0", "2.0"] | None = None  # HTTP APIs only
    enable_simple_responses: bool = False  # HTTP APIs, payload 2.0 only
    identity_sources: list[str] = Field(default_factory=list)
    validation_expression: str | None = None  # TOKEN only: a regex the token must match
    ttl_seconds: int | None = Field(default=None, ge=0, le=AUTHORIZER_TTL_MAX_S)  # None: the API kind's default
    declared_at: str | None = Field(default=None, exclude=True)

    @field_validator("function")
    @classmethod
    def _function(cls, value: str) -> str:
        return function_name_of(value)


class ApiDeclaration(BaseModel):
    """One API: `[apis.NAME]`, an AWS::Serverless::Api / ::HttpApi, or an implicit one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["rest", "http"]
    stage: str | None = None  # None: Prod for REST, $default for HTTP APIs
    stage_variables: dict[str, str] = Field(default_factory=dict)
    binary_media_types: list[str] = Field(default_factory=list)  # "image/png", "image/*", "*/*"
    cors: Cors | None = None
    authorizers: dict[str, Authorizer] = Field(default_factory=dict)
    default_authorizer: str | None = None
    #: REST: SAM's Auth.AddDefaultAuthorizerToCorsPreflight (the preflight needs the default authorizer too)
    authorize_preflight: bool = True
    declared_at: str | None = Field(default=None, exclude=True)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @property
    def stage_name(self) -> str:
        if self.stage is not None:
            return self.stage
        return DEFAULT_REST_STAGE if self.type == "rest" else DEFAULT_HTTP_STAGE

    @model_validator(mode="after")
    def _default_authorizer(self) -> ApiDeclaration:
        if self.default_authorizer not in (None, "NONE", "AWS_IAM", *self.authorizers):
            raise ValueError(f"default_authorizer {self.default_authorizer!r} is not one of this API's authorizers "
                             f"({', '.join(self.authorizers) or 'none declared'})")  # fmt: skip
        return self


class HttpEvent(BaseModel):
    """A function's `Events: Type: Api | HttpApi`, or `[functions.F.events.NAME]` with that type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["api", "httpapi"]
    path: str | None = None  # HttpApi without path and method: the $default route
    method: str | None = None
    api: str | None = None  # none: the implicit API of the type
    stage: str | None = None  # SAM's Stage on an event of an implicit API
    payload_format_version: Literal["1.0", "2.0"] | None = None  # HttpApi: 2.0 by default; Api is 1.0
    timeout_in_millis: int | None = None  # TimeoutInMillis: the integration timeout
    authorizer: str | None = None  # Auth.Authorizer: a name, "NONE" or "AWS_IAM"; none: the API's default
    qualifier: str | None = None  # the alias or version the integration invokes (SAM: AutoPublishAlias)
    declared_at: str | None = Field(default=None, exclude=True)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("method")
    @classmethod
    def _method(cls, value: str | None) -> str | None:
        if value is None:
            return None
        method = value.upper()
        if method not in METHODS:
            raise ValueError(f"method {value!r}: write one of {', '.join(m.lower() for m in METHODS)}")
        return method

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        check_route_path(value)
        return value

    @model_validator(mode="after")
    def _shape(self) -> HttpEvent:
        if self.type == "api" and (self.path is None or self.method is None):
            raise ValueError("an Api event needs both path and method")
        if (self.path is None) != (self.method is None):
            raise ValueError("give both path and method, or neither (the HTTP API's $default route)")
        if self.type == "api" and self.payload_format_version == "2.0":
            raise ValueError("REST APIs (type api) send payload format 1.0 only; use type httpapi for 2.0")
        limit = REST_TIMEOUT_MS if self.type == "api" else HTTP_TIMEOUT_MS
        if self.timeout_in_millis is not None and not MIN_TIMEOUT_MS <= self.timeout_in_millis <= limit:
            kind = "REST" if self.type == "api" else "HTTP"
            raise ValueError(f"timeout_in_millis {self.timeout_in_millis}: API Gateway allows "
                             f"{MIN_TIMEOUT_MS}-{limit} ms for {kind} APIs")  # fmt: skip
        return self


class FunctionUrlConfig(BaseModel):
    """`FunctionUrlConfig` / `[functions.F.url]`: the function answers on its own URL, any path."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    auth_type: Literal["NONE", "AWS_IAM"] = "NONE"
    invoke_mode: Literal["BUFFERED", "RESPONSE_STREAM"] = "BUFFERED"
    cors: Cors | None = None
    qualifier: str | None = None  # SAM: the AutoPublishAlias
    #: the port lsim serves this URL on; none: the next free one after --http-port
    port: int | None = Field(default=None, ge=0, le=65535)
    declared_at: str | None = Field(default=None, exclude=True)

    @field_validator("auth_type", "invoke_mode", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class Route(BaseModel):
    """One route of the table: an API's method and resource path, and the function it invokes."""

    model_config = ConfigDict(frozen=True)

    api: str
    api_type: Literal["rest", "http"]
    method: str  # "GET", ..., or "ANY"
    path: str  # "/orders/{id}", "/{proxy+}", or "$default"
    function: str
    qualifier: str | None
    payload_format_version: Literal["1.0", "2.0"]
    timeout_ms: int
    authorizer: str | None  # an authorizer's name, "AWS_IAM", or None (open)
    declared_at: str | None = None

    @property
    def route_key(self) -> str:
        """HTTP APIs' routeKey: "GET /orders/{id}", or "$default"."""
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"


class FunctionUrl(BaseModel):
    """A function URL of the table."""

    model_config = ConfigDict(frozen=True)

    function: str
    config: FunctionUrlConfig
    url_id: str  # the 32 characters of `https://<url-id>.lambda-url.<region>.on.aws/`


class FrontDoor(BaseModel):
    """Every API, route and function URL of a project: what `lsim serve --http-port` serves."""

    model_config = ConfigDict(frozen=True)

    apis: dict[str, ApiDeclaration] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    urls: list[FunctionUrl] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.routes and not self.urls


class FrontDoorError(ValueError):
    """A declaration the front door cannot serve; the message names where it is and the fix."""


def function_name_of(reference: str) -> str:
    """A function's name from its name or ARN (`arn:aws:lambda:r:a:function:NAME[:qualifier]`)."""
    if reference.startswith("arn:"):
        parts = reference.split(":")
        if len(parts) >= 7 and parts[5] == "function":
            return parts[6]
    return reference


def check_route_path(path: str) -> None:
    """A resource path API Gateway accepts: `/`-rooted, `{name}` variables, a greedy `{name+}` only last."""
    if path == DEFAULT_ROUTE:
        return
    if not path.startswith("/"):
        raise ValueError(f"path {path!r} must start with /")
    segments = path.strip("/").split("/") if path != "/" else []
    for index, segment in enumerate(segments):
        if not segment:
            raise ValueError(f"path {path!r} has an empty segment (//)")
        variable = _PATH_VARIABLE.fullmatch(segment)
        if "{" in segment and variable is None:
            raise ValueError(f"path {path!r}: {segment!r} must be a whole-segment variable, {{id}} or {{proxy+}}")
        if variable is not None and variable.group(2) and index != len(segments) - 1:
            raise ValueError(f"path {path!r}: the greedy variable {segment} must be the last segment")


def url_id_of(account_id: str, region: str, function: str) -> str:
    """A stable 32-character url-id for a function's URL (lowercase letters and digits, as AWS's)."""
    import hashlib

    digest = hashlib.sha256(f"{account_id}:{region}:{function}".encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[byte % len(alphabet)] for byte in digest)[:32]


def front_door(project: ProjectConfig) -> FrontDoor:
    """The route table of a project: its declared APIs, the implicit ones its events need, every function's
    API events as routes and its function URL. Raises FrontDoorError for a route that names an unknown API
    or authorizer, a route declared twice, or an authorizer function that does not exist."""
    apis: dict[str, ApiDeclaration] = dict(project.apis)
    routes: list[Route] = []
    urls: list[FunctionUrl] = []
    seen: dict[tuple[str, str, str], Route] = {}
    for function in sorted(project.functions.values(), key=lambda f: f.name):
        for name, event in function.http_events.items():
            where = event.declared_at or f"[functions.{function.name}.events.{name}]"
            api_name = event.api or (IMPLICIT_REST_API if event.type == "api" else IMPLICIT_HTTP_API)
            if api_name not in apis:
                if event.api is not None:
                    raise FrontDoorError(f"{where}: api {event.api!r} is not declared; declare [apis.{event.api}] "
                                         f"(or an AWS::Serverless::{'Api' if event.type == 'api' else 'HttpApi'}), "
                                         "or leave api out for the implicit one")  # fmt: skip
                stage = event.stage if event.type == "api" else None
                apis[api_name] = ApiDeclaration(type="rest" if event.type == "api" else "http", stage=stage)
            api = apis[api_name]
            if (api.type == "rest") != (event.type == "api"):
                raise FrontDoorError(f"{where}: an {'Api' if event.type == 'api' else 'HttpApi'} event cannot "
                                     f"name the {api.type.upper()} API {api_name!r}")  # fmt: skip
            authorizer = event.authorizer if event.authorizer is not None else api.default_authorizer
            if authorizer == "NONE":
                authorizer = None
            if authorizer not in (None, "AWS_IAM") and authorizer not in api.authorizers:
                raise FrontDoorError(f"{where}: authorizer {authorizer!r} is not one of API {api_name}'s "
                                     f"authorizers ({', '.join(api.authorizers) or 'none declared'})")  # fmt: skip
            version = event.payload_format_version or ("1.0" if event.type == "api" else "2.0")
            route = Route(
                api=api_name, api_type=api.type, method=event.method or "ANY", path=event.path or DEFAULT_ROUTE,
                function=function.name, qualifier=event.qualifier, payload_format_version=version,
                timeout_ms=event.timeout_in_millis or (REST_TIMEOUT_MS if api.type == "rest" else HTTP_TIMEOUT_MS),
                authorizer=authorizer, declared_at=where,
            )  # fmt: skip
            key = (api_name, route.method, _shape_of(route.path))
            if key in seen:
                raise FrontDoorError(f"{where}: {route.method} {route.path} on API {api_name} is also declared at "
                                     f"{seen[key].declared_at} (for {seen[key].function}); keep one")  # fmt: skip
            seen[key] = route
            routes.append(route)
        if function.url is not None:
            url_id = url_id_of(project.settings.account_id, project.settings.region, function.name)
            urls.append(FunctionUrl(function=function.name, config=function.url, url_id=url_id))
    for api_name, api in apis.items():
        for authorizer_name, declared in api.authorizers.items():
            if declared.function not in project.functions:
                where = declared.declared_at or f"[apis.{api_name}.authorizers.{authorizer_name}]"
                raise FrontDoorError(f"{where}: authorizer function {declared.function!r} is not a function of "
                                     "this project; declare it, or name one of: "
                                     f"{', '.join(sorted(project.functions)) or 'none'}")  # fmt: skip
    return FrontDoor(apis=apis, routes=routes, urls=urls)


def _shape_of(path: str) -> str:
    """A path with its variables' names blanked: `/a/{id}` and `/a/{key}` are the same route."""
    return _PATH_VARIABLE.sub(lambda match: "{+}" if match.group(2) else "{}", path)
