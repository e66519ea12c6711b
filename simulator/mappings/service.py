"""The event source mapping operations of Lambda's API, for SQS queues: Create, Get, List, Update and
Delete, with Lambda's validation and answers, kept in the project's SQLite state (store.py).

Lambda changes a mapping in the background and reports the transition first (Creating, Enabling,
Disabling, Updating, Deleting); lsim settles at once, so the answer to a change shows the transition and the
next Get the settled state (Enabled or Disabled), as AWS's recorded answers do.
https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html
"""

from __future__ import annotations

import json
import re
import uuid as uuids
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from ..clock import Clock
from ..errors import (
    InvalidParameterValueException,
    LambdaError,
    ProjectFileError,
    ResourceConflictException,
    ResourceNotFoundException,
)
from ..queues import QueueService
from ..queues.errors import QueueDoesNotExist
from ..store import Store
from . import models
from .models import (
    CREATING,
    DELETING,
    DISABLED,
    DISABLING,
    ENABLED,
    ENABLING,
    UPDATING,
    EventSourceMapping,
    MappingSettings,
)
from .store import MappingStore

#: arn:aws:sqs:<region>:<account>:<queue name>
SQS_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>[A-Za-z0-9_.-]+)$")
#: ListEventSourceMappings returns at most this many per page, whatever MaxItems asks for
PAGE_MAX = 100
NOT_FOUND = "The resource you requested does not exist."  # Get, Update, Delete of an unknown UUID


@dataclass(frozen=True)
class FunctionTarget:
    """The function a mapping invokes: its name, the qualifier the reference carried (an alias or a version;
    None for the unqualified function) and its timeout in seconds."""

    name: str
    qualifier: str | None
    timeout_s: int


@dataclass(frozen=True)
class QueueFacts:
    """What a mapping's rules need of its queue."""

    fifo: bool
    visibility_timeout_s: int


class QueueDirectory(Protocol):
    def queue_facts(self, name: str) -> QueueFacts | None:
        """The queue's facts, or None when no such queue exists."""


class QueuesOf:
    """The QueueService as a QueueDirectory."""

    def __init__(self, queues: QueueService) -> None:
        self.queues = queues

    def queue_facts(self, name: str) -> QueueFacts | None:
        try:
            queue = self.queues.queue(name)
        except QueueDoesNotExist:
            return None
        return QueueFacts(queue.fifo, queue.attributes.visibility_timeout)


@dataclass(frozen=True)
class MappingPage:
    """One page of ListEventSourceMappings; `next_marker` names the next page, if any."""

    mappings: list[EventSourceMapping]
    next_marker: str | None


