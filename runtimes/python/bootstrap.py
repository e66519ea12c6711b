"""lsim's Python runtime client: the process that runs user code inside one execution environment.

Started as ``python3 -u bootstrap.py`` with ``AWS_LAMBDA_RUNTIME_API`` pointing at the Runtime API
(2018-06-01), it behaves like AWS's managed Python runtime (awslambdaric):

* init: put the code and the layers on ``sys.path`` in Lambda's order, import the ``_HANDLER`` module
  once, resolve the function; any failure goes to ``/runtime/init/error`` and the process exits 1;
* loop: long-poll ``/runtime/invocation/next``, call ``handler(event, context)``, post the JSON result to
  ``/response`` or the error document to ``/error``.

Standard library only, and only the cheap parts of it: this runs on every cold start. Must run on
Python 3.9 and later.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib
import json
import logging
import os
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

API_PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
XRAY_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
XRAY_CAUSE_MAX_BYTES = 1024 * 1024  # awslambdaric sends an empty cause rather than a header this big
DEFAULT_RUNTIME_API = "127.0.0.1:9001"

# Error types, spelled as awslambdaric spells them (they reach the caller in the error payload).
MARSHAL_ERROR = "Runtime.MarshalError"
UNMARSHAL_ERROR = "Runtime.UnmarshalError"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

# Logged before an init error, word for word as AWS's runtime logs it.
UNHANDLED_EXCEPTION_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. To determine if the runtime has been updated, check the runtime "
    "version in the INIT_START log entry. If this error correlates with a change in the runtime version, "
    "you may be able to mitigate this error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)

# CloudWatch trims leading spaces of a log line, so AWS indents traceback lines with NO-BREAK SPACEs.
_LOG_INDENT = "\u00a0"
_THIS_FILE = os.path.abspath(__file__)
Frame = tuple[str, Any, str, Any]  # (filename, lineno, function, source line) of a traceback entry

# The invocation being served, for the log records' %(aws_request_id)s.
_current_request_id = ""
_current_tenant_id: str | None = None


class FaultError(Exception):
    """A failure the runtime itself detects and classifies (as opposed to an exception of user code)."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


class RuntimeAPIError(Exception):
    """The Runtime API refused us in a way that means this environment is finished."""


# --------------------------------------------------------------------------------------------------
# JSON


class _ResponseEncoder(json.JSONEncoder):
    """The stdlib encoder plus the one extra type awslambdaric accepts: Decimal (as a number).

    awslambdaric's Decimal support ends up as the float value with the C encoder (NaN as ``NaN``).
    ``decimal`` is looked up lazily: if it was never imported, nothing can be a Decimal.
    """

    def default(self, o: Any) -> Any:
        decimal = sys.modules.get("decimal")
        if decimal is not None and isinstance(o, decimal.Decimal):
            return float("nan") if o.is_nan() else float(o)
        return super().default(o)


def _make_encoder() -> json.JSONEncoder:
    """AWS's python3.12+ runtimes emit UTF-8 as is; the older ones escape it (``ensure_ascii``)."""
    execution_env = os.environ.get("AWS_EXECUTION_ENV", "")
    prefix = "AWS_Lambda_python3."
    if execution_env.startswith(prefix) and execution_env[len(prefix) :].isdigit():
        minor = int(execution_env[len(prefix) :])
    else:
        minor = sys.version_info.minor
    return _ResponseEncoder(ensure_ascii=minor < 12, allow_nan=True)


_encoder = _make_encoder()


def to_json(value: Any) -> str:
    return _encoder.encode(value)


def decode_event(body: bytes, content_type: str | None) -> Any:
    """JSON events become Python objects; anything else is handed over as bytes, as AWS does."""
    media_type = content_type.split(";", 1)[0].strip().lower() if content_type else "application/json"
    if media_type != "application/json":
        return body
    try:
        return json.loads(body)
    except Exception as exc:
        raise FaultError(UNMARSHAL_ERROR, f"Unable to unmarshal input: {exc}") from None


def encode_result(result: Any) -> tuple[bytes, str]:
    """The response body and its content type; bytes go out untouched, like awslambdaric does."""
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return _encoder.encode(result).encode("utf-8"), "application/json"
    except Exception as exc:
        raise FaultError(MARSHAL_ERROR, f"Unable to marshal response: {exc}") from None


# --------------------------------------------------------------------------------------------------
# The context object


