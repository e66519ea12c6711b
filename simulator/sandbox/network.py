"""lsim's VPCs in Docker: a network per VPC, resources on it, Hyperplane ENIs as containers with packet filters.

- **A VPC** is an ``--internal`` bridge network with the VPC's CIDR, so every subnet reaches every other (a
  VPC's local route) and nothing leaves it; the host side holds the VPC router's address (base + 1), where
  lsim's Runtime API listens for the VPC's execution environments.
- **A resource** (your database container) sits on it at its address, with its name as DNS alias.
- **A Hyperplane ENI** is a small container of the ``lsim/vpc`` image (iptables, iproute2) at the ENI's
  address. It holds a network namespace that the execution environments of every function sharing the ENI
  join (``network_mode="container:<eni>"``); it alone has ``NET_ADMIN``, so the packet filter it installs
  there enforces the security groups and the function cannot change it. Rules: the ENI's own outbound rules,
  then the inbound rules of the resource the traffic goes to, then the ENI's inbound rules for what comes in;
  a packet no rule admits is dropped, so a blocked connection times out, as on AWS.
- **NAT**: an ENI in a subnet with ``nat = true`` is also attached to ``lsim-internet``, an ordinary bridge
  network standing for the internet, and routes 0.0.0.0/0 there (on a machine with internet access that
  reaches it too, as a NAT gateway does). Any other ENI routes 0.0.0.0/0 into the internal VPC network, where
  Docker drops it: connections to the internet time out. Tests put their own "internet" container on
  ``lsim-internet``; lsim never sends anything to an address of its own choosing.

Everything carries ``lsim.managed=1``, the project, owner and session labels (labels.py); ``close()``
removes it, and what a killed lsim left goes with the next lsim on the project (leftovers.py). docker-py is
synchronous: `VpcNetworks` blocks, and `DockerVpcPlumbing`, what the Docker backend gives the VPC service
(base.VpcPlumbing), runs it on the backend's worker threads.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DockerUnavailableError
from ..lifetime import current_owner
from ..vpc import Hyperplane, HyperplaneEni, Permission, PlacedResource, VpcConfig
from . import labels
from .base import VpcPlumbing
from .engine import connect_or_none, docker_errors, explanation, ignoring_docker_errors, list_containers

if TYPE_CHECKING:
    from .docker import DockerBackend

INTERNET_NETWORK = "lsim-internet"
RUNTIME_API_CHAIN = "LSIM-RUNTIME-API"  # in an ENI's filter: the Runtime API ports it may reach on the host
PUBLIC_API_CHAIN = "LSIM-PUBLIC-API"  # in a NAT subnet's ENI's filter: lsim's API, as AWS's public endpoints

Progress = Callable[[str], None]
_internet_lock = threading.Lock()


@dataclass
class _Vpc:
    config: VpcConfig
    network: str  # Docker network name
    gateway: str


class VpcNetworks:
    """The Docker side of one simulator session's VPCs. Every method blocks (docker-py)."""

    def __init__(self, client: Any, session: str, owned: dict[str, str] | None = None) -> None:
        self.client = client
        self.session = session
        self._owned = owned or labels.owned("", current_owner(), session)  # project, owner, session
        self._vpcs: dict[str, _Vpc] = {}
        self._containers: list[str] = []  # ENIs and resources lsim runs
        self._connected: list[tuple[str, str]] = []  # (existing container, network) lsim connected
        self._enis: dict[str, str] = {}  # eni id -> container id
        self._eni_vpcs: dict[str, str] = {}  # ENI container id -> its VPC
        self._internet: str | None = None
        self._lock = threading.Lock()
        self._closed = False

    # -- VPCs and resources ------------------------------------------------------------------------------
    def create_vpc(self, vpc: VpcConfig) -> str:
        """The VPC's internal bridge network; returns the VPC router's address (the host side)."""
        from docker.types import IPAMConfig, IPAMPool

        name = f"lsim-vpc-{vpc.name}-{self.session[:8]}"
        gateway = str(vpc.router_address)
        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=vpc.cidr, gateway=gateway)])
        with docker_errors(lambda error: _network_failure(vpc, error)):
            self.client.networks.create(
                name,
                driver="bridge",
                internal=True,
                ipam=ipam,
                labels={**self._labels("vpc"), labels.VPC: vpc.name},
            )
        with self._lock:
            if not self._closed:
                self._vpcs[vpc.name] = _Vpc(vpc, name, gateway)
                return gateway
        self.client.api.remove_network(name)
        raise DockerUnavailableError("the simulator closed while its VPC networks were being created")

    def gateway(self, vpc: str) -> str:
        return self._vpcs[vpc].gateway

    def create_resource(self, placed: PlacedResource, root: Path) -> str:
        """Run (image) or connect (container) one resource at its address; returns its container id. `root`:
        the folder volumes' host paths are relative to (lsim.toml's)."""
        vpc = self._vpcs[placed.vpc]
        resource = placed.config
        api = self.client.api
        endpoint = api.create_endpoint_config(ipv4_address=str(placed.ip), aliases=[resource.name])
        if resource.container is not None:
            with docker_errors(
                lambda error: (
                    f"resource {resource.name}: could not connect {resource.container} to VPC "
                    f"{placed.vpc}: {explanation(error)}"
                ),
                missing=f"resource {resource.name}: no container {resource.container!r}: start it first, or give "
                "image = ... so that lsim runs one",
            ):
                api.connect_container_to_network(
                    resource.container, vpc.network, ipv4_address=str(placed.ip), aliases=[resource.name]
                )
            with self._lock:
                self._connected.append((resource.container, vpc.network))
            return str(api.inspect_container(resource.container)["Id"])
        assert resource.image is not None
        with docker_errors(
            f"resource {resource.name}: could not inspect image {resource.image}",
            missing=f"resource {resource.name}: image {resource.image} is not on this machine: build it or "
            f"`docker pull {resource.image}` first (lsim pulls nothing)",
        ):
            api.inspect_image(resource.image)
        command = list(resource.command) if isinstance(resource.command, tuple) else resource.command
        created = api.create_container(
            resource.image,
            command=command,
            environment=dict(resource.environment),
            name=f"lsim-{placed.vpc}-{resource.name}-{self.session[:8]}",
            labels={**self._labels("resource"), labels.VPC: placed.vpc, labels.RESOURCE: resource.name},
            host_config=api.create_host_config(network_mode=vpc.network, binds=_binds(resource.volumes, root)),
            networking_config=api.create_networking_config({vpc.network: endpoint}),
        )
        container = self._keep(str(created["Id"]))
        api.start(container)
        return container

    # -- Hyperplane ENIs -----------------------------------------------------------------------------------
    def create_eni(self, image: str, eni: HyperplaneEni, rules: str, nat: bool) -> str:
        """Start the ENI's container, attach it to the internet network when its subnet has a NAT route,
        install its packet filter and default route; returns the container id."""
        vpc = self._vpcs[eni.key.vpc]
        api = self.client.api
        created = api.create_container(
            image,
            command=["sleep", "infinity"],
            name=f"lsim-{eni.eni_id}-{self.session[:8]}",
            labels={
                **self._labels("eni"),
                labels.VPC: eni.key.vpc,
                labels.ENI: eni.eni_id,
                labels.SUBNET: eni.key.subnet,
                labels.SECURITY_GROUPS: ",".join(eni.key.security_groups),
                labels.RUNTIME_API_HOST: vpc.gateway,
            },
            host_config=api.create_host_config(
                network_mode=vpc.network,
                cap_drop=["ALL"],
                cap_add=["NET_ADMIN", "NET_RAW"],  # its own namespace only: iptables and ip route
                mem_limit="32m",
                read_only=True,
                tmpfs={"/run": "size=1m", "/tmp": "size=1m"},  # iptables' lock file
                security_opt=["no-new-privileges"],
            ),
            networking_config=api.create_networking_config(
                {vpc.network: api.create_endpoint_config(ipv4_address=str(eni.ip))}
            ),
        )
        container = self._keep(str(created["Id"]))
        with self._lock:
            self._enis[eni.eni_id] = container
            self._eni_vpcs[container] = eni.key.vpc
        router = vpc.gateway
        if nat:
            api.connect_container_to_network(container, self.ensure_internet())
        api.start(container)
        if nat:
            router = self._gateway_of(container, INTERNET_NETWORK)
        script = 'printf "%s" "$1" | iptables-restore && ip route replace default via "$2"'
        self._exec(container, ["sh", "-c", script, "sh", rules, router], f"setting up {eni.eni_id}'s packet filter")
        return container

    def admit_runtime_api_ports(self, vpc: str, ports: Sequence[int]) -> None:
        """Let the VPC's ENIs reach more Runtime API ports (lsim reserved them when the first ones ran out)."""
        with self._lock:
            enis = [(eni_id, c) for eni_id, c in self._enis.items() if self._eni_vpcs.get(c) == vpc]
        for eni_id, container in enis:
            for rule in runtime_api_rules(ports):
                self._exec(container, ["iptables", *rule.split()], f"opening Runtime API ports in {eni_id}")

    def _exec(self, container: str, command: list[str], what: str) -> None:
        api = self.client.api
        execution = api.exec_create(container, command, user="root")
        output = api.exec_start(execution["Id"])
        code = api.exec_inspect(execution["Id"]).get("ExitCode")
        if code != 0:
            text = output.decode(errors="replace").strip() if isinstance(output, bytes) else str(output)
            raise DockerUnavailableError(f"{what} failed (exit {code}): {text}")

    def _keep(self, container: str) -> str:
        """Remember a container for close(); one created after close() (a call that was under way) goes at once."""
        with self._lock:
            if not self._closed:
                self._containers.append(container)
                return container
        self.client.api.remove_container(container, force=True)
        raise DockerUnavailableError("the simulator closed while its VPC containers were being created")

    def eni_container(self, eni_id: str) -> str | None:
        return self._enis.get(eni_id)

    def ensure_internet(self) -> str:
        with self._lock:
            if self._internet is None:
                self._internet = ensure_internet_network(self.client)[0]
            return self._internet

    def _gateway_of(self, container: str, network: str) -> str:
        settings = self.client.api.inspect_container(container)["NetworkSettings"]["Networks"][network]
        return str(settings["Gateway"])

    # -- shutdown -----------------------------------------------------------------------------------------
    def close(self) -> None:
        """Remove the ENIs and resources lsim ran, disconnect the containers it connected, remove the VPC
        networks, and the internet network when nothing else uses it."""
        with self._lock:
            self._closed = True
            containers, self._containers = self._containers, []
            connected, self._connected = self._connected, []
            vpcs, self._vpcs = self._vpcs, {}
            self._enis.clear()
            internet, self._internet = self._internet, None
        api = self.client.api

        def remove(container: str) -> None:
            with contextlib.suppress(Exception):  # already gone
                api.remove_container(container, force=True)

        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="lsim-vpc-close") as pool:
            list(pool.map(remove, containers))
        for container, network in connected:
            with contextlib.suppress(Exception):
                api.disconnect_container_from_network(container, network, force=True)
        for vpc in vpcs.values():
            with contextlib.suppress(Exception):
                api.remove_network(vpc.network)
        if internet is not None:
            with contextlib.suppress(Exception):  # still in use: another session, or a test's container
                api.remove_network(internet)

    def _labels(self, role: str) -> dict[str, str]:
        return {**self._owned, labels.ROLE: role}


