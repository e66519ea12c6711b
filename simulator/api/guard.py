"""Who may drive `lsim serve`: AWS SDKs and the AWS CLI, never a web page the developer happens to open.

A page can reach a loopback port in two ways, and both are refused before a request is routed:
  - a cross-origin request: the browser sends `Origin` (and `Sec-Fetch-Site`), and a preflight `OPTIONS`
    for anything but the simplest requests; SDKs send none of these;
  - DNS rebinding: the page's own name is made to resolve to 127.0.0.1, so the request is same-origin for
    the browser but carries `Host: attacker.example`; SDKs send the name or address they were given.
On top, every request must carry a SigV4 Authorization header (sigv4.py), which a browser cannot add to a
cross-origin request without the preflight lsim refuses.

Each check is a dictionary lookup and a few string comparisons: they run on every warm invoke.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from ..errors import LambdaError

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
WILDCARDS = ("0.0.0.0", "::", "")


class AccessDeniedException(LambdaError):
    """A request lsim refuses to serve, whatever its credentials (Lambda's common errors: 403)."""

    type = "AccessDeniedException"
    status = 403


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _is_loopback_literal(name: str) -> bool:
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


class Guard:
    """The Host and Origin rules of one server. Until `bind` says which address and port the server
    listens on, any loopback name is accepted on any port (an app made with `make_app` alone)."""

    def __init__(self, allow_hosts: Iterable[str] = ()) -> None:
        self.allow_hosts = tuple(name.strip().lower() for name in allow_hosts if name.strip())
        self.port: int | None = None
        self.wildcard = False
        self.hosts: frozenset[str] = frozenset()
        self.origins: frozenset[str] = frozenset()

    def bind(self, host: str, port: int) -> None:
        """Accept the loopback names, the address listened on and the `--allow-host` names, each with
        the port (bare too when the port is 80, as clients leave it out then)."""
        self.port = port
        self.wildcard = host in WILDCARDS
        names = {*LOOPBACK_NAMES} if self.wildcard else {*LOOPBACK_NAMES, _bracketed(host.lower())}
        hosts: set[str] = set()
        for name in (*names, *self.allow_hosts):
            if name.rsplit(":", 1)[-1].isdigit() and not name.endswith("]"):
                hosts.add(name)  # an --allow-host with its own port (a proxy in front): as given
                continue
            name = _bracketed(name)
            hosts.add(f"{name}:{port}")
            if port == 80:
                hosts.add(name)
        self.hosts = frozenset(hosts)
        self.origins = frozenset(f"http://{host}" for host in hosts)

    def check(self, method: str, headers: Mapping[str, str]) -> None:
        """Raise AccessDeniedException for a browser's cross-origin request or a foreign Host."""
        refusal = self.host_refusal(headers.get("Host"))
        if refusal is not None:
            raise AccessDeniedException(refusal)
        origin = headers.get("Origin")
        if origin is not None and origin not in self.origins and not self._origin_allowed(origin.lower()):
            raise AccessDeniedException(
                f"lsim serve refuses cross-origin requests from browsers (Origin: {origin}): a web page must "
                f"not drive your functions. Call it from an AWS SDK or the AWS CLI"
            )
        if method == "OPTIONS":
            raise AccessDeniedException(
                "lsim serve does not answer CORS preflight requests: browsers' cross-origin calls are refused"
            )
        site = headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            raise AccessDeniedException(
                f"lsim serve refuses requests a browser makes for another site (Sec-Fetch-Site: {site})"
            )

    def host_refusal(self, host: str | None) -> str | None:
        """Why a Host header is refused (a foreign name), or None when it names this server. The check alone
        serves the HTTP front door, which takes browsers' cross-origin requests."""
        if host is None or host in self.hosts or self._host_allowed(host.lower()):
            return None
        return (
            f"lsim serve refuses Host '{host}': only this machine's loopback names and the address it listens "
            "on are served, so that a web page cannot reach it through DNS rebinding. A name of your own (a "
            "proxy, /etc/hosts): `lsim serve --allow-host NAME`"
        )

    def _host_allowed(self, host: str) -> bool:
        """The slow path, for what the precomputed set does not hold: any loopback address (127.0.0.0/8),
        and any IP address when listening on all of them (rebinding needs a name, never an address)."""
        if host in self.hosts:
            return True
        name, port = _split_port(host)
        if self.port is not None and port != self.port:
            return False
        if self.port is None and name in LOOPBACK_NAMES:
            return True
        return _is_loopback_literal(name) or (self.wildcard and _is_ip_literal(name))

    def _origin_allowed(self, origin: str) -> bool:
        scheme, _, host = origin.partition("://")
        return scheme == "http" and self._host_allowed(host)


def _split_port(host: str) -> tuple[str, int | None]:
    if host.endswith("]") or ":" not in host:
        return host, 80
    name, _, port = host.rpartition(":")
    return name, int(port) if port.isdigit() else None
