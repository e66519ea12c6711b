"""An event source mapping from an SQS queue to a function, and Lambda's rules for its settings.

Limits and errors are Lambda's (botocore's lambda model for the ranges; AWS's own messages where a
recorded answer gives them):
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#services-sqs-params
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import InvalidParameterValueException

# The states Lambda reports (botocore's EventSourceMappingConfiguration.State documentation).
CREATING, ENABLING, ENABLED, DISABLING, DISABLED, UPDATING, DELETING = (
    "Creating", "Enabling", "Enabled", "Disabling", "Disabled", "Updating", "Deleting",
)  # fmt: skip
#: StateTransitionReason of a change made through the API or a declaration (AWS's recorded SQS answer)
USER_INITIATED = "USER_INITIATED"
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"

#: botocore: BatchSize 1-10000 (default 10; FIFO at most 10), MaximumBatchingWindowInSeconds 0-300,
#: ScalingConfig.MaximumConcurrency 2-1000, FilterCriteria patterns up to 4096 characters
BATCH_SIZE_DEFAULT, BATCH_SIZE_MAX, FIFO_BATCH_SIZE_MAX = 10, 10_000, 10
BATCHING_WINDOW_MAX_S = 300
MAXIMUM_CONCURRENCY_MIN, MAXIMUM_CONCURRENCY_MAX = 2, 1000
PATTERN_MAX_CHARS = 4096
#: "By default, you can define up to five different filters for a single event source mapping"
#: (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html); AWS raises it to 10 on request
FILTERS_MAX = 5


@dataclass(frozen=True)
class EventSourceMapping:
    """One mapping, as stored. `state` is the settled state (Enabled or Disabled); an answer to Create,
    Update or Delete shows the transition Lambda reports first (Creating, Enabling, ...) through
    `reported(state)`. `declared_by` names the declaration that made it ("lsim.toml functions.F.events.E",
    "template.yaml WorkerOrders"), None when it came through the API."""

    uuid: str
    function_name: str
    qualifier: str | None  # None: the unqualified function ($LATEST)
    queue_name: str
    event_source_arn: str
    batch_size: int = BATCH_SIZE_DEFAULT
    maximum_batching_window_s: int = 0
    maximum_concurrency: int | None = None
    report_batch_item_failures: bool = False
    enabled: bool = True
    filter_patterns: tuple[str, ...] = ()
    state: str = ENABLED
    last_modified: float = 0.0  # epoch seconds
    state_transition_reason: str = USER_INITIATED
    declared_by: str | None = field(default=None, compare=False)

    @property
    def function_response_types(self) -> list[str]:
        return [REPORT_BATCH_ITEM_FAILURES] if self.report_batch_item_failures else []

    @property
    def fifo(self) -> bool:
        return self.queue_name.endswith(".fifo")

    def reported(self, state: str) -> EventSourceMapping:
        """The mapping as an answer shows it while it moves to its settled state."""
        return replace(self, state=state)


@dataclass(frozen=True)
class MappingSettings:
    """The settings a Create or Update may change (None: not given)."""

    batch_size: int | None = None
    maximum_batching_window_s: int | None = None
    maximum_concurrency: int | None = None
    report_batch_item_failures: bool | None = None
    enabled: bool | None = None
    filter_patterns: tuple[str, ...] | None = None
    remove_scaling_config: bool = False  # an empty ScalingConfig removes MaximumConcurrency


def _out_of_range(member: str, value: object, low: int, high: int) -> InvalidParameterValueException:
    """AWS's front-end validation message for a number out of its model's range."""
    bound = (
        f"greater than or equal to {low}"
        if isinstance(value, int) and value < low
        else (f"less than or equal to {high}")
    )
    return InvalidParameterValueException(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
        f"Member must have value {bound}"
    )


def function_response_types(types: Sequence[str] | None) -> bool | None:
    """FunctionResponseTypes -> report_batch_item_failures; [] turns it off, None leaves it."""
    if types is None:
        return None
    if not isinstance(types, list | tuple) or len(types) > 1 or any(t != REPORT_BATCH_ITEM_FAILURES for t in types):
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{list(types) if isinstance(types, list | tuple) else types}' at "
            "'functionResponseTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must "
            f"satisfy enum value set: [{REPORT_BATCH_ITEM_FAILURES}]] and Member must have length less than or "
            "equal to 1"
        )
    return bool(types)


def filter_patterns(criteria: Any) -> tuple[str, ...] | None:
    """FilterCriteria {Filters: [{Pattern: "..."}]} -> the patterns; {} (or no Filters) removes them."""
    if criteria is None:
        return None
    if not isinstance(criteria, dict):
        raise InvalidParameterValueException("Invalid filter pattern definition.")
    filters = criteria.get("Filters") or []
    if not isinstance(filters, list):
        raise InvalidParameterValueException("Invalid filter pattern definition.")
    patterns = []
    for item in filters:
        pattern = item.get("Pattern") if isinstance(item, dict) else None
        if not isinstance(pattern, str):
            raise InvalidParameterValueException("Invalid filter pattern definition.")
        patterns.append(pattern)
    return tuple(patterns)


def check_pattern(pattern: str) -> None:
    """A filter pattern Lambda accepts: a JSON object whose leaves are non-empty lists (or objects of
    them). LocalStack's recordings against AWS refuse `null`, a plain string, a bare value and an empty
    list, each with "Invalid filter pattern definition." (test_sqs_invalid_event_filter)."""
    if len(pattern) > PATTERN_MAX_CHARS:
        raise InvalidParameterValueException(
            f"1 validation error detected: Value '{pattern[:60]}...' at 'filterCriteria.filters.1.member.pattern' "
            f"failed to satisfy constraint: Member must have length less than or equal to {PATTERN_MAX_CHARS}"
        )
    try:
        document = json.loads(pattern)
    except (ValueError, RecursionError):
        raise InvalidParameterValueException("Invalid filter pattern definition.") from None
    if not isinstance(document, dict) or not document or not _valid_rules(document):
        raise InvalidParameterValueException("Invalid filter pattern definition.")


def _valid_rules(node: dict[str, Any]) -> bool:
    for key, value in node.items():
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                return False
            if not all(isinstance(item, dict) and item and _valid_rules(item) for item in value):
                return False
        elif isinstance(value, dict):
            if not value or not _valid_rules(value):
                return False
        elif not isinstance(value, list) or not value or not all(_valid_value(item) for item in value):
            return False
    return True


_OPERATORS = frozenset({"prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case", "wildcard"})


def _valid_value(item: Any) -> bool:
    if item is None or isinstance(item, str | int | float | bool):
        return True
    if isinstance(item, dict) and len(item) == 1:
        ((operator, _),) = item.items()
        return operator in _OPERATORS
    return False


def check(mapping: EventSourceMapping, *, filters_max: int = FILTERS_MAX) -> None:
    """Lambda's rules for a mapping's settings, all of them as they are after a Create or Update;
    `filters_max` is the account's quota of filters (lsim.toml [limits] event_source_mapping_filters)."""
    batch_size, window, fifo = mapping.batch_size, mapping.maximum_batching_window_s, mapping.fifo
    if not 1 <= batch_size <= BATCH_SIZE_MAX:
        raise _out_of_range("batchSize", batch_size, 1, BATCH_SIZE_MAX)
    if not 0 <= window <= BATCHING_WINDOW_MAX_S:
        raise _out_of_range("maximumBatchingWindowInSeconds", window, 0, BATCHING_WINDOW_MAX_S)
    concurrency = mapping.maximum_concurrency
    if concurrency is not None and not MAXIMUM_CONCURRENCY_MIN <= concurrency <= MAXIMUM_CONCURRENCY_MAX:
        raise _out_of_range(
            "scalingConfig.maximumConcurrency", concurrency, MAXIMUM_CONCURRENCY_MIN, MAXIMUM_CONCURRENCY_MAX
        )
    if fifo and window > 0:
        # AWS's answer through CloudFormation (aws/aws-lambda-dotnet#1758)
        raise InvalidParameterValueException("Batching window is not supported for FIFO queues")
    if fifo and batch_size > FIFO_BATCH_SIZE_MAX:
        # AWS's answer when every SQS queue was limited to 10 (pulumi/pulumi-aws-serverless#20)
        raise InvalidParameterValueException("Maximum batch size must be between 1 and 10 inclusive")
    if batch_size > 10 and window == 0:
        # AWS's answer on Create and Update (LocalStack's recording, test_event_source_mapping_default_batch_size)
        raise InvalidParameterValueException(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
        )
    patterns = mapping.filter_patterns
    if len(patterns) > filters_max:
        raise InvalidParameterValueException(
            f"{len(patterns)} filters given: an event source mapping takes at most {filters_max} (Lambda's quota; "
            "[limits] event_source_mapping_filters in lsim.toml); join patterns by giving a key several values, "
            "which match as OR"
        )
    for pattern in patterns:
        check_pattern(pattern)


def apply(mapping: EventSourceMapping, settings: MappingSettings) -> EventSourceMapping:
    """The mapping with the given settings changed (unchecked: `check` the result)."""
    changes = {
        name: getattr(settings, name)
        for name in (
            "batch_size", "maximum_batching_window_s", "report_batch_item_failures", "enabled", "filter_patterns",
        )
        if getattr(settings, name) is not None
    }  # fmt: skip
    if settings.maximum_concurrency is not None or settings.remove_scaling_config:
        changes["maximum_concurrency"] = settings.maximum_concurrency
    return replace(mapping, **changes)