class CognitoIdentity:
    """``context.identity``: always present, its fields None unless the invoke carried an identity."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity: dict[str, Any] | None = None) -> None:
        identity = identity or {}
        self.cognito_identity_id = identity.get("cognitoIdentityId")
        self.cognito_identity_pool_id = identity.get("cognitoIdentityPoolId")

    def __repr__(self) -> str:
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class Client:
    """``context.client_context.client``: the mobile app that made the call."""

    __slots__ = ("app_package_name", "app_title", "app_version_code", "app_version_name", "installation_id")

    def __init__(self, client: dict[str, Any]) -> None:
        self.installation_id = client.get("installation_id")
        self.app_title = client.get("app_title")
        self.app_version_name = client.get("app_version_name")
        self.app_version_code = client.get("app_version_code")
        self.app_package_name = client.get("app_package_name")

    def __repr__(self) -> str:
        return (
            f"Client([installation_id={self.installation_id},app_title={self.app_title},"
            f"app_version_name={self.app_version_name},app_version_code={self.app_version_code},"
            f"app_package_name={self.app_package_name}])"
        )


class ClientContext:
    """``context.client_context``: present only when the invoke carried a client context."""

    __slots__ = ("client", "custom", "env")

    def __init__(self, context: dict[str, Any]) -> None:
        client = context.get("client")
        self.client = Client(client) if client is not None else None
        self.custom = context.get("custom")
        self.env = context.get("env")

    def __repr__(self) -> str:
        return f"ClientContext([custom={self.custom},env={self.env},client={self.client}])"


_W3C_FIELDS = ("traceparent", "tracestate", "baggage")


class LambdaContext:
    """The second argument of the handler, with the attributes and methods AWS's runtime gives it.

    ``memory_limit_in_mb`` is a str, as AWS's runtime reads it straight from the environment.
    """

    def __init__(
        self,
        request_id: str,
        deadline_ms: int,
        invoked_function_arn: str | None,
        client_context: dict[str, Any] | None = None,
        cognito_identity: dict[str, Any] | None = None,
        tenant_id: str | None = None,
    ) -> None:
        env = os.environ
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self._w3c = _pop_w3c(client_context)
        self.client_context = ClientContext(client_context) if isinstance(client_context, dict) else None
        self.identity = CognitoIdentity(cognito_identity if isinstance(cognito_identity, dict) else None)
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the timeout, never negative."""
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def w3c(self) -> dict[str, str]:
        """The W3C trace context the caller passed in the client context (traceparent, ...)."""
        return dict(self._w3c)

    def log(self, msg: Any) -> None:
        """Write to the function's log as is (no newline added), like AWS's ``context.log``."""
        _log_stream.write(str(msg))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},"
            f"identity={self.identity},"
            f"tenant_id={self.tenant_id}])"
        )


def _pop_w3c(client_context: dict[str, Any] | None) -> dict[str, str]:
    """AWS moves ``w3c`` out of the client context into ``context.w3c()``, keeping string fields only."""
    if not isinstance(client_context, dict) or "w3c" not in client_context:
        return {}
    raw = client_context.pop("w3c")
    if not isinstance(raw, dict):
        return {}
    return {key: raw[key] for key in _W3C_FIELDS if isinstance(raw.get(key), str)}


def _parse_json_header(value: str | None, name: str) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except Exception as exc:
        raise FaultError(CONTEXT_UNMARSHAL_ERROR, f"Unable to parse {name} JSON: {exc}") from None


# --------------------------------------------------------------------------------------------------
# Logging

# Where the runtime's own log lines go: the stdout the process started with, which user code may
# redirect without hiding them (AWS writes them to a separate telemetry pipe).
_log_stream = sys.stdout

_TEXT_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
_LEVEL_NAMES = ("CRITICAL", "FATAL", "ERROR", "WARN", "WARNING", "INFO", "DEBUG", "NOTSET")
# LogRecord attributes that are not user-supplied ``extra`` fields in the JSON log format.
_RESERVED_LOG_FIELDS = frozenset(
    (
        "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
        "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated", "thread",
        "threadName", "processName", "process", "aws_request_id", "tenant_id",
    )
)  # fmt: skip