class DockerVpcPlumbing(VpcPlumbing):
    """The VPC plumbing of a Docker backend: VpcNetworks' blocking calls on the backend's worker threads,
    and each ENI's packet filter written from the Hyperplane's security groups (filter_rules)."""

    def __init__(self, backend: DockerBackend, progress: Progress | None = None) -> None:
        self._backend = backend
        self._progress = progress
        self.networks = VpcNetworks(backend.client, backend.session, backend.labels())
        self._image: str | None = None

    async def prepare(self) -> None:
        from .vpc_image import ensure_vpc_image

        self._image = await self._backend.call(ensure_vpc_image, self._backend.client, progress=self._progress)

    async def create_vpc(self, vpc: VpcConfig) -> str:
        return str(await self._backend.call(self.networks.create_vpc, vpc))

    def gateway(self, vpc: str) -> str:
        return self.networks.gateway(vpc)

    async def admit_runtime_api_ports(self, vpc: str, ports: Sequence[int]) -> None:
        await self._backend.call(self.networks.admit_runtime_api_ports, vpc, ports)

    async def create_resource(self, placed: PlacedResource, root: Path) -> str:
        return str(await self._backend.call(self.networks.create_resource, placed, root))

    async def create_eni(
        self,
        hyperplane: Hyperplane,
        eni: HyperplaneEni,
        runtime_api_ports: Sequence[int],
        nat: bool,
        public_api: tuple[str, int] | None = None,
    ) -> str:
        assert self._image is not None, "prepare() the plumbing first"
        call = self._backend.call
        if nat:  # its gateway is one of the host's addresses the ENI must not reach
            await call(self.networks.ensure_internet)
        gateway = self.networks.gateway(eni.key.vpc)
        addresses = await call(host_addresses)
        rules = filter_rules(hyperplane, eni, gateway, runtime_api_ports, addresses, nat, public_api)
        return str(await call(self.networks.create_eni, self._image, eni, rules, nat))

    def network_of(self, eni: str) -> str:
        return f"container:{eni}"  # the ENI container's network namespace

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._backend.call(self.networks.close)


