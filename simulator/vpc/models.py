"""The VPCs of a project file, as Lambda meets them: `[vpcs.NAME]` tables (CIDR, subnets, security groups,
resources) and a function's `vpc = {subnets, security_groups}`, validated against AWS's rules:

- a subnet is /16 to /28, and AWS reserves its first four addresses and its last one, so a /28 has 11 usable
  (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html);
- a new security group allows no inbound traffic and all outbound traffic
  (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html).
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable, Mapping
from ipaddress import IPv4Address, IPv4Network
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: AWS: subnets and VPC CIDR blocks are /16 (65,536 addresses) to /28 (16 addresses)
LARGEST_PREFIX, SMALLEST_PREFIX = 16, 28
#: AWS reserves the network address, the VPC router (+1), DNS (+2), "future use" (+3) and the last address
RESERVED_AT_START, RESERVED_AT_END = 4, 1
#: VpcConfig's SubnetIds has at most 16 members and SecurityGroupIds at most 5 (botocore's model)
MAX_SUBNETS, MAX_SECURITY_GROUPS = 16, 5
SUBNET_ID = r"^subnet-[A-Za-z0-9-]+$"
SECURITY_GROUP_ID = r"^sg-[A-Za-z0-9-]+$"
#: a Docker container name, since a resource is one
RESOURCE_NAME = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$"
VPC_NAME = r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$"

Protocol = Literal["tcp", "udp", "icmp", "all"]


def _network(value: str) -> IPv4Network:
    try:
        return IPv4Network(value, strict=True)
    except ValueError as exc:
        hint = ""
        with contextlib.suppress(ValueError):
            hint = f" (did you mean {ipaddress.ip_network(value, strict=False)}?)"
        raise ValueError(f"{value!r} is not an IPv4 CIDR block like 10.0.0.0/16: {exc}{hint}") from None


def _sized_network(value: str, what: str) -> IPv4Network:
    network = _network(value)
    if not LARGEST_PREFIX <= network.prefixlen <= SMALLEST_PREFIX:
        raise ValueError(
            f"{value} is /{network.prefixlen}: AWS allows {what} CIDR block between /{LARGEST_PREFIX} and "
            f"/{SMALLEST_PREFIX}"
        )
    return network


def _unique(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value} is given twice")
        seen.add(value)


class SecurityGroupRule(BaseModel):
    """One inbound or outbound rule: a protocol, a port range, and a CIDR or a security group.

    For an ingress rule the CIDR or group is where traffic may come from; for an egress rule, where it may go.
    `protocol = "all"` (AWS's -1) admits every protocol and port."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    protocol: Protocol = "tcp"
    port: int | None = Field(default=None, ge=0, le=65535)
    from_port: int | None = Field(default=None, ge=0, le=65535)
    to_port: int | None = Field(default=None, ge=0, le=65535)
    cidr: str | None = None
    security_group: str | None = Field(default=None, pattern=SECURITY_GROUP_ID)
    description: str = ""

    @field_validator("protocol", mode="before")
    @classmethod
    def _protocol(cls, value: Any) -> Any:
        return "all" if value in ("-1", -1) else value.lower() if isinstance(value, str) else value

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str | None) -> str | None:
        if value is not None:
            return str(_network(value))
        return value

    @model_validator(mode="after")
    def _shape(self) -> SecurityGroupRule:
        if (self.cidr is None) == (self.security_group is None):
            raise ValueError(
                'give exactly one of cidr (e.g. cidr = "10.0.0.0/16") or security_group (e.g. '
                'security_group = "sg-lambda") per rule; write two rules for both'
            )
        if self.port is not None and (self.from_port is not None or self.to_port is not None):
            raise ValueError("give port, or from_port and to_port, not both")
        if self.protocol in ("tcp", "udp"):
            if self.port is None and (self.from_port is None or self.to_port is None):
                raise ValueError(
                    f"a {self.protocol} rule needs port = N, or from_port and to_port (0 and 65535 for every "
                    'port); protocol = "all" admits every protocol'
                )
            low, high = self.ports or (0, 0)
            if low > high:
                raise ValueError(f"from_port {low} is above to_port {high}")
        return self

    @property
    def ports(self) -> tuple[int, int] | None:
        """The inclusive port range, or None for every port (icmp, all)."""
        if self.protocol not in ("tcp", "udp"):
            return None
        if self.port is not None:
            return (self.port, self.port)
        assert self.from_port is not None and self.to_port is not None
        return (self.from_port, self.to_port)


#: AWS's default outbound rule of a new security group: all traffic to 0.0.0.0/0
ALL_TRAFFIC = SecurityGroupRule(protocol="all", cidr="0.0.0.0/0", description="AWS's default outbound rule")