class MappingService:
    """Event source mappings of one project. `resolve_function(reference)` finds the function a FunctionName
    names (raising ResourceNotFoundException when there is none); `queues` knows the project's queues."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        region: str,
        account_id: str,
        resolve_function: Callable[[str], FunctionTarget],
        queues: QueueDirectory,
        filters_max: int = models.FILTERS_MAX,
    ) -> None:
        self.mappings = MappingStore(store)
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.resolve_function = resolve_function
        self.queues = queues
        self.filters_max = filters_max
        self._listeners: list[Callable[[str], None]] = []

    def subscribe(self, listener: Callable[[str], None]) -> None:
        """Call `listener(uuid)` after every committed change of a mapping (created, updated, deleted), so the
        poller starts, changes or stops what it runs without asking again."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[str], None]) -> None:
        self._listeners.remove(listener)

    def _changed(self, uuid: str) -> None:
        for listener in self._listeners:
            listener(uuid)

    # -- what the poller asks -----------------------------------------------------------------------------
    def enabled(self) -> list[EventSourceMapping]:
        """The mappings the poller runs."""
        return [mapping for mapping in self.mappings.all() if mapping.enabled]

    def all(self) -> list[EventSourceMapping]:
        return list(self.mappings.all())

    # -- Lambda's API ---------------------------------------------------------------------------------------
    def create_event_source_mapping(
        self,
        function_name: str,
        event_source_arn: str | None = None,
        enabled: bool | None = None,
        batch_size: int | None = None,
        filter_criteria: dict[str, Any] | None = None,
        maximum_batching_window_in_seconds: int | None = None,
        function_response_types: list[str] | None = None,
        scaling_config: dict[str, Any] | None = None,
        destination_config: dict[str, Any] | None = None,
    ) -> EventSourceMapping:
        settings = _settings(
            enabled, batch_size, filter_criteria, maximum_batching_window_in_seconds, function_response_types,
            scaling_config, destination_config,
        )  # fmt: skip
        mapping, _ = self._create(function_name, event_source_arn, settings)
        return mapping.reported(CREATING if mapping.enabled else DISABLED)

    def get_event_source_mapping(self, uuid: str) -> EventSourceMapping:
        return self._existing(uuid)

    def list_event_source_mappings(
        self,
        event_source_arn: str | None = None,
        function_name: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> MappingPage:
        if max_items is not None and not 1 <= max_items <= 10_000:
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{max_items}' at 'maxItems' failed to satisfy constraint: "
                "Member must have value "
                + ("greater than or equal to 1" if max_items < 1 else "less than or equal to 10000")
            )
        limit = min(max_items or PAGE_MAX, PAGE_MAX)
        after = _marker(marker)
        wanted_function = self._function_key(function_name) if function_name else None
        found: list[EventSourceMapping] = []
        while True:
            page = self.mappings.page(after, PAGE_MAX)
            for seq, mapping in page:
                if event_source_arn is not None and mapping.event_source_arn != event_source_arn:
                    after = seq
                    continue
                if wanted_function is not None and (mapping.function_name, mapping.qualifier) != wanted_function:
                    after = seq
                    continue
                if len(found) == limit:
                    return MappingPage(found, str(after))
                found.append(mapping)
                after = seq
            if len(page) < PAGE_MAX:
                return MappingPage(found, None)

    def update_event_source_mapping(
        self,
        uuid: str,
        function_name: str | None = None,
        enabled: bool | None = None,
        batch_size: int | None = None,
        filter_criteria: dict[str, Any] | None = None,
        maximum_batching_window_in_seconds: int | None = None,
        function_response_types: list[str] | None = None,
        scaling_config: dict[str, Any] | None = None,
        destination_config: dict[str, Any] | None = None,
    ) -> EventSourceMapping:
        settings = _settings(
            enabled, batch_size, filter_criteria, maximum_batching_window_in_seconds, function_response_types,
            scaling_config, destination_config,
        )  # fmt: skip
        before = self._existing(uuid)
        after = self._update(before, function_name, settings)
        if after.enabled and not before.enabled:
            return after.reported(ENABLING)
        if before.enabled and not after.enabled:
            return after.reported(DISABLING)
        return after.reported(UPDATING)

    def delete_event_source_mapping(self, uuid: str) -> EventSourceMapping:
        mapping = self._existing(uuid)
        self.mappings.delete(uuid)
        self._changed(uuid)
        return mapping.reported(DELETING)

    # -- ARNs ----------------------------------------------------------------------------------------------
    def function_arn(self, mapping: EventSourceMapping) -> str:
        arn = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{mapping.function_name}"
        return f"{arn}:{mapping.qualifier}" if mapping.qualifier else arn

    def mapping_arn(self, mapping: EventSourceMapping) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:event-source-mapping:{mapping.uuid}"

    # -- declarations (lsim.toml, template.yaml) ------------------------------------------------------------
    def apply_declarations(self, declarations: Iterable[Declaration]) -> list[str]:
        """Make the stored mappings match the declared ones: create what is new, update what the file changed
        since it was last applied (a change made through the API since stays until the file changes), and
        delete the mappings of declarations that are gone. Returns what changed, for the console."""
        stored = self.mappings.declared()
        said: list[str] = []
        wanted = {declaration.key: declaration for declaration in declarations}
        for key, declaration in wanted.items():
            text = declaration.text()
            try:
                if key not in stored:
                    mapping, _ = self._create(declaration.function, declaration.event_source_arn,
                                              declaration.settings, declared_by=key, declaration=text)  # fmt: skip
                    said.append(f"{key}: created event source mapping {mapping.uuid}")
                elif stored[key][1] != text:
                    mapping = stored[key][0]
                    self._update(mapping, declaration.function, declaration.settings, declaration=text,
                                 event_source_arn=declaration.event_source_arn)  # fmt: skip
                    said.append(f"{key}: updated event source mapping {mapping.uuid}")
            except LambdaError as error:
                raise ProjectFileError(f"{declaration.declared_at or key}: {error.message}") from None
        for key, (mapping, _) in stored.items():
            if key not in wanted:
                self.mappings.delete(mapping.uuid)
                self._changed(mapping.uuid)
                said.append(f"{key}: deleted event source mapping {mapping.uuid} (no longer declared)")
        return said

    # -- the rules ------------------------------------------------------------------------------------------
    def _existing(self, uuid: str) -> EventSourceMapping:
        mapping = self.mappings.get(uuid)
        if mapping is None:
            raise ResourceNotFoundException(NOT_FOUND)
        return mapping

    def _function_key(self, reference: str) -> tuple[str, str | None]:
        try:
            target = self.resolve_function(reference)
        except ResourceNotFoundException:
            name, _, qualifier = reference.rpartition(":function:")[2].partition(":")
            return name, qualifier or None
        return target.name, target.qualifier

    def _target(self, reference: str) -> FunctionTarget:
        try:
            return self.resolve_function(reference)
        except ResourceNotFoundException:
            raise InvalidParameterValueException("Function does not exist") from None

    def _queue(self, event_source_arn: str | None) -> tuple[str, QueueFacts]:
        if not event_source_arn:
            raise InvalidParameterValueException("Unrecognized event source.")
        match = SQS_ARN.match(event_source_arn)
        if match is None:
            if ":sqs:" not in event_source_arn and event_source_arn.startswith("arn:"):
                raise InvalidParameterValueException(
                    f"lsim simulates event source mappings from SQS queues only: {event_source_arn} is not a "
                    "queue's ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)"
                )
            raise InvalidParameterValueException("Unrecognized event source.")
        facts = None
        if match["region"] == self.region and match["account"] == self.account_id:
            facts = self.queues.queue_facts(match["name"])
        if facts is None:
            # AWS's answer: its first poll of the queue failed (LocalStack's test_esm_with_not_existing_sqs_queue)
            raise InvalidParameterValueException(
                "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. "
                "SQS Error Message: The specified queue does not exist."
            )
        return match["name"], facts

    def _check_unique(self, mapping: EventSourceMapping) -> None:
        other = self.mappings.find(mapping.event_source_arn, mapping.function_name, mapping.qualifier)
        if other is not None and other.uuid != mapping.uuid:
            # AWS's words, the spaces inside the quotes too (LocalStack's test_duplicate_event_source_mappings)
            function = mapping.function_name + (f":{mapping.qualifier}" if mapping.qualifier else "")
            raise ResourceConflictException(
                f'An event source mapping with SQS arn (" {mapping.event_source_arn} ") and function (" {function} '
                f'") already exists. Please update or delete the existing mapping with UUID {other.uuid}'
            )

    def _create(
        self,
        function_name: str,
        event_source_arn: str | None,
        settings: MappingSettings,
        *,
        declared_by: str | None = None,
        declaration: str | None = None,
    ) -> tuple[EventSourceMapping, FunctionTarget]:
        queue_name, facts = self._queue(event_source_arn)
        target = self._target(function_name)
        assert event_source_arn is not None
        mapping = models.apply(
            EventSourceMapping(
                uuid=str(uuids.uuid4()),
                function_name=target.name,
                qualifier=target.qualifier,
                queue_name=queue_name,
                event_source_arn=event_source_arn,
                last_modified=self.clock.time(),
                declared_by=declared_by,
            ),
            settings,
        )
        mapping = replace(mapping, state=ENABLED if mapping.enabled else DISABLED)
        models.check(mapping, filters_max=self.filters_max)
        if facts.visibility_timeout_s < target.timeout_s:
            # AWS's words on Create (hashicorp/terraform-provider-aws#18099 and others quote it)
            raise InvalidParameterValueException(
                f"Queue visibility timeout: {facts.visibility_timeout_s} seconds is less than Function timeout: "
                f"{target.timeout_s} seconds"
            )
        self._check_unique(mapping)
        self.mappings.insert(mapping, declaration)
        self._changed(mapping.uuid)
        return mapping, target

    def _update(
        self,
        mapping: EventSourceMapping,
        function_name: str | None,
        settings: MappingSettings,
        *,
        declaration: str | None = None,
        event_source_arn: str | None = None,
    ) -> EventSourceMapping:
        changed = models.apply(mapping, settings)
        if event_source_arn is not None:
            queue_name, _ = self._queue(event_source_arn)
            changed = replace(changed, queue_name=queue_name, event_source_arn=event_source_arn)
        if function_name is not None:
            target = self._target(function_name)
            changed = replace(changed, function_name=target.name, qualifier=target.qualifier)
        changed = replace(changed, state=ENABLED if changed.enabled else DISABLED, last_modified=self.clock.time())
        models.check(changed, filters_max=self.filters_max)
        self._check_unique(changed)
        self.mappings.replace(changed, declaration)
        self._changed(changed.uuid)
        return changed


