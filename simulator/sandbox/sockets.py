"""Which container a TCP connection comes from, when several share one network namespace.

The execution environments of a Hyperplane ENI join the ENI's namespace, so their connections to the Runtime
API all come from the ENI's address. The kernel still knows whose they are: the connection's client end is a
socket in the namespace's TCP table (`/proc/<pid>/net/tcp`), and the socket's inode is held by a file
descriptor of exactly one container's processes (`/proc/<pid>/fd`, the processes listed by the container's
cgroup). Reading another user's `/proc/<pid>/fd` needs root, so without it there is no check (None).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")

ConnectionCheck = Callable[[tuple[str, int], tuple[str, int]], bool]


def owner_check(pid: int) -> ConnectionCheck | None:
    """A check of whether a connection ((peer host, port), (local host, port)) was made by a process of the
    container whose first process is `pid`; None when this process may not look (not root) or the container's
    cgroup is not where Docker puts it."""
    procs = _cgroup_procs(pid)
    if procs is None:
        return None
    try:
        os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    tables = (Path(f"/proc/{pid}/net/tcp"), Path(f"/proc/{pid}/net/tcp6"))

    def owns(peer: tuple[str, int], local: tuple[str, int]) -> bool:
        inode = _socket_inode(tables, peer, local)
        if inode is None:
            return False
        link = f"socket:[{inode}]"
        try:
            pids = procs.read_text().split()
        except OSError:
            return False
        for process in pids:
            try:
                fds = os.listdir(f"/proc/{process}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{process}/fd/{fd}") == link:
                        return True
                except OSError:
                    continue
        return False

    return owns


def _cgroup_procs(pid: int) -> Path | None:
    """The `cgroup.procs` file listing the processes of `pid`'s container (cgroup v1 or v2)."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            candidate = CGROUP_ROOT / "pids" / path.lstrip("/") / "cgroup.procs"
        elif controllers == "" and (CGROUP_ROOT / "cgroup.controllers").exists():
            candidate = CGROUP_ROOT / path.lstrip("/") / "cgroup.procs"
        else:
            continue
        if candidate.exists():
            return candidate
    return None


def _socket_inode(tables: tuple[Path, Path], peer: tuple[str, int], local: tuple[str, int]) -> str | None:
    """The inode of the client socket of connection peer -> local, from the namespace's TCP tables."""
    try:
        client = _hex4(peer[0], peer[1])
        server = _hex4(local[0], local[1])
    except OSError:
        return None
    for table, wanted in ((tables[0], f" {client} {server} "), (tables[1], None)):
        if wanted is None:  # an IPv6 socket speaking IPv4 shows ::ffff:a.b.c.d
            wanted = f" {_mapped(client)} {_mapped(server)} "
        try:
            text = table.read_text()
        except OSError:
            continue
        at = text.find(wanted)
        if at >= 0:
            end = text.find("\n", at)
            fields = text[at : end if end >= 0 else None].split()
            return (
                fields[8] if len(fields) > 8 else None
            )  # after local, remote: st queues tr retrnsmt uid timeout inode
    return None


def _hex4(host: str, port: int) -> str:
    """An IPv4 endpoint as the kernel prints it: the address as a native-order 32-bit word, the port."""
    return f"{int.from_bytes(socket.inet_aton(host), sys.byteorder):08X}:{port:04X}"


def _mapped(endpoint: str) -> str:
    address, port = endpoint.split(":")
    mapped = socket.inet_pton(
        socket.AF_INET6, "::ffff:" + socket.inet_ntoa(int(address, 16).to_bytes(4, sys.byteorder))
    )
    words = [int.from_bytes(mapped[i : i + 4], sys.byteorder) for i in range(0, 16, 4)]
    return "".join(f"{w:08X}" for w in words) + ":" + port
