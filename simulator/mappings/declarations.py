"""Event source mappings a project file declares: `[functions.F.events.NAME]` in lsim.toml, and a SAM
function's `Events: NAME: Type: SQS` or an `AWS::Lambda::EventSourceMapping` in template.yaml (the SAM reader
turns both into the same table). The Simulator applies them when it starts (service.apply_declarations).

    [functions.worker.events.orders]
    type = "sqs"
    queue = "orders"                      # the queue's name (or its ARN)
    batch_size = 10                       # BatchSize
    maximum_batching_window_in_seconds = 0
    maximum_concurrency = 5               # ScalingConfig.MaximumConcurrency
    function_response_types = ["ReportBatchItemFailures"]
    enabled = true
    filters = ['{"body": {"kind": ["order"]}}']   # FilterCriteria patterns: JSON text or TOML tables
    qualifier = "live"                    # an alias or version to invoke; none: the unqualified function
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ..errors import LambdaError
from . import models
from .models import EventSourceMapping, MappingSettings

if TYPE_CHECKING:
    from ..config import ProjectConfig
    from .service import Declaration


class SqsEventSource(BaseModel):
    """One declared SQS event source mapping of a function."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    queue: str
    batch_size: int | None = None
    maximum_batching_window_in_seconds: int | None = None
    maximum_concurrency: int | None = None
    function_response_types: list[str] | None = None
    enabled: bool = True
    filters: list[str] = Field(default_factory=list)
    qualifier: str | None = None
    #: where the declaration is, for errors ("template.yaml:12 Resources.Worker.Properties.Events.Orders")
    declared_at: str | None = Field(default=None, exclude=True)

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if value.lower() != "sqs":
            raise ValueError(f'type {value!r}: lsim runs event source mappings from SQS queues only (type = "sqs")')
        return "sqs"

    @field_validator("queue")
    @classmethod
    def _queue(cls, value: str) -> str:
        name = value.rsplit(":", 1)[-1] if value.startswith("arn:") else value
        if not name or not all(c.isalnum() or c in "-_." for c in name) or len(name) > 80:
            raise ValueError(f"queue {value!r}: give the name of a queue of the project (or its ARN)")
        return name

    @field_validator("filters", mode="before")
    @classmethod
    def _filters(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [item if isinstance(item, str) else json.dumps(item) for item in value]
        return value

    @model_validator(mode="after")
    def _lambdas_rules(self, info: ValidationInfo) -> SqsEventSource:
        limits = (info.context or {}).get("limits")
        filters_max = limits.event_source_mapping_filters if limits is not None else models.FILTERS_MAX
        try:
            mapping = models.apply(EventSourceMapping("", "", None, self.queue, ""), self.settings())
            models.check(mapping, filters_max=filters_max)
        except LambdaError as error:
            raise ValueError(error.message) from None
        return self

    def settings(self) -> MappingSettings:
        return MappingSettings(
            batch_size=self.batch_size,
            maximum_batching_window_s=self.maximum_batching_window_in_seconds,
            maximum_concurrency=self.maximum_concurrency,
            report_batch_item_failures=models.function_response_types(self.function_response_types),
            enabled=self.enabled,
            filter_patterns=tuple(self.filters),
            remove_scaling_config=self.maximum_concurrency is None,
        )


def declarations(project: ProjectConfig) -> list[Declaration]:
    """Every mapping the project declares, keyed by where it is declared."""
    from .service import Declaration

    settings = project.settings
    found = []
    for function in project.functions.values():
        for name, event in getattr(function, "events", {}).items():
            key = f"functions.{function.name}.events.{name}"
            found.append(
                Declaration(
                    key=key,
                    function=f"{function.name}:{event.qualifier}" if event.qualifier else function.name,
                    event_source_arn=f"arn:aws:sqs:{settings.region}:{settings.account_id}:{event.queue}",
                    settings=event.settings(),
                    declared_at=event.declared_at or f"{project.root / 'lsim.toml'} {key}",
                )
            )
    return found
