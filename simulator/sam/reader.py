"""A template read into the same ProjectConfig that lsim.toml gives: its settings and limits (Metadata.lsim,
samconfig.toml, `--parameter-overrides`), its VPCs (Metadata.lsim.vpcs), and each of its resources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..cfn import Pseudo, Template, Unresolvable, YamlMap, load_yaml
from ..config import FunctionConfig, Limits, ProjectConfig, Settings
from ..errors import ProjectFileError
from ..gateway.models import ApiDeclaration
from ..mappings.declarations import SqsEventSource
from ..queues.declarations import QueueDeclaration
from ..queues.declarations import check as check_queues
from ..vpc import VpcConfig, check_function_vpcs
from . import cdk
from .events import MAPPING_TYPE, mapping_target, sqs_event
from .functions import FunctionReader
from .http import API_TYPES, LAMBDA_URL, HttpReader
from .notes import Notes, Warn, display
from .options import samconfig, stack_name
from .queues import SQS_QUEUE, read_queue
from .resources import FUNCTION_TYPES, LAYER_TYPES, TemplateResources, resource_hint
from .roles import IAM_TYPES
from .stacks import STACK_TYPES, ParentStack, child_template, full_path, implicit_name, parameters_passed


@dataclass(frozen=True)
class FoundFunction:
    """A function of the template or of a nested one, with the names `sam local` finds it by."""

    config: FunctionConfig
    logical_id: str
    resource_id: str  # SAM's id: Metadata.SamResourceId, the CDK id, or the logical ID
    full_path: str  # SubApp/FunctionA in a nested stack
    where: str  # file:line of its resource, for errors


class SamReader:
    """Reads one template (and the nested templates it includes); `project()` builds the ProjectConfig and
    reports what it leaves out. It answers the template's `!Ref` and `!GetAtt` of resources
    (cfn.ResourceRefs) through its TemplateResources."""

    def __init__(self, path: Path, overrides: dict[str, str], warn: Warn, parent: ParentStack | None = None) -> None:
        self.path = path.resolve()
        self.root = self.path.parent
        self.warn = warn
        self.metadata_lsim: dict[str, Any] = {}  # Metadata.lsim of the root template
        self.notes = Notes(display(path), warn, parent.said if parent else None)
        self.parent = parent
        #: every template read for this project, the root first: what the warnings of a load depend on
        self.templates: list[Path] = [self.path]
        self.queues: list[QueueDeclaration] = []  # AWS::SQS::Queue resources, nested templates' too
        self.apis: dict[str, ApiDeclaration] = {}  # AWS::Serverless::Api / ::HttpApi, nested templates' too
        try:
            data = load_yaml(self.path.read_text(encoding="utf-8"), self.notes.source)
        except OSError as exc:
            raise ProjectFileError(f"{self.notes.source}: cannot read it: {exc.strerror}") from None
        self.data = data
        if isinstance(data.get("Resources"), YamlMap):
            cdk.use_assets(data["Resources"])
        if parent is None:
            self.samconfig = samconfig(self.root)
            self.settings, self.limits = self._settings(data, overrides)
            name = self.samconfig.get("stack_name") or cdk.stack_name_of(self.path) or stack_name(self.root.name)
            self.stack_path = ""
        else:
            self.samconfig = {}
            self.settings, self.limits, name = parent.settings, parent.limits, parent.stack_name
            self.stack_path = parent.stack_path
        pseudo = Pseudo(self.settings.region, self.settings.account_id, str(name))
        self.template = Template(
            data,
            source=self.notes.source,
            pseudo=pseudo,
            overrides=overrides,
            refs=self,
            warn=self.notes.report,
            overrides_from=f"Parameters.{{name}} (passed down by {parent.stack_path})"
            if parent
            else "--parameter-overrides {name}",
        )
        self.resources = TemplateResources(self.template, self.root, self.settings, self.notes, self.stack_path)

    def ref(self, logical_id: str, line: int) -> Any:
        return self.resources.ref(logical_id, line)

    def get_att(self, logical_id: str, attribute: str, line: int) -> Any:
        return self.resources.get_att(logical_id, attribute, line)

    def implicit_ref(self, name: str) -> Any | None:
        return self.resources.implicit_ref(name)

    def _settings(self, data: YamlMap, overrides: Mapping[str, str]) -> tuple[Settings, Limits]:
        """Region and account: `--parameter-overrides AWS::Region=..`, samconfig.toml, `Metadata.lsim`."""
        metadata = data.get("Metadata")
        lsim = metadata.get("lsim") if isinstance(metadata, dict) else None
        lsim = lsim if isinstance(lsim, dict) else {}
        self.metadata_lsim = lsim
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
            raise self.notes.error(line, f"Metadata.lsim (or --parameter-overrides AWS::...): {problems}") from None

    def project(self) -> ProjectConfig:
        found = self.functions()
        functions: dict[str, FunctionConfig] = {}
        first: dict[str, FoundFunction] = {}
        for function in found:
            name = function.config.name
            if name in first:
                other = first[name]
                # CloudFormation's words when the second CreateFunction fails, then which two functions
                raise ProjectFileError(
                    f"{function.where}: Resources.{function.full_path}: {name} already exists in stack "
                    f"{self.template.pseudo['AWS::StackId']}: functions {other.full_path} ({other.where}) and "
                    f"{function.full_path} are both named {name}, and a function name is unique in an account's "
                    "Region: give one of them another FunctionName"
                )
            first[name] = function
            functions[name] = function.config
        problems = check_function_vpcs(self.vpcs, functions)
        if problems:
            line = self._metadata_line("vpcs")
            raise ProjectFileError("\n".join(f"{self.notes.source}:{line}: {field}: {why}" for field, why in problems))
        return ProjectConfig(
            root=self.root,
            settings=self.settings,
            limits=self.limits,
            functions=functions,
            vpcs=self.vpcs,
            function_ids=_other_names(found, functions),
            queues=self._queues(),
            apis=self.apis,
        )

    def _queues(self) -> dict[str, QueueDeclaration]:
        queues: dict[str, QueueDeclaration] = {}
        for queue in self.queues:
            if queue.name in queues:
                raise ProjectFileError(
                    f"{queue.source}: a queue named {queue.name} is already declared at {queues[queue.name].source}: "
                    "give one of them another QueueName"
                )
            queues[queue.name] = queue
        check_queues(queues)
        return queues

    def functions(self) -> list[FoundFunction]:
        """The functions of this template and of the nested templates it includes, in template order."""
        self._check_sections()
        self.vpcs = self._vpcs() if self.parent is None else self.parent.vpcs
        http = HttpReader(self.template, self.notes, self.data.get("Globals"), self.stack_path)
        reader = FunctionReader(
            self.template,
            self.notes,
            root=self.root,
            limits=self.limits,
            vpcs=self.vpcs,
            globals_=self.data.get("Globals"),
            name=lambda logical_id: implicit_name(self.stack_path, logical_id),
            http=http,
        )
        found: list[FoundFunction] = []
        own: dict[str, int] = {}  # this template's functions (not its nested ones): logical ID -> index in found
        urls: list[tuple[str, YamlMap, int]] = []  # AWS::Lambda::Url, read once functions are
        mappings: list[tuple[str, YamlMap, int]] = []  # AWS::Lambda::EventSourceMapping, read once functions are
        resources = self.template.resources
        for logical_id, resource in resources.items():
            line = resources.line_of(logical_id)
            if not isinstance(resource, YamlMap) or not isinstance(resource.get("Type"), str):
                raise self.notes.error(line, f"Resources.{logical_id} needs a Type")
            kind = resource["Type"]
            if "Condition" in resource and not self.template.condition(
                resource["Condition"], resource.line_of("Condition")
            ):
                continue  # CloudFormation would not create it
            if kind in FUNCTION_TYPES:
                function = reader.read(logical_id, resource, kind)
                if function is not None:
                    resource_id = cdk.resource_id(resource, logical_id)
                    path = full_path(self.stack_path, resource_id)
                    own[logical_id] = len(found)
                    found.append(FoundFunction(function, logical_id, resource_id, path, f"{self.notes.source}:{line}"))
            elif kind in LAYER_TYPES:
                try:
                    self.resources.layer(logical_id)
                except Unresolvable as exc:
                    self.notes.unsupported(exc.line, f"Resources.{logical_id}: {exc.message}")
            elif kind == SQS_QUEUE:
                self.queues.append(read_queue(self.template, self.notes, logical_id, resource))
            elif kind in STACK_TYPES:
                found.extend(self._nested(logical_id, resource))
            elif kind == MAPPING_TYPE:
                mappings.append((logical_id, resource, line))
            elif kind in API_TYPES:
                http.read_api(logical_id, resource, kind)
            elif kind == LAMBDA_URL:
                urls.append((logical_id, resource, line))
            elif kind != cdk.CDK_METADATA and kind not in IAM_TYPES:  # IAM: read as functions' roles (roles.py)
                self.notes.unsupported(line, f"Resources.{logical_id} ({kind})", resource_hint(kind))
        for logical_id, resource, line in mappings:
            self._event_source_mapping(found, logical_id, resource, line)
        for logical_id, routes in http.events().items():
            index = own[logical_id]
            config = found[index].config.model_copy(update={"http_events": routes})
            found[index] = replace(found[index], config=config)
        for logical_id, resource, line in urls:
            self._function_url(found, own, http, logical_id, resource, line)
        self.apis.update(http.apis)
        return found

    def _function_url(
        self, found: list[FoundFunction], own: dict[str, int], http: HttpReader, logical_id: str, resource: YamlMap,
        line: int,
    ) -> None:  # fmt: skip
        """An AWS::Lambda::Url of a function of this template: the function's URL."""
        where = f"Resources.{logical_id}"
        properties = resource.get("Properties") or YamlMap(line=line)
        if not isinstance(properties, YamlMap):
            raise self.notes.error(line, f"{where}.Properties must be a mapping")
        at = properties.line_of("TargetFunctionArn")
        try:
            target, qualifier = mapping_target(self.template, properties.get("TargetFunctionArn"), at)
            if "Qualifier" in properties:
                qualifier = self.template.resolve_text(properties["Qualifier"], at, "Qualifier")
        except Unresolvable as exc:
            self.notes.unsupported(exc.line, f"{where}: {exc.message}")
            return
        index = own.get(target, next((i for i in own.values() if found[i].config.name == target), None))
        if index is None:
            self.notes.unsupported(at, f"{where}: TargetFunctionArn {target} is no function of this template")
            return
        function = found[index]
        if function.config.url is not None:
            self.notes.unsupported(line, f"{where}: a second URL for {function.config.name}",
                                   f"lsim serves one URL per function, {function.config.url.declared_at}")  # fmt: skip
            return
        url = http.url(properties, line, f"{where}.Properties", qualifier)
        found[index] = replace(function, config=function.config.model_copy(update={"url": url}))

    def _event_source_mapping(self, found: list[FoundFunction], logical_id: str, resource: YamlMap, line: int) -> None:
        """An AWS::Lambda::EventSourceMapping from a queue to a function of this template: the function's event."""
        where = f"Resources.{logical_id}"
        properties = resource.get("Properties") or {}
        source = properties.get("EventSourceArn") if isinstance(properties, dict) else None
        try:
            arn = self.template.resolve_text(source, line, "EventSourceArn") if source is not None else ""
            target, qualifier = mapping_target(self.template, properties.get("FunctionName"), line)
        except Unresolvable as exc:
            self.notes.unsupported(exc.line, f"{where}: {exc.message}")
            return
        if ":sqs:" not in arn:
            self.notes.unsupported(line, f"{where} ({MAPPING_TYPE} of {arn or 'no EventSourceArn'})",
                                   "lsim runs mappings from SQS queues")  # fmt: skip
            return
        index = next((n for n, f in enumerate(found) if target in (f.logical_id, f.config.name)), None)
        if index is None:
            self.notes.unsupported(line, f"{where}: FunctionName {target} is no function of this template")
            return
        fields = sqs_event(self.template, self.notes, properties, line, where, qualifier)
        try:
            event = SqsEventSource.model_validate(fields)
        except ValidationError as exc:
            problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
            raise self.notes.error(line, f"{where}: {problems}") from None
        function = found[index]
        config = function.config.model_copy(update={"events": {**function.config.events, logical_id: event}})
        found[index] = replace(function, config=config)

    def _nested(self, logical_id: str, resource: YamlMap) -> list[FoundFunction]:
        """The functions of a nested application, read with the parameters this template passes down."""
        child = child_template(self.template, self.notes, self.root, logical_id, resource)
        if child is None:
            return []
        path, line = child
        chain = (*self.parent.chain, self.path) if self.parent else (self.path,)
        if path in chain:
            cycle = " -> ".join(display(p) for p in (*chain[chain.index(path) :], path))
            raise self.notes.error(
                line, f"Resources.{logical_id}: the nested template includes itself ({cycle}); CloudFormation "
                "cannot create a stack inside itself: remove the loop",
            )  # fmt: skip
        stack_id = cdk.resource_id(resource, logical_id)
        parent = ParentStack(
            settings=self.settings,
            limits=self.limits,
            vpcs=self.vpcs,
            stack_path=full_path(self.stack_path, stack_id),
            stack_name=f"{self.template.pseudo['AWS::StackName']}-{logical_id}",
            chain=chain,
            said=self.notes.said_before,
        )
        overrides = parameters_passed(self.template, self.notes, logical_id, resource)
        reader = SamReader(path, overrides, self.warn, parent)
        found = reader.functions()
        self.templates.extend(reader.templates)
        self.queues.extend(reader.queues)
        self.apis.update(reader.apis)
        return found

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
            raise self.notes.error(line, "Metadata.lsim.vpcs must be a mapping of VPC name to its description")
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
                raise self.notes.error(where, f"Metadata.lsim.vpcs.{name}: {problems}") from None
        return vpcs

    def _check_sections(self) -> None:
        transform = self.data.get("Transform")
        transforms = transform if isinstance(transform, list) else [transform] if transform else []
        for name in transforms:
            if name != "AWS::Serverless-2016-10-31" and not (
                name == "AWS::LanguageExtensions" or isinstance(name, dict)
            ):
                self.notes.unsupported(self.data.line_of("Transform"), f"Transform {name}")
        globals_ = self.data.get("Globals")
        if isinstance(globals_, YamlMap):
            for section in globals_:
                if section not in ("Function", "Api", "HttpApi"):
                    self.notes.unsupported(globals_.line_of(section), f"Globals.{section}")


def _other_names(found: list[FoundFunction], functions: Mapping[str, FunctionConfig]) -> dict[str, list[str]]:
    """The names `sam local` finds each function by, other than its own: its logical ID, its SAM or CDK id,
    its path in nested stacks. A function's own name always wins; a name several functions share finds
    them all, and lookup asks which."""
    names: dict[str, list[str]] = {}
    for function in found:
        own = function.config.name
        for other in (function.full_path, function.logical_id, function.resource_id):
            if other != own and other not in functions and own not in names.setdefault(other, []):
                names[other].append(own)
    return names
