"""A minimal stand-in for the gateway core (request, routing, events, answers, responses, authorizers, cors)
while those modules are written on their own branches; removed once they land."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..gateway.models import ApiDeclaration, Authorizer, Cors, Route
from ..gateway.request import GatewayAnswer, GatewayRequest
from ..gateway.responses import gateway_error, id_headers
from ..gateway.routing import RouteMatch


def _answer(kind: str, request: GatewayRequest, body: bytes, function_error: bool) -> GatewayAnswer:
    if function_error:
        return gateway_error(kind, "FUNCTION_ERROR", request.request_id)
    try:
        value = json.loads(body) if body else None
    except ValueError:
        return gateway_error(kind, "MALFORMED_ANSWER", request.request_id)
    ids = id_headers(kind, request.request_id)
    if not isinstance(value, dict) or "statusCode" not in value:
        if kind == "rest":
            return gateway_error(kind, "MALFORMED_ANSWER", request.request_id)
        return GatewayAnswer(200, (("Content-Type", "application/json"), *ids), body)
    headers = tuple((k, str(v)) for k, v in (value.get("headers") or {}).items())
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers += (("Content-Type", "application/json"),)
    raw = value.get("body") or ""
    data = base64.b64decode(raw) if value.get("isBase64Encoded") else str(raw).encode()
    return GatewayAnswer(int(value["statusCode"]), (*headers, *ids), data)


def api_answer(route: Route, api: ApiDeclaration, request: GatewayRequest, result_body: bytes, *,
               function_error: bool) -> GatewayAnswer:  # fmt: skip
    return _answer(api.type, request, result_body, function_error)


def url_answer(request: GatewayRequest, result_body: bytes, *, function_error: bool) -> GatewayAnswer:
    return _answer("url", request, result_body, function_error)


# -- authorizers and CORS: nothing but the shapes -------------------------------------------------------
@dataclass(frozen=True)
class Decision:
    allowed: bool
    context: dict[str, Any] | None
    error: str | None
    principal_id: str | None = None


class AuthorizerCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock


def identity_values(authorizer: Authorizer, api: ApiDeclaration, request: GatewayRequest, match: RouteMatch) -> list[str] | None:  # fmt: skip
    header = request.header("Authorization")
    return [header] if header else None


def preflight(cors: Cors | None, kind: str, request: GatewayRequest, route_methods: list[str]) -> GatewayAnswer | None:  # fmt: skip
    return None


def with_cors(cors: Cors | None, kind: str, request: GatewayRequest, answer: GatewayAnswer) -> GatewayAnswer:
    return answer
