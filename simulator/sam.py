"""AWS SAM templates read into the same ProjectConfig that lsim.toml gives: nothing downstream knows where the
configuration came from.

    AWS::Serverless::Function, AWS::Lambda::Function     -> a function named by its logical ID
    AWS::Serverless::LayerVersion, AWS::Lambda::LayerVersion
                                                         -> `!Ref Layer` in Layers becomes the layer's local
                                                            folder (absolute), which lsim publishes on the fly
    Globals.Function                                     -> merged into every AWS::Serverless::Function
    Parameters, Mappings, Conditions, pseudo-parameters  -> simulator/cfn.py

What lsim does not do (Events, Policies, other resources, unknown intrinsic functions, ...) is reported once,
with its line (`template.yaml:12: ... not supported by lsim: ignored`), and the rest goes on. Only a function
that cannot be built at all (no code folder, an invalid value) stops the load, with file, line and fix.

https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-function.html
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .cfn import NO_VALUE, Pseudo, Template, Unresolvable, YamlList, YamlMap, line_of, load_yaml, text
from .config import RUNTIMES, FunctionConfig, Limits, ProjectConfig, Settings, check_environment
from .errors import ProjectFileError
from .vpc import VpcConfig, check_function_vpcs

TEMPLATE_FILES = ("template.yaml", "template.yml", "template.json")
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
FUNCTION_TYPES = (SERVERLESS_FUNCTION, LAMBDA_FUNCTION)
LAYER_TYPES = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")
Warn = Callable[[str], None]

#: properties whose lsim feature may not be here yet: the FunctionConfig field each fills. When FunctionConfig
#: has the field, the property maps onto it; until then it is reported as "not supported by lsim yet".
FEATURE_FIELDS = {
    "ReservedConcurrentExecutions": "reserved_concurrency",  # issue 4
    "ProvisionedConcurrencyConfig": "provisioned_concurrency",  # issue 4: {alias: environments}
    "AutoPublishAlias": "auto_publish_alias",  # issue 5 (versions and aliases)
    "VpcConfig": "vpc",  # issue 8: {subnets: [...], security_groups: [...]}
    "MaximumEventAgeInSeconds": "maximum_event_age_in_seconds",  # issue 4 (asynchronous invocation)
    "MaximumRetryAttempts": "maximum_retry_attempts",
    "OnFailure": "on_failure",
}
#: what `Ref` / `Fn::GetAtt X.Arn` give for resources lsim does not create: (name property, Ref, Arn)
STAND_INS = {
    "AWS::SQS::Queue": ("QueueName", "https://sqs.{r}.{u}/{a}/{n}", "arn:{p}:sqs:{r}:{a}:{n}"),
    "AWS::SNS::Topic": ("TopicName", "arn:{p}:sns:{r}:{a}:{n}", "arn:{p}:sns:{r}:{a}:{n}"),
    "AWS::DynamoDB::Table": ("TableName", "{n}", "arn:{p}:dynamodb:{r}:{a}:table/{n}"),
    "AWS::Serverless::SimpleTable": ("TableName", "{n}", "arn:{p}:dynamodb:{r}:{a}:table/{n}"),
    "AWS::S3::Bucket": ("BucketName", "{n}", "arn:{p}:s3:::{n}"),
    "AWS::Kinesis::Stream": ("Name", "{n}", "arn:{p}:kinesis:{r}:{a}:stream/{n}"),
    "AWS::Events::EventBus": ("Name", "{n}", "arn:{p}:events:{r}:{a}:event-bus/{n}"),
}
#: an event source lsim does not wire up, and the sample event to invoke the function with instead
EVENT_SAMPLES = {
    "Api": "apigateway aws-proxy", "HttpApi": "apigateway http-api-proxy", "SQS": "sqs receive-message",
    "SNS": "sns notification", "S3": "s3 put", "EventBridgeRule": "eventbridge event",
    "CloudWatchEvent": "eventbridge event", "Schedule": "cloudwatch scheduled-event",
    "ScheduleV2": "cloudwatch scheduled-event", "DynamoDB": "dynamodb update", "Kinesis": "kinesis get-records",
}  # fmt: skip
#: properties of a layer resource that need nothing from lsim
LAYER_PROPERTIES = frozenset(
    {"ContentUri", "Content", "CompatibleRuntimes", "CompatibleArchitectures", "LayerName", "Description",
     "LicenseInfo", "RetentionPolicy"}
)  # fmt: skip
#: FunctionConfig field -> the property that fills it, for error messages
PROPERTY_OF = {
    "handler": "Handler", "runtime": "Runtime", "code": "CodeUri", "image": "ImageUri",
    "memory_size": "MemorySize", "timeout": "Timeout", "ephemeral_storage": "EphemeralStorage.Size",
    "architecture": "Architectures", "layers": "Layers", "environment": "Environment.Variables",
    "description": "Description",
}  # fmt: skip


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def find_template(folder: Path) -> Path | None:
    """template.yaml (or .yml, .json) in `folder`, as `sam` looks for it."""
    for name in TEMPLATE_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def is_template(path: Path) -> bool:
    return path.suffix.lower() in (".yaml", ".yml", ".json")


def load_template(
    path: Path, *, parameter_overrides: Mapping[str, str] | None = None, warn: Warn | None = None
) -> ProjectConfig:
    """Read a SAM (or plain CloudFormation) template into a ProjectConfig rooted at its folder."""
    if not path.is_file():
        raise ProjectFileError(f"{path}: no such template; pass the path of an existing template.yaml")
    return _SamReader(path, dict(parameter_overrides or {}), warn or _stderr).project()


def parse_parameter_overrides(items: Iterable[str]) -> dict[str, str]:
    """SAM's forms: `Key=Value Key2='two words'` (one string or several) and
    `ParameterKey=Key,ParameterValue=Value`."""
    overrides: dict[str, str] = {}
    for item in items:
        try:
            tokens = shlex.split(item)
        except ValueError as exc:
            raise ProjectFileError(f"--parameter-overrides {item!r}: {exc}; quote values with spaces") from None
        for token in tokens:
            long_form = re.fullmatch(r"ParameterKey=([^,]+),ParameterValue=(.*)", token)
            key, sep, value = (long_form[1], "=", long_form[2]) if long_form else token.partition("=")
            if not sep or not key:
                raise ProjectFileError(
                    f"--parameter-overrides {token!r}: write KEY=VALUE (for example Stage=prod), several "
                    "separated by spaces"
                )
            overrides[key] = value
    return overrides


def apply_env_vars(project: ProjectConfig, path: Path, warn: Warn | None = None) -> ProjectConfig:
    """`--env-vars FILE` in SAM's format, `{"FunctionName": {"VAR": "value"}, "Parameters": {...}}`:
    "Parameters" applies to every function, a function's own entry wins. Unlike `sam local`, any variable
    is set, not only those the template declares; Lambda's rules (reserved keys, 4 KB) still apply."""
    where, warn = f"--env-vars {path}", warn or _stderr
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ProjectFileError(f"{where}: cannot read it ({exc.strerror}); give an existing JSON file") from None
    except ValueError as exc:
        raise ProjectFileError(f"{where}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ProjectFileError(
            f'{where}: expected {{"FunctionName": {{"VAR": "value"}}, "Parameters": {{"VAR": "value"}}}}'
        )
    for key in data:
        if key != "Parameters" and key not in project.functions:
            warn(f"{where}: no function named {key} in the project: its variables are ignored")
    functions: dict[str, FunctionConfig] = {}
    for name, function in project.functions.items():
        extra = {**data.get("Parameters", {}), **data.get(name, {})}
        if not extra:
            functions[name] = function
            continue
        environment = {**function.environment, **{str(k): text(v) for k, v in extra.items()}}
        try:
            check_environment(environment, project.limits)
        except ValueError as exc:
            raise ProjectFileError(f"{where}: {name}: {exc}") from None
        functions[name] = function.model_copy(update={"environment": environment})
    return project.model_copy(update={"functions": functions})


