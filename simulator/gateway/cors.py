"""CORS as each front door does it: who answers a browser's preflight, and which CORS headers the answers carry.

    REST API      SAM adds an OPTIONS method to every path of an API with Cors: a MOCK integration that answers
                  200 `{}` with the configured headers, whatever the request's Origin (samtranslator
                  swagger.py `add_cors`). The Lambda proxy answers get no CORS headers from API Gateway: "your
                  backend is responsible" (AGD23 how-to-cors).
    HTTP API      With a CorsConfiguration, API Gateway answers preflights itself "even if there isn't an
                  OPTIONS route", adds the configured headers to the integration's answers to CORS requests and
                  "ignores CORS headers returned from your backend" (AGD23 http-api-cors). A route that takes
                  OPTIONS (an OPTIONS or ANY route, `$default`) gets the preflight instead (same page on
                  `$default`; aws/serverless-application-model#1603 and anomalyco/sst#5493 saw ANY routes get it).
    function URL  With Cors, "Lambda automatically adds the CORS headers to all responses", and "the configured
                  CORS headers on the function URL take precedence" over the function's own (DG23
                  urls-configuration); the URL answers preflights without the function
                  (aws-powertools/powertools-lambda-python#1408).

Seen, not documented: an HTTP API answered a probe's `OPTIONS /background-checks` 204 with no body and no
Content-Type while its other paths answered 404 Not Found (a public probe log, find_string id 59691876738), so
HTTP APIs answer any OPTIONS no route takes, 204; a captured HTTP API answer to a GET with Origin carried only
`Access-Control-Allow-Origin: *` of the CORS headers (find_string id 27491341443), so `*` is sent as `*` and
ordinary answers get no preflight headers.

Decided here (unverified): function URLs answer OPTIONS 200 with an empty body; an Origin the configuration does
not allow gets the status without any CORS header (the browser then refuses); a request without Origin is not a
CORS request and gets none either. Function URLs echo the request's Origin (powertools-lambda-python#4163 saw the
URL's header carry the page's origin under `AllowOrigins: ["*"]`). A `*` in AllowMethods or AllowHeaders echoes
what the preflight asked for. Lists are joined with "," as SAM joins them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .request import GatewayAnswer
from .responses import Kind, id_headers

if TYPE_CHECKING:
    from .models import Cors
    from .request import GatewayRequest

#: what SAM's OPTIONS mock allows on a path with an ANY method (samtranslator swagger.py `_ALL_HTTP_METHODS`)
ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
#: the status each kind answers a preflight with (REST: SAM's mock says 200; the others unverified)
PREFLIGHT_STATUS = {"rest": 200, "http": 204, "url": 200}

ALLOW_ORIGIN = "Access-Control-Allow-Origin"
ALLOW_METHODS = "Access-Control-Allow-Methods"
ALLOW_HEADERS = "Access-Control-Allow-Headers"
ALLOW_CREDENTIALS = "Access-Control-Allow-Credentials"
EXPOSE_HEADERS = "Access-Control-Expose-Headers"
MAX_AGE = "Access-Control-Max-Age"


def preflight(cors: Cors | None, kind: Kind, request: GatewayRequest, route_methods: list[str]) -> GatewayAnswer | None:
    """The answer API Gateway or the function URL gives an OPTIONS request itself, or None when the request
    goes on to routing (and perhaps to a function).

    `route_methods`: the methods declared on what the request's path reaches, as the server's route table says
    it: REST, the methods of the resource the path matches; HTTP APIs, the methods of the routes whose path
    matches, with "ANY" for `$default`; [] when nothing matches. Function URLs ignore it.

    REST: any OPTIONS request to a declared resource without its own OPTIONS method gets SAM's mock (Origin or
    not). HTTP APIs: any OPTIONS request no OPTIONS or ANY route takes, on any path. Function URLs: every OPTIONS
    request. The REST mock needs the API's default authorizer first when ApiDeclaration.authorize_preflight
    says so: that is the server's to run before calling this."""
    if cors is None or request.method != "OPTIONS":
        return None
    methods = {method.upper() for method in route_methods}
    if kind == "rest":
        if not methods or "OPTIONS" in methods:
            return None
        return _rest_mock(cors, methods, request)
    if kind == "http" and methods & {"OPTIONS", "ANY"}:
        return None
    headers: list[tuple[str, str]] = []
    origin = request.header("Origin")
    if origin and origin_allowed(cors, origin):
        headers.append((ALLOW_ORIGIN, _allow_origin(cors, kind, origin)))
        if cors.allow_credentials:
            headers.append((ALLOW_CREDENTIALS, "true"))
        if cors.allow_methods:
            asked = request.header("Access-Control-Request-Method") or ""
            headers.append((ALLOW_METHODS, _listed(cors.allow_methods, asked)))
        if cors.allow_headers:
            asked = request.header("Access-Control-Request-Headers") or ""
            headers.append((ALLOW_HEADERS, _listed(cors.allow_headers, asked)))
        if cors.expose_headers:
            headers.append((EXPOSE_HEADERS, ",".join(cors.expose_headers)))
        if cors.max_age is not None:
            headers.append((MAX_AGE, str(cors.max_age)))
    return GatewayAnswer(PREFLIGHT_STATUS[kind], (*headers, *id_headers(kind, request.request_id)), b"")


