"""The CloudFormation template language, as much of it as lsim needs to read a SAM template.

- YAML with CloudFormation's short-form tags (`!Ref`, `!Sub`, `!GetAtt`, `!If`, ...), read into dicts and
  lists that remember the line of every key and item, so that what lsim cannot do is reported with its line;
- the intrinsic functions, Parameters (Default, overrides, AllowedValues, AllowedPattern), pseudo-parameters,
  Mappings and Conditions, evaluated lazily: only the values lsim uses are resolved, so an unsupported
  function inside a property lsim ignores costs nothing.

What a resource's `Ref` or `Fn::GetAtt` gives is asked of a `ResourceRefs` (the SAM reader), so this module
knows nothing of Lambda. https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import yaml

from .errors import ProjectFileError


class YamlMap(dict[str, Any]):
    """A YAML mapping that remembers its own line and the line of each key (1-based)."""

    line: int = 0

    def __init__(self, *args: Any, line: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = line
        self.lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.line)


class YamlList(list[Any]):
    """A YAML sequence that remembers its own line and the line of each item."""

    def __init__(self, *args: Any, line: int = 0) -> None:
        super().__init__(*args)
        self.line = line
        self.lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.lines[index] if index < len(self.lines) else self.line


def line_of(value: Any, default: int) -> int:
    return value.line if isinstance(value, YamlMap | YamlList) and value.line else default


# -- reading YAML ------------------------------------------------------------------------------------
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when PyYAML has it: 5x faster


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader plus CloudFormation's tags; dates stay strings (`AWSTemplateFormatVersion: 2010-09-09`)."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> YamlMap:
    loader.flatten_mapping(node)  # YAML merge keys (<<)
    result = YamlMap(line=node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[str(key)] = loader.construct_object(value_node, deep=True)
        result.lines[str(key)] = key_node.start_mark.line + 1
    return result


def _construct_list(loader: _Loader, node: yaml.SequenceNode) -> YamlList:
    result = YamlList(line=node.start_mark.line + 1)
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.lines.append(item.start_mark.line + 1)
    return result


def _construct_tag(loader: _Loader, suffix: str, node: yaml.Node) -> YamlMap:
    """`!Ref X` -> {"Ref": X}; `!GetAtt A.B` -> {"Fn::GetAtt": [A, B]}; `!Name v` -> {"Fn::Name": v}."""
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = _construct_list(loader, node)
    else:
        value = _construct_map(loader, node)  # type: ignore[arg-type]
    line = node.start_mark.line + 1
    if suffix in ("Ref", "Condition"):
        key = suffix
    else:
        key = f"Fn::{suffix}"
        if suffix == "GetAtt" and isinstance(value, str):
            value = YamlList(value.split(".", 1), line=line)
    result = YamlMap({key: value}, line=line)
    result.lines[key] = line
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_list)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_str)
_Loader.add_multi_constructor("!", _construct_tag)


def load_yaml(text: str, source: str) -> YamlMap:
    """Parse a template (YAML or JSON); a syntax error names the file and line."""
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        # the line of what was left open (a flow list, a quote) when there is one, else where it broke
        problem_mark, context_mark = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
        mark = context_mark or problem_mark
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        if context_mark is not None and problem_mark is not None:
            problem = f"{getattr(exc, 'context', '')}: {problem} (line {problem_mark.line + 1})"
        raise ProjectFileError(f"{where}: not a valid YAML template: {problem}") from None
    if not isinstance(data, YamlMap):
        raise ProjectFileError(f"{source}: a template is a YAML mapping with a Resources section")
    return data


# -- evaluating ---------------------------------------------------------------------------------------
class Unresolvable(Exception):
    """A value lsim cannot compute (an unsupported intrinsic function, a resource lsim does not create).
    The caller reports it with its line and leaves the property out."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()  # `!Ref AWS::NoValue`: the property is removed


class ResourceRefs(Protocol):
    """What `Ref` and `Fn::GetAtt` of a template's resources give; raise Unresolvable when unknown."""

    def ref(self, logical_id: str, line: int) -> Any: ...

    def get_att(self, logical_id: str, attribute: str, line: int) -> Any: ...

    def implicit_ref(self, name: str) -> Any | None:
        """What `Ref` of a resource the template does not hold but its transform makes gives (SAM's
        ServerlessRestApi), or None."""


