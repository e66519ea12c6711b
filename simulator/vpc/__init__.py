"""Fake VPCs as Lambda meets them: subnets, security groups, resources, and Hyperplane ENIs. No Docker here.

`[vpcs.NAME]` tables of lsim.toml describe VPCs and a function's `vpc = {subnets, security_groups}` attaches
it (models.py); `Hyperplane` allocates what AWS allocates, with AWS's numbers and failures (hyperplane.py).
sandbox/network.py turns the allocation into Docker networks, containers and packet filter rules.
"""

from __future__ import annotations

from .hyperplane import (
    Attachment,
    AttachmentFailed,
    EniKey,
    Hyperplane,
    HyperplaneEni,
    Permission,
    PlacedResource,
    SubnetUsage,
)
from .models import (
    ALL_TRAFFIC,
    LARGEST_PREFIX,
    MAX_SECURITY_GROUPS,
    MAX_SUBNETS,
    RESERVED_AT_END,
    RESERVED_AT_START,
    RESOURCE_NAME,
    SECURITY_GROUP_ID,
    SMALLEST_PREFIX,
    SUBNET_ID,
    VPC_NAME,
    FunctionVpcConfig,
    Protocol,
    ResourceConfig,
    SecurityGroupConfig,
    SecurityGroupRule,
    SubnetConfig,
    VpcConfig,
    check_function_vpcs,
    place_resources,
)

__all__ = [
    "ALL_TRAFFIC",
    "LARGEST_PREFIX",
    "MAX_SECURITY_GROUPS",
    "MAX_SUBNETS",
    "RESERVED_AT_END",
    "RESERVED_AT_START",
    "RESOURCE_NAME",
    "SECURITY_GROUP_ID",
    "SMALLEST_PREFIX",
    "SUBNET_ID",
    "VPC_NAME",
    "Attachment",
    "AttachmentFailed",
    "EniKey",
    "FunctionVpcConfig",
    "Hyperplane",
    "HyperplaneEni",
    "Permission",
    "PlacedResource",
    "Protocol",
    "ResourceConfig",
    "SecurityGroupConfig",
    "SecurityGroupRule",
    "SubnetConfig",
    "SubnetUsage",
    "VpcConfig",
    "check_function_vpcs",
    "place_resources",
]
