"""How long a function stays Pending while lsim makes its VPC network and Hyperplane ENI
(packet filter included), against plain Docker doing the bare minimum (`docker network create` and
`docker run -d` of a container on it); and what a VPC attachment adds to a cold start (nothing: the
environment joins the ENI's namespace instead of getting a network endpoint of its own).

Run with `make bench` (or `python -m benchmarks.bench_vpc`). The VPC is a random 10.x.0.0/16 that no Docker
network uses; nothing is sent anywhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import shutil
import tempfile
import time
from pathlib import Path

from simulator import Simulator
from simulator.project import parse_project
from simulator.sandbox.vpc_image import ensure_vpc_image

from .common import figure, median

RUNS = 5
COLD_N = 7


def free_cidr(client: object) -> ipaddress.IPv4Network:
    used = []
    for network in client.networks.list():  # type: ignore[attr-defined]
        for config in network.attrs.get("IPAM", {}).get("Config") or []:
            if config.get("Subnet") and ":" not in config["Subnet"]:
                used.append(ipaddress.IPv4Network(config["Subnet"]))
    free = [ipaddress.IPv4Network(f"10.{n}.0.0/16") for n in range(64, 250)]
    return random.choice([c for c in free if not any(c.overlaps(u) for u in used)])


def project(root: Path, cidr: ipaddress.IPv4Network) -> object:
    (root / "src").mkdir(exist_ok=True)
    (root / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
    net = ".".join(str(cidr.network_address).split(".")[:2])
    function = {"handler": "app.handler", "runtime": "python3.11", "code": "src"}
    return parse_project(
        {
            "functions": {
                "plain": function,
                "invpc": {**function, "vpc": {"subnets": ["subnet-a"], "security_groups": ["sg-a"]}},
            },
            "vpcs": {
                "bench": {
                    "cidr": str(cidr),
                    "subnets": [{"id": "subnet-a", "cidr": f"{net}.1.0/24"}],
                    "security_groups": [{"id": "sg-a"}],
                }
            },
        },
        root=root,
    )


def docker_baseline(client: object, image: str) -> list[float]:
    """`docker network create` of an internal network with the same kind of CIDR, then `docker run -d`."""
    from docker.types import IPAMConfig, IPAMPool

    samples = []
    for n in range(RUNS):
        cidr = free_cidr(client)
        began = time.perf_counter()
        network = client.networks.create(  # type: ignore[attr-defined]
            f"lsim-bench-vpc-{n}",
            internal=True,
            ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=str(cidr), gateway=str(cidr.network_address + 1))]),
            labels={"lsim.managed": "1"},
        )
        container = client.containers.run(  # type: ignore[attr-defined]
            image, ["sleep", "infinity"], detach=True, network=network.name, labels={"lsim.managed": "1"}
        )
        samples.append((time.perf_counter() - began) * 1000)
        container.remove(force=True)
        network.remove()
    return samples


async def pending_times(root: Path, client: object) -> list[float]:
    """How long the VPC function is Pending: from the end of start() (which only allocates and starts the
    work) until Active (network, ENI container, packet filter, route)."""
    samples = []
    for _ in range(RUNS):
        simulator = Simulator(project(root, free_cidr(client)), backend="docker", warn=lambda _: None)  # type: ignore[arg-type]
        await simulator.start()
        began = time.perf_counter()
        assert simulator.vpc_state("invpc") == ("Pending", "Creating", "The function is being created.")
        state = await simulator.wait_function_active("invpc", 120)
        samples.append((time.perf_counter() - began) * 1000)
        assert state == ("Active", None, None), state
        await simulator.close()
    return samples


async def cold_starts(root: Path, client: object) -> tuple[list[float], list[float]]:
    plain: list[float] = []
    invpc: list[float] = []
    async with Simulator(project(root, free_cidr(client)), backend="docker") as simulator:  # type: ignore[arg-type]
        await simulator.wait_function_active("invpc", 120)
        for name in ("plain", "invpc"):
            await simulator.prepare(name)
        for _ in range(COLD_N):
            for name, samples in (("plain", plain), ("invpc", invpc)):
                for pool in simulator.pools().values():
                    await pool.close()
                began = time.perf_counter()
                result = await simulator.invoke(name, {})
                samples.append((time.perf_counter() - began) * 1000)
                assert result.ok and result.cold_start
    return plain, invpc


async def main() -> None:
    import docker

    client = docker.from_env()
    image = ensure_vpc_image(client, progress=print)
    work = Path(tempfile.mkdtemp(prefix="lsim-bench-vpc-"))
    try:
        baseline = docker_baseline(client, image)
        pending = await pending_times(work, client)
        print(f"a function in a VPC, median of {RUNS}:")
        figure(
            "  Pending -> Active (network, ENI, packet filter)",
            median(pending),
            "ms",
            median(baseline),
            "`docker network create --internal` + `docker run -d`; target <= 2x",
        )
        plain, invpc = await cold_starts(work, client)
        figure(
            f"  cold start in a VPC (median of {COLD_N})",
            median(invpc),
            "ms",
            median(plain),
            "the same function without a VPC; target <= 1.0x: joining the ENI adds nothing",
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        client.close()


if __name__ == "__main__":
    asyncio.run(main())
