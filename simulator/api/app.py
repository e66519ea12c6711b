"""The Lambda API application: one aiohttp handler checks who is asking (guard.py, sigv4.py), finds the
route (routes.py), parses the request (requests.py), calls the Simulator service the route names and writes
the answer (responses.py). Every LambdaError a service raises goes back as AWS's error; anything else as a
ServiceException, and the console says why.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..errors import (
    InvalidParameterValueException,
    LambdaError,
    LsimError,
    RequestTooLargeException,
    ServiceException,
    UnknownOperationException,
    UnsupportedMediaTypeException,
)
from ..invocation import InvocationResult
from . import sigv4
from .guard import Guard
from .model import OPERATIONS
from .requests import (
    MAX_REQUEST_BYTES,
    facade_arguments,
    parse_members,
    read_body,
)
from .responses import error_response, invoke_response, invoke_response_with_log, json_response, report_figures
from .routes import NOT_SIMULATED_BECAUSE, ROUTER, Match, Router, snake_case
from .sqs import SqsApi, is_sqs

if TYPE_CHECKING:
    from ..simulator import Simulator

Say = Callable[[str], None]
# Invoke headers botocore's model has that lsim does not simulate: refused by name, not ignored.
UNSUPPORTED_INVOKE_HEADERS = {
    "X-Amz-Durable-Execution-Name": "DurableExecutionName",
}
# The bodies a browser may send cross-origin without a preflight (the CORS-safelisted types): no SDK sends
# them for a JSON operation, so they are refused there. Invoke takes any bytes, as Lambda does (the
# JavaScript SDK v2 sends binary/octet-stream, boto3 no Content-Type at all).
FORM_CONTENT_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")
# Headers only `lsim invoke` sends (simulator/through_serve/client.py): the token of the serve it means, and
# a request for the whole log (the answer's body is the log, then the payload).
SERVE_TOKEN_HEADER = "X-Lsim-Serve-Token"
LOG_HEADER, COMPLETE_LOG = "X-Lsim-Log", "complete"
#: the parsed Authorization header of a request whose signature is still to be verified (once its body is read)
AUTHORIZATION = web.RequestKey("lsim.authorization", sigv4.Authorization)
REPORT_HEADER = "X-Lsim-Report"  # `lsim load-test` through a serve: the REPORT line's figures, as JSON


class MisdirectedRequestException(LambdaError):
    """`lsim invoke` meant another serve (one that recorded itself on this port and has died since): 421,
    RFC 9110's "not the server this request is meant for", refused before anything runs."""

    type = "MisdirectedRequestException"
    status = 421


class ServiceStoppingException(ServiceException):
    """What a request gets while `lsim serve` drains: Lambda has no such state; 503 is how AWS services
    say "unavailable for now", and SDKs retry it (on a new connection, which then finds the port closed)."""

    status = 503


