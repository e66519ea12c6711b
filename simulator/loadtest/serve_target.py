"""`lsim load-test` (real mode) through a running `lsim serve`: the load test's invocations go to the serve's
warm environments and its one concurrency book, as Invoke requests in Lambda's wire format.

`ServeTarget.invoke` is what the load runner calls (loadtest/runner.py's InvokeTarget): each request on a
keep-alive connection of a small pool (connections.py), answered as an InvocationResult, a 429 as
TooManyRequestsException with its Reason, another error as the LambdaError AWS names. The serve adds the
REPORT line's figures in `X-Lsim-Report` when asked (`X-Lsim-Report: 1`), so the report's Duration, Init
Duration and cold starts are the serve's own measures.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

from ..errors import LambdaError, TooManyRequestsException
from ..invocation import InvocationResult, Report, payload_bytes
from ..through_serve.client import TOKEN_HEADER, sign
from ..through_serve.record import ServeRecord
from .connections import Connections

REPORT_HEADER = "X-Lsim-Report"


class ServeError(LambdaError):
    """An error the serve answered, with AWS's type and status as they came."""

    def __init__(self, type_: str, status: int, message: str) -> None:
        super().__init__(message)
        self.type = type_
        self.status = status


class ServeTarget:
    """Invokes through one serve; `close()` closes the pooled connections."""

    def __init__(self, record: ServeRecord) -> None:
        self.record = record
        self.connections = Connections(record.address, record.port)

    async def invoke(
        self,
        function_name: str,
        payload: bytes | str | Any = b"",
        *,
        qualifier: str | None = None,
        invocation_type: str = "RequestResponse",
        complete_logs: bool | None = None,
    ) -> InvocationResult:
        body = payload_bytes(payload)
        path = f"/2015-03-31/functions/{quote(function_name, safe='')}/invocations"
        query = f"Qualifier={quote(qualifier, safe='')}" if qualifier is not None else ""
        record = self.record
        address = f"[{record.address}]" if ":" in record.address else record.address
        headers = {
            "Host": f"{address}:{record.port}",
            "X-Amz-Invocation-Type": invocation_type,
            TOKEN_HEADER: record.token,
            REPORT_HEADER: "1",
            "Content-Length": str(len(body)),
        }
        headers = sign(record, path, query, headers, body, time.time())
        target = f"{path}?{query}" if query else path
        head = "".join([f"POST {target} HTTP/1.1\r\n", *(f"{k}: {v}\r\n" for k, v in headers.items()), "\r\n"])
        status, answer_headers, answer = await self.connections.exchange(head.encode("latin-1") + body)
        return _result(status, answer_headers, answer)

    async def close(self) -> None:
        await self.connections.close()


def _result(status: int, headers: dict[str, str], body: bytes) -> InvocationResult:
    request_id = headers.get("x-amzn-requestid", "")
    if status >= 300:
        error_type = headers.get("x-amzn-errortype", "ServiceException").partition(":")[0]
        try:
            members = json.loads(body or b"{}")
        except ValueError:
            members = {}
        if error_type == TooManyRequestsException.type:
            raise TooManyRequestsException(str(members.get("Reason", "")), int(headers.get("retry-after", "1") or 1))
        raise ServeError(error_type, status, str(members.get("message") or members.get("Message") or ""))
    figures = json.loads(headers.get(REPORT_HEADER.lower(), "null") or "null")
    report = None
    if figures:
        report = Report(
            request_id,
            figures["duration_ms"],
            figures["memory_size_mb"],
            figures["max_memory_used_mb"],
            figures.get("init_duration_ms"),
            figures.get("status"),
            figures.get("error_type"),
        )
    return InvocationResult(
        request_id,
        status,
        body,
        headers.get("x-amz-executed-version", "$LATEST"),
        function_error=headers.get("x-amz-function-error"),
        report=report,
        cold_start=bool(figures and figures.get("cold_start")),
    )
