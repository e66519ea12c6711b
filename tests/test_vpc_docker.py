"""VPCs with real containers: security groups enforced by packet filters, NAT or no internet, shared
Hyperplane ENIs, Pending while they are created, a /28 subnet running out, and nothing left behind.

Every address here belongs to a network these tests (through lsim) create: a random 10.x.0.0/16 VPC that no
Docker network uses, and lsim's own "internet" network with a container of the test's standing for the
internet. The handler's socket timeout is 1.5 s, so a blocked connection fails fast."""

from __future__ import annotations

import ipaddress
import json
import random
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator import shapes
from simulator.blocking import BlockingSimulator
from simulator.errors import ResourceConflictException, SubnetIPAddressLimitReachedException
from simulator.project import load_project
from simulator.sandbox.network import INTERNET_NETWORK, ensure_internet_network

pytestmark = pytest.mark.docker

BASE_IMAGE = "lsim/base:bookworm"  # has python3; the servers below use nothing else

PROBE = '''
import socket


def handler(event, context):
    """Connect to host:port, read what the server says; report how it went."""
    try:
        with socket.create_connection((event["host"], event["port"]), timeout=1.5) as connection:
            return {"connected": True, "said": connection.recv(100).decode(), "from": connection.getsockname()[0]}
    except OSError as exc:
        return {"connected": False, "error": type(exc).__name__}
'''

# A TCP server that greets each connection with its name and the port, on every port given.
SERVER = (
    "import socket, sys, threading\n"
    "def serve(port):\n"
    "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "    s.bind(('0.0.0.0', port)); s.listen()\n"
    "    while True:\n"
    "        c, _ = s.accept(); c.sendall(f'{sys.argv[1]}:{port}'.encode()); c.close()\n"
    "for p in sys.argv[2:]: threading.Thread(target=serve, args=(int(p),)).start()\n"
)


def _free_vpc_cidr() -> ipaddress.IPv4Network:
    """A 10.x.0.0/16 that no Docker network on this machine overlaps."""
    import docker

    client = docker.from_env()
    used = []
    for network in client.networks.list():
        for config in network.attrs.get("IPAM", {}).get("Config") or []:
            if config.get("Subnet") and ":" not in config["Subnet"]:
                used.append(ipaddress.IPv4Network(config["Subnet"]))
    client.close()
    candidates = [ipaddress.IPv4Network(f"10.{n}.0.0/16") for n in range(64, 250)]
    free = [c for c in candidates if not any(c.overlaps(u) for u in used)]
    return random.choice(free)


def _function(name: str, subnets: list[str], groups: list[str]) -> str:
    return textwrap.dedent(
        f"""
        [functions.{name}]
        handler = "probe.handler"
        runtime = "python3.11"
        code = "src"
        vpc = {{ subnets = {json.dumps(subnets)}, security_groups = {json.dumps(groups)} }}
        """
    )


def _write_project(folder: Path, body: str) -> Path:
    (folder / "src").mkdir(parents=True, exist_ok=True)
    (folder / "src" / "probe.py").write_text(PROBE)
    (folder / "lsim.toml").write_text(body)
    return folder


def _session_leftovers(session: str) -> tuple[list[str], list[str]]:
    import docker

    client = docker.from_env()
    label = {"label": f"lsim.session={session}"}
    containers = [c.name for c in client.containers.list(all=True, filters=label)]
    networks = [n.name for n in client.networks.list(filters=label)]
    client.close()
    return containers, networks


