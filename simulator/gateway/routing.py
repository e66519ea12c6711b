"""Which route of the front door a request reaches, by API Gateway's priority rules, and the path parameters
it gets.

Priorities (AGD23 http-api-develop-routes "Routing API requests", with its worked table; AGD23
api-gateway-method-settings-method-request "Use a proxy resource" for REST), compared segment by segment
from the left: a static segment beats a variable `{id}`, which beats a greedy `{proxy+}`; on the same
resource a route of the request's method beats `ANY`; an HTTP API's `$default` route comes last. So
`GET /pets/dog/1` > `GET /pets/dog/{id}` > `GET /pets/{proxy+}` > `ANY /{proxy+}` > `$default`.

Where REST and HTTP APIs differ:
- REST chooses the resource by its path first, then the method on it: a path that exists with another
  method answers Missing Authentication Token, as an unknown path does (LSAC test_routing_not_found,
  `wrong-method`); it does not fall back to a less specific resource that has the method (inferred from the
  resource tree; unverified). HTTP APIs choose among the routes of the request's method (or ANY), so
  `POST /test/5` reaches `ANY /{proxy+}` even if `GET /test/{id}` exists (AGD23 worked table).
- REST matches the path as sent, and path parameters stay percent-encoded: `{proxy+}` of
  `/api/user/test%2Balias@gmail.com` is `api/user/test%2Balias@gmail.com` (LSAL
  `invocation-payload-with-path-encoded-email`), `{id}` of `/posts/%40` is `%40` (serverless/serverless#5037).
  HTTP APIs percent-decode the path before routing, and their path parameters are decoded (rawPath arrives
  decoded: honojs/hono#2156, Worklytics/psoxy#827; middleapi/standard-server#93 citing live captures).
- Slashes: leading extra slashes are dropped (`//hardcoded` reaches `/hardcoded`), a trailing slash is
  ignored (`/proxy-value/` gives `{"proxy": "proxy-value"}`), a double slash inside stays in a greedy
  value (`proxy-value//double-slash`) (LSAL `invocation-hardcoded`, `-with-trailing-slash`,
  `-with-double-slash`). A variable never matches an empty segment, and a greedy variable needs at least
  one character: `/{proxy+}` does not match `/` itself (the root needs its own method; unverified).

All APIs of a project share lsim's one HTTP port (as `sam local start-api` serves them), so their routes
are matched together; equal matches go to the first route of `front_door.routes`. With no match at all,
the answer is an HTTP API's 404 Not Found if the project declares any HTTP API, else REST's 403 Missing
Authentication Token: the answer a client of the project's only kind of API would get.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

from .models import DEFAULT_ROUTE, FrontDoor, Route
from .request import GatewayAnswer
from .responses import gateway_error

_STATIC, _VARIABLE, _GREEDY = 0, 1, 2
_EXACT_METHOD, _ANY_METHOD, _OTHER_METHOD = 0, 1, 2


@dataclass(frozen=True)
class RouteMatch:
    """The route a request reached and its path parameters (None when the resource has no variables:
    payload 1.0 shows `"pathParameters": null`, LSAL `invocation-hardcoded`)."""

    route: Route
    path_parameters: dict[str, str] | None


@dataclass(frozen=True)
class Refusal:
    """No route takes the request: API Gateway's own answer."""

    answer: GatewayAnswer


@lru_cache(maxsize=1024)
def _template(path: str) -> tuple[tuple[int, str], ...]:
    """A resource path as (kind, text) per segment: static text, a variable's name, or a greedy name."""
    parts = []
    for segment in path.strip("/").split("/") if path.strip("/") else []:
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append((_GREEDY, segment[1:-2]))
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append((_VARIABLE, segment[1:-1]))
        else:
            parts.append((_STATIC, segment))
    return tuple(parts)


def request_segments(path: str) -> list[str]:
    """A request path's segments: leading and trailing slashes dropped, empty inner segments kept."""
    trimmed = path.strip("/")
    return trimmed.split("/") if trimmed else []


def _match(template: tuple[tuple[int, str], ...], segments: list[str]) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """How well a template matches (lower is more specific, compared left to right) and its parameters."""
    rank: list[int] = []
    parameters: dict[str, str] = {}
    for index, (kind, text) in enumerate(template):
        if kind == _GREEDY:
            rest = "/".join(segments[index:])
            if not rest.strip("/"):
                return None
            parameters[text] = rest
            rank.append(_GREEDY)
            return tuple(rank), parameters
        if index >= len(segments):
            return None
        segment = segments[index]
        if kind == _STATIC:
            if segment != text:
                return None
        else:
            if not segment:
                return None
            parameters[text] = segment
        rank.append(kind)
    if len(segments) != len(template):
        return None
    return tuple(rank), parameters


def match_route(front_door: FrontDoor, method: str, raw_path: str, *, request_id: str = "") -> RouteMatch | Refusal:
    """The route a request reaches by AWS's priorities (module docstring), or the gateway's refusal."""
    method = method.upper()
    rest_segments = request_segments(raw_path)
    http_segments: list[str] | None = None
    best: tuple[tuple[int, ...], int, int] | None = None
    chosen: tuple[Route, dict[str, str]] | None = None
    default: Route | None = None
    for order, route in enumerate(front_door.routes):
        if route.path == DEFAULT_ROUTE:
            if default is None and route.method in (method, "ANY"):
                default = route
            continue
        if route.method == method:
            method_rank = _EXACT_METHOD
        elif route.method == "ANY":
            method_rank = _ANY_METHOD
        elif route.api_type == "rest":
            method_rank = _OTHER_METHOD  # the resource still counts: REST then refuses the method
        else:
            continue
        if route.api_type == "rest":
            segments = rest_segments
        else:
            if http_segments is None:
                http_segments = request_segments(unquote(raw_path))
            segments = http_segments
        matched = _match(_template(route.path), segments)
        if matched is None:
            continue
        rank, parameters = matched
        key = (rank, method_rank, order)
        if best is None or key < best:
            best, chosen = key, (route, parameters)
    if best is not None and chosen is not None:
        route, parameters = chosen
        if best[1] == _OTHER_METHOD:
            return Refusal(gateway_error("rest", "MISSING_AUTHENTICATION_TOKEN", request_id))
        has_variables = any(kind != _STATIC for kind, _ in _template(route.path))
        return RouteMatch(route=route, path_parameters=parameters if has_variables else None)
    if default is not None:
        return RouteMatch(route=default, path_parameters=None)
    return Refusal(no_route(front_door, request_id))


def no_route(front_door: FrontDoor, request_id: str) -> GatewayAnswer:
    """The answer when nothing matches: HTTP APIs' 404 Not Found if the project has any HTTP API, else REST's
    403 Missing Authentication Token."""
    kinds = {api.type for api in front_door.apis.values()} | {route.api_type for route in front_door.routes}
    if "http" in kinds or not kinds:
        return gateway_error("http", "NOT_FOUND", request_id)
    return gateway_error("rest", "MISSING_AUTHENTICATION_TOKEN", request_id)
