"""AWS SAM templates read into the same ProjectConfig that lsim.toml gives: nothing downstream knows where the
configuration came from.

    AWS::Serverless::Function, AWS::Lambda::Function     -> a function (functions.py)
    AWS::Serverless::LayerVersion, AWS::Lambda::LayerVersion
                                                         -> `!Ref Layer` in Layers becomes the layer's local
                                                            folder (absolute), which lsim publishes on the fly
                                                            (resources.py)
    FunctionName                                         -> the function's name; the logical ID still finds it
    AWS::Serverless::Application, AWS::CloudFormation::Stack
                                                         -> a nested template's functions, `SubApp/FunctionA`
                                                            (stacks.py)
    `cdk synth` output (cdk.out/)                        -> its stack template, assets and CDK ids (cdk.py)
    Globals.Function                                     -> merged into every AWS::Serverless::Function
    Events: Type Api / HttpApi, AWS::Serverless::Api / ::HttpApi (and Globals.Api / Globals.HttpApi),
    FunctionUrlConfig, AWS::Lambda::Url                  -> the routes, APIs and function URLs that
                                                            `lsim serve --http-port` serves (http.py)
    Parameters, Mappings, Conditions, pseudo-parameters  -> simulator/cfn.py
    --parameter-overrides, --env-vars, samconfig.toml    -> options.py

What lsim does not do (Events, Policies, other resources, unknown intrinsic functions, ...) is reported once,
with its line (`template.yaml:12: ... not supported by lsim: ignored`), and the rest goes on. Only a function
that cannot be built at all (no code folder, an invalid value) stops the load, with file, line and fix
(notes.py). reader.py reads one template, top to bottom.

Why not AWS's own SAM transform (aws-sam-translator, which SAM CLI runs)? Tried on these templates: it
refuses a local CodeUri/ContentUri (SAM CLI swaps them for made-up S3 URIs first), needs boto3 and a Region,
fetches a Serverless Application Repository Location over the network, turns a local Location into an
AWS::CloudFormation::Stack without reading it, and keeps no line numbers; importing it alone takes longer
than this reader's whole load. What lsim runs (functions, layers, nested templates) is read here.

https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-function.html
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..config import ProjectConfig
from ..errors import ProjectFileError
from .notes import Warn, stderr
from .options import apply_env_vars, parse_parameter_overrides
from .reader import SamReader
from .resources import LocalLayer
from .said import say_once

__all__ = [
    "TEMPLATE_FILES",
    "LocalLayer",
    "Warn",
    "apply_env_vars",
    "find_template",
    "is_template",
    "load_template",
    "parse_parameter_overrides",
]

TEMPLATE_FILES = ("template.yaml", "template.yml", "template.json")


def find_template(folder: Path) -> Path | None:
    """template.yaml (or .yml, .json) in `folder`, as `sam` looks for it; in a `cdk synth` cloud assembly
    (cdk.out/, or a CDK app's folder holding one), its stack's template."""
    for name in TEMPLATE_FILES:
        if (folder / name).is_file():
            return folder / name
    from .cdk import assembly_template, is_cloud_assembly

    if is_cloud_assembly(folder):
        return assembly_template(folder)
    if (folder / "cdk.json").is_file() and is_cloud_assembly(folder / "cdk.out"):
        return assembly_template(folder / "cdk.out")
    return None


def is_template(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml", ".json")


def load_template(
    path: Path, *, parameter_overrides: Mapping[str, str] | None = None, warn: Warn | None = None
) -> ProjectConfig:
    """Read a SAM (or plain CloudFormation) template into a ProjectConfig rooted at its folder. Without
    `warn`, what lsim leaves out is said on stderr once per change of the template (said.py)."""
    if not path.is_file():
        raise ProjectFileError(f"{path}: no such template; pass the path of an existing template.yaml")
    overrides = dict(parameter_overrides or {})
    if warn is not None:
        return SamReader(path, overrides, warn).project()
    warnings: list[str] = []
    try:
        reader = SamReader(path, overrides, warnings.append)
        project = reader.project()
    except ProjectFileError:
        for warning in warnings:  # what was found before the error may explain it
            stderr(warning)
        raise
    say_once(project.root, reader.templates, overrides, warnings, stderr)
    return project