class _RequestIdFilter(logging.Filter):
    """Stamps every record with the invocation being served (empty during init)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request_id
        record.tenant_id = _current_tenant_id
        return True


class _StreamHandler(logging.Handler):
    """One write per record, always newline-terminated, so records never run into each other."""

    def __init__(self, stream: Any) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            self.stream.write(text if text.endswith("\n") else text + "\n")
        except Exception:
            self.handleError(record)


class _JsonFormatter(logging.Formatter):
    """AWS's JSON log format (``AWS_LAMBDA_LOG_FORMAT=JSON``): one object per record."""

    def format(self, record: logging.LogRecord) -> str:
        record.levelno = min(50, max(0, record.levelno)) // 10 * 10
        record.levelname = logging.getLevelName(record.levelno)
        exc_info = record.exc_info
        result: dict[str, Any] = {
            # whole seconds, as awslambdaric writes it ("%Y-%m-%dT%H:%M:%SZ")
            "timestamp": time.strftime(_DATE_FORMAT, time.gmtime(record.created)) + "Z",
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc_info[2]) if exc_info else None,
            "errorType": exc_info[0].__name__ if exc_info and exc_info[0] else None,
            "errorMessage": str(exc_info[1]) if exc_info else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if exc_info else None,
        }
        tenant_id = getattr(record, "tenant_id", None)
        if tenant_id is not None:
            result["tenantId"] = tenant_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED_LOG_FIELDS and key not in result:
                result[key] = value
        return json.dumps({k: v for k, v in result.items() if v is not None}, ensure_ascii=False) + "\n"


def _log_format_is_json() -> bool:
    return os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"


def setup_logging() -> None:
    """Configure the root logger the way AWS's runtime does, before user code can touch it.

    The level comes from ``AWS_LAMBDA_LOG_LEVEL`` (TRACE means DEBUG); unset, the root logger keeps
    Python's default (WARNING), so ``logger.info`` shows nothing, as on AWS. Timestamps are UTC for
    every formatter, AWS sets ``logging.Formatter.converter`` globally too.
    """
    logging.Formatter.converter = time.gmtime
    handler = _StreamHandler(_log_stream)
    if _log_format_is_json():
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT, _DATE_FORMAT))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    level = "DEBUG" if level == "TRACE" else level
    if level in _LEVEL_NAMES:
        root.setLevel(level)
    root.addHandler(handler)


def _indent(line: str) -> str:
    stripped = line.lstrip(" ")
    return _LOG_INDENT * (len(line) - len(stripped)) + stripped


def log_error(error: dict[str, Any]) -> None:
    """Log an error document the way AWS does: ``[ERROR] Type: message`` then the traceback.

    One write, so concurrent output can't split it; in the JSON log format, one JSON line.
    """
    if _log_format_is_json():
        # awslambdaric's key here is log_level, not level (its log records' key)
        stamped = {"timestamp": time.strftime(_DATE_FORMAT, time.gmtime()) + "Z", "log_level": "ERROR", **error}
        _log_stream.write(to_json(stamped) + "\n")
        return
    description = "[ERROR]"
    if error.get("errorType"):
        description += " " + error["errorType"]
    if error.get("errorMessage"):
        description += (":" if error.get("errorType") else "") + " " + error["errorMessage"]
    lines = [description]
    stack = error.get("stackTrace")
    if stack is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack:
            if element == "":
                lines.append("")
            else:
                lines.extend(_indent(line) for line in element.splitlines())
    _log_stream.write("\n".join(lines) + "\n")


def _runtime_log(message: str) -> None:
    """A line from the runtime client itself, in the shape AWS's C++ client gives them."""
    _log_stream.write(f"[ERROR] [{int(time.time() * 1000)}] LAMBDA_RUNTIME {message}\n")


# --------------------------------------------------------------------------------------------------
# The Runtime API client


class _NoDelayConnection(http.client.HTTPConnection):
    """A keep-alive connection with Nagle off, on every (re)connect.

    Without TCP_NODELAY a small request can wait for the peer's delayed ACK: about 40 ms per call.
    """

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _send_output(self, message_body: Any = None, encode_chunked: bool = False) -> None:
        """Headers and a bytes body in one send: one segment, one wake-up of the peer, not two."""
        # http.client's own version sends the body separately; its request buffer is `_buffer`.
        if not isinstance(message_body, bytes) or encode_chunked:
            super()._send_output(message_body, encode_chunked)  # type: ignore[misc]
            return
        buffer: list[bytes] = self._buffer  # type: ignore[attr-defined]
        buffer.extend((b"", message_body))
        request = b"\r\n".join(buffer)
        del buffer[:]
        self.send(request)