@dataclass(frozen=True)
class LocalLayer:
    """A layer resource of the template: its content on this machine and the ARN it would have on AWS.
    In `Layers` it stands for its folder; anywhere else (`!Sub`, an environment variable) for its ARN."""

    logical_id: str
    path: Path
    arn: str
    compatible_runtimes: tuple[str, ...]
    compatible_architectures: tuple[str, ...]

    def __str__(self) -> str:
        return self.arn


class _Function:
    """The FunctionConfig fields gathered for one function, and where each came from."""

    def __init__(self, logical_id: str, kind: str, line: int) -> None:
        self.logical_id = logical_id
        self.kind = kind
        self.line = line
        self.fields: dict[str, Any] = {"name": logical_id}
        self.origin: dict[str, tuple[str, int]] = {}  # field -> (property path, line)
        self.package_type = "Zip"
        self.layer_resources: list[tuple[LocalLayer, int]] = []
        self.provisioned: tuple[Any, int, str] | None = None

    def set(self, field: str, value: Any, path: str, line: int) -> None:
        self.fields[field] = value
        self.origin[field] = (path, line)


class _SamReader:
    """Reads one template; `project()` builds the ProjectConfig and reports what it leaves out."""

    def __init__(self, path: Path, overrides: dict[str, str], warn: Warn) -> None:
        self.path = path.resolve()
        self.root = self.path.parent
        self.source = _display(path)
        self._warn = warn
        self._said: set[str] = set()
        try:
            data = load_yaml(self.path.read_text(), self.source)
        except OSError as exc:
            raise ProjectFileError(f"{self.source}: cannot read it: {exc.strerror}") from None
        self.data = data
        self.samconfig = _samconfig(self.root)
        self.settings, self.limits = self._settings(data, overrides)
        stack_name = self.samconfig.get("stack_name") or _stack_name(self.root.name)
        pseudo = Pseudo(self.settings.region, self.settings.account_id, str(stack_name))
        self.template = Template(
            data, source=self.source, pseudo=pseudo, overrides=overrides, refs=self, warn=self.report
        )
        self._layers: dict[str, LocalLayer] = {}

    # -- reporting ----------------------------------------------------------------------------------
    def report(self, line: int, message: str) -> None:
        """Say once what lsim leaves out, with the line it is on."""
        said = f"{self.source}:{line}: {message}"
        if said not in self._said:
            self._said.add(said)
            self._warn(said)

    def unsupported(self, line: int, what: str, hint: str = "") -> None:
        self.report(line, f"{what} not supported by lsim: ignored" + (f" ({hint})" if hint else ""))

    def error(self, line: int, message: str) -> ProjectFileError:
        return ProjectFileError(f"{self.source}:{line}: {message}")

    # -- the project --------------------------------------------------------------------------------
    def _settings(self, data: YamlMap, overrides: Mapping[str, str]) -> tuple[Settings, Limits]:
        """Region and account: `--parameter-overrides AWS::Region=..`, samconfig.toml, `Metadata.lsim`."""
        metadata = data.get("Metadata")
        lsim = metadata.get("lsim") if isinstance(metadata, dict) else None
        lsim = lsim if isinstance(lsim, dict) else {}
        self.metadata_lsim: dict[str, Any] = lsim
        settings = dict(lsim.get("settings") or {})
        if "region" in self.samconfig:
            settings.setdefault("region", self.samconfig["region"])
        if "AWS::Region" in overrides:
            settings["region"] = overrides["AWS::Region"]
        if "AWS::AccountId" in overrides:
            settings["account_id"] = overrides["AWS::AccountId"]
        line = metadata.line_of("lsim") if isinstance(metadata, YamlMap) else 1
        try:
            return (
                Settings.model_validate(settings),
                Limits.model_validate(dict(lsim.get("limits") or {})),
            )
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise self.error(line, f"Metadata.lsim (or --parameter-overrides AWS::...): {problems}") from None

    def project(self) -> ProjectConfig:
        self._check_sections()
        self.vpcs = self._vpcs()
        functions: dict[str, FunctionConfig] = {}
        resources = self.template.resources
        for logical_id, resource in resources.items():
            line = resources.line_of(logical_id)
            if not isinstance(resource, YamlMap) or not isinstance(resource.get("Type"), str):
                raise self.error(line, f"Resources.{logical_id} needs a Type")
            kind = resource["Type"]
            if "Condition" in resource and not self.template.condition(
                resource["Condition"], resource.line_of("Condition")
            ):
                continue  # CloudFormation would not create it
            if kind in FUNCTION_TYPES:
                function = self._function(logical_id, resource, kind)
                if function is not None:
                    functions[logical_id] = function
            elif kind in LAYER_TYPES:
                try:
                    self.layer(logical_id)
                except Unresolvable as exc:
                    self.unsupported(exc.line, f"Resources.{logical_id}: {exc.message}")
            else:
                self.unsupported(line, f"Resources.{logical_id} ({kind})", _resource_hint(kind))
        problems = check_function_vpcs(self.vpcs, functions)
        if problems:
            line = self._metadata_line("vpcs")
            raise ProjectFileError("\n".join(f"{self.source}:{line}: {field}: {why}" for field, why in problems))
        return ProjectConfig(
            root=self.root, settings=self.settings, limits=self.limits, functions=functions, vpcs=self.vpcs
        )

    def _metadata_line(self, key: str) -> int:
        metadata = self.data.get("Metadata")
        lsim = metadata.get("lsim") if isinstance(metadata, YamlMap) else None
        if isinstance(lsim, YamlMap):
            return lsim.line_of(key)
        return metadata.line_of("lsim") if isinstance(metadata, YamlMap) else 1

    def _vpcs(self) -> dict[str, VpcConfig]:
        """`Metadata: {lsim: {vpcs: {NAME: ...}}}`: lsim's fake VPCs, as `[vpcs.NAME]` in lsim.toml. The
        template's own AWS::EC2 resources are not turned into VPCs: lsim cannot know their addresses."""
        tables = self.metadata_lsim.get("vpcs") or {}
        line = self._metadata_line("vpcs")
        if not isinstance(tables, dict):
            raise self.error(line, "Metadata.lsim.vpcs must be a mapping of VPC name to its description")
        vpcs: dict[str, VpcConfig] = {}
        for name, table in tables.items():
            where = tables.line_of(name) if isinstance(tables, YamlMap) else line
            try:
                vpcs[name] = VpcConfig.model_validate({**(table or {}), "name": name})
            except (ValidationError, TypeError) as exc:
                problems = (
                    "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                    if isinstance(exc, ValidationError)
                    else str(exc)
                )
                raise self.error(where, f"Metadata.lsim.vpcs.{name}: {problems}") from None
        return vpcs

    def _check_sections(self) -> None:
        transform = self.data.get("Transform")
        transforms = transform if isinstance(transform, list) else [transform] if transform else []
        for name in transforms:
            if name != "AWS::Serverless-2016-10-31" and not (
                name == "AWS::LanguageExtensions" or isinstance(name, dict)
            ):
                self.unsupported(self.data.line_of("Transform"), f"Transform {name}")
        globals_ = self.data.get("Globals")
        if isinstance(globals_, YamlMap):
            for section in globals_:
                if section != "Function":
                    self.unsupported(globals_.line_of(section), f"Globals.{section}")

    # -- functions ----------------------------------------------------------------------------------
    def _function(self, logical_id: str, resource: YamlMap, kind: str) -> FunctionConfig | None:
        line = self.template.resources.line_of(logical_id)
        function = _Function(logical_id, kind, line)
        properties = resource.get("Properties") or YamlMap(line=line)
        if not isinstance(properties, YamlMap):
            raise self.error(line, f"Resources.{logical_id}.Properties must be a mapping")
        entries = list(self._merged_properties(logical_id, properties, kind))
        package = next((value for key, value, _, _ in entries if key == "PackageType"), "Zip")
        function.package_type = self.template.resolve_text(package, line, "PackageType")
        for key, value, key_line, path in entries:
            try:
                if _is_intrinsic(value):  # the whole property, e.g. `!If [C, x, !Ref AWS::NoValue]`
                    value = self.template.resolve(value, key_line)
                    if value is NO_VALUE:
                        continue
                self._property(function, key, value, key_line, path)
            except Unresolvable as exc:
                self.unsupported(exc.line, f"{path}: {exc.message}")
        try:
            self._provisioned(function)
        except Unresolvable as exc:
            self.unsupported(exc.line, f"{function.provisioned[2] if function.provisioned else ''}: {exc.message}")
        return self._validated(function, resource)

    def _merged_properties(
        self, logical_id: str, properties: YamlMap, kind: str
    ) -> Iterable[tuple[str, Any, int, str]]:
        """(property, value, line, path), Globals.Function merged in as SAM merges it: a resource's scalar
        wins, maps merge, lists add up (Globals first). Architectures is replaced, not added: a function
        has one. https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-template-anatomy-globals.html"""
        globals_ = self.data.get("Globals")
        defaults = globals_.get("Function") if kind == SERVERLESS_FUNCTION and isinstance(globals_, dict) else None
        if isinstance(defaults, YamlMap):
            for key, value in defaults.items():
                if key not in properties:
                    yield key, value, defaults.line_of(key), f"Globals.Function.{key}"
        for key, value in properties.items():
            inherited = defaults.get(key) if isinstance(defaults, YamlMap) else None
            if inherited is not None and key != "Architectures":
                value = _merge(inherited, value)
            yield key, value, properties.line_of(key), f"Resources.{logical_id}.Properties.{key}"

    def _property(self, function: _Function, key: str, value: Any, line: int, path: str) -> None:
        """Map one property onto the function's fields, or say what lsim does not do with it."""
        resolve = self.template.resolve
        zip_package = function.package_type != "Image"
        serverless = function.kind == SERVERLESS_FUNCTION
        if key == "PackageType":
            if function.package_type not in ("Zip", "Image"):
                raise self.error(line, f"{path}: PackageType is Zip or Image, not {function.package_type!r}")
        elif key in ("Handler", "Runtime", "Description"):
            field = {"Handler": "handler", "Runtime": "runtime", "Description": "description"}[key]
            if key != "Description" and not zip_package:
                if not path.startswith("Globals."):  # Globals meant for the Zip functions
                    self.unsupported(line, f"{path} of an Image function", "the image's CMD and ENTRYPOINT run")
            else:
                function.set(field, self.template.resolve_text(value, line, key), path, line)
        elif key in ("MemorySize", "Timeout"):
            field = "memory_size" if key == "MemorySize" else "timeout"
            function.set(field, self._integer(resolve(value, line), line, path), path, line)
        elif key == "EphemeralStorage":
            size = resolve(value, line)
            if not isinstance(size, dict) or "Size" not in size:
                raise self.error(line, f"{path}: write EphemeralStorage: {{Size: MB}}")
            function.set("ephemeral_storage", self._integer(size["Size"], line, path), path + ".Size", line)
        elif key == "Architectures":
            self._architectures(function, resolve(value, line), line, path)
        elif key == "Environment":
            self._environment(function, value, line, path)
        elif key == "Layers":
            self._layers_of(function, value, line, path)
        elif (key == "CodeUri" and serverless) or (key == "Code" and not serverless):
            if zip_package:
                self._code(function, resolve(value, line), line, path)
            elif isinstance(value, dict) and "ImageUri" in value:  # AWS::Lambda::Function's Code.ImageUri
                function.set("image", self.template.resolve_text(value["ImageUri"], line, "ImageUri"), path, line)
            elif not path.startswith("Globals."):
                self.unsupported(line, f"{path} of an Image function", "the image holds the code")
        elif key == "InlineCode" and serverless:
            self._inline(function, self.template.resolve_text(value, line, key), path, line)
        elif key == "ImageUri" and serverless:
            function.set("image", self.template.resolve_text(value, line, key), path, line)
        elif key == "FunctionName":
            name = self.template.resolve_text(value, line, key)
            self.report(line, f"{path}: lsim knows this function as {function.logical_id}, not {name}")
        elif key == "ReservedConcurrentExecutions":
            if self._supported(key, path, line):
                function.set(FEATURE_FIELDS[key], self._integer(resolve(value, line), line, path), path, line)
        elif key == "AutoPublishAlias":
            if self._supported(key, path, line):
                function.set(FEATURE_FIELDS[key], self.template.resolve_text(value, line, key), path, line)
        elif key == "ProvisionedConcurrencyConfig":
            function.provisioned = (value, line, path)  # it applies to the alias: mapped once all are read
        elif key == "VpcConfig":
            if self._supported(key, path, line):
                self._vpc_config(function, resolve(value, line), line, path)
        elif key == "EventInvokeConfig" and serverless:
            self._event_invoke_config(function, resolve(value, line), line, path)
        elif key in ("DeadLetterQueue", "DeadLetterConfig"):
            target = resolve(value, line)
            if not isinstance(target, dict) or "TargetArn" not in target:
                raise self.error(line, f"{path}: give the dead-letter queue's TargetArn")
            # an EventInvokeConfig destination comes first
            if "on_failure" not in function.fields and self._supported("OnFailure", path, line):
                function.set("on_failure", text(target["TargetArn"]), path, line)
        elif key == "Events" and serverless and isinstance(value, YamlMap):
            for name, event in value.items():
                kind = event.get("Type") if isinstance(event, dict) else None
                sample = EVENT_SAMPLES.get(str(kind))
                hint = f"invoke it with `lsim generate-event {sample}`" if sample else ""
                self.unsupported(value.line_of(name), f"{path}.{name} ({kind})", hint)
        elif key in ("Role", "Policies"):
            self.unsupported(line, path, "lsim puts no AWS credentials in a function's environment")
        else:
            self.unsupported(line, path)

    def _supported(self, key: str, path: str, line: int, hint: str = "") -> bool:
        """Whether FunctionConfig has the field of this property's feature; if not, say so once."""
        if FEATURE_FIELDS[key] in FunctionConfig.model_fields:
            return True
        self.report(line, f"{path} not supported by lsim yet: ignored" + (f" ({hint})" if hint else ""))
        return False

    def _vpc_config(self, function: _Function, config: Any, line: int, path: str) -> None:
        """VpcConfig onto lsim's fake VPCs: only when every subnet and group is in one lsim knows
        (`Metadata.lsim.vpcs`); otherwise the function runs outside any VPC, and lsim says so."""
        vpc = _vpc(config)
        if not vpc["subnets"] and not vpc["security_groups"]:
            return  # an empty VpcConfig: no VPC, as on AWS
        known = {
            i for v in self.vpcs.values() for i in (*(s.id for s in v.subnets), *(g.id for g in v.security_groups))
        }
        unknown = [i for i in (*vpc["subnets"], *vpc["security_groups"]) if i not in known]
        if unknown:
            self.unsupported(
                line,
                f"{path} ({', '.join(unknown)} in no VPC lsim knows)",
                "describe the VPC under Metadata.lsim.vpcs, as [vpcs.NAME] in lsim.toml, to attach the function",
            )
            return
        function.set(FEATURE_FIELDS["VpcConfig"], vpc, path, line)

    def _event_invoke_config(self, function: _Function, config: Any, line: int, path: str) -> None:
        """Asynchronous invocation: retries, event age, and where a failed event goes."""
        if not isinstance(config, YamlMap):
            raise self.error(line, f"{path} must be a mapping")
        for key, value in config.items():
            key_line, key_path = config.line_of(key), f"{path}.{key}"
            if key in ("MaximumEventAgeInSeconds", "MaximumRetryAttempts"):
                number = self._integer(value, key_line, key_path)
                if self._supported(key, key_path, key_line):
                    function.set(FEATURE_FIELDS[key], number, key_path, key_line)
            elif key == "DestinationConfig" and isinstance(value, YamlMap):
                for outcome, destination in value.items():
                    where, at = f"{key_path}.{outcome}", value.line_of(outcome)
                    target = destination.get("Destination") if isinstance(destination, dict) else None
                    if outcome == "OnFailure" and target is not None:
                        if self._supported(outcome, where, at):
                            function.set(FEATURE_FIELDS[outcome], text(target), where, at)
                    else:
                        hint = "give its Destination" if outcome == "OnFailure" else ""
                        self.unsupported(at, where, hint)
            else:
                self.unsupported(key_line, key_path)

    def _provisioned(self, function: _Function) -> None:
        """SAM puts ProvisionedConcurrencyConfig on the AutoPublishAlias: {alias: environments}."""
        if function.provisioned is None:
            return
        value, line, path = function.provisioned
        alias = function.fields.get(FEATURE_FIELDS["AutoPublishAlias"])
        if not self._supported("AutoPublishAlias", path, line, "it applies to the AutoPublishAlias alias"):
            return
        if alias is None:
            raise self.error(line, f"{path}: to set ProvisionedConcurrencyConfig AutoPublishAlias must be defined")
        config = self.template.resolve(value, line)
        if not isinstance(config, dict) or "ProvisionedConcurrentExecutions" not in config:
            raise self.error(
                line, f"{path}: write ProvisionedConcurrencyConfig: {{ProvisionedConcurrentExecutions: N}}"
            )
        count = self._integer(config["ProvisionedConcurrentExecutions"], line, path)
        if self._supported("ProvisionedConcurrencyConfig", path, line):
            function.set(FEATURE_FIELDS["ProvisionedConcurrencyConfig"], {alias: count}, path, line)

    def _integer(self, value: Any, line: int, path: str) -> int:
        try:
            return int(text(value))
        except ValueError:
            raise self.error(line, f"{path}: {value!r} is not a whole number") from None

    def _architectures(self, function: _Function, value: Any, line: int, path: str) -> None:
        if not isinstance(value, list) or len(value) != 1:
            raise self.error(line, f"{path}: give exactly one architecture, [x86_64] or [arm64]")
        function.set("architecture", text(value[0]), path, line)

    def _environment(self, function: _Function, value: Any, line: int, path: str) -> None:
        """Each variable resolved on its own: one that lsim cannot compute is left out, with its line."""
        if _is_intrinsic(value):
            value = self.template.resolve(value, line)
        if not isinstance(value, dict):
            raise self.error(line, f"{path}: write Environment: {{Variables: {{NAME: value}}}}")
        for key in value:
            if key != "Variables":
                self.unsupported(line_of(value, line), f"{path}.{key}")
        variables = value.get("Variables") or {}
        if _is_intrinsic(variables):
            variables = self.template.resolve(variables, line)
        if not isinstance(variables, dict):
            raise self.error(line, f"{path}.Variables must be a mapping of NAME: value")
        environment: dict[str, str] = {}
        for name, raw in variables.items():
            name_line = variables.line_of(name) if isinstance(variables, YamlMap) else line
            try:
                resolved = self.template.resolve(raw, name_line)
            except Unresolvable as exc:
                self.unsupported(exc.line, f"{path}.Variables.{name}: {exc.message}", "set it with --env-vars")
                continue
            if isinstance(resolved, dict | list):
                raise self.error(name_line, f"{path}.Variables.{name} must be a string")
            if resolved is not NO_VALUE:
                environment[str(name)] = text(resolved)
        at = value.line_of("Variables") if isinstance(value, YamlMap) else line_of(variables, line)
        function.set("environment", environment, f"{path}.Variables", at)

    def _layers_of(self, function: _Function, value: Any, line: int, path: str) -> None:
        """ARNs stay ARNs; a layer resource of this template becomes its local folder."""
        items = value if isinstance(value, list) else [value]
        layers: list[str] = []
        for index, item in enumerate(items):
            item_line = items.line_of(index) if isinstance(items, YamlList) else line
            try:
                resolved = self.template.resolve(item, item_line)
            except Unresolvable as exc:
                self.unsupported(exc.line, f"{path}[{index}]: {exc.message}")
                continue
            for layer in resolved if isinstance(resolved, list) else [resolved]:
                if isinstance(layer, LocalLayer):
                    layers.append(str(layer.path))
                    function.layer_resources.append((layer, item_line))
                else:
                    layers.append(text(layer))
        function.set("layers", layers, path, line)

    def _code(self, function: _Function, value: Any, line: int, path: str) -> None:
        """A local folder; a zip, S3 or inline code cannot be run from here, and says how to fix it."""
        if isinstance(value, dict):
            if "ZipFile" in value:
                self._inline(function, text(value["ZipFile"]), path + ".ZipFile", line)
                return
            raise self.error(
                line,
                f"{path}: the code is on S3 ({', '.join(f'{k}={v}' for k, v in value.items())}); lsim runs "
                "local code: point it at the function's folder, relative to the template",
            )
        location = text(value)
        if location.startswith("s3://"):
            raise self.error(
                line, f"{path}: {location} is on S3; lsim runs local code: point it at the function's folder"
            )
        folder = (self.root / location).resolve()
        if folder.is_file():
            raise self.error(
                line, f"{path}: {location} is a file; lsim runs code from a folder: unzip it and point "
                f"{path.rsplit('.', 1)[-1]} at the folder",
            )  # fmt: skip
        if not folder.is_dir():
            raise self.error(
                line, f"{path}: folder {folder} does not exist; point it at the folder that holds your "
                "handler module, relative to the template",
            )  # fmt: skip
        function.set("code", folder, path, line)
        requirements = folder / "requirements.txt"
        if requirements.is_file() and ".aws-sam" not in folder.parts:
            self.report(
                line,
                f"{path}: lsim runs {_display(folder)} as it is and does not install "
                f"{_display(requirements)} (`sam build` does): run `sam build` and pass --template "
                ".aws-sam/build/template.yaml, or put the packages in a layer",
            )

    def _inline(self, function: _Function, source: str, path: str, line: int) -> None:
        """Inline code is written where Lambda puts it, `index.py` (handler `index.NAME`), under .lsim."""
        folder = self.root / ".lsim" / "inline" / function.logical_id
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "index.py"
        if not target.is_file() or target.read_text() != source:
            target.write_text(source)
        function.set("code", folder.resolve(), path, line)

    def _validated(self, function: _Function, resource: YamlMap) -> FunctionConfig | None:
        fields, logical_id = function.fields, function.logical_id
        where = f"Resources.{logical_id}"
        if function.package_type == "Image":
            if "image" not in fields:
                return self._image_from_metadata(function, resource)
        else:
            fields.setdefault("code", self.root)  # like `sam local`: no CodeUri is the template's folder
            missing = [key for key, field in (("Handler", "handler"), ("Runtime", "runtime")) if field not in fields]
            if missing:
                raise self.error(
                    function.line,
                    f"{where}: {' and '.join(missing)} missing: a Zip function needs Handler and Runtime "
                    "(or PackageType: Image with ImageUri)",
                )
            runtime = fields["runtime"]
            if runtime not in RUNTIMES:
                path, line = function.origin["runtime"]
                self.report(
                    line,
                    f"{path}: runtime {runtime} not supported by lsim: function {logical_id} skipped "
                    f"(lsim runs {', '.join(RUNTIMES)})",
                )
                return None
            self._check_layers(function)
        try:
            return FunctionConfig.model_validate(fields, context={"limits": self.limits})
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else ""
                path, line = function.origin.get(
                    field, (f"{where}.Properties.{PROPERTY_OF.get(field, field)}", function.line)
                )
                problems.append(f"{self.source}:{line}: {path}: {error['msg'].removeprefix('Value error, ')}")
            raise ProjectFileError("\n".join(problems)) from None

    def _image_from_metadata(self, function: _Function, resource: YamlMap) -> FunctionConfig | None:
        """No ImageUri: `sam build` would build the image from Metadata and tag it `logicalid:DockerTag`."""
        metadata = resource.get("Metadata")
        where = f"Resources.{function.logical_id}"
        if not isinstance(metadata, dict) or "Dockerfile" not in metadata:
            raise self.error(
                function.line, f"{where}: an Image function needs ImageUri (or Metadata with a Dockerfile)"
            )
        tag = f"{function.logical_id.lower()}:{text(metadata.get('DockerTag') or 'latest')}"
        context = self.root / text(metadata.get("DockerContext") or ".")
        function.set("image", tag, f"{where}.Metadata", resource.line_of("Metadata"))
        # lsim does not build images: when the image is missing, the invocation's error names this command.
        build = f"docker build -t {tag} -f {context / text(metadata['Dockerfile'])} {context}"
        function.set("image_build", build, f"{where}.Metadata", resource.line_of("Metadata"))
        return FunctionConfig.model_validate(function.fields, context={"limits": self.limits})

    def _check_layers(self, function: _Function) -> None:
        """AWS refuses a layer whose CompatibleRuntimes/-Architectures exclude the function's."""
        runtime, architecture = function.fields["runtime"], function.fields.get("architecture", "x86_64")
        for layer, line in function.layer_resources:
            if layer.compatible_runtimes and runtime not in layer.compatible_runtimes:
                raise self.error(
                    line,
                    f"Resources.{function.logical_id}: layer {layer.logical_id} is not compatible with the "
                    f"function's runtime {runtime} (CompatibleRuntimes: {', '.join(layer.compatible_runtimes)});"
                    " add the runtime to the layer's CompatibleRuntimes",
                )
            if layer.compatible_architectures and architecture not in layer.compatible_architectures:
                raise self.error(
                    line,
                    f"Resources.{function.logical_id}: layer {layer.logical_id} is not compatible with the "
                    f"function's architecture {architecture} (CompatibleArchitectures: "
                    f"{', '.join(layer.compatible_architectures)})",
                )

    # -- layers -------------------------------------------------------------------------------------
    def layer(self, logical_id: str) -> LocalLayer:
        if logical_id in self._layers:
            return self._layers[logical_id]
        resource = self.template.resources[logical_id]
        line = self.template.resources.line_of(logical_id)
        properties = resource.get("Properties") or YamlMap(line=line)
        where = f"Resources.{logical_id}.Properties"
        content_key = "ContentUri" if resource["Type"] == LAYER_TYPES[0] else "Content"
        if content_key not in properties:
            raise self.error(line, f"Resources.{logical_id}: a layer needs {content_key}, its folder")
        for key in properties:
            if key not in LAYER_PROPERTIES:
                self.unsupported(properties.line_of(key), f"{where}.{key}")
        content_line = properties.line_of(content_key)
        content = self.template.resolve(properties[content_key], content_line)
        if isinstance(content, dict) or text(content).startswith("s3://"):
            raise Unresolvable(f"layer content on S3 ({text(content)})", content_line)
        folder = (self.root / text(content)).resolve()
        if not folder.exists():
            raise self.error(
                content_line, f"{where}.{content_key}: {folder} does not exist; point it at the layer's folder "
                "(python/, bin/, lib/ ...) or zip, relative to the template",
            )  # fmt: skip
        metadata = resource.get("Metadata")
        if isinstance(metadata, dict) and "BuildMethod" in metadata:
            self.report(
                resource.line_of("Metadata"),
                f"Resources.{logical_id}.Metadata.BuildMethod: lsim does not run `sam build`: it mounts "
                f"{_display(folder)} at /opt as it is (build it with `lsim layer build`, or `sam build` and "
                "--template .aws-sam/build/template.yaml)",
            )
        name = self.template.resolve_text(properties.get("LayerName", logical_id), line, "LayerName")
        layer = LocalLayer(
            logical_id=logical_id,
            path=folder,
            arn=f"arn:aws:lambda:{self.settings.region}:{self.settings.account_id}:layer:{name}:1",
            compatible_runtimes=tuple(text(v) for v in self._list(properties, "CompatibleRuntimes")),
            compatible_architectures=tuple(text(v) for v in self._list(properties, "CompatibleArchitectures")),
        )
        self._layers[logical_id] = layer
        return layer

    def _list(self, properties: YamlMap, key: str) -> list[Any]:
        value = self.template.resolve(properties.get(key, []), properties.line_of(key))
        return value if isinstance(value, list) else [value]

    # -- what Ref and Fn::GetAtt of a resource give (cfn.ResourceRefs) ------------------------------
    def ref(self, logical_id: str, line: int) -> Any:
        kind = self.template.resources[logical_id].get("Type")
        if kind in LAYER_TYPES:
            return self.layer(logical_id)
        if kind in FUNCTION_TYPES:
            return logical_id
        return self._stand_in(logical_id, str(kind), None, line)

    def get_att(self, logical_id: str, attribute: str, line: int) -> Any:
        kind = self.template.resources[logical_id].get("Type")
        if kind in FUNCTION_TYPES and attribute == "Arn":
            return f"arn:aws:lambda:{self.settings.region}:{self.settings.account_id}:function:{logical_id}"
        if kind in LAYER_TYPES and attribute in ("Arn", "LayerVersionArn"):
            return self.layer(logical_id)
        if kind in STAND_INS and attribute == "Arn":
            return self._stand_in(logical_id, str(kind), attribute, line)
        raise Unresolvable(f"!GetAtt {logical_id}.{attribute} ({kind})", line)

    def _stand_in(self, logical_id: str, kind: str, attribute: str | None, line: int) -> str:
        """A resource lsim does not create: the value it would have, named after its name property or its
        logical ID, and said once so the user knows to give the real one."""
        name_property, ref_form, arn_form = STAND_INS.get(kind, ("", "{n}", ""))
        properties = self.template.resources[logical_id].get("Properties")
        name = logical_id
        if isinstance(properties, YamlMap) and name_property in properties:
            name = self.template.resolve_text(properties[name_property], line, name_property)
        pseudo = self.template.pseudo
        value = (arn_form if attribute else ref_form).format(
            n=name, r=pseudo["AWS::Region"], a=pseudo["AWS::AccountId"], p=pseudo["AWS::Partition"],
            u=pseudo["AWS::URLSuffix"],
        )  # fmt: skip
        what = f"!GetAtt {logical_id}.{attribute}" if attribute else f"!Ref {logical_id}"
        self.report(line, f"{what}: lsim creates no {kind}: the value is {value!r} (give the real one with --env-vars)")
        return value