@dataclass(frozen=True)
class Declaration:
    """A mapping a project file declares: `key` names it ("lsim.toml functions.worker.events.orders"), and
    stays the same while the declaration does."""

    key: str
    function: str  # a name, or name:qualifier
    event_source_arn: str
    settings: MappingSettings
    declared_at: str = ""  # the file and place, for errors

    def text(self) -> str:
        """What was declared, to tell a changed declaration from an unchanged one."""
        return json.dumps(
            {"function": self.function, "event_source_arn": self.event_source_arn, **asdict(self.settings)},
            sort_keys=True,
            default=list,
        )


def _settings(
    enabled: bool | None,
    batch_size: int | None,
    filter_criteria: dict[str, Any] | None,
    window: int | None,
    function_response_types: list[str] | None,
    scaling_config: dict[str, Any] | None,
    destination_config: dict[str, Any] | None,
) -> MappingSettings:
    """The API's members as the model's settings."""
    if destination_config:
        # AWS's answer for an SQS mapping (LocalStack's recording, test_event_source_mapping_exceptions)
        raise InvalidParameterValueException(
            "Unsupported DestinationConfig parameter for given event source mapping type."
        )
    concurrency = None
    if scaling_config is not None:
        concurrency = scaling_config.get("MaximumConcurrency")
    return MappingSettings(
        batch_size=batch_size,
        maximum_batching_window_s=window,
        maximum_concurrency=concurrency,
        report_batch_item_failures=models.function_response_types(function_response_types),
        enabled=enabled,
        filter_patterns=models.filter_patterns(filter_criteria),
        remove_scaling_config=scaling_config is not None and concurrency is None,
    )


def _marker(marker: str | None) -> int:
    if marker is None:
        return 0
    if not marker.isdigit() or len(marker) > 18:
        raise InvalidParameterValueException(f"Invalid marker: {marker[:60]} (give the NextMarker of an earlier page)")
    return int(marker)