class Invocation:
    """One event from ``/invocation/next`` and its headers."""

    __slots__ = (
        "body", "client_context", "cognito_identity", "content_type", "deadline_ms",
        "invoked_function_arn", "request_id", "tenant_id", "trace_id",
    )  # fmt: skip

    def __init__(self, request_id: str, body: bytes, headers: http.client.HTTPMessage) -> None:
        self.request_id = request_id
        self.body = body
        try:
            self.deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)
        except ValueError:
            self.deadline_ms = 0
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.trace_id = headers.get("Lambda-Runtime-Trace-Id") or None
        self.client_context = headers.get("Lambda-Runtime-Client-Context") or None
        self.cognito_identity = headers.get("Lambda-Runtime-Cognito-Identity") or None
        self.tenant_id = headers.get("Lambda-Runtime-Aws-Tenant-Id") or None
        self.content_type = headers.get("Content-Type") or None


class RuntimeClient:
    """The Runtime API over one persistent HTTP/1.1 connection."""

    def __init__(self, address: str) -> None:
        self._conn = _NoDelayConnection(address)
        version = sys.version_info
        self._user_agent = f"lsim-python/{version[0]}.{version[1]}.{version[2]}"

    def _exchange(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, Any] | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request; if the connection was dropped under us, reconnect and try once more."""
        all_headers: dict[str, Any] = {"User-Agent": self._user_agent}
        if headers:
            all_headers.update(headers)
        try:
            return self._send(method, path, body, all_headers)
        except (OSError, http.client.HTTPException):
            self._conn.close()
        try:
            return self._send(method, path, body, all_headers)
        except (OSError, http.client.HTTPException) as exc:
            self._conn.close()
            raise RuntimeAPIError(f"{method} {path} failed: {exc!r}") from exc

    def _send(
        self, method: str, path: str, body: bytes | None, headers: dict[str, Any]
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        self._conn.request(method, path, body, headers)
        response = self._conn.getresponse()
        return response.status, response.headers, response.read()

    def next_invocation(self) -> Invocation:
        """Block until the next event (no timeout: the environment may be frozen in between)."""
        status, headers, body = self._exchange("GET", API_PREFIX + "/invocation/next")
        if status != 200:
            raise RuntimeAPIError(f"GET /invocation/next answered {status}: {body[:500]!r}")
        request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        if not request_id:
            raise RuntimeAPIError("GET /invocation/next answered without Lambda-Runtime-Aws-Request-Id")
        return Invocation(request_id, body, headers)

    def post_response(self, request_id: str, body: bytes, content_type: str) -> None:
        path = f"{API_PREFIX}/invocation/{request_id}/response"
        self._check(*self._exchange("POST", path, body, {"Content-Type": content_type}))

    def post_error(self, request_id: str, error: dict[str, Any], xray_cause: dict[str, Any]) -> None:
        cause = json.dumps(xray_cause).encode("ascii")  # ASCII-escaped: header values had better be
        headers = {
            "Content-Type": "application/json",
            ERROR_TYPE_HEADER: (error.get("errorType") or "Unhandled").encode("utf-8"),
            XRAY_CAUSE_HEADER: cause if len(cause) < XRAY_CAUSE_MAX_BYTES else b"",
        }
        body = to_json(error).encode("utf-8")
        self._check(*self._exchange("POST", f"{API_PREFIX}/invocation/{request_id}/error", body, headers))

    def post_init_error(self, error: dict[str, Any]) -> None:
        headers = {
            "Content-Type": "application/json",
            ERROR_TYPE_HEADER: (error.get("errorType") or "Unhandled").encode("utf-8"),
        }
        body = to_json(error).encode("utf-8")
        self._check(*self._exchange("POST", API_PREFIX + "/init/error", body, headers))

    @staticmethod
    def _check(status: int, _headers: http.client.HTTPMessage, body: bytes) -> None:
        """2xx is fine; 4xx (403 out of order, 413 too large) is logged and the loop goes on; 5xx ends us."""
        if 200 <= status < 300:
            return
        detail = body.decode("utf-8", "replace")
        if status >= 500:
            raise RuntimeAPIError(f"the Runtime API answered {status}: {detail}")
        _runtime_log(f"Failed to post handler success response. Http response code: {status}. {detail}")


# --------------------------------------------------------------------------------------------------
# Init


def configure_sys_path(task_root: str, opt_root: str) -> None:
    """Lambda's search path, made the way AWS's runtime makes it, so that it matches entry for entry.

    Python starts with ``[/var/runtime (the script's folder), python3X.zip, the standard library,
    lib-dynload, /var/lang/lib/python3.X/site-packages]``. AWS's /var/runtime/bootstrap.py then puts the
    layers' folders first unless the function set PYTHONPATH itself, then the code
    (``/var/task, /opt/python/lib/python3.X/site-packages, /opt/python``), and adds them as site folders, so
    their ``.pth`` files count (a folder that does not exist is appended again at the end, as AWS prints
    it). From python3.11 on, site-packages, where the runtime's boto3 is, comes before /var/runtime;
    up to python3.10 boto3 is in /var/runtime, ahead of site-packages
    (https://docs.aws.amazon.com/lambda/latest/dg/python-package.html#python-package-searchpath and
    python-image.html). Measured on python3.13: /var/task, /opt/python/lib/python3.13/site-packages,
    /opt/python, /var/lang/lib/python3.13/site-packages, /var/runtime, /var/lang/lib/python313.zip,
    /var/lang/lib/python3.13, /var/lang/lib/python3.13/lib-dynload, /var/lang/lib/python3.13/site-packages,
    /opt/python/lib/python3.13/site-packages, /opt/python.
    """
    import site

    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    runtime_dir = os.path.dirname(_THIS_FILE)
    if not sys.path or sys.path[0] != runtime_dir:  # started some other way than as a script
        sys.path[:] = [runtime_dir, *(p for p in sys.path if p and p != runtime_dir)]
    opt_site = os.path.join(opt_root, "python", "lib", version, "site-packages")
    opt_python = os.path.join(opt_root, "python")
    pythonpath_set = "PYTHONPATH" in os.environ
    if sys.version_info >= (3, 11):
        sys.path.insert(0, os.path.join(sys.prefix, "lib", version, "site-packages"))
    if not pythonpath_set:
        sys.path.insert(0, opt_python)
        sys.path.insert(0, opt_site)
    sys.path.insert(0, task_root)
    site.addsitedir(task_root)
    if not pythonpath_set:
        site.addsitedir(opt_site)
        site.addsitedir(opt_python)
        # What the function sees, as on AWS (configuration-envvars: PYTHONPATH is $LAMBDA_RUNTIME_DIR).
        os.environ["PYTHONPATH"] = os.environ.get("LAMBDA_RUNTIME_DIR") or runtime_dir


def add_task_dependencies(task_root: str, folder: str) -> None:
    """The process backend's stand-in for packages that `sam build` puts in /var/task: right after the code
    on sys.path (in a container they are in /var/task itself, and this is not called)."""
    if not folder:
        return
    import site

    position = sys.path.index(task_root) + 1 if task_root in sys.path else 0
    sys.path.insert(position, folder)
    site.addsitedir(folder)


def load_handler(handler: str) -> Callable[..., Any]:
    """Import the handler's module and return the function, raising FaultError as AWS classifies it."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise FaultError(MALFORMED_HANDLER_NAME, f"Bad handler '{handler}': {exc}") from None

    if module_name.split(".")[0] in sys.builtin_module_names:
        raise FaultError(
            BUILT_IN_MODULE_CONFLICT, f"Cannot use built-in module {module_name} as a handler module"
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise FaultError(IMPORT_MODULE_ERROR, f"Unable to import module '{module_name}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise FaultError(
            USER_CODE_SYNTAX_ERROR, f"Syntax error in module '{module_name}': {exc}", trace
        ) from None

    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultError(
            HANDLER_NOT_FOUND, f"Handler '{function_name}' missing on module '{module_name}'"
        ) from None


# --------------------------------------------------------------------------------------------------
# Errors


def make_error(
    message: str, error_type: str, stack: list[str] | None, request_id: str = ""
) -> dict[str, Any]:
    """The error document of the Runtime API (and of the Invoke answer)."""
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id,
        "stackTrace": stack or [],
    }


def _user_frames(tb: Any) -> list[Frame]:
    """The traceback from the first frame that isn't the runtime's own.

    Plain tuples, so ``format_list`` prints AWS's two-line frames without 3.11's ``^^^`` markers.
    """
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for index, frame in enumerate(frames):
        if frame[0] != _THIS_FILE:
            return frames[index:]
    return frames


def _xray_cause(error_type: str, message: str, frames: list[Frame]) -> dict[str, Any]:
    """The X-Ray error cause AWS's runtime sends in a header beside the error document."""
    return {
        "working_directory": os.getcwd(),
        "exceptions": [
            {
                "message": message,
                "type": error_type,
                "stack": [{"label": name, "path": path, "line": line} for path, line, name, _ in frames],
            }
        ],
        "paths": list(dict.fromkeys(path for path, _, _, _ in frames)),
    }


def error_from_exception(exc: BaseException, request_id: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """The error document and X-Ray cause for an exception: FaultError keeps its own type and trace."""
    if isinstance(exc, FaultError):
        return (
            make_error(exc.message, exc.error_type, exc.trace, request_id),
            _xray_cause("LambdaValidationError", exc.message, []),
        )
    frames = _user_frames(exc.__traceback__)
    error_type = type(exc).__name__
    return (
        make_error(str(exc), error_type, traceback.format_list(frames), request_id),
        _xray_cause(error_type, str(exc), frames),
    )


# --------------------------------------------------------------------------------------------------
# The loop


def handle_invocation(client: RuntimeClient, handler: Callable[..., Any], invocation: Invocation) -> None:
    """Run the handler on one event and post its outcome."""
    global _current_request_id, _current_tenant_id
    request_id = invocation.request_id
    _current_request_id = request_id
    _current_tenant_id = invocation.tenant_id
    if invocation.trace_id is not None:
        os.environ["_X_AMZN_TRACE_ID"] = invocation.trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)

    try:
        context = LambdaContext(
            request_id,
            invocation.deadline_ms,
            invocation.invoked_function_arn,
            _parse_json_header(invocation.client_context, "Client Context"),
            _parse_json_header(invocation.cognito_identity, "Cognito Identity"),
            invocation.tenant_id,
        )
        event = decode_event(invocation.body, invocation.content_type)
        body, content_type = encode_result(handler(event, context))
    except Exception as exc:
        error, cause = error_from_exception(exc, request_id)
    else:
        client.post_response(request_id, body, content_type)
        return
    log_error(error)
    client.post_error(request_id, error, cause)


def _exit_on_sigterm(_signum: int, _frame: Any) -> None:
    """The environment is shutting down: leave quietly (user code may install its own handler).

    os._exit, not sys.exit: the handler can run inside a finalizer (an HTTPResponse being collected), where
    a SystemExit is printed as "Exception ignored" and swallowed, and the runtime would go on waiting."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def start_debugger(where: str) -> None:
    """`lsim ... --debug-port`: listen for a debugger (DAP, debugpy) and wait for it to attach before init,
    so breakpoints anywhere in the function's code hold. `where` is debugpy's folder and the port to listen
    on; debugpy is imported from that folder, which then leaves sys.path again (the function's stays AWS's)."""
    folder, _, port = where.rpartition(":")
    sys.path.insert(0, folder)
    try:
        import debugpy  # type: ignore[import-not-found]
    finally:
        sys.path.remove(folder)
    debugpy.listen(("0.0.0.0", int(port)))
    debugpy.wait_for_client()


def main() -> None:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if debugger := os.environ.pop("_LSIM_DEBUG", ""):  # lsim's private variable, hidden from user code
        start_debugger(debugger)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(write_through=True)  # what -u does, should we be started without it

    task_root = os.environ.get("LAMBDA_TASK_ROOT") or "/var/task"
    # lsim's private variable: read, then hidden from user code, which on AWS never sees it.
    configure_sys_path(task_root, os.environ.pop("_LSIM_OPT_ROOT", "") or "/opt")
    add_task_dependencies(task_root, os.environ.pop("_LSIM_TASK_DEPENDENCIES", ""))
    if os.path.isdir(task_root) and os.getcwd() != task_root:
        os.chdir(task_root)  # AWS starts the runtime in /var/task; relative paths in user code rely on it
    setup_logging()
    client = RuntimeClient(os.environ.get("AWS_LAMBDA_RUNTIME_API") or DEFAULT_RUNTIME_API)

    try:
        try:
            handler = load_handler(os.environ.get("_HANDLER", ""))
        except Exception as exc:
            error, _ = error_from_exception(exc)
            logging.warning(UNHANDLED_EXCEPTION_WARNING)
            log_error(error)
            # Posted while the exception is still being handled: APM agents patch this call and read it.
            client.post_init_error(error)
            sys.exit(1)

        while True:
            handle_invocation(client, handler, client.next_invocation())
    except RuntimeAPIError as exc:
        sys.stderr.write(f"lsim bootstrap: {exc}; exiting\n")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
