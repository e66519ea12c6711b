"""The Amazon SQS API on `lsim serve`, beside the Lambda API on the same port: one `endpoint_url` serves boto3's
`sqs` and `lambda` clients.

A request is SQS's when it is signed for the service `sqs` or names an `AmazonSQS.` target. Two wire formats:
  - JSON (awsJson1_0), what boto3/botocore since 1.31.81 and the AWS CLI v2 send: `POST /` with
    `X-Amz-Target: AmazonSQS.<Operation>` and `Content-Type: application/x-amz-json-1.0`; answers in JSON with
    `x-amzn-RequestId`, errors as `{"__type": "com.amazonaws.sqs#<Shape>", "message": ...}` with the query code
    in `x-amzn-query-error: <Code>;Sender`, from which botocore takes `Error.Code`;
  - query (sqs_query.py), what older SDKs send: `Action=<Operation>&Version=2012-11-05&...`, answers in XML.
Both parse into the JSON protocol's members and run the same operation below, which calls the queue service
(`Simulator.queues`) and returns the JSON protocol's output. The service raises AWS's errors (simulator/queues/
errors.py); this module only renders them. A queue is named by its URL, `http://HOST:PORT/ACCOUNT/NAME`, built
from the Host the client used; the query protocol may also name it by the request's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import traceback
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from aiohttp import web

from ..errors import LambdaError
from ..invocation import new_request_id
from ..queues.errors import InvalidParameterValue, SqsError
from ..sqs_operations import NOT_AT_A_QUEUE, OPERATIONS, Context, Members, Output, check_types
from . import sqs_query

if TYPE_CHECKING:
    from ..simulator import Simulator

JSON_CONTENT_TYPE = "application/x-amz-json-1.0"
TARGET_PREFIX = "AmazonSQS."
#: the largest request read: a 1 MiB batch, form-encoded (up to 3 bytes a byte) or with base64 binaries
MAX_SQS_REQUEST_BYTES = 4 * 1_048_576
BodyReader = Callable[[web.Request, Callable[[int], None]], Awaitable[bytes]]


def is_sqs(service: str, headers: Mapping[str, str]) -> bool:
    """Whether a request is for SQS: signed for `sqs`, or naming an SQS operation."""
    return service == "sqs" or headers.get("X-Amz-Target", "").startswith(TARGET_PREFIX)


# -- wire errors (not the queue service's: they are about the request itself) ---------------------------
class InvalidAction(SqsError):
    """An operation SQS (or lsim) does not serve, or one not valid at a queue's URL: 400, "The action X is
    not valid for this endpoint." (recorded against AWS in LocalStack's validated query tests)."""

    shape = "InvalidAction"
    query_code = "InvalidAction"
    status = 400
    sender_fault = True

    @property
    def json_type(self) -> str:
        # awsJson services name an unknown target so; SQS's exact JSON answer is not recorded anywhere we found
        return "com.amazon.coral.service#UnknownOperationException"


class SerializationException(SqsError):
    """A JSON body that is not a JSON object (awsJson's framework error)."""

    shape = "SerializationException"
    query_code = "SerializationException"
    status = 400
    sender_fault = True

    @property
    def json_type(self) -> str:
        return "com.amazon.coral.service#SerializationException"


class RequestEntityTooLarge(SqsError):
    shape = "RequestEntityTooLarge"
    query_code = "RequestEntityTooLarge"
    status = 413
    sender_fault = True


class InternalError(SqsError):
    shape = "InternalError"
    query_code = "InternalError"
    status = 500


def _not_valid(operation: str) -> InvalidAction:
    return InvalidAction(f"The action {operation} is not valid for this endpoint.")