@dataclass(frozen=True)
class Pseudo:
    """The pseudo-parameters' values. https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html"""

    region: str
    account_id: str
    stack_name: str

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        return "aws-us-gov" if self.region.startswith("us-gov-") else "aws"

    def values(self) -> dict[str, Any]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:stack/"
            f"{self.stack_name}/00000000-0000-0000-0000-000000000000",
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }


PSEUDO_NAMES = frozenset(Pseudo("r", "0", "s").values())
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_CONDITION_FUNCTIONS = ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition")


class Template:
    """One parsed template with its parameter values: resolves values and conditions on demand."""

    def __init__(
        self,
        data: YamlMap,
        *,
        source: str,
        pseudo: Pseudo,
        overrides: Mapping[str, str],
        refs: ResourceRefs,
        warn: Callable[[int, str], None],
        overrides_from: str = "--parameter-overrides {name}",
    ) -> None:
        self.data = data
        self.overrides_from = overrides_from  # who gives the overrides: the command line, or a parent stack
        self.source = source
        self.pseudo = pseudo.values()
        self.refs = refs
        self.warn = warn
        self.parameters = _section(data, "Parameters", source)
        self.mappings = _section(data, "Mappings", source)
        self.conditions = _section(data, "Conditions", source)
        self.resources = _section(data, "Resources", source)
        self.overrides = dict(overrides)
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()
        self._check_parameters()

    def error(self, line: int, message: str) -> ProjectFileError:
        return ProjectFileError(f"{self.source}:{line}: {message}")

    # -- parameters ---------------------------------------------------------------------------------
    def _check_parameters(self) -> None:
        """Overrides name declared parameters; every value given is checked as CloudFormation checks it."""
        for name in self.overrides:
            if name not in self.parameters and name not in PSEUDO_NAMES:
                self.warn(
                    self.parameters.line or 1,
                    f"{self.overrides_from.format(name=name)}: the template declares no parameter {name}: ignored",
                )
        for name in self.parameters:
            spec = self.parameters[name] or {}
            if str(spec.get("Type", "")).startswith("AWS::SSM::Parameter::Value<") and name not in self.overrides:
                continue  # read from Parameter Store: said where it is used (CDK's BootstrapVersion never is)
            if name in self.overrides or "Default" in spec:
                self.parameter(name, self.parameters.line_of(name))

    def parameter(self, name: str, line: int) -> Any:
        """A parameter's value as `Ref` gives it: a string (Number too), or a list for list types."""
        spec = self.parameters.get(name)
        if not isinstance(spec, dict):
            raise self.error(self.parameters.line_of(name), f"Parameters.{name} must be a mapping with a Type")
        declared = self.parameters.line_of(name)
        kind = str(spec.get("Type", "String"))
        if name in self.overrides:
            raw: Any = self.overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise self.error(
                line,
                f"Parameters: [{name}] must have values: the template gives {name} no Default; pass "
                f"--parameter-overrides {name}=VALUE",
            )
        if kind.startswith("AWS::SSM::Parameter::Value<") and name not in self.overrides:
            raise Unresolvable(
                f"parameter {name} is read from SSM Parameter Store ({raw}), which lsim cannot read; pass "
                f"--parameter-overrides {name}=VALUE",
                line,
            )
        value = ",".join(str(v) for v in raw) if isinstance(raw, list) else text(raw)
        allowed = spec.get("AllowedValues")
        if isinstance(allowed, list) and value not in [text(v) for v in allowed]:
            raise self.error(
                declared,
                f"Parameter '{name}' must be one of AllowedValues ({', '.join(text(v) for v in allowed)}); "
                f"it is {value!r}",
            )
        pattern = spec.get("AllowedPattern")
        if isinstance(pattern, str) and not re.fullmatch(pattern, value):
            raise self.error(declared, f"Parameter '{name}' must match pattern {pattern}; it is {value!r}")
        if kind == "Number":
            try:
                float(value)
            except ValueError:
                raise self.error(declared, f"Parameter '{name}' must be a number; it is {value!r}") from None
        if kind in ("CommaDelimitedList",) or kind.startswith("List<"):
            return [item.strip() for item in value.split(",")] if value else []
        return value

    # -- conditions ---------------------------------------------------------------------------------
    def condition(self, name: Any, line: int) -> bool:
        if not isinstance(name, str) or name not in self.conditions:
            raise self.error(line, f"condition {name!r} is not declared in the Conditions section")
        if name in self._conditions:
            return self._conditions[name]
        if name in self._evaluating:
            raise self.error(line, f"condition {name} refers to itself")
        self._evaluating.add(name)
        try:
            value = self._truth(self.conditions[name], self.conditions.line_of(name))
        finally:
            self._evaluating.discard(name)
        self._conditions[name] = value
        return value

    def _truth(self, expression: Any, line: int) -> bool:
        line = line_of(expression, line)
        if isinstance(expression, bool):
            return expression
        if not (isinstance(expression, dict) and len(expression) == 1):
            raise self.error(line, "a condition is Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition")
        ((function, argument),) = expression.items()
        if function == "Condition":
            return self.condition(argument, line)
        if function == "Fn::Equals":
            left, right = self._arguments(function, argument, 2, line)
            return text(self.resolve(left, line)) == text(self.resolve(right, line))
        if function == "Fn::Not":
            (inner,) = self._arguments(function, argument, 1, line)
            return not self._truth(inner, line)
        if function in ("Fn::And", "Fn::Or"):
            if not isinstance(argument, list) or not 2 <= len(argument) <= 10:
                raise self.error(line, f"{function} takes a list of 2 to 10 conditions")
            values = (self._truth(item, line) for item in argument)
            return all(values) if function == "Fn::And" else any(values)
        raise self.error(line, f"{function} cannot be used as a condition")

    # -- values -------------------------------------------------------------------------------------
    def resolve(self, value: Any, line: int) -> Any:
        """A value with every intrinsic function evaluated; `AWS::NoValue` entries removed."""
        line = line_of(value, line)
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, argument),) = value.items()
                if key == "Ref" or key.startswith("Fn::"):
                    return self._function(key, argument, line)
            result = YamlMap(line=line)
            for key, item in value.items():
                item_line = value.line_of(key) if isinstance(value, YamlMap) else line
                resolved = self.resolve(item, item_line)
                if resolved is not NO_VALUE:
                    result[key] = resolved
                    result.lines[key] = item_line
            return result
        if isinstance(value, list):
            items = YamlList(line=line)
            for index, item in enumerate(value):
                item_line = value.line_of(index) if isinstance(value, YamlList) else line
                resolved = self.resolve(item, item_line)
                if resolved is not NO_VALUE:
                    items.append(resolved)
                    items.lines.append(item_line)
            return items
        return value

    def resolve_text(self, value: Any, line: int, what: str) -> str:
        resolved = self.resolve(value, line)
        if isinstance(resolved, dict | list):
            raise self.error(line_of(value, line), f"{what} must be a string")
        return text(resolved)

    def _arguments(self, function: str, argument: Any, count: int, line: int) -> list[Any]:
        if not isinstance(argument, list) or len(argument) != count:
            raise self.error(line, f"{function} takes a list of {count} values")
        return list(argument)

    def _function(self, name: str, argument: Any, line: int) -> Any:
        if name == "Ref":
            return self.ref(argument, line)
        handler = getattr(self, "_fn_" + name.removeprefix("Fn::").lower(), None)
        if name in _CONDITION_FUNCTIONS:
            return self._truth({name: argument}, line)
        if handler is None:
            raise Unresolvable(f"intrinsic function {name}", line)
        return handler(argument, line)

    def ref(self, name: Any, line: int) -> Any:
        if not isinstance(name, str):
            raise self.error(line, "Ref takes the name of a parameter, pseudo-parameter or resource")
        if name in self.parameters:
            return self.parameter(name, line)
        if name in self.overrides and name in self.pseudo:
            return self.overrides[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.resources:
            return self.refs.ref(name, line)
        implicit = self.refs.implicit_ref(name)
        if implicit is not None:
            return implicit
        raise self.error(
            line,
            f"Unresolved resource dependencies [{name}] in the Resources block of the template: Ref names "
            "no parameter, pseudo-parameter or resource; check its spelling",
        )

    def _fn_getatt(self, argument: Any, line: int) -> Any:
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not isinstance(argument, list) or len(argument) != 2:
            raise self.error(line, "Fn::GetAtt takes [LogicalId, Attribute] (or !GetAtt LogicalId.Attribute)")
        logical_id, attribute = argument[0], self.resolve(argument[1], line)
        if logical_id not in self.resources:
            raise self.error(line, f"Fn::GetAtt: the template has no resource {logical_id}")
        return self.refs.get_att(str(logical_id), text(attribute), line)

    def _fn_sub(self, argument: Any, line: int) -> str:
        variables: Mapping[str, Any] = {}
        if isinstance(argument, list):
            if len(argument) != 2 or not isinstance(argument[1], dict):
                raise self.error(line, "Fn::Sub takes a string, or [string, {Name: value, ...}]")
            argument, variables = argument
        if not isinstance(argument, str):
            raise self.error(line, "Fn::Sub takes a string")

        def replace(match: re.Match[str]) -> str:
            name = match[1].strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = self.resolve(variables[name], line)
            elif "." in name and name.split(".", 1)[0] in self.resources:
                value = self._fn_getatt(name, line)
            else:
                value = self.ref(name, line)
            if isinstance(value, list):
                raise self.error(line, f"Fn::Sub: ${{{name}}} is a list; Fn::Sub takes strings")
            return text(value)

        return _SUB_VARIABLE.sub(replace, argument)

    def _fn_join(self, argument: Any, line: int) -> str:
        delimiter, items = self._arguments("Fn::Join", argument, 2, line)
        values = self.resolve(items, line)
        if not isinstance(values, list):
            raise self.error(line, "Fn::Join takes [delimiter, [values...]]")
        return text(delimiter).join(text(v) for v in values)

    def _fn_select(self, argument: Any, line: int) -> Any:
        index, items = self._arguments("Fn::Select", argument, 2, line)
        values = self.resolve(items, line)
        position = int(text(self.resolve(index, line)))
        if not isinstance(values, list) or not 0 <= position < len(values):
            raise self.error(line, f"Fn::Select: index {position} is outside the list")
        return values[position]

    def _fn_split(self, argument: Any, line: int) -> list[str]:
        delimiter, source = self._arguments("Fn::Split", argument, 2, line)
        return YamlList(self.resolve_text(source, line, "Fn::Split's source").split(text(delimiter)), line=line)

    def _fn_findinmap(self, argument: Any, line: int) -> Any:
        if not isinstance(argument, list) or len(argument) not in (3, 4):
            raise self.error(line, "Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]")
        names = [self.resolve_text(item, line, "Fn::FindInMap's keys") for item in argument[:3]]
        try:
            return self.resolve(self.mappings[names[0]][names[1]][names[2]], line)
        except (KeyError, TypeError):
            if len(argument) == 4 and isinstance(argument[3], dict) and "DefaultValue" in argument[3]:
                return self.resolve(argument[3]["DefaultValue"], line)
            raise self.error(line, f"Fn::FindInMap: Mappings has no {'.'.join(names)}") from None

    def _fn_if(self, argument: Any, line: int) -> Any:
        name, when_true, when_false = self._arguments("Fn::If", argument, 3, line)
        return self.resolve(when_true if self.condition(name, line) else when_false, line)

    def _fn_base64(self, argument: Any, line: int) -> str:
        return base64.b64encode(self.resolve_text(argument, line, "Fn::Base64's value").encode()).decode()

    def _fn_getazs(self, argument: Any, line: int) -> list[str]:
        region = self.resolve_text(argument, line, "Fn::GetAZs's region") or str(self.pseudo["AWS::Region"])
        return YamlList([f"{region}{zone}" for zone in "abc"], line=line)

    def _fn_length(self, argument: Any, line: int) -> int:
        values = self.resolve(argument, line)
        if not isinstance(values, list):
            raise self.error(line, "Fn::Length takes a list")
        return len(values)

    def _fn_tojsonstring(self, argument: Any, line: int) -> str:
        return json.dumps(self.resolve(argument, line), separators=(",", ":"), default=str)


def _section(data: YamlMap, name: str, source: str) -> YamlMap:
    section = data.get(name)
    if section is None:
        return YamlMap(line=data.line_of(name))
    if not isinstance(section, YamlMap):
        raise ProjectFileError(f"{source}:{data.line_of(name)}: {name} must be a mapping")
    return section


def text(value: Any) -> str:
    """A scalar as CloudFormation turns it into a string: true -> "true", 5 -> "5"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)