class SecurityGroupConfig(BaseModel):
    """`[[vpcs.NAME.security_groups]]`. No `egress` key means AWS's default: all outbound traffic."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=SECURITY_GROUP_ID)
    description: str = ""
    ingress: tuple[SecurityGroupRule, ...] = ()
    egress: tuple[SecurityGroupRule, ...] = (ALL_TRAFFIC,)


class SubnetConfig(BaseModel):
    """`[[vpcs.NAME.subnets]]`: a CIDR inside the VPC's, in an availability zone.

    `nat = true`: the subnet's route table sends 0.0.0.0/0 to a NAT gateway, so functions there reach the
    internet. `public = true`: it sends 0.0.0.0/0 to an internet gateway; Lambda's ENIs get no public address,
    so a function in a public subnet still has no internet, as on AWS."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=SUBNET_ID)
    cidr: str
    availability_zone: str | None = None
    nat: bool = False
    public: bool = False

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return str(_sized_network(value, "a subnet"))

    @model_validator(mode="after")
    def _route(self) -> SubnetConfig:
        if self.nat and self.public:
            raise ValueError(
                "a public subnet routes 0.0.0.0/0 to an internet gateway and a NAT gateway route is for private "
                "subnets: set nat = true or public = true, not both"
            )
        return self

    @property
    def network(self) -> IPv4Network:
        return IPv4Network(self.cidr)

    @property
    def routes_to_nat(self) -> bool:
        return self.nat

    def usable_addresses(self) -> list[IPv4Address]:
        """The addresses AWS can assign: all but the first four and the last."""
        network = self.network
        first = int(network.network_address) + RESERVED_AT_START
        last = int(network.broadcast_address) - RESERVED_AT_END
        return [IPv4Address(n) for n in range(first, last + 1)]

    def is_reserved(self, address: IPv4Address) -> bool:
        network = self.network
        offset = int(address) - int(network.network_address)
        return offset < RESERVED_AT_START or address > network.broadcast_address - RESERVED_AT_END


class ResourceConfig(BaseModel):
    """`[[vpcs.NAME.resources]]`: one of your containers in the VPC, standing for RDS, ElastiCache...

    Either `image` (and optionally `command`, `environment`, `volumes`): lsim runs it, and removes it on
    shutdown; or `container`: an existing container lsim connects to the VPC and disconnects again (never
    removes). `volumes` are "HOST:CONTAINER[:ro]", HOST relative to lsim.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=RESOURCE_NAME)
    image: str | None = None
    command: str | tuple[str, ...] | None = None
    environment: dict[str, str] = Field(default_factory=dict)
    volumes: tuple[str, ...] = ()
    container: str | None = None
    subnet: str = Field(pattern=SUBNET_ID)
    ip: str | None = None  # None: the lowest free address of the subnet
    security_groups: tuple[str, ...] = ()

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                return str(IPv4Address(value))
            except ValueError:
                raise ValueError(f"{value!r} is not an IPv4 address like 10.0.2.10") from None
        return value

    @field_validator("volumes")
    @classmethod
    def _volumes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for volume in value:
            parts = volume.split(":")
            if len(parts) not in (2, 3) or not parts[1].startswith("/") or parts[2:] not in ([], ["ro"], ["rw"]):
                raise ValueError(f'volume {volume!r}: write HOST:CONTAINER or HOST:CONTAINER:ro, e.g. "db:/db:ro"')
        return value

    @model_validator(mode="after")
    def _kind(self) -> ResourceConfig:
        if (self.image is None) == (self.container is None):
            raise ValueError(
                'give image = "..." (lsim runs it) or container = "..." (an existing container lsim connects), '
                "exactly one of them"
            )
        if self.container is not None and (self.command is not None or self.environment or self.volumes):
            raise ValueError("command, environment and volumes apply to an image; an existing container keeps its own")
        return self


class VpcConfig(BaseModel):
    """`[vpcs.NAME]`: a VPC with its CIDR, subnets, security groups and resources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=VPC_NAME)
    cidr: str
    subnets: tuple[SubnetConfig, ...] = ()
    security_groups: tuple[SecurityGroupConfig, ...] = ()
    resources: tuple[ResourceConfig, ...] = ()

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        return str(_sized_network(value, "a VPC"))

    @model_validator(mode="after")
    def _consistent(self) -> VpcConfig:
        network = self.network
        _unique((s.id for s in self.subnets), "subnet id")
        _unique((g.id for g in self.security_groups), "security group id")
        _unique((r.name for r in self.resources), "resource name")
        for subnet in self.subnets:
            if not subnet.network.subnet_of(network):
                raise ValueError(f"subnet {subnet.id} ({subnet.cidr}) is not inside the VPC's CIDR {self.cidr}")
        for index, subnet in enumerate(self.subnets):
            for other in self.subnets[index + 1 :]:
                if subnet.network.overlaps(other.network):
                    raise ValueError(
                        f"subnets {subnet.id} ({subnet.cidr}) and {other.id} ({other.cidr}) overlap: "
                        "give each subnet its own CIDR"
                    )
        groups = {g.id for g in self.security_groups}
        for group in self.security_groups:
            for rule in (*group.ingress, *group.egress):
                if rule.security_group is not None and rule.security_group not in groups:
                    raise ValueError(
                        f"security group {group.id} has a rule naming {rule.security_group}, which is not a "
                        f"security group of this VPC (it has: {', '.join(sorted(groups))})"
                    )
        for resource in self.resources:
            if resource.subnet not in {s.id for s in self.subnets}:
                raise ValueError(f"resource {resource.name}: subnet {resource.subnet} is not a subnet of this VPC")
            unknown = [g for g in resource.security_groups if g not in groups]
            if unknown:
                raise ValueError(f"resource {resource.name}: unknown security group(s) {', '.join(unknown)}")
        place_resources(self)  # addresses inside their subnets, not reserved, not taken twice
        return self

    @property
    def network(self) -> IPv4Network:
        return IPv4Network(self.cidr)

    @property
    def router_address(self) -> IPv4Address:
        """The VPC's base address plus one, AWS's VPC router: lsim's host side of the VPC network."""
        return self.network.network_address + 1

    def subnet(self, subnet_id: str) -> SubnetConfig | None:
        return next((s for s in self.subnets if s.id == subnet_id), None)

    def security_group(self, group_id: str) -> SecurityGroupConfig | None:
        return next((g for g in self.security_groups if g.id == group_id), None)


