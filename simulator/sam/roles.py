"""A template function's execution role, as CloudFormation and SAM's transform make it.

- `Role: !GetAtt MyRole.Arn` of an AWS::IAM::Role in the template: its ManagedPolicyArns and inline Policies,
  and the AWS::IAM::Policy resources attached to it (`Roles: [!Ref MyRole]`);
- `Role: arn:aws:iam::...` of a role made elsewhere: the ARN only (lsim cannot see its policies);
- no Role on an AWS::Serverless::Function: the role SAM's transform makes, `<LogicalId>Role`, with
  AWSLambdaBasicExecutionRole, AWSLambdaVPCAccessExecutionRole when VpcConfig is set (samtranslator
  model/sam_resources.py, `_construct_role`), the function's `Policies`, then AWSLambdaSQSQueueExecutionRole when
  it has an SQS event: managed policy names or ARNs,
  policy templates (`{SQSPollerPolicy: {...}}`) and inline statements.
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html#sam-function-policies
"""

from __future__ import annotations

from typing import Any

from ..cfn import Template, Unresolvable, line_of
from ..execution_role import BASIC_POLICY, VPC_POLICY, ExecutionRole, policy_name
from .notes import Notes

#: the managed policy SAM's transform gives a function with an SQS event (aws-sam-translator, eventsources/pull.py)
SQS_POLICY = "AWSLambdaSQSQueueExecutionRole"

IAM_ROLE = "AWS::IAM::Role"
IAM_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
IAM_TYPES = (IAM_ROLE, *IAM_POLICY_TYPES)
#: the SAM policy templates that grant what lsim checks (the network interfaces of a VPC function):
#: samtranslator policy_templates_data/policy_templates.json; the others grant none of it
POLICY_TEMPLATE_ACTIONS = {
    "VPCAccessPolicy": (
        "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "ec2:DescribeNetworkInterfaces",
        "ec2:DetachNetworkInterface",
    ),
}  # fmt: skip


class RoleReader:
    """Reads the execution role of the template's functions."""

    def __init__(self, template: Template, notes: Notes) -> None:
        self.template = template
        self.notes = notes

    def role(
        self,
        logical_id: str,
        role: tuple[Any, int, str] | None,
        policies: tuple[Any, int, str] | None,
        serverless: bool,
        in_vpc: bool,
        *,
        sqs_events: bool = False,
    ) -> ExecutionRole | None:
        """The function's role from its Role and Policies properties ((value, line, path) each); None when
        it names none and is not a SAM function (lsim's default role)."""
        if role is not None:
            value, line, path = role
            if policies is not None:
                self.notes.report(policies[1], f"{policies[2]}: ignored, as SAM ignores Policies when Role is set")
            try:
                return self._named_role(value, line)
            except Unresolvable as exc:
                self.notes.unsupported(exc.line, f"{path}: {exc.message}")
                return None
        if not serverless:
            return None
        managed = [BASIC_POLICY, *([VPC_POLICY] if in_vpc else [])]
        actions: list[str] = []
        if policies is not None:
            value, line, path = policies
            try:
                self._policies(value, managed, actions, line, path)
            except Unresolvable as exc:
                self.notes.unsupported(exc.line, f"{path}: {exc.message}")
        if sqs_events:  # SAM appends it for an SQS event, after the user's Policies
            managed.append(SQS_POLICY)
        pseudo = self.template.pseudo
        arn = f"arn:aws:iam::{pseudo['AWS::AccountId']}:role/{pseudo['AWS::StackName']}-{logical_id}Role"
        return ExecutionRole(arn=arn, policies=managed, actions=actions)

    def _named_role(self, value: Any, line: int) -> ExecutionRole:
        target = _role_resource(value)
        resource = self.template.resources.get(target) if target else None
        if isinstance(resource, dict) and resource.get("Type") == IAM_ROLE:
            return self._template_role(target or "", resource, line)
        arn = self.template.resolve_text(value, line, "Role")
        return ExecutionRole(arn=arn)

    def _template_role(self, logical_id: str, resource: dict[str, Any], line: int) -> ExecutionRole:
        """An AWS::IAM::Role of the template, with the policies attached to it there."""
        properties = resource.get("Properties") or {}
        line = line_of(properties, line)
        managed = [policy_name(self.template.resolve_text(arn, line, "ManagedPolicyArns")) for arn in
                   properties.get("ManagedPolicyArns") or []]  # fmt: skip
        actions: list[str] = []
        for policy in properties.get("Policies") or []:
            if isinstance(policy, dict):
                actions += _allowed(policy.get("PolicyDocument"))
        for other in self.template.resources.values():
            if isinstance(other, dict) and other.get("Type") in IAM_POLICY_TYPES:
                attached = (other.get("Properties") or {}).get("Roles") or []
                if any(_role_resource(item) == logical_id for item in attached):
                    actions += _allowed(other["Properties"].get("PolicyDocument"))
        pseudo = self.template.pseudo
        name = properties.get("RoleName")
        name = (
            self.template.resolve_text(name, line, "RoleName") if name else f"{pseudo['AWS::StackName']}-{logical_id}"
        )
        path = self.template.resolve_text(properties.get("Path") or "/", line, "Path")
        arn = f"arn:aws:iam::{pseudo['AWS::AccountId']}:role{path}{name}"
        return ExecutionRole(arn=arn, policies=managed, actions=actions)

    def _policies(self, value: Any, managed: list[str], actions: list[str], line: int, path: str) -> None:
        """SAM's Policies: one policy or a list; each a managed policy, a policy template or a document."""
        for policy in value if isinstance(value, list) else [value]:
            if isinstance(policy, str) or _is_function(policy):
                managed.append(policy_name(self.template.resolve_text(policy, line_of(policy, line), path)))
            elif isinstance(policy, dict) and "Statement" in policy:
                actions += _allowed(policy)
            elif isinstance(policy, dict) and len(policy) == 1:
                actions += POLICY_TEMPLATE_ACTIONS.get(next(iter(policy)), ())
            else:
                self.notes.unsupported(line_of(policy, line), f"{path}: a policy lsim cannot read")


def _role_resource(value: Any) -> str | None:
    """The logical id in `!GetAtt X.Arn` or `!Ref X`, else None."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Fn::GetAtt" and isinstance(argument, list) and len(argument) == 2 and argument[1] == "Arn":
            return str(argument[0])
        if key == "Ref" and isinstance(argument, str):
            return argument
    return None


def _is_function(value: Any) -> bool:
    """`!Sub ...`, `!Ref ...`: an intrinsic function, which gives a managed policy's ARN here."""
    return isinstance(value, dict) and len(value) == 1 and any(k == "Ref" or k.startswith("Fn::") for k in value)


def _allowed(document: Any) -> list[str]:
    """The actions a policy document's Allow statements grant."""
    if not isinstance(document, dict):
        return []
    statements = document.get("Statement") or []
    actions: list[str] = []
    for statement in statements if isinstance(statements, list) else [statements]:
        if isinstance(statement, dict) and statement.get("Effect") == "Allow":
            action = statement.get("Action") or []
            actions += [str(a) for a in (action if isinstance(action, list) else [action])]
    return actions
