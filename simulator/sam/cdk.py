"""`cdk synth` output read as it is: the cloud assembly folder (`cdk.out/`, its manifest.json names each
stack's template) and the CloudFormation templates in it.

- a resource's code is a CDK asset: `Metadata: {aws:asset:path: asset.<hash>, aws:asset:property: Code}`
  names the folder (relative to cdk.out) that stands for the property, as `sam local` reads it; an image
  asset (`Code.ImageUri`) is built from its Dockerfile, as `sam build` builds it; a nested stack's template
  is an asset too (`TemplateURL`);
- a resource is found by its CDK id as well as its logical ID: `aws:cdk:path` `MyStack/MyFunction/Resource`
  gives `MyFunction` (SAM's rule: a last segment `Resource` gives the one before it), and SAM's own
  `Metadata.SamResourceId` wins over both;
- the asset parameters of older CDK versions (`AssetParameters...S3Bucket...`) stand for the code the
  metadata names, and are never asked for.
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/using-cdk-getting-started.html
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..cfn import YamlMap
from ..errors import ProjectFileError

ASSET_PATH = "aws:asset:path"
ASSET_PROPERTY = "aws:asset:property"
CDK_PATH = "aws:cdk:path"
SAM_RESOURCE_ID = "SamResourceId"
CDK_METADATA = "AWS::CDK::Metadata"  # the CDK's own version report: nothing to run
IMAGE_ASSET_PROPERTY = "Code.ImageUri"
DOCKERFILE_PATH = "aws:asset:dockerfile-path"
MANIFEST = "manifest.json"
STACK_ARTIFACT = "aws:cloudformation:stack"
NESTED_STACK_SUFFIX = ".NestedStack"


def is_cloud_assembly(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()


def stack_templates(assembly: Path) -> dict[str, Path]:
    """Stack name -> template of every stack in a cloud assembly (manifest.json's stack artifacts)."""
    try:
        manifest = json.loads((assembly / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProjectFileError(f"{assembly / MANIFEST}: cannot read it ({exc}); run `cdk synth` again") from None
    stacks: dict[str, Path] = {}
    artifacts = manifest.get("artifacts") if isinstance(manifest, dict) else None
    for artifact_id, artifact in (artifacts or {}).items():
        if not isinstance(artifact, dict) or artifact.get("type") != STACK_ARTIFACT:
            continue
        properties = artifact.get("properties") or {}
        template = properties.get("templateFile")
        if isinstance(template, str):
            stacks[str(properties.get("stackName") or artifact_id)] = assembly / template
    return stacks


def assembly_template(assembly: Path) -> Path | None:
    """The one stack template of a cloud assembly; several are refused with their paths, to pick one."""
    stacks = stack_templates(assembly)
    if len(stacks) > 1:
        choices = ", ".join(f"--template {path}" for path in stacks.values())
        raise ProjectFileError(
            f"{assembly}: the cloud assembly holds {len(stacks)} stacks ({', '.join(stacks)}): name one with {choices}"
        )
    return next(iter(stacks.values()), None)


def stack_name_of(template: Path) -> str | None:
    """The stack a template of a cloud assembly belongs to, as manifest.json names it."""
    if not is_cloud_assembly(template.parent):
        return None
    for name, path in stack_templates(template.parent).items():
        if path.resolve() == template.resolve():
            return name
    return None


def use_assets(resources: YamlMap) -> None:
    """Put each asset's local path where the resource's property was (Code, Content, TemplateURL), as
    `sam local` does; an image asset is left for the reader to report."""
    for resource in resources.values():
        metadata = resource.get("Metadata") if isinstance(resource, dict) else None
        if not isinstance(metadata, dict):
            continue
        path, prop = metadata.get(ASSET_PATH), metadata.get(ASSET_PROPERTY)
        if not isinstance(path, str) or not isinstance(prop, str):
            continue
        properties = resource.get("Properties")
        if prop == IMAGE_ASSET_PROPERTY:  # an image built from the asset's Dockerfile, as `sam build` builds it
            metadata.setdefault("Dockerfile", metadata.get(DOCKERFILE_PATH) or "Dockerfile")
            metadata.setdefault("DockerContext", path)
            if isinstance(properties, dict):
                properties.pop("Code", None)  # the ECR address it would have once `cdk deploy` pushed it
            continue
        if "." in prop:
            continue
        if not isinstance(properties, YamlMap):
            properties = YamlMap(line=resource.line_of("Properties") if isinstance(resource, YamlMap) else 0)
            resource["Properties"] = properties
        properties[prop] = path
        if isinstance(metadata, YamlMap):
            properties.lines[prop] = metadata.line_of(ASSET_PATH)


def resource_id(resource: Any, logical_id: str) -> str:
    """SAM's id of a resource: Metadata.SamResourceId, else the CDK id of its `aws:cdk:path`, else its
    logical ID."""
    metadata = resource.get("Metadata") if isinstance(resource, dict) else None
    if not isinstance(metadata, dict):
        return logical_id
    own = metadata.get(SAM_RESOURCE_ID)
    if isinstance(own, str) and own:
        return own
    path = metadata.get(CDK_PATH)
    if not isinstance(path, str) or "/" not in path:
        return logical_id
    parts = path.split("/")
    nested_stack = resource.get("Type") == "AWS::CloudFormation::Stack" and parts[-2].endswith(NESTED_STACK_SUFFIX)
    found = parts[-2] if parts[-1] == "Resource" or nested_stack else parts[-1]
    return found.removesuffix(NESTED_STACK_SUFFIX) if nested_stack else found