class FunctionVpcConfig(BaseModel):
    """A function's `vpc = { subnets = [...], security_groups = [...] }` (VpcConfig's SubnetIds and
    SecurityGroupIds). IDs that no VPC has are not refused here: as on AWS the function goes `Failed` with
    `InvalidSubnet` / `InvalidSecurityGroup` and invoking it answers 502."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subnets: tuple[str, ...] = Field(min_length=1, max_length=MAX_SUBNETS)
    security_groups: tuple[str, ...] = Field(min_length=1, max_length=MAX_SECURITY_GROUPS)

    @field_validator("subnets", "security_groups")
    @classmethod
    def _no_duplicates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _unique(value, "id")
        return value


def check_function_vpcs(vpcs: Mapping[str, VpcConfig], functions: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Project-wide rules: subnet and group IDs unique across VPCs, and each function's subnets and groups in
    one VPC (AWS refuses a mix with InvalidParameterValueException). Returns (field, problem) pairs."""
    problems: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for vpc in vpcs.values():
        for item in (*(s.id for s in vpc.subnets), *(g.id for g in vpc.security_groups)):
            if item in seen:
                problems.append((f"vpcs.{vpc.name}", f"{item} is also in VPC {seen[item]}: IDs are unique"))
            seen[item] = vpc.name
    for name, function in functions.items():
        config: FunctionVpcConfig | None = getattr(function, "vpc", None)
        if config is None:
            continue
        owners = {seen[i] for i in (*config.subnets, *config.security_groups) if i in seen}
        if len(owners) > 1:
            problems.append(
                (
                    f"functions.{name}.vpc",
                    f"its subnets and security groups belong to different VPCs ({', '.join(sorted(owners))}): "
                    "Lambda requires the subnets and security groups of a function to be in one VPC",
                )
            )
    return problems


def place_resources(vpc: VpcConfig) -> dict[str, IPv4Address]:
    """Each resource's address: its `ip`, or the lowest free one of its subnet. Raises ValueError."""
    placed: dict[str, IPv4Address] = {}
    taken: set[IPv4Address] = set()
    for resource in vpc.resources:
        if resource.ip is None:
            continue
        subnet = vpc.subnet(resource.subnet)
        address = IPv4Address(resource.ip)
        if subnet is None:
            continue  # reported by the caller
        if address not in subnet.network:
            raise ValueError(f"resource {resource.name}: ip {address} is not inside subnet {subnet.id} ({subnet.cidr})")
        if subnet.is_reserved(address):
            usable = subnet.usable_addresses()
            raise ValueError(
                f"resource {resource.name}: ip {address} is one AWS reserves in {subnet.cidr} (the first four "
                f"addresses and the last): use {usable[0]}-{usable[-1]}"
            )
        if address in taken:
            raise ValueError(f"resource {resource.name}: ip {address} is taken by another resource")
        placed[resource.name] = address
        taken.add(address)
    for resource in vpc.resources:
        if resource.ip is not None:
            continue
        subnet = vpc.subnet(resource.subnet)
        if subnet is None:
            continue
        free = next((a for a in subnet.usable_addresses() if a not in taken), None)
        if free is None:
            raise ValueError(f"resource {resource.name}: subnet {subnet.id} ({subnet.cidr}) has no free address")
        placed[resource.name] = free
        taken.add(free)
    return {r.name: placed[r.name] for r in vpc.resources if r.name in placed}