# -- the handler --------------------------------------------------------------------------------------------
class SqsApi:
    """Serves SQS requests the Lambda API's handler hands over. `read_body` reads (and, with
    --verify-sigv4, verifies) a request's body, bounded by the `refuse` it is given."""

    def __init__(self, simulator: Simulator, read_body: BodyReader, say: Callable[[str], None] | None = None) -> None:
        self.simulator = simulator
        self.read_body = read_body
        self.say = say
        self._stopping = asyncio.Event()  # binds to the running loop when first awaited

    def stop_waiting(self) -> None:
        """The server is stopping: long polls in flight end now, empty, as a wait that ran out ends."""
        self._stopping.set()

    async def _unless_stopping(self, waiting: Awaitable[Output]) -> Output:
        """A long poll's output, or an empty one when the server stops first (the poll is cancelled while it
        waits, before it has taken any message)."""
        poll = asyncio.ensure_future(waiting)
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({poll, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if poll.done():
            return poll.result()
        poll.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poll
        return {}

    async def handle(self, request: web.Request) -> web.Response:
        request_id = new_request_id()
        json_protocol = "X-Amz-Target" in request.headers or request.content_type.startswith("application/x-amz-json")
        operation = "Unknown"
        try:
            body = await self.read_body(request, _refuse_over_limit)
            operation, members = self._parse(request, body, json_protocol)
            run = OPERATIONS.get(operation)
            if run is None:
                raise _not_valid(operation)
            context = Context(
                self.simulator.queues,
                f"{request.scheme}://{request.host}",
                self.simulator.project.settings.account_id,
                _queue_path(request.path),
            )
            if not json_protocol and context.path_queue_url is not None and operation in NOT_AT_A_QUEUE:
                raise _not_valid(operation)
            result = run(context, members)
            output = await self._unless_stopping(result) if inspect.isawaitable(result) else result
            return _answer(json_protocol, operation, output, request_id)
        except _NoOperation:
            # a query request without an Action: AWS answers 404 with this bare element
            return web.Response(
                status=404, body=b"<UnknownOperationException/>", headers={"x-amzn-RequestId": request_id}
            )
        except SqsError as error:
            return _error(json_protocol, error, request_id)
        except LambdaError as error:  # the signature, checked against the body
            rendered = SqsError(error.message)
            rendered.shape = rendered.query_code = error.type
            rendered.status, rendered.sender_fault = error.status, True
            return _error(json_protocol, rendered, request_id)
        except Exception as error:
            if self.say is not None:
                self.say(f"lsim failed on SQS {operation}:\n{traceback.format_exc()}")
            return _error(json_protocol, InternalError(f"lsim failed: {type(error).__name__}: {error}"), request_id)

    @staticmethod
    def _parse(request: web.Request, body: bytes, json_protocol: bool) -> tuple[str, Members]:
        if json_protocol:
            target = request.headers.get("X-Amz-Target", "")
            if not target.startswith(TARGET_PREFIX):
                raise _not_valid(target or "(no X-Amz-Target)")
            operation = target[len(TARGET_PREFIX) :]
            try:
                members = json.loads(body) if body.strip() else {}
            except ValueError:
                raise SerializationException("The request body is not valid JSON.") from None
            if not isinstance(members, dict):
                raise SerializationException("The request body must be a JSON object.")
            check_types(members)
            return operation, members
        try:  # raw or percent-escaped, the parameters must be UTF-8: a message is never silently altered
            text = request.rel_url.raw_query_string
            if body and request.content_type == "application/x-www-form-urlencoded":
                text = f"{text}&{body.decode()}" if text else body.decode()
            pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            raise InvalidParameterValue("The request's parameters are not valid UTF-8.") from None
        action, members = sqs_query.parse_parameters(pairs)
        if not action:
            raise _NoOperation()
        return action, members


class _NoOperation(Exception):
    pass


def _refuse_over_limit(size: int) -> None:
    if size > MAX_SQS_REQUEST_BYTES:
        raise RequestEntityTooLarge(
            f"Request must be smaller than {MAX_SQS_REQUEST_BYTES} bytes (this one is {size} bytes)"
        )


def _queue_path(path: str) -> str | None:
    """A request's path `/ACCOUNT/NAME` as a queue URL path, or None (the service's root)."""
    segments = [segment for segment in path.split("/") if segment]
    return "/" + "/".join(segments) if len(segments) == 2 else None


def _answer(json_protocol: bool, operation: str, output: Output, request_id: str) -> web.Response:
    if json_protocol:
        body = json.dumps(output if output is not None else {}).encode()
        headers = {"Content-Type": JSON_CONTENT_TYPE, "x-amzn-RequestId": request_id}
    else:
        body = sqs_query.render_result(operation, output, request_id)
        headers = {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
    return web.Response(status=200, body=body, headers=headers)


def _error(json_protocol: bool, error: SqsError, request_id: str) -> web.Response:
    fault = "Sender" if error.sender_fault else "Receiver"
    if json_protocol:
        headers = {
            "Content-Type": JSON_CONTENT_TYPE,
            "x-amzn-RequestId": request_id,
            "x-amzn-query-error": f"{error.query_code};{fault}",
        }
        body = json.dumps({"__type": error.json_type, "message": error.message}).encode()
    else:
        headers = {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
        body = sqs_query.render_error(error.query_code, error.query_message, error.sender_fault, request_id)
    return web.Response(status=error.status, body=body, headers=headers)
