"""Fake VPCs as Lambda meets them: subnets, security groups, resources, and Hyperplane ENIs. No Docker here.

`[vpcs.NAME]` tables of lsim.toml describe VPCs (models below); a function's `vpc = {subnets, security_groups}`
attaches it. `Hyperplane` allocates what AWS allocates, with AWS's numbers and failures:

- one Hyperplane ENI per unique combination of subnet and security groups, shared by every function that
  uses the same combination; each takes an IP address from its subnet
  (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-enis);
- a subnet is /16 to /28, and AWS reserves its first four addresses and its last one, so a /28 has 11 usable
  (https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html);
- 500 elastic network interfaces per VPC, a quota shared with other services (here: the resources)
  (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html);
- a new security group allows no inbound traffic and all outbound traffic
  (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html).

Failures carry the function's StateReasonCode and the 502 error Invoke answers with. sandbox/network.py turns
the allocation into Docker networks, containers and packet filter rules.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import (
    ENILimitReachedException,
    InvalidSecurityGroupIDException,
    InvalidSubnetIDException,
    LambdaError,
    SubnetIPAddressLimitReachedException,
)

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


# -- the project file --------------------------------------------------------------------------------------
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


# -- Hyperplane ENIs -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EniKey:
    """What makes a Hyperplane ENI: a subnet and a set of security groups (their order does not matter)."""

    vpc: str
    subnet: str
    security_groups: tuple[str, ...]  # sorted

    @property
    def eni_id(self) -> str:
        """A stable ID in AWS's form, eni- and 17 hex digits."""
        digest = hashlib.sha256(f"{self.vpc}/{self.subnet}/{','.join(self.security_groups)}".encode())
        return f"eni-{digest.hexdigest()[:17]}"


@dataclass
class HyperplaneEni:
    key: EniKey
    ip: IPv4Address
    functions: list[str] = field(default_factory=list)

    @property
    def eni_id(self) -> str:
        return self.key.eni_id


@dataclass(frozen=True)
class PlacedResource:
    vpc: str
    config: ResourceConfig
    ip: IPv4Address


@dataclass(frozen=True)
class Attachment:
    """A function's place in its VPC: one ENI per subnet, in the order the function lists its subnets."""

    function: str
    vpc: str
    enis: tuple[HyperplaneEni, ...]


# StateReasonCode -> the error Invoke answers with (502), in AWS's words (botocore's model).
_FAILURES: dict[str, tuple[type[LambdaError], str]] = {
    "SubnetOutOfIPAddresses": (
        SubnetIPAddressLimitReachedException,
        "Lambda couldn't set up VPC access for the Lambda function because one or more configured subnets has "
        "no available IP addresses.",
    ),
    "EniLimitExceeded": (
        ENILimitReachedException,
        "Lambda couldn't create an elastic network interface in the VPC, specified as part of Lambda function "
        "configuration, because the limit for network interfaces has been reached.",
    ),
    "InvalidSubnet": (
        InvalidSubnetIDException,
        "The subnet ID provided in the Lambda function VPC configuration is not valid.",
    ),
    "InvalidSecurityGroup": (
        InvalidSecurityGroupIDException,
        "The security group ID provided in the Lambda function VPC configuration is not valid.",
    ),
}


class AttachmentFailed(Exception):
    """A function cannot get its ENIs. `reason_code` is its StateReasonCode, `reason` its StateReason."""

    def __init__(self, reason_code: str, reason: str) -> None:
        super().__init__(f"{reason_code}: {reason}")
        self.reason_code = reason_code
        self.reason = reason

    def error(self) -> LambdaError:
        """The 502 error Invoke answers with while the function is Failed."""
        kind, message = _FAILURES[self.reason_code]
        return kind(f"{message} {self.reason}")


@dataclass(frozen=True)
class SubnetUsage:
    vpc: str
    subnet: SubnetConfig
    usable: int
    used: int

    @property
    def free(self) -> int:
        return self.usable - self.used


