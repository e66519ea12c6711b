"""`lsim load-test --url URL` (real mode): the load goes through an HTTP front door (`lsim serve`'s API routes
or a function URL), as a browser's or a client's requests would, and each answer is counted by its status.

`HttpTarget.invoke` is what the load runner calls (loadtest/runner.py's InvokeTarget). A 429 is a throttle
(a function URL passes Lambda's throttle on; API Gateway's own throttle is a 429 too); any other status from
400 up is counted as an error named by its status ("HTTP 502"), everything below 400 as a success. Requests
go on keep-alive connections of a small pool (connections.py); `statuses` counts every answer.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..errors import TooManyRequestsException
from ..invocation import InvocationResult, payload_bytes
from .connections import Connections
from .plan import LoadTestError


class HttpTarget:
    """Sends `method` requests to `url` (the payload as the body); `close()` closes the pooled connections."""

    def __init__(self, url: str, method: str = "GET", headers: Mapping[str, str] | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise LoadTestError(
                f"--url {url}: give an http:// URL of lsim serve's front door (http://127.0.0.1:3000/path)"
            )
        self.url = url
        self.method = method.upper()
        self.host, self.port = parts.hostname, parts.port or 80
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.headers = {"Host": f"{host}:{self.port}" if parts.port else host, **dict(headers or {})}
        self.statuses: Counter[int] = Counter()
        self.connections = Connections(self.host, self.port)

    async def invoke(
        self,
        function_name: str,
        payload: bytes | str | Any = b"",
        *,
        qualifier: str | None = None,
        invocation_type: str = "RequestResponse",
        complete_logs: bool | None = None,
    ) -> InvocationResult:
        body = payload_bytes(payload) if self.method not in ("GET", "HEAD") or payload not in (b"", b"{}") else b""
        headers = {**self.headers, "Content-Length": str(len(body))}
        head = "".join([f"{self.method} {self.target} HTTP/1.1\r\n", *(f"{k}: {v}\r\n" for k, v in headers.items()),
                        "\r\n"])  # fmt: skip
        status, answer_headers, answer = await self.connections.exchange(head.encode("latin-1") + body)
        self.statuses[status] += 1
        request_id = answer_headers.get("x-amzn-requestid") or answer_headers.get("apigw-requestid", "")
        if status == 429:
            raise TooManyRequestsException("HTTP 429")
        if status >= 400:
            error = {"errorType": f"HTTP {status}", "errorMessage": answer[:200].decode("utf-8", "replace")}
            return InvocationResult(request_id, status, json.dumps(error).encode(), "", function_error="Unhandled")
        return InvocationResult(request_id, status, answer, "")

    def status_line(self) -> str:
        """`answers by status: 200 1,234, 429 56, 500 3`."""
        counts = ", ".join(f"{status} {count:,}" for status, count in sorted(self.statuses.items()))
        return f"answers by status: {counts or 'none'}"

    async def close(self) -> None:
        await self.connections.close()
