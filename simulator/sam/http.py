"""A template's HTTP front door, read into the models `lsim serve --http-port` serves (gateway/models.py):

    Events: Type: Api / HttpApi on a function        -> FunctionConfig.http_events (one route each)
    AWS::Serverless::Api / AWS::Serverless::HttpApi  -> ProjectConfig.apis, keyed by logical ID (a nested
                                                        stack's by its path, `SubApp/ChildApi`)
    Globals.Api / Globals.HttpApi                    -> merged into each API, the implicit ones too
    FunctionUrlConfig, AWS::Lambda::Url              -> FunctionConfig.url

What SAM's transform makes of each property was checked by running aws-sam-translator 1.110 on the test
templates (tests/sam_templates/http-*): events without RestApiId / ApiId go to the implicit
`ServerlessRestApi` (stage Prod) or `ServerlessHttpApi` (stage $default), and the Globals apply to those too;
an event's `Stage` only scopes the invoke permission, it names no stage; the integration invokes the
function's AutoPublishAlias when it has one, and so does its function URL; `Cors: "'*'"` on a REST API is a
quoted literal, `CorsConfiguration: true` on an HTTP API allows every origin and nothing else; a REST TOKEN
authorizer reads `Authorization` unless Identity.Header says otherwise.

What lsim does not serve (OpenAPI definitions, API keys and usage plans, resource policies, Cognito and JWT
authorizers, custom domains, per-route throttling) is said once with its line. A route that names a Cognito
or JWT authorizer is served without authorization, as `sam local start-api` does, and says so. Raw
`AWS::ApiGateway::*` / `AWS::ApiGatewayV2::*` resources (CDK's output) are not read: lsim serves SAM's events
and function URLs.

https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-api.html
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-httpapi.html
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-functionurlconfig.html
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..cfn import NO_VALUE, Template, Unresolvable, YamlMap, text
from ..gateway.models import (
    IMPLICIT_HTTP_API,
    IMPLICIT_REST_API,
    ApiDeclaration,
    Authorizer,
    Cors,
    FunctionUrlConfig,
    HttpEvent,
)
from .notes import Notes
from .stacks import full_path

REST_API = "AWS::Serverless::Api"
HTTP_API = "AWS::Serverless::HttpApi"
API_TYPES = (REST_API, HTTP_API)
LAMBDA_URL = "AWS::Lambda::Url"
EVENT_TYPES = ("Api", "HttpApi")

#: API properties that change nothing lsim serves
QUIET = frozenset(
    {"Name", "Description", "Tags", "PropagateTags", "OpenApiVersion", "AlwaysDeploy", "FailOnWarnings",
     "EndpointConfiguration", "MergeDefinitions", "FunctionInvokeRole"}
)  # fmt: skip
#: what lsim leaves out, and why, for the properties it is most often asked about
WHY = {
    "DefinitionBody": "lsim serves the routes of the functions' Api/HttpApi events, not an OpenAPI definition",
    "DefinitionUri": "lsim serves the routes of the functions' Api/HttpApi events, not an OpenAPI definition",
    "ApiKeyRequired": "lsim checks no API keys",
    "UsagePlan": "lsim checks no API keys or usage plans",
    "ResourcePolicy": "lsim evaluates no resource policies",
    "Domain": "lsim serves on its own port, without the stage in the path",
    "MethodSettings": "lsim does not apply API Gateway's stage or route throttling",
    "DefaultRouteSettings": "lsim does not apply API Gateway's stage or route throttling",
    "RouteSettings": "lsim does not apply API Gateway's stage or route throttling",
    "GatewayResponses": "lsim answers with API Gateway's default gateway responses",
    "Models": "lsim does not validate request bodies",
    "RequestModel": "lsim does not validate request bodies",
    "RequestParameters": "lsim does not check required request parameters",
    "AuthorizationScopes": "lsim checks no OAuth scopes",
    "CacheClusterEnabled": "lsim caches no answers",
    "CacheClusterSize": "lsim caches no answers",
    "MinimumCompressionSize": "lsim does not compress answers",
}
#: an authorizer of a kind lsim does not run: (the property that marks it, its kind)
NOT_LAMBDA = (("UserPoolArn", "Cognito user pool"), ("JwtConfiguration", "JWT"))


@dataclass(frozen=True)
class _Pending:
    """An Api / HttpApi event of a function, read once every API of the template is known."""

    name: str
    kind: str  # "Api" or "HttpApi"
    properties: Any
    line: int
    path: str  # Resources.F.Properties.Events.NAME
    qualifier: str | None


class HttpReader:
    """The APIs, routes and function URLs one template declares."""

    def __init__(self, template: Template, notes: Notes, globals_: Any, stack_path: str = "") -> None:
        self.template = template
        self.notes = notes
        self.globals_ = globals_ if isinstance(globals_, YamlMap) else YamlMap()
        self.stack_path = stack_path
        self.apis: dict[str, ApiDeclaration] = {}  # by api_name()
        self._unserved: dict[str, dict[str, str]] = {}  # API -> authorizer lsim does not run -> its kind
        self._iam: set[str] = set()  # HTTP APIs with Auth.EnableIamAuthorizer
        self._pending: dict[str, list[_Pending]] = {}  # function logical ID -> its events

    def api_name(self, logical_id: str) -> str:
        """An API's key in ProjectConfig.apis: its logical ID, under its stack's path in a nested template."""
        return full_path(self.stack_path, logical_id)

    # -- APIs ------------------------------------------------------------------------------------------
    def read_api(self, logical_id: str, resource: YamlMap, kind: str) -> None:
        """An AWS::Serverless::Api or ::HttpApi, Globals.Api / Globals.HttpApi merged in as SAM merges them."""
        from .functions import merge_global

        line = self.template.resources.line_of(logical_id)
        properties = resource.get("Properties") or YamlMap(line=line)
        if not isinstance(properties, YamlMap):
            raise self.notes.error(line, f"Resources.{logical_id}.Properties must be a mapping")
        section = "Api" if kind == REST_API else "HttpApi"
        defaults = self.globals_.get(section)
        merged = YamlMap(line=properties.line)
        if isinstance(defaults, YamlMap):
            for key, value in defaults.items():
                merged[key], merged.lines[key] = value, defaults.line_of(key)
        for key, value in properties.items():
            merged[key] = merge_global(merged[key], value) if key in merged else value
            merged.lines[key] = properties.line_of(key)
        paths = {key: f"Resources.{logical_id}.Properties.{key}" for key in properties}
        if isinstance(defaults, YamlMap):
            paths.update({key: f"Globals.{section}.{key}" for key in defaults if key not in properties})
        self._declare(logical_id, "rest" if kind == REST_API else "http", merged, paths, line)

    def _implicit(self, kind: str, line: int) -> None:
        """ServerlessRestApi / ServerlessHttpApi, which SAM makes for events that name no API: Globals only."""
        logical_id = IMPLICIT_REST_API if kind == "Api" else IMPLICIT_HTTP_API
        if self.api_name(logical_id) in self.apis:
            return
        defaults = self.globals_.get(kind)
        merged = defaults if isinstance(defaults, YamlMap) else YamlMap(line=line)
        paths = {key: f"Globals.{kind}.{key}" for key in merged}
        api_type = "rest" if kind == "Api" else "http"
        self._declare(logical_id, api_type, merged, paths, line, implicit=True)

    def _declare(
        self,
        logical_id: str,
        api_type: str,
        properties: YamlMap,
        paths: dict[str, str],
        line: int,
        *,
        implicit: bool = False,
    ) -> None:
        name = self.api_name(logical_id)
        label = f"the implicit {logical_id}" if implicit else f"Resources.{logical_id}"
        fields: dict[str, Any] = {"type": api_type, "declared_at": f"{self.notes.source}:{line} {label}"}
        authorizers: dict[str, Authorizer] = {}
        for key, raw in properties.items():
            key_line, path = properties.line_of(key), paths.get(key, f"Resources.{logical_id}.Properties.{key}")
            try:
                value = self.template.resolve(raw, key_line)
            except Unresolvable as exc:
                self.notes.unsupported(exc.line, f"{path}: {exc.message}")
                continue
            if value is NO_VALUE or key in QUIET:
                continue
            if key == "StageName":
                fields["stage"] = text(value)
            elif key == ("Variables" if api_type == "rest" else "StageVariables"):
                if not isinstance(value, dict):
                    raise self.notes.error(key_line, f"{path} must be a mapping of name: value")
                fields["stage_variables"] = {str(k): text(v) for k, v in value.items()}
            elif key == "BinaryMediaTypes" and api_type == "rest":
                items = value if isinstance(value, list) else [value]
                fields["binary_media_types"] = [text(item).replace("~1", "/") for item in items]
            elif key == "Cors" and api_type == "rest":
                fields["cors"] = self._rest_cors(value, key_line, path)
            elif key == "CorsConfiguration" and api_type == "http":
                fields["cors"] = self._http_cors(value, key_line, path)
            elif key == "Auth":
                authorizers = self._auth(name, api_type, value, key_line, path, fields)
            else:
                self.notes.unsupported(key_line, path, WHY.get(key, ""))
        fields["authorizers"] = authorizers
        if api_type == "rest" and "stage" not in fields and not implicit:
            raise self.notes.error(line, f"{label}: Missing required property 'StageName' (SAM's transform refuses "
                                   "an AWS::Serverless::Api without it): add StageName, e.g. Prod")  # fmt: skip
        try:
            self.apis[name] = ApiDeclaration.model_validate(fields)
        except ValidationError as exc:
            problems = "; ".join(_messages(exc))
            raise self.notes.error(line, f"{label}: {problems}") from None

    def _auth(
        self, api: str, api_type: str, auth: Any, line: int, path: str, fields: dict[str, Any]
    ) -> dict[str, Authorizer]:
        if not isinstance(auth, dict):
            raise self.notes.error(line, f"{path} must be a mapping")
        at = auth.line_of if isinstance(auth, YamlMap) else (lambda _key: line)
        authorizers: dict[str, Authorizer] = {}
        declared = auth.get("Authorizers") or {}
        if not isinstance(declared, dict):
            raise self.notes.error(at("Authorizers"), f"{path}.Authorizers must be a mapping of name: authorizer")
        for name, config in declared.items():
            where = f"{path}.Authorizers.{name}"
            name_line = declared.line_of(name) if isinstance(declared, YamlMap) else line
            authorizer = self._authorizer(api, api_type, str(name), config, name_line, where)
            if authorizer is not None:
                authorizers[str(name)] = authorizer
        for key, value in auth.items():
            if key == "Authorizers":
                continue
            if key == "DefaultAuthorizer":
                default = text(value)
                if default in self._unserved.get(api, {}):
                    self.notes.report(at(key), f"{path}.DefaultAuthorizer: {default} is a "
                                      f"{self._unserved[api][default]} authorizer, which lsim does not check: the "
                                      "routes without an Auth.Authorizer of their own run without authorization "
                                      "(as `sam local start-api`)")  # fmt: skip
                elif default == "AWS_IAM" and api_type == "http" and not _true(auth.get("EnableIamAuthorizer")):
                    raise self.notes.error(at(key), f"{path}.DefaultAuthorizer: AWS_IAM on an HTTP API needs "
                                           "Auth.EnableIamAuthorizer: true")  # fmt: skip
                elif default not in ("NONE", "AWS_IAM", *authorizers):
                    known = ", ".join(authorizers) or "none declared"
                    raise self.notes.error(at(key), f"{path}.DefaultAuthorizer: {default} is not one of "
                                           f"{path}.Authorizers ({known})")  # fmt: skip
                else:
                    fields["default_authorizer"] = default
            elif key == "EnableIamAuthorizer" and api_type == "http":
                if _true(value):
                    self._iam.add(api)
            elif key == "AddDefaultAuthorizerToCorsPreflight" and api_type == "rest":
                fields["authorize_preflight"] = _true(value)
            elif key == "InvokeRole" or _off(key, value):
                continue  # InvokeRole: the role API Gateway invokes the function with; lsim invokes it itself
            else:
                self.notes.unsupported(at(key), f"{path}.{key}", WHY.get(key, ""))
        return authorizers

    def _authorizer(self, api: str, api_type: str, name: str, config: Any, line: int, where: str) -> Authorizer | None:
        """A Lambda authorizer; a Cognito or JWT one is said once and left out."""
        if not isinstance(config, dict):
            raise self.notes.error(line, f"{where} must be a mapping")
        for marker, kind in NOT_LAMBDA:
            if marker in config:
                self._unserved.setdefault(api, {})[name] = kind
                self.notes.unsupported(line, f"{where} ({kind} authorizer)", "routes that use it run without "
                                       "authorization, as `sam local start-api` runs them")  # fmt: skip
                return None
        at = config.line_of if isinstance(config, YamlMap) else (lambda _key: line)
        if "FunctionArn" not in config:
            raise self.notes.error(line, f"{where}: a Lambda authorizer needs FunctionArn (e.g. !GetAtt "
                                   "AuthorizerFunction.Arn)")  # fmt: skip
        fields: dict[str, Any] = {
            "function": text(config["FunctionArn"]),
            "declared_at": f"{self.notes.source}:{line} {where}",
        }
        identity = config.get("Identity") or {}
        if not isinstance(identity, dict):
            raise self.notes.error(at("Identity"), f"{where}.Identity must be a mapping")
        if api_type == "rest":
            payload_type = text(config.get("FunctionPayloadType", "TOKEN")).upper()
            fields["payload_type"] = payload_type
            if payload_type == "TOKEN":
                # SAM's default header; the one header is the whole identity source
                fields["identity_sources"] = [f"method.request.header.{text(identity.get('Header', 'Authorization'))}"]
                if "ValidationExpression" in identity:
                    fields["validation_expression"] = text(identity["ValidationExpression"])
            else:
                fields["identity_sources"] = _sources(identity, REST_SOURCES)
            known = {"FunctionArn", "FunctionPayloadType", "Identity", "FunctionInvokeRole"}
        else:
            fields["payload_type"] = "REQUEST"
            if "AuthorizerPayloadFormatVersion" not in config:
                raise self.notes.error(line, f"{where}: a Lambda authorizer of an HTTP API needs "
                                       "AuthorizerPayloadFormatVersion (\"1.0\" or \"2.0\")")  # fmt: skip
            fields["payload_format_version"] = _version(config["AuthorizerPayloadFormatVersion"])
            fields["enable_simple_responses"] = _true(config.get("EnableSimpleResponses", False))
            fields["identity_sources"] = _sources(identity, HTTP_SOURCES)
            known = {"FunctionArn", "AuthorizerPayloadFormatVersion", "EnableSimpleResponses", "Identity",
                     "FunctionInvokeRole", "EnableFunctionDefaultPermissions"}  # fmt: skip
        if "ReauthorizeEvery" in identity:
            fields["ttl_seconds"] = _integer(identity["ReauthorizeEvery"])
        for key in identity:
            if key not in ("Header", "ValidationExpression", "ReauthorizeEvery", *(k for k, _ in REST_SOURCES)):
                self.notes.unsupported(at("Identity"), f"{where}.Identity.{key}")
        for key in config:
            if key not in known:
                hint = "SAM reads the cache time from Identity.ReauthorizeEvery" if key.endswith("TtlInSeconds") else ""
                self.notes.unsupported(at(key), f"{where}.{key}", hint)
        try:
            return Authorizer.model_validate(fields)
        except ValidationError as exc:
            raise self.notes.error(line, f"{where}: {'; '.join(_messages(exc))}") from None

    def _rest_cors(self, value: Any, line: int, path: str) -> Cors:
        """A REST API's Cors: a quoted origin, or a map of quoted header values (SAM's mock OPTIONS answer)."""
        if not isinstance(value, dict):
            return Cors(allow_origins=[self._literal(value, line, path)])
        at = value.line_of if isinstance(value, YamlMap) else (lambda _key: line)
        fields: dict[str, Any] = {}
        for key, item in value.items():
            where = f"{path}.{key}"
            if key == "AllowOrigin":
                fields["allow_origins"] = [self._literal(item, at(key), where)]
            elif key in ("AllowMethods", "AllowHeaders"):
                words = self._literal(item, at(key), where).split(",")
                fields["allow_methods" if key == "AllowMethods" else "allow_headers"] = [w.strip() for w in words]
            elif key == "MaxAge":
                fields["max_age"] = _integer(self._literal(item, at(key), where))
            elif key == "AllowCredentials":
                fields["allow_credentials"] = _true(item)
            else:
                self.notes.unsupported(at(key), where)
        return self._cors(fields, line, path)

    def _literal(self, value: Any, line: int, path: str) -> str:
        """`"'*'"`: API Gateway reads a header value in single quotes as a literal."""
        word = text(value)
        if len(word) >= 2 and word[0] == word[-1] == "'":
            return word[1:-1]
        self.notes.report(line, f"{path}: {word} is not quoted; API Gateway takes a literal value in single "
                          f"quotes (\"'{word}'\"): lsim reads it as that literal")  # fmt: skip
        return word

    def _http_cors(self, value: Any, line: int, path: str) -> Cors | None:
        """An HTTP API's CorsConfiguration: true (every origin, as SAM makes it) or a map."""
        if not isinstance(value, dict):
            return Cors(allow_origins=["*"]) if _true(value) else None
        return self._cors(_url_cors(value), line, path)

    def url_cors(self, value: Any, line: int, path: str) -> Cors:
        if not isinstance(value, dict):
            raise self.notes.error(line, f"{path} must be a mapping (AllowOrigins, AllowMethods, ...)")
        return self._cors(_url_cors(value), line, path)

    def _cors(self, fields: dict[str, Any], line: int, path: str) -> Cors:
        try:
            return Cors.model_validate(fields)
        except ValidationError as exc:
            raise self.notes.error(line, f"{path}: {'; '.join(_messages(exc))}") from None

    # -- events ----------------------------------------------------------------------------------------
    def add_event(
        self, function: str, name: str, kind: str, properties: Any, line: int, path: str, qualifier: str | None
    ) -> None:
        """An Api / HttpApi event of `function` (a logical ID); the integration invokes `qualifier`."""
        self._pending.setdefault(function, []).append(_Pending(name, kind, properties, line, path, qualifier))

    def events(self) -> dict[str, dict[str, HttpEvent]]:
        """Every function's routes, by logical ID and event name; the implicit APIs they need declared."""
        routes: dict[str, dict[str, HttpEvent]] = {}
        for function, pending in self._pending.items():
            for event in pending:
                read = self._event(event)
                if read is not None:
                    routes.setdefault(function, {})[event.name] = read
        return routes

    def _event(self, event: _Pending) -> HttpEvent | None:
        line, path = event.line, event.path
        properties = event.properties if event.properties is not None else YamlMap(line=line)
        if not isinstance(properties, dict):
            raise self.notes.error(line, f"{path}.Properties must be a mapping")
        at = properties.line_of if isinstance(properties, YamlMap) else (lambda _key: line)
        rest = event.kind == "Api"
        fields: dict[str, Any] = {
            "type": "api" if rest else "httpapi",
            "declared_at": f"{self.notes.source}:{line} {path}",
        }
        if event.qualifier:
            fields["qualifier"] = event.qualifier
        api_key = "RestApiId" if rest else "ApiId"
        if api_key in properties:
            api = self._api_of(properties[api_key], REST_API if rest else HTTP_API, at(api_key), f"{path}.{api_key}")
        else:
            self._implicit(event.kind, line)
            api = self.api_name(IMPLICIT_REST_API if rest else IMPLICIT_HTTP_API)
        fields["api"] = api
        for key, raw in properties.items():
            where = f"{path}.Properties.{key}"
            if key == api_key:
                continue
            try:
                value = self.template.resolve(raw, at(key))
            except Unresolvable as exc:
                self.notes.unsupported(exc.line, f"{where}: {exc.message}")
                continue
            if key in ("Path", "Method"):
                fields[key.lower()] = text(value)
            elif key == "TimeoutInMillis":
                fields["timeout_in_millis"] = _integer(value)
            elif key == "PayloadFormatVersion" and not rest:
                fields["payload_format_version"] = _version(value)
            elif key == "Stage":
                continue  # SAM scopes the invoke permission with it; the API's StageName names the stage
            elif key == "Auth" and isinstance(value, dict):
                self._event_auth(api, rest, value, at(key), where, fields)
            else:
                self.notes.unsupported(at(key), where, WHY.get(key, ""))
        try:
            return HttpEvent.model_validate(fields)
        except ValidationError as exc:
            raise self.notes.error(line, f"{path}: {'; '.join(_messages(exc))}") from None

    def _event_auth(
        self, api: str, rest: bool, auth: dict[str, Any], line: int, path: str, fields: dict[str, Any]
    ) -> None:
        for key, value in auth.items():
            line = auth.line_of(key) if isinstance(auth, YamlMap) else line
            if key != "Authorizer":
                if key != "InvokeRole" and not _off(key, value):
                    self.notes.unsupported(line, f"{path}.{key}", WHY.get(key, ""))
                continue
            name = text(value)
            declared = self.apis.get(api)
            unserved = self._unserved.get(api, {})
            if name in unserved:
                self.notes.report(line, f"{path}.Authorizer: {name} is a {unserved[name]} authorizer, which lsim "
                                  "does not check: the route runs without authorization (as `sam local "
                                  "start-api`)")  # fmt: skip
                fields["authorizer"] = "NONE"
                continue
            iam = name == "AWS_IAM" and (rest or api in self._iam)
            if name != "NONE" and not iam and (declared is None or name not in declared.authorizers):
                known = ", ".join(declared.authorizers) if declared and declared.authorizers else "none declared"
                fix = ("AWS_IAM on an HTTP API needs Auth.EnableIamAuthorizer: true" if name == "AWS_IAM"
                       else "declare it under the API's Auth.Authorizers, or name one of those")  # fmt: skip
                raise self.notes.error(line, f"{path}.Authorizer: {name} is not an authorizer of API {api} "
                                       f"({known}): {fix}")  # fmt: skip
            fields["authorizer"] = name

    def _api_of(self, value: Any, kind: str, line: int, path: str) -> str:
        """RestApiId / ApiId: SAM takes only `!Ref` of an API of the same template."""
        target = value.get("Ref") if isinstance(value, dict) and len(value) == 1 else None
        resource = self.template.resources.get(target) if isinstance(target, str) else None
        if not isinstance(target, str) or not isinstance(resource, dict) or resource.get("Type") != kind:
            key = path.rsplit(".", 1)[-1]
            raise self.notes.error(line, f"{path} must be !Ref of an {kind} of this template (SAM's rule: it "
                                   f"makes the route on that API); declare the API here, or leave {key} out "
                                   "for the implicit one")  # fmt: skip
        if self.api_name(target) not in self.apis:
            raise self.notes.error(line, f"{path}: {target} is not created (its Condition is false)")
        return self.api_name(target)

    # -- function URLs ---------------------------------------------------------------------------------
    def url(self, value: Any, line: int, path: str, qualifier: str | None) -> FunctionUrlConfig:
        """FunctionUrlConfig (or an AWS::Lambda::Url's Properties): AuthType, Cors, InvokeMode."""
        config = self.template.resolve(value, line)
        if not isinstance(config, dict):
            raise self.notes.error(line, f"{path} must be a mapping (AuthType, Cors, InvokeMode)")
        at = config.line_of if isinstance(config, YamlMap) else (lambda _key: line)
        fields: dict[str, Any] = {"declared_at": f"{self.notes.source}:{line} {path}"}
        if qualifier:
            fields["qualifier"] = qualifier
        for key, item in config.items():
            if key == "AuthType":
                fields["auth_type"] = text(item)
            elif key == "InvokeMode":
                fields["invoke_mode"] = text(item)
            elif key == "Cors":
                fields["cors"] = self.url_cors(item, at(key), f"{path}.Cors")
            elif key not in ("TargetFunctionArn", "Qualifier"):
                self.notes.unsupported(at(key), f"{path}.{key}")
        if "AuthType" not in config:
            raise self.notes.error(line, f"{path}: give AuthType, NONE or AWS_IAM (Lambda requires it)")
        try:
            return FunctionUrlConfig.model_validate(fields)
        except ValidationError as exc:
            raise self.notes.error(line, f"{path}: {'; '.join(_messages(exc))}") from None


