"""The template's resources other than functions: layer resources (their folders on this machine), and what
`Ref` and `Fn::GetAtt` of a resource give (cfn.ResourceRefs), with stand-ins for resources lsim does not
create."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cfn import Template, Unresolvable, YamlMap, text
from ..config import Settings
from ..gateway.events import api_id_of
from ..gateway.models import IMPLICIT_HTTP_API, IMPLICIT_REST_API
from .notes import Notes, display
from .queues import SQS_QUEUE, queue_value
from .stacks import full_path, implicit_name

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
FUNCTION_TYPES = (SERVERLESS_FUNCTION, LAMBDA_FUNCTION)
LAYER_TYPES = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")
API_TYPES = ("AWS::Serverless::Api", "AWS::Serverless::HttpApi")
#: what `Ref` / `Fn::GetAtt X.Arn` give for resources lsim does not create: (name property, Ref, Arn)
STAND_INS = {
    "AWS::SNS::Topic": ("TopicName", "arn:{p}:sns:{r}:{a}:{n}", "arn:{p}:sns:{r}:{a}:{n}"),
    "AWS::DynamoDB::Table": ("TableName", "{n}", "arn:{p}:dynamodb:{r}:{a}:table/{n}"),
    "AWS::Serverless::SimpleTable": ("TableName", "{n}", "arn:{p}:dynamodb:{r}:{a}:table/{n}"),
    "AWS::S3::Bucket": ("BucketName", "{n}", "arn:{p}:s3:::{n}"),
    "AWS::Kinesis::Stream": ("Name", "{n}", "arn:{p}:kinesis:{r}:{a}:stream/{n}"),
    "AWS::Events::EventBus": ("Name", "{n}", "arn:{p}:events:{r}:{a}:event-bus/{n}"),
}

#: properties of a layer resource that need nothing from lsim
LAYER_PROPERTIES = frozenset(
    {"ContentUri", "Content", "CompatibleRuntimes", "CompatibleArchitectures", "LayerName", "Description",
     "LicenseInfo", "RetentionPolicy"}
)  # fmt: skip


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


class TemplateResources:
    """The layer resources of one template, read when first named, and the values of `!Ref` and
    `!GetAtt`."""

    def __init__(self, template: Template, root: Path, settings: Settings, notes: Notes, stack_path: str = "") -> None:
        self.template = template
        self.stack_path = stack_path  # SAM's path of a nested stack (stacks.py), "" for the root
        self.root = root
        self.settings = settings
        self.notes = notes
        self._layers: dict[str, LocalLayer] = {}

    def layer(self, logical_id: str) -> LocalLayer:
        if logical_id in self._layers:
            return self._layers[logical_id]
        resource = self.template.resources[logical_id]
        line = self.template.resources.line_of(logical_id)
        properties = resource.get("Properties") or YamlMap(line=line)
        where = f"Resources.{logical_id}.Properties"
        content_key = "ContentUri" if resource["Type"] == LAYER_TYPES[0] else "Content"
        if content_key not in properties:
            raise self.notes.error(line, f"Resources.{logical_id}: a layer needs {content_key}, its folder")
        for key in properties:
            if key not in LAYER_PROPERTIES:
                self.notes.unsupported(properties.line_of(key), f"{where}.{key}")
        content_line = properties.line_of(content_key)
        content = self.template.resolve(properties[content_key], content_line)
        if isinstance(content, dict) or text(content).startswith("s3://"):
            raise Unresolvable(f"layer content on S3 ({text(content)})", content_line)
        folder = (self.root / text(content)).resolve()
        if not folder.exists():
            raise self.notes.error(
                content_line, f"{where}.{content_key}: {folder} does not exist; point it at the layer's folder "
                "(python/, bin/, lib/ ...) or zip, relative to the template",
            )  # fmt: skip
        metadata = resource.get("Metadata")
        if isinstance(metadata, dict) and "BuildMethod" in metadata:
            self.notes.report(
                resource.line_of("Metadata"),
                f"Resources.{logical_id}.Metadata.BuildMethod: lsim does not run `sam build`: it mounts "
                f"{display(folder)} at /opt as it is (build it with `lsim layer build`, or `sam build` and "
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

    def ref(self, logical_id: str, line: int) -> Any:
        kind = self.template.resources[logical_id].get("Type")
        if kind == SQS_QUEUE:  # lsim creates it (queues.py)
            return queue_value(self.template, logical_id, None, line)
        if kind in LAYER_TYPES:
            return self.layer(logical_id)
        if kind in FUNCTION_TYPES:
            return self.function_name(logical_id, line)
        if kind in API_TYPES:
            return self.api_id(logical_id)
        return self._stand_in(logical_id, str(kind), None, line)

    def implicit_ref(self, name: str) -> str | None:
        """`!Ref ServerlessRestApi` / `${ServerlessHttpApi}`: the implicit API SAM makes for events that name
        no API, as a `sam init` template's Outputs and environment variables use it."""
        return self.api_id(name) if name in (IMPLICIT_REST_API, IMPLICIT_HTTP_API) else None

    def api_id(self, logical_id: str) -> str:
        """An API's id (`!Ref` of an API gives it on AWS), the one the front door puts in its events."""
        return api_id_of(full_path(self.stack_path, logical_id), self.settings.account_id, self.settings.region)

    def get_att(self, logical_id: str, attribute: str, line: int) -> Any:
        kind = self.template.resources[logical_id].get("Type")
        if kind == SQS_QUEUE:
            return queue_value(self.template, logical_id, attribute, line)
        if kind in FUNCTION_TYPES and attribute == "Arn":
            name = self.function_name(logical_id, line)
            return f"arn:aws:lambda:{self.settings.region}:{self.settings.account_id}:function:{name}"
        if kind in LAYER_TYPES and attribute in ("Arn", "LayerVersionArn"):
            return self.layer(logical_id)
        if kind in STAND_INS and attribute == "Arn":
            return self._stand_in(logical_id, str(kind), attribute, line)
        raise Unresolvable(f"!GetAtt {logical_id}.{attribute} ({kind})", line)

    def function_name(self, logical_id: str, line: int) -> str:
        """What `!Ref` of a function gives: its FunctionName, or the name lsim gives it (stacks.py)."""
        properties = self.template.resources[logical_id].get("Properties")
        if isinstance(properties, YamlMap) and "FunctionName" in properties:
            return self.template.resolve_text(
                properties["FunctionName"], properties.line_of("FunctionName"), "FunctionName"
            )
        return implicit_name(self.stack_path, logical_id)

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
        self.notes.report(
            line, f"{what}: lsim creates no {kind}: the value is {value!r} (give the real one with --env-vars)"
        )
        return value


def resource_hint(kind: str) -> str:
    if kind.startswith(("AWS::ApiGateway::", "AWS::ApiGatewayV2::")):
        return "lsim serves SAM's Api and HttpApi events and function URLs, not raw API Gateway resources"
    if kind.startswith(("AWS::Lambda::", "AWS::IAM::", "AWS::Serverless::Application")):
        return ""
    return "give functions its name or address with --env-vars"
