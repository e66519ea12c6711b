"""A function's execution role: its ARN and what its policies allow, as far as lsim can know them.

Lambda checks one thing about the role itself: a function in a VPC needs a role that may create, describe
and delete the network interfaces Lambda makes for it, else CreateFunction and UpdateFunctionConfiguration
answer 400 InvalidParameterValueException, "The provided execution role does not have permissions to call
CreateNetworkInterface on EC2" (aws/aws-sam-cli#617). What the role allows otherwise matters to the AWS APIs
a function calls, not to Lambda, so lsim keeps the rest only to show it.

A role is known when its policies are (lsim.toml's `role.policies`, a template's AWS::IAM::Role or SAM's
Policies); a bare ARN of a role made elsewhere is not, and lsim takes it to allow what it needs, since it
cannot see it. https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html
"""

from __future__ import annotations

import fnmatch
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: what the AWS managed policies a Lambda role usually carries allow, for the actions lsim checks (AWS
#: managed policy reference: AWSLambdaBasicExecutionRole v1, AWSLambdaVPCAccessExecutionRole v3,
#: AWSLambdaENIManagementAccess); the others' actions lsim does not know and never needs
MANAGED_POLICY_ACTIONS: dict[str, tuple[str, ...]] = {
    "AWSLambdaBasicExecutionRole": ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"),
    "AWSLambdaVPCAccessExecutionRole": (
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
    ),
    "AWSLambdaENIManagementAccess": (
        "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
    ),
    "AdministratorAccess": ("*",),
    "PowerUserAccess": ("ec2:*", "logs:*"),
    "AmazonEC2FullAccess": ("ec2:*",),
}  # fmt: skip
#: the role Lambda uses to create a function's Hyperplane ENIs must allow these (DG configuration-vpc); the
#: first one missing is named in the error, as Lambda names CreateNetworkInterface
ENI_ACTIONS = ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface")
ENI_PERMISSION_MESSAGE = "The provided execution role does not have permissions to call "
BASIC_POLICY = "AWSLambdaBasicExecutionRole"
VPC_POLICY = "AWSLambdaVPCAccessExecutionRole"
ROLE_ARN = re.compile(r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")  # botocore: RoleArn
_MANAGED_ARN = re.compile(r"arn:aws[a-zA-Z-]*:iam::aws:policy/(?:.*/)?([^/]+)")


def policy_name(policy: str) -> str:
    """A managed policy's name from its name or ARN (arn:aws:iam::aws:policy/service-role/NAME)."""
    match = _MANAGED_ARN.fullmatch(policy)
    return match.group(1) if match else policy


class ExecutionRole(BaseModel):
    """`role` in lsim.toml: `"arn:..."`, or `{arn = "...", policies = ["AWSLambdaVPCAccessExecutionRole"],
    actions = ["s3:GetObject"]}`. `policies` are managed policies (names or ARNs); `actions` what inline
    statements allow. None for both: a role lsim cannot see into."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    arn: str | None = None
    policies: list[str] | None = None
    actions: list[str] = Field(default_factory=list)

    @field_validator("arn")
    @classmethod
    def _arn(cls, value: str | None) -> str | None:
        if value is not None and not ROLE_ARN.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a role ARN: write arn:aws:iam::ACCOUNT:role/NAME (or leave 'arn' out and lsim "
                "names one)"
            )
        return value

    @field_validator("policies")
    @classmethod
    def _policies(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [policy_name(p) for p in value]

    @property
    def known(self) -> bool:
        """Whether lsim knows what the role allows (its policies were given)."""
        return self.policies is not None or bool(self.actions)

    def allows(self, action: str) -> bool:
        """Whether a policy or statement of the role allows `action` ("ec2:*" and "*" count)."""
        if not self.known:
            return True
        granted = [*self.actions, *(a for p in self.policies or () for a in MANAGED_POLICY_ACTIONS.get(p, ()))]
        wanted = action.lower()
        return any(fnmatch.fnmatchcase(wanted, pattern.lower()) for pattern in granted)


def default_role(function_name: str, account_id: str, in_vpc: bool) -> ExecutionRole:
    """The role of a function that names none: the one Lambda's console (and SAM's transform) makes,
    AWSLambdaBasicExecutionRole, and AWSLambdaVPCAccessExecutionRole for a function in a VPC (SAM adds it
    when VpcConfig is set: samtranslator model/sam_resources.py, _construct_role)."""
    return ExecutionRole(
        arn=f"arn:aws:iam::{account_id}:role/service-role/{function_name}-role",
        policies=[BASIC_POLICY, *([VPC_POLICY] if in_vpc else [])],
    )


def missing_eni_permission(role: ExecutionRole) -> str | None:
    """Lambda's error for a VPC function whose role may not manage its network interfaces, or None."""
    for action in ENI_ACTIONS:
        if not role.allows(action):
            return f"{ENI_PERMISSION_MESSAGE}{action.partition(':')[2]} on EC2"
    return None
