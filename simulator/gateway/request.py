"""One HTTP request as the front door received it, and the answer it gives: plain data, so the server, the
load test's model and the tests share the same wire-format code without an HTTP library."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GatewayRequest:
    """A request as API Gateway or a function URL sees it: nothing decoded, nothing merged, nothing dropped.

    The event builders decode and merge the way each kind of front door does; keeping the raw form here is
    what lets one request become a REST (casing kept, repeats listed), an HTTP API (lower-cased, comma-joined)
    or a function URL event."""

    method: str  # "GET"
    raw_path: str  # as sent, percent-encoded, no query: "/orders/a%2Fb"
    raw_query: str  # after "?", without it; "" when none; the fragment already dropped
    headers: tuple[tuple[str, str], ...]  # arrival order, the client's casing, repeats kept
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"
    host: str = ""  # the Host header's value
    received_ms: int = 0  # epoch ms of arrival: requestTimeEpoch / timeEpoch
    request_id: str = ""  # a fresh uuid4 per request

    def header(self, name: str) -> str | None:
        """The first value of a header, its name matched case-insensitively (HTTP names are)."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        """Every value of a header, in arrival order (Cookie, Accept... may come on several lines)."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


@dataclass(frozen=True)
class GatewayAnswer:
    """What the client gets back: status, headers (repeats allowed: set-cookie, multi-value headers), body.

    Content-Length is the server's to add: it always equals len(body)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header, its name matched case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None