def _vpc(config: Any) -> dict[str, list[str]]:
    if not isinstance(config, dict):
        return {"subnets": [], "security_groups": []}
    return {
        "subnets": [text(v) for v in config.get("SubnetIds") or []],
        "security_groups": [text(v) for v in config.get("SecurityGroupIds") or []],
    }


def _merge(inherited: Any, local: Any) -> Any:
    """SAM's Globals rule for one property: maps merge, lists add up, otherwise the resource wins."""
    if _is_plain_map(inherited) and _is_plain_map(local):
        merged = YamlMap(line=local.line if isinstance(local, YamlMap) else 0)
        for source in (inherited, local):
            for key, value in source.items():
                merged[key] = _merge(merged[key], value) if key in merged else value
                merged.lines[key] = source.line_of(key) if isinstance(source, YamlMap) else merged.line
        return merged
    if isinstance(inherited, list) and isinstance(local, list):
        combined = YamlList([*inherited, *local], line=line_of(local, 0))
        for source in (inherited, local):
            combined.lines.extend(source.lines if isinstance(source, YamlList) else [combined.line] * len(source))
        return combined
    return local


def _is_intrinsic(value: Any) -> bool:
    """`{"Ref": ..}` or `{"Fn::X": ..}`: a call of an intrinsic function."""
    if not (isinstance(value, dict) and len(value) == 1):
        return False
    key = next(iter(value))
    return key == "Ref" or key.startswith("Fn::")


