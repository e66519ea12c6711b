"""Lambda authorizers as API Gateway runs them: which request values are the caller's identity, the event the
authorizer function gets, what its answer decides, what the protected function then sees, and the result cache.

    identity_values()      the identity sources' values; None: one is missing or empty -> 401, no invoke
    authorizer_event()     REST TOKEN / REQUEST, HTTP API payload 1.0 / 2.0
    authorizer_decision()  the answer judged: IAM policy, simple response, "Unauthorized", malformed
    authorizer_context()   requestContext.authorizer as the protected function sees it
    AuthorizerCache        answers kept per API, authorizer and identity values for the authorizer's TTL

Sources (keys in gateway/__init__.py): AGD23 api-gateway-lambda-authorizer-input / -output,
apigateway-use-lambda-authorizer, http-api-lambda-authorizer; BC apigateway CreateAuthorizer;
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

from .events import api_event
from .models import DEFAULT_HTTP_STAGE, REST_AUTHORIZER_TTL_S, ApiDeclaration, Authorizer
from .responses import apigw_id

if TYPE_CHECKING:
    from .request import GatewayRequest
    from .routing import RouteMatch

#: apigatewayv2's CreateAuthorizer documents no default TTL (apigateway's says "If this field is not set, the
#: default value is 300"); SAM emits none unless ReauthorizeEvery is set. The console pre-fills 300
#: (hashicorp/terraform-provider-aws#15232), but an authorizer declared without one caches nothing here.
HTTP_AUTHORIZER_TTL_S = 0
#: HTTP APIs: "Lambda authorizer response size 8 KB" (API Gateway quotas, HTTP API table)
HTTP_AUTHORIZER_RESULT_LIMIT = 8 * 1024
#: a TOKEN authorizer declared without an identity source reads this header (SAM's default)
TOKEN_DEFAULT_SOURCE = "method.request.header.Authorization"
#: the error text with which an authorizer function says "401" (AGD23 apigateway-use-lambda-authorizer)
UNAUTHORIZED = "Unauthorized"
#: API Gateway waits this long for the authorizer function (HTTP API quotas: "Lambda authorizer response
#: timeout 10,000 ms"); a slower or failed invoke is a configuration error (500)
AUTHORIZER_TIMEOUT_MS = 10_000
#: the most answers the cache keeps; a load test with a fresh token per request must not grow it forever
CACHE_CAPACITY = 10_000

#: gateway_error names (gateway/responses.py) an authorizer decision can end in
AuthorizerError = Literal[
    "UNAUTHORIZED", "ACCESS_DENIED", "NOT_AUTHORIZED", "FORBIDDEN", "AUTHORIZER_CONFIGURATION_ERROR"
]


@dataclass(frozen=True)
class Statement:
    """One statement of the policy an authorizer returned: Allow or Deny some actions on some resources."""

    effect: Literal["Allow", "Deny"]
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def covers(self, method_arn: str) -> bool:
        """Whether this statement speaks of invoking `method_arn`: an action execute-api:Invoke (IAM action
        names are case-insensitive, `*` and `?` wildcards allowed) and a resource pattern matching the ARN."""
        invoke = any(_wildcard(action, ignore_case=True).fullmatch("execute-api:Invoke") for action in self.actions)
        return invoke and any(_wildcard(resource).fullmatch(method_arn) for resource in self.resources)


@dataclass(frozen=True)
class AuthorizerAnswer:
    """A well-formed authorizer answer, kept whole: the cache holds it and judges it again for each method ARN,
    as API Gateway re-evaluates a cached policy (repost KC api-gateway-lambda-authorization-errors)."""

    api_type: Literal["rest", "http"]
    principal_id: str | None
    context: dict[str, Any] | None
    statements: tuple[Statement, ...] | None = None  # an IAM policy
    is_authorized: bool | None = None  # a simple response (HTTP APIs, payload 2.0)

    def decide(self, method_arn: str) -> Decision:
        """Allowed, or why not: an explicit Deny wins over any Allow; no Allow covering the ARN is an implicit
        deny. REST says which (403 ACCESS_DENIED / NOT_AUTHORIZED); HTTP APIs answer 403 Forbidden to both."""
        if self.statements is None:
            error = None if self.is_authorized else "FORBIDDEN"
            return Decision(self.is_authorized is True, self.context, error, self.principal_id, self)
        covering = [statement for statement in self.statements if statement.covers(method_arn)]
        if any(statement.effect == "Deny" for statement in covering):
            error = "ACCESS_DENIED" if self.api_type == "rest" else "FORBIDDEN"
        elif any(statement.effect == "Allow" for statement in covering):
            error = None
        else:
            error = "NOT_AUTHORIZED" if self.api_type == "rest" else "FORBIDDEN"
        return Decision(error is None, self.context, error, self.principal_id, self)


@dataclass(frozen=True)
class Decision:
    """What an authorizer decided for one request. `error` names the gateway_error to answer with when not
    allowed; `answer` is the well-formed answer behind it (None after a failure), which the cache keeps."""

    allowed: bool
    context: dict[str, Any] | None
    error: str | None
    principal_id: str | None = None
    answer: AuthorizerAnswer | None = None


def failed(error: AuthorizerError) -> Decision:
    """A decision without a usable answer: 401 Unauthorized or 500 AuthorizerConfigurationException."""
    return Decision(False, None, error)


# --- identity sources -----------------------------------------------------------------------------------------


def identity_sources_of(authorizer: Authorizer, api: ApiDeclaration) -> list[str]:
    """The identity sources as declared; a REST TOKEN authorizer without one reads the Authorization header
    (SAM's default). HTTP API authorizers have no default: without sources nothing is checked or cached."""
    if authorizer.identity_sources:
        return list(authorizer.identity_sources)
    return [TOKEN_DEFAULT_SOURCE] if api.type == "rest" and authorizer.payload_type == "TOKEN" else []


def identity_values(
    authorizer: Authorizer, api: ApiDeclaration, request: GatewayRequest, match: RouteMatch
) -> list[str] | None:
    """The value of each identity source, in declared order, or None when one is missing or empty: API Gateway
    then answers 401 without invoking the authorizer (AGD23 api-gateway-lambda-authorizer-input "An empty
    string value is the same as unauthorized"; http-api-lambda-authorizer "Identity sources"). A TOKEN whose
    value does not match the validation expression is refused the same way (BC CreateAuthorizer
    identityValidationExpression). An expression lsim does not know counts as missing."""
    values: list[str] = []
    for source in identity_sources_of(authorizer, api):
        value = _identity_value(source.strip(), api, request, match)
        if not value:
            return None
        values.append(value)
    # API Gateway runs on Java, whose String.matches() needs the whole token to match (unverified; SAM CLI uses
    # Python's re.match, anchored at the start only)
    expression = authorizer.validation_expression if authorizer.payload_type == "TOKEN" else None
    if api.type == "rest" and expression and re.fullmatch(expression, values[0]) is None:
        return None
    return values


def _identity_value(source: str, api: ApiDeclaration, request: GatewayRequest, match: RouteMatch) -> str | None:
    """One identity source's value. REST writes `method.request.header.X`, `method.request.querystring.q`,
    `stageVariables.v`, `context.v`; HTTP APIs `$request.header.X` (names case-insensitive),
    `$request.querystring.q` (case-sensitive), `$stageVariables.v`, `$context.v`."""
    http = source.startswith("$")
    expression = source[1:] if http else source
    if http:
        if expression.startswith("request.header."):
            values = request.header_values(expression.removeprefix("request.header."))
            return ",".join(values) if values else None  # HTTP APIs join repeated headers with commas
        if expression.startswith("request.querystring."):
            found = _query_values(request, expression.removeprefix("request.querystring."))
            return ",".join(found) if found else None
    else:
        if expression.startswith("method.request.header."):
            return request.header(expression.removeprefix("method.request.header."))
        if expression.startswith("method.request.querystring."):
            found = _query_values(request, expression.removeprefix("method.request.querystring."))
            return found[-1] if found else None  # REST keeps the last value of a repeated parameter
    if expression.startswith("stageVariables."):
        return api.stage_variables.get(expression.removeprefix("stageVariables."))
    if expression.startswith("context."):
        return _context_variable(expression.removeprefix("context."), api, request, match)
    return None


def _query_values(request: GatewayRequest, name: str) -> list[str]:
    """Every value of a query parameter, decoded as API Gateway decodes them (`+` is a space)."""
    return [value for key, value in parse_qsl(request.raw_query, keep_blank_values=True) if key == name]


def _context_variable(name: str, api: ApiDeclaration, request: GatewayRequest, match: RouteMatch) -> str | None:
    """The $context variables an identity source can name that lsim knows before invoking anything (as the
    event's requestContext shows them: an HTTP API's requestId is its short id, `path` has the stage)."""
    stage = api.stage_name
    known = {
        "requestId": apigw_id(request.request_id) if api.type == "http" else request.request_id,
        "httpMethod": request.method,
        "stage": stage,
        "resourcePath": match.route.path,
        "routeKey": match.route.route_key,
        "path": request.raw_path if stage == DEFAULT_HTTP_STAGE else f"/{stage}{request.raw_path}",
        "protocol": request.protocol,
        "domainName": request.host,
        "identity.sourceIp": request.source_ip,
        "identity.userAgent": request.header("User-Agent"),
    }
    return known.get(name)


# --- the event ------------------------------------------------------------------------------------------------


def method_arn_of(api: ApiDeclaration, request: GatewayRequest, *, account_id: str, region: str, api_id: str) -> str:
    """`arn:aws:execute-api:{region}:{account}:{api id}/{stage}/{METHOD}/{path}`, the path as requested without
    its leading slash (`.../GET/` for the root) (AGD23 api-gateway-lambda-authorizer-input). REST calls it
    methodArn, HTTP APIs routeArn; the format is the same (http-api-lambda-authorizer)."""
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{api.stage_name}/{request.method}{request.raw_path}"


def payload_version_of(authorizer: Authorizer) -> Literal["1.0", "2.0"]:
    """An HTTP API authorizer's payload format version; the console's default, 2.0, when none is declared."""
    return authorizer.payload_format_version or "2.0"


def authorizer_event(
    authorizer: Authorizer,
    api: ApiDeclaration,
    request: GatewayRequest,
    match: RouteMatch,
    *,
    account_id: str,
    region: str,
    api_id: str,
) -> dict[str, Any]:
    """The event API Gateway sends the authorizer function.

    REST TOKEN: exactly `{type, authorizationToken, methodArn}`. REST REQUEST: the proxy event (payload 1.0)
    without its body, plus `type` and `methodArn` (AGD23 api-gateway-lambda-authorizer-input). HTTP APIs 1.0:
    that and `version`, `identitySource` and `authorizationToken`, both the identity values joined with commas;
    2.0: the 2.0 event without its body, plus `type`, `routeArn` and `identitySource`, a list of the values
    (AGD23 http-api-lambda-authorizer)."""
    arn = method_arn_of(api, request, account_id=account_id, region=region, api_id=api_id)
    values = identity_values(authorizer, api, request, match) or []
    if api.type == "rest" and authorizer.payload_type == "TOKEN":
        return {"type": "TOKEN", "authorizationToken": values[0] if values else "", "methodArn": arn}
    version: Literal["1.0", "2.0"] = "1.0" if api.type == "rest" else payload_version_of(authorizer)
    shaped = dataclasses.replace(match, route=match.route.model_copy(update={"payload_format_version": version}))
    request_event = api_event(request, shaped, api, account_id=account_id, region=region, api_id=api_id)
    for key in ("version", "body", "isBase64Encoded"):
        request_event.pop(key, None)
    if api.type == "rest":
        return {"type": "REQUEST", "methodArn": arn, **request_event}
    if version == "1.0":
        joined = ",".join(values)
        head = {"version": "1.0", "type": "REQUEST", "methodArn": arn, "identitySource": joined}
        return {**head, "authorizationToken": joined, **request_event}
    return {"version": "2.0", "type": "REQUEST", "routeArn": arn, "identitySource": values, **request_event}


# --- the answer -----------------------------------------------------------------------------------------------


def authorizer_decision(
    authorizer: Authorizer,
    api: ApiDeclaration,
    match: RouteMatch,
    answer_body: bytes,
    *,
    function_error: bool,
    method_arn: str,
) -> Decision:
    """What the authorizer function's answer decides for `method_arn`.

    - The function failed with the error message "Unauthorized" -> 401 UNAUTHORIZED (AGD23
      apigateway-use-lambda-authorizer `callback("Unauthorized")`); any other failure -> 500
      AUTHORIZER_CONFIGURATION_ERROR (auth0-samples/jwt-rsa-aws-custom-authorizer#6). Returning the JSON
      string "Unauthorized" counts as saying it too (unverified: the documented way is the error).
    - A simple response (HTTP APIs, payload 2.0, simple responses on): `isAuthorized` must be a boolean;
      false -> 403 FORBIDDEN.
    - An IAM policy: see AuthorizerAnswer.decide.
    - Anything malformed -> AUTHORIZER_CONFIGURATION_ERROR: not a JSON object, no principalId (REST: "must
      include the principal identifier"), no policyDocument or Statement, a context that is not an object or
      (REST, payload 1.0) holds an object or array ("a JSON object or array is not allowed", AGD23
      api-gateway-lambda-authorizer-output; payload 2.0 allows them: the http-api-lambda-authorizer examples
      return arrayKey and mapKey), an HTTP API answer over 8 KB (HTTP API quotas)."""
    try:
        answer = json.loads(answer_body)
    except ValueError:
        return failed("AUTHORIZER_CONFIGURATION_ERROR")
    if function_error:
        said = answer.get("errorMessage") if isinstance(answer, dict) else None
        return failed("UNAUTHORIZED" if said == UNAUTHORIZED else "AUTHORIZER_CONFIGURATION_ERROR")
    if answer == UNAUTHORIZED:
        return failed("UNAUTHORIZED")
    if api.type == "http" and len(answer_body) > HTTP_AUTHORIZER_RESULT_LIMIT:
        return failed("AUTHORIZER_CONFIGURATION_ERROR")
    parsed = parse_answer(authorizer, api, answer)
    if parsed is None:
        return failed("AUTHORIZER_CONFIGURATION_ERROR")
    return parsed.decide(method_arn)


def parse_answer(authorizer: Authorizer, api: ApiDeclaration, answer: object) -> AuthorizerAnswer | None:
    """A well-formed authorizer answer, or None when API Gateway would refuse it as malformed."""
    if not isinstance(answer, dict):
        return None
    version = "1.0" if api.type == "rest" else payload_version_of(authorizer)
    context = answer.get("context")
    if context is not None and not isinstance(context, dict):
        return None
    if version == "1.0" and context and any(isinstance(value, dict | list) for value in context.values()):
        return None
    if api.type == "http" and version == "2.0" and authorizer.enable_simple_responses:
        is_authorized = answer.get("isAuthorized")
        if not isinstance(is_authorized, bool):
            return None
        return AuthorizerAnswer("http", None, context, is_authorized=is_authorized)
    principal = answer.get("principalId")
    if principal is None and api.type == "rest":
        return None
    if principal is not None and (isinstance(principal, bool) or not isinstance(principal, str | int | float)):
        return None
    statements = _statements(answer.get("policyDocument"))
    if statements is None:
        return None
    principal_id = None if principal is None else str(principal)
    return AuthorizerAnswer(api.type, principal_id, context, statements=statements)


def _statements(document: object) -> tuple[Statement, ...] | None:
    """The statements of a policy document: `Statement` a list or a single object, `Action` and `Resource` a
    string or a list of strings, `Effect` Allow or Deny; None when any of it is not so."""
    if not isinstance(document, dict):
        return None
    raw = document.get("Statement")
    listed = [raw] if isinstance(raw, dict) else raw
    if not isinstance(listed, list):
        return None
    statements: list[Statement] = []
    for item in listed:
        if not isinstance(item, dict) or item.get("Effect") not in ("Allow", "Deny"):
            return None
        actions = _strings(item.get("Action"))
        resources = _strings(item.get("Resource"))
        if actions is None or resources is None:
            return None
        statements.append(Statement(item["Effect"], actions, resources))
    return tuple(statements)


def _strings(value: object) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def _wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """An IAM pattern as a regex: `*` any run of characters (colons and slashes included, as the common
    `arn:aws:execute-api:*` shows), `?` any one character, everything else literal."""
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


# --- what the protected function sees -------------------------------------------------------------------------


def authorizer_context(
    api_type: Literal["rest", "http"],
    payload_version: Literal["1.0", "2.0"],
    decision: Decision,
    *,
    integration_latency_ms: int | None = None,
) -> dict[str, Any]:
    """`requestContext.authorizer` of the protected function's event (`payload_version` is the route's).

    REST and payload 1.0: the context's keys flat, each value stringified ("123", "true": "Their values are
    stringified", AGD use-custom-authorizer, quoted in jeremydaly/lambda-api#6), with `principalId`; REST
    also `integrationLatency` when given (a user's event: CodeGenieApp/serverless-express#551). Payload 2.0:
    the context as returned under `lambda` (AGD23 http-api-develop-integrations-lambda; floci-io/floci#2652
    compares with AWS). The principalId of an IAM-policy answer is not added on 2.0: authorizers that want it
    seen copy it into their context (seen in public code "so HTTP API v2 forwards it"); SAM CLI adds it
    (unverified either way). An answer without context gives `lambda: {}` on 2.0 (unverified)."""
    context = decision.context or {}
    if api_type == "http" and payload_version == "2.0":
        return {"lambda": dict(context)}
    flat: dict[str, Any] = {key: _stringified(value) for key, value in context.items()}
    if decision.principal_id is not None:
        flat["principalId"] = decision.principal_id
    if api_type == "rest" and integration_latency_ms is not None:
        flat["integrationLatency"] = integration_latency_ms
    return flat


def _stringified(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# --- the cache ------------------------------------------------------------------------------------------------


def ttl_of(authorizer: Authorizer, api: ApiDeclaration) -> int:
    """Seconds an answer is kept: the declared TTL, else REST's default 300 (BC CreateAuthorizer) or none for
    HTTP APIs (see HTTP_AUTHORIZER_TTL_S). 0 turns caching off."""
    if authorizer.ttl_seconds is not None:
        return authorizer.ttl_seconds
    return REST_AUTHORIZER_TTL_S if api.type == "rest" else HTTP_AUTHORIZER_TTL_S


class AuthorizerCache:
    """Authorizer answers per (API, authorizer, identity values), each for its authorizer's TTL.

    What is kept is the answer, not the verdict: a cached policy is judged again against each request's method
    ARN, so a policy naming one resource denies others within the TTL (repost KC
    api-gateway-lambda-authorization-errors); a simple response allows or denies every route alike
    (http-api-lambda-authorizer "Caching"). Failures (401, 500) are not kept. Caching needs at least one
    identity source. The clock is injected: tests and the load test's model run it in virtual time."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._answers: dict[tuple[str, str, tuple[str, ...]], tuple[float, AuthorizerAnswer]] = {}

    def lookup(self, api_name: str, authorizer_name: str, identity: list[str], method_arn: str) -> Decision | None:
        """The decision a kept answer gives for `method_arn`, or None: nothing kept, or kept too long."""
        key = (api_name, authorizer_name, tuple(identity))
        kept = self._answers.get(key)
        if kept is None:
            return None
        expires, answer = kept
        if self._clock() >= expires:
            del self._answers[key]
            return None
        return answer.decide(method_arn)

    def store(
        self,
        api_name: str,
        authorizer_name: str,
        authorizer: Authorizer,
        api: ApiDeclaration,
        identity: list[str],
        decision: Decision,
    ) -> None:
        """Keep the answer behind `decision` for the authorizer's TTL (nothing when the TTL is 0, there is no
        identity source, or the authorizer failed)."""
        ttl = ttl_of(authorizer, api)
        if ttl <= 0 or not identity or decision.answer is None:
            return
        key = (api_name, authorizer_name, tuple(identity))
        self._answers.pop(key, None)
        self._answers[key] = (self._clock() + ttl, decision.answer)
        if len(self._answers) > CACHE_CAPACITY:
            self._evict()

    def _evict(self) -> None:
        """Drop expired answers, then the oldest kept until the cache is back under its capacity."""
        now = self._clock()
        for key in [key for key, (expires, _) in self._answers.items() if now >= expires]:
            del self._answers[key]
        while len(self._answers) > CACHE_CAPACITY:
            del self._answers[next(iter(self._answers))]

    def clear(self) -> None:
        """Forget every answer (the project changed under `--watch`)."""
        self._answers.clear()

    def __len__(self) -> int:
        return len(self._answers)