# -- one VPC: a database, the internet, functions sharing ENIs ------------------------------------------------
@pytest.fixture(scope="module")
def vpc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    cidr = _free_vpc_cidr()
    net = ".".join(str(cidr.network_address).split(".")[:2])
    body = (
        _function("app", ["subnet-private-a"], ["sg-lambda"])
        + _function("app-twin", ["subnet-private-a"], ["sg-lambda"])
        + _function("admin", ["subnet-private-a"], ["sg-admin"])
        + _function("egress", ["subnet-nat-b"], ["sg-lambda"])
        + textwrap.dedent(
            f"""
            [vpcs.main]
            cidr = "{cidr}"

            [[vpcs.main.subnets]]
            id = "subnet-private-a"
            cidr = "{net}.1.0/24"
            availability_zone = "us-east-1a"

            [[vpcs.main.subnets]]
            id = "subnet-nat-b"
            cidr = "{net}.2.0/24"
            availability_zone = "us-east-1b"
            nat = true

            [[vpcs.main.subnets]]
            id = "subnet-db"
            cidr = "{net}.3.0/24"
            availability_zone = "us-east-1a"

            [[vpcs.main.security_groups]]
            id = "sg-lambda"

            [[vpcs.main.security_groups]]
            id = "sg-admin"
            egress = [{{ port = 5433, cidr = "{cidr}" }}]   # replaces AWS's default "all outbound"

            [[vpcs.main.security_groups]]
            id = "sg-db"
            ingress = [
                {{ port = 5432, security_group = "sg-lambda" }},
                {{ from_port = 5432, to_port = 5433, security_group = "sg-admin" }},
            ]

            [[vpcs.main.resources]]
            name = "db"
            image = "{BASE_IMAGE}"
            command = {json.dumps(["python3", "-c", SERVER, "db", "5432", "5433"])}
            subnet = "subnet-db"
            ip = "{net}.3.10"
            security_groups = ["sg-db"]
            """
        )
    )
    project = load_project(_write_project(tmp_path_factory.mktemp("vpc"), body))
    with BlockingSimulator(project, backend="docker") as lsim:
        for name in ("app", "app-twin", "admin", "egress"):
            assert lsim.call(lsim.simulator.wait_function_active(name, 300)) == ("Active", None, None)
        yield {"lsim": lsim, "net": net, "session": lsim.simulator.backend.session}  # type: ignore[union-attr]
    containers, networks = _session_leftovers(lsim.simulator.backend.session)  # type: ignore[union-attr]
    assert (containers, networks) == ([], []), "lsim left VPC containers or networks behind"


@pytest.fixture(scope="module")
def internet(vpc: dict[str, Any]) -> Iterator[str]:
    """A container of our own on lsim's internet network, standing for a host on the internet."""
    import docker

    client = docker.from_env()
    name, _gateway = ensure_internet_network(client)
    assert name == INTERNET_NETWORK
    container = client.containers.run(
        BASE_IMAGE,
        ["python3", "-c", SERVER, "internet", "80"],
        detach=True,
        network=INTERNET_NETWORK,
        labels={"lsim.test": "vpc-internet"},
    )
    try:
        container.reload()
        yield container.attrs["NetworkSettings"]["Networks"][INTERNET_NETWORK]["IPAddress"]
    finally:
        container.remove(force=True)
        client.close()


def test_a_security_group_admits_its_port_and_blocks_the_others(vpc: dict[str, Any]) -> None:
    lsim, net = vpc["lsim"], vpc["net"]
    allowed = lsim.invoke("app", {"host": "db", "port": 5432}).payload
    (eni,) = [e for d in lsim.simulator.describe_vpcs() for e in d.enis if "app" in e.functions]
    assert allowed == {"connected": True, "said": "db:5432", "from": eni.ip}  # from its ENI's address
    assert eni.ip.startswith(f"{net}.1.")  # in subnet-private-a
    # The server listens on 5433 too, but sg-db admits sg-lambda only on 5432: the packet is dropped
    assert lsim.invoke("app", {"host": f"{net}.3.10", "port": 5433}).payload == {
        "connected": False,
        "error": "TimeoutError",
    }
    # sg-db admits sg-admin on both ports, but sg-admin's own outbound rules allow only 5433
    assert lsim.invoke("admin", {"host": f"{net}.3.10", "port": 5433}).payload["said"] == "db:5433"
    assert lsim.invoke("admin", {"host": "db", "port": 5432}).payload["error"] == "TimeoutError"


def test_the_internet_is_reachable_only_through_a_nat_gateway(vpc: dict[str, Any], internet: str) -> None:
    lsim = vpc["lsim"]
    private = lsim.invoke("app", {"host": internet, "port": 80}).payload
    assert private == {"connected": False, "error": "TimeoutError"}
    behind_nat = lsim.invoke("egress", {"host": internet, "port": 80}).payload
    assert behind_nat["connected"] is True and behind_nat["said"] == "internet:80"
    # the NAT subnet's function still reaches the database in another subnet of the VPC
    assert lsim.invoke("egress", {"host": "db", "port": 5432}).payload["said"] == "db:5432"


def test_functions_with_the_same_subnets_and_groups_share_one_eni(vpc: dict[str, Any]) -> None:
    import docker

    lsim = vpc["lsim"]
    one = lsim.invoke("app", {"host": "db", "port": 5432}).payload
    two = lsim.invoke("app-twin", {"host": "db", "port": 5432}).payload
    assert one["from"] == two["from"]  # both leave through the same interface
    (described,) = lsim.simulator.describe_vpcs()
    shared = [e for e in described.enis if "app" in e.functions]
    assert len(shared) == 1 and shared[0].functions == ("app", "app-twin") and shared[0].status == "in-use"
    assert len(described.enis) == 3  # sg-lambda in private-a, sg-admin in private-a, sg-lambda in nat-b
    client = docker.from_env()
    containers = client.containers.list(
        filters={"label": [f"lsim.session={vpc['session']}", f"lsim.eni={shared[0].eni_id}"]}
    )
    client.close()
    assert len(containers) == 1
    # three ENIs and the database take four addresses of the VPC
    assert {u.subnet.id: u.used for u in described.subnets} == {
        "subnet-private-a": 2,
        "subnet-nat-b": 1,
        "subnet-db": 1,
    }


# -- a /28 subnet runs out; Pending while ENIs are created ----------------------------------------------------
def test_a_28_subnet_runs_out_after_11_enis_and_functions_are_pending_meanwhile(tmp_path: Path) -> None:
    import docker

    cidr = _free_vpc_cidr()
    net = ".".join(str(cidr.network_address).split(".")[:2])
    body = "".join(_function(f"fn{n:02d}", ["subnet-tiny"], [f"sg-{n:02d}"]) for n in range(12))
    body += textwrap.dedent(
        f"""
        [vpcs.small]
        cidr = "{cidr}"
        [[vpcs.small.subnets]]
        id = "subnet-tiny"
        cidr = "{net}.0.0/28"
        """
    )
    body += "".join(f'[[vpcs.small.security_groups]]\nid = "sg-{n:02d}"\n' for n in range(12))
    body += "[limits]\neni_creation_delay_s = 1\n"
    project = load_project(_write_project(tmp_path, body))
    with BlockingSimulator(project, backend="docker") as lsim:
        simulator = lsim.simulator
        assert simulator.vpc_state("fn00") == ("Pending", "Creating", "The function is being created.")
        with pytest.raises(ResourceConflictException) as pending:
            lsim.invoke("fn00", {"host": "127.0.0.1", "port": 1})
        assert pending.value.status == 409
        pending_configuration = lsim.call(simulator.get_function_configuration("fn00"))
        assert (pending_configuration.state, pending_configuration.state_reason_code) == ("Pending", "Creating")
        assert pending.value.message == (
            "The operation cannot be performed at this time. The function is currently in the following state: Pending"
        )
        # fn11 fails at once: functions are allocated in name order, and fn00-fn10 took .4 to .14
        state, reason_code, reason = simulator.vpc_state("fn11")
        assert (state, reason_code) == ("Failed", "SubnetOutOfIPAddresses")
        assert "subnet-tiny" in (reason or "")
        for n in range(11):
            assert lsim.call(simulator.wait_function_active(f"fn{n:02d}", 300)) == ("Active", None, None)
        with pytest.raises(SubnetIPAddressLimitReachedException) as full:
            lsim.invoke("fn11", {"host": "127.0.0.1", "port": 1})
        assert full.value.status == 502
        failed = shapes.function_configuration(lsim.call(simulator.get_function_configuration("fn11")))
        assert (failed["State"], failed["StateReasonCode"]) == ("Failed", "SubnetOutOfIPAddresses")
        assert shapes.function_configuration(lsim.call(simulator.get_function_configuration("fn00")))["State"] == "Active"
        client = docker.from_env()
        enis = client.containers.list(filters={"label": [f"lsim.session={simulator.backend.session}", "lsim.role=eni"]})  # type: ignore[union-attr]
        addresses = sorted(
            ipaddress.IPv4Address(next(iter(c.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"])
            for c in enis
        )
        client.close()
        assert addresses == [ipaddress.IPv4Address(f"{net}.0.{n}") for n in range(4, 15)]
        # an Active one runs
        assert lsim.invoke("fn10", {"host": "127.0.0.1", "port": 1}).payload == {
            "connected": False,
            "error": "ConnectionRefusedError",
        }
        session = simulator.backend.session  # type: ignore[union-attr]
    assert _session_leftovers(session) == ([], [])


def test_the_vpc_database_sample_runs_as_its_readme_says() -> None:
    from typer.testing import CliRunner

    from simulator.cli import app

    sample = Path(__file__).parent.parent / "samples" / "vpc-database"
    runner = CliRunner()
    event = str(sample / "events" / "order.json")
    orders = runner.invoke(app, ["--project", str(sample), "invoke", "orders", "--event", event])
    assert orders.exit_code == 0, orders.output
    assert json.loads(orders.stdout.splitlines()[0]) == {
        "ok": True,
        "order_id": "1001",
        "stored": "espresso-machine",
        "function": "orders",
    }
    reports = runner.invoke(app, ["--project", str(sample), "invoke", "reports", "--event", event])
    assert reports.exit_code == 0, reports.output
    assert json.loads(reports.stdout.splitlines()[0]) == {
        "ok": False,
        "error": "timed out connecting to 10.77.20.10:5432",
    }
    shown = runner.invoke(app, ["--project", str(sample), "vpc", "show"])
    assert shown.exit_code == 0, shown.output
    assert "subnet-app-a" in shown.stdout and "sg-orders" in shown.stdout and "10.77.20.10" in shown.stdout


def test_vpc_clean_removes_what_a_crashed_lsim_left(tmp_path: Path) -> None:
    """A session that never closed (as after a crash) leaves a VPC network, an ENI and a resource; clean
    removes them, and an existing container it had connected is disconnected, not removed."""
    import docker

    from simulator.sandbox.network import VpcNetworks, clean, filter_rules
    from simulator.sandbox.vpc_image import ensure_vpc_image
    from simulator.vpc import FunctionVpcConfig, Hyperplane

    cidr = _free_vpc_cidr()
    net = ".".join(str(cidr.network_address).split(".")[:2])
    project = load_project(
        _write_project(
            tmp_path,
            textwrap.dedent(
                f"""
                [vpcs.crash]
                cidr = "{cidr}"
                [[vpcs.crash.subnets]]
                id = "subnet-a"
                cidr = "{net}.1.0/24"
                [[vpcs.crash.security_groups]]
                id = "sg-a"
                [[vpcs.crash.resources]]
                name = "cache"
                image = "{BASE_IMAGE}"
                command = ["sleep", "600"]
                subnet = "subnet-a"
                [[vpcs.crash.resources]]
                name = "theirs"
                container = "lsim-test-theirs-{net.replace(".", "-")}"
                subnet = "subnet-a"
                """
            ),
        )
    )
    client = docker.from_env()
    theirs = client.containers.run(
        BASE_IMAGE, ["sleep", "600"], detach=True, name=f"lsim-test-theirs-{net.replace('.', '-')}"
    )
    try:
        session = f"crashed{random.randrange(10**6):06d}"
        hyperplane = Hyperplane(project.vpcs)
        eni = hyperplane.attach("f", FunctionVpcConfig(subnets=("subnet-a",), security_groups=("sg-a",))).enis[0]
        networks = VpcNetworks(client, session)
        gateway = networks.create_vpc(project.vpcs["crash"])
        for placed in hyperplane.resources():
            networks.create_resource(placed, tmp_path)
        networks.create_eni(ensure_vpc_image(client), eni, filter_rules(hyperplane, eni, gateway), nat=False)
        containers, vpc_networks = _session_leftovers(session)
        assert len(containers) == 2 and len(vpc_networks) == 1  # the ENI and the cache; the VPC
        assert clean(client, session) == (2, 1)
        assert _session_leftovers(session) == ([], [])
        theirs.reload()
        assert theirs.status == "running" and list(theirs.attrs["NetworkSettings"]["Networks"]) == ["bridge"]
    finally:
        theirs.remove(force=True)
        client.close()
