"""A template read into the same ProjectConfig that lsim.toml gives: its settings and limits (Metadata.lsim,
samconfig.toml, `--parameter-overrides`), its VPCs (Metadata.lsim.vpcs), and each of its resources."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..cfn import Pseudo, Template, Unresolvable, YamlMap, load_yaml
from ..config import FunctionConfig, Limits, ProjectConfig, Settings
from ..errors import ProjectFileError
from ..vpc import VpcConfig, check_function_vpcs
from .functions import FunctionReader
from .notes import Notes, Warn, display
from .options import samconfig, stack_name
from .resources import FUNCTION_TYPES, LAYER_TYPES, TemplateResources, resource_hint
from .roles import IAM_TYPES


class SamReader:
    """Reads one template; `project()` builds the ProjectConfig and reports what it leaves out. It answers
    the template's `!Ref` and `!GetAtt` of resources (cfn.ResourceRefs) through its TemplateResources."""

    def __init__(self, path: Path, overrides: dict[str, str], warn: Warn) -> None:
        self.path = path.resolve()
        self.root = self.path.parent
        self.notes = Notes(display(path), warn)
        try:
            data = load_yaml(self.path.read_text(encoding="utf-8"), self.notes.source)
        except OSError as exc:
            raise ProjectFileError(f"{self.notes.source}: cannot read it: {exc.strerror}") from None
        self.data = data
        self.samconfig = samconfig(self.root)
        self.settings, self.limits = self._settings(data, overrides)
        name = self.samconfig.get("stack_name") or stack_name(self.root.name)
        pseudo = Pseudo(self.settings.region, self.settings.account_id, str(name))
        self.template = Template(
            data, source=self.notes.source, pseudo=pseudo, overrides=overrides, refs=self, warn=self.notes.report
        )
        self.resources = TemplateResources(self.template, self.root, self.settings, self.notes)

    def ref(self, logical_id: str, line: int) -> Any:
        return self.resources.ref(logical_id, line)

    def get_att(self, logical_id: str, attribute: str, line: int) -> Any:
        return self.resources.get_att(logical_id, attribute, line)

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
            raise self.notes.error(line, f"Metadata.lsim (or --parameter-overrides AWS::...): {problems}") from None

    def project(self) -> ProjectConfig:
        self._check_sections()
        self.vpcs = self._vpcs()
        reader = FunctionReader(
            self.template,
            self.notes,
            root=self.root,
            limits=self.limits,
            vpcs=self.vpcs,
            globals_=self.data.get("Globals"),
        )
        functions: dict[str, FunctionConfig] = {}
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
                    functions[logical_id] = function
            elif kind in LAYER_TYPES:
                try:
                    self.resources.layer(logical_id)
                except Unresolvable as exc:
                    self.notes.unsupported(exc.line, f"Resources.{logical_id}: {exc.message}")
            elif kind not in IAM_TYPES:  # IAM roles and policies are read as functions' roles (roles.py)
                self.notes.unsupported(line, f"Resources.{logical_id} ({kind})", resource_hint(kind))
        problems = check_function_vpcs(self.vpcs, functions)
        if problems:
            line = self._metadata_line("vpcs")
            raise ProjectFileError("\n".join(f"{self.notes.source}:{line}: {field}: {why}" for field, why in problems))
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
                if section != "Function":
                    self.notes.unsupported(globals_.line_of(section), f"Globals.{section}")