#: Identity members of a REQUEST authorizer -> API Gateway's identity source prefixes (SAM's order)
REST_SOURCES = (("Headers", "method.request.header."), ("QueryStrings", "method.request.querystring."),
                ("StageVariables", "stageVariables."), ("Context", "context."))  # fmt: skip
HTTP_SOURCES = (("Headers", "$request.header."), ("QueryStrings", "$request.querystring."),
                ("StageVariables", "$stageVariables."), ("Context", "$context."))  # fmt: skip
#: a function URL's / HTTP API's Cors members -> the model's fields
URL_CORS = {
    "AllowOrigins": "allow_origins", "AllowMethods": "allow_methods", "AllowHeaders": "allow_headers",
    "ExposeHeaders": "expose_headers", "MaxAge": "max_age", "AllowCredentials": "allow_credentials",
}  # fmt: skip


def _sources(identity: Any, prefixes: tuple[tuple[str, str], ...]) -> list[str]:
    sources: list[str] = []
    for member, prefix in prefixes:
        values = identity.get(member) or []
        sources.extend(prefix + text(value) for value in (values if isinstance(values, list) else [values]))
    return sources


def _url_cors(value: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, item in value.items():
        field = URL_CORS.get(key)
        if field is None:
            fields[key] = item  # the model names what it does not know
        elif field == "allow_credentials":
            fields[field] = _true(item)
        elif field == "max_age":
            fields[field] = _integer(item)
        else:
            fields[field] = [text(v) for v in (item if isinstance(item, list) else [item])]
    return fields


def _off(key: str, value: Any) -> bool:
    """A setting of something lsim does not serve, turned off: nothing to say."""
    if key == "UsagePlan":
        return isinstance(value, dict) and text(value.get("CreateUsagePlan", "NONE")) == "NONE"
    return value is False or (isinstance(value, str) and value.lower() == "false")


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _integer(value: Any) -> Any:
    try:
        return int(text(value))
    except ValueError:
        return value  # the model's validation names it


def _version(value: Any) -> str:
    """PayloadFormatVersion written unquoted (`2.0`) is a YAML number."""
    return f"{value:.1f}" if isinstance(value, float) else text(value)


def _messages(exc: ValidationError) -> list[str]:
    return [
        (f"{'.'.join(map(str, e['loc']))}: " if e["loc"] else "") + e["msg"].removeprefix("Value error, ")
        for e in exc.errors()
    ]