def _is_plain_map(value: Any) -> bool:
    """A mapping that is not an intrinsic function call."""
    return isinstance(value, dict) and not _is_intrinsic(value)


def _resource_hint(kind: str) -> str:
    if kind.startswith(("AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::ApiGateway")):
        return "lsim runs functions: invoke one with `lsim generate-event apigateway aws-proxy`"
    if kind.startswith(("AWS::Lambda::", "AWS::IAM::", "AWS::Serverless::Application")):
        return ""
    return "give functions its name or address with --env-vars"


def _samconfig(root: Path) -> dict[str, Any]:
    """stack_name and region of samconfig.toml's default environment, as `sam deploy` would use them."""
    path = root / "samconfig.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    found: dict[str, Any] = {}
    default = data.get("default")
    for section in ("global", "deploy"):
        table = default.get(section) if isinstance(default, dict) else None
        parameters = table.get("parameters") if isinstance(table, dict) else None
        if not isinstance(parameters, dict):
            continue
        for key in ("stack_name", "region"):
            if isinstance(parameters.get(key), str):
                found[key] = parameters[key]
    return found


def _stack_name(folder: str) -> str:
    """A stack name from the folder's name: letters, digits and '-', starting with a letter."""
    name = re.sub(r"[^A-Za-z0-9-]", "-", folder).strip("-")
    return name if name[:1].isalpha() else f"lsim-{name}".rstrip("-")


def _display(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when it is below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative
