"""A small Lambda API client for `lsim invoke` through a running `lsim serve`: one Invoke request in AWS's
wire format (REST path, SigV4, `X-Amz-*` headers), with two lsim headers that only this client sends:

- `X-Lsim-Serve-Token`: the token of the serve the record names; a serve that is not that one answers 421
  before running anything (a record left by a serve that died, whose port another serve took since);
- `X-Lsim-Log: complete`: the whole log, not Tail's last 4 KB, as `lsim invoke` prints it in process; the
  answer's body is then the log's bytes (`X-Lsim-Log-Length` of them) followed by the payload.

Standard library only (http.client, hmac): importing it must cost `lsim invoke` next to nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import socket
import time
from urllib.parse import quote

from .record import ServeRecord

TOKEN_HEADER = "X-Lsim-Serve-Token"
LOG_HEADER = "X-Lsim-Log"
LOG_LENGTH_HEADER = "X-Lsim-Log-Length"
COMPLETE_LOG = "complete"
MISDIRECTED = 421  # RFC 9110: this server is not the one the request is meant for
CONNECT_TIMEOUT_S = 2.0
HEAD_MAX_BYTES = 64 * 1024
#: credentials to sign with when the serve accepts any (it checks the header's shape, not the signature)
ANY_ACCESS_KEY_ID, ANY_SECRET = "lsim-cli", "lsim-cli"


class ServeUnreachable(Exception):
    """The serve's port does not answer: nothing was sent, the invocation can run elsewhere."""


class ServeLost(Exception):
    """The connection broke after the request was sent: the invocation may have run."""


class Answer:
    """Invoke's HTTP answer: status, headers (lower-case names) and body."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def error_type(self) -> str:
        return self.headers.get("x-amzn-errortype", "").partition(":")[0]

    def error_members(self) -> dict[str, str]:
        try:
            shape = json.loads(self.body or b"{}")
        except ValueError:
            return {}
        return shape if isinstance(shape, dict) else {}

    @property
    def error_message(self) -> str:
        members = self.error_members()
        return str(members.get("message") or members.get("Message") or "")

    def log_and_payload(self) -> tuple[bytes, bytes]:
        """(log, payload) of a 200 answer to a request for the complete log."""
        length = int(self.headers.get(LOG_LENGTH_HEADER.lower(), "0") or 0)
        return self.body[:length], self.body[length:]


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def sign(
    record: ServeRecord,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    now: float,
    service: str = "lambda",
) -> dict[str, str]:
    """`headers` with X-Amz-Date, X-Amz-Content-Sha256 and a SigV4 Authorization added
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html). `path` and `query` are
    as sent (percent-encoded once)."""
    access_key_id = record.access_key_id or ANY_ACCESS_KEY_ID
    secret = record.secret_access_key or ANY_SECRET
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    date = amz_date[:8]
    payload_hash = hashlib.sha256(body).hexdigest()
    signed = {**headers, "X-Amz-Date": amz_date, "X-Amz-Content-Sha256": payload_hash}
    names = sorted(name.lower() for name in signed)
    values = {name.lower(): " ".join(value.split()) for name, value in signed.items()}
    pairs = sorted(pair.split("=", 1) for pair in query.split("&") if pair)
    canonical = "\n".join([
        "POST",
        quote(path, safe="/~"),  # the path as sent, encoded once more (every service but S3)
        "&".join(f"{name}={value}" for name, value in pairs),
        *(f"{name}:{values[name]}" for name in names),
        "",
        ";".join(names),
        payload_hash,
    ])  # fmt: skip
    scope = f"{date}/{record.region}/{service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), date), record.region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    signed["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return signed


def invoke(
    record: ServeRecord, function_name: str, payload: bytes, qualifier: str | None, tenant_id: str | None = None
) -> Answer:
    """One synchronous Invoke through the serve, asking for the complete log. HTTP/1.1 on a plain socket,
    one request per connection: http.client alone would cost `lsim invoke` 30 ms of imports."""
    path = f"/2015-03-31/functions/{quote(function_name, safe='')}/invocations"
    query = f"Qualifier={quote(qualifier, safe='')}" if qualifier is not None else ""
    address = f"[{record.address}]" if ":" in record.address else record.address
    headers = {
        "Host": f"{address}:{record.port}",
        "X-Amz-Invocation-Type": "RequestResponse",
        "X-Amz-Log-Type": "None",
        LOG_HEADER: COMPLETE_LOG,
        TOKEN_HEADER: record.token,
        "Content-Length": str(len(payload)),
    }
    if tenant_id is not None:
        headers["X-Amz-Tenant-Id"] = tenant_id  # Invoke's TenantId
    headers = sign(record, path, query, headers, payload, time.time())
    target = f"{path}?{query}" if query else path
    head = "".join([f"POST {target} HTTP/1.1\r\n", *(f"{k}: {v}\r\n" for k, v in headers.items()),
                    "Connection: close\r\n\r\n"])  # fmt: skip
    try:
        connection = socket.create_connection((record.address, record.port), timeout=CONNECT_TIMEOUT_S)
    except OSError as error:
        raise ServeUnreachable(str(error)) from None
    with connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.settimeout(None)  # the function's timeout bounds the answer, not this client
        # refused before the whole body went (e.g. 413): the answer may be waiting all the same
        with contextlib.suppress(OSError):
            connection.sendall(head.encode("latin-1") + payload)
        try:
            return _read_answer(connection)
        except (OSError, ValueError) as error:
            raise ServeLost(str(error) or type(error).__name__) from None


def sqs_call(record: ServeRecord, operation: str, members: dict[str, object]) -> Answer:
    """One SQS request (JSON protocol) to the serve, as boto3 sends it: `lsim sqs` through a running serve."""
    body = json.dumps(members).encode()
    address = f"[{record.address}]" if ":" in record.address else record.address
    headers = {
        "Host": f"{address}:{record.port}",
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"AmazonSQS.{operation}",
        TOKEN_HEADER: record.token,
        "Content-Length": str(len(body)),
    }
    headers = sign(record, "/", "", headers, body, time.time(), service="sqs")
    head = "".join(["POST / HTTP/1.1\r\n", *(f"{k}: {v}\r\n" for k, v in headers.items()), "Connection: close\r\n\r\n"])
    try:
        connection = socket.create_connection((record.address, record.port), timeout=CONNECT_TIMEOUT_S)
    except OSError as error:
        raise ServeUnreachable(str(error)) from None
    with connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.settimeout(None)  # a long poll answers within its WaitTimeSeconds
        try:
            connection.sendall(head.encode("latin-1") + body)
            return _read_answer(connection)
        except (OSError, ValueError) as error:
            raise ServeLost(str(error) or type(error).__name__) from None


def _read_answer(connection: socket.socket) -> Answer:
    """Status line, headers and a Content-Length body (or everything until the server closes)."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = connection.recv(65536)
        if not chunk:
            raise ValueError("the connection closed before an answer")
        buffer += chunk
        if len(buffer) > HEAD_MAX_BYTES and b"\r\n\r\n" not in buffer:
            raise ValueError("an answer's head over 64 KB")
    head, _, body = buffer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise ValueError("a chunked answer: lsim serve sends Content-Length")
    length = headers.get("content-length")
    chunks = [body]
    received = len(body)
    while length is None or received < int(length):
        chunk = connection.recv(1 << 20)
        if not chunk:
            if length is not None:
                raise ValueError(f"the answer ended after {received} of {length} bytes")
            break
        chunks.append(chunk)
        received += len(chunk)
    return Answer(status, headers, b"".join(chunks))