class LambdaApi:
    """The handler of every request. `say` gets console lines (a line per invocation when
    `log_invocations`, and whatever needs the user's attention)."""

    def __init__(
        self,
        simulator: Simulator,
        *,
        say: Say | None = None,
        log_invocations: bool = False,
        router: Router = ROUTER,
        guard: Guard | None = None,
        verifier: sigv4.Verifier | None = None,
        serve_token: str | None = None,
    ) -> None:
        """`serve_token`: the token `lsim serve` wrote in its record; a request naming another is refused."""
        self.simulator = simulator
        self.serve_token = serve_token
        self.router = router
        self.say = say
        self.log_invocations = log_invocations and say is not None
        self.guard = guard or Guard()
        self.verifier = verifier
        self._regions: set[str] = set()
        self._draining = False
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.sqs = SqsApi(simulator, self._body, say)

    @property
    def draining(self) -> bool:
        return self._draining

    @draining.setter
    def draining(self, value: bool) -> None:
        """Once the server stops taking requests, SQS's long polls in flight answer at once (empty)."""
        self._draining = value
        if value:
            self.sqs.stop_waiting()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self._idle.clear()
        try:
            return await self._handle(request)
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()

    async def drained(self) -> None:
        """Wait until no request is being handled."""
        await self._idle.wait()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            if self.draining:
                stopping = "lsim serve is stopping: it finishes the calls in flight and takes no new ones"
                response = error_response(ServiceStoppingException(stopping))
                response.force_close()
                return response
            headers = request.headers
            self.guard.check(request.method, headers)
            meant = headers.get(SERVE_TOKEN_HEADER)
            if meant is not None and meant != self.serve_token:
                raise MisdirectedRequestException("this is not the lsim serve that request was meant for")
            amz_date = headers.get("X-Amz-Date") or headers.get("Date")
            authorization = sigv4.parse(headers.get("Authorization"), amz_date)
            if self.verifier is not None:
                assert amz_date is not None  # parse() refused a request without one
                self.verifier.check_credentials(
                    authorization, amz_date, security_token=headers.get("X-Amz-Security-Token")
                )
                request[AUTHORIZATION] = authorization
            self._note_region(authorization.region)
            if is_sqs(authorization.service, headers):
                return await self.sqs.handle(request)
            match = self.router.match(request.method, request.rel_url.raw_path, request.query)
            if match is None:
                if self.verifier is not None:
                    await self._body(request, self._refuse_over(MAX_REQUEST_BYTES, "this"))
                raise self._unknown_route(request)
            if match.route.operation == "Invoke":
                return await self._invoke(request, match)
            return await self._call(request, match)
        except LambdaError as error:
            return error_response(error)
        except LsimError as error:  # e.g. no Docker engine, a runtime that cannot be built
            return error_response(ServiceException(str(error)))
        except Exception as error:
            if self.say is not None:
                self.say(f"lsim failed on {request.method} {request.path}:\n{traceback.format_exc()}")
            return error_response(ServiceException(f"lsim failed: {type(error).__name__}: {error}"))

    # -- Invoke: the hot path, kept lean --------------------------------------------------------------
    async def _invoke(self, request: web.Request, match: Match) -> web.Response:
        headers = request.headers
        for header, member in UNSUPPORTED_INVOKE_HEADERS.items():
            if header in headers:
                raise InvalidParameterValueException(f"lsim does not support the parameter {member} of Invoke")
        function_name = match.path_members["FunctionName"]
        invocation_type = headers.get("X-Amz-Invocation-Type", "RequestResponse")
        log_type = headers.get("X-Amz-Log-Type", "None")

        invoker = self.simulator.invoker

        def refuse(size: int) -> None:  # 413 as soon as the body is known to be over the limit
            invoker.check_payload_size(size, invocation_type)

        body = await self._body(request, refuse)
        complete_log = headers.get(LOG_HEADER) == COMPLETE_LOG
        began = time.perf_counter()
        result = await invoker.invoke(
            function_name,
            body,
            qualifier=request.query.get("Qualifier"),
            invocation_type=invocation_type,
            log_type=log_type,
            client_context=headers.get("X-Amz-Client-Context"),
            tenant_id=headers.get("X-Amz-Tenant-Id"),
            complete_logs=True if complete_log else None,
        )
        if self.log_invocations:
            self._log_invocation(function_name, result, (time.perf_counter() - began) * 1000)
        if complete_log:
            return invoke_response_with_log(result, log_type)
        response = invoke_response(result, log_type)
        if headers.get(REPORT_HEADER) == "1":
            response.headers[REPORT_HEADER] = report_figures(result)
        return response

    def _log_invocation(self, function_name: str, result: InvocationResult, elapsed_ms: float) -> None:
        assert self.say is not None
        what = {202: "queued (Event)", 204: "dry run"}.get(result.status_code, "")
        if result.function_error:
            what = f"{result.function_error} {result.error_type or ''}".strip()
        report = result.report.line().replace("\t", "  ") if result.report else ""
        cold = " cold" if result.cold_start else ""
        self.say(f"Invoke {function_name} {result.executed_version}{cold} {result.status_code} {what} "
                 f"{elapsed_ms:.1f} ms  {report}".rstrip())  # fmt: skip

    async def _body(self, request: web.Request, refuse: Callable[[int], None]) -> bytes:
        """The whole body, bounded by `refuse`; with --verify-sigv4, the signature checked against it."""
        body = await read_body(request, refuse)
        if self.verifier is None:
            return body
        authorization: sigv4.Authorization | None = request.get(AUTHORIZATION)
        if authorization is not None:
            headers = request.headers
            self.verifier.verify(
                authorization,
                request.method,
                request.rel_url.raw_path,
                request.rel_url.raw_query_string,
                {name: headers.getall(name) for name in authorization.signed_headers if name in headers},
                headers.get("X-Amz-Date") or headers.get("Date") or "",
                body,
            )
        return body

    @staticmethod
    def _refuse_over(limit: int, operation: str) -> Callable[[int], None]:
        def refuse(size: int) -> None:
            if size > limit:
                raise RequestTooLargeException(
                    f"Request must be smaller than {limit} bytes for the {operation} operation (this one is "
                    f"{size} bytes)"
                )

        return refuse

    # -- every other operation --------------------------------------------------------------------------
    async def _call(self, request: web.Request, match: Match) -> web.Response:
        route = match.route
        if route.operation not in self.router.served:
            reason = NOT_SIMULATED_BECAUSE.get(route.operation, "it is outside what lsim simulates")
            raise UnknownOperationException(f"lsim does not simulate {route.operation}: {reason}")
        service = getattr(self.simulator, route.service, None)
        method = getattr(service, route.service_method, None) if route.service_method else None
        present = route.presenter()
        if method is None or (route.output is not None and present is None):
            raise UnknownOperationException(
                f"lsim does not support {route.operation} yet: this version of lsim has no "
                f"{route.serves or snake_case(route.operation)} operation"
            )
        model = OPERATIONS[route.operation]
        body = b""
        if model.body or self.verifier is not None:
            if model.body and request.content_type.startswith(FORM_CONTENT_TYPES) and request.body_exists:
                raise UnsupportedMediaTypeException(
                    f"The content type of the {route.operation} request body is not JSON: "
                    f"{request.headers.get('Content-Type')}; send application/json"
                )
            body = await self._body(request, self._refuse_over(MAX_REQUEST_BYTES, route.operation))
        members = parse_members(model, match.path_members, request.query, body)
        if route.adapt is not None:
            members = route.adapt(members)
        result: Any = method(**facade_arguments(route.operation, method, members))
        if inspect.isawaitable(result):
            result = await result
        shape = present(result, self.simulator.project) if present is not None else None
        return json_response(route.status, shape)

    def _unknown_route(self, request: web.Request) -> UnknownOperationException:
        elsewhere = self.router.operations_at(request.rel_url.raw_path)
        hint = (
            f"this path serves {', '.join(elsewhere)}"
            if elsewhere
            else "check the endpoint URL: Lambda's paths look like /2015-03-31/functions/NAME/invocations"
        )
        return UnknownOperationException(f"No Lambda operation is {request.method} {request.path}: {hint}")

    def _note_region(self, signed_for: str) -> None:
        """Once per Region, say if the client signs for another Region than the project's (the ARNs lsim
        answers with name the project's Region)."""
        if self.say is None or signed_for in self._regions:
            return
        self._regions.add(signed_for)
        region = self.simulator.project.settings.region
        if signed_for and signed_for != region:
            self.say(
                f"note: a client signs for Region {signed_for}; this project's functions live in "
                f"{region} (lsim.toml [settings] region), and the ARNs lsim answers with say {region}"
            )


def make_app(
    simulator: Simulator,
    *,
    say: Say | None = None,
    log_invocations: bool = False,
    guard: Guard | None = None,
    verifier: sigv4.Verifier | None = None,
    serve_token: str | None = None,
) -> web.Application:
    """The aiohttp application of the Lambda API. Bodies are read by the handlers themselves, bounded
    by Lambda's limits, so aiohttp's own request size cap is lifted. `app[API]` is the handler."""
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    api = LambdaApi(
        simulator, say=say, log_invocations=log_invocations, guard=guard, verifier=verifier, serve_token=serve_token
    )
    app[API] = api
    app.router.add_route("*", "/{tail:.*}", api.handle)
    return app


API = web.AppKey("lsim.api", LambdaApi)