class Hyperplane:
    """Allocates Hyperplane ENIs and their addresses for the functions of one project, as Lambda does.

    Resources take their addresses first; then each `attach` reuses the ENI of a (subnet, security groups)
    combination or creates one with the lowest free address of the subnet. Not thread-safe: the facade
    calls it from its event loop."""

    def __init__(self, vpcs: Mapping[str, VpcConfig], *, eni_quota: int = 500) -> None:
        self.vpcs = dict(vpcs)
        self.eni_quota = eni_quota
        self._used: dict[tuple[str, str], set[IPv4Address]] = {}
        self._resources: list[PlacedResource] = []
        self._enis: dict[EniKey, HyperplaneEni] = {}
        self._attachments: dict[str, Attachment] = {}
        for vpc in self.vpcs.values():
            for name, address in place_resources(vpc).items():
                resource = next(r for r in vpc.resources if r.name == name)
                self._resources.append(PlacedResource(vpc.name, resource, address))
                self._used.setdefault((vpc.name, resource.subnet), set()).add(address)

    # -- allocation ------------------------------------------------------------------------------------------
    def attach(self, function: str, config: FunctionVpcConfig) -> Attachment:
        """The function's ENIs, created or shared. Raises AttachmentFailed with AWS's StateReasonCode; a
        failed attach leaves nothing allocated."""
        if function in self._attachments:
            self.detach(function)
        vpc = self._vpc_of(config)
        groups = tuple(sorted(set(config.security_groups)))
        for group in groups:
            if vpc.security_group(group) is None:
                raise AttachmentFailed(
                    "InvalidSecurityGroup",
                    f"The security group {group} does not exist in VPC {vpc.name}: add it to "
                    f"[[vpcs.{vpc.name}.security_groups]] in lsim.toml or fix functions.{function}.vpc.",
                )
        created: list[HyperplaneEni] = []
        enis: list[HyperplaneEni] = []
        try:
            for subnet_id in dict.fromkeys(config.subnets):
                key = EniKey(vpc.name, subnet_id, groups)
                eni = self._enis.get(key)
                if eni is None:
                    eni = self._create(vpc, subnet_id, key)
                    created.append(eni)
                enis.append(eni)
        except AttachmentFailed:
            for eni in created:
                self._release(eni)
            raise
        for eni in enis:
            eni.functions.append(function)
        attachment = Attachment(function, vpc.name, tuple(enis))
        self._attachments[function] = attachment
        return attachment

    def detach(self, function: str) -> list[HyperplaneEni]:
        """Forget a function's attachment; returns the ENIs no function uses any more (now deleted)."""
        attachment = self._attachments.pop(function, None)
        if attachment is None:
            return []
        unused = []
        for eni in attachment.enis:
            if function in eni.functions:
                eni.functions.remove(function)
            if not eni.functions:
                self._release(eni)
                unused.append(eni)
        return unused

    def _vpc_of(self, config: FunctionVpcConfig) -> VpcConfig:
        for subnet_id in config.subnets:
            owner = next((v for v in self.vpcs.values() if v.subnet(subnet_id) is not None), None)
            if owner is None:
                known = sorted(s.id for v in self.vpcs.values() for s in v.subnets)
                raise AttachmentFailed(
                    "InvalidSubnet",
                    f"The subnet {subnet_id} does not exist (this project's subnets: "
                    f"{', '.join(known) or 'none'}): add it to a [vpcs.NAME] table of lsim.toml or fix the "
                    "function's vpc.subnets.",
                )
        vpc = next(v for v in self.vpcs.values() if v.subnet(config.subnets[0]) is not None)
        return vpc

    def _create(self, vpc: VpcConfig, subnet_id: str, key: EniKey) -> HyperplaneEni:
        interfaces = self.interfaces_in(vpc.name)
        if interfaces + 1 > self.eni_quota:
            raise AttachmentFailed(
                "EniLimitExceeded",
                f"VPC {vpc.name} has {interfaces} network interfaces (Hyperplane ENIs and resources), the quota "
                f"is {self.eni_quota}: share security groups between functions, or raise enis_per_vpc in "
                "[limits] of lsim.toml.",
            )
        subnet = vpc.subnet(subnet_id)
        assert subnet is not None
        used = self._used.setdefault((vpc.name, subnet_id), set())
        address = next((a for a in subnet.usable_addresses() if a not in used), None)
        if address is None:
            usable = len(subnet.usable_addresses())
            raise AttachmentFailed(
                "SubnetOutOfIPAddresses",
                f"The subnet {subnet_id} ({subnet.cidr}) has no free IP address: all {usable} usable addresses "
                "are taken (AWS reserves the first four and the last of each subnet). Give the function a "
                "larger subnet, or share security groups so functions share ENIs.",
            )
        used.add(address)
        eni = HyperplaneEni(key, address)
        self._enis[key] = eni
        return eni

    def _release(self, eni: HyperplaneEni) -> None:
        self._enis.pop(eni.key, None)
        self._used.get((eni.key.vpc, eni.key.subnet), set()).discard(eni.ip)

    # -- what there is ---------------------------------------------------------------------------------------
    def attachment(self, function: str) -> Attachment | None:
        return self._attachments.get(function)

    def enis(self, vpc: str | None = None) -> list[HyperplaneEni]:
        return [e for e in self._enis.values() if vpc is None or e.key.vpc == vpc]

    def resources(self, vpc: str | None = None) -> list[PlacedResource]:
        return [r for r in self._resources if vpc is None or r.vpc == vpc]

    def interfaces_in(self, vpc: str) -> int:
        """Network interfaces counted against the VPC's quota: Hyperplane ENIs and resources."""
        return len(self.enis(vpc)) + len(self.resources(vpc))

    def subnet_usage(self) -> list[SubnetUsage]:
        return [
            SubnetUsage(
                vpc.name, subnet, len(subnet.usable_addresses()), len(self._used.get((vpc.name, subnet.id), ()))
            )
            for vpc in self.vpcs.values()
            for subnet in vpc.subnets
        ]

    # -- security groups, as flows -------------------------------------------------------------------------
    def members(self, vpc: str) -> list[tuple[IPv4Address, tuple[str, ...]]]:
        """Addresses in the VPC with their security groups: resources, then Hyperplane ENIs."""
        members = [(r.ip, r.config.security_groups) for r in self.resources(vpc)]
        members += [(e.ip, e.key.security_groups) for e in self.enis(vpc)]
        return members

    def egress(self, vpc: str, groups: Iterable[str]) -> list[Permission]:
        """Where members of `groups` may send: the union of the groups' outbound rules."""
        return self._permissions(vpc, groups, "egress")

    def ingress(self, vpc: str, groups: Iterable[str]) -> list[Permission]:
        """Where members of `groups` accept traffic from: the union of the groups' inbound rules."""
        return self._permissions(vpc, groups, "ingress")

    def admitted(
        self, vpc: str, destination_groups: Iterable[str], source: IPv4Address, source_groups: Iterable[str]
    ) -> list[Permission]:
        """What a destination's inbound rules let in from `source` (an address with `source_groups`); the
        permissions' `peer` is the source's /32."""
        config = self.vpcs[vpc]
        sources = set(source_groups)
        admitted: list[Permission] = []
        for group_id in dict.fromkeys(destination_groups):
            group = config.security_group(group_id)
            for rule in group.ingress if group else ():
                if (rule.cidr is not None and source in IPv4Network(rule.cidr)) or rule.security_group in sources:
                    admitted.append(Permission(rule.protocol, rule.ports, IPv4Network(f"{source}/32")))
        return admitted

    def _permissions(self, vpc: str, groups: Iterable[str], direction: str) -> list[Permission]:
        config = self.vpcs[vpc]
        permissions: list[Permission] = []
        for group_id in dict.fromkeys(groups):
            group = config.security_group(group_id)
            rules = (group.egress if direction == "egress" else group.ingress) if group else ()
            for rule in rules:
                if rule.cidr is not None:
                    peers = [IPv4Network(rule.cidr)]
                else:
                    peers = [
                        IPv4Network(f"{ip}/32") for ip, member in self.members(vpc) if rule.security_group in member
                    ]
                permissions += [Permission(rule.protocol, rule.ports, peer) for peer in peers]
        return permissions


@dataclass(frozen=True)
class Permission:
    """Traffic a security group rule admits: a protocol, a port range (None: every port) and the peer network
    (the destination of an outbound rule, the source of an inbound one)."""

    protocol: Protocol
    ports: tuple[int, int] | None
    peer: IPv4Network
