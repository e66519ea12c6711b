"""A VPC function reaches only what its security groups and routes allow; the host is not in the VPC.

The test runs two servers of its own on this machine: one bound to the VPC router's address (the host's side
of the VPC network, where lsim's Runtime API listens), one on 0.0.0.0 at a random port. A function whose
security group allows no outbound traffic reaches neither; a function in a subnet without NAT, all outbound
allowed, reaches no host address either, while its Runtime API answers and the VPC's database (which its
group may reach) answers too. Connections time out after 1.5 s. Addresses: this machine's own, and the VPC
network and containers lsim creates for the test."""

from __future__ import annotations

import json
import socket
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator.blocking import BlockingSimulator
from simulator.project import load_project
from simulator.sandbox.network import host_addresses

from .test_vpc_docker import BASE_IMAGE, PROBE, SERVER, _free_vpc_cidr

pytestmark = pytest.mark.docker

PROBES = (
    PROBE
    + """

def probe_all(event, context):
    return {f"{host}:{port}": handler({"host": host, "port": port}, context) for host, port in event["targets"]}
"""
)


def _function(name: str, subnet: str, group: str) -> str:
    return textwrap.dedent(
        f"""
        [functions.{name}]
        handler = "probe.probe_all"
        runtime = "python3.11"
        code = "src"
        timeout = 60
        vpc = {{ subnets = ["{subnet}"], security_groups = ["{group}"] }}
        """
    )


@pytest.fixture(scope="module")
def vpc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    cidr = _free_vpc_cidr()
    net = ".".join(str(cidr.network_address).split(".")[:2])
    body = (
        _function("closed", "subnet-private", "sg-closed")
        + _function("open", "subnet-private", "sg-open")
        + textwrap.dedent(
            f"""
            [vpcs.main]
            cidr = "{cidr}"

            [[vpcs.main.subnets]]
            id = "subnet-private"
            cidr = "{net}.1.0/24"
            availability_zone = "us-east-1a"

            [[vpcs.main.security_groups]]
            id = "sg-closed"
            egress = []

            [[vpcs.main.security_groups]]
            id = "sg-open"

            [[vpcs.main.security_groups]]
            id = "sg-db"
            ingress = [{{ port = 5432, security_group = "sg-open" }}]

            [[vpcs.main.resources]]
            name = "db"
            image = "{BASE_IMAGE}"
            command = {json.dumps(["python3", "-c", SERVER, "db", "5432"])}
            subnet = "subnet-private"
            ip = "{net}.1.10"
            security_groups = ["sg-db"]
            """
        )
    )
    folder = tmp_path_factory.mktemp("vpc-host")
    (folder / "src").mkdir()
    (folder / "src" / "probe.py").write_text(PROBES)
    (folder / "lsim.toml").write_text(body)
    with BlockingSimulator(load_project(Path(folder)), backend="docker") as lsim:
        for name in ("closed", "open"):
            assert lsim.call(lsim.simulator.wait_function_active(name, 300)) == ("Active", None, None)
        yield {"lsim": lsim, "router": str(cidr.network_address + 1), "db": f"{net}.1.10"}


def _serve(host: str) -> tuple[socket.socket, int]:
    """A server of the test's own: greets each connection with "host"."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    listener.listen()

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed
                return
            with connection:
                connection.sendall(b"host")

    threading.Thread(target=accept, daemon=True).start()
    return listener, listener.getsockname()[1]


@pytest.fixture(scope="module")
def host_services(vpc: dict[str, Any]) -> Iterator[list[tuple[str, int]]]:
    """Where the host serves: the VPC router's address, and every address of the host at a 0.0.0.0 port."""
    on_router, router_port = _serve(vpc["router"])
    everywhere, port = _serve("0.0.0.0")
    targets = [(vpc["router"], router_port), (vpc["router"], port)]
    targets += [(address, port) for address in host_addresses() if address != vpc["router"]]
    try:
        yield targets
    finally:
        on_router.close()
        everywhere.close()


def test_the_servers_answer_on_the_host(host_services: list[tuple[str, int]]) -> None:
    for host, port in host_services:  # what the functions must not reach is really there
        with socket.create_connection((host, port), timeout=2) as connection:
            assert connection.recv(10) == b"host"


def test_a_function_allowed_no_outbound_traffic_reaches_no_host_service(
    vpc: dict[str, Any], host_services: list[tuple[str, int]]
) -> None:
    result = vpc["lsim"].invoke("closed", {"targets": host_services})
    assert result.error is None, result  # its Runtime API answers
    reached = {target: seen for target, seen in result.payload.items() if seen["connected"]}
    assert reached == {}


def test_a_function_without_nat_reaches_the_vpc_but_no_host_service(
    vpc: dict[str, Any], host_services: list[tuple[str, int]]
) -> None:
    result = vpc["lsim"].invoke("open", {"targets": [*host_services, (vpc["db"], 5432)]})
    assert result.error is None, result
    seen_by_target = result.payload
    database = seen_by_target.pop(f"{vpc['db']}:5432")
    assert database["connected"] and database["said"] == "db:5432"  # what its security group allows
    reached = {target: seen for target, seen in seen_by_target.items() if seen["connected"]}
    assert reached == {}


def test_more_environments_than_reserved_ports_get_more_ports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When every Runtime API port reserved for the VPC is taken, lsim reserves more and opens them in the
    ENIs' filters: three environments at once with one port reserved up front."""
    import simulator.services.vpcs as vpcs

    monkeypatch.setattr(vpcs, "RUNTIME_API_PORTS_PER_VPC", 1)
    cidr = _free_vpc_cidr()
    net = ".".join(str(cidr.network_address).split(".")[:2])
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "probe.py").write_text(
        "import time\n\ndef probe_all(event, context):\n    time.sleep(2)\n    return 'ok'\n"
    )
    (tmp_path / "lsim.toml").write_text(
        _function("busy", "subnet-private", "sg-closed")
        + textwrap.dedent(
            f"""
            [vpcs.main]
            cidr = "{cidr}"

            [[vpcs.main.subnets]]
            id = "subnet-private"
            cidr = "{net}.1.0/24"
            availability_zone = "us-east-1a"

            [[vpcs.main.security_groups]]
            id = "sg-closed"
            egress = []
            """
        )
    )
    with BlockingSimulator(load_project(tmp_path), backend="docker") as lsim:
        assert lsim.call(lsim.simulator.wait_function_active("busy", 300)) == ("Active", None, None)
        results: list[Any] = []
        callers = [threading.Thread(target=lambda: results.append(lsim.invoke("busy", {}).payload)) for _ in range(3)]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join(120)
        assert results == ["ok", "ok", "ok"]
        gateway = str(cidr.network_address + 1)
        assert len(lsim.simulator.runtime_api.reserved(gateway)) >= 3