def with_cors(cors: Cors | None, kind: Kind, request: GatewayRequest, answer: GatewayAnswer) -> GatewayAnswer:
    """An integration's answer with the CORS headers the front door puts on it.

    REST proxy answers: unchanged (the function sets its own). HTTP APIs and function URLs with a CORS
    configuration: the function's Access-Control-* headers are dropped (HTTP APIs ignore them; a URL's
    configured headers take precedence), and a CORS request from an allowed Origin gets Allow-Origin,
    Allow-Credentials (when true) and Expose-Headers. Allow-Methods, Allow-Headers and Max-Age are preflight
    headers (Fetch standard) and stay off ordinary answers (unverified for AWS).

    Two users saw a function URL send both its own and the function's Access-Control-Allow-Origin
    (powertools-lambda-python#4163, hummingbird-project/hummingbird-examples#130), against the documented
    precedence; lsim follows the documentation."""
    if cors is None or kind == "rest":
        return answer
    kept = tuple((name, value) for name, value in answer.headers if not name.lower().startswith("access-control-"))
    added: list[tuple[str, str]] = []
    origin = request.header("Origin")
    if origin and origin_allowed(cors, origin):
        added.append((ALLOW_ORIGIN, _allow_origin(cors, kind, origin)))
        if cors.allow_credentials:
            added.append((ALLOW_CREDENTIALS, "true"))
        if cors.expose_headers:
            added.append((EXPOSE_HEADERS, ",".join(cors.expose_headers)))
    if not added and len(kept) == len(answer.headers):
        return answer
    return GatewayAnswer(answer.status, (*kept, *added), answer.body)


def origin_allowed(cors: Cors, origin: str) -> bool:
    """Whether the configuration allows `origin`: `*`, or the origin itself (scheme and host compared without
    regard to case, as browsers send them lower-cased)."""
    wanted = origin.strip().lower()
    return any(allowed == "*" or allowed.strip().lower() == wanted for allowed in cors.allow_origins)


def _allow_origin(cors: Cors, kind: Kind, origin: str) -> str:
    if kind == "http" and "*" in cors.allow_origins and not cors.allow_credentials:
        return "*"
    return origin


def _listed(configured: list[str], asked: str) -> str:
    """The configured list, or, when it holds `*`, what the preflight asked for (`*` when it asked nothing)."""
    if "*" in configured:
        return asked.strip() or "*"
    return ",".join(configured)


def _rest_mock(cors: Cors, methods: set[str], request: GatewayRequest) -> GatewayAnswer:
    """SAM's OPTIONS mock: 200, `{}`, the configured headers as static values. AllowMethods, when not given, is
    the path's methods and OPTIONS, sorted, comma-joined; all methods for a path with ANY (samtranslator
    `_make_cors_allowed_methods_for_path_item`). Allow-Origin is always sent; the rest only when configured."""
    if cors.allow_methods:
        allow_methods = ",".join(cors.allow_methods)
    elif "ANY" in methods:
        allow_methods = ",".join(ALL_METHODS)
    else:
        allow_methods = ",".join(sorted(methods | {"OPTIONS"}))
    headers: list[tuple[str, str]] = [("Content-Type", "application/json")]
    headers.append((ALLOW_ORIGIN, ",".join(cors.allow_origins)))
    if cors.allow_headers:
        headers.append((ALLOW_HEADERS, ",".join(cors.allow_headers)))
    headers.append((ALLOW_METHODS, allow_methods))
    if cors.max_age is not None:
        headers.append((MAX_AGE, str(cors.max_age)))
    if cors.allow_credentials:
        headers.append((ALLOW_CREDENTIALS, "true"))
    return GatewayAnswer(200, (*headers, *id_headers("rest", request.request_id)), b"{}")
