"""The HTTP front door: API Gateway's REST and HTTP APIs on one port, each function URL on a port of its own,
in front of the same Simulator the Lambda API drives.

Each request is read whole (API Gateway's 10 MB payload quota; a function URL's 6 MB), matched against the
route table, authorized, turned into the event the function gets, invoked as the integration invokes it
(bounded by the route's integration timeout: the invocation runs on, the client gets the gateway's 504), and
its answer mapped back, all with the wire functions of simulator/gateway. This module is only the plumbing:
sockets, the Host guard, the clock, SigV4 for AWS_IAM function URLs, and a console line per request.

Unlike the Lambda API's port, this one is for browsers: cross-origin requests are served, and CORS (the
API's or the URL's configuration) decides what the browser may read. The Host guard still refuses names
other than loopback and --allow-host, so a web page cannot reach it through DNS rebinding.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..errors import LambdaError, PortInUseError, TooManyRequestsException
from ..gateway.answers import api_answer, url_answer
from ..gateway.authorizers import (
    AUTHORIZER_TIMEOUT_MS,
    AuthorizerCache,
    authorizer_context,
    authorizer_decision,
    authorizer_event,
    identity_values,
    method_arn_of,
)
from ..gateway.cors import preflight, with_cors
from ..gateway.events import api_event, api_id_of, url_event
from ..gateway.models import ApiDeclaration, FrontDoor, FunctionUrl, Route, front_door
from ..gateway.request import GatewayAnswer, GatewayRequest
from ..gateway.responses import Kind, gateway_error
from ..gateway.routing import Refusal, RouteMatch, match_route
from ..invocation import InvocationResult
from .guard import Guard
from .server import bind_error
from .sigv4 import Verifier, parse

if TYPE_CHECKING:
    from ..simulator import Simulator

Say = Callable[[str], None]

DEFAULT_PORT = 3000
#: API Gateway's payload quota (REST and HTTP APIs); a function URL takes what a synchronous invoke takes
API_BODY_LIMIT = 10 * 1024 * 1024
URL_BODY_LIMIT = 6 * 1024 * 1024
#: Lambda's synchronous invocation payload: an event over it is refused before the function runs
INVOKE_PAYLOAD_LIMIT = 6 * 1024 * 1024
READ_CHUNK = 256 * 1024
#: an oversized body is read to its end (and dropped) up to this size, so the client sees the 413
DRAIN_LIMIT = 64 * 1024 * 1024
KEEPALIVE_TIMEOUT = 75.0


@dataclass
class Listener:
    """One listening socket: the APIs' port (`url is None`) or a function URL's."""

    url: FunctionUrl | None
    port: int
    guard: Guard
    runner: web.ServerRunner | None = None
    site: web.TCPSite | None = None


class FrontDoorServer:
    """Serves a project's APIs and function URLs; `await start()`, then `url`, `url_of(name)`, `close()`.

    `credentials` (access key id -> secret) are what an AWS_IAM function URL accepts besides the local
    credentials lsim gives the functions' roles. `reload()` takes a new route table (after `--watch` read the
    project again) without closing the sockets of URLs that stay."""

    def __init__(
        self,
        simulator: Simulator,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        say: Say | None = None,
        log_requests: bool = True,
        allow_hosts: Iterable[str] = (),
        credentials: Mapping[str, str] | None = None,
        table: FrontDoor | None = None,
    ) -> None:
        self.simulator = simulator
        self.host = host
        self.port = port
        self.say = say
        self.log_requests = log_requests and say is not None
        self.allow_hosts = tuple(allow_hosts)
        self.table = table if table is not None else front_door(simulator.project)
        settings = simulator.project.settings
        self.account_id, self.region = settings.account_id, settings.region
        self.verifier = Verifier(credentials or {}, simulator.environments.credentials.issued)
        self.authorizers = AuthorizerCache()
        self.listeners: dict[str | None, Listener] = {}
        self._api_ids: dict[str, str] = {}
        self._running_on: set[asyncio.Task[Any]] = set()  # invocations the client stopped waiting for

    # -- the sockets ----------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The APIs' base URL, without a stage: `sam local start-api` serves the template's paths as they are."""
        return self._base(self.listeners[None].port)

    def url_of(self, function_name: str) -> str:
        """The base URL of a function's URL (any path under it reaches the function)."""
        listener = self.listeners.get(function_name)
        if listener is None:
            declared = ", ".join(url.function for url in self.table.urls) or "none"
            raise KeyError(f"function {function_name!r} has no function URL (declared: {declared})")
        return self._base(listener.port) + "/"

    def _base(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    async def start(self) -> str:
        """Listen on the APIs' port, then one port per function URL (its `port`, else the next free ones
        after the APIs' port). Raises PortInUseError when a port asked for is taken."""
        await self._listen(None, self.port)
        self.port = self.listeners[None].port
        try:
            await self._open_urls(self.table.urls)
        except BaseException:
            await self.close()
            raise
        return self.url

    async def _open_urls(self, urls: Iterable[FunctionUrl]) -> None:
        next_port = self.port + 1 if self.port else 0
        for url in urls:
            if url.config.port is not None:
                await self._listen(url, url.config.port)
                continue
            while True:
                try:
                    await self._listen(url, next_port)
                except PortInUseError:
                    if next_port == 0 or next_port >= 65535:
                        raise
                    next_port += 1
                    continue
                next_port = next_port + 1 if next_port else 0
                break

    async def _listen(self, url: FunctionUrl | None, port: int) -> None:
        key = url.function if url is not None else None
        guard = Guard(self.allow_hosts)
        listener = Listener(url, port, guard)

        async def handle(request: web.BaseRequest) -> web.StreamResponse:
            return await self._handle(listener, request)

        runner = web.ServerRunner(
            web.Server(handle, handler_cancellation=False), handle_signals=False, shutdown_timeout=2.0,
            keepalive_timeout=KEEPALIVE_TIMEOUT,
        )  # fmt: skip
        await runner.setup()
        site = web.TCPSite(runner, self.host, port, reuse_address=True, backlog=128)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise bind_error(self.host, port, exc, "--http-port") from None
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            listener.port = server.sockets[0].getsockname()[1]
        guard.bind(self.host, listener.port)
        listener.runner, listener.site = runner, site
        self.listeners[key] = listener

    async def close(self) -> None:
        """Stop listening; invocations still running after an integration timeout finish on their own."""
        listeners, self.listeners = list(self.listeners.values()), {}
        for listener in listeners:
            if listener.runner is not None:
                await listener.runner.cleanup()

    async def reload(self, table: FrontDoor) -> list[str]:
        """Serve a new route table (the project was read again); the route-table lines that changed, each
        with `+ ` or `- `. Function URLs that went away close; new ones open."""
        before = self.route_table()
        old_urls = {url.function: url for url in self.table.urls}
        self.table = table
        self._api_ids.clear()
        self.authorizers.clear()
        new_urls = {url.function: url for url in table.urls}
        for name, url in old_urls.items():
            if name not in new_urls or new_urls[name].config != url.config:
                listener = self.listeners.pop(name, None)
                if listener is not None and listener.runner is not None:
                    await listener.runner.cleanup()
        await self._open_urls([url for name, url in new_urls.items() if name not in self.listeners])
        for name, url in new_urls.items():
            self.listeners[name].url = url
        after = self.route_table()
        gone = [f"- {line}" for line in before if line not in after]
        return gone + [f"+ {line}" for line in after if line not in before]

    # -- the route table --------------------------------------------------------------------------------------
    def route_table(self) -> list[str]:
        """One line per route (`GET /orders/{id} -> get_order (API orders, REST, stage Prod, authorizer
        tokens)`) and per function URL (`URL http://127.0.0.1:3001/ -> f (auth NONE)`)."""
        lines = []
        for route in self.table.routes:
            api = self.table.apis[route.api]
            path = "$default" if route.path == "$default" else route.path
            method = "" if route.path == "$default" else f"{route.method} "
            qualifier = f":{route.qualifier}" if route.qualifier else ""
            kind = "REST" if api.type == "rest" else f"HTTP, payload {route.payload_format_version}"
            details = [f"API {route.api}", kind, f"stage {api.stage_name}"]
            if route.authorizer == "AWS_IAM":
                details.append("authorizer AWS_IAM, not checked by lsim: the route is open")
            elif route.authorizer is not None:
                details.append(f"authorizer {route.authorizer}")
            lines.append(f"{method}{path} -> {route.function}{qualifier} ({', '.join(details)})")
        for url in self.table.urls:
            where = self.url_of(url.function) if url.function in self.listeners else "(not open)"
            cors = ", CORS" if url.config.cors is not None else ""
            streaming = ", RESPONSE_STREAM answered buffered" if url.config.invoke_mode == "RESPONSE_STREAM" else ""
            lines.append(f"URL {where} -> {url.function} (auth {url.config.auth_type}{cors}{streaming})")
        return lines

    # -- a request ----------------------------------------------------------------------------------------------
    async def _handle(self, listener: Listener, http: web.BaseRequest) -> web.StreamResponse:
        started = time.perf_counter()
        kind = "url" if listener.url is not None else self._kind_of_port()
        request_id = str(uuid.uuid4())
        raw_path, _, raw_query = http.raw_path.partition("?")
        raw_query = raw_query.partition("#")[0]
        host = http.headers.get("Host", "")
        refusal = listener.guard.host_refusal(host or None)
        if refusal is not None:
            answer = _refused_host(refusal, request_id)
            return await self._send(http, answer, started, raw_path, None, close=True)
        limit = URL_BODY_LIMIT if listener.url is not None else API_BODY_LIMIT
        try:
            body = await _read_body(http, limit)
        except _TooLargeToDrain:
            body, close = None, True
        else:
            close = False
        if body is None:
            answer = gateway_error(kind, "REQUEST_TOO_LARGE", request_id)
            return await self._send(http, answer, started, raw_path, None, close=close)
        request = GatewayRequest(
            method=http.method, raw_path=raw_path, raw_query=raw_query, headers=_headers_of(http), body=body,
            source_ip=_source_ip(http), protocol=f"HTTP/{http.version.major}.{http.version.minor}", host=host,
            received_ms=int(time.time() * 1000), request_id=request_id,
        )  # fmt: skip
        try:
            if listener.url is not None:
                answer, function = await self._url_request(listener.url, request)
            else:
                answer, function = await self._api_request(request)
        except Exception as error:  # lsim's own failure: a gateway 500, and the console says why
            if self.say is not None:
                import traceback

                self.say(f"lsim failed on {http.method} {raw_path}: {error}\n{traceback.format_exc()}")
            answer = gateway_error(kind, "LAMBDA_REJECTED", request_id)
            function = None
        return await self._send(http, answer, started, raw_path, function)

    def _kind_of_port(self) -> Kind:
        return "http" if any(api.type == "http" for api in self.table.apis.values()) else "rest"

    async def _send(
        self, http: web.BaseRequest, answer: GatewayAnswer, started: float, raw_path: str, function: str | None,
        close: bool = False,
    ) -> web.StreamResponse:  # fmt: skip
        response = web.Response(status=answer.status, body=answer.body)
        for name, value in answer.headers:
            if name.lower() == "content-length":
                continue
            response.headers.add(name, value)
        if "Content-Type" not in response.headers and answer.body:
            response.content_type = "application/json"  # aiohttp would say application/octet-stream
        if close:
            response.force_close()
        if self.log_requests:
            assert self.say is not None
            elapsed = (time.perf_counter() - started) * 1000
            target = f" -> {function}" if function else ""
            self.say(f"{http.method} {raw_path}{target} {answer.status} {elapsed:.0f} ms")
        return response

    # -- APIs -----------------------------------------------------------------------------------------------------
    async def _api_request(self, request: GatewayRequest) -> tuple[GatewayAnswer, str | None]:
        table = self.table
        match = match_route(table, request.method, request.raw_path, request_id=request.request_id)
        if request.method == "OPTIONS" and not (isinstance(match, RouteMatch) and match.route.method == "OPTIONS"):
            answered = await self._preflight(request)
            if answered is not None:
                return answered, None
        if isinstance(match, Refusal):
            return match.answer, None
        route = match.route
        api = table.apis[route.api]
        answer = await self._route_request(request, match, route, api, api.type)
        return with_cors(api.cors, api.type, request, answer), route.function

    async def _preflight(self, request: GatewayRequest) -> GatewayAnswer | None:
        """API Gateway's own answer to a CORS preflight (gateway/cors.py decides whether it gives one), for the
        API whose resource the path reaches; REST runs the API's default authorizer first when SAM puts it on
        the preflight (AddDefaultAuthorizerToCorsPreflight)."""
        wanted = (request.header("Access-Control-Request-Method") or "GET").upper()
        found: RouteMatch | None = None
        for method in dict.fromkeys((wanted, "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")):
            candidate = match_route(self.table, method, request.raw_path, request_id=request.request_id)
            if isinstance(candidate, RouteMatch):
                found = candidate
                break
        if found is None:
            return None
        route = found.route
        api = self.table.apis[route.api]
        if api.cors is None:
            return None
        methods = [r.method for r in self.table.routes if r.api == route.api and r.path == route.path]
        answer = preflight(api.cors, api.type, request, methods)
        if answer is None:
            return None
        default = api.default_authorizer
        if api.type == "rest" and api.authorize_preflight and default not in (None, "NONE", "AWS_IAM"):
            guarded = route.model_copy(update={"authorizer": default})
            refused, _ = await self._authorize(request, found, guarded, api, api.type)
            if refused is not None:
                return refused
        return answer

    def api_id(self, api_name: str) -> str:
        found = self._api_ids.get(api_name)
        if found is None:
            found = self._api_ids[api_name] = api_id_of(api_name, self.account_id, self.region)
        return found

    async def _route_request(
        self, request: GatewayRequest, match: RouteMatch, route: Route, api: ApiDeclaration, kind: Kind
    ) -> GatewayAnswer:
        context: dict[str, Any] | None = None
        if route.authorizer is not None and route.authorizer != "AWS_IAM":
            refused, context = await self._authorize(request, match, route, api, kind)
            if refused is not None:
                return refused
        event = api_event(
            request, match, api, account_id=self.account_id, region=self.region, api_id=self.api_id(route.api),
            authorizer_context=context,
        )  # fmt: skip
        payload = json.dumps(event, separators=(",", ":")).encode()
        outcome = await self._invoke(kind, request, route.function, route.qualifier, payload, route.timeout_ms / 1000)
        if isinstance(outcome, GatewayAnswer):
            return outcome
        body, function_error = outcome
        return api_answer(route, api, request, body, function_error=function_error)

    async def _authorize(
        self, request: GatewayRequest, match: RouteMatch, route: Route, api: ApiDeclaration, kind: Kind
    ) -> tuple[GatewayAnswer | None, dict[str, Any] | None]:
        """Run the route's Lambda authorizer, or judge its kept answer again (gateway/authorizers.py): a
        refusal, or the requestContext.authorizer of the event."""
        assert route.authorizer is not None
        authorizer = api.authorizers[route.authorizer]
        values = identity_values(authorizer, api, request, match)
        if values is None:
            return gateway_error(kind, "UNAUTHORIZED", request.request_id), None
        api_id = self.api_id(route.api)
        method_arn = method_arn_of(api, request, account_id=self.account_id, region=self.region, api_id=api_id)
        decision = self.authorizers.lookup(route.api, route.authorizer, values, method_arn)
        latency_ms: int | None = None
        if decision is None:
            event = authorizer_event(authorizer, api, request, match, account_id=self.account_id, region=self.region,
                                     api_id=api_id)  # fmt: skip
            payload = json.dumps(event, separators=(",", ":")).encode()
            started = time.perf_counter()
            try:
                result = await self._call(authorizer.function, payload, None, AUTHORIZER_TIMEOUT_MS / 1000)
            except TimeoutError:  # the authorizer runs on; API Gateway stopped waiting
                return self._authorizer_failed(kind, request), None
            except LambdaError as error:  # throttled or refused: API Gateway "can't invoke the authorizer"
                if self.say is not None:
                    self.say(f"  authorizer {authorizer.function}: Lambda refused the invocation: {error.type}")
                return self._authorizer_failed(kind, request), None
            latency_ms = round((time.perf_counter() - started) * 1000)
            decision = authorizer_decision(authorizer, api, match, result.body, method_arn=method_arn,
                                           function_error=result.function_error is not None)  # fmt: skip
            self.authorizers.store(route.api, route.authorizer, authorizer, api, values, decision)
        if not decision.allowed:
            return gateway_error(kind, decision.error or "NOT_AUTHORIZED", request.request_id), None
        latency = latency_ms if kind == "rest" else None
        return None, authorizer_context(
            api.type, route.payload_format_version, decision, integration_latency_ms=latency
        )

    def _authorizer_failed(self, kind: Kind, request: GatewayRequest) -> GatewayAnswer:
        return gateway_error(kind, "AUTHORIZER_CONFIGURATION_ERROR", request.request_id)

    async def _invoke(
        self, kind: Kind, request: GatewayRequest, function: str, qualifier: str | None, payload: bytes,
        timeout_s: float | None,
    ) -> GatewayAnswer | tuple[bytes, bool]:  # fmt: skip
        """Invoke as the integration does: the function's answer, or the gateway's when Lambda refused or the
        integration timed out (the invocation then runs on: API Gateway does not cancel it)."""
        if len(payload) > INVOKE_PAYLOAD_LIMIT:
            return gateway_error(kind, "LAMBDA_REJECTED", request.request_id)
        try:
            result = await self._call(function, payload, qualifier, timeout_s)
        except TimeoutError:
            return gateway_error(kind, "INTEGRATION_TIMEOUT", request.request_id)
        except TooManyRequestsException:
            return gateway_error(kind, "LAMBDA_THROTTLED", request.request_id)
        except LambdaError as error:
            if self.say is not None:
                self.say(f"  {function}: Lambda refused the invocation: {error.type}: {error.message}")
            return gateway_error(kind, "LAMBDA_REJECTED", request.request_id)
        return result.body, result.function_error is not None

    async def _call(
        self, function: str, payload: bytes, qualifier: str | None, timeout_s: float | None
    ) -> InvocationResult:
        """Invoke, waiting at most `timeout_s` (None: as long as the function runs). On TimeoutError the
        invocation runs on, kept here until it ends: API Gateway stops waiting, it does not cancel.
        Lambda's refusals raise as LambdaError."""
        task = asyncio.ensure_future(self.simulator.invoke(function, payload, qualifier=qualifier))
        if timeout_s is None:
            return await task
        try:
            return await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except TimeoutError:
            self._running_on.add(task)
            task.add_done_callback(_forget(self._running_on))
            raise

    # -- function URLs ------------------------------------------------------------------------------------------
    async def _url_request(self, url: FunctionUrl, request: GatewayRequest) -> tuple[GatewayAnswer, str | None]:
        cors = url.config.cors
        if request.method == "OPTIONS":
            answered = preflight(cors, "url", request, [])
            if answered is not None:
                return answered, None
        iam: dict[str, Any] | None = None
        if url.config.auth_type == "AWS_IAM":
            iam = self._verify_iam(request)
            if iam is None:
                return with_cors(cors, "url", request, gateway_error("url", "URL_FORBIDDEN", request.request_id)), None
        event = url_event(request, url, account_id=self.account_id, region=self.region, iam=iam)
        payload = json.dumps(event, separators=(",", ":")).encode()
        outcome = await self._invoke("url", request, url.function, url.config.qualifier, payload, None)
        if isinstance(outcome, GatewayAnswer):
            answer = outcome
        else:
            answer = url_answer(request, outcome[0], function_error=outcome[1])
        return with_cors(cors, "url", request, answer), url.function

    def _verify_iam(self, request: GatewayRequest) -> dict[str, Any] | None:
        """SigV4 (service `lambda`) checked against the serve's credentials and the local ones lsim gives
        functions' roles: the `iam` block of the event, or None when the signature is missing or wrong."""
        amz_date = request.header("X-Amz-Date") or request.header("Date")
        headers: dict[str, list[str]] = {}
        for name, value in request.headers:
            headers.setdefault(name.lower(), []).append(value)
        try:
            authorization = parse(request.header("Authorization"), amz_date)
            if authorization.service != "lambda":
                return None
            assert amz_date is not None
            token = request.header("X-Amz-Security-Token")
            self.verifier.check_credentials(authorization, amz_date, security_token=token)
            self.verifier.verify(authorization, request.method, request.raw_path, request.raw_query, headers, amz_date,
                                 request.body)  # fmt: skip
        except LambdaError:
            return None
        key = authorization.access_key_id
        # The caller's identity as IAM would name it; lsim knows only the key, so the user is named after it
        # (AWS: userId is the IAM user's or role session's unique id).
        return {
            "accessKey": key, "accountId": self.account_id, "callerId": key, "cognitoIdentity": None,
            "principalOrgId": None, "userArn": f"arn:aws:iam::{self.account_id}:user/{key}", "userId": key,
        }  # fmt: skip


def _forget(tasks: set[asyncio.Task[Any]]) -> Callable[[asyncio.Task[Any]], None]:
    def done(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a refusal after the client left is nobody's to see

    return done


def _headers_of(http: web.BaseRequest) -> tuple[tuple[str, str], ...]:
    """The headers in arrival order with the client's casing, repeats kept."""
    return tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in http.raw_headers)


def _source_ip(http: web.BaseRequest) -> str:
    peer = http.transport.get_extra_info("peername") if http.transport is not None else None
    return str(peer[0]) if peer else "127.0.0.1"


async def _read_body(http: web.BaseRequest, limit: int) -> bytes | None:
    """The whole body, or None when it is over `limit`. An oversized body is still read (and dropped), up to
    DRAIN_LIMIT, so that the client, still sending, reads the 413 instead of a reset connection."""
    chunks: list[bytes] = []
    size = 0
    declared = http.content_length
    over = declared is not None and declared > limit
    while True:
        chunk = await http.content.read(READ_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            over, chunks = True, []
        if over and size > DRAIN_LIMIT:
            raise _TooLargeToDrain
        if not over:
            chunks.append(chunk)
    return None if over else b"".join(chunks)


class _TooLargeToDrain(Exception):
    """A body so far over the limit that the connection is closed rather than read to its end."""


def _refused_host(refusal: str, request_id: str) -> GatewayAnswer:
    body = json.dumps({"message": refusal}).encode()
    return GatewayAnswer(403, (("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)), body)


async def start_front_door(
    simulator: Simulator,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    say: Say | None = None,
    log_requests: bool = True,
    allow_hosts: Iterable[str] = (),
    credentials: Mapping[str, str] | None = None,
) -> FrontDoorServer:
    """The project's APIs on `port` (0: a free one) and its function URLs on the ports after it, started."""
    server = FrontDoorServer(
        simulator, host, port, say=say, log_requests=log_requests, allow_hosts=allow_hosts, credentials=credentials
    )
    await server.start()
    return server
