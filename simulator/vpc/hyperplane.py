"""Hyperplane ENIs: what Lambda allocates when a function joins a VPC, with AWS's numbers and failures.

- one Hyperplane ENI per unique combination of subnet and security groups, shared by every function that
  uses the same combination; each takes an IP address from its subnet
  (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-enis);
- 500 elastic network interfaces per VPC, a quota shared with other services (here: the resources)
  (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).

Failures carry the function's StateReasonCode and the 502 error Invoke answers with. Security groups are read
here as flows (`Permission`s) that sandbox/network.py turns into packet filter rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from ..errors import (
    ENILimitReachedException,
    InvalidSecurityGroupIDException,
    InvalidSubnetIDException,
    LambdaError,
    SubnetIPAddressLimitReachedException,
)
from .models import FunctionVpcConfig, Protocol, ResourceConfig, SubnetConfig, VpcConfig, place_resources


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
