"""Nested applications: an `AWS::Serverless::Application` with a local `Location`, or an
`AWS::CloudFormation::Stack` with a local `TemplateURL` (a CDK nested stack names its template in its asset
metadata, cdk.py). Where the child template is, and the parameters the parent passes down to it.

`sam local` names a nested function by its stack path, `SubApp/FunctionA` (posixpath.join of the stack path
and the function's id); lsim finds it by that path too. A function name cannot hold '/', so a nested function
without FunctionName is named `SubApp-FunctionA` (on AWS, CloudFormation would make one up).
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-application.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-stack.html
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..cfn import NO_VALUE, Template, Unresolvable, YamlMap, text
from ..config import Limits, Settings
from ..vpc import VpcConfig
from .notes import Notes

SERVERLESS_APPLICATION = "AWS::Serverless::Application"
CLOUDFORMATION_STACK = "AWS::CloudFormation::Stack"
STACK_TYPES = (SERVERLESS_APPLICATION, CLOUDFORMATION_STACK)


@dataclass(frozen=True)
class ParentStack:
    """What a nested template takes from the stack that includes it: the root's settings, limits and VPCs,
    its place in the tree, and the templates above it (a template that includes itself is refused)."""

    settings: Settings
    limits: Limits
    vpcs: dict[str, VpcConfig]
    stack_path: str  # "SubApp", "SubApp/Inner": SAM's stack path of the nested stack
    stack_name: str  # AWS::StackName in the nested template
    chain: tuple[Path, ...]  # the templates from the root down to the parent, resolved
    said: set[str]  # what the templates of this load have said: a template included twice says it once


def full_path(stack_path: str, resource_id: str) -> str:
    """SAM's name of a resource in a nested stack: `SubApp/FunctionA`; in the root stack, its id."""
    return f"{stack_path}/{resource_id}" if stack_path else resource_id


def implicit_name(stack_path: str, logical_id: str) -> str:
    """The name of a function that has no FunctionName: its logical ID in the root template, the stack path
    and logical ID joined by '-' in a nested one (a function name cannot hold '/')."""
    return f"{stack_path.replace('/', '-')}-{logical_id}" if stack_path else logical_id


def child_template(
    template: Template, notes: Notes, root: Path, logical_id: str, resource: YamlMap
) -> tuple[Path, int] | None:
    """The nested template's path and the line that names it; None (said once) when it is not on this
    machine: an application of the Serverless Application Repository, or a template on S3 or the web."""
    line = template.resources.line_of(logical_id)
    properties = resource.get("Properties") or YamlMap(line=line)
    key = "Location" if resource["Type"] == SERVERLESS_APPLICATION else "TemplateURL"
    where = f"Resources.{logical_id}.Properties.{key}"
    if key not in properties:
        raise notes.error(line, f"Resources.{logical_id}: a nested application needs {key}, its template's path")
    key_line = properties.line_of(key)
    location = template.resolve(properties[key], key_line)
    if isinstance(location, dict):  # {ApplicationId, SemanticVersion}
        notes.unsupported(
            key_line,
            f"{where} (an application of the Serverless Application Repository)",
            "lsim reads local templates: download the application's template and point Location at it",
        )
        return None
    location = text(location)
    if location.startswith(("s3://", "http://", "https://")):
        notes.unsupported(key_line, f"{where} ({location})", f"lsim reads local templates: point {key} at a file")
        return None
    if location.startswith("file://"):
        location = unquote(urlparse(location).path)
    path = (root / location).resolve()
    if path.is_dir():
        from . import find_template  # a folder: its template.yaml, as for the root

        found = find_template(path)
        path = found.resolve() if found is not None else path / "template.yaml"
    if not path.is_file():
        raise notes.error(
            key_line, f"{where}: {path} does not exist; point it at the nested template, relative to this one"
        )
    return path, key_line


def parameters_passed(template: Template, notes: Notes, logical_id: str, resource: YamlMap) -> dict[str, str]:
    """The parent's `Parameters` for the nested stack, each resolved to the string CloudFormation passes
    (a list joined by commas). A value lsim cannot compute is said and left out: the child's Default applies."""
    line = template.resources.line_of(logical_id)
    properties = resource.get("Properties") or YamlMap(line=line)
    given = properties.get("Parameters") or YamlMap(line=line)
    if not isinstance(given, dict):
        raise notes.error(properties.line_of("Parameters"), f"Resources.{logical_id}.Properties.Parameters must be "
                          "a mapping of parameter name to value")  # fmt: skip
    passed: dict[str, str] = {}
    for name, value in given.items():
        name_line = given.line_of(name) if isinstance(given, YamlMap) else line
        try:
            resolved: Any = template.resolve(value, name_line)
        except Unresolvable as exc:
            notes.unsupported(exc.line, f"Resources.{logical_id}.Properties.Parameters.{name}: {exc.message}")
            continue
        if resolved is NO_VALUE:
            continue
        passed[str(name)] = ",".join(text(v) for v in resolved) if isinstance(resolved, list) else text(resolved)
    return passed
