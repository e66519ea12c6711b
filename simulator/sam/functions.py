"""One function resource (AWS::Serverless::Function or AWS::Lambda::Function) read into a FunctionConfig:
each property mapped onto its field, Globals.Function merged in as SAM merges it, and what lsim does not do
reported with its line.

https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-function.html
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..cfn import NO_VALUE, Template, Unresolvable, YamlList, YamlMap, line_of, text
from ..config import RUNTIMES, FunctionConfig, Limits
from ..errors import ProjectFileError
from ..execution_role import missing_eni_permission
from ..lifetime import make_state_folder
from ..logging_config import MEMBERS, from_api
from ..vpc import VpcConfig
from .events import sqs_event
from .http import EVENT_TYPES, HttpReader
from .notes import Notes
from .resources import SERVERLESS_FUNCTION, LocalLayer
from .roles import RoleReader

#: properties whose lsim feature may not be here yet: the FunctionConfig field each fills. When FunctionConfig
#: has the field, the property maps onto it; until then it is reported as "not supported by lsim yet".
FEATURE_FIELDS = {
    "ReservedConcurrentExecutions": "reserved_concurrency",
    "ProvisionedConcurrencyConfig": "provisioned_concurrency",  # {alias: environments}
    "AutoPublishAlias": "auto_publish_alias",
    "VpcConfig": "vpc",  # {subnets: [...], security_groups: [...]}
    "MaximumEventAgeInSeconds": "maximum_event_age_in_seconds",  # asynchronous invocation
    "MaximumRetryAttempts": "maximum_retry_attempts",
    "OnFailure": "on_failure",
}

#: an event source lsim does not wire up, and the sample event to invoke the function with instead
EVENT_SAMPLES = {
    "SQS": "sqs receive-message",
    "SNS": "sns notification", "S3": "s3 put", "EventBridgeRule": "eventbridge event",
    "CloudWatchEvent": "eventbridge event", "Schedule": "cloudwatch scheduled-event",
    "ScheduleV2": "cloudwatch scheduled-event", "DynamoDB": "dynamodb update", "Kinesis": "kinesis get-records",
}  # fmt: skip

#: FunctionConfig field -> the property that fills it, for error messages
PROPERTY_OF = {
    "name": "FunctionName", "handler": "Handler", "runtime": "Runtime", "code": "CodeUri", "image": "ImageUri",
    "memory_size": "MemorySize", "timeout": "Timeout", "ephemeral_storage": "EphemeralStorage.Size",
    "architecture": "Architectures", "layers": "Layers", "environment": "Environment.Variables",
    "description": "Description", "logging_config": "LoggingConfig",
}  # fmt: skip


class _Function:
    """The FunctionConfig fields gathered for one function, and where each came from."""

    def __init__(self, logical_id: str, kind: str, line: int, name: str) -> None:
        self.logical_id = logical_id
        self.kind = kind
        self.line = line
        self.fields: dict[str, Any] = {"name": name}  # FunctionName replaces it
        self.origin: dict[str, tuple[str, int]] = {}  # field -> (property path, line)
        self.package_type = "Zip"
        self.layer_resources: list[tuple[LocalLayer, int]] = []
        self.provisioned: tuple[Any, int, str] | None = None
        self.role_properties: dict[str, tuple[Any, int, str]] = {}  # Role, Policies: (value, line, path)
        self.sqs_events: dict[str, tuple[Any, int, str]] = {}  # Events of Type SQS: (Properties, line, path)
        self.http_events: dict[str, tuple[str, Any, int, str]] = {}  # Api / HttpApi: (Type, Properties, line, path)
        self.url: tuple[Any, int, str] | None = None  # FunctionUrlConfig: (value, line, path)

    def set(self, field: str, value: Any, path: str, line: int) -> None:
        self.fields[field] = value
        self.origin[field] = (path, line)


class FunctionReader:
    """Reads the function resources of one template."""

    def __init__(
        self,
        template: Template,
        notes: Notes,
        *,
        root: Path,
        limits: Limits,
        vpcs: Mapping[str, VpcConfig],
        globals_: Any,
        name: Callable[[str], str] = str,
        http: HttpReader | None = None,
    ) -> None:
        self.template = template
        self.http = http or HttpReader(template, notes, globals_)  # the template's APIs (http.py)
        self.name = name  # the name of a function without FunctionName, from its logical ID (stacks.py)
        self.notes = notes
        self.root = root
        self.limits = limits
        self.vpcs = vpcs
        self.globals_ = globals_  # the template's Globals section

    def read(self, logical_id: str, resource: YamlMap, kind: str) -> FunctionConfig | None:
        """The function's configuration; None when lsim skips it (a runtime lsim does not run)."""
        line = self.template.resources.line_of(logical_id)
        function = _Function(logical_id, kind, line, self.name(logical_id))
        properties = resource.get("Properties") or YamlMap(line=line)
        if not isinstance(properties, YamlMap):
            raise self.notes.error(line, f"Resources.{logical_id}.Properties must be a mapping")
        entries = list(self._merged_properties(logical_id, properties, kind))
        package = next((value for key, value, _, _ in entries if key == "PackageType"), "Zip")
        function.package_type = self.template.resolve_text(package, line, "PackageType")
        for key, value, key_line, path in entries:
            if key == "Role" or (key == "Policies" and kind == SERVERLESS_FUNCTION):
                function.role_properties[key] = (value, key_line, path)  # read once VpcConfig is known (roles.py)
                continue
            try:
                if _is_intrinsic(value):  # the whole property, e.g. `!If [C, x, !Ref AWS::NoValue]`
                    value = self.template.resolve(value, key_line)
                    if value is NO_VALUE:
                        continue
                self._property(function, key, value, key_line, path)
            except Unresolvable as exc:
                self.notes.unsupported(exc.line, f"{path}: {exc.message}")
        try:
            self._provisioned(function)
        except Unresolvable as exc:
            self.notes.unsupported(
                exc.line, f"{function.provisioned[2] if function.provisioned else ''}: {exc.message}"
            )
        return self._validated(function, resource)

    def _merged_properties(
        self, logical_id: str, properties: YamlMap, kind: str
    ) -> Iterable[tuple[str, Any, int, str]]:
        """(property, value, line, path), Globals.Function merged in as SAM merges it: a resource's scalar
        wins, maps merge, lists add up (Globals first). Architectures is replaced, not added: a function
        has one. https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-template-anatomy-globals.html"""
        globals_ = self.globals_
        defaults = globals_.get("Function") if kind == SERVERLESS_FUNCTION and isinstance(globals_, dict) else None
        if isinstance(defaults, YamlMap):
            for key, value in defaults.items():
                if key not in properties:
                    yield key, value, defaults.line_of(key), f"Globals.Function.{key}"
        for key, value in properties.items():
            inherited = defaults.get(key) if isinstance(defaults, YamlMap) else None
            if inherited is not None and key != "Architectures":
                value = merge_global(inherited, value)
            yield key, value, properties.line_of(key), f"Resources.{logical_id}.Properties.{key}"

    def _property(self, function: _Function, key: str, value: Any, line: int, path: str) -> None:
        """Map one property onto the function's fields, or say what lsim does not do with it."""
        resolve = self.template.resolve
        zip_package = function.package_type != "Image"
        serverless = function.kind == SERVERLESS_FUNCTION
        if key == "PackageType":
            if function.package_type not in ("Zip", "Image"):
                raise self.notes.error(line, f"{path}: PackageType is Zip or Image, not {function.package_type!r}")
        elif key in ("Handler", "Runtime", "Description"):
            field = {"Handler": "handler", "Runtime": "runtime", "Description": "description"}[key]
            if key != "Description" and not zip_package:
                if not path.startswith("Globals."):  # Globals meant for the Zip functions
                    self.notes.unsupported(line, f"{path} of an Image function", "the image's CMD and ENTRYPOINT run")
            else:
                function.set(field, self.template.resolve_text(value, line, key), path, line)
        elif key in ("MemorySize", "Timeout"):
            field = "memory_size" if key == "MemorySize" else "timeout"
            function.set(field, self._integer(resolve(value, line), line, path), path, line)
        elif key == "EphemeralStorage":
            size = resolve(value, line)
            if not isinstance(size, dict) or "Size" not in size:
                raise self.notes.error(line, f"{path}: write EphemeralStorage: {{Size: MB}}")
            function.set("ephemeral_storage", self._integer(size["Size"], line, path), path + ".Size", line)
        elif key == "Architectures":
            self._architectures(function, resolve(value, line), line, path)
        elif key == "LoggingConfig":  # SAM passes it through to AWS::Lambda::Function unchanged
            config = resolve(value, line)
            if not isinstance(config, dict) or not set(config) <= set(MEMBERS):
                raise self.notes.error(line, f"{path}: write LoggingConfig: {{{', '.join(MEMBERS)}}}")
            function.set("logging_config", from_api({k: text(v) for k, v in config.items()}), path, line)
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
                self.notes.unsupported(line, f"{path} of an Image function", "the image holds the code")
        elif key == "InlineCode" and serverless:
            self._inline(function, self.template.resolve_text(value, line, key), path, line)
        elif key == "ImageUri" and serverless:
            function.set("image", self.template.resolve_text(value, line, key), path, line)
        elif key == "FunctionName":  # the function's name, as on AWS; its logical ID still finds it
            function.set("name", self.template.resolve_text(value, line, key), path, line)
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
                raise self.notes.error(line, f"{path}: give the dead-letter queue's TargetArn")
            # an EventInvokeConfig destination comes first
            if "on_failure" not in function.fields and self._supported("OnFailure", path, line):
                function.set("on_failure", text(target["TargetArn"]), path, line)
        elif key == "Events" and serverless and isinstance(value, YamlMap):
            for name, event in value.items():
                kind = event.get("Type") if isinstance(event, dict) else None
                if kind == "SQS":  # read once AutoPublishAlias is known (events.py)
                    function.sqs_events[name] = (event.get("Properties"), value.line_of(name), f"{path}.{name}")
                    continue
                if kind in EVENT_TYPES:  # routes: read once AutoPublishAlias and the APIs are known (http.py)
                    function.http_events[name] = (kind, event.get("Properties"), value.line_of(name), f"{path}.{name}")
                    continue
                sample = EVENT_SAMPLES.get(str(kind))
                hint = f"invoke it with `lsim generate-event {sample}`" if sample else ""
                self.notes.unsupported(value.line_of(name), f"{path}.{name} ({kind})", hint)
        elif key == "FunctionUrlConfig" and serverless:
            function.url = (value, line, path)  # SAM's URL targets the AutoPublishAlias: read once it is known
        elif key == "TenancyConfig":  # CloudFormation passes it to CreateFunction (tenancy.py)
            config = resolve(value, line)
            if not isinstance(config, dict) or config.get("TenantIsolationMode") != "PER_TENANT" or len(config) != 1:
                raise self.notes.error(line, f"{path}: write TenancyConfig: {{TenantIsolationMode: PER_TENANT}}")
            function.set("tenancy_config", {"tenant_isolation_mode": "PER_TENANT"}, path, line)
        else:
            self.notes.unsupported(line, path)

    def _supported(self, key: str, path: str, line: int, hint: str = "") -> bool:
        """Whether FunctionConfig has the field of this property's feature; if not, say so once."""
        if FEATURE_FIELDS[key] in FunctionConfig.model_fields:
            return True
        self.notes.report(line, f"{path} not supported by lsim yet: ignored" + (f" ({hint})" if hint else ""))
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
            self.notes.unsupported(
                line,
                f"{path} ({', '.join(unknown)} in no VPC lsim knows)",
                "describe the VPC under Metadata.lsim.vpcs, as [vpcs.NAME] in lsim.toml, to attach the function",
            )
            return
        function.set(FEATURE_FIELDS["VpcConfig"], vpc, path, line)

    def _event_invoke_config(self, function: _Function, config: Any, line: int, path: str) -> None:
        """Asynchronous invocation: retries, event age, and where a failed event goes."""
        if not isinstance(config, YamlMap):
            raise self.notes.error(line, f"{path} must be a mapping")
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
                        self.notes.unsupported(at, where, hint)
            else:
                self.notes.unsupported(key_line, key_path)

    def _provisioned(self, function: _Function) -> None:
        """SAM puts ProvisionedConcurrencyConfig on the AutoPublishAlias: {alias: environments}."""
        if function.provisioned is None:
            return
        value, line, path = function.provisioned
        alias = function.fields.get(FEATURE_FIELDS["AutoPublishAlias"])
        if not self._supported("AutoPublishAlias", path, line, "it applies to the AutoPublishAlias alias"):
            return
        if alias is None:
            raise self.notes.error(
                line, f"{path}: to set ProvisionedConcurrencyConfig AutoPublishAlias must be defined"
            )
        config = self.template.resolve(value, line)
        if not isinstance(config, dict) or "ProvisionedConcurrentExecutions" not in config:
            raise self.notes.error(
                line, f"{path}: write ProvisionedConcurrencyConfig: {{ProvisionedConcurrentExecutions: N}}"
            )
        count = self._integer(config["ProvisionedConcurrentExecutions"], line, path)
        if self._supported("ProvisionedConcurrencyConfig", path, line):
            function.set(FEATURE_FIELDS["ProvisionedConcurrencyConfig"], {alias: count}, path, line)

    def _integer(self, value: Any, line: int, path: str) -> int:
        try:
            return int(text(value))
        except ValueError:
            raise self.notes.error(line, f"{path}: {value!r} is not a whole number") from None

    def _architectures(self, function: _Function, value: Any, line: int, path: str) -> None:
        if not isinstance(value, list) or len(value) != 1:
            raise self.notes.error(line, f"{path}: give exactly one architecture, [x86_64] or [arm64]")
        function.set("architecture", text(value[0]), path, line)

    def _environment(self, function: _Function, value: Any, line: int, path: str) -> None:
        """Each variable resolved on its own: one that lsim cannot compute is left out, with its line."""
        if _is_intrinsic(value):
            value = self.template.resolve(value, line)
        if not isinstance(value, dict):
            raise self.notes.error(line, f"{path}: write Environment: {{Variables: {{NAME: value}}}}")
        for key in value:
            if key != "Variables":
                self.notes.unsupported(line_of(value, line), f"{path}.{key}")
        variables = value.get("Variables") or {}
        if _is_intrinsic(variables):
            variables = self.template.resolve(variables, line)
        if not isinstance(variables, dict):
            raise self.notes.error(line, f"{path}.Variables must be a mapping of NAME: value")
        environment: dict[str, str] = {}
        for name, raw in variables.items():
            name_line = variables.line_of(name) if isinstance(variables, YamlMap) else line
            try:
                resolved = self.template.resolve(raw, name_line)
            except Unresolvable as exc:
                self.notes.unsupported(exc.line, f"{path}.Variables.{name}: {exc.message}", "set it with --env-vars")
                continue
            if isinstance(resolved, dict | list):
                raise self.notes.error(name_line, f"{path}.Variables.{name} must be a string")
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
                self.notes.unsupported(exc.line, f"{path}[{index}]: {exc.message}")
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
            raise self.notes.error(
                line,
                f"{path}: the code is on S3 ({', '.join(f'{k}={v}' for k, v in value.items())}); lsim runs "
                "local code: point it at the function's folder, relative to the template",
            )
        location = text(value)
        if location.startswith("s3://"):
            raise self.notes.error(
                line, f"{path}: {location} is on S3; lsim runs local code: point it at the function's folder"
            )
        folder = (self.root / location).resolve()
        if folder.is_file():
            raise self.notes.error(
                line, f"{path}: {location} is a file; lsim runs code from a folder: unzip it and point "
                f"{path.rsplit('.', 1)[-1]} at the folder",
            )  # fmt: skip
        if not folder.is_dir():
            raise self.notes.error(
                line, f"{path}: folder {folder} does not exist; point it at the folder that holds your "
                "handler module, relative to the template",
            )  # fmt: skip
        function.set("code", folder, path, line)  # its requirements.txt is installed at the cold start

    def _inline(self, function: _Function, source: str, path: str, line: int) -> None:
        """Inline code is written where Lambda puts it, `index.py` (handler `index.NAME`), under .lsim."""
        folder = make_state_folder(self.root / ".lsim") / "inline" / function.logical_id
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "index.py"
        if not target.is_file() or target.read_text(encoding="utf-8") != source:
            target.write_text(source, encoding="utf-8")
        function.set("code", folder.resolve(), path, line)

    def _validated(self, function: _Function, resource: YamlMap) -> FunctionConfig | None:
        fields, logical_id = function.fields, function.logical_id
        where = f"Resources.{logical_id}"
        if function.package_type == "Image":
            if "image" not in fields:
                self._front_door(function)
                return self._image_from_metadata(function, resource)
        else:
            fields.setdefault("code", self.root)  # like `sam local`: no CodeUri is the template's folder
            missing = [key for key, field in (("Handler", "handler"), ("Runtime", "runtime")) if field not in fields]
            if missing:
                raise self.notes.error(
                    function.line,
                    f"{where}: {' and '.join(missing)} missing: a Zip function needs Handler and Runtime "
                    "(or PackageType: Image with ImageUri)",
                )
            runtime = fields["runtime"]
            if runtime not in RUNTIMES:
                path, line = function.origin["runtime"]
                self.notes.report(
                    line,
                    f"{path}: runtime {runtime} not supported by lsim: function {logical_id} skipped "
                    f"(lsim runs {', '.join(RUNTIMES)})",
                )
                return None
            self._check_layers(function)
        events = {
            name: sqs_event(self.template, self.notes, properties, line, path, fields.get("auto_publish_alias"))
            for name, (properties, line, path) in function.sqs_events.items()
        }
        if events:
            function.set("events", events, f"{where}.Properties.Events", function.line)
        self._front_door(function)
        roles = function.role_properties
        role = RoleReader(self.template, self.notes).role(
            logical_id,
            roles.get("Role"),
            roles.get("Policies"),
            function.kind == SERVERLESS_FUNCTION,
            "vpc" in fields,
            sqs_events=bool(events),
        )
        if role is not None:
            path, line = (
                (roles["Role"][2], roles["Role"][1]) if "Role" in roles else (f"{where}.Properties", function.line)
            )
            function.set("role", role, path, line)
            if "vpc" in fields and (problem := missing_eni_permission(role)):
                raise self.notes.error(line, f"{path}: {problem} (the function has VpcConfig: add the managed policy "
                                       "AWSLambdaVPCAccessExecutionRole to its role)")  # fmt: skip
        try:
            return FunctionConfig.model_validate(fields, context={"limits": self.limits})
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else ""
                path, line = function.origin.get(
                    field, (f"{where}.Properties.{PROPERTY_OF.get(field, field)}", function.line)
                )
                problems.append(f"{self.notes.source}:{line}: {path}: {error['msg'].removeprefix('Value error, ')}")
            raise ProjectFileError("\n".join(problems)) from None

    def _front_door(self, function: _Function) -> None:
        """Its routes (read once the template's APIs are, http.py) and its URL, which invoke the AutoPublishAlias."""
        alias = function.fields.get("auto_publish_alias")
        for name, (kind, properties, line, path) in function.http_events.items():
            self.http.add_event(function.logical_id, name, kind, properties, line, path, alias)
        if function.url is not None:
            value, line, path = function.url
            function.set("url", self.http.url(value, line, path, alias), path, line)

    def _image_from_metadata(self, function: _Function, resource: YamlMap) -> FunctionConfig | None:
        """No ImageUri: `sam build` would build the image from Metadata and tag it `logicalid:DockerTag`."""
        metadata = resource.get("Metadata")
        where = f"Resources.{function.logical_id}"
        if not isinstance(metadata, dict) or "Dockerfile" not in metadata:
            raise self.notes.error(
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
                raise self.notes.error(
                    line,
                    f"Resources.{function.logical_id}: layer {layer.logical_id} is not compatible with the "
                    f"function's runtime {runtime} (CompatibleRuntimes: {', '.join(layer.compatible_runtimes)});"
                    " add the runtime to the layer's CompatibleRuntimes",
                )
            if layer.compatible_architectures and architecture not in layer.compatible_architectures:
                raise self.notes.error(
                    line,
                    f"Resources.{function.logical_id}: layer {layer.logical_id} is not compatible with the "
                    f"function's architecture {architecture} (CompatibleArchitectures: "
                    f"{', '.join(layer.compatible_architectures)})",
                )


def _vpc(config: Any) -> dict[str, list[str]]:
    if not isinstance(config, dict):
        return {"subnets": [], "security_groups": []}
    return {
        "subnets": [text(v) for v in config.get("SubnetIds") or []],
        "security_groups": [text(v) for v in config.get("SecurityGroupIds") or []],
    }


def merge_global(inherited: Any, local: Any) -> Any:
    """SAM's Globals rule for one property: maps merge, lists add up, otherwise the resource wins."""
    if _is_plain_map(inherited) and _is_plain_map(local):
        merged = YamlMap(line=local.line if isinstance(local, YamlMap) else 0)
        for source in (inherited, local):
            for key, value in source.items():
                merged[key] = merge_global(merged[key], value) if key in merged else value
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