def ensure_internet_network(client: Any) -> tuple[str, str]:
    """``lsim-internet`` (created on first use, shared by sessions): the network that stands for the internet
    behind NAT gateways. Returns (name, gateway address)."""
    with _internet_lock:
        found = [n for n in client.networks.list(names=[INTERNET_NETWORK]) if n.name == INTERNET_NETWORK]
        network = found[0] if found else None
        if network is None:
            with ignoring_docker_errors():  # another process created it meanwhile
                network = client.networks.create(
                    INTERNET_NETWORK, driver="bridge", labels={labels.MANAGED: "1", labels.ROLE: "internet"}
                )
        if network is None:
            network = client.networks.get(INTERNET_NETWORK)
        network.reload()
    for config in network.attrs.get("IPAM", {}).get("Config") or []:
        if config.get("Gateway"):
            return INTERNET_NETWORK, str(config["Gateway"])
    raise DockerUnavailableError(f"Docker network {INTERNET_NETWORK} has no gateway address")


def clean(client: Any, session: str | None = None) -> tuple[int, int]:
    """Remove the VPC containers and networks lsim left behind (of every session, or of one): ENIs and
    resources it ran, then its networks, disconnecting whatever else is still attached. The internet network
    goes only with every session. Returns (containers, networks)."""
    removed_containers = 0
    for role in ("eni", "resource"):
        for container in list_containers(client, labels.selector(role=role, session=session)):
            with contextlib.suppress(Exception):
                container.remove(force=True)
                removed_containers += 1
    removed_networks = 0
    for role in ("vpc",) if session else ("vpc", "internet"):
        for network in client.networks.list(filters=labels.selector(role=role, session=session)):
            if remove_network(network):
                removed_networks += 1
    return removed_containers, removed_networks


def remove_network(network: Any) -> bool:
    """Disconnect whatever is still attached to one of lsim's networks (a container lsim connected to a
    VPC, say), then remove it; False when it could not be."""
    try:
        network.reload()
        for container_id in network.attrs.get("Containers") or {}:
            with contextlib.suppress(Exception):
                network.disconnect(container_id, force=True)
        network.remove()
    except Exception:  # gone already, or still in use
        return False
    return True


def filter_rules(
    hyperplane: Hyperplane,
    eni: HyperplaneEni,
    runtime_api_host: str,
    runtime_api_ports: Sequence[int] = (),
    host_addresses: Sequence[str] = (),
    nat: bool = False,
    public_api: tuple[str, int] | None = None,
) -> str:
    """The ENI's packet filter as ``iptables-restore`` input (the filter table only: Docker's DNS rules in
    the nat table stay). Everything not admitted is dropped, never rejected, so it times out as on AWS.

    The host is not in the VPC, so no security group opens it: of the VPC router's address only the Runtime
    API ports lsim reserved for the VPC (`runtime_api_ports`, it holds them all) are reachable, the host's
    other addresses not at all, and without a NAT gateway nothing outside the VPC's CIDR. lsim's API at
    `public_api` (host, port) plays AWS's public Lambda and SQS endpoints: behind a NAT gateway that one port
    of the host is reachable, as far as the ENI's outbound rules allow; without one, not at all."""
    vpc, groups = eni.key.vpc, eni.key.security_groups
    peers = [(ip, member) for ip, member in hyperplane.members(vpc) if ip != eni.ip]
    lines = ["*filter", ":INPUT DROP [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT DROP [0:0]", ":LSIM-VPC - [0:0]"]
    lines.append(f":{RUNTIME_API_CHAIN} - [0:0]")
    if nat and public_api is not None:
        lines.append(f":{PUBLIC_API_CHAIN} - [0:0]")
    lines += [f":LSIM-TO-{index} - [0:0]" for index in range(len(peers))]
    # Inbound: replies, and what the ENI's own groups admit.
    lines += ["-A INPUT -i lo -j ACCEPT", "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"]
    lines += [f"-A INPUT -s {p.peer}{_match(p)} -j ACCEPT" for p in hyperplane.ingress(vpc, groups)]
    # Outbound: loopback (Docker's DNS), replies, the Runtime API (Lambda's own path, not through the ENI),
    # nothing else of the host, then the ENI's outbound rules; what they admit goes on to the destination's
    # inbound rules.
    lines += [
        "-A OUTPUT -o lo -j ACCEPT",
        "-A OUTPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        f"-A OUTPUT -d {runtime_api_host}/32 -p tcp -j {RUNTIME_API_CHAIN}",
        f"-A OUTPUT -d {runtime_api_host}/32 -j DROP",
    ]
    if nat and public_api is not None:  # the public endpoint, through the NAT gateway and the outbound rules
        api_host, api_port = public_api
        lines.append(f"-A OUTPUT -d {api_host}/32 -p tcp -m tcp --dport {api_port} -j {PUBLIC_API_CHAIN}")
        egress = hyperplane.egress(vpc, groups)
        lines += [f"-A {PUBLIC_API_CHAIN} -d {p.peer}{_match(p)} -j ACCEPT" for p in egress]
        lines.append(f"-A {PUBLIC_API_CHAIN} -j DROP")
    lines += [f"-A OUTPUT -d {address}/32 -j DROP" for address in host_addresses if address != runtime_api_host]
    if not nat:
        lines.append(f"-A OUTPUT ! -d {hyperplane.vpcs[vpc].cidr} -j DROP")
    lines += runtime_api_rules(runtime_api_ports)
    lines += [f"-A OUTPUT -d {p.peer}{_match(p)} -j LSIM-VPC" for p in hyperplane.egress(vpc, groups)]
    for index, (ip, member_groups) in enumerate(peers):
        lines.append(f"-A LSIM-VPC -d {ip}/32 -j LSIM-TO-{index}")
        admitted = hyperplane.admitted(vpc, member_groups, eni.ip, groups)
        lines += [f"-A LSIM-TO-{index}{_match(p)} -j ACCEPT" for p in admitted]
        lines.append(f"-A LSIM-TO-{index} -j DROP")
    lines += ["-A LSIM-VPC -j ACCEPT", "COMMIT", ""]
    return "\n".join(lines)


def runtime_api_rules(ports: Sequence[int]) -> list[str]:
    """The rules admitting Runtime API `ports` (multiport takes 15 a rule)."""
    ordered = sorted(ports)
    return [
        f"-A {RUNTIME_API_CHAIN} -p tcp -m multiport --dports {','.join(map(str, ordered[i : i + 15]))} -j ACCEPT"
        for i in range(0, len(ordered), 15)
    ]


def host_addresses() -> list[str]:
    """This machine's IPv4 addresses (the kernel's local routes), which no VPC function may reach."""
    found: list[str] = []
    try:
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
    except OSError:
        return found
    for previous, line in itertools.pairwise(lines):
        if line.strip() == "/32 host LOCAL":
            address = previous.split("--")[-1].strip()
            if address not in found and not address.startswith("127."):
                found.append(address)
    return found


def _binds(volumes: tuple[str, ...], root: Path) -> list[str]:
    binds = []
    for volume in volumes:
        host, _, rest = volume.partition(":")
        path = (root / host).resolve()
        if not path.exists():
            raise DockerUnavailableError(f"volume {volume!r}: {path} does not exist (paths are relative to lsim.toml)")
        binds.append(f"{path}:{rest if ':' in rest else rest + ':rw'}")
    return binds


def _match(permission: Permission) -> str:
    if permission.protocol == "all":
        return ""
    if permission.protocol == "icmp" or permission.ports is None:
        return f" -p {permission.protocol}"
    low, high = permission.ports
    ports = str(low) if low == high else f"{low}:{high}"
    return f" -p {permission.protocol} -m {permission.protocol} --dport {ports}"


def _network_failure(vpc: VpcConfig, error: Any) -> str:
    detail = getattr(error, "explanation", None) or str(error)
    if "overlap" in str(detail).lower():
        return (
            f"VPC {vpc.name}: its CIDR {vpc.cidr} overlaps a Docker network on this machine ({detail}). Another "
            "lsim may be running this project (stop it), or a crashed one left its network (`lsim vpc clean`); "
            "otherwise give the VPC a CIDR no Docker network uses (`docker network inspect` shows theirs)."
        )
    return f"VPC {vpc.name}: Docker could not create its network: {detail}"


def running_enis() -> dict[str, int]:
    """ENI id -> how many lsim sessions run a container for it now (`lsim vpc show`); none when no Docker
    engine answers, for the plan alone is still worth showing."""
    client = connect_or_none(timeout=5)
    if client is None:
        return {}
    counts: dict[str, int] = {}
    with ignoring_docker_errors():
        for container in list_containers(client, labels.selector(role="eni"), stopped=False):
            eni = container.labels.get(labels.ENI)
            if eni:
                counts[eni] = counts.get(eni, 0) + 1
    client.close()
    return counts
